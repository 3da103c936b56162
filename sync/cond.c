/* tpark_cond (tpark/cond.h), after parking_lot's condvar.rs, with the
 * choices of what to wake measured on the anchors harness (docs/locks.md).
 *
 * Waiters park on the condition variable's address in the lot. Its word
 * holds the mutex they use: set by the first waiter under the bucket lock,
 * cleared under it by whoever takes the last one out, so that a notify with
 * nobody waiting is one load, and so that a notify can move a waiter onto
 * the mutex's queue (requeue) instead of waking it.
 *
 * notify_one wakes the waiter, except when the notifier itself last waited
 * on this cond and the mutex is locked: then it requeues. A thread that
 * notifies a cond it waits on takes turns with the waiter (a ping-pong, a
 * handoff) and is about to wait again, still holding the mutex: woken now,
 * the waiter would only find the mutex held (on one CPU it even preempts the
 * holder); moved onto the mutex, it is woken by the unlock in the notifier's
 * wait and gets the mutex at once. A thread that notifies a cond it does not
 * wait on (a producer) goes on running; requeueing there sets the mutex's
 * PARKED bit, after which every locker parks instead of spinning, and the
 * threads convoy through the mutex: parking_lot's requeue-always loses 3-10x
 * on a queue with 4 or more consumers.
 *
 * notify_all wakes every waiter: they find the mutex free or spin for it,
 * where a requeue makes them take it one by one, each woken by the unlock
 * of the one before (2 to 3 times slower with 16 and 64 waiters in a busy
 * run; in a quiet one level at 16 and 64, faster only with 4). The
 * figures: docs/performance.md.
 *
 * The mutex is released and taken back with the unobserved
 * tpark__mutex_release/_acquire: while something observes every lock
 * operation (sync/observe.h), a wait reports itself as COND_WAIT, then the
 * relock as LOCK and LOCKED of the mutex (a requeued waiter handed the mutex
 * acquires it without a call), then COND_WOKEN. */
#include "tpark/cond.h"

#include "core/internal.h"
#include "core/lot_internal.h"
#include "sync/mutex_internal.h"
#include "sync/observe.h"

#define LOCKED TPARK__MUTEX_LOCKED
#define PARKED TPARK__MUTEX_PARKED
#define TOKEN_NORMAL TPARK__MUTEX_TOKEN_NORMAL
#define TOKEN_HANDOFF TPARK__MUTEX_TOKEN_HANDOFF

static tpark_mutex *waiters_mutex(tpark_cond *c) {
  return __atomic_load_n(&c->mutex_, __ATOMIC_RELAXED);
}

static void set_waiters_mutex(tpark_cond *c, tpark_mutex *m) {
  __atomic_store_n(&c->mutex_, m, __ATOMIC_RELAXED);
}

/* The cond this thread last waited on (compared, never dereferenced). */
static __thread const tpark_cond *last_waited;

/* ---- waiting ---- */

typedef struct wait_ctx {
  tpark_cond *c;
  tpark_mutex *m;
  bool bad_mutex; /* c's waiters use another mutex */
  bool requeued;  /* timed out, but on m's queue: a notify had moved us */
} wait_ctx;

/* Under c's bucket lock, before queueing: c's waiters use m from now on. */
static bool wait_validate(void *ctx) {
  wait_ctx *w = ctx;
  tpark_mutex *cur = waiters_mutex(w->c);
  if (cur == NULL) {
    set_waiters_mutex(w->c, w->m);
  } else if (cur != w->m) {
    w->bad_mutex = true;
    return false;
  }
  return true;
}

/* Queued: a notifier can find us, so the mutex may go. */
static void wait_before_sleep(void *ctx) { tpark__mutex_release(((wait_ctx *)ctx)->m); }

/* Under the bucket lock of the key we were parked on at the end. */
static void wait_timed_out(void *ctx, const void *key, bool was_last) {
  wait_ctx *w = ctx;
  w->requeued = key != (const void *)w->c;
  if (!was_last) return;
  if (w->requeued) {
    /* The last thread on the mutex's queue: as a timed-out locker of the
     * mutex does (sync/mutex.c). */
    __atomic_fetch_and(&w->m->state_, (unsigned char)~PARKED, __ATOMIC_RELAXED);
  } else {
    set_waiters_mutex(w->c, NULL);
  }
}

static void report(tpark__lock_op op, tpark_cond *c, tpark_mutex *m, tpark_instant deadline,
                   bool ok) {
  tpark__lock_event e = {
      .op = op,
      .kind = TPARK__LOCK_COND,
      .mode = TPARK__MODE_EXCLUSIVE,
      .flags = deadline != TPARK_NEVER ? TPARK__OBSERVE_TIMED : 0u,
      .ok = ok,
      .lock = c,
      .other = m,
      .conflict = op == TPARK__OP_COND_MISMATCH ? waiters_mutex(c) : NULL,
      .deadline = deadline,
      .call = deadline != TPARK_NEVER ? "tpark_cond_wait_until" : "tpark_cond_wait",
  };
  tpark__observe(&e);
}

