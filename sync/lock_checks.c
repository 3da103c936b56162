/* Checked mode for locks (tpark/checked.h): an observer of every lock
 * operation (sync/observe.h), installed at load when TPARK_CHECKED=1, that
 * keeps per thread the locks it holds (sync/lock_checks.h) and ends the
 * process at the first misuse with one line on stderr.
 *
 * When: at load (observe.c's constructor), before main and before the
 * constructors of C++ static objects, and before the default backend is
 * chosen (that happens at the first park, which may come after many lock
 * operations). So every acquisition of the program is seen before its
 * release: an unlock of a lock the record does not hold is a real misuse,
 * never a lock taken while nobody watched.
 *
 * Cost on the uncontended path: the inline fast path goes out of line, and
 * each event is a thread-local record update (no lock); a nested
 * acquisition looks up its edges in the thread's cache and takes the
 * graph's lock only for an edge it has not added before. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked_internal.h"
#include "core/internal.h"
#include "core/lot_internal.h"
#include "sync/lock_checks.h"
#include "tpark/checked.h"

static tpark__checked_record *records; /* atomic: the list's head */
static __thread tpark__checked_record *mine;
static __thread bool exited; /* the thread's record went back to the pool */

tpark__checked_record *tpark__checked_records(void) {
  return __atomic_load_n(&records, __ATOMIC_ACQUIRE);
}

/* ---- the record's seqlock ---------------------------------------------------- */

/* Without fences (TSan has none): the fields are stored with release and
 * loaded with acquire, so a reader that sees any store of a change also sees
 * the odd seq that began it when it reads seq again. */
static void begin_change(tpark__checked_record *r) {
  __atomic_store_n(&r->seq, r->seq + 1, __ATOMIC_RELAXED);
}

static void end_change(tpark__checked_record *r) {
  __atomic_store_n(&r->seq, r->seq + 1, __ATOMIC_RELEASE);
}

unsigned tpark__checked_seq(tpark__checked_record *r) {
  return __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
}

bool tpark__checked_copy(tpark__checked_record *r, tpark__record_copy *out) {
  unsigned s = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
  if (s % 2 != 0 || !__atomic_load_n(&r->in_use, __ATOMIC_ACQUIRE)) return false;
  out->seq = s;
  out->thread = __atomic_load_n(&r->thread, __ATOMIC_ACQUIRE);
  out->waiting = __atomic_load_n(&r->waiting, __ATOMIC_ACQUIRE);
  out->waiting_kind = __atomic_load_n(&r->waiting_kind, __ATOMIC_ACQUIRE);
  out->waiting_mode = __atomic_load_n(&r->waiting_mode, __ATOMIC_ACQUIRE);
  out->n_held = __atomic_load_n(&r->n_held, __ATOMIC_ACQUIRE);
  if (out->n_held > TPARK__CHECKED_MAX_HELD) return false;
  for (size_t i = 0; i < out->n_held; i++) {
    out->held[i].lock = __atomic_load_n(&r->held[i].lock, __ATOMIC_ACQUIRE);
    out->held[i].kind = __atomic_load_n(&r->held[i].kind, __ATOMIC_ACQUIRE);
    out->held[i].mode = __atomic_load_n(&r->held[i].mode, __ATOMIC_ACQUIRE);
  }
  return __atomic_load_n(&r->seq, __ATOMIC_RELAXED) == s;
}

/* ---- the calling thread's record --------------------------------------------- */

