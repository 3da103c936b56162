/* The child-process helper itself (tests/child.h): what each way of ending
 * is reported as, stderr captured, the timeout, and where setup runs. On
 * Windows every child here is this program started again. */
#include "tests/child.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/run_suite.h"

static void says_and_aborts(void) {
  fprintf(stderr, "child_test: about to abort\n");
  abort();
}

static void exits_7(void) {
  fputs("child_test: exit 7\n", stderr);
  exit(7);
}

static void returns(void) {}

static void hangs(void) {
  for (;;) {
    fflush(stderr);
  }
}

/* Set by main (so a fresh child has it too) or by setup. */
static int main_ran, setup_ran;

static void set_up(void) { setup_ran = 1; }

static void reports_state(void) {
  fprintf(stderr, "main_ran=%d setup_ran=%d\n", main_ran, setup_ran);
  exit(0);
}

static void fails_an_assertion(void) { ck_assert_msg(0, "child_test: a failed assertion"); }

START_TEST(abort_is_reported_with_stderr) {
  child_result r = child_run(says_and_aborts, NULL, 60);
  ck_assert(r.aborted);
  ck_assert(!r.exited && !r.timed_out);
  ck_assert_ptr_nonnull(strstr(r.err, "child_test: about to abort"));
  const char *const want[] = {"about to abort"};
  expect_abort(says_and_aborts, NULL, want, 1);
}
END_TEST

START_TEST(exit_status_is_reported) {
  child_result r = child_run(exits_7, NULL, 60);
  ck_assert(r.exited && !r.aborted && !r.timed_out);
  ck_assert_int_eq(r.exit_code, 7);
  ck_assert_ptr_nonnull(strstr(r.err, "child_test: exit 7")); /* \r\n on Windows */
  r = child_run(returns, NULL, 60);
  ck_assert(r.exited);
  ck_assert_int_eq(r.exit_code, 0);
  ck_assert_str_eq(r.err, "");
}
END_TEST

START_TEST(a_hang_is_killed_at_the_timeout) {
  child_result r = child_run(hangs, NULL, 1);
  char what[64];
  ck_assert_msg(r.timed_out, "%s", child_describe(&r, what, sizeof what));
  ck_assert_str_eq(child_describe(&r, what, sizeof what), "timed out after 1 s");
}
END_TEST

/* POSIX: a copy of this process, so setup is not needed and does not run.
 * Windows: main ran again, and setup ran before fn. */
START_TEST(setup_runs_only_in_a_fresh_child) {
  setup_ran = 0;
  child_result r = child_run(reports_state, set_up, 60);
  ck_assert(r.exited);
#if defined(_WIN32)
  ck_assert_ptr_nonnull(strstr(r.err, "main_ran=1 setup_ran=1"));
#else
  ck_assert_ptr_nonnull(strstr(r.err, "main_ran=1 setup_ran=0"));
#endif
}
END_TEST

#if defined(_WIN32)
/* In a fresh child, fn runs as a Check test: a failed assertion ends it
 * with status 1 and the message on stderr. (On POSIX it would fail the
 * calling test, as Check forks each test.) */
START_TEST(a_failed_assertion_in_a_fresh_child) {
  child_result r = child_run(fails_an_assertion, NULL, 60);
  ck_assert(r.exited);
  ck_assert_int_eq(r.exit_code, 1);
  ck_assert_ptr_nonnull(strstr(r.err, "child_test: a failed assertion"));
}
END_TEST
#endif

int main(void) {
  main_ran = 1;
  Suite *s = suite_create("child");
  TCase *tc = new_tcase("child");
  tcase_add_test(tc, abort_is_reported_with_stderr);
  tcase_add_test(tc, exit_status_is_reported);
  tcase_add_test(tc, a_hang_is_killed_at_the_timeout);
  tcase_add_test(tc, setup_runs_only_in_a_fresh_child);
#if defined(_WIN32)
  tcase_add_test(tc, a_failed_assertion_in_a_fresh_child);
#else
  (void)fails_an_assertion;
#endif
  suite_add_tcase(s, tc);
  return run_suite(s);
}
