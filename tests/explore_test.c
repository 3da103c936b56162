/* The schedule explorer (tpark/explore.h): every known bug of
 * explore_bugs.c is found by every strategy within a stated number of runs
 * and replays from its token 100 times out of 100; the correct versions
 * pass; deadlocks and livelocks end with a report; tokens are checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/explore_bugs.h"
#include "tests/run_suite.h"
#include "tpark/cond.h"
#include "tpark/lot.h"
#include "tpark/mutex.h"
#include "tpark/tpark.h"

/* The most runs each strategy may take to find a known bug (their medians
 * over seeds are in the session notes: far below these). */
#define RANDOM_RUNS 200
#define PCT_RUNS 200

static tpark_explore_result explore(tpark_explore_strategy strategy, uint64_t seed, uint64_t runs,
                                    const char *replay, void (*body)(void *)) {
  tpark_explore_result r;
  tpark_explore_options o = {0};
  o.strategy = strategy;
  o.seed = seed;
  o.runs = runs;
  o.replay = replay;
  o.quiet = true;
  o.result = &r;
  int rc = tpark_explore_run(&o, body, NULL);
  ck_assert_int_eq(rc, (int)r.outcome);
  return r;
}

static const tpark_explore_strategy strategies[] = {TPARK_EXPLORE_RANDOM, TPARK_EXPLORE_PCT,
                                                    TPARK_EXPLORE_BOUNDED};

START_TEST(each_bug_is_found_and_replays) {
  const explore_bug *bug = &explore_bugs[_i / 3];
  tpark_explore_strategy strategy = strategies[_i % 3];
  uint64_t limit = strategy == TPARK_EXPLORE_RANDOM ? RANDOM_RUNS
                   : strategy == TPARK_EXPLORE_PCT  ? PCT_RUNS
                                                    : 0;
  tpark_explore_result found = explore(strategy, 7, limit, NULL, bug->buggy);
  ck_assert_msg(found.outcome == bug->found_as, "%s, %s: %s after %llu runs:\n%s", bug->name,
                tpark_explore_strategy_name(strategy), tpark_explore_outcome_name(found.outcome),
                (unsigned long long)found.runs, found.report);
  ck_assert_msg(found.token_len > 0 && found.token_len < sizeof found.token, "token of %lu chars",
                (unsigned long)found.token_len);
  for (int i = 0; i < 100; i++) {
    tpark_explore_result again = explore(TPARK_EXPLORE_RANDOM, 0, 0, found.token, bug->buggy);
    ck_assert_msg(again.outcome == found.outcome && again.runs == 1,
                  "%s, %s: replay %d: %s\n%s\nfound:\n%s", bug->name,
                  tpark_explore_strategy_name(strategy), i,
                  tpark_explore_outcome_name(again.outcome), again.report, found.report);
    ck_assert_str_eq(again.token, found.token);
    /* The same report, but for its first line (run number and seed). */
    ck_assert_str_eq(strchr(again.report, '\n'), strchr(found.report, '\n'));
  }
}
END_TEST

START_TEST(correct_versions_pass) {
  const explore_bug *bug = &explore_bugs[_i];
  tpark_explore_result r = explore(TPARK_EXPLORE_RANDOM, 3, 300, NULL, bug->correct);
  ck_assert_msg(r.outcome == TPARK_EXPLORE_PASSED, "%s, random:\n%s", bug->name, r.report);
  ck_assert_uint_eq(r.runs, 300);
  r = explore(TPARK_EXPLORE_PCT, 3, 300, NULL, bug->correct);
  ck_assert_msg(r.outcome == TPARK_EXPLORE_PASSED, "%s, pct:\n%s", bug->name, r.report);
  r = explore(TPARK_EXPLORE_BOUNDED, 0, 0, NULL, bug->correct);
  ck_assert_msg(r.outcome == TPARK_EXPLORE_PASSED, "%s, bounded:\n%s", bug->name, r.report);
  ck_assert_msg(r.exhausted, "%s: not every schedule ran (%llu runs)", bug->name,
                (unsigned long long)r.runs);
  ck_assert_uint_gt(r.runs, 1);
}
END_TEST

