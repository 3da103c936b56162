/* Each thread's lot data (core/thread.c) at the edges of the thread's life,
 * on the process default backend:
 * - the first lot call of the process made from another library's pthread
 *   key destructor (winpthreads runs those holding its key lock: creating
 *   tpark's key then deadlocked the exiting thread), under a watchdog so that
 *   a hang fails the test instead of hanging it;
 * - lot calls from key destructors in every destructor round, the last one
 *   included, after tpark's own destructor ran: they work, free what they
 *   made, and leave the count of live threads (which sizes the lot's table)
 *   right, over thousands of short-lived threads;
 * - a wait on an address whose value already differs creates nothing. */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/lot_internal.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/lot.h"
#include "tpark/mock.h"
#include "tpark/mutex.h"
#include "tpark/wait.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(_WIN32)
#include <windows.h>
#endif

/* Generous: the thread exits in well under a second, even on a loaded Wine. */
#define WATCHDOG_MS 60000

static bool never(void *c) {
  (void)c;
  return false;
}

static char lot_key, mutex_key;
static tpark_mutex mutex;

/* The lot calls a library's destructor might make: a park that does not
 * park (the reproducer), a real one that times out at once, an
 * unpark, a mutex. Each may need the thread's lot data. */
static void use_the_lot(void) {
  ck_assert_int_eq(tpark_lot_park(&lot_key, never, NULL, NULL, NULL, 0, TPARK_NEVER).status,
                   TPARK_LOT_INVALID);
  ck_assert_int_eq(tpark_lot_park(&lot_key, NULL, NULL, NULL, NULL, 0, 0).status,
                   TPARK_LOT_TIMED_OUT);
  tpark_lot_unpark_one(&mutex_key, NULL, NULL);
  tpark_mutex_lock(&mutex);
  tpark_mutex_unlock(&mutex);
}

/* ---- a watchdog: a hang ends the process with a message ---- */

static pthread_t watchdog;
static int watchdog_off; /* atomic */
static const char *watched;

static void *watchdog_main(void *c) {
  (void)c;
  for (int i = 0; i < WATCHDOG_MS / 10; i++) {
    if (__atomic_load_n(&watchdog_off, __ATOMIC_SEQ_CST)) return NULL;
    test_sleep_ms(10);
  }
  fprintf(stderr, "FAIL: %s: still not done after %d s (hung)\n", watched, WATCHDOG_MS / 1000);
  fflush(stderr);
#if defined(_WIN32)
  /* Not exit(): the hung thread holds the loader lock, which ExitProcess
   * needs. */
  TerminateProcess(GetCurrentProcess(), 1);
#endif
  _Exit(1);
}

static void watchdog_start(const char *what) {
  watched = what;
  __atomic_store_n(&watchdog_off, 0, __ATOMIC_SEQ_CST);
  ck_assert_int_eq(pthread_create(&watchdog, NULL, watchdog_main, NULL), 0);
}

static void watchdog_stop(void) {
  __atomic_store_n(&watchdog_off, 1, __ATOMIC_SEQ_CST);
  ck_assert_int_eq(pthread_join(watchdog, NULL), 0);
}

/* ---- the first lot use of the process, in a key destructor ---- */

static pthread_key_t first_use_key;

static void first_use_destructor(void *v) {
  (void)v;
  use_the_lot();
}

static void *set_first_use_key(void *c) {
  (void)c;
  ck_assert_int_eq(pthread_setspecific(first_use_key, &first_use_key), 0);
  return NULL; /* the destructor runs now, while the thread exits */
}

/* Must be the first test (Windows runs them all in one process). */
START_TEST(first_lot_use_in_a_key_destructor) {
  ck_assert_msg(tpark__lot_table_size() == 0, "the lot was used before: this test proves nothing");
  ck_assert_int_eq(pthread_key_create(&first_use_key, first_use_destructor), 0);
  watchdog_start("a thread whose key destructor made the first lot call of the process");
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, set_first_use_key, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  watchdog_stop();
  ck_assert_uint_ne(tpark__lot_table_size(), 0); /* the lot was used */
  ck_assert_uint_eq(tpark__thread_live(), 0);    /* and the thread's data freed */
  /* Keys can still be created (winpthreads' key lock is free). */
  pthread_key_t another;
  ck_assert_int_eq(pthread_key_create(&another, NULL), 0);
  pthread_key_delete(another);
}
END_TEST

/* ---- lot calls in every destructor round, over many threads ---- */

/* Two keys whose destructors use the lot and set their key again, so that
 * they run in every round the implementation has (PTHREAD_DESTRUCTOR_
 * ITERATIONS), the last included: one key created before tpark's (its
 * destructor runs before tpark's in each round), one after. */
