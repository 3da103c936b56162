/* tpark's own locks under the schedule explorer (tpark/explore.h): small
 * bodies of the mutex, condition variable, once, rwlock
 * (explore_locks_rwlock.c), recursive mutex and wait on address, each run
 * under every schedule with at most 2 preemptions (BOUNDED, which must
 * finish) and 300 runs of RANDOM and of PCT. The invariants are checked
 * inside the critical sections, with a step() there where the explorer may
 * run another thread: nobody else inside, no torn writes, every item taken
 * once, no timeout before its deadline, no wake-up without a notify.
 *
 * The bodies' threads include the body's own (it does a third thread's part
 * instead of spawning it and joining it): fewer steps, so fewer schedules
 * for the same interleavings of the locks. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/lot_internal.h"
#include "tests/explore_locks.h"
#include "tests/run_suite.h"
#include "tpark/cond.h"
#include "tpark/lot.h"
#include "tpark/mutex.h"
#include "tpark/once.h"
#include "tpark/wait.h"

/* ---- running a body under the three strategies ---------------------------------- */

#define RUNS 300          /* of RANDOM and of PCT */
#define BOUNDED_CAP 20000 /* BOUNDED must finish below this many runs */

static void explore_one(const char *name, void (*body)(void *), tpark_explore_strategy strategy) {
  tpark_explore_result r;
  tpark_explore_options o = {.strategy = strategy, .seed = 1, .quiet = true, .result = &r};
  o.runs = strategy == TPARK_EXPLORE_BOUNDED ? BOUNDED_CAP : RUNS;
  o.depth = strategy == TPARK_EXPLORE_BOUNDED ? 2 : 0;
  tpark_instant start = tpark_lot_now();
  int rc = tpark_explore_run(&o, body, NULL);
  double secs = (double)(tpark_lot_now() - start) / 1e9;
  const char *how = tpark_explore_strategy_name(strategy);
  ck_assert_msg(rc == TPARK_EXPLORE_PASSED,
                "%s, %s: %s in run %" PRIu64 ":\n%sTPARK_EXPLORE_REPLAY=%s", name, how,
                tpark_explore_outcome_name(r.outcome), r.runs, r.report, r.token);
  if (strategy == TPARK_EXPLORE_BOUNDED) {
    ck_assert_msg(r.exhausted, "%s, bounded: schedules left after %" PRIu64 " runs", name, r.runs);
  }
  printf("%-22s %-8s %6" PRIu64 " runs %8" PRIu64 " decisions %7.3f s\n", name, how, r.runs,
         r.decisions, secs);
  fflush(stdout);
}

void explore_all(const char *name, void (*body)(void *)) {
  explore_one(name, body, TPARK_EXPLORE_BOUNDED);
  explore_one(name, body, TPARK_EXPLORE_RANDOM);
  explore_one(name, body, TPARK_EXPLORE_PCT);
}

uint64_t seen[4];

static tpark_cond no_waiters;

void step(void) { tpark_cond_notify_one(&no_waiters); }

void begin_run(void) {
  no_waiters = (tpark_cond)TPARK_COND_INIT;
  tpark_explore_label(&no_waiters, "step");
}

void check_not_early(tpark_instant deadline, const char *what) {
  tpark_explore_check(tpark_lot_now() >= deadline, what);
}

/* ---- mutex ------------------------------------------------------------------------ */

static tpark_mutex mu;
static int mu_inside, mu_count, mu_released;

/* Right after acquiring mu, and right before releasing it. */
static void mu_enter(void) { tpark_explore_check(++mu_inside == 1, "one thread inside the mutex"); }

static void mu_exit(void) {
  tpark_explore_check(mu_inside == 1, "still alone inside the mutex");
  mu_inside--;
}

/* The critical section: alone from entry to exit, across a step. */
static void mu_critical(void) {
  mu_enter();
  step();
  mu_count++;
  mu_exit();
}

