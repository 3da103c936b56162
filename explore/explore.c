/* The schedule explorer (tpark/explore.h): runs a body's threads one at a
 * time and decides, at each tpark synchronisation point, which one goes on.
 *
 * The baton. Every thread of a run is a real OS thread (a worker of a pool
 * that lives as long as tpark_explore_run, reused run after run), and one
 * mutex guards all of the explorer's state. `running` names the one thread
 * allowed to run user code; the others wait on their worker's condition
 * variable until it names them. At a point (explore/explore_internal.h) the
 * running thread asks the strategy for the next option and hands the baton
 * over; a parking thread is no option until an unpark_lock or a timeout
 * makes it runnable again. Only one thread runs tpark code at a time, so no
 * thread ever waits for a word lock of the lot, and every point is reached
 * outside the lot's bucket locks (park and unpark are called after they are
 * released; prepare_park, unpark_lock and timed_out are not points).
 *
 * The points: every LOCK (before an acquisition), LOCKED (after one that
 * succeeded), UNLOCKED (after a release), COND_NOTIFY, ONCE_BEGIN, ADDRESS_WAIT and ADDRESS_WAKE of
 * the lock observers (sync/observe.h), the backend's park (when it really waits), unpark and
 * thread_yield, and spawn, join and a thread's exit.
 *
 * Time. The explorer is the process default backend during a call, and its
 * clock moves only by the TICK option: to the earliest deadline of the
 * parked threads, timing them out. TICK is offered whenever a parked thread
 * has a deadline, so "the wake comes first" and "the timeout comes first"
 * are both explored.
 *
 * Failure. The run's threads are stopped wherever they are: each one in
 * turn takes itself out of the lot's queues (tpark__lot_leave), drops its
 * checked-mode record, and longjmps back to its worker. Their locks are
 * abandoned with the run. */
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked_internal.h"
#include "core/internal.h"
#include "core/lot_internal.h"
#include "explore/explore_internal.h"
#include "sync/observe.h"
#include "tpark/backend.h"
#include "tpark/checked.h"

explorer *tpark__ex_active;
#define active tpark__ex_active
static __thread ex_thread *self; /* the calling thread's record in a run */

static void lock(explorer *x) {
  if (pthread_mutex_lock(&x->mu) != 0) tpark__fatal("tpark explore: pthread_mutex_lock failed");
}

static void unlock(explorer *x) {
  if (pthread_mutex_unlock(&x->mu) != 0) tpark__fatal("tpark explore: pthread_mutex_unlock failed");
}

static void wait_on(pthread_cond_t *c, explorer *x) {
  int cancel_state, ignored;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  int err = pthread_cond_wait(c, &x->mu);
  pthread_setcancelstate(cancel_state, &ignored);
  if (err != 0) tpark__fatal("tpark explore: pthread_cond_wait failed");
}

static void signal_worker(worker *w) {
  if (pthread_cond_signal(&w->wake) != 0) tpark__fatal("tpark explore: pthread_cond_signal failed");
}

/* The caller's thread record; ends the process when it has none. */
static ex_thread *me(const char *call) {
  ex_thread *t = self;
  if (t == NULL && active == NULL)
    tpark__fatal("tpark explore: %s outside tpark_explore_run", call);
  if (t == NULL) {
    tpark__fatal("tpark explore: %s during a run, in a thread not started with tpark_explore_spawn",
                 call);
  }
  return t;
}

/* ---- objects and reports ---------------------------------------------------- */

static object *find_object(explorer *x, const void *addr, unsigned kind) {
  for (size_t i = 0; i < x->n_objects; i++) {
    if (x->objects[i].addr == addr) return &x->objects[i];
  }
  if (x->n_objects == x->cap_objects) {
    size_t cap = x->cap_objects ? 2 * x->cap_objects : 32;
    object *grown = realloc(x->objects, cap * sizeof *grown);
    if (grown == NULL) tpark__fatal("tpark explore: out of memory for the objects of a run");
    x->objects = grown;
    x->cap_objects = cap;
  }
  object *o = &x->objects[x->n_objects++];
  o->addr = addr;
  o->kind = kind;
  o->label = NULL;
  return o;
}

static const char *kind_name(unsigned kind) {
  if (kind == OBJ_PARKER) return "parker";
  return kind < OBJ_PARKER ? tpark__lock_kind_name((tpark__lock_kind)kind) : "object";
}

/* `mutex "queue"`, or `mutex #2` (its rank among the run's objects: the
 * same in a replay, unlike its address). */
