/* Once (tpark/once.h) on one subject backend (the program's argument) made
 * the process default: one run and one byte; a thundering herd, whose
 * waiters park on the lot (they do not spin) and all see the run's writes;
 * a run that calls another once; failed runs (tpark_once_try_call), each
 * passing the initialisation to exactly one waiter while the others stay
 * parked; and the byte, DONE alone, after each scenario. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/lot_internal.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/once.h"

static void setup(void) {
  subject_setup();
  ck_assert_ptr_nonnull(subject_backend());
  tpark_set_default_backend(subject_backend());
}

static void reset(void);
static void setup_and_reset(void) {
  setup();
  reset(); /* without fork (Windows), the tests share this program's state */
}

static void teardown(void) {
  tpark_set_default_backend(NULL);
  subject_teardown();
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  ck_assert_int_eq(pthread_create(t, NULL, fn, arg), 0);
}

/* Waits (real time, generous) until n threads are queued in the lot on key. */
static bool queued_within_60s(const void *key, size_t n) {
  for (int i = 0; i < 60000 && tpark__lot_queued(key) != n; i++) test_sleep_ms(1);
  return tpark__lot_queued(key) == n;
}

static tpark_once once = TPARK_ONCE_INIT, inner = TPARK_ONCE_INIT;
static int runs;  /* atomic: fn calls */
static int value; /* written by a run, plain: the once publishes it */

static void set_value(void *arg) {
  __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
  value = *(int *)arg;
}

START_TEST(once_is_one_byte_and_runs_once) {
  ck_assert_uint_eq(sizeof(tpark_once), 1);
  tpark_once zero;
  memset(&zero, 0, sizeof zero);
  tpark_once init = TPARK_ONCE_INIT;
  ck_assert_int_eq(memcmp(&zero, &init, 1), 0);
  ck_assert(!tpark_once_done(&once));
  int v = 7, w = 8;
  tpark_once_call(&once, set_value, &v);
  ck_assert(tpark_once_done(&once));
  tpark_once_call(&once, set_value, &w);
  ck_assert(tpark_once_try_call(&once, NULL, NULL)); /* done: fn is not called */
  ck_assert_int_eq(runs, 1);
  ck_assert_int_eq(value, 7);
  ck_assert_int_eq(once.state_, TPARK__ONCE_DONE);
}
END_TEST

/* ---- the herd ---- */

enum { HERD = 16 };
static int herd_size;
static bool others_parked; /* the run saw every other caller queued */
static int seen[HERD];     /* each caller: value after its call */

static void slow_run(void *arg) {
  (void)arg;
  __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
  /* The others arrive and park on the once's address (spinning callers
   * would never be queued). */
  others_parked = queued_within_60s(&once, (size_t)herd_size - 1);
  value = 42;
}

static int go; /* atomic: start together */

static void *herd_main(void *arg) {
  int i = (int)(intptr_t)arg;
  while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) tpark_thread_yield();
  tpark_once_call(&once, slow_run, NULL);
  seen[i] = value;
  return NULL;
}

START_TEST(thundering_herd_parks_and_sees_the_run) {
  herd_size = HERD;
  pthread_t t[HERD];
  for (int i = 0; i < HERD; i++) start(&t[i], herd_main, (void *)(intptr_t)i);
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < HERD; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  ck_assert_int_eq(runs, 1);
  ck_assert_msg(others_parked, "the callers did not all park while fn ran");
  for (int i = 0; i < HERD; i++) ck_assert_int_eq(seen[i], 42);
  ck_assert_int_eq(once.state_, TPARK__ONCE_DONE);
  ck_assert_uint_eq(tpark__lot_queued(&once), 0);
}
END_TEST

/* ---- a run that calls another once ---- */

static void inner_run(void *arg) {
  (void)arg;
  __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
}

static void outer_run(void *arg) {
  (void)arg;
  __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
  tpark_once_call(&inner, inner_run, NULL);
  ck_assert(tpark_once_done(&inner));
}

static void *nested_main(void *arg) {
  if (arg != NULL) {
    tpark_once_call(&inner, inner_run, NULL);
  } else {
    tpark_once_call(&once, outer_run, NULL);
  }
  return NULL;
}

