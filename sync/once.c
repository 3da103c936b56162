/* tpark_once (tpark/once.h), after parking_lot's once.rs, without poisoning:
 * a failed run passes the initialisation on instead.
 *
 * The byte: 0 before any run; RUNNING while a thread runs fn; PARKED while
 * threads may be parked on the once's address in the lot (set by each one
 * before it parks, checked under the bucket lock); DONE, alone and final,
 * after a run succeeded. A failed run hands RUNNING over to the longest
 * waiter with TOKEN_RUN (it runs its own fn next), or clears the byte when
 * nobody waits.
 *
 * While something observes every lock operation (sync/observe.h), a call
 * reports ONCE_BEGIN, ONCE_RUN before its thread runs fn, and ONCE_END. */
#include "tpark/once.h"

#include "sync/observe.h"
#include "tpark/lot.h"

#define DONE TPARK__ONCE_DONE
#define RUNNING 2u
#define PARKED 4u

#define TOKEN_CHECK ((uintptr_t)0) /* look at the byte again */
#define TOKEN_RUN ((uintptr_t)1)   /* a run failed: RUNNING is yours, run fn */

static unsigned char load(tpark_once *o) { return __atomic_load_n(&o->state_, __ATOMIC_ACQUIRE); }

/* Under the bucket lock: park only while a run is on and PARKED is set. */
static bool still_running(void *ctx) { return load(ctx) == (RUNNING | PARKED); }

/* Under the bucket lock, after a failed run: hand RUNNING to the woken
 * thread, or, if none, release the once. */
static uintptr_t pass_on(void *ctx, tpark_lot_unpark_result r) {
  tpark_once *o = ctx;
  if (r.unparked_threads == 0) {
    __atomic_store_n(&o->state_, 0, __ATOMIC_RELEASE);
    return TOKEN_CHECK;
  }
  if (!r.have_more_threads) __atomic_store_n(&o->state_, RUNNING, __ATOMIC_RELAXED);
  return TOKEN_RUN;
}

/* One call: its fn, and what observers are told of it. */
typedef struct call {
  tpark_once *o;
  bool (*fn)(void *arg);
  void *arg;
  const char *name; /* the public function */
  bool observed, ran;
} call;

static void report(const call *c, tpark__lock_op op, bool ok) {
  tpark__lock_event e = {
      .op = op,
      .kind = TPARK__LOCK_ONCE,
      .mode = TPARK__MODE_EXCLUSIVE,
      .flags = c->ran ? TPARK__OBSERVE_RAN : 0u,
      .ok = ok,
      .lock = c->o,
      .deadline = TPARK_NEVER,
      .call = c->name,
  };
  tpark__observe(&e);
}

/* The caller holds RUNNING: runs fn and publishes the outcome. */
static bool run(call *c) {
  tpark_once *o = c->o;
  if (c->observed) report(c, TPARK__OP_ONCE_RUN, false);
  c->ran = true;
  if (c->fn(c->arg)) {
    /* Release: fn's writes are visible to whoever sees DONE. */
    unsigned char was = __atomic_exchange_n(&o->state_, DONE, __ATOMIC_ACQ_REL);
    if (was & PARKED) tpark_lot_unpark_all(o, TOKEN_CHECK);
    return true;
  }
  unsigned char expected = RUNNING;
  if (!__atomic_compare_exchange_n(&o->state_, &expected, 0, false, __ATOMIC_RELEASE,
                                   __ATOMIC_RELAXED)) {
    tpark_lot_unpark_one(o, pass_on, o); /* PARKED: somebody may wait */
  }
  return false;
}

static bool try_call(call *c) {
  tpark_once *o = c->o;
  unsigned char s = load(o);
  for (;;) {
    if (s == DONE) return true;
    if (!(s & RUNNING)) {
      /* Not running (so nobody is parked): the run is ours. */
      if (__atomic_compare_exchange_n(&o->state_, &s, (unsigned char)RUNNING, true,
                                      __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        return run(c);
      }
      continue;
    }
    if (!(s & PARKED) && !__atomic_compare_exchange_n(&o->state_, &s, (unsigned char)(s | PARKED),
                                                      true, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
      continue;
    }
    tpark_lot_park_result r =
        tpark_lot_park(o, still_running, NULL, NULL, o, TPARK_LOT_DEFAULT_PARK_TOKEN, TPARK_NEVER);
    if (r.status == TPARK_LOT_UNPARKED && r.unpark_token == TOKEN_RUN) return run(c);
    s = load(o);
  }
}

static bool observed_call(call *c) {
  c->observed = tpark__observed();
  if (!c->observed) return try_call(c);
  report(c, TPARK__OP_ONCE_BEGIN, tpark_once_done(c->o));
  bool done = try_call(c);
  report(c, TPARK__OP_ONCE_END, done);
  return done;
}

bool tpark__once_try_call_slow(tpark_once *o, bool (*fn)(void *arg), void *arg) {
  call c = {o, fn, arg, "tpark_once_try_call", false, false};
  return observed_call(&c);
}

/* tpark_once_call's fn, as one that cannot fail. */
typedef struct plain_fn {
  void (*fn)(void *arg);
  void *arg;
} plain_fn;

static bool call_plain(void *ctx) {
  const plain_fn *p = ctx;
  p->fn(p->arg);
  return true;
}

void tpark__once_call_slow(tpark_once *o, void (*fn)(void *arg), void *arg) {
  plain_fn p = {fn, arg};
  call c = {o, call_plain, &p, "tpark_once_call", false, false};
  observed_call(&c);
}
