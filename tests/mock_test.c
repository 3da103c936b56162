/* The mock backend's own promises (tpark/mock.h): timeouts happen exactly
 * when the fake clock reaches the deadline and never from real time, and the
 * event log says what happened, in order. The settled counts, deadlines,
 * reports and run_until_idle are in tests/mock_run_test.c. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "tests/mock_fixture.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/mock.h"
#include "tpark/tpark.h"

/* A thread that prepares, parks until a deadline and keeps the result (and,
 * when timed out, tpark_timed_out's: the owner's to ask). */
struct sleeper {
  tpark_instant deadline;
  bool result, timed_out;
  pthread_t thread;
};

static void *sleeper_main(void *arg) {
  struct sleeper *s = arg;
  tpark_prepare_park(&p);
  s->result = tpark_park_until(&p, s->deadline);
  if (!s->result) s->timed_out = tpark_timed_out(&p);
  return NULL;
}

static void start_sleeper(struct sleeper *s, tpark_instant deadline) {
  s->deadline = deadline;
  ck_assert_int_eq(pthread_create(&s->thread, NULL, sleeper_main, s), 0);
  ck_assert(tpark_mock_wait_sleepers(m, 1, 10000));
}

START_TEST(clock_starts_at_zero_and_saturates) {
  ck_assert_uint_eq(tpark_mock_now(m), 0);
  ck_assert_uint_eq(tpark_now(&p), 0);
  tpark_mock_advance(m, 7);
  ck_assert_uint_eq(tpark_now(&p), 7);
  ck_assert_uint_eq(tpark_deadline(&p, 3), 10);
  tpark_mock_advance(m, UINT64_MAX);
  ck_assert_uint_eq(tpark_mock_now(m), TPARK_NEVER);
  ck_assert_str_eq(tpark_backend_name(&p), "mock");
}
END_TEST

/* The timeout fires when the clock reaches the deadline, not one ns sooner. */
START_TEST(timeout_exactly_at_deadline) {
  struct sleeper s;
  start_sleeper(&s, 1000);
  tpark_mock_advance(m, 999);
  tpark_mock_advance(m, 1);
  pthread_join(s.thread, NULL);
  ck_assert(!s.result);
  ck_assert(s.timed_out);
  ck_assert_str_eq(ops(0), "PREPARE SLEEP ADVANCE ADVANCE TIMED_OUT");
  tpark_mock_event ev[5];
  tpark_mock_events(m, ev, 5);
  ck_assert_uint_eq(ev[1].deadline, 1000);
  ck_assert_uint_eq(ev[2].at, 999);
  ck_assert_uint_eq(ev[3].at, 1000);
  ck_assert_uint_eq(ev[4].at, 1000);
  ck_assert_ptr_eq(ev[4].parker, &p);
  ck_assert_ptr_null(ev[3].parker);
}
END_TEST

/* Real time passing does not time a mock park out. */
START_TEST(real_time_never_times_out) {
  struct sleeper s;
  start_sleeper(&s, 1); /* 1 ns of fake time */
  test_sleep_ms(50);
  ck_assert_uint_eq(tpark_mock_sleepers(m), 1);
  tpark_unpark(tpark_unpark_lock(&p));
  pthread_join(s.thread, NULL);
  ck_assert(s.result);
  ck_assert_str_eq(ops(0), "PREPARE SLEEP UNPARK_LOCK UNPARK WOKEN");
}
END_TEST

/* A waker thread: the owner never unparks its own prepared parker. */
static void *unpark_p(void *arg) {
  (void)arg;
  tpark_unpark(tpark_unpark_lock(&p));
  return NULL;
}

START_TEST(unpark_first_records_no_sleep) {
  tpark_prepare_park(&p);
  pthread_t waker;
  ck_assert_int_eq(pthread_create(&waker, NULL, unpark_p, NULL), 0);
  ck_assert_int_eq(pthread_join(waker, NULL), 0);
  tpark_park(&p);
  ck_assert_str_eq(ops(0), "PREPARE UNPARK_LOCK UNPARK WOKEN");
  tpark_mock_event ev[4];
  ck_assert_uint_eq(tpark_mock_events(m, ev, 4), 4);
  ck_assert(ev[1].hit);
  ck_assert_ptr_eq(ev[2].parker, &p);
}
END_TEST