/* ---- deadlocks, livelocks, time ---------------------------------------------------- */

static tpark_mutex lock_a, lock_b;

static void a_then_b(void *arg) {
  (void)arg;
  tpark_explore_label(NULL, "ab");
  tpark_mutex_lock(&lock_a);
  tpark_mutex_lock(&lock_b);
  tpark_mutex_unlock(&lock_b);
  tpark_mutex_unlock(&lock_a);
}

static void b_then_a(void *arg) {
  (void)arg;
  tpark_explore_label(NULL, "ba");
  tpark_mutex_lock(&lock_b);
  tpark_mutex_lock(&lock_a);
  tpark_mutex_unlock(&lock_a);
  tpark_mutex_unlock(&lock_b);
}

static void inversion(void *arg) {
  (void)arg;
  lock_a = (tpark_mutex)TPARK_MUTEX_INIT;
  lock_b = (tpark_mutex)TPARK_MUTEX_INIT;
  tpark_explore_label(&lock_a, "a");
  tpark_explore_label(&lock_b, "b");
  tpark_explore_thread t1 = tpark_explore_spawn(a_then_b, NULL);
  tpark_explore_thread t2 = tpark_explore_spawn(b_then_a, NULL);
  tpark_explore_join(t1);
  tpark_explore_join(t2);
}

/* In a child: a deadlock never hangs the explorer, under any strategy. */
static void find_inversions(void) {
  for (size_t i = 0; i < 3; i++) {
    tpark_explore_result r = explore(strategies[i], 1, 500, NULL, inversion);
    ck_assert_int_eq(r.outcome, TPARK_EXPLORE_DEADLOCK);
  }
}

START_TEST(a_deadlock_ends_with_a_report) {
  child_result c = child_run(find_inversions, NULL, 120);
  char why[128];
  ck_assert_msg(c.exited && c.exit_code == 0, "%s:\n%s", child_describe(&c, why, sizeof why),
                c.err);
  tpark_explore_result r = explore(TPARK_EXPLORE_BOUNDED, 0, 0, NULL, inversion);
  ck_assert_int_eq(r.outcome, TPARK_EXPLORE_DEADLOCK);
  const char *want[] = {
      "deadlock: every thread waits and no deadline is left",
      "thread 0 (the body): waits in tpark_explore_join for thread 1 \"ab\"",
      "thread 1 \"ab\": waits in tpark_mutex_lock for mutex \"b\", since step",
      "thread 2 \"ba\": waits in tpark_mutex_lock for mutex \"a\", since step",
      "its last steps:",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    ck_assert_msg(strstr(r.report, want[i]) != NULL, "no \"%s\" in:\n%s", want[i], r.report);
  }
}
END_TEST

static int spins;

static void spinner(void *arg) {
  (void)arg;
  for (;;) {
    spins++;
    tpark_thread_yield(); /* waits for a flag nobody sets */
  }
}

static void livelock(void *arg) {
  (void)arg;
  tpark_explore_join(tpark_explore_spawn(spinner, NULL));
}

START_TEST(a_livelock_ends_at_the_step_limit) {
  tpark_explore_result r;
  tpark_explore_options o = {.runs = 3, .max_steps = 500, .quiet = true, .result = &r};
  ck_assert_int_eq(tpark_explore_run(&o, livelock, NULL), TPARK_EXPLORE_STEP_LIMIT);
  ck_assert_uint_eq(r.runs, 1);
  ck_assert_msg(strstr(r.report, "more than 500 steps") != NULL, "%s", r.report);
  ck_assert_msg(strstr(r.report, "tpark_thread_yield") != NULL, "%s", r.report);
}
END_TEST

/* A waiter gives up after an hour unless a notify comes first: both happen,
 * on the explorer's clock. */
