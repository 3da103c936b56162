/* The conformance suite: every semantic of SPEC's list, written once, run
 * against one subject per test program run (argv[1]: futex, condvar, mock,
 * futex_fake, ...). Timeouts use the subject's clock: fake subjects get a
 * driver thread that moves fake time, real ones wait a few ms. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/backend.h"
#include "tpark/tpark.h"

#define MS UINT64_C(1000000)

static const tpark_backend *backend;

static void setup(void) {
  subject_setup();
  backend = subject_backend();
  ck_assert_msg(backend != NULL, "the subject has no backend");
}

static void init(tpark_parker *p) { ck_assert_int_eq(tpark_init_with(p, backend), TPARK_OK); }

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  ck_assert_int_eq(pthread_create(t, NULL, fn, arg), 0);
}

static void join(pthread_t t) { ck_assert_int_eq(pthread_join(t, NULL), 0); }

static int load(const int *flag) { return __atomic_load_n(flag, __ATOMIC_ACQUIRE); }
static void store(int *flag, int v) { __atomic_store_n(flag, v, __ATOMIC_RELEASE); }
static void wait_for(const int *flag, int v) {
  while (load(flag) != v) tpark_thread_yield();
}

/* ---- a waker thread ---------------------------------------------------- */

struct waker {
  tpark_parker *p;
  int go;        /* set by the owner: the parker is prepared */
  int locked;    /* set by the waker after unpark_lock, before unpark */
  bool sleepers; /* wait until the owner sleeps before unpark_lock */
  bool twice;    /* a second unpark_lock (and unpark) in the same cycle */
  int data[16];  /* written before unpark_lock (ordering test) */
};

static void *waker_main(void *arg) {
  struct waker *w = arg;
  wait_for(&w->go, 1);
  if (w->sleepers) subject_wait_sleepers(1, 1000);
  for (int i = 0; i < 16; i++) w->data[i] = i + 1;
  tpark_unpark_handle h = tpark_unpark_lock(w->p);
  tpark_unpark_handle second = {0};
  if (w->twice) second = tpark_unpark_lock(w->p);
  store(&w->locked, 1);
  tpark_unpark(h);
  tpark_unpark(second); /* must neither block nor count for the next cycle */
  return NULL;
}

/* Prepares w->p and lets a waker thread go at it; the caller parks, then
 * joins the thread returned. */
static pthread_t prepare_with_waker(struct waker *w) {
  pthread_t t;
  start(&t, waker_main, w);
  tpark_prepare_park(w->p);
  store(&w->go, 1);
  return t;
}

/* ---- time for timeouts --------------------------------------------------- */

struct driver {
  int stop;
};

/* Moves fake time in 0.25 ms steps while a park_until waits. */
static void *driver_main(void *arg) {
  struct driver *d = arg;
  while (!load(&d->stop)) {
    subject_wait_sleepers(1, 5);
    subject_advance(MS / 4);
    tpark_thread_yield();
  }
  return NULL;
}

/* park_until(p, deadline) while time passes on the subject's clock. */
static bool park_until_as_time_passes(tpark_parker *p, tpark_instant deadline) {
  if (!subject_fake_time()) return tpark_park_until(p, deadline);
  struct driver d = {0};
  pthread_t t;
  start(&t, driver_main, &d);
  bool r = tpark_park_until(p, deadline);
  store(&d.stop, 1);
  join(t);
  return r;
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(name_and_clock) {
  tpark_parker p;
  init(&p);
  ck_assert_str_eq(tpark_backend_name(&p), subject_backend_name());
  tpark_instant a = tpark_now(&p), b = tpark_now(&p);
  ck_assert_uint_le(a, b);
  ck_assert_uint_eq(tpark_deadline(&p, UINT64_MAX), TPARK_NEVER);
  ck_assert_uint_ge(tpark_deadline(&p, 5), b + 5);
}
END_TEST

/* An unpark_lock between prepare_park and park makes park return. */
START_TEST(unpark_before_park) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p};
  pthread_t t = prepare_with_waker(&w);
  wait_for(&w.locked, 1);
  tpark_park(&p);
  join(t);
}
END_TEST

