/* tpark_rwlock (tpark/rwlock.h), after parking_lot's raw_rwlock.rs (itself
 * after Boost's upgrade_mutex).
 *
 * Two wait queues in the lot. Every thread that waits for the lock queues on
 * the lock's address, with a park token saying what it wants (the word's
 * increment: ONE_READER, WRITER, or ONE_READER | UPGRADABLE). A writer that
 * has claimed WRITER while readers are still inside waits for them alone,
 * on the address + 1 (WRITER_PARKED says it sleeps there); the last reader
 * out wakes it. WRITER set with readers inside means exactly that: a writer
 * waits for them, and no new reader may enter.
 *
 * The inline read lock adds ONE_READER first and looks at what it added to
 * (one atomic instruction instead of a load and a compare-and-swap, which
 * on a contended word is one transfer of its cache line less, and never
 * fails): if WRITER was set, it takes the count back out as an unlock does
 * and waits the usual way. So while WRITER is set, and just after, the count
 * may hold such retreating readers: nothing but the count itself is ever
 * derived from it (no plain store of the word while a writer holds it; a
 * writer waiting for readers waits for them too, and they wake it).
 *
 * PARKED is set by a thread before it queues on the lock's address (checked
 * under the bucket lock by validate), and updated by the unlocker that wakes
 * threads (have_more_threads) or cleared by a timed-out thread that was the
 * last one queued. Unlocks that wake threads with the fair timer due (or
 * force_fair) keep the lock for them: the word gets their increments and
 * each receives TOKEN_HANDOFF, meaning it holds what it asked for.
 *
 * Differences from parking_lot 0.12.1, each a bug there: a writer whose
 * deadline passes while it waits for readers undoes its claim under the
 * bucket lock of address + 1, the lock the last reader's wake-up takes too
 * (parking_lot did it after that lock, so a racing reader could clear
 * WRITER_PARKED first and the undo then subtracted a bit that was no longer
 * set: parking_lot issue #465); and that writer then wakes the threads
 * queued behind it as a released write lock would (readers and the first
 * writer), not only the readers (a queued writer stayed asleep with the
 * lock free once the readers left without waking anybody). */
#include "tpark/rwlock.h"

#include "core/internal.h"
#include "core/lot_internal.h"
#include "sync/observe.h"

#define PARKED TPARK__RWLOCK_PARKED
#define WRITER_PARKED TPARK__RWLOCK_WRITER_PARKED
#define UPGRADABLE TPARK__RWLOCK_UPGRADABLE
#define WRITER TPARK__RWLOCK_WRITER
#define ONE_READER TPARK__RWLOCK_ONE_READER
#define READERS_MASK TPARK__RWLOCK_READERS_MASK
#define READERS_FULL TPARK__RWLOCK_READERS_FULL

/* Park tokens: what a queued thread adds to the word when it gets in. */
#define TOKEN_SHARED ONE_READER
#define TOKEN_EXCLUSIVE WRITER
#define TOKEN_UPGRADABLE (ONE_READER | UPGRADABLE)

/* Unpark tokens. */
#define TOKEN_NORMAL ((uintptr_t)0)  /* compete for the lock again */
#define TOKEN_HANDOFF ((uintptr_t)1) /* the unlocker gave you the lock */

static uintptr_t load(const tpark_rwlock *l) {
  return __atomic_load_n(&l->state_, __ATOMIC_RELAXED);
}

static bool cas(tpark_rwlock *l, uintptr_t *expected, uintptr_t desired, int success_order) {
  return __atomic_compare_exchange_n(&l->state_, expected, desired, true, success_order,
                                     __ATOMIC_RELAXED);
}

/* The key of the writer that waits for readers to leave. */
static const void *drain_key(const tpark_rwlock *l) { return (const char *)l + 1; }

static void check_readers(uintptr_t s) {
  if (s & READERS_FULL) {
    tpark__fatal("tpark_rwlock: too many read locks held at once (%llu)",
                 (unsigned long long)((s & READERS_MASK) / ONE_READER));
  }
}

/* Back-off between two compare-and-swaps that lost to other readers
 * (parking_lot's spin_no_yield): pauses, doubling up to 1024. */
static void backoff(unsigned *counter) {
  if (*counter < 10) ++*counter;
  tpark__cpu_relax(1u << *counter);
}

/* ---- acquiring: try, spin, park ------------------------------------------ */

