/* The schedule explorer under TPARK_CHECKED=1 (set by the BUILD file):
 * correct bodies pass run after run (each run forgets its locks, so a lock
 * at the address of another run's lock is a new lock), and a broken lock
 * rule still ends the process with checked mode's line, after which the
 * explorer prints the token of that run; failed runs leave no parker
 * parked in checked mode's table. */
#include <string.h>

#include "tests/explore_bugs.h"
#include "tests/run_suite.h"
#include "tpark/mutex.h"

START_TEST(correct_bodies_pass_in_checked_mode) {
  for (unsigned b = 0; b < n_explore_bugs; b++) {
    tpark_explore_result r;
    tpark_explore_options o = {.strategy = TPARK_EXPLORE_BOUNDED, .quiet = true, .result = &r};
    ck_assert_msg(tpark_explore_run(&o, explore_bugs[b].correct, NULL) == 0, "%s:\n%s",
                  explore_bugs[b].name, r.report);
  }
}
END_TEST

/* A failed run stops threads inside their parks: checked mode must not
 * count those parkers as parked when later runs (and later calls, with new
 * worker threads whose data may reuse the memory) park on them again. */
START_TEST(failed_runs_leave_no_parked_parker) {
  for (int i = 0; i < 3; i++) {
    for (unsigned b = 0; b < n_explore_bugs; b++) {
      /* Holding a read lock while taking the upgradable one is a broken
       * rule in checked mode ("no re-lock"): that bug ends the process. */
      if (strcmp(explore_bugs[b].name, "upgraders deadlock") == 0) continue;
      tpark_explore_result r;
      tpark_explore_options o = {.strategy = TPARK_EXPLORE_BOUNDED, .quiet = true, .result = &r};
      ck_assert_int_eq(tpark_explore_run(&o, explore_bugs[b].buggy, NULL),
                       (int)explore_bugs[b].found_as);
    }
  }
}
END_TEST

/* Each run takes two locks in its own order: in one run a before b, in the
 * other b before a. Never a deadlock (one thread), but checked mode sees
 * the inversion within a run only if the body really inverts. */
static void inverts(void *arg) {
  (void)arg;
  tpark_mutex a = TPARK_MUTEX_INIT, b = TPARK_MUTEX_INIT;
  tpark_mutex_lock(&a);
  tpark_mutex_lock(&b);
  tpark_mutex_unlock(&b);
  tpark_mutex_unlock(&a);
  tpark_mutex_lock(&b);
  tpark_mutex_lock(&a); /* checked mode: "lock order" */
  tpark_mutex_unlock(&a);
  tpark_mutex_unlock(&b);
}

static void explore_inversion(void) {
  tpark_explore_options o = {.quiet = true};
  tpark_explore_run(&o, inverts, NULL);
}

START_TEST(a_broken_rule_ends_the_process_with_a_token) {
  const char *want[] = {"tpark checked: rule \"lock order\"",
                        "tpark explore: the process ends in run 1 at step ",
                        "TPARK_EXPLORE_REPLAY=tx1.r"};
  expect_abort(explore_inversion, NULL, want, sizeof want / sizeof want[0]);
}
END_TEST

/* A thread of the run that returns holding a lock: its worker goes on, but
 * checked mode reports it as at a thread's exit. */
static tpark_mutex kept;

static void keeps_the_lock(void *arg) {
  (void)arg;
  tpark_mutex_lock(&kept);
}

static void body_keeps_a_lock(void *arg) {
  (void)arg;
  kept = (tpark_mutex)TPARK_MUTEX_INIT;
  tpark_explore_label(&kept, "kept");
  tpark_explore_join(tpark_explore_spawn(keeps_the_lock, NULL));
}

static void explore_kept_lock(void) {
  tpark_explore_options o = {.quiet = true};
  tpark_explore_run(&o, body_keeps_a_lock, NULL);
}

START_TEST(a_thread_ending_with_a_lock_is_reported) {
  const char *want[] = {"tpark checked: rule \"release before exit\"",
                        "it still holds mutex \"kept\"", "TPARK_EXPLORE_REPLAY=tx1.r"};
  expect_abort(explore_kept_lock, NULL, want, sizeof want / sizeof want[0]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("explore_checked");
  TCase *tc = new_tcase("explore_checked");
  tcase_add_test(tc, correct_bodies_pass_in_checked_mode);
  tcase_add_test(tc, failed_runs_leave_no_parked_parker);
  tcase_add_test(tc, a_broken_rule_ends_the_process_with_a_token);
  tcase_add_test(tc, a_thread_ending_with_a_lock_is_reported);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