static const char *describe_object(explorer *x, const void *addr, unsigned kind, char *buf,
                                   size_t cap) {
  object *o = find_object(x, addr, kind);
  if (o->label != NULL) {
    snprintf(buf, cap, "%s \"%s\"", kind_name(kind), o->label);
  } else {
    snprintf(buf, cap, "%s #%u", kind_name(kind), (unsigned)(o - x->objects) + 1);
  }
  return buf;
}

static const char *thread_name(explorer *x, unsigned id, char *buf, size_t cap) {
  if (x->threads[id].name[0] != '\0') {
    snprintf(buf, cap, "thread %u \"%s\"", id, x->threads[id].name);
  } else {
    snprintf(buf, cap, id == 0 ? "thread 0 (the body)" : "thread %u", id);
  }
  return buf;
}

static void put(explorer *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(explorer *x, const char *fmt, ...) {
  size_t room = sizeof x->report - x->report_len;
  if (room <= 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(x->report + x->report_len, room, fmt, ap);
  va_end(ap);
  if (n > 0) x->report_len += (size_t)n < room ? (size_t)n : room - 1;
}

/* What thread t is doing, for a report. */
static void put_thread(explorer *x, const ex_thread *t) {
  char name[64], obj[96], other[96];
  put(x, "  %s: ", thread_name(x, t->id, name, sizeof name));
  switch (t->state) {
    case T_RUNNABLE:
      put(x, "can run\n");
      return;
    case T_DONE:
      put(x, "has ended\n");
      return;
    case T_JOINING:
      put(x, "waits in tpark_explore_join for %s\n",
          thread_name(x, t->join_target, name, sizeof name));
      return;
    case T_PARKED:
      break;
  }
  if (t->call != NULL) {
    put(x, "waits in %s for %s", t->call, describe_object(x, t->obj, t->obj_kind, obj, sizeof obj));
    if (t->other != NULL) {
      put(x, " (with %s)", describe_object(x, t->other, TPARK__LOCK_MUTEX, other, sizeof other));
    }
    put(x, ", since step %" PRIu64, t->since);
  } else {
    put(x, "parked on %s", describe_object(x, t->parker, OBJ_PARKER, obj, sizeof obj));
  }
  if (t->deadline != TPARK_NEVER) put(x, ", until %" PRIu64 " ns", t->deadline);
  put(x, "\n");
}

static void put_ring(explorer *x) {
  uint64_t first = x->step > RING ? x->step - RING + 1 : 1;
  put(x, "  its last steps:\n");
  for (uint64_t s = first; s <= x->step; s++) {
    const ring_entry *e = &x->ring[s % RING];
    char name[64], obj[96];
    put(x, "    %" PRIu64 ": %s: %s", s, thread_name(x, e->thread, name, sizeof name), e->what);
    if (e->obj_kind == OBJ_THREAD) {
      put(x, " %s", thread_name(x, (unsigned)(uintptr_t)e->obj, name, sizeof name));
    } else if (e->obj != NULL) {
      put(x, " %s", describe_object(x, e->obj, e->obj_kind, obj, sizeof obj));
    }
    if (e->what[0] == '(') put(x, " %" PRIu64 " ns", e->now);
    put(x, "\n");
  }
}

/* Ends the run as failed (the first failure only) and wakes every thread to
 * unwind. */
static void fail(explorer *x, tpark_explore_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(explorer *x, tpark_explore_outcome outcome, const char *fmt, ...) {
  if (x->aborting) return;
  x->aborting = true;
  x->outcome = outcome;
  char why[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (x->sched.replaying) {
    put(x, "tpark explore: the replay (%s) failed at step %" PRIu64 ": %s\n",
        tpark_explore_strategy_name(x->sched.strategy), x->step, why);
  } else {
    put(x, "tpark explore: run %" PRIu64 " (%s, seed %" PRIu64 ") failed at step %" PRIu64 ": %s\n",
        x->run + 1, tpark_explore_strategy_name(x->sched.strategy), x->sched.seed, x->step, why);
  }
  for (unsigned i = 0; i < x->n_threads; i++) {
    if (x->threads[i].state != T_DONE) put_thread(x, &x->threads[i]);
  }
  if (x->step > 0) put_ring(x);
  for (unsigned i = 0; i < x->n_workers; i++) signal_worker(x->workers[i]);
}

/* ---- the baton ----------------------------------------------------------------- */

/* Leaves the failed run: out of the lot, then back to the worker. One
 * thread at a time, so that no two use the lot's word locks at once. */
static void unwind(explorer *x, ex_thread *t) __attribute__((noreturn));
static void unwind(explorer *x, ex_thread *t) {
  tpark_parker *abandoned = t->in_park ? t->parker : NULL;
  unlock(x);
  pthread_mutex_lock(&x->unwind_mu);
  tpark__lot_leave();
  tpark__lock_checks_drop_thread();
  if (abandoned != NULL) tpark__checked_abandon_park(abandoned);
  pthread_mutex_unlock(&x->unwind_mu);
  longjmp(t->unwind, 1);
}

/* Times out the parked threads whose deadline is the earliest. */
static void tick(explorer *x) {
  tpark_instant earliest = TPARK_NEVER;
  for (unsigned i = 0; i < x->n_threads; i++) {
    const ex_thread *t = &x->threads[i];
    if (t->state == T_PARKED && t->deadline < earliest) earliest = t->deadline;
  }
  if (earliest > x->now) x->now = earliest;
  for (unsigned i = 0; i < x->n_threads; i++) {
    ex_thread *t = &x->threads[i];
    if (t->state == T_PARKED && t->deadline <= x->now) {
      t->parker->state_.u32 = TIMED_OUT;
      t->park_result = false;
      t->state = T_RUNNABLE;
    }
  }
}

/* The options at a point of thread t (explore/explore_internal.h). */
static size_t options(explorer *x, const ex_thread *t, ex_point_kind kind, unsigned *out) {
  size_t n = 0;
  bool timed = false;
  unsigned start = kind == EX_YIELD ? t->id + 1 : 0;
  if (kind == EX_PREEMPT) out[n++] = t->id;
  for (unsigned k = 0; k < x->n_threads; k++) {
    const ex_thread *o = &x->threads[(start + k) % x->n_threads];
    if (o->state == T_PARKED && o->deadline != TPARK_NEVER) timed = true;
    if (o->state != T_RUNNABLE || (o == t && kind != EX_BLOCK)) continue;
    out[n++] = o->id;
  }
  if (kind == EX_YIELD && n == 0) out[n++] = t->id; /* nobody else can go */
  if (timed) out[n++] = EX_TICK;
  return n;
}

static uint32_t mix(uint32_t h, uint64_t v) {
  h ^= (uint32_t)v ^ (uint32_t)(v >> 32);
  h *= 0x01000193u;
  return h ^ (h >> 15);
}

/* Thread t is at a point: takes the step(s) and returns once t holds the
 * baton again (at once when it keeps it), or unwinds t when the run failed
 * meanwhile. EX_EXIT returns after handing the baton on. x is locked. */
static void point(explorer *x, ex_thread *t, ex_point_kind kind, const char *what, const void *obj,
                  unsigned obj_kind) {
  unsigned opts[EX_MAX_THREADS + 1];
  for (;;) {
    if (x->aborting) break;
    uint64_t step = ++x->step;
    x->total_steps++;
    ring_entry *r = &x->ring[step % RING];
    *r = (ring_entry){step, t->id, what, obj, obj_kind, x->now};
    /* The step's check: the thread, what it does, on which kind of object
     * (a thread: which one), who may go next. Not the object's address nor
     * its rank: a lock freed and another allocated at its address would
     * make a replay diverge. */
    if (obj != NULL && obj_kind != OBJ_THREAD) find_object(x, obj, obj_kind); /* for reports */
    size_t rank = obj_kind == OBJ_THREAD ? (size_t)(uintptr_t)obj : 0;
    if (step > x->max_steps) {
      fail(x, TPARK_EXPLORE_STEP_LIMIT,
           "more than %" PRIu64 " steps (a livelock, or raise max_steps)", x->max_steps);
      break;
    }
    size_t n = options(x, t, kind, opts);
    uint32_t h = mix(mix(mix(2166136261u, t->id), (uint64_t)kind << 8 | obj_kind), rank);
    for (const char *c = what; *c != '\0'; c++) h = mix(h, (unsigned char)*c);
    for (size_t i = 0; i < n; i++) h = mix(h, opts[i]);
    if (!tpark__ex_schedule_check(&x->sched, step, h)) {
      fail(x, TPARK_EXPLORE_DIVERGED,
           step > x->sched.n_expect
               ? "the replay goes on past the recorded run's last step %" PRIu64
               : "the replay diverged from its token at step %" PRIu64
                 " (this step differs from the recorded one)",
           step > x->sched.n_expect ? (uint64_t)x->sched.n_expect : step);
      break;
    }
    if (n == 0) {
      fail(x, TPARK_EXPLORE_DEADLOCK, "deadlock: every thread waits and no deadline is left");
      break;
    }
    if (n > 1) x->decisions++;
    ex_point p = {kind, t->id, opts, n, step};
    size_t pick = tpark__ex_schedule_choose(&x->sched, &p);
    if (x->sched.diverged) {
      fail(x, TPARK_EXPLORE_DIVERGED,
           "the schedule diverged at step %" PRIu64
           ": fewer threads could go on than when it was recorded (is the body deterministic?)",
           step);
      break;
    }
    unsigned next = opts[pick];
    if (next == EX_TICK) {
      tick(x);
      /* The next step is the same thread's point again, at the new time. */
      what = "(the clock moves to)";
      obj = NULL;
      obj_kind = OBJ_NONE;
      continue;
    }
    if (next != t->id) {
      x->running = next;
      signal_worker(x->threads[next].worker);
    }
    if (kind == EX_EXIT) return;
    while (x->running != t->id && !x->aborting) wait_on(&t->worker->wake, x);
    if (!x->aborting) return;
    break;
  }
  if (kind != EX_EXIT) unwind(x, t);
}

/* ---- the backend ------------------------------------------------------------- */

static explorer *of(const tpark_backend *b) { return b->context; }

static void ex_prepare_park(const tpark_backend *b, tpark_parker *p) {
  explorer *x = of(b);
  lock(x);
  p->state_.u32 = PREPARED;
  unlock(x);
}

static bool ex_park_until(const tpark_backend *b, tpark_parker *p, tpark_instant deadline) {
  explorer *x = of(b);
  ex_thread *t = me("a park");
  lock(x);
  bool unparked;
  if (p->state_.u32 == UNPARKED) {
    unparked = true;
  } else if (deadline != TPARK_NEVER && x->now >= deadline) {
    p->state_.u32 = TIMED_OUT;
    unparked = false;
  } else {
    t->state = T_PARKED;
    t->parker = p;
    t->deadline = deadline;
    t->in_park = true;
    point(x, t, EX_BLOCK, "parks on", p, OBJ_PARKER);
    t->in_park = false;
    unparked = t->park_result;
    t->deadline = TPARK_NEVER;
  }
  unlock(x);
  return unparked;
}

static void ex_park(const tpark_backend *b, tpark_parker *p) { ex_park_until(b, p, TPARK_NEVER); }

static bool ex_timed_out(const tpark_backend *b, tpark_parker *p) {
  explorer *x = of(b);
  lock(x);
  bool timed_out = p->state_.u32 == TIMED_OUT;
  unlock(x);
  return timed_out;
}

static void *ex_unpark_lock(const tpark_backend *b, tpark_parker *p) {
  explorer *x = of(b);
  lock(x);
  if (p->state_.u32 == PREPARED || p->state_.u32 == TIMED_OUT) {
    p->state_.u32 = UNPARKED;
    for (unsigned i = 0; i < x->n_threads; i++) {
      ex_thread *t = &x->threads[i];
      if (t->state == T_PARKED && t->parker == p) {
        t->state = T_RUNNABLE;
        t->park_result = true;
      }
    }
  }
  unlock(x);
  return NULL;
}

static void ex_unpark(const tpark_backend *b, void *token) {
  (void)token;
  explorer *x = of(b);
  ex_thread *t = me("an unpark");
  lock(x);
  point(x, t, EX_PREEMPT, "unparks", NULL, OBJ_NONE);
  unlock(x);
}

static tpark_instant ex_now(const tpark_backend *b) {
  explorer *x = of(b);
  lock(x);
  tpark_instant now = x->now;
  unlock(x);
  return now;
}

static void ex_thread_yield(const tpark_backend *b) {
  explorer *x = of(b);
  ex_thread *t = me("tpark_thread_yield");
  lock(x);
  point(x, t, EX_YIELD, "tpark_thread_yield", NULL, OBJ_NONE);
  unlock(x);
}

/* ---- the lock operations --------------------------------------------------------- */

static void pending(explorer *x, ex_thread *t, const tpark__lock_event *e) {
  t->call = e->call;
  t->obj = e->lock;
  t->other = e->op == TPARK__OP_COND_WAIT ? e->other : NULL;
  t->obj_kind = e->kind;
  t->since = x->step + 1;
}

static void on_event(void *ctx, const tpark__lock_event *e) {
  explorer *x = ctx;
  ex_thread *t = me(e->call);
  lock(x);
  switch (e->op) {
    case TPARK__OP_LOCK:
    case TPARK__OP_ONCE_BEGIN:
    case TPARK__OP_ADDRESS_WAIT:
      pending(x, t, e);
      point(x, t, EX_PREEMPT, e->call, e->lock, e->kind);
      break;
    case TPARK__OP_COND_WAIT:
      pending(x, t, e);
      break;
    case TPARK__OP_LOCKED:
      t->call = NULL;
      /* Others may try the lock while it is held (and time out on it). */
      if (e->ok) point(x, t, EX_PREEMPT, "holds", e->lock, e->kind);
      break;
    case TPARK__OP_COND_WOKEN:
    case TPARK__OP_ONCE_END:
      t->call = NULL;
      break;
    case TPARK__OP_UNLOCKED:
      point(x, t, EX_PREEMPT, "returns from", e->lock, e->kind);
      break;
    case TPARK__OP_COND_NOTIFY:
    case TPARK__OP_ADDRESS_WAKE:
      point(x, t, EX_PREEMPT, e->call, e->lock, e->kind);
      break;
    default:
      break;
  }
  unlock(x);
}

/* ---- threads ---------------------------------------------------------------------- */

/* A thread has ended (its fn returned, or it unwound): x is locked. */
static void ended(explorer *x, ex_thread *t, bool returned) {
  t->state = T_DONE;
  x->live--;
  for (unsigned i = 0; i < x->n_threads; i++) {
    ex_thread *j = &x->threads[i];
    if (j->state == T_JOINING && j->join_target == t->id) j->state = T_RUNNABLE;
  }
  if (x->live == 0) {
    pthread_cond_broadcast(&x->done);
  } else if (returned) {
    point(x, t, EX_EXIT, "ends", NULL, OBJ_NONE);
  }
}

/* Runs t's fn, or unwinds it back here; x is locked before and after. */
static void run_thread(explorer *x, ex_thread *t) {
  self = t;
  unlock(x);
  if (setjmp(t->unwind) == 0) {
    t->fn(t->arg);
    tpark__lock_checks_thread_ends();
    lock(x);
    ended(x, t, true);
  } else {
    lock(x);
    ended(x, t, false);
  }
  self = NULL;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  explorer *x = active;
  lock(x);
  for (;;) {
    while (!w->quit && (w->job == NULL || (x->running != w->job->id && !x->aborting))) {
      wait_on(&w->wake, x);
    }
    if (w->quit) break;
    if (x->aborting) {
      ended(x, w->job, false); /* never started */
    } else {
      run_thread(x, w->job);
    }
    w->job = NULL;
  }
  unlock(x);
  return NULL;
}

/* A worker for t: an idle one, or a new one. x is locked. */
static void assign_worker(explorer *x, ex_thread *t) {
  for (unsigned i = 0; i < x->n_workers; i++) {
    if (x->workers[i]->job == NULL) {
      x->workers[i]->job = t;
      t->worker = x->workers[i];
      return;
    }
  }
  worker *w = calloc(1, sizeof *w);
  if (w == NULL || pthread_cond_init(&w->wake, NULL) != 0)
    tpark__fatal("tpark explore: out of memory for a thread");
  w->job = t;
  if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
    tpark__fatal("tpark explore: pthread_create failed");
  x->workers[x->n_workers++] = w;
  t->worker = w;
}

/* A new thread of the run, runnable; x is locked. */
static ex_thread *add_thread(explorer *x, void (*fn)(void *), void *arg) {
  if (x->n_threads == EX_MAX_THREADS) {
    tpark__fatal("tpark explore: tpark_explore_spawn: more than %d threads in one run",
                 EX_MAX_THREADS);
  }
  ex_thread *t = &x->threads[x->n_threads];
  memset(t, 0, sizeof *t);
  t->id = x->n_threads++;
  t->state = T_RUNNABLE;
  t->fn = fn;
  t->arg = arg;
  t->deadline = TPARK_NEVER;
  x->live++;
  tpark__ex_schedule_spawned(&x->sched, t->id);
  assign_worker(x, t);
  return t;
}

tpark_explore_thread tpark_explore_spawn(void (*fn)(void *arg), void *arg) {
  ex_thread *t = me("tpark_explore_spawn");
  explorer *x = active;
  if (fn == NULL) tpark__fatal("tpark explore: tpark_explore_spawn: fn is NULL");
  lock(x);
  ex_thread *spawned = add_thread(x, fn, arg);
  tpark_explore_thread handle = {spawned->id};
  point(x, t, EX_PREEMPT, "tpark_explore_spawn", (const void *)(uintptr_t)spawned->id, OBJ_THREAD);
  unlock(x);
  return handle;
}

void tpark_explore_join(tpark_explore_thread th) {
  ex_thread *t = me("tpark_explore_join");
  explorer *x = active;
  lock(x);
  if (th.id_ >= x->n_threads || th.id_ == t->id) {
    unlock(x);
    tpark__fatal("tpark explore: tpark_explore_join: thread %u is not another thread of this run",
                 th.id_);
  }
  if (x->threads[th.id_].state != T_DONE) {
    t->state = T_JOINING;
    t->join_target = th.id_;
    point(x, t, EX_BLOCK, "tpark_explore_join", (const void *)(uintptr_t)th.id_, OBJ_THREAD);
  }
  unlock(x);
}

void tpark_explore_check(bool ok, const char *what) {
  if (ok) return;
  ex_thread *t = me("tpark_explore_check");
  explorer *x = active;
  lock(x);
  char name[64];
  fail(x, TPARK_EXPLORE_CHECK, "check failed in %s: %s", thread_name(x, t->id, name, sizeof name),
       what != NULL ? what : "(no description)");
  unwind(x, t);
}

void tpark_explore_label(const void *obj, const char *name) {
  ex_thread *t = self;
  explorer *x = active;
  if (t == NULL || x == NULL) return;
  if (obj != NULL) tpark_checked_label(obj, name); /* checked mode's lines name it too */
  lock(x);
  if (obj == NULL) {
    snprintf(t->name, sizeof t->name, "%s", name != NULL ? name : "");
  } else {
    object *o = find_object(x, obj, OBJ_NONE);
    free(o->label);
    o->label = NULL;
    if (name != NULL) {
      size_t len = strlen(name);
      o->label = malloc(len + 1);
      if (o->label == NULL) tpark__fatal("tpark explore: out of memory for a label");
      memcpy(o->label, name, len + 1);
    }
  }
  unlock(x);
}

/* ---- runs --------------------------------------------------------------------------- */

bool tpark__ex_init(explorer *x) {
  if (pthread_mutex_init(&x->mu, NULL) != 0) return false;
  if (pthread_mutex_init(&x->unwind_mu, NULL) != 0 || pthread_cond_init(&x->done, NULL) != 0)
    tpark__fatal("tpark explore: pthread_mutex_init or pthread_cond_init failed");
  x->backend = (tpark_backend){
      .abi_version = TPARK_BACKEND_ABI_VERSION,
      .name = "explore",
      .prepare_park = ex_prepare_park,
      .park = ex_park,
      .park_until = ex_park_until,
      .timed_out = ex_timed_out,
      .unpark_lock = ex_unpark_lock,
      .unpark = ex_unpark,
      .now = ex_now,
      .thread_yield = ex_thread_yield,
      .context = x,
  };
  x->observer = (tpark__observer){on_event, x};
  return true;
}

void tpark__ex_run_once(explorer *x, void (*body)(void *arg), void *arg) {
  lock(x);
  x->n_threads = x->live = 0;
  x->aborting = false;
  x->outcome = TPARK_EXPLORE_PASSED;
  x->now = 0;
  x->step = 0;
  x->running = 0;
  add_thread(x, body, arg);
  signal_worker(x->threads[0].worker);
  while (x->live > 0) wait_on(&x->done, x);
  for (size_t i = 0; i < x->n_objects; i++) {
    /* Another run may put another lock at the same address. */
    tpark_checked_forget(x->objects[i].addr);
    free(x->objects[i].label);
  }
  x->n_objects = 0;
  unlock(x);
}

void tpark__ex_destroy(explorer *x) {
  lock(x);
  for (unsigned i = 0; i < x->n_workers; i++) {
    x->workers[i]->quit = true;
    signal_worker(x->workers[i]);
  }
  unlock(x);
  for (unsigned i = 0; i < x->n_workers; i++) {
    pthread_join(x->workers[i]->thread, NULL);
    pthread_cond_destroy(&x->workers[i]->wake);
    free(x->workers[i]);
  }
  free(x->objects);
  pthread_cond_destroy(&x->done);
  pthread_mutex_destroy(&x->unwind_mu);
  pthread_mutex_destroy(&x->mu);
}