/* The same with park_until and a deadline already passed: true, at once. */
START_TEST(unpark_before_park_until_past) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p};
  pthread_t t = prepare_with_waker(&w);
  wait_for(&w.locked, 1);
  ck_assert(tpark_park_until(&p, 0));
  join(t);
}
END_TEST

/* The waker comes while the owner sleeps; many cycles of one parker. */
START_TEST(unpark_while_parked) {
  tpark_parker p;
  init(&p);
  for (int i = 0; i < 50; i++) {
    struct waker w = {.p = &p, .sleepers = true};
    pthread_t t = prepare_with_waker(&w);
    if (i % 2) {
      tpark_park(&p);
    } else {
      ck_assert(tpark_park_until(&p, TPARK_NEVER));
    }
    join(t);
  }
}
END_TEST

/* An unpark_lock on a parker that is not prepared is not remembered. */
START_TEST(unpark_lock_not_prepared_is_forgotten) {
  tpark_parker p;
  init(&p);
  tpark_unpark(tpark_unpark_lock(&p));
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, tpark_now(&p)));
  ck_assert(tpark_timed_out(&p));
}
END_TEST

/* Nor is an unpark of the previous cycle, nor a second unpark_lock. */
START_TEST(unpark_not_remembered_across_cycles) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p};
  pthread_t t = prepare_with_waker(&w);
  tpark_park(&p);
  join(t);
  /* The cycle is over: another unpark_lock is not remembered. */
  tpark_unpark(tpark_unpark_lock(&p));
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, 0));
}
END_TEST

START_TEST(only_first_unpark_lock_counts) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p, .twice = true};
  pthread_t t = prepare_with_waker(&w);
  tpark_park(&p);
  join(t);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, 0));
}
END_TEST

START_TEST(past_deadline_times_out_at_once) {
  tpark_parker p;
  init(&p);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, 0));
  ck_assert(tpark_timed_out(&p));
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, tpark_now(&p)));
  ck_assert(tpark_timed_out(&p));
}
END_TEST

/* park_until returns false only once the deadline has passed. */
START_TEST(never_early) {
  tpark_parker p;
  init(&p);
  static const uint64_t timeouts[] = {1, 1000, MS / 10, MS, 3 * MS};
  for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
    tpark_prepare_park(&p);
    tpark_instant deadline = tpark_deadline(&p, timeouts[i]);
    ck_assert(!park_until_as_time_passes(&p, deadline));
    ck_assert_uint_ge(tpark_now(&p), deadline);
    ck_assert(tpark_timed_out(&p));
  }
}
END_TEST

/* TPARK_NEVER: waits like park, returns true. */
START_TEST(park_until_never) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p, .sleepers = true};
  pthread_t t = prepare_with_waker(&w);
  ck_assert(tpark_park_until(&p, TPARK_NEVER));
  join(t);
}
END_TEST

/* timed_out turns false once an unpark_lock comes after the timeout. */
START_TEST(timed_out_then_unparked) {
  tpark_parker p;
  init(&p);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, 0));
  ck_assert(tpark_timed_out(&p));
  tpark_unpark_handle h = tpark_unpark_lock(&p);
  ck_assert(!tpark_timed_out(&p));
  tpark_unpark(h);
  ck_assert(!tpark_timed_out(&p));
}
END_TEST

/* The waker's plain writes before unpark_lock are visible after park. */
START_TEST(memory_ordering) {
  tpark_parker p;
  init(&p);
  for (int round = 0; round < 200; round++) {
    struct waker w = {.p = &p, .sleepers = round % 2 == 0};
    pthread_t t = prepare_with_waker(&w);
    tpark_park(&p);
    for (int i = 0; i < 16; i++) ck_assert_int_eq(w.data[i], i + 1);
    join(t);
  }
}
END_TEST

/* A zero handle does nothing; unpark does not touch a freed parker (ASan
 * reports it if it does). */
struct lifetime {
  tpark_parker *p;
  int go, locked, freed;
};

static void *lifetime_waker(void *arg) {
  struct lifetime *l = arg;
  wait_for(&l->go, 1);
  tpark_unpark_handle h = tpark_unpark_lock(l->p);
  store(&l->locked, 1);
  /* Let the owner return and free the parker, unless the backend needs
   * this unpark to let it return (keyed events). */
  for (int i = 0; i < 50 && !load(&l->freed); i++) test_sleep_ms(1);
  tpark_unpark(h);
  return NULL;
}