START_TEST(unpark_lock_hits_only_in_a_cycle) {
  tpark_unpark(tpark_unpark_lock(&p)); /* not prepared */
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, 0)); /* timed out: no SLEEP */
  tpark_unpark(tpark_unpark_lock(&p)); /* after the timeout: a hit */
  ck_assert(!tpark_timed_out(&p));
  tpark_unpark(tpark_unpark_lock(&p)); /* second of the cycle: no hit */
  ck_assert_str_eq(ops(0),
                   "UNPARK_LOCK UNPARK PREPARE TIMED_OUT UNPARK_LOCK UNPARK UNPARK_LOCK UNPARK");
  tpark_mock_event ev[8];
  tpark_mock_events(m, ev, 8);
  ck_assert(!ev[0].hit);
  ck_assert(ev[4].hit);
  ck_assert(!ev[6].hit);
}
END_TEST

START_TEST(park_until_never_ignores_the_end_of_time) {
  struct sleeper s;
  start_sleeper(&s, TPARK_NEVER);
  tpark_mock_advance(m, UINT64_MAX);
  ck_assert(!tpark_mock_wait_sleepers(m, 2, 20));
  ck_assert_uint_eq(tpark_mock_sleepers(m), 1);
  tpark_unpark(tpark_unpark_lock(&p));
  pthread_join(s.thread, NULL);
  ck_assert(s.result);
  tpark_mock_event ev[2];
  tpark_mock_events(m, ev, 2);
  ck_assert_uint_eq(ev[1].deadline, TPARK_NEVER);
}
END_TEST

START_TEST(events_copy_the_oldest) {
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 0);
  for (int i = 0; i < 100; i++) tpark_mock_advance(m, 1); /* past the first growth */
  tpark_mock_event ev[3];
  memset(ev, 0, sizeof ev);
  ck_assert_uint_eq(tpark_mock_events(m, ev, 2), 100);
  ck_assert_uint_eq(ev[0].at, 1);
  ck_assert_uint_eq(ev[1].at, 2);
  ck_assert_uint_eq(ev[2].at, 0); /* untouched */
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 100);
}
END_TEST

START_TEST(mocks_are_independent) {
  tpark_mock *other = tpark_mock_new();
  tpark_parker q;
  ck_assert_int_eq(tpark_init_with(&q, backend_of(other)), TPARK_OK);
  tpark_mock_advance(other, 500);
  ck_assert_uint_eq(tpark_now(&p), 0);
  ck_assert_uint_eq(tpark_now(&q), 500);
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 0);
  tpark_mock_free(other);
  tpark_mock_free(NULL);
}
END_TEST

START_TEST(wait_sleepers_times_out) {
  ck_assert(!tpark_mock_wait_sleepers(m, 1, 10));
  ck_assert(tpark_mock_wait_sleepers(m, 0, 0));
}
END_TEST

#if !defined(_WIN32) /* needs a process per test (no fork on Windows) */
/* Freeing a mock under a sleeping thread is a bug: it aborts. */
START_TEST(free_with_sleepers_aborts) {
  struct sleeper s;
  start_sleeper(&s, TPARK_NEVER);
  tpark_mock_free(m);
}
END_TEST
#endif

int main(int argc, char **argv) {
  checked = argc > 1 && strcmp(argv[1], "checked") == 0;
  Suite *s = suite_create(checked ? "mock[checked]" : "mock");
  TCase *tc = new_tcase("mock");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, clock_starts_at_zero_and_saturates);
  tcase_add_test(tc, timeout_exactly_at_deadline);
  tcase_add_test(tc, real_time_never_times_out);
  tcase_add_test(tc, unpark_first_records_no_sleep);
  tcase_add_test(tc, unpark_lock_hits_only_in_a_cycle);
  tcase_add_test(tc, park_until_never_ignores_the_end_of_time);
  tcase_add_test(tc, events_copy_the_oldest);
  tcase_add_test(tc, mocks_are_independent);
  tcase_add_test(tc, wait_sleepers_times_out);
#if !defined(_WIN32) /* needs a process per test (no fork on Windows) */
  tcase_add_test_raise_signal(tc, free_with_sleepers_aborts, SIGABRT);
#endif
  suite_add_tcase(s, tc);
  return run_suite(s);
}
