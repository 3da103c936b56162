/* A user's unit test of code built on tpark, on the mock backend: the fake
 * clock makes a 5 s timeout deterministic and instant. Plain exit status, no
 * test framework. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "tpark/mock.h"
#include "tpark/tpark.h"

#define SECOND UINT64_C(1000000000)

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* ---- the code under test: a one-shot signal with a timed wait ---------- */

struct signal {
  pthread_mutex_t lock;
  bool set;
  tpark_parker *waiter; /* the parked waiter, if any */
};

/* True when s was set within timeout_ns on the default backend's clock. */
static bool signal_wait(struct signal *s, uint64_t timeout_ns) {
  tpark_parker p;
  CHECK(tpark_init(&p) == TPARK_OK);
  tpark_instant deadline = tpark_deadline(&p, timeout_ns);
  pthread_mutex_lock(&s->lock);
  while (!s->set) {
    tpark_prepare_park(&p);
    s->waiter = &p;
    pthread_mutex_unlock(&s->lock);
    bool unparked = tpark_park_until(&p, deadline);
    pthread_mutex_lock(&s->lock);
    if (!unparked && tpark_timed_out(&p)) {
      s->waiter = NULL;
      break;
    }
  }
  bool set = s->set;
  pthread_mutex_unlock(&s->lock);
  return set;
}

static void signal_set(struct signal *s) {
  tpark_unpark_handle h = {0};
  pthread_mutex_lock(&s->lock);
  s->set = true;
  if (s->waiter != NULL) {
    h = tpark_unpark_lock(s->waiter);
    s->waiter = NULL;
  }
  pthread_mutex_unlock(&s->lock);
  tpark_unpark(h);
}

/* ---- the test ------------------------------------------------------------ */

static struct signal sig = {PTHREAD_MUTEX_INITIALIZER, false, NULL};
static bool result;

static void *waiter_main(void *arg) {
  (void)arg;
  result = signal_wait(&sig, 5 * SECOND);
  return NULL;
}

/* Starts a waiter and returns once it sleeps on the mock. */
static pthread_t start_waiter(tpark_mock *m) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, waiter_main, NULL) == 0);
  CHECK(tpark_mock_wait_sleepers(m, 1, 10000)); /* real time: generous */
  return t;
}

/* The mock's log holds exactly the n events ops, in this order. */
static void check_events(tpark_mock *m, const tpark_mock_op *ops, size_t n) {
  tpark_mock_event ev[16];
  CHECK(tpark_mock_events(m, ev, 16) == n);
  for (size_t i = 0; i < n; i++) CHECK(ev[i].op == ops[i]);
}

/* Nobody sets the signal: the wait times out exactly at 5 s of fake time. */
static void test_times_out(void) {
  tpark_mock *m = tpark_mock_new();
  CHECK(m != NULL);
  tpark_set_default_backend(tpark_mock_backend(m));
  sig.set = false;
  pthread_t t = start_waiter(m);
  tpark_mock_advance(m, 5 * SECOND - 1);
  CHECK(tpark_mock_sleepers(m) == 1); /* 1 ns early: still asleep */
  tpark_mock_advance(m, 1);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(!result);
  static const tpark_mock_op ops[] = {TPARK_MOCK_PREPARE, TPARK_MOCK_SLEEP, TPARK_MOCK_ADVANCE,
                                      TPARK_MOCK_ADVANCE, TPARK_MOCK_TIMED_OUT};
  check_events(m, ops, sizeof ops / sizeof ops[0]);
  tpark_set_default_backend(NULL);
  tpark_mock_free(m);
}

/* The signal is set after 1 s: the waiter wakes, no timeout. */
static void test_set_in_time(void) {
  tpark_mock *m = tpark_mock_new();
  CHECK(m != NULL);
  tpark_set_default_backend(tpark_mock_backend(m));
  sig.set = false;
  pthread_t t = start_waiter(m);
  tpark_mock_advance(m, SECOND);
  signal_set(&sig);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(result);
  CHECK(tpark_mock_now(m) == SECOND);
  /* WOKEN is logged right after the UNPARK that released the sleeper. */
  static const tpark_mock_op ops[] = {TPARK_MOCK_PREPARE,     TPARK_MOCK_SLEEP,  TPARK_MOCK_ADVANCE,
                                      TPARK_MOCK_UNPARK_LOCK, TPARK_MOCK_UNPARK, TPARK_MOCK_WOKEN};
  check_events(m, ops, sizeof ops / sizeof ops[0]);
  tpark_set_default_backend(NULL);
  tpark_mock_free(m);
}

/* ---- the same, with the mock driving the clock ------------------------- */

static tpark_mock *driven;

static void *declared_waiter_main(void *arg) {
  waiter_main(arg);
  CHECK(tpark_mock_thread_exit(driven) == TPARK_OK);
  return NULL;
}

/* A second thread sets the signal after 1 s, timed on tpark too. */
static void *setter_main(void *arg) {
  (void)arg;
  tpark_parker p;
  CHECK(tpark_init(&p) == TPARK_OK);
  tpark_prepare_park(&p);
  CHECK(!tpark_park_until(&p, tpark_deadline(&p, SECOND)));
  signal_set(&sig);
  CHECK(tpark_mock_thread_exit(driven) == TPARK_OK);
  return NULL;
}

/* n declared threads (the waiter, and the setter if with_setter) run until
 * nothing is pending; returns when the clock stopped. */
static tpark_instant run_driven(bool with_setter) {
  driven = tpark_mock_new();
  CHECK(driven != NULL);
  tpark_set_default_backend(tpark_mock_backend(driven));
  sig.set = false;
  CHECK(tpark_mock_set_threads(driven, with_setter ? 2 : 1) == TPARK_OK);
  pthread_t waiter, setter;
  CHECK(pthread_create(&waiter, NULL, declared_waiter_main, NULL) == 0);
  if (with_setter) CHECK(pthread_create(&setter, NULL, setter_main, NULL) == 0);
  tpark_mock_result r = tpark_mock_run_until_idle(driven, TPARK_NEVER, 10000);
  if (r != TPARK_MOCK_IDLE) {
    char why[1024];
    tpark_mock_describe(driven, why, sizeof why);
    fprintf(stderr, "run_until_idle: %s\n%s", tpark_mock_result_name(r), why);
    exit(1);
  }
  CHECK(pthread_join(waiter, NULL) == 0);
  if (with_setter) CHECK(pthread_join(setter, NULL) == 0);
  tpark_instant stopped = tpark_mock_now(driven);
  tpark_set_default_backend(NULL);
  tpark_mock_free(driven);
  return stopped;
}

/* Alone, the waiter times out at 5 s; with the setter, it wakes at 1 s. */
static void test_run_until_idle(void) {
  CHECK(run_driven(false) == 5 * SECOND);
  CHECK(!result);
  CHECK(run_driven(true) == SECOND);
  CHECK(result);
}

int main(void) {
  test_times_out();
  test_set_in_time();
  test_run_until_idle();
  puts("timeout_test: 3 tests passed");
  return 0;
}
