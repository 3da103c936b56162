/* The futex backend against the fake OS: every answer the kernel can give,
 * in a chosen order, with time under the fake clock. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/testing.h"
#include "tests/child.h"
#include "tests/fake_os.h"
#include "tests/run_suite.h"
#include "tpark/tpark.h"

#define START UINT64_C(1000000000)

static tpark_parker p;

static void setup(void) {
  const tpark_backend *b;
  tpark__selection_reset();
  fake_os_install(START, FAKE_OS_LINUX);
  ck_assert_int_eq(tpark_select_backend("futex", &b), TPARK_OK);
  ck_assert_int_eq(tpark_init_with(&p, b), TPARK_OK);
}

static void teardown(void) {
  tpark__selection_reset();
  fake_os_remove();
}

/* A hook: another thread's unpark_lock, right inside the wait. */
static tpark_unpark_handle hook_handle;
static void unpark_lock_hook(void *arg) { hook_handle = tpark_unpark_lock(arg); }

START_TEST(unpark_of_a_thread_not_asleep_makes_no_system_call) {
  unsigned wakes = fake_count(FAKE_FUTEX_WAKE);
  tpark_prepare_park(&p);
  tpark_unpark(tpark_unpark_lock(&p));
  tpark_park(&p);
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAIT), 0);
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAKE), wakes);
}
END_TEST

START_TEST(eintr_eagain_and_spurious_wakeups_are_absorbed) {
  const fake_answer answers[] = {
      {EINTR, 0, NULL, NULL},
      {EAGAIN, 0, NULL, NULL},
      {0, 0, NULL, NULL}, /* spurious */
      {0, 0, unpark_lock_hook, &p},
  };
  fake_script(FAKE_FUTEX_WAIT, answers, 4);
  tpark_prepare_park(&p);
  tpark_park(&p);
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAIT), 4);
  /* The owner was asleep: this unpark is a real wake. */
  unsigned wakes = fake_count(FAKE_FUTEX_WAKE);
  tpark_unpark(hook_handle);
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAKE), wakes + 1);
}
END_TEST

/* The OS says "timed out" before the deadline on tpark's clock: wait again. */
START_TEST(early_os_timeouts_are_waited_again) {
  tpark_instant deadline = START + 5000;
  const fake_answer answers[] = {
      {ETIMEDOUT, 0, NULL, NULL}, /* no time passed at all */
      {ETIMEDOUT, START + 2000, NULL, NULL},
      {ETIMEDOUT, deadline - 1, NULL, NULL}, /* 1 ns short */
      {EINTR, deadline, NULL, NULL},         /* the deadline passes */
  };
  fake_script(FAKE_FUTEX_WAIT, answers, 4);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, deadline));
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAIT), 4);
  ck_assert_uint_eq(fake_clock_now(), deadline);
  ck_assert(tpark_timed_out(&p));
}
END_TEST

START_TEST(spurious_wakeup_of_a_timed_wait_is_absorbed) {
  tpark_instant deadline = START + 5000;
  const fake_answer answers[] = {
      {0, START + 10, NULL, NULL},
      {0, 0, NULL, NULL},
      {ETIMEDOUT, deadline + 7, NULL, NULL},
  };
  fake_script(FAKE_FUTEX_WAIT, answers, 3);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, deadline));
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAIT), 3);
}
END_TEST

/* The unpark_lock lands while the timeout fires: the park reports true. */
START_TEST(unpark_racing_the_timeout_wins_before_commit) {
  tpark_instant deadline = START + 5000;
  const fake_answer answers[] = {{ETIMEDOUT, deadline, unpark_lock_hook, &p}};
  fake_script(FAKE_FUTEX_WAIT, answers, 1);
  tpark_prepare_park(&p);
  ck_assert(tpark_park_until(&p, deadline));
  tpark_unpark(hook_handle);
}
END_TEST

START_TEST(past_deadline_makes_no_wait) {
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, START));
  ck_assert(!tpark_park_until(&p, 0));
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAIT), 0);
  /* A later unpark_lock finds no sleeper: no system call. */
  unsigned wakes = fake_count(FAKE_FUTEX_WAKE);
  tpark_unpark(tpark_unpark_lock(&p));
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAKE), wakes);
  ck_assert(!tpark_timed_out(&p));
}
END_TEST

