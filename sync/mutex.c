/* tpark_mutex's out-of-line halves (tpark/mutex.h inlines the fast paths),
 * after parking_lot's raw_mutex.rs.
 *
 * PARKED is set by a thread before it parks (under the bucket lock, checked
 * by validate), and cleared by the unlocker that wakes the last parked thread
 * or by a timed-out thread that was the last one. A handoff (fair unlock)
 * leaves LOCKED set and tells the woken thread with a token that it now owns
 * the mutex.
 *
 * The policy is parking_lot's, kept because nothing else measured better on
 * the anchors harness (docs/performance.md has the variants and figures):
 * spin while nobody is parked, 3 rounds of 2, 4 and 8 pause instructions
 * then 7 yields, then park; every unlock that finds PARKED wakes one thread;
 * the lot's fair timer (0 to 1 ms) turns an unlock into a handoff.
 *
 * While an observer watches every lock operation (sync/observe.h), the
 * out-of-line functions report each one around the same work; the other
 * locks of sync/ use tpark__mutex_acquire/_release (sync/mutex_internal.h),
 * which report nothing. */
#include "tpark/mutex.h"

#include "core/lot_internal.h"
#include "sync/mutex_internal.h"
#include "sync/observe.h"

#define LOCKED TPARK__MUTEX_LOCKED
#define PARKED TPARK__MUTEX_PARKED
#define TOKEN_NORMAL TPARK__MUTEX_TOKEN_NORMAL
#define TOKEN_HANDOFF TPARK__MUTEX_TOKEN_HANDOFF

static unsigned char load(tpark_mutex *m) { return __atomic_load_n(&m->state_, __ATOMIC_RELAXED); }

static bool cas(tpark_mutex *m, unsigned char *expected, unsigned char desired, int success_order) {
  return __atomic_compare_exchange_n(&m->state_, expected, desired, true, success_order,
                                     __ATOMIC_RELAXED);
}

/* Under the bucket lock: park only if still locked with PARKED set. */
static bool validate(void *ctx) { return load(ctx) == (LOCKED | PARKED); }

/* Under the bucket lock, after a timeout: the last waiter clears PARKED. */
static void timed_out(void *ctx, const void *key, bool was_last) {
  (void)key;
  if (was_last) {
    __atomic_fetch_and(&((tpark_mutex *)ctx)->state_, (unsigned char)~PARKED, __ATOMIC_RELAXED);
  }
}

static bool lock_slow(tpark_mutex *m, tpark_instant deadline) {
  tpark__spin spin = {0};
  unsigned char s = load(m);
  for (;;) {
    if (!(s & LOCKED)) {
      if (cas(m, &s, s | LOCKED, __ATOMIC_ACQUIRE)) return true;
      continue;
    }
    /* Spin while nobody is parked: the holder may be about to unlock. */
    if (!(s & PARKED) && tpark__spin_once(&spin)) {
      s = load(m);
      continue;
    }
    if (!(s & PARKED) && !cas(m, &s, s | PARKED, __ATOMIC_RELAXED)) continue;
    tpark_lot_park_result r =
        tpark_lot_park(m, validate, NULL, timed_out, m, TPARK_LOT_DEFAULT_PARK_TOKEN, deadline);
    if (r.status == TPARK_LOT_UNPARKED && r.unpark_token == TOKEN_HANDOFF) {
      /* The unlocker kept LOCKED set for us; its writes are visible (the
       * park's acquire). */
      return true;
    }
    if (r.status == TPARK_LOT_TIMED_OUT) return false;
    /* Woken normally, or the state changed before we could park: compete. */
    spin.counter = 0;
    s = load(m);
  }
}

bool tpark__mutex_acquire(tpark_mutex *m, tpark_instant deadline) {
  return tpark__mutex_lock_fast(m) || lock_slow(m, deadline);
}