/* Each takes the lock its way from *s (the word as last seen, updated on
 * failure); false when the lock is not available that way now. */

static bool try_shared(tpark_rwlock *l, uintptr_t *s) {
  unsigned contention = 0;
  for (;;) {
    if (*s & WRITER) return false;
    check_readers(*s);
    if (cas(l, s, *s + ONE_READER, __ATOMIC_ACQUIRE)) return true;
    backoff(&contention);
    *s = load(l);
  }
}

static bool try_exclusive(tpark_rwlock *l, uintptr_t *s) {
  for (;;) {
    if (*s & (WRITER | UPGRADABLE)) return false;
    /* WRITER even with readers inside or threads queued: new readers now
     * wait, and this writer waits for those inside (wait_for_readers). */
    if (cas(l, s, *s | WRITER, __ATOMIC_ACQUIRE)) return true;
  }
}

static bool try_upgradable(tpark_rwlock *l, uintptr_t *s) {
  unsigned contention = 0;
  for (;;) {
    if (*s & (WRITER | UPGRADABLE)) return false;
    check_readers(*s);
    if (cas(l, s, *s + (ONE_READER | UPGRADABLE), __ATOMIC_ACQUIRE)) return true;
    backoff(&contention);
    *s = load(l);
  }
}

typedef struct park_ctx {
  tpark_rwlock *l;
  uintptr_t blocking; /* the bits that keep this thread out */
} park_ctx;

/* Under the bucket lock: sleep only if still queued-for and blocked. */
static bool validate_queue(void *ctx) {
  const park_ctx *c = ctx;
  uintptr_t s = load(c->l);
  return (s & PARKED) && (s & c->blocking);
}

/* Under the bucket lock, after a timeout: the last one queued clears
 * PARKED. */
static void timed_out_queue(void *ctx, const void *key, bool was_last) {
  (void)key;
  if (was_last) __atomic_fetch_and(&((park_ctx *)ctx)->l->state_, ~PARKED, __ATOMIC_RELAXED);
}

/* Takes the lock with try_lock, spinning while nobody is queued, else
 * queuing on the lock's address with token. False: the deadline passed. */
static bool lock_common(tpark_rwlock *l, tpark_instant deadline, uintptr_t token,
                        bool (*try_lock)(tpark_rwlock *, uintptr_t *), uintptr_t blocking) {
  tpark__spin spin = {0};
  uintptr_t s = load(l);
  for (;;) {
    if (try_lock(l, &s)) return true;
    if (!(s & (PARKED | WRITER_PARKED)) && tpark__spin_once(&spin)) {
      s = load(l);
      continue;
    }
    if (!(s & PARKED) && !cas(l, &s, s | PARKED, __ATOMIC_RELAXED)) continue;
    park_ctx c = {l, blocking};
    tpark_lot_park_result r =
        tpark_lot_park(l, validate_queue, NULL, timed_out_queue, &c, token, deadline);
    if (r.status == TPARK_LOT_UNPARKED && r.unpark_token == TOKEN_HANDOFF) {
      return true; /* the unlocker's writes are visible: the park's acquire */
    }
    if (r.status == TPARK_LOT_TIMED_OUT) return false;
    spin.counter = 0;
    s = load(l);
  }
}

/* ---- waking the queue ------------------------------------------------------ */

typedef struct wake_ctx wake_ctx;
struct wake_ctx {
  tpark_rwlock *l;
  uintptr_t woken; /* the start state plus the tokens of the threads chosen */
  bool force_fair;
  /* Under the bucket lock, after the choice: updates the word, returns the
   * unpark token of the woken threads. */
  uintptr_t (*update)(wake_ctx *w, tpark_lot_unpark_result r);
};

/* From the front: every reader, and the first writer or upgradable locker
 * (after an upgradable one, further writers and upgradable lockers are
 * passed over and readers still taken); nothing after a writer. */
static tpark_lot_filter_op choose(void *ctx, uintptr_t token) {
  wake_ctx *w = ctx;
  if (w->woken & WRITER) return TPARK_LOT_FILTER_STOP;
  if ((token & (WRITER | UPGRADABLE)) && (w->woken & UPGRADABLE)) return TPARK_LOT_FILTER_SKIP;
  w->woken += token;
  return TPARK_LOT_FILTER_UNPARK;
}

static uintptr_t run_update(void *ctx, tpark_lot_unpark_result r) {
  wake_ctx *w = ctx;
  return w->update(w, r);
}