/* After a timed-out sleep, the state is back to "not asleep". */
START_TEST(timeout_after_sleeping_leaves_no_sleeper_mark) {
  const fake_answer answers[] = {{ETIMEDOUT, START + 100, NULL, NULL}};
  fake_script(FAKE_FUTEX_WAIT, answers, 1);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, START + 100));
  unsigned wakes = fake_count(FAKE_FUTEX_WAKE);
  tpark_unpark(tpark_unpark_lock(&p));
  ck_assert_uint_eq(fake_count(FAKE_FUTEX_WAKE), wakes);
}
END_TEST

/* The waker's unpark after its target returned and freed the parker: the
 * kernel may answer EFAULT, which is not an error. */
START_TEST(wake_efault_is_tolerated) {
  const fake_answer wait[] = {{0, 0, unpark_lock_hook, &p}};
  const fake_answer wake[] = {{EFAULT, 0, NULL, NULL}};
  fake_script(FAKE_FUTEX_WAIT, wait, 1);
  fake_script(FAKE_FUTEX_WAKE, wake, 1);
  tpark_prepare_park(&p);
  tpark_park(&p);
  tpark_unpark(hook_handle);
}
END_TEST

START_TEST(futex_enosys_at_setup_is_enotsup) {
  const tpark_backend *b;
  tpark__selection_reset();
  const fake_answer enosys[] = {{ENOSYS, 0, NULL, NULL}};
  fake_script(FAKE_FUTEX_WAKE, enosys, 1);
  ck_assert_int_eq(tpark_select_backend("futex", &b), TPARK_ENOTSUP);
  ck_assert_ptr_null(b);
}
END_TEST

static void park_into_einval(void) {
  const fake_answer einval[] = {{EINVAL, 0, NULL, NULL}};
  fake_script(FAKE_FUTEX_WAIT, einval, 1);
  tpark_prepare_park(&p);
  tpark_park(&p);
}

static void unpark_into_einval(void) {
  const fake_answer wait[] = {{0, 0, unpark_lock_hook, &p}};
  const fake_answer einval[] = {{EINVAL, 0, NULL, NULL}};
  fake_script(FAKE_FUTEX_WAIT, wait, 1);
  fake_script(FAKE_FUTEX_WAKE, einval, 1);
  tpark_prepare_park(&p);
  tpark_park(&p);
  tpark_unpark(hook_handle);
}

static void clock_fails(void) {
  fake_fail_nth(FAKE_CLOCK, 1, EINVAL);
  tpark_now(&p);
}

START_TEST(impossible_os_errors_abort_naming_the_call) {
  const char *const wait[] = {"futex(FUTEX_WAIT_BITSET)", "errno 22"};
  const char *const wake[] = {"futex(FUTEX_WAKE)", "errno 22"};
  const char *const clock[] = {"clock_gettime", "errno 22"};
  expect_abort(park_into_einval, setup, wait, 2);
  expect_abort(unpark_into_einval, setup, wake, 2);
  expect_abort(clock_fails, setup, clock, 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("futex_fake");
  TCase *tc = new_tcase("futex");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, unpark_of_a_thread_not_asleep_makes_no_system_call);
  tcase_add_test(tc, eintr_eagain_and_spurious_wakeups_are_absorbed);
  tcase_add_test(tc, early_os_timeouts_are_waited_again);
  tcase_add_test(tc, spurious_wakeup_of_a_timed_wait_is_absorbed);
  tcase_add_test(tc, unpark_racing_the_timeout_wins_before_commit);
  tcase_add_test(tc, past_deadline_makes_no_wait);
  tcase_add_test(tc, timeout_after_sleeping_leaves_no_sleeper_mark);
  tcase_add_test(tc, wake_efault_is_tolerated);
  tcase_add_test(tc, futex_enosys_at_setup_is_enotsup);
  tcase_add_test(tc, impossible_os_errors_abort_naming_the_call);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