static void mu_begin(void) {
  begin_run();
  mu = (tpark_mutex)TPARK_MUTEX_INIT;
  mu_inside = mu_count = mu_released = 0;
  tpark_explore_label(&mu, "mutex");
}

static void mu_twice(void *arg) {
  (void)arg;
  for (int i = 0; i < 2; i++) {
    tpark_mutex_lock(&mu);
    mu_critical();
    tpark_mutex_unlock(&mu);
  }
}

/* 3 threads x 2 lock/unlock of a counter (the body's thread is the third:
 * fewer steps than a third spawn and join, so fewer schedules). */
static void mutex_counter(void *arg) {
  (void)arg;
  mu_begin();
  tpark_explore_thread a = tpark_explore_spawn(mu_twice, NULL);
  tpark_explore_thread b = tpark_explore_spawn(mu_twice, NULL);
  mu_twice(NULL);
  tpark_explore_join(a);
  tpark_explore_join(b);
  tpark_explore_check(mu_count == 6, "every increment counted");
}

START_TEST(mutex_counts_exactly) { explore_all("mutex counter", mutex_counter); }
END_TEST

static void mu_once(void *arg) {
  (void)arg;
  tpark_mutex_lock(&mu);
  mu_critical();
  tpark_mutex_unlock(&mu);
}

/* lock_until with an hour's deadline, racing the holder's unlock. */
static void mu_timed(void *arg) {
  (void)arg;
  tpark_instant deadline = tpark_lot_deadline(HOUR);
  if (tpark_mutex_lock_until(&mu, deadline)) {
    seen[0]++;
    mu_critical();
    tpark_mutex_unlock(&mu);
  } else {
    seen[1]++;
    check_not_early(deadline, "tpark_mutex_lock_until failed only at its deadline");
  }
}

/* lock_until with a deadline already past: takes a free mutex, gives up on
 * a held one at once (no point in between: it is still held, though its
 * holder may not be inside mu_critical yet, preempted right after taking
 * it). */
static void mu_past(void *arg) {
  (void)arg;
  if (tpark_mutex_lock_until(&mu, tpark_lot_now())) {
    seen[2]++;
    mu_critical();
    tpark_mutex_unlock(&mu);
  } else {
    seen[3]++;
    /* 1: the LOCKED bit of the state (sync/mutex_internal.h). */
    tpark_explore_check((__atomic_load_n(&mu.state_, __ATOMIC_RELAXED) & 1u) != 0,
                        "a past deadline fails only on a held mutex");
  }
}

static void mutex_timed(void *arg) {
  (void)arg;
  mu_begin();
  tpark_explore_thread b = tpark_explore_spawn(mu_timed, NULL);
  tpark_explore_thread c = tpark_explore_spawn(mu_past, NULL);
  mu_once(NULL);
  tpark_explore_join(b);
  tpark_explore_join(c);
  tpark_explore_check(mu_count >= 1 && mu_count <= 3 && mu_inside == 0, "the count adds up");
}

START_TEST(mutex_lock_until_is_never_early) {
  memset(seen, 0, sizeof seen);
  explore_all("mutex lock_until", mutex_timed);
  for (int i = 0; i < 4; i++) ck_assert_msg(seen[i] > 0, "outcome %d never happened", i);
}
END_TEST

/* unlock_fair hands the mutex to a queued waiter: the unlocker cannot take
 * it back (trylock) until that waiter has released it. */
static void mu_fair_unlocker(void *arg) {
  (void)arg;
  for (int i = 0; i < 2; i++) {
    tpark_mutex_lock(&mu);
    mu_critical();
    bool waiter = tpark__lot_queued(&mu) != 0;
    int released = mu_released;
    tpark_mutex_unlock_fair(&mu);
    if (tpark_mutex_trylock(&mu)) {
      seen[waiter ? 0 : 1]++;
      tpark_explore_check(!waiter || mu_released > released,
                          "unlock_fair handed the mutex to its waiter");
      mu_critical();
      tpark_mutex_unlock_fair(&mu);
    } else {
      seen[waiter ? 2 : 3]++;
    }
  }
}