/* Wakes the threads queued on l's address that can get in once the word
 * holds `start` (the lock the caller keeps: 0, ONE_READER, ONE_READER |
 * UPGRADABLE), then update runs under the bucket lock. */
static void wake_queue(tpark_rwlock *l, uintptr_t start, bool force_fair,
                       uintptr_t (*update)(wake_ctx *, tpark_lot_unpark_result)) {
  wake_ctx w = {l, start, force_fair, update};
  tpark_lot_unpark_filter(l, choose, run_update, &w);
}

/* After a timed-out claim, the caller keeps the lock it had before: PARKED
 * follows the queue, the woken threads compete. */
static uintptr_t update_parked_only(wake_ctx *w, tpark_lot_unpark_result r) {
  if (!r.have_more_threads) __atomic_fetch_and(&w->l->state_, ~PARKED, __ATOMIC_RELAXED);
  return TOKEN_NORMAL;
}

/* ---- write ----------------------------------------------------------------- */

typedef struct drain_ctx {
  tpark_rwlock *l;
  uintptr_t keep;   /* what the writer held before claiming WRITER */
  uintptr_t undone; /* the word the timed-out writer undid its claim in */
  bool drained;     /* the readers had left by the deadline after all */
} drain_ctx;

static bool validate_drain(void *ctx) {
  uintptr_t s = load(((drain_ctx *)ctx)->l);
  return (s & READERS_MASK) && (s & WRITER_PARKED);
}

/* Under the bucket lock of address + 1, which the last reader's wake-up
 * takes too: so WRITER_PARKED, if still set, is this writer's, and no reader
 * can clear it between our look and our change. */
static void timed_out_drain(void *ctx, const void *key, bool was_last) {
  (void)key;
  (void)was_last;
  drain_ctx *c = ctx;
  uintptr_t s = load(c->l);
  for (;;) {
    if ((s & READERS_MASK) == 0) {
      /* The last reader left at the deadline: the lock is ours (acquire:
       * its reads happen before our writes). */
      if (cas(c->l, &s, s & ~WRITER_PARKED, __ATOMIC_ACQUIRE)) {
        c->drained = true;
        return;
      }
      continue;
    }
    if (cas(c->l, &s, s - WRITER - (s & WRITER_PARKED) + c->keep, __ATOMIC_RELAXED)) break;
  }
  c->undone = s;
}

/* WRITER is ours: waits for the readers inside to leave. keep: what to go
 * back to on a timeout (0, or the upgradable lock). */
static bool wait_for_readers(tpark_rwlock *l, tpark_instant deadline, uintptr_t keep) {
  tpark__spin spin = {0};
  uintptr_t s = __atomic_load_n(&l->state_, __ATOMIC_ACQUIRE);
  while (s & READERS_MASK) {
    if (tpark__spin_once(&spin)) {
      s = __atomic_load_n(&l->state_, __ATOMIC_ACQUIRE);
      continue;
    }
    if (!(s & WRITER_PARKED) &&
        !__atomic_compare_exchange_n(&l->state_, &s, s | WRITER_PARKED, true, __ATOMIC_ACQUIRE,
                                     __ATOMIC_ACQUIRE)) {
      continue;
    }
    drain_ctx c = {l, keep, 0, false};
    tpark_lot_park_result r = tpark_lot_park(drain_key(l), validate_drain, NULL, timed_out_drain,
                                             &c, TOKEN_EXCLUSIVE, deadline);
    if (r.status == TPARK_LOT_TIMED_OUT) {
      if (c.drained) return true;
      /* Those queued behind our claim may get in now, as far as `keep`
       * lets them. */
      if (c.undone & PARKED) wake_queue(l, keep, false, update_parked_only);
      return false;
    }
    s = __atomic_load_n(&l->state_, __ATOMIC_ACQUIRE);
  }
  return true;
}

static bool lock_exclusive(tpark_rwlock *l, tpark_instant deadline) {
  if (!lock_common(l, deadline, TOKEN_EXCLUSIVE, try_exclusive, WRITER | UPGRADABLE)) {
    return false;
  }
  return wait_for_readers(l, deadline, 0);
}

