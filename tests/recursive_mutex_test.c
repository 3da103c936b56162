/* The recursive mutex (tpark/mutex.h) on the mock's fake clock, the mock
 * being the process default (mock_default.h): a waiter gets it only after
 * the holder's last unlock, timed locks time out exactly at their deadline
 * while a re-entrant holder keeps it, the owner's id, and the depth limit.
 * The same lock on each real backend: sync_test.c. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/lot_internal.h"
#include "tests/child.h"
#include "tests/mock_default.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/mutex.h"

static tpark_recursive_mutex rm = TPARK_RECURSIVE_MUTEX_INIT;

static void assert_free(const tpark_recursive_mutex *r) {
  ck_assert_uint_eq(r->owner_, 0);
  ck_assert_uint_eq(r->count_, 0);
  ck_assert_uint_eq(r->mutex_.state_, 0);
}

/* Waits (real time, generous) until one thread is queued in the lot on r. */
static void wait_queued(tpark_recursive_mutex *r) {
  for (int i = 0; i < 60000 && tpark__lot_queued(&r->mutex_) != 1; i++) test_sleep_ms(1);
  ck_assert_uint_eq(tpark__lot_queued(&r->mutex_), 1);
}

static tpark_instant deadline;
static int result = -1;  /* atomic: -1 until the thread's call returned */
static int acquired_at;  /* atomic: the holder's depth when the waiter got it */
static int holder_depth; /* atomic */
static bool reentered;   /* the waiter's trylock re-entered (count 2) */

static void *timed_locker(void *c) {
  (void)c;
  bool got = tpark_recursive_mutex_lock_until(&rm, deadline);
  if (got) {
    __atomic_store_n(&acquired_at, __atomic_load_n(&holder_depth, __ATOMIC_SEQ_CST),
                     __ATOMIC_SEQ_CST);
    /* Re-entry works in this thread too, and does not wait. */
    reentered = tpark_recursive_mutex_trylock(&rm) && rm.count_ == 2;
    if (reentered) tpark_recursive_mutex_unlock(&rm);
    tpark_recursive_mutex_unlock(&rm);
  }
  __atomic_store_n(&result, got, __ATOMIC_SEQ_CST);
  return NULL;
}

/* A waiter parks until the holder's last unlock, not its first. */
START_TEST(waiter_gets_it_after_the_last_unlock) {
  pthread_t t;
  deadline = TPARK_NEVER;
  result = -1;
  reentered = false;
  for (int i = 0; i < 3; i++) tpark_recursive_mutex_lock(&rm);
  __atomic_store_n(&holder_depth, 3, __ATOMIC_SEQ_CST);
  ck_assert_int_eq(pthread_create(&t, NULL, timed_locker, NULL), 0);
  wait_queued(&rm);
  for (int depth = 2; depth >= 0; depth--) {
    __atomic_store_n(&holder_depth, depth, __ATOMIC_SEQ_CST);
    tpark_recursive_mutex_unlock(&rm);
    if (depth > 0) {
      /* Still ours: the waiter is still queued, and we re-enter at once. */
      ck_assert_uint_eq(tpark__lot_queued(&rm.mutex_), 1);
      ck_assert_int_eq(__atomic_load_n(&result, __ATOMIC_SEQ_CST), -1);
      ck_assert(tpark_recursive_mutex_lock_until(&rm, 0));
      tpark_recursive_mutex_unlock(&rm);
    }
  }
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(result, 1);
  ck_assert_int_eq(acquired_at, 0);
  ck_assert(reentered);
  assert_free(&rm);
}
END_TEST

/* A timed lock gives up exactly at its deadline on the fake clock while
 * another thread holds the mutex at depth 2, and leaves the word as the
 * holder had it (PARKED cleared by the last waiter). */