static pthread_key_t early_key, late_key;
static int early_key_error = -1;

/* TSan ends its own record of an exiting thread in the last destructor
 * round (in its key's destructor), after which any call it intercepts
 * crashes TSan itself: under TSan the destructors stop a round earlier. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(UNDER_TSAN)
#define LAST_ROUND (PTHREAD_DESTRUCTOR_ITERATIONS - 1)
#else
#define LAST_ROUND PTHREAD_DESTRUCTOR_ITERATIONS
#endif

static void every_round(pthread_key_t key, void *v) {
  uintptr_t round = (uintptr_t)v;
  use_the_lot();
  if (round < LAST_ROUND) pthread_setspecific(key, (void *)(round + 1));
}

static void early_destructor(void *v) { every_round(early_key, v); }
static void late_destructor(void *v) { every_round(late_key, v); }

/* Before tpark's key, whether tpark creates it at load or on first use. */
__attribute__((constructor(101))) static void create_early_key(void) {
  early_key_error = pthread_key_create(&early_key, early_destructor);
}

static void *churned(void *c) {
  if (c != NULL) use_the_lot(); /* some threads use it in their life too */
  pthread_setspecific(early_key, (void *)(uintptr_t)1);
  pthread_setspecific(late_key, (void *)(uintptr_t)1);
  return NULL;
}

#define BATCH 4 /* threads alive at once */

static void churn(int threads) {
  for (int i = 0; i < threads; i += BATCH) {
    pthread_t t[BATCH];
    for (int k = 0; k < BATCH; k++) {
      ck_assert_int_eq(pthread_create(&t[k], NULL, churned, (i + k) % 2 ? &lot_key : NULL), 0);
    }
    for (int k = 0; k < BATCH; k++) ck_assert_int_eq(pthread_join(t[k], NULL), 0);
  }
}

/* The table for n threads: 3 buckets each, a power of two, 16 at least
 * (core/lot.c). */
static size_t table_for(size_t n) {
  size_t size = 16;
  while (size < 3 * n) size *= 2;
  return size;
}

#define CHURN_THREADS 3000

START_TEST(lot_calls_in_every_destructor_round) {
  ck_assert_int_eq(early_key_error, 0);
  use_the_lot(); /* tpark's key exists now, at the latest */
  ck_assert_int_eq(pthread_key_create(&late_key, late_destructor), 0);
  churn(100); /* warm-up: thread stacks, the table's steady size */
  size_t live_before = tpark__thread_live();
#if defined(__GLIBC__)
  struct mallinfo2 before = mallinfo2();
#endif
  churn(CHURN_THREADS);
  size_t live = tpark__thread_live(), size = tpark__lot_table_size();
  /* Each exiting thread may count twice at a time (a lot call's and a
   * bucket lock's temporary data). */
  size_t bound = table_for(live_before + 2 * BATCH);
  ck_assert_msg(live == live_before && size <= bound,
                "after %d threads: %lu live (expected %lu), table of %lu buckets (at most %lu)",
                CHURN_THREADS, (unsigned long)live, (unsigned long)live_before, (unsigned long)size,
                (unsigned long)bound);
#if defined(__GLIBC__)
  struct mallinfo2 after = mallinfo2();
  ck_assert_msg(after.uordblks < before.uordblks + 64 * 1024,
                "heap grew by %zu bytes over %d threads", after.uordblks - before.uordblks,
                CHURN_THREADS);
#endif
  pthread_key_delete(late_key);
}
END_TEST

/* ---- nothing is created for a wait that does not wait ---- */

static void *wait_differing(void *c) {
  size_t *live_during = c;
  uint32_t word = 1, compare = 0;
  ck_assert(tpark_wait_on_address(&word, &compare, sizeof word, TPARK_NEVER));
  *live_during = tpark__thread_live();
  return NULL;
}

START_TEST(wait_on_a_differing_value_creates_nothing) {
  tpark_mock *m = tpark_mock_new(); /* the lot's path (no native wait) */
  ck_assert_ptr_nonnull(m);
  tpark_set_default_backend(tpark_mock_backend(m));
  size_t live_before = tpark__thread_live(), live_during = 0;
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, wait_differing, &live_during), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_uint_eq(live_during, live_before); /* no thread data for it */
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 0);
  tpark_set_default_backend(NULL);
  tpark_mock_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("thread_data");
  TCase *tc = new_tcase("thread_data");
  tcase_add_test(tc, first_lot_use_in_a_key_destructor);
  tcase_add_test(tc, lot_calls_in_every_destructor_round);
  tcase_add_test(tc, wait_on_a_differing_value_creates_nothing);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
