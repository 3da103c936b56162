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

#define CHECK(cond)                                                  \
  do {                                                               \
    if (!(cond)) {                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                       \
    }                                                                \
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
  static const tpark_mock_op ops[] = {TPARK_MOCK_PREPARE, TPARK_MOCK_SLEEP,
                                      TPARK_MOCK_ADVANCE, TPARK_MOCK_ADVANCE,
                                      TPARK_MOCK_TIMED_OUT};
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
  /* The waiter may log WOKEN before the waker logs UNPARK (still waking
   * from the ADVANCE, it can see the unpark_lock first); the rest is in a
   * fixed order. */
  tpark_mock_event ev[6];
  CHECK(tpark_mock_events(m, ev, 6) == 6);
  CHECK(ev[0].op == TPARK_MOCK_PREPARE && ev[1].op == TPARK_MOCK_SLEEP);
  CHECK(ev[2].op == TPARK_MOCK_ADVANCE && ev[3].op == TPARK_MOCK_UNPARK_LOCK);
  CHECK(ev[3].hit && ev[3].at == SECOND);
  bool in_order = ev[4].op == TPARK_MOCK_UNPARK && ev[5].op == TPARK_MOCK_WOKEN;
  bool swapped = ev[4].op == TPARK_MOCK_WOKEN && ev[5].op == TPARK_MOCK_UNPARK;
  CHECK(in_order || swapped);
  tpark_set_default_backend(NULL);
  tpark_mock_free(m);
}

int main(void) {
  test_times_out();
  test_set_in_time();
  puts("timeout_test: 2 tests passed");
  return 0;
}
