/* tpark_mutex (tpark/mutex.h), after parking_lot's raw_mutex.rs.
 *
 * PARKED is set by a thread before it parks (under the bucket lock, checked
 * by validate), and cleared by the unlocker that wakes the last parked thread
 * or by a timed-out thread that was the last one. A handoff (fair unlock)
 * leaves LOCKED set and tells the woken thread with a token that it now owns
 * the mutex. */
#include "tpark/mutex.h"

#include "core/lot_internal.h"
#include "sync/mutex_internal.h"

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

void tpark_mutex_lock(tpark_mutex *m) {
  unsigned char expected = 0;
  if (!cas(m, &expected, LOCKED, __ATOMIC_ACQUIRE)) lock_slow(m, TPARK_NEVER);
}

bool tpark_mutex_trylock(tpark_mutex *m) {
  unsigned char s = load(m);
  while (!(s & LOCKED)) {
    if (cas(m, &s, s | LOCKED, __ATOMIC_ACQUIRE)) return true;
  }
  return false;
}

bool tpark_mutex_lock_until(tpark_mutex *m, tpark_instant deadline) {
  unsigned char expected = 0;
  if (cas(m, &expected, LOCKED, __ATOMIC_ACQUIRE)) return true;
  return lock_slow(m, deadline);
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

static void unlock_slow(tpark_mutex *m, bool force_fair) {
  struct unlock_ctx u = {m, force_fair};
  tpark_lot_unpark_one(m, unlock_callback, &u);
}

void tpark_mutex_unlock(tpark_mutex *m) {
  unsigned char expected = LOCKED;
  if (!__atomic_compare_exchange_n(&m->state_, &expected, 0, false, __ATOMIC_RELEASE,
                                   __ATOMIC_RELAXED)) {
    unlock_slow(m, false);
  }
}

void tpark_mutex_unlock_fair(tpark_mutex *m) {
  unsigned char expected = LOCKED;
  if (!__atomic_compare_exchange_n(&m->state_, &expected, 0, false, __ATOMIC_RELEASE,
                                   __ATOMIC_RELAXED)) {
    unlock_slow(m, true);
  }
}