static tpark_mutex hour_lock;
static tpark_cond hour_cond;
static int timeouts_seen, wakes_seen;
static bool hour_flag;

static void hour_waiter(void *arg) {
  (void)arg;
  tpark_instant start = tpark_lot_now();
  tpark_mutex_lock(&hour_lock);
  bool woken = true;
  while (!hour_flag && woken) {
    woken = tpark_cond_wait_until(&hour_cond, &hour_lock, start + UINT64_C(3600000000000));
  }
  if (!woken) {
    timeouts_seen++;
    tpark_explore_check(tpark_lot_now() - start >= UINT64_C(3600000000000), "never early");
  } else {
    wakes_seen++;
  }
  tpark_mutex_unlock(&hour_lock);
}

static void hour_notifier(void *arg) {
  (void)arg;
  tpark_mutex_lock(&hour_lock);
  hour_flag = true;
  tpark_cond_notify_one(&hour_cond);
  tpark_mutex_unlock(&hour_lock);
}

static void hour(void *arg) {
  (void)arg;
  hour_lock = (tpark_mutex)TPARK_MUTEX_INIT;
  hour_cond = (tpark_cond)TPARK_COND_INIT;
  hour_flag = false;
  tpark_explore_thread w = tpark_explore_spawn(hour_waiter, NULL);
  tpark_explore_thread n = tpark_explore_spawn(hour_notifier, NULL);
  tpark_explore_join(w);
  tpark_explore_join(n);
}

START_TEST(hour_long_timeouts_are_choices) {
  timeouts_seen = wakes_seen = 0;
  tpark_explore_result r = explore(TPARK_EXPLORE_BOUNDED, 0, 0, NULL, hour);
  ck_assert_msg(r.outcome == TPARK_EXPLORE_PASSED && r.exhausted, "%s", r.report);
  ck_assert_int_gt(timeouts_seen, 0);
  ck_assert_int_gt(wakes_seen, 0);
  ck_assert_int_eq(timeouts_seen + wakes_seen, (int)r.runs);
}
END_TEST

/* 16 threads add to a counter under a mutex, the last one notifies. */
static tpark_mutex crowd_lock;
static tpark_cond crowd_done;
static int crowd_count;

static void crowd_member(void *arg) {
  (void)arg;
  tpark_mutex_lock(&crowd_lock);
  if (++crowd_count == 15) tpark_cond_notify_all(&crowd_done);
  tpark_mutex_unlock(&crowd_lock);
}

static void crowd(void *arg) {
  (void)arg;
  crowd_lock = (tpark_mutex)TPARK_MUTEX_INIT;
  crowd_done = (tpark_cond)TPARK_COND_INIT;
  crowd_count = 0;
  for (int i = 0; i < 15; i++) tpark_explore_spawn(crowd_member, NULL);
  tpark_mutex_lock(&crowd_lock);
  while (crowd_count < 15) tpark_cond_wait(&crowd_done, &crowd_lock);
  tpark_mutex_unlock(&crowd_lock);
}

START_TEST(sixteen_threads_work) {
  tpark_explore_result r = explore(TPARK_EXPLORE_RANDOM, 5, 100, NULL, crowd);
  ck_assert_msg(r.outcome == TPARK_EXPLORE_PASSED, "%s", r.report);
  ck_assert_uint_gt(r.decisions, 100 * 15);
  r = explore(TPARK_EXPLORE_PCT, 5, 100, NULL, crowd);
  ck_assert_msg(r.outcome == TPARK_EXPLORE_PASSED, "%s", r.report);
}
END_TEST

/* ---- tokens ------------------------------------------------------------------------ */

/* Recorded on Linux x86_64 (gcc): the same schedule on every OS. */
#define LINUX_TOKEN "tx1.b6-1.WujOUxORfy2ixm"