START_TEST(handles_and_lifetime) {
  tpark_unpark_handle zero;
  memset(&zero, 0, sizeof zero);
  tpark_unpark(zero);
  for (int round = 0; round < 20; round++) {
    struct lifetime l = {0};
    l.p = malloc(sizeof *l.p);
    init(l.p);
    pthread_t t;
    start(&t, lifetime_waker, &l);
    tpark_prepare_park(l.p);
    store(&l.go, 1);
    wait_for(&l.locked, 1);
    tpark_park(l.p);
    memset(l.p, 0xA5, sizeof *l.p);
    free(l.p);
    store(&l.freed, 1);
    join(t);
  }
}
END_TEST

/* ---- a crowd: more sleepers than the condvar backend has buckets ------------
 * With more sleeping parkers than a backend has shared wait objects, some
 * share one; each unpark must still wake its own parker, and only it. */

#define CROWD 72 /* > 64, the condvar backend's buckets: some must share */

struct crowd {
  tpark_parker p[CROWD];
  int prepared; /* sleepers that have prepared */
  int returned[CROWD];
  int n_returned;
};

struct crowd_member {
  struct crowd *c;
  int i;
};

static void *crowd_sleeper(void *arg) {
  struct crowd_member *m = arg;
  tpark_prepare_park(&m->c->p[m->i]);
  __atomic_add_fetch(&m->c->prepared, 1, __ATOMIC_ACQ_REL);
  tpark_park(&m->c->p[m->i]);
  /* Counted before the flag: whoever sees the flag sees the count. */
  __atomic_add_fetch(&m->c->n_returned, 1, __ATOMIC_ACQ_REL);
  store(&m->c->returned[m->i], 1);
  return NULL;
}

static uint64_t real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(crowd_each_unpark_wakes_its_own) {
  struct crowd *c = calloc(1, sizeof *c);
  struct crowd_member m[CROWD];
  pthread_t t[CROWD];
  for (int i = 0; i < CROWD; i++) {
    init(&c->p[i]);
    m[i] = (struct crowd_member){c, i};
    start(&t[i], crowd_sleeper, &m[i]);
  }
  wait_for(&c->prepared, CROWD);
  subject_wait_sleepers(CROWD, 2000);
  test_sleep_ms(20); /* real backends: let most of them fall asleep */
  /* In a scrambled order (7 is prime to 72), one at a time. */
  for (int k = 0; k < CROWD; k++) {
    int i = (k * 7 + 3) % CROWD;
    tpark_unpark(tpark_unpark_lock(&c->p[i]));
    uint64_t give_up = real_ms() + 20000;
    while (!load(&c->returned[i]) && real_ms() < give_up) tpark_thread_yield();
    ck_assert_msg(load(&c->returned[i]), "unparked sleeper %d did not return (k=%d)", i, k);
    ck_assert_int_eq(load(&c->n_returned), k + 1); /* nobody else returned */
  }
  for (int i = 0; i < CROWD; i++) join(t[i]);
  free(c);
}
END_TEST

/* ---- the intended use: a wait queue under a lock --------------------------- */

#define WORKERS 4
#define WAKERS 2
#define CYCLES 300

struct queue {
  pthread_mutex_t lock;
  tpark_parker *items[WORKERS];
  size_t n;
  int workers_done;
  long woken;         /* parks that ended unparked (workers' count) */
  long unparked;      /* unpark_locks of queued parkers (wakers' count) */
  long timeouts;
  bool timed;         /* workers use park_until */
};

static void q_remove(struct queue *q, tpark_parker *p) {
  for (size_t i = 0; i < q->n; i++) {
    if (q->items[i] == p) {
      q->items[i] = q->items[--q->n];
      return;
    }
  }
  ck_abort_msg("a timed-out parker was not in the queue");
}