START_TEST(lock_until_times_out_at_the_deadline) {
  pthread_t t;
  tpark_recursive_mutex_lock(&rm);
  tpark_recursive_mutex_lock(&rm);
  deadline = 5 * MS;
  result = -1;
  ck_assert_int_eq(pthread_create(&t, NULL, timed_locker, NULL), 0);
  wait_queued(&rm);
  ck_assert(tpark_mock_wait_sleepers(mock, 1, 60000));
  tpark_mock_advance(mock, 5 * MS - 1);
  ck_assert(tpark_mock_wait_sleepers(mock, 1, 60000)); /* still asleep: never early */
  ck_assert_int_eq(__atomic_load_n(&result, __ATOMIC_SEQ_CST), -1);
  tpark_mock_advance(mock, 1);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(result, 0);
  ck_assert_uint_eq(rm.count_, 2);
  ck_assert_uint_eq(rm.owner_, tpark__thread_id());
  ck_assert_uint_eq(rm.mutex_.state_, 1); /* LOCKED; the waiter took PARKED away */
  tpark_recursive_mutex_unlock(&rm);
  tpark_recursive_mutex_unlock(&rm);
  assert_free(&rm);
  /* Free: a past deadline still takes it, and re-enters. */
  ck_assert(tpark_recursive_mutex_lock_until(&rm, 0));
  ck_assert(tpark_recursive_mutex_lock_until(&rm, 0));
  tpark_recursive_mutex_unlock(&rm);
  tpark_recursive_mutex_unlock(&rm);
  assert_free(&rm);
}
END_TEST

/* A waiter queued before the deadline that the holder releases to in time
 * gets it, on the fake clock too. */
START_TEST(lock_until_acquires_before_the_deadline) {
  pthread_t t;
  tpark_recursive_mutex_lock(&rm);
  __atomic_store_n(&holder_depth, 1, __ATOMIC_SEQ_CST);
  deadline = 5 * MS;
  result = -1;
  ck_assert_int_eq(pthread_create(&t, NULL, timed_locker, NULL), 0);
  wait_queued(&rm);
  tpark_mock_advance(mock, 5 * MS - 1);
  __atomic_store_n(&holder_depth, 0, __ATOMIC_SEQ_CST);
  tpark_recursive_mutex_unlock(&rm);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(result, 1);
  assert_free(&rm);
}
END_TEST

static uintptr_t other_id, other_id_again, other_slow;
static void *read_id(void *c) {
  (void)c;
  other_id = tpark__thread_id();
  other_id_again = tpark__thread_id();
  other_slow = tpark__thread_id_slow();
  return NULL;
}

/* The owner's id: never 0, stable within a thread, different between two
 * threads that run at the same time; the fallback (thread-local address)
 * has the same properties. */
START_TEST(thread_ids_differ) {
  uintptr_t mine = tpark__thread_id(), mine_slow = tpark__thread_id_slow();
  ck_assert_uint_ne(mine, 0);
  ck_assert_uint_ne(mine_slow, 0);
  ck_assert_uint_eq(mine, tpark__thread_id());
  ck_assert_uint_eq(mine_slow, tpark__thread_id_slow());
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, read_id, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  /* Both threads were running when the other one read its ids. */
  ck_assert_uint_ne(other_id, 0);
  ck_assert_uint_eq(other_id, other_id_again);
  ck_assert_uint_ne(other_id, mine);
  ck_assert_uint_ne(other_slow, 0);
  ck_assert_uint_ne(other_slow, mine_slow);
}
END_TEST

static void too_deep(void) {
  tpark_recursive_mutex r = TPARK_RECURSIVE_MUTEX_INIT;
  tpark_recursive_mutex_lock(&r);
  r.count_ = UINT32_MAX - 1; /* as after 2^32 - 2 locks */
  tpark_recursive_mutex_lock(&r);
  ck_assert_uint_eq(r.count_, UINT32_MAX);
  tpark_recursive_mutex_lock(&r); /* one too many */
}

START_TEST(too_deep_aborts_with_a_message) {
  static const char *const want[] = {"tpark_recursive_mutex_lock", "4294967295 times"};
  expect_abort(too_deep, NULL, want, 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("recursive_mutex");
  TCase *tc = new_tcase("recursive_mutex");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, waiter_gets_it_after_the_last_unlock);
  tcase_add_test(tc, lock_until_times_out_at_the_deadline);
  tcase_add_test(tc, lock_until_acquires_before_the_deadline);
  tcase_add_test(tc, thread_ids_differ);
  tcase_add_test(tc, too_deep_aborts_with_a_message);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