static void mu_fair_locker(void *arg) {
  (void)arg;
  tpark_mutex_lock(&mu);
  mu_critical();
  mu_released++; /* before the unlock: no point in between */
  tpark_mutex_unlock_fair(&mu);
}

static void mutex_fair(void *arg) {
  (void)arg;
  mu_begin();
  tpark_explore_thread a = tpark_explore_spawn(mu_fair_unlocker, NULL);
  tpark_explore_thread b = tpark_explore_spawn(mu_fair_locker, NULL);
  tpark_explore_join(a);
  tpark_explore_join(b);
  tpark_explore_check(mu_count >= 3 && mu_count <= 5, "the count adds up");
}

START_TEST(mutex_unlock_fair_hands_over) {
  memset(seen, 0, sizeof seen);
  explore_all("mutex unlock_fair", mutex_fair);
  ck_assert_msg(seen[2] > 0, "no handoff to a queued waiter was explored");
  ck_assert_msg(seen[1] > 0, "no retake of a free mutex was explored");
}
END_TEST

/* ---- condition variable ------------------------------------------------------------- */

static tpark_cond cv;
static int queue[4], queued, taken[3];
/* notifies: made (counted before each, under mu); notified: threads a
 * notify says it woke; woken: waits that returned true. */
static int notifies, notified, woken;

static void cv_begin(void) {
  mu_begin();
  cv = (tpark_cond)TPARK_COND_INIT;
  tpark_explore_label(&cv, "cond");
  queued = notifies = notified = woken = 0;
  memset(taken, 0, sizeof taken);
}

/* Under mu: waits on cv until deadline; true when notified. A notified wait
 * saw a notify made after it began; a timed-out one saw its deadline. */
static bool cv_wait(tpark_instant deadline) {
  int before = notifies;
  mu_exit();
  bool ok = tpark_cond_wait_until(&cv, &mu, deadline);
  mu_enter();
  if (ok) {
    woken++;
    tpark_explore_check(notifies > before, "no wake-up without a notify");
  } else {
    seen[2]++;
    check_not_early(deadline, "tpark_cond_wait_until timed out only at its deadline");
  }
  return ok;
}

/* At the end of a run: each thread a notify says it woke returned true from
 * its wait, and no other wait did. */
static void cv_end(void) {
  tpark_explore_check(woken == notified, "the notifies woke as many waits as they say");
}

/* Under mu. */
static void cv_take(void) {
  int item = queue[--queued];
  tpark_explore_check(item >= 1 && item <= 2 && taken[item]++ == 0, "every item taken once");
}

static void cv_consumer(void *arg) {
  (void)arg;
  tpark_mutex_lock(&mu);
  mu_enter();
  while (queued == 0) cv_wait(TPARK_NEVER);
  cv_take();
  mu_exit();
  tpark_mutex_unlock(&mu);
}

/* Two items, one notify_one each, under the lock. */
static void cv_producer_one(void *arg) {
  (void)arg;
  for (int item = 1; item <= 2; item++) {
    tpark_mutex_lock(&mu);
    mu_enter();
    queue[queued++] = item;
    notifies++;
    notified += tpark_cond_notify_one(&cv);
    mu_exit();
    tpark_mutex_unlock(&mu);
  }
}

/* Two items, then one notify_all, outside the lock. */
static void cv_producer_all(void *arg) {
  (void)arg;
  tpark_mutex_lock(&mu);
  mu_enter();
  queue[queued++] = 1;
  step();
  queue[queued++] = 2;
  notifies++;
  mu_exit();
  tpark_mutex_unlock(&mu);
  notified += (int)tpark_cond_notify_all(&cv);
}