static void *queue_worker(void *arg) {
  struct queue *q = arg;
  tpark_parker p;
  init(&p);
  for (int i = 0; i < CYCLES; i++) {
    pthread_mutex_lock(&q->lock);
    tpark_prepare_park(&p);
    q->items[q->n++] = &p;
    pthread_mutex_unlock(&q->lock);
    bool unparked = true;
    if (!q->timed) {
      tpark_park(&p);
    } else if (!tpark_park_until(&p, tpark_deadline(&p, (uint64_t)(i % 5) * 20000))) {
      pthread_mutex_lock(&q->lock);
      if (tpark_timed_out(&p)) { /* still queued: take it out */
        q_remove(q, &p);
        q->timeouts++;
        unparked = false;
      } /* else a waker dequeued it after the timeout: it was unparked */
      pthread_mutex_unlock(&q->lock);
    }
    if (unparked) __atomic_add_fetch(&q->woken, 1, __ATOMIC_RELAXED);
  }
  __atomic_add_fetch(&q->workers_done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void *queue_waker(void *arg) {
  struct queue *q = arg;
  while (__atomic_load_n(&q->workers_done, __ATOMIC_ACQUIRE) < WORKERS) {
    pthread_mutex_lock(&q->lock);
    tpark_unpark_handle h = {0};
    bool got = q->n > 0;
    if (got) {
      h = tpark_unpark_lock(q->items[--q->n]);
      q->unparked++;
    }
    pthread_mutex_unlock(&q->lock);
    tpark_unpark(h); /* after the lock, as documented */
    if (!got) tpark_thread_yield();
  }
  return NULL;
}

static void *clock_mover(void *arg) {
  struct queue *q = arg;
  while (__atomic_load_n(&q->workers_done, __ATOMIC_ACQUIRE) < WORKERS) {
    subject_advance(10000);
    tpark_thread_yield();
  }
  return NULL;
}

static void run_queue(bool timed) {
  struct queue q;
  memset(&q, 0, sizeof q);
  pthread_mutex_init(&q.lock, NULL);
  q.timed = timed;
  pthread_t workers[WORKERS], wakers[WAKERS], mover;
  for (int i = 0; i < WORKERS; i++) start(&workers[i], queue_worker, &q);
  for (int i = 0; i < WAKERS; i++) start(&wakers[i], queue_waker, &q);
  if (subject_fake_time()) start(&mover, clock_mover, &q);
  for (int i = 0; i < WORKERS; i++) join(workers[i]);
  for (int i = 0; i < WAKERS; i++) join(wakers[i]);
  if (subject_fake_time()) join(mover);
  ck_assert_int_eq(q.n, 0);
  ck_assert_int_eq(q.woken, q.unparked);
  ck_assert_int_eq(q.woken + q.timeouts, (long)WORKERS * CYCLES);
  if (!timed) ck_assert_int_eq(q.timeouts, 0);
  pthread_mutex_destroy(&q.lock);
}

START_TEST(queue_stress_park) { run_queue(false); }
END_TEST

START_TEST(queue_stress_park_until) { run_queue(true); }
END_TEST

int main(int argc, char **argv) {
  if (argc != 2 || !subject_open(argv[1])) return 2;
  char suite_name[64];
  snprintf(suite_name, sizeof suite_name, "conformance[%s]", argv[1]);
  Suite *s = suite_create(suite_name);
  TCase *tc = new_tcase("semantics");
  tcase_add_checked_fixture(tc, setup, subject_teardown);
  tcase_add_test(tc, name_and_clock);
  tcase_add_test(tc, unpark_before_park);
  tcase_add_test(tc, unpark_before_park_until_past);
  tcase_add_test(tc, unpark_while_parked);
  tcase_add_test(tc, unpark_lock_not_prepared_is_forgotten);
  tcase_add_test(tc, unpark_not_remembered_across_cycles);
  tcase_add_test(tc, only_first_unpark_lock_counts);
  tcase_add_test(tc, past_deadline_times_out_at_once);
  tcase_add_test(tc, never_early);
  tcase_add_test(tc, park_until_never);
  tcase_add_test(tc, timed_out_then_unparked);
  tcase_add_test(tc, memory_ordering);
  tcase_add_test(tc, handles_and_lifetime);
  tcase_add_test(tc, crowd_each_unpark_wakes_its_own);
  tcase_add_test(tc, queue_stress_park);
  tcase_add_test(tc, queue_stress_park_until);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