/* An acquisition while observed: LOCK, the attempt, LOCKED. */
static bool observed_lock(tpark_mutex *m, tpark_instant deadline, bool try_only) {
  tpark__lock_event e = {
      .op = TPARK__OP_LOCK,
      .kind = TPARK__LOCK_MUTEX,
      .mode = TPARK__MODE_EXCLUSIVE,
      .flags = try_only                  ? TPARK__OBSERVE_TRY
               : deadline != TPARK_NEVER ? TPARK__OBSERVE_TIMED
                                         : 0u,
      .lock = m,
      .deadline = try_only ? TPARK_NEVER : deadline,
      .call = try_only                  ? "tpark_mutex_trylock"
              : deadline != TPARK_NEVER ? "tpark_mutex_lock_until"
                                        : "tpark_mutex_lock",
  };
  tpark__observe(&e);
  e.ok = try_only ? tpark__mutex_trylock_fast(m) : lock_slow(m, deadline);
  e.op = TPARK__OP_LOCKED;
  tpark__observe(&e);
  return e.ok;
}

bool tpark__mutex_lock_slow(tpark_mutex *m, tpark_instant deadline) {
  if (tpark__observed()) return observed_lock(m, deadline, false);
  return lock_slow(m, deadline);
}

bool tpark__mutex_trylock_slow(tpark_mutex *m) {
  if (tpark__observed()) return observed_lock(m, TPARK_NEVER, true);
  return tpark__mutex_trylock_fast(m);
}

struct unlock_ctx {
  tpark_mutex *m;
  bool force_fair;
};

/* Under the bucket lock, once the thread to wake (if any) is chosen. */
static uintptr_t unlock_callback(void *ctx, tpark_lot_unpark_result r) {
  const struct unlock_ctx *u = ctx;
  if (r.unparked_threads != 0 && (u->force_fair || r.be_fair)) {
    /* Hand over: stay LOCKED; PARKED stays only if others still wait. */
    if (!r.have_more_threads) __atomic_store_n(&u->m->state_, LOCKED, __ATOMIC_RELAXED);
    return TOKEN_HANDOFF;
  }
  /* Release, publishing the critical section (release order). */
  __atomic_store_n(&u->m->state_, r.have_more_threads ? PARKED : 0, __ATOMIC_RELEASE);
  return TOKEN_NORMAL;
}

/* The whole unlock when called from an observed fast path; otherwise the
 * fast path's compare-and-swap failed because PARKED is set (or was: a
 * timed-out last waiter may have cleared it since). */
static void unlock(tpark_mutex *m, bool force_fair) {
  unsigned char s = LOCKED;
  if (load(m) == LOCKED &&
      __atomic_compare_exchange_n(&m->state_, &s, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
    return;
  }
  struct unlock_ctx u = {m, force_fair};
  tpark_lot_unpark_one(m, unlock_callback, &u);
}

void tpark__mutex_release(tpark_mutex *m) { unlock(m, false); }

/* A release while observed: UNLOCK, the release, UNLOCKED. */
static void observed_unlock(tpark_mutex *m, bool fair) {
  tpark__lock_event e = {
      .op = TPARK__OP_UNLOCK,
      .kind = TPARK__LOCK_MUTEX,
      .mode = TPARK__MODE_EXCLUSIVE,
      .flags = fair ? TPARK__OBSERVE_FAIR : 0u,
      .lock = m,
      .deadline = TPARK_NEVER,
      .call = fair ? "tpark_mutex_unlock_fair" : "tpark_mutex_unlock",
  };
  tpark__observe(&e);
  unlock(m, fair);
  e.op = TPARK__OP_UNLOCKED;
  tpark__observe(&e);
}

void tpark__mutex_unlock_slow(tpark_mutex *m) {
  if (tpark__observed()) {
    observed_unlock(m, false);
  } else {
    unlock(m, false);
  }
}

void tpark_mutex_unlock_fair(tpark_mutex *m) {
  if (tpark__observed()) {
    observed_unlock(m, true);
  } else {
    unlock(m, true);
  }
}