static bool raw_write_trylock(tpark_rwlock *l, tpark_instant deadline) {
  (void)deadline;
  uintptr_t s = 0;
  return __atomic_compare_exchange_n(&l->state_, &s, WRITER, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

static bool raw_write_lock_until(tpark_rwlock *l, tpark_instant deadline) {
  uintptr_t s = 0;
  if (cas(l, &s, WRITER, __ATOMIC_ACQUIRE)) return true;
  return lock_exclusive(l, deadline);
}

/* Nobody else is inside, but readers retreating from the fast path may
 * still be counted: the count is kept, for them to take back. */
static uintptr_t update_write_unlock(wake_ctx *w, tpark_lot_unpark_result r) {
  bool handoff = r.unparked_threads != 0 && (w->force_fair || r.be_fair);
  uintptr_t s = load(w->l);
  for (;;) {
    /* Hand over: the word gets what the woken threads asked for. */
    uintptr_t next = (s & READERS_MASK) + (handoff ? w->woken : 0);
    if (r.have_more_threads) next |= PARKED;
    if (cas(w->l, &s, next, __ATOMIC_RELEASE)) return handoff ? TOKEN_HANDOFF : TOKEN_NORMAL;
  }
}

static void raw_write_unlock(tpark_rwlock *l) {
  /* Retreating readers, or a stale WRITER_PARKED (set by this writer while
   * it waited; the last reader clears it, maybe only now): release. */
  uintptr_t s = load(l);
  while (!(s & PARKED)) {
    if (cas(l, &s, s & READERS_MASK, __ATOMIC_RELEASE)) return;
  }
  wake_queue(l, 0, false, update_write_unlock);
}

/* Still holding WRITER, so nobody else can claim the lock while the queue
 * is chosen: the readers at its front (and the writer behind them) are let
 * in with the caller's read lock, each told by TOKEN_HANDOFF that it holds
 * what it asked for; a writer among them then waits for all the readers. */
static uintptr_t update_downgrade(wake_ctx *w, tpark_lot_unpark_result r) {
  uintptr_t s = load(w->l);
  for (;;) {
    uintptr_t next = (s & READERS_MASK) + w->woken; /* woken: ours and theirs */
    if (r.have_more_threads) next |= PARKED;
    if (cas(w->l, &s, next, __ATOMIC_RELEASE)) return TOKEN_HANDOFF;
  }
}

static void raw_downgrade(tpark_rwlock *l) {
  uintptr_t s = WRITER;
  if (cas(l, &s, ONE_READER, __ATOMIC_RELEASE)) return;
  while (!(s & PARKED)) {
    if (cas(l, &s, (s & READERS_MASK) + ONE_READER, __ATOMIC_RELEASE)) return;
  }
  wake_queue(l, ONE_READER, false, update_downgrade);
}

/* ---- read ------------------------------------------------------------------ */

static bool lock_shared(tpark_rwlock *l, tpark_instant deadline) {
  return lock_common(l, deadline, TOKEN_SHARED, try_shared, WRITER);
}

/* The inline read lock added itself to a word with WRITER set: out again,
 * as an unlock (the writer may be waiting for this very count to drop),
 * then the usual way in, which looks before it adds. */
static void raw_read_unlock(tpark_rwlock *l);

void tpark__rwlock_read_lock_retreat(tpark_rwlock *l) {
  raw_read_unlock(l);
  lock_shared(l, TPARK_NEVER);
}

static bool raw_read_trylock(tpark_rwlock *l, tpark_instant deadline) {
  (void)deadline;
  uintptr_t s = load(l);
  for (;;) {
    if (s & WRITER) return false;
    check_readers(s);
    if (cas(l, &s, s + ONE_READER, __ATOMIC_ACQUIRE)) return true;
  }
}

/* Under the bucket lock of address + 1. Cleared also when the writer is not
 * queued (yet): its validate then fails and it looks at the readers
 * again. */
static uintptr_t update_writer_woken(void *ctx, tpark_lot_unpark_result r) {
  (void)r;
  __atomic_fetch_and(&((tpark_rwlock *)ctx)->state_, ~WRITER_PARKED, __ATOMIC_RELAXED);
  return TOKEN_NORMAL;
}

void tpark__rwlock_unpark_writer(tpark_rwlock *l) {
  tpark_lot_unpark_one(drain_key(l), update_writer_woken, l);
}

static void raw_read_unlock(tpark_rwlock *l) {
  uintptr_t s = __atomic_fetch_sub(&l->state_, ONE_READER, __ATOMIC_RELEASE);
  if ((s & (READERS_MASK | WRITER_PARKED)) == (ONE_READER | WRITER_PARKED)) {
    tpark__rwlock_unpark_writer(l);
  }
}

/* ---- upgradable -------------------------------------------------------------- */

static bool lock_upgradable(tpark_rwlock *l, tpark_instant deadline) {
  return lock_common(l, deadline, TOKEN_UPGRADABLE, try_upgradable, WRITER | UPGRADABLE);
}

static bool raw_upgradable_trylock(tpark_rwlock *l, tpark_instant deadline) {
  (void)deadline;
  uintptr_t s = load(l);
  for (;;) {
    if (s & (WRITER | UPGRADABLE)) return false;
    check_readers(s);
    if (cas(l, &s, s + (ONE_READER | UPGRADABLE), __ATOMIC_ACQUIRE)) return true;
  }
}

/* Readers may come and go while this runs: compare-and-swap loops. */
static uintptr_t update_upgradable_unlock(wake_ctx *w, tpark_lot_unpark_result r) {
  uintptr_t s = load(w->l);
  bool handoff = r.unparked_threads != 0 && (w->force_fair || r.be_fair);
  for (;;) {
    uintptr_t next = s - (ONE_READER | UPGRADABLE) + (handoff ? w->woken : 0);
    next = r.have_more_threads ? next | PARKED : next & ~PARKED;
    if (cas(w->l, &s, next, __ATOMIC_RELEASE)) return handoff ? TOKEN_HANDOFF : TOKEN_NORMAL;
  }
}

static void raw_upgradable_unlock(tpark_rwlock *l) {
  uintptr_t s = load(l);
  while (!(s & PARKED)) {
    if (cas(l, &s, s - (ONE_READER | UPGRADABLE), __ATOMIC_RELEASE)) return;
  }
  wake_queue(l, 0, false, update_upgradable_unlock);
}

static bool raw_try_upgrade(tpark_rwlock *l, tpark_instant deadline) {
  (void)deadline;
  uintptr_t s = load(l);
  for (;;) {
    if ((s & READERS_MASK) != ONE_READER) return false;
    if (cas(l, &s, s - (ONE_READER | UPGRADABLE) + WRITER, __ATOMIC_ACQUIRE)) return true;
  }
}

static bool raw_upgrade_until(tpark_rwlock *l, tpark_instant deadline) {
  /* WRITER now keeps new readers out; then the others inside must leave. */
  uintptr_t s =
      __atomic_fetch_sub(&l->state_, (ONE_READER | UPGRADABLE) - WRITER, __ATOMIC_ACQUIRE);
  if ((s & READERS_MASK) == ONE_READER) return true;
  return wait_for_readers(l, deadline, ONE_READER | UPGRADABLE);
}

/* ---- the entry points: each operation reported while observed -------------
 *
 * While something observes every lock operation (sync/observe.h), each
 * acquisition is reported as LOCK and LOCKED around the attempt (an upgrade
 * with UPGRADE), each release as UNLOCK with the mode released, a downgrade
 * as DOWNGRADE, either followed by UNLOCKED; the inline fast paths (tpark/rwlock.h) come here then.
 */

typedef bool (*attempt_fn)(tpark_rwlock *l, tpark_instant deadline);

static bool acquire(tpark_rwlock *l, attempt_fn attempt, tpark__lock_mode mode, unsigned flags,
                    tpark_instant deadline, const char *call) {
  if (!tpark__observed()) return attempt(l, deadline);
  if (deadline != TPARK_NEVER && !(flags & TPARK__OBSERVE_TRY)) flags |= TPARK__OBSERVE_TIMED;
  tpark__lock_event e = {
      .op = TPARK__OP_LOCK,
      .kind = TPARK__LOCK_RWLOCK,
      .mode = mode,
      .flags = flags,
      .lock = l,
      .deadline = flags & TPARK__OBSERVE_TIMED ? deadline : TPARK_NEVER,
      .call = call,
  };
  tpark__observe(&e);
  e.ok = attempt(l, deadline);
  e.op = TPARK__OP_LOCKED;
  tpark__observe(&e);
  return e.ok;
}

static void release(tpark_rwlock *l, void (*raw)(tpark_rwlock *l), tpark__lock_op op,
                    tpark__lock_mode mode, const char *call) {
  if (!tpark__observed()) {
    raw(l);
    return;
  }
  tpark__lock_event e = {
      .op = op,
      .kind = TPARK__LOCK_RWLOCK,
      .mode = mode,
      .lock = l,
      .deadline = TPARK_NEVER,
      .call = call,
  };
  tpark__observe(&e);
  raw(l);
  e.op = TPARK__OP_UNLOCKED;
  tpark__observe(&e);
}

#define EXCLUSIVE_MODE TPARK__MODE_EXCLUSIVE
#define SHARED_MODE TPARK__MODE_SHARED
#define UPGRADABLE_MODE TPARK__MODE_UPGRADABLE
#define TRY TPARK__OBSERVE_TRY
#define UPGRADE TPARK__OBSERVE_UPGRADE

void tpark__rwlock_write_lock_slow(tpark_rwlock *l) {
  acquire(l, lock_exclusive, EXCLUSIVE_MODE, 0, TPARK_NEVER, "tpark_rwlock_write_lock");
}

bool tpark_rwlock_write_trylock(tpark_rwlock *l) {
  return acquire(l, raw_write_trylock, EXCLUSIVE_MODE, TRY, TPARK_NEVER,
                 "tpark_rwlock_write_trylock");
}

bool tpark_rwlock_write_lock_until(tpark_rwlock *l, tpark_instant deadline) {
  return acquire(l, raw_write_lock_until, EXCLUSIVE_MODE, 0, deadline,
                 "tpark_rwlock_write_lock_until");
}

void tpark__rwlock_write_unlock_slow(tpark_rwlock *l) {
  release(l, raw_write_unlock, TPARK__OP_UNLOCK, EXCLUSIVE_MODE, "tpark_rwlock_write_unlock");
}

void tpark_rwlock_downgrade(tpark_rwlock *l) {
  release(l, raw_downgrade, TPARK__OP_DOWNGRADE, SHARED_MODE, "tpark_rwlock_downgrade");
}

void tpark__rwlock_read_lock_slow(tpark_rwlock *l) {
  acquire(l, lock_shared, SHARED_MODE, 0, TPARK_NEVER, "tpark_rwlock_read_lock");
}

bool tpark_rwlock_read_trylock(tpark_rwlock *l) {
  return acquire(l, raw_read_trylock, SHARED_MODE, TRY, TPARK_NEVER, "tpark_rwlock_read_trylock");
}

bool tpark_rwlock_read_lock_until(tpark_rwlock *l, tpark_instant deadline) {
  return acquire(l, lock_shared, SHARED_MODE, 0, deadline, "tpark_rwlock_read_lock_until");
}

void tpark__rwlock_read_unlock_slow(tpark_rwlock *l) {
  release(l, raw_read_unlock, TPARK__OP_UNLOCK, SHARED_MODE, "tpark_rwlock_read_unlock");
}

void tpark_rwlock_upgradable_lock(tpark_rwlock *l) {
  acquire(l, lock_upgradable, UPGRADABLE_MODE, 0, TPARK_NEVER, "tpark_rwlock_upgradable_lock");
}

bool tpark_rwlock_upgradable_trylock(tpark_rwlock *l) {
  return acquire(l, raw_upgradable_trylock, UPGRADABLE_MODE, TRY, TPARK_NEVER,
                 "tpark_rwlock_upgradable_trylock");
}

bool tpark_rwlock_upgradable_lock_until(tpark_rwlock *l, tpark_instant deadline) {
  return acquire(l, lock_upgradable, UPGRADABLE_MODE, 0, deadline,
                 "tpark_rwlock_upgradable_lock_until");
}

void tpark_rwlock_upgradable_unlock(tpark_rwlock *l) {
  release(l, raw_upgradable_unlock, TPARK__OP_UNLOCK, UPGRADABLE_MODE,
          "tpark_rwlock_upgradable_unlock");
}

void tpark_rwlock_upgrade(tpark_rwlock *l) {
  acquire(l, raw_upgrade_until, EXCLUSIVE_MODE, UPGRADE, TPARK_NEVER, "tpark_rwlock_upgrade");
}

bool tpark_rwlock_try_upgrade(tpark_rwlock *l) {
  return acquire(l, raw_try_upgrade, EXCLUSIVE_MODE, UPGRADE | TRY, TPARK_NEVER,
                 "tpark_rwlock_try_upgrade");
}

bool tpark_rwlock_upgrade_until(tpark_rwlock *l, tpark_instant deadline) {
  return acquire(l, raw_upgrade_until, EXCLUSIVE_MODE, UPGRADE, deadline,
                 "tpark_rwlock_upgrade_until");
}