static void cond_two_consumers(void (*producer)(void *)) {
  cv_begin();
  tpark_explore_thread c1 = tpark_explore_spawn(cv_consumer, NULL);
  tpark_explore_thread c2 = tpark_explore_spawn(cv_consumer, NULL);
  producer(NULL);
  tpark_explore_join(c1);
  tpark_explore_join(c2);
  tpark_explore_check(taken[1] == 1 && taken[2] == 1 && queued == 0, "both items taken");
  cv_end();
}

static void cond_notify_one(void *arg) {
  (void)arg;
  cond_two_consumers(cv_producer_one);
}

static void cond_notify_all(void *arg) {
  (void)arg;
  cond_two_consumers(cv_producer_all);
}

START_TEST(cond_notify_one_wakes_a_consumer) { explore_all("cond notify_one", cond_notify_one); }
END_TEST

START_TEST(cond_notify_all_wakes_every_consumer) {
  explore_all("cond notify_all", cond_notify_all);
}
END_TEST

/* One cond for both directions of a one-slot queue: each side notifies the
 * cond it also waits on (the notifier-was-a-waiter requeue of sync/cond.c:
 * a waiter moved onto the mutex's queue). arg non-NULL: each side's waits
 * have an hour's deadline until one times out (also possible after a
 * requeue), then none. (A retry with a new deadline each time once made PCT
 * move the clock for ever: its priority stayed above a thread dropped at a
 * change point; fixed in explore/schedule.c.) */
static void pp_wait(tpark_instant *deadline) {
  if (!cv_wait(*deadline)) *deadline = TPARK_NEVER;
}

static void pp_producer(void *arg) {
  tpark_instant deadline = arg != NULL ? tpark_lot_deadline(HOUR) : TPARK_NEVER;
  for (int item = 1; item <= 2; item++) {
    tpark_mutex_lock(&mu);
    mu_enter();
    while (queued == 1) pp_wait(&deadline);
    queue[queued++] = item;
    notifies++;
    notified += tpark_cond_notify_one(&cv);
    step(); /* the mutex still held: a waiter requeued onto it may time out there */
    mu_exit();
    tpark_mutex_unlock(&mu);
  }
}

static void pp_consumer(void *arg) {
  tpark_instant deadline = arg != NULL ? tpark_lot_deadline(HOUR) : TPARK_NEVER;
  for (int i = 0; i < 2; i++) {
    tpark_mutex_lock(&mu);
    mu_enter();
    while (queued == 0) pp_wait(&deadline);
    cv_take();
    notifies++;
    notified += tpark_cond_notify_one(&cv);
    step(); /* the mutex still held: a waiter requeued onto it may time out there */
    mu_exit();
    tpark_mutex_unlock(&mu);
  }
}

static void cond_ping_pong(void *arg) {
  cv_begin();
  tpark_explore_thread c = tpark_explore_spawn(pp_consumer, arg);
  pp_producer(arg);
  tpark_explore_join(c);
  tpark_explore_check(taken[1] == 1 && taken[2] == 1, "both items taken");
  cv_end();
}

static void cond_ping_pong_timed(void *arg) {
  (void)arg;
  cond_ping_pong(&cv);
}

START_TEST(cond_ping_pong_on_one_cond) {
  explore_all("cond ping-pong", cond_ping_pong);
  memset(seen, 0, sizeof seen);
  explore_all("cond ping-pong timed", cond_ping_pong_timed);
  ck_assert_msg(seen[2] > 0, "no wait timed out");
}
END_TEST

/* Consumers that give up at their deadline (an hour, two hours) and one
 * item: taken once, or left over. */
static void cv_timed_consumer(void *arg) {
  tpark_instant deadline = tpark_lot_deadline((uint64_t)(uintptr_t)arg * HOUR);
  tpark_mutex_lock(&mu);
  mu_enter();
  bool ok = true;
  while (queued == 0 && ok) ok = cv_wait(deadline);
  if (queued > 0) {
    seen[0]++;
    cv_take();
  } else {
    seen[1]++;
  }
  mu_exit();
  tpark_mutex_unlock(&mu);
}

