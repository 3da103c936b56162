/* The mutex (tpark/mutex.h) and wait on address (tpark/wait.h) on the
 * mock's fake clock, the mock being the process default (mock_default.h):
 * handoffs, the fair timer, timeouts. The same locks on each real backend:
 * sync_test.c. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/lot_internal.h"
#include "tests/mock_default.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/mutex.h"
#include "tpark/wait.h"

/* ---- the mutex ---- */

static tpark_mutex fm = TPARK_MUTEX_INIT;
static int fm_acquired;
static void *fm_locker(void *c) {
  (void)c;
  tpark_mutex_lock(&fm);
  __atomic_store_n(&fm_acquired, 1, __ATOMIC_SEQ_CST);
  tpark_mutex_unlock(&fm);
  return NULL;
}

/* Waits (real time, generous) until one thread is queued in the lot on m.
 * PARKED alone is not enough: the locker sets it before tpark_lot_park, and
 * an unlock that comes before the locker is queued finds nobody to hand
 * over to, so it releases the mutex and the locker has to compete again. */
static void wait_parked(tpark_mutex *m) {
  for (int i = 0; i < 60000 && tpark__lot_queued(m) != 1; i++) test_sleep_ms(1);
  ck_assert_uint_eq(tpark__lot_queued(m), 1);
  ck_assert_int_eq(__atomic_load_n(&m->state_, __ATOMIC_SEQ_CST), 3); /* LOCKED | PARKED */
}

START_TEST(mutex_unlock_fair_hands_over) {
  pthread_t t;
  fm_acquired = 0;
  tpark_mutex_lock(&fm);
  ck_assert_int_eq(pthread_create(&t, NULL, fm_locker, NULL), 0);
  wait_parked(&fm);
  tpark_mutex_unlock_fair(&fm);
  /* Handed over: it stays locked for the woken thread, we cannot barge. */
  if (tpark_mutex_trylock(&fm)) {
    ck_assert_msg(__atomic_load_n(&fm_acquired, __ATOMIC_SEQ_CST), "barged past a handoff");
    tpark_mutex_unlock(&fm);
  }
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(fm_acquired, 1);
  ck_assert_int_eq(fm.state_, 0);
}
END_TEST

/* Once the fair timer of the mutex's bucket has expired (1 ms of fake time
 * is enough), a plain unlock hands the mutex over too. */
START_TEST(mutex_unlock_hands_over_when_the_timer_fires) {
  pthread_t t;
  fm_acquired = 0;
  tpark_mutex_lock(&fm);
  ck_assert_int_eq(pthread_create(&t, NULL, fm_locker, NULL), 0);
  wait_parked(&fm);
  tpark_mock_advance(mock, 2 * MS);
  tpark_mutex_unlock(&fm);
  if (tpark_mutex_trylock(&fm)) {
    ck_assert_msg(__atomic_load_n(&fm_acquired, __ATOMIC_SEQ_CST), "barged past a handoff");
    tpark_mutex_unlock(&fm);
  }
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(fm.state_, 0);
}
END_TEST

/* No waiter starves: a thread that keeps unlocking and relocking (barging)
 * hands the mutex over once the fair timer fires on the fake clock. Each
 * unlock finds the waiter queued (wait_parked) and so consults the timer,
 * which fires within 1 ms of fake time: 0.1 ms a round, at most 11 rounds. */
START_TEST(mutex_fair_timer_hands_over) {
  pthread_t t;
  fm_acquired = 0;
  tpark_mutex_lock(&fm);
  ck_assert_int_eq(pthread_create(&t, NULL, fm_locker, NULL), 0);
  int rounds = 0;
  while (!__atomic_load_n(&fm_acquired, __ATOMIC_SEQ_CST)) {
    ck_assert_int_le(++rounds, 11);
    wait_parked(&fm);
    tpark_mock_advance(mock, MS / 10);
    tpark_mutex_unlock(&fm);
    tpark_mutex_lock(&fm); /* waits only if the lock was handed over */
  }
  tpark_mutex_unlock(&fm);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
}
END_TEST

static tpark_instant fm_deadline;
static bool fm_result;
static void *fm_timed_locker(void *c) {
  (void)c;
  fm_result = tpark_mutex_lock_until(&fm, fm_deadline);
  return NULL;
}

START_TEST(mutex_lock_until_times_out) {
  pthread_t t;
  tpark_mutex_lock(&fm);
  fm_deadline = 10 * MS;
  fm_result = true;
  ck_assert_int_eq(pthread_create(&t, NULL, fm_timed_locker, NULL), 0);
  wait_parked(&fm);
  tpark_mock_advance(mock, 10 * MS - 1);
  ck_assert(tpark_mock_wait_sleepers(mock, 1, 60000));
  tpark_mock_advance(mock, 1);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(fm_result, false);
  ck_assert_int_eq(fm.state_, 1); /* the last waiter cleared PARKED */
  tpark_mutex_unlock(&fm);        /* fast path now */
  ck_assert_int_eq(fm.state_, 0);
  ck_assert(tpark_mutex_lock_until(&fm, 0)); /* free: a past deadline still locks */
  ck_assert(!tpark_mutex_lock_until(&fm, 0));
  ck_assert(!tpark_mutex_trylock(&fm));
  tpark_mutex_unlock(&fm);
}
END_TEST

/* ---- wait on address ---- */

static uint32_t wv;
static bool wv_result;
static tpark_instant wv_deadline;
static void *wv_waiter(void *c) {
  (void)c;
  uint32_t zero = 0;
  wv_result = tpark_wait_on_address(&wv, &zero, sizeof zero, wv_deadline);
  return NULL;
}

START_TEST(wait_times_out_on_the_fake_clock) {
  pthread_t t;
  wv = 0;
  wv_deadline = 3 * MS;
  wv_result = true;
  ck_assert_int_eq(pthread_create(&t, NULL, wv_waiter, NULL), 0);
  ck_assert(tpark_mock_wait_sleepers(mock, 1, 60000));
  tpark_mock_advance(mock, 3 * MS);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(wv_result, false);
}
END_TEST

int main(void) {
  Suite *s = suite_create("mutex");
  TCase *tc = new_tcase("mutex");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, mutex_unlock_fair_hands_over);
  tcase_add_test(tc, mutex_unlock_hands_over_when_the_timer_fires);
  tcase_add_test(tc, mutex_fair_timer_hands_over);
  tcase_add_test(tc, mutex_lock_until_times_out);
  suite_add_tcase(s, tc);
  TCase *wait = new_tcase("wait");
  tcase_add_checked_fixture(wait, setup, teardown);
  tcase_add_test(wait, wait_times_out_on_the_fake_clock);
  suite_add_tcase(s, wait);
  return run_suite(s);
}
