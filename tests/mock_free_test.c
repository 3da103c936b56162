/* tpark_mock_free right after a wake (tpark/mock.h, README): the threads
 * just woken, and a waker, may still be on their way out of the mock (inside
 * its final pthread_mutex_unlock) when the test frees it. winpthreads' unlock
 * reads the mutex after releasing it, so a free that destroys the mutex as
 * soon as the woken threads have released it fails there now and then ("tpark
 * mock: pthread_mutex_unlock failed", or a crash); glibc's unlock does not,
 * so on Linux only ASan would see a use after free. Many rounds, a few
 * threads woken together in each, so that a regression shows under Wine. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/run_suite.h"
#include "tpark/mock.h"
#include "tpark/tpark.h"

#define WAITERS 4
#define REAL_MS 60000 /* a generous real-time bound for waits that succeed */

#if defined(_WIN32)
#define ROUNDS 400 /* thread creation under Wine is slow */
#else
#define ROUNDS 1000
#endif

typedef struct waiter {
  tpark_parker p;
  bool result;
  pthread_t thread;
} waiter;

static void *waiter_main(void *c) {
  waiter *w = c;
  w->result = tpark_park_until(&w->p, 1);
  return NULL;
}

/* A waker thread: unparks every waiter, then returns. */
static void *waker_main(void *c) {
  waiter *w = c;
  for (int i = 0; i < WAITERS; i++) tpark_unpark(tpark_unpark_lock(&w[i].p));
  return NULL;
}

typedef enum wake_by { BY_ADVANCE, BY_UNPARK, BY_WAKER_THREAD } wake_by;

/* One round: WAITERS threads park on a new mock, are woken as `how` says,
 * and the mock is freed at once (the woken threads are not joined first). */
static void free_right_after_wake(wake_by how) {
  tpark_mock *n = tpark_mock_new();
  ck_assert_ptr_nonnull(n);
  waiter w[WAITERS];
  for (int i = 0; i < WAITERS; i++) {
    ck_assert_int_eq(tpark_init_with(&w[i].p, tpark_mock_backend(n)), TPARK_OK);
    tpark_prepare_park(&w[i].p);
    ck_assert_int_eq(pthread_create(&w[i].thread, NULL, waiter_main, &w[i]), 0);
  }
  ck_assert(tpark_mock_wait_sleepers(n, WAITERS, REAL_MS));
  pthread_t waker;
  switch (how) {
    case BY_ADVANCE:
      ck_assert_uint_eq(tpark_mock_advance(n, 1), WAITERS);
      break;
    case BY_UNPARK:
      for (int i = 0; i < WAITERS; i++) tpark_unpark(tpark_unpark_lock(&w[i].p));
      break;
    case BY_WAKER_THREAD:
      ck_assert_int_eq(pthread_create(&waker, NULL, waker_main, w), 0);
      /* The waiters return once the waker's unparks released them; the
       * waker itself may still be inside its last unpark. */
      for (int i = 0; i < WAITERS; i++) ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
      break;
  }
  tpark_mock_free(n);
  if (how == BY_WAKER_THREAD) {
    ck_assert_int_eq(pthread_join(waker, NULL), 0);
  } else {
    for (int i = 0; i < WAITERS; i++) ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
  }
  for (int i = 0; i < WAITERS; i++) ck_assert_int_eq(w[i].result, how != BY_ADVANCE);
}

START_TEST(free_right_after_waking_by_advance) {
  for (int i = 0; i < ROUNDS; i++) free_right_after_wake(BY_ADVANCE);
}
END_TEST

START_TEST(free_right_after_waking_by_unpark) {
  for (int i = 0; i < ROUNDS; i++) free_right_after_wake(BY_UNPARK);
}
END_TEST

START_TEST(free_right_after_a_waker_thread_woke_them) {
  for (int i = 0; i < ROUNDS; i++) free_right_after_wake(BY_WAKER_THREAD);
}
END_TEST

int main(void) {
  Suite *s = suite_create("mock_free");
  TCase *tc = new_tcase("free_after_wake");
  tcase_add_test(tc, free_right_after_waking_by_advance);
  tcase_add_test(tc, free_right_after_waking_by_unpark);
  tcase_add_test(tc, free_right_after_a_waker_thread_woke_them);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