static void cond_timed(void *arg) {
  (void)arg;
  cv_begin();
  tpark_explore_thread c1 = tpark_explore_spawn(cv_timed_consumer, (void *)(uintptr_t)1);
  tpark_explore_thread c2 = tpark_explore_spawn(cv_timed_consumer, (void *)(uintptr_t)2);
  tpark_mutex_lock(&mu);
  mu_enter();
  queue[queued++] = 1;
  notifies++;
  notified += tpark_cond_notify_one(&cv);
  mu_exit();
  tpark_mutex_unlock(&mu);
  tpark_explore_join(c1);
  tpark_explore_join(c2);
  tpark_explore_check(taken[1] + queued == 1, "the item taken once or left");
  cv_end();
}

START_TEST(cond_wait_until_is_never_early) {
  memset(seen, 0, sizeof seen);
  explore_all("cond wait_until", cond_timed);
  ck_assert_msg(seen[0] > 0 && seen[1] > 0, "taken %" PRIu64 ", gave up %" PRIu64, seen[0],
                seen[1]);
}
END_TEST

/* ---- once --------------------------------------------------------------------------- */

static tpark_once once;
static int once_runs, once_inside, once_value, once_false, once_failed_by;

static void once_begin(void) {
  begin_run();
  once = (tpark_once)TPARK_ONCE_INIT;
  tpark_explore_label(&once, "once");
  once_runs = once_inside = once_value = once_false = once_failed_by = 0;
}

/* fn: alone, and a step before its result, where the others arrive. */
static bool once_fn_body(void) {
  tpark_explore_check(++once_inside == 1, "one fn runs at a time");
  once_runs++;
  step();
  once_inside--;
  return true;
}

static void once_fn(void *arg) {
  (void)arg;
  once_fn_body();
  once_value = 42;
}

static void once_caller(void *arg) {
  (void)arg;
  tpark_once_call(&once, once_fn, NULL);
  tpark_explore_check(once_value == 42 && once_runs == 1, "everyone sees fn's one result");
}

static void once_three(void *arg) {
  (void)arg;
  once_begin();
  tpark_explore_thread a = tpark_explore_spawn(once_caller, NULL);
  tpark_explore_thread b = tpark_explore_spawn(once_caller, NULL);
  once_caller(NULL);
  tpark_explore_join(a);
  tpark_explore_join(b);
  tpark_explore_check(once_runs == 1, "fn ran exactly once");
}

START_TEST(once_runs_fn_exactly_once) { explore_all("once call", once_three); }
END_TEST

/* The first run fails; the second succeeds. arg: the caller's number. */
static bool once_try_fn(void *arg) {
  once_fn_body();
  if (once_runs == 1) {
    once_failed_by = (int)(uintptr_t)arg;
    return false;
  }
  once_value = 42;
  return true;
}

static void once_try_caller(void *arg) {
  if (tpark_once_try_call(&once, once_try_fn, arg)) {
    tpark_explore_check(once_value == 42, "a true try_call sees the successful run");
  } else {
    once_false++;
    tpark_explore_check(once_failed_by == (int)(uintptr_t)arg, "only the failed run returns false");
  }
}

static void once_try(void *arg) {
  (void)arg;
  once_begin();
  tpark_explore_thread a = tpark_explore_spawn(once_try_caller, (void *)(uintptr_t)1);
  tpark_explore_thread b = tpark_explore_spawn(once_try_caller, (void *)(uintptr_t)2);
  once_try_caller((void *)(uintptr_t)3);
  tpark_explore_join(a);
  tpark_explore_join(b);
  tpark_explore_check(once_runs == 2 && once_false == 1, "one failed run, then one success");
}

START_TEST(once_try_call_passes_a_failed_run_on) { explore_all("once try_call", once_try); }
END_TEST

/* ---- recursive mutex and wait on address ---------------------------------------------- */

static tpark_recursive_mutex rm;

/* Locks twice (the second with a deadline: a re-entry never waits), and is
 * alone inside until the last unlock. */
