/* Each thread's lot data (core/thread.c) at the edges of the thread's life,
 * on the process default backend:
 * - the first lot call of the process made from another library's pthread
 *   key destructor (winpthreads runs those holding its key lock: creating
 *   tpark's key then deadlocked the exiting thread), under a watchdog so that
 *   a hang fails the test instead of hanging it. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/lot_internal.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/lot.h"
#include "tpark/mutex.h"

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

int main(void) {
  Suite *s = suite_create("thread_data");
  TCase *tc = new_tcase("thread_data");
  tcase_add_test(tc, first_lot_use_in_a_key_destructor);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
