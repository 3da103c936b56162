/* docs/mock.md's example (tools/test checks that the page shows this file):
 * a timer-driven worker tested with no sleeps. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "tpark/mock.h"
#include "tpark/tpark.h"

#define MS UINT64_C(1000000)
#define CHECK(c)                                                    \
  do {                                                              \
    if (!(c)) {                                                     \
      fprintf(stderr, "line %d: CHECK(%s) failed\n", __LINE__, #c); \
      exit(1);                                                      \
    }                                                               \
  } while (0)

/* ---- The code under test: calls tick() every period until stopped. ---- */
struct ticker {
  pthread_mutex_t lock;
  bool stop;
  tpark_parker *waiting; /* the worker's parker while it waits */
  uint64_t period;
  void (*tick)(tpark_instant due);
};

static void ticker_run(struct ticker *t) {
  tpark_parker p;
  if (tpark_init(&p) != TPARK_OK) abort();
  tpark_instant due = tpark_deadline(&p, t->period);
  pthread_mutex_lock(&t->lock);
  while (!t->stop) {
    tpark_prepare_park(&p);
    t->waiting = &p;
    pthread_mutex_unlock(&t->lock);
    bool unparked = tpark_park_until(&p, due);
    pthread_mutex_lock(&t->lock);
    if (!unparked && tpark_timed_out(&p)) { /* else ticker_stop woke us */
      t->waiting = NULL;
      t->tick(due);
      due += t->period;
    }
  }
  pthread_mutex_unlock(&t->lock);
}

static void ticker_stop(struct ticker *t) {
  tpark_unpark_handle h = {0};
  pthread_mutex_lock(&t->lock);
  t->stop = true;
  if (t->waiting) h = tpark_unpark_lock(t->waiting);
  t->waiting = NULL;
  pthread_mutex_unlock(&t->lock);
  tpark_unpark(h);
}

/* ---- The test: one second of fake time, in no time. ---- */
static tpark_mock *mock;
static tpark_instant ticks[100];
static int n_ticks;

static void on_tick(tpark_instant due) { ticks[n_ticks++] = due; }

static void *worker(void *arg) {
  ticker_run(arg);
  tpark_mock_thread_exit(mock); /* one thread fewer takes part */
  return NULL;
}

int main(void) {
  mock = tpark_mock_new();
  tpark_set_default_backend(tpark_mock_backend(mock)); /* tpark_init binds to it */
  tpark_mock_set_threads(mock, 1);
  struct ticker t = {PTHREAD_MUTEX_INITIALIZER, false, NULL, 100 * MS, on_tick};
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, worker, &t) == 0);

  /* Jump from deadline to deadline until 1 s: ten ticks, each on time. */
  tpark_mock_result r = tpark_mock_run_until_idle(mock, 1000 * MS, 10000);
  CHECK(r == TPARK_MOCK_LIMIT);
  CHECK(n_ticks == 10);
  for (int i = 0; i < 10; i++) CHECK(ticks[i] == (uint64_t)(i + 1) * 100 * MS);

  /* Stopping wakes it at once; then nothing is pending. */
  ticker_stop(&t);
  r = tpark_mock_run_until_idle(mock, TPARK_NEVER, 10000);
  if (r != TPARK_MOCK_IDLE) { /* e.g. DEADLOCK: say who sleeps where */
    char why[1024];
    tpark_mock_describe(mock, why, sizeof why);
    fprintf(stderr, "%s\n%s", tpark_mock_result_name(r), why);
    return 1;
  }
  CHECK(tpark_mock_now(mock) == 1000 * MS && n_ticks == 10);
  CHECK(pthread_join(thread, NULL) == 0);
  tpark_set_default_backend(NULL);
  tpark_mock_free(mock);
  puts("ticker: all checks passed");
  return 0;
}