START_TEST(a_token_from_linux_replays_anywhere) {
  tpark_explore_result r = explore(TPARK_EXPLORE_RANDOM, 0, 0, LINUX_TOKEN, explore_bugs[0].buggy);
  ck_assert_msg(r.outcome == TPARK_EXPLORE_DEADLOCK, "%s", r.report);
  ck_assert_str_eq(r.token, LINUX_TOKEN);
}
END_TEST

START_TEST(a_diverging_replay_says_where) {
  tpark_explore_result found = explore(TPARK_EXPLORE_BOUNDED, 0, 0, NULL, explore_bugs[0].buggy);
  ck_assert_int_eq(found.outcome, TPARK_EXPLORE_DEADLOCK);
  /* Another body under the same token. */
  tpark_explore_result r = explore(TPARK_EXPLORE_RANDOM, 0, 0, found.token, explore_bugs[1].buggy);
  ck_assert_int_eq(r.outcome, TPARK_EXPLORE_DIVERGED);
  ck_assert_msg(strstr(r.report, "diverged") != NULL, "%s", r.report);
  /* One step's check changed: the replay stops exactly there. */
  char token[sizeof found.token];
  strcpy(token, found.token);
  char *checks = strrchr(token, '.') + 1;
  size_t at = strlen(checks) / 2;
  checks[at] = checks[at] == 'A' ? 'B' : 'A';
  r = explore(TPARK_EXPLORE_RANDOM, 0, 0, token, explore_bugs[0].buggy);
  ck_assert_int_eq(r.outcome, TPARK_EXPLORE_DIVERGED);
  char want[64];
  snprintf(want, sizeof want, "failed at step %lu: the replay diverged", (unsigned long)(at + 1));
  ck_assert_msg(strstr(r.report, want) != NULL, "no \"%s\" in:\n%s", want, r.report);
}
END_TEST

START_TEST(bad_tokens_are_refused) {
  const char *bad[] = {"",           "x",         "tx1.",       "tx1.z1.AB",      "tx1.r.AB",
                       "tx1.rzz.AB", "tx1.r1.A*", "tx1.b1-0.A", "tx1.b1-1_0-1.A", "tx1.p1-0-3.A",
                       "tx1.r1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tpark_explore_result r = explore(TPARK_EXPLORE_RANDOM, 0, 0, bad[i], explore_bugs[0].buggy);
    ck_assert_msg(r.outcome == TPARK_EXPLORE_EINVAL, "\"%s\": %s", bad[i],
                  tpark_explore_outcome_name(r.outcome));
    ck_assert_msg(strstr(r.report, "not a token") != NULL, "%s", r.report);
  }
  tpark_explore_options o = {.strategy = (tpark_explore_strategy)3, .quiet = true};
  ck_assert_int_eq(tpark_explore_run(&o, explore_bugs[0].buggy, NULL), TPARK_EXPLORE_EINVAL);
  o.strategy = TPARK_EXPLORE_PCT;
  o.depth = 18; /* at most 16 change points */
  ck_assert_int_eq(tpark_explore_run(&o, explore_bugs[0].buggy, NULL), TPARK_EXPLORE_EINVAL);
  ck_assert_int_eq(tpark_explore_run(NULL, explore_bugs[0].buggy, NULL), TPARK_EXPLORE_EINVAL);
  ck_assert_int_eq(tpark_explore_run(&o, NULL, NULL), TPARK_EXPLORE_EINVAL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("explore");
  TCase *tc = new_tcase("explore");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, each_bug_is_found_and_replays, 0, (int)(3 * n_explore_bugs));
  tcase_add_loop_test(tc, correct_versions_pass, 0, (int)n_explore_bugs);
  tcase_add_test(tc, a_deadlock_ends_with_a_report);
  tcase_add_test(tc, a_livelock_ends_at_the_step_limit);
  tcase_add_test(tc, hour_long_timeouts_are_choices);
  tcase_add_test(tc, sixteen_threads_work);
  tcase_add_test(tc, a_token_from_linux_replays_anywhere);
  tcase_add_test(tc, a_diverging_replay_says_where);
  tcase_add_test(tc, bad_tokens_are_refused);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