START_TEST(a_run_calls_another_once) {
  pthread_t t[8];
  for (int i = 0; i < 8; i++) start(&t[i], nested_main, i % 2 ? &t[i] : NULL);
  for (int i = 0; i < 8; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  ck_assert_int_eq(runs, 2);
  ck_assert_int_eq(once.state_, TPARK__ONCE_DONE);
  ck_assert_int_eq(inner.state_, TPARK__ONCE_DONE);
}
END_TEST

/* ---- failed runs ---- */

static int failures_left;

static bool fail_then_succeed(void *arg) {
  (void)arg;
  __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
  if (failures_left == 0) {
    value = 42;
    return true;
  }
  failures_left--;
  return false;
}

START_TEST(a_failed_run_leaves_it_to_the_next_caller) {
  failures_left = 2;
  ck_assert(!tpark_once_try_call(&once, fail_then_succeed, NULL));
  ck_assert(!tpark_once_done(&once));
  ck_assert_int_eq(once.state_, 0);
  ck_assert(!tpark_once_try_call(&once, fail_then_succeed, NULL));
  ck_assert(tpark_once_try_call(&once, fail_then_succeed, NULL));
  ck_assert(tpark_once_try_call(&once, fail_then_succeed, NULL));
  ck_assert_int_eq(runs, 3);
  ck_assert_int_eq(value, 42);
  ck_assert_int_eq(once.state_, TPARK__ONCE_DONE);
}
END_TEST

/* 8 callers; the runs fail FAILS times. The first run waits until the
 * other 7 are parked. Each later run starts with exactly one caller fewer
 * in the queue: the failed run took out only the thread it handed the run
 * to. (Had it woken all of them to retry, they would be waking up, out of
 * the queue, when the new run starts.) */
enum { FAILS = 3 };
static int false_returns, true_returns; /* atomic */
static bool kept_parked;                /* every run found the rest parked */

static bool fail_while_others_wait(void *arg) {
  (void)arg;
  int run = __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
  size_t parked = (size_t)(herd_size - run);
  if (run == 1) {
    kept_parked = queued_within_60s(&once, parked);
  } else if (tpark__lot_queued(&once) != parked) {
    kept_parked = false;
  }
  if (run <= FAILS) return false;
  value = 42;
  return true;
}

static void *try_main(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) tpark_thread_yield();
  bool done = tpark_once_try_call(&once, fail_while_others_wait, NULL);
  __atomic_add_fetch(done ? &true_returns : &false_returns, 1, __ATOMIC_SEQ_CST);
  if (done) ck_assert_int_eq(value, 42);
  return NULL;
}

START_TEST(a_failed_run_wakes_exactly_one_waiter) {
  herd_size = 8;
  pthread_t t[8];
  for (int i = 0; i < herd_size; i++) start(&t[i], try_main, NULL);
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < herd_size; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  ck_assert_int_eq(runs, FAILS + 1);
  ck_assert_msg(kept_parked, "a run did not find the other callers parked");
  ck_assert_int_eq(false_returns, FAILS);
  ck_assert_int_eq(true_returns, herd_size - FAILS);
  ck_assert_int_eq(once.state_, TPARK__ONCE_DONE);
  ck_assert_uint_eq(tpark__lot_queued(&once), 0);
}
END_TEST

static void reset(void) {
  once = (tpark_once)TPARK_ONCE_INIT;
  inner = (tpark_once)TPARK_ONCE_INIT;
  runs = value = go = 0;
  others_parked = kept_parked = false;
  false_returns = true_returns = 0;
  memset(seen, 0, sizeof seen);
}

int main(int argc, char **argv) {
  if (argc != 2 || !subject_open(argv[1])) return 2;
  char suite_name[64];
  snprintf(suite_name, sizeof suite_name, "once[%s]", argv[1]);
  Suite *s = suite_create(suite_name);
  TCase *tc = new_tcase("once");
  tcase_add_checked_fixture(tc, setup_and_reset, teardown);
  tcase_add_test(tc, once_is_one_byte_and_runs_once);
  tcase_add_test(tc, thundering_herd_parks_and_sees_the_run);
  tcase_add_test(tc, a_run_calls_another_once);
  tcase_add_test(tc, a_failed_run_leaves_it_to_the_next_caller);
  tcase_add_test(tc, a_failed_run_wakes_exactly_one_waiter);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