static tpark__checked_record *take_record(void) {
  for (tpark__checked_record *r = tpark__checked_records(); r != NULL; r = r->next) {
    bool free_one = false;
    if (!__atomic_load_n(&r->in_use, __ATOMIC_RELAXED) &&
        __atomic_compare_exchange_n(&r->in_use, &free_one, true, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      return r;
    }
  }
  tpark__checked_record *r = calloc(1, sizeof *r);
  if (r == NULL) tpark__fatal("tpark checked: out of memory for a thread's lock record");
  r->in_use = true;
  r->next = __atomic_load_n(&records, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(&records, &r->next, r, true, __ATOMIC_RELEASE,
                                      __ATOMIC_RELAXED)) {
  }
  return r;
}

static tpark__checked_record *me(void) {
  tpark__checked_record *r = mine;
  if (r != NULL) return r;
  r = take_record();
  begin_change(r);
  __atomic_store_n(&r->thread, tpark__checked_thread(), __ATOMIC_RELEASE);
  __atomic_store_n(&r->waiting, NULL, __ATOMIC_RELEASE);
  __atomic_store_n(&r->n_held, 0, __ATOMIC_RELEASE);
  r->untracked = 0;
  memset(r->edges, 0, sizeof r->edges);
  end_change(r);
  mine = r;
  /* The lot's thread data tells us of the thread's exit (exit_hook). A
   * thread already exiting keeps the record to the end of the process. */
  if (!exited) {
    tpark__thread spare;
    tpark__thread *t = tpark__thread_get(&spare);
    if (!t->temporary) t->lock_checks = r;
    tpark__thread_done(t);
  }
  return r;
}

static tpark__held *find_held(tpark__checked_record *r, const void *lock) {
  for (size_t i = r->n_held; i-- > 0;) {
    if (r->held[i].lock == lock) return &r->held[i];
  }
  return NULL;
}

static void push_held(tpark__checked_record *r, const void *lock, tpark__lock_kind kind,
                      tpark__lock_mode mode) {
  if (r->n_held == TPARK__CHECKED_MAX_HELD) {
    r->untracked++;
    return;
  }
  tpark__held *h = &r->held[r->n_held];
  __atomic_store_n(&h->lock, lock, __ATOMIC_RELEASE);
  __atomic_store_n(&h->kind, (uint8_t)kind, __ATOMIC_RELEASE);
  __atomic_store_n(&h->mode, (uint8_t)mode, __ATOMIC_RELEASE);
  h->count = 1;
  __atomic_store_n(&r->n_held, r->n_held + 1, __ATOMIC_RELEASE);
}

/* Keeps the order of the rest (the most recent last). */
static void remove_held(tpark__checked_record *r, tpark__held *h) {
  size_t i = (size_t)(h - r->held);
  for (; i + 1 < r->n_held; i++) {
    tpark__held *d = &r->held[i], *s = &r->held[i + 1];
    __atomic_store_n(&d->lock, s->lock, __ATOMIC_RELEASE);
    __atomic_store_n(&d->kind, s->kind, __ATOMIC_RELEASE);
    __atomic_store_n(&d->mode, s->mode, __ATOMIC_RELEASE);
    d->count = s->count;
  }
  __atomic_store_n(&r->n_held, r->n_held - 1, __ATOMIC_RELEASE);
}

static void set_waiting(tpark__checked_record *r, const void *lock, tpark__lock_kind kind,
                        tpark__lock_mode mode) {
  __atomic_store_n(&r->waiting_kind, (uint8_t)kind, __ATOMIC_RELEASE);
  __atomic_store_n(&r->waiting_mode, (uint8_t)mode, __ATOMIC_RELEASE);
  __atomic_store_n(&r->waiting, lock, __ATOMIC_RELEASE);
}

/* ---- violations ---------------------------------------------------------------- */

/* One line, then abort: the rule, the call and its lock, the thread. */
static void violation(const char *rule, const tpark__lock_event *e, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
static void violation(const char *rule, const tpark__lock_event *e, const char *fmt, ...) {
  char detail[400], lock[96], other[96] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  tpark__checked_describe(e->lock, e->kind, lock, sizeof lock);
  if (e->other != NULL) {
    other[0] = ',';
    other[1] = ' ';
    tpark__checked_describe(e->other, TPARK__LOCK_MUTEX, other + 2, sizeof other - 2);
  }
  tpark__fatal("tpark checked: rule \"%s\" broken by %s(%s%s) in thread %" PRIu64 ": %s", rule,
               e->call, lock, other, tpark__checked_thread(), detail);
}

/* Who holds lock, as "thread 3 holds it" (no thread: "no thread holds it"). */
static const char *holder(const void *lock, char *buf, size_t cap) {
  snprintf(buf, cap, "no thread holds it");
  for (tpark__checked_record *r = tpark__checked_records(); r != NULL; r = r->next) {
    tpark__record_copy c;
    if (r == mine || !tpark__checked_copy(r, &c)) continue;
    for (size_t i = 0; i < c.n_held; i++) {
      if (c.held[i].lock == lock) {
        snprintf(buf, cap, "thread %" PRIu64 " holds it", c.thread);
        return buf;
      }
    }
  }
  return buf;
}

/* ---- the rules, per event ----------------------------------------------------- */

static bool edge_cached(tpark__checked_record *r, const void *from, const void *to,
                        unsigned epoch) {
  size_t i = (((uintptr_t)from >> 3) ^ ((uintptr_t)to >> 2)) % TPARK__CHECKED_EDGE_CACHE;
  if (r->edges[i].from == from && r->edges[i].to == to && r->edges[i].epoch == epoch) return true;
  r->edges[i].from = from;
  r->edges[i].to = to;
  r->edges[i].epoch = epoch;
  return false;
}

/* "Held A, then took B" for every lock A held: the first that closes a
 * cycle is reported, before this thread can wait in it. */
static void check_order(tpark__checked_record *r, const tpark__lock_event *e) {
  unsigned epoch = tpark__checked_epoch();
  for (size_t i = 0; i < r->n_held; i++) {
    const tpark__held *h = &r->held[i];
    if (h->kind == TPARK__LOCK_ONCE || h->lock == e->lock) continue;
    if (edge_cached(r, h->lock, e->lock, epoch)) continue;
    char why[320];
    if (!tpark__checked_add_edge(h->lock, (tpark__lock_kind)h->kind, e->lock, e->kind, r->thread,
                                 why, sizeof why)) {
      char held[96];
      violation("lock order", e,
                "it takes this lock while holding %s, but %s: together these "
                "orders can deadlock",
                tpark__checked_describe(h->lock, (tpark__lock_kind)h->kind, held, sizeof held),
                why);
    }
  }
}

/* "for read", "for write", "as an upgradable read lock". */
static const char *held_as(uint8_t mode) {
  switch (mode) {
    case TPARK__MODE_SHARED:
      return "for read";
    case TPARK__MODE_UPGRADABLE:
      return "as an upgradable read lock";
    default:
      return "for write";
  }
}

static tpark__held *find_held_as(tpark__checked_record *r, const void *lock, uint8_t mode) {
  for (size_t i = r->n_held; i-- > 0;) {
    if (r->held[i].lock == lock && r->held[i].mode == mode) return &r->held[i];
  }
  return NULL;
}

static void set_mode(tpark__checked_record *r, tpark__held *h, uint8_t mode) {
  begin_change(r);
  __atomic_store_n(&h->mode, mode, __ATOMIC_RELEASE);
  end_change(r);
}

/* An rwlock's upgrade (LOCK, LOCKED) and downgrade: the thread must hold it
 * in the mode they start from. */
static void check_mode(tpark__checked_record *r, const tpark__lock_event *e, uint8_t from) {
  tpark__held *h = find_held(r, e->lock);
  if (find_held_as(r, e->lock, from) != NULL || (h == NULL && r->untracked > 0)) return;
  char who[64];
  if (h == NULL) {
    violation("the mode held", e, "thread %" PRIu64 " does not hold this rwlock (%s)", r->thread,
              holder(e->lock, who, sizeof who));
  }
  violation("the mode held", e, "thread %" PRIu64 " holds this rwlock %s, not %s", r->thread,
            held_as(h->mode), held_as(from));
}

static void on_lock(tpark__checked_record *r, const tpark__lock_event *e) {
  if (e->flags & TPARK__OBSERVE_REENTRY) return;
  bool try_only = (e->flags & TPARK__OBSERVE_TRY) != 0;
  bool timed = (e->flags & TPARK__OBSERVE_TIMED) != 0;
  if (e->flags & TPARK__OBSERVE_UPGRADE) {
    /* Held already: no new order; it waits for the readers to leave. */
    check_mode(r, e, TPARK__MODE_UPGRADABLE);
  } else {
    const tpark__held *h = find_held(r, e->lock);
    if (!try_only && h != NULL && e->kind == TPARK__LOCK_MUTEX) {
      violation("no re-lock", e,
                "thread %" PRIu64 " holds this mutex already (a tpark_mutex is not recursive: %s)",
                r->thread, timed ? "this waits until the deadline" : "this waits forever");
    }
    if (!try_only && h != NULL && e->kind == TPARK__LOCK_RWLOCK) {
      violation("no re-lock", e,
                "thread %" PRIu64
                " holds this rwlock already, %s (a tpark_rwlock is not recursive: "
                "with a writer waiting in between, %s)",
                r->thread, held_as(h->mode),
                timed ? "this waits until the deadline" : "this waits forever");
    }
    if (try_only) return; /* a trylock cannot deadlock: no edge, no wait */
    check_order(r, e);
  }
  if (try_only || timed) return; /* a timed wait ends at its deadline: not a deadlock */
  begin_change(r);
  set_waiting(r, e->lock, e->kind, e->mode);
  end_change(r);
}

static void on_locked(tpark__checked_record *r, const tpark__lock_event *e) {
  if (e->flags & TPARK__OBSERVE_REENTRY) {
    tpark__held *h = find_held(r, e->lock);
    if (h != NULL) {
      h->count++;
    } else {
      r->untracked++; /* held beyond the table: its unlocks are trusted */
    }
    return;
  }
  begin_change(r);
  set_waiting(r, NULL, 0, 0);
  end_change(r);
  if (!e->ok) return;
  if (e->flags & TPARK__OBSERVE_UPGRADE) {
    tpark__held *h = find_held_as(r, e->lock, TPARK__MODE_UPGRADABLE);
    if (h != NULL) set_mode(r, h, TPARK__MODE_EXCLUSIVE);
    return;
  }
  begin_change(r);
  push_held(r, e->lock, e->kind, e->mode);
  end_change(r);
}

static void on_downgrade(tpark__checked_record *r, const tpark__lock_event *e) {
  check_mode(r, e, TPARK__MODE_EXCLUSIVE);
  tpark__held *h = find_held_as(r, e->lock, TPARK__MODE_EXCLUSIVE);
  if (h != NULL) set_mode(r, h, (uint8_t)e->mode);
}

static void on_unlock(tpark__checked_record *r, const tpark__lock_event *e) {
  tpark__held *h = find_held_as(r, e->lock, (uint8_t)e->mode);
  if (h == NULL) {
    if (r->untracked > 0) {
      r->untracked--; /* perhaps one of those: trusted */
      return;
    }
    const tpark__held *other = find_held(r, e->lock);
    if (other != NULL) {
      violation("the mode held", e, "thread %" PRIu64 " holds this rwlock %s, not %s", r->thread,
                held_as(other->mode), held_as((uint8_t)e->mode));
    }
    char who[64];
    violation("unlock by the holder", e, "thread %" PRIu64 " does not hold this %s (%s)", r->thread,
              tpark__lock_kind_name(e->kind), holder(e->lock, who, sizeof who));
  }
  if (--h->count != 0) return;
  begin_change(r);
  remove_held(r, h);
  end_change(r);
}

static void on_cond_wait(tpark__checked_record *r, const tpark__lock_event *e) {
  tpark__held *h = find_held(r, e->other);
  if (h == NULL) {
    if (r->untracked > 0) {
      r->untracked--; /* released while it waits; the relock counts it again */
      return;
    }
    char who[64];
    violation("cond wait with its mutex held", e,
              "thread %" PRIu64 " does not hold the mutex it waits with (%s)", r->thread,
              holder(e->other, who, sizeof who));
  }
  /* Released while it waits; the relock is a LOCK and LOCKED. */
  begin_change(r);
  remove_held(r, h);
  end_change(r);
}

static void on_cond_mismatch(const tpark__lock_event *e) {
  char used[96];
  violation("one mutex per cond", e, "the threads waiting on this cond wait with %s",
            tpark__checked_describe(e->conflict, TPARK__LOCK_MUTEX, used, sizeof used));
}

/* A once is held (in the record) while its thread runs fn: re-entry is a
 * once its own thread runs, and the deadlock scan sees who runs it. */
static void on_once(tpark__checked_record *r, const tpark__lock_event *e) {
  tpark__held *h = find_held(r, e->lock);
  switch (e->op) {
    case TPARK__OP_ONCE_BEGIN:
      if (e->ok) return; /* done already: no wait, no run */
      if (h != NULL) {
        violation("once not re-entered", e,
                  "thread %" PRIu64 " is running this once's fn, which would wait for itself",
                  r->thread);
      }
      begin_change(r);
      set_waiting(r, e->lock, TPARK__LOCK_ONCE, TPARK__MODE_EXCLUSIVE);
      end_change(r);
      return;
    case TPARK__OP_ONCE_RUN:
      begin_change(r);
      set_waiting(r, NULL, 0, 0);
      push_held(r, e->lock, TPARK__LOCK_ONCE, TPARK__MODE_EXCLUSIVE);
      end_change(r);
      return;
    default: /* END */
      begin_change(r);
      set_waiting(r, NULL, 0, 0);
      if (h != NULL) {
        remove_held(r, h);
      } else if ((e->flags & TPARK__OBSERVE_RAN) && r->untracked > 0) {
        r->untracked--; /* its RUN was counted beyond the table */
      }
      end_change(r);
      return;
  }
}

static void on_event(void *ctx, const tpark__lock_event *e) {
  (void)ctx;
  if (e->kind == TPARK__LOCK_ADDRESS) return;
  tpark__checked_record *r = me();
  switch (e->op) {
    case TPARK__OP_LOCK:
      on_lock(r, e);
      return;
    case TPARK__OP_LOCKED:
      on_locked(r, e);
      return;
    case TPARK__OP_UNLOCK:
      on_unlock(r, e);
      return;
    case TPARK__OP_DOWNGRADE:
      on_downgrade(r, e);
      return;
    case TPARK__OP_COND_WAIT:
      on_cond_wait(r, e);
      return;
    case TPARK__OP_COND_MISMATCH:
      on_cond_mismatch(e);
      return;
    case TPARK__OP_ONCE_BEGIN:
    case TPARK__OP_ONCE_RUN:
    case TPARK__OP_ONCE_END:
      on_once(r, e);
      return;
    default:
      return;
  }
}

/* ---- thread exit ---------------------------------------------------------------- */

/* The lot's key destructor, in the exiting thread. A lock still held in the
 * first round may be released by another key's destructor later in that
 * round: the record is kept for a second round, and a lock held then is
 * reported. */
/* The first lock (not once) r holds, or NULL. */
static const tpark__held *a_lock_held(const tpark__checked_record *r) {
  for (size_t i = 0; i < r->n_held; i++) {
    if (r->held[i].kind != TPARK__LOCK_ONCE) return &r->held[i];
  }
  return NULL;
}

static void exits_holding(const tpark__checked_record *r, const tpark__held *h)
    __attribute__((noreturn));
static void exits_holding(const tpark__checked_record *r, const tpark__held *h) {
  char lock[96];
  tpark__fatal("tpark checked: rule \"release before exit\" broken by the exit of thread %" PRIu64
               ": it still holds %s",
               r->thread,
               tpark__checked_describe(h->lock, (tpark__lock_kind)h->kind, lock, sizeof lock));
}

void tpark__lock_checks_thread_ends(void) {
  const tpark__held *h = mine != NULL ? a_lock_held(mine) : NULL;
  if (h != NULL) exits_holding(mine, h);
}

static bool exit_hook(tpark__thread *t, unsigned round) {
  tpark__checked_record *r = t->lock_checks;
  if (r == NULL) return false;
  const tpark__held *h = a_lock_held(r);
  if (h != NULL) {
    if (round < 2) return true;
    exits_holding(r, h);
  }
  t->lock_checks = NULL;
  if (mine == r) {
    mine = NULL;
    exited = true;
  }
  __atomic_store_n(&r->in_use, false, __ATOMIC_RELEASE);
  return false;
}

void tpark__lock_checks_drop_thread(void) {
  tpark__checked_record *r = mine;
  if (r == NULL) return;
  begin_change(r);
  __atomic_store_n(&r->waiting, NULL, __ATOMIC_RELEASE);
  __atomic_store_n(&r->n_held, 0, __ATOMIC_RELEASE);
  r->untracked = 0;
  end_change(r);
}

/* ---- start ------------------------------------------------------------------------ */

static const tpark__observer checker = {on_event, NULL};

void tpark__lock_checks_start(void) {
  if (!tpark__checked_mode_on()) return;
  tpark__thread_set_exit_hook(exit_hook);
  if (!tpark__observe_add(&checker)) tpark__fatal("tpark checked: no room for the lock checks");
}