static void rm_twice(void *arg) {
  (void)arg;
  tpark_recursive_mutex_lock(&rm);
  tpark_explore_check(++mu_inside == 1, "one thread inside the recursive mutex");
  tpark_explore_check(tpark_recursive_mutex_lock_until(&rm, tpark_lot_now()), "a re-entry");
  step();
  tpark_recursive_mutex_unlock(&rm);
  tpark_explore_check(mu_inside == 1, "still held after the inner unlock");
  mu_count++;
  mu_inside--;
  tpark_recursive_mutex_unlock(&rm);
}

static void recursive_mutex(void *arg) {
  (void)arg;
  mu_begin();
  rm = (tpark_recursive_mutex)TPARK_RECURSIVE_MUTEX_INIT;
  tpark_explore_label(&rm, "recursive mutex");
  tpark_explore_thread a = tpark_explore_spawn(rm_twice, NULL);
  tpark_explore_thread b = tpark_explore_spawn(rm_twice, NULL);
  tpark_explore_join(a);
  tpark_explore_join(b);
  tpark_explore_check(mu_count == 2, "both went in");
}

START_TEST(recursive_mutex_excludes_others) { explore_all("recursive mutex", recursive_mutex); }
END_TEST

static uint32_t flag;

/* Waits for the flag, for ever (arg NULL: a lost wake-up is a deadlock) or
 * until an hour. */
static void address_waiter(void *arg) {
  tpark_instant deadline = arg != NULL ? tpark_lot_deadline(HOUR) : TPARK_NEVER;
  uint32_t zero = 0;
  while (__atomic_load_n(&flag, __ATOMIC_ACQUIRE) == 0) {
    if (!tpark_wait_on_address(&flag, &zero, sizeof flag, deadline)) {
      seen[0]++;
      check_not_early(deadline, "tpark_wait_on_address timed out only at its deadline");
      return;
    }
  }
  seen[1]++;
}

/* arg non-NULL: wakes with two tpark_wake_by_address_single, else with one
 * tpark_wake_by_address_all. */
static void wait_on_address(void *arg) {
  begin_run();
  flag = 0;
  tpark_explore_label(&flag, "flag");
  tpark_explore_thread a = tpark_explore_spawn(address_waiter, NULL);
  tpark_explore_thread b = tpark_explore_spawn(address_waiter, &flag);
  __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
  if (arg != NULL) {
    tpark_wake_by_address_single(&flag);
    tpark_wake_by_address_single(&flag);
  } else {
    tpark_wake_by_address_all(&flag);
  }
  tpark_explore_join(a);
  tpark_explore_join(b);
}

static void wait_on_address_singles(void *arg) {
  (void)arg;
  wait_on_address(&flag);
}

START_TEST(wait_on_address_wakes_every_waiter) {
  memset(seen, 0, sizeof seen);
  explore_all("wait on address all", wait_on_address);
  explore_all("wait on address single", wait_on_address_singles);
  ck_assert_msg(seen[0] > 0 && seen[1] > 0, "timed out %" PRIu64 ", woken %" PRIu64, seen[0],
                seen[1]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("explore_locks");
  TCase *tc = new_tcase("explore_locks");
  tcase_add_test(tc, mutex_counts_exactly);
  tcase_add_test(tc, mutex_lock_until_is_never_early);
  tcase_add_test(tc, mutex_unlock_fair_hands_over);
  tcase_add_test(tc, cond_notify_one_wakes_a_consumer);
  tcase_add_test(tc, cond_notify_all_wakes_every_consumer);
  tcase_add_test(tc, cond_ping_pong_on_one_cond);
  tcase_add_test(tc, cond_wait_until_is_never_early);
  tcase_add_test(tc, once_runs_fn_exactly_once);
  tcase_add_test(tc, once_try_call_passes_a_failed_run_on);
  add_rwlock_tests(tc);
  tcase_add_test(tc, recursive_mutex_excludes_others);
  tcase_add_test(tc, wait_on_address_wakes_every_waiter);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