/* The relock of an observed wait: m's LOCK and LOCKED. */
static void relock_observed(tpark_mutex *m, bool handed_over, bool timed) {
  tpark__lock_event e = {
      .op = TPARK__OP_LOCK,
      .kind = TPARK__LOCK_MUTEX,
      .mode = TPARK__MODE_EXCLUSIVE,
      .flags = TPARK__OBSERVE_RELOCK,
      .lock = m,
      .deadline = TPARK_NEVER,
      .call = timed ? "tpark_cond_wait_until" : "tpark_cond_wait",
  };
  tpark__observe(&e);
  e.ok = handed_over || tpark__mutex_acquire(m, TPARK_NEVER);
  e.op = TPARK__OP_LOCKED;
  tpark__observe(&e);
}

bool tpark_cond_wait_until(tpark_cond *c, tpark_mutex *m, tpark_instant deadline) {
  bool observed = tpark__observed();
  if (observed) report(TPARK__OP_COND_WAIT, c, m, deadline, false);
  wait_ctx w = {c, m, false, false};
  last_waited = c;
  tpark_lot_park_result r = tpark_lot_park(c, wait_validate, wait_before_sleep, wait_timed_out, &w,
                                           TPARK_LOT_DEFAULT_PARK_TOKEN, deadline);
  if (w.bad_mutex) {
    if (observed) report(TPARK__OP_COND_MISMATCH, c, m, deadline, false);
    tpark__fatal(
        "tpark_cond_wait: condition variable %p waited on with mutex %p while its waiters use "
        "mutex %p",
        (void *)c, (void *)m, (void *)waiters_mutex(c));
  }
  /* Requeued, then handed the mutex by its unlock: we hold it already. */
  bool handed_over = r.status == TPARK_LOT_UNPARKED && r.unpark_token == TOKEN_HANDOFF;
  bool notified = r.status == TPARK_LOT_UNPARKED || w.requeued;
  if (observed) {
    relock_observed(m, handed_over, deadline != TPARK_NEVER);
    report(TPARK__OP_COND_WOKEN, c, m, deadline, notified);
  } else if (!handed_over) {
    tpark__mutex_acquire(m, TPARK_NEVER);
  }
  return notified;
}

void tpark_cond_wait(tpark_cond *c, tpark_mutex *m) { tpark_cond_wait_until(c, m, TPARK_NEVER); }

/* ---- notify_one ---- */

typedef struct notify_ctx {
  tpark_cond *c;
  tpark_mutex *m; /* the waiters' mutex when the notify began */
} notify_ctx;

static uintptr_t woken_one(void *ctx, tpark_lot_unpark_result r) {
  notify_ctx *n = ctx;
  if (!r.have_more_threads) set_waiters_mutex(n->c, NULL);
  return TOKEN_NORMAL;
}

/* Under both bucket locks: requeue onto m if it is locked (setting PARKED,
 * so that its unlock takes the slow path and finds the moved thread); wake
 * if it is free. */
static tpark_lot_requeue_op choose_one(void *ctx) {
  notify_ctx *n = ctx;
  if (waiters_mutex(n->c) != n->m) return TPARK_LOT_REQUEUE_ABORT; /* all left meanwhile */
  unsigned char s = __atomic_load_n(&n->m->state_, __ATOMIC_RELAXED);
  for (;;) {
    if (!(s & LOCKED)) return TPARK_LOT_UNPARK_ONE;
    if (__atomic_compare_exchange_n(&n->m->state_, &s, (unsigned char)(s | PARKED), true,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
      return TPARK_LOT_REQUEUE_ONE;
    }
  }
}

static uintptr_t moved_one(void *ctx, tpark_lot_requeue_op op, tpark_lot_unpark_result r) {
  (void)op;
  return woken_one(ctx, r);
}

static void report_notify(tpark_cond *c, bool all) {
  tpark__lock_event e = {
      .op = TPARK__OP_COND_NOTIFY,
      .kind = TPARK__LOCK_COND,
      .mode = TPARK__MODE_EXCLUSIVE,
      .flags = all ? TPARK__OBSERVE_ALL : 0u,
      .lock = c,
      .deadline = TPARK_NEVER,
      .call = all ? "tpark_cond_notify_all" : "tpark_cond_notify_one",
  };
  tpark__observe(&e);
}

bool tpark_cond_notify_one(tpark_cond *c) {
  if (tpark__observed()) report_notify(c, false);
  tpark_mutex *m = waiters_mutex(c);
  if (m == NULL) return false; /* nobody waits */
  notify_ctx n = {c, m};
  if (last_waited != c) return tpark_lot_unpark_one(c, woken_one, &n).unparked_threads != 0;
  tpark_lot_unpark_result r = tpark_lot_unpark_requeue(c, m, choose_one, moved_one, &n);
  return r.unparked_threads + r.requeued_threads != 0;
}

/* ---- notify_all ---- */

static uintptr_t woken_all(void *ctx, tpark_lot_unpark_result r) {
  (void)r;
  set_waiters_mutex(ctx, NULL); /* under the bucket lock: no waiter is left */
  return TOKEN_NORMAL;
}

size_t tpark_cond_notify_all(tpark_cond *c) {
  if (tpark__observed()) report_notify(c, true);
  if (waiters_mutex(c) == NULL) return 0;
  return tpark_lot_unpark_filter(c, NULL, woken_all, c).unparked_threads;
}
