/* Checked mode for locks (tpark/checked.h, TPARK_CHECKED=1): each rule of
 * a lock's use broken once, in a child process, ends it with exactly its
 * line (tests/lock_checks.h: the subject, the announcements). */
#include <check.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked_internal.h"
#include "core/lot_internal.h"
#include "tests/child.h"
#include "tests/lock_checks.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/checked.h"
#include "tpark/cond.h"
#include "tpark/mutex.h"
#include "tpark/once.h"
#include "tpark/rwlock.h"

static tpark_mutex A, B;
static tpark_recursive_mutex R;
static tpark_cond CV;
static tpark_once O;

/* ---- one child per rule ------------------------------------------------------------- */

static void unlock_free_mutex(void) {
  announce_thread("T");
  announce("M", "0x%" PRIxPTR, (uintptr_t)&A);
  tpark_mutex_unlock(&A);
}

START_TEST(unlock_of_a_free_mutex) {
  expect_line(
      unlock_free_mutex,
      "tpark checked: rule \"unlock by the holder\" broken by tpark_mutex_unlock(mutex {M}) "
      "in thread {T}: thread {T} does not hold this mutex (no thread holds it)");
}
END_TEST

static void *hold_a(void *arg) {
  (void)arg;
  tpark_mutex_lock(&A);
  announce_thread("H");
  reach(1);
  stay();
  return NULL;
}

static void unlock_mutex_of_another(void) {
  tpark_checked_label(&A, "a");
  start(hold_a, NULL);
  await(1);
  announce_thread("T");
  tpark_mutex_unlock(&A);
}

START_TEST(unlock_of_a_mutex_another_thread_holds) {
  expect_line(unlock_mutex_of_another,
              "tpark checked: rule \"unlock by the holder\" broken by tpark_mutex_unlock(mutex "
              "\"a\") in thread {T}: thread {T} does not hold this mutex (thread {H} holds it)");
}
END_TEST

static void unlock_fair_free(void) {
  tpark_checked_label(&A, "a");
  announce_thread("T");
  tpark_mutex_unlock_fair(&A);
}

START_TEST(unlock_fair_of_a_free_mutex) {
  expect_line(
      unlock_fair_free,
      "tpark checked: rule \"unlock by the holder\" broken by tpark_mutex_unlock_fair(mutex "
      "\"a\") in thread {T}: thread {T} does not hold this mutex (no thread holds it)");
}
END_TEST

static void relock(void) {
  tpark_checked_label(&A, "a");
  announce_thread("T");
  tpark_mutex_lock(&A);
  tpark_mutex_lock(&A);
}

START_TEST(relock_of_a_held_mutex) {
  expect_line(
      relock,
      "tpark checked: rule \"no re-lock\" broken by tpark_mutex_lock(mutex \"a\") in thread "
      "{T}: thread {T} holds this mutex already (a tpark_mutex is not recursive: this waits "
      "forever)");
}
END_TEST

static void relock_until(void) {
  tpark_checked_label(&A, "a");
  announce_thread("T");
  tpark_mutex_lock(&A);
  tpark_mutex_lock_until(&A, tpark_lot_now());
}

START_TEST(relock_until_of_a_held_mutex) {
  expect_line(relock_until,
              "tpark checked: rule \"no re-lock\" broken by tpark_mutex_lock_until(mutex \"a\") in "
              "thread {T}: thread {T} holds this mutex already (a tpark_mutex is not recursive: "
              "this waits until the deadline)");
}
END_TEST

static void *hold_r_twice(void *arg) {
  (void)arg;
  tpark_recursive_mutex_lock(&R);
  tpark_recursive_mutex_lock(&R);
  announce_thread("H");
  reach(1);
  stay();
  return NULL;
}

static void unlock_recursive_of_another(void) {
  tpark_checked_label(&R, "r");
  start(hold_r_twice, NULL);
  await(1);
  announce_thread("T");
  tpark_recursive_mutex_unlock(&R);
}

START_TEST(unlock_of_a_recursive_mutex_another_thread_holds) {
  expect_line(unlock_recursive_of_another,
              "tpark checked: rule \"unlock by the holder\" broken by "
              "tpark_recursive_mutex_unlock(recursive mutex \"r\") in thread {T}: thread {T} does "
              "not hold this recursive mutex (thread {H} holds it)");
}
END_TEST

static void unlock_recursive_once_too_often(void) {
  tpark_checked_label(&R, "r");
  announce_thread("T");
  tpark_recursive_mutex_lock(&R);
  tpark_recursive_mutex_lock(&R);
  tpark_recursive_mutex_unlock(&R);
  tpark_recursive_mutex_unlock(&R);
  tpark_recursive_mutex_unlock(&R);
}

START_TEST(unlock_of_a_recursive_mutex_more_than_locked) {
  expect_line(unlock_recursive_once_too_often,
              "tpark checked: rule \"unlock by the holder\" broken by "
              "tpark_recursive_mutex_unlock(recursive mutex \"r\") in thread {T}: thread {T} does "
              "not hold this recursive mutex (no thread holds it)");
}
END_TEST

static void cond_wait_without_mutex(void) {
  tpark_checked_label(&CV, "c");
  tpark_checked_label(&A, "a");
  announce_thread("T");
  tpark_cond_wait(&CV, &A);
}

START_TEST(cond_wait_without_its_mutex) {
  expect_line(
      cond_wait_without_mutex,
      "tpark checked: rule \"cond wait with its mutex held\" broken by tpark_cond_wait(cond "
      "\"c\", mutex \"a\") in thread {T}: thread {T} does not hold the mutex it waits with "
      "(no thread holds it)");
}
END_TEST

static void *wait_with_a(void *arg) {
  (void)arg;
  tpark_mutex_lock(&A);
  tpark_cond_wait(&CV, &A);
  stay();
  return NULL;
}

static void cond_with_two_mutexes(void) {
  tpark_checked_label(&CV, "c");
  tpark_checked_label(&A, "a");
  tpark_checked_label(&B, "b");
  start(wait_with_a, NULL);
  while (tpark__lot_queued(&CV) == 0) sched_yield();
  announce_thread("T");
  tpark_mutex_lock(&B);
  tpark_cond_wait(&CV, &B);
}

START_TEST(cond_used_with_two_mutexes) {
  expect_line(cond_with_two_mutexes,
              "tpark checked: rule \"one mutex per cond\" broken by tpark_cond_wait(cond \"c\", "
              "mutex \"b\") in thread {T}: the threads waiting on this cond wait with mutex \"a\"");
}
END_TEST

static void reenter(void *arg) {
  (void)arg;
  tpark_once_call(&O, reenter, NULL);
}

static void once_reentered(void) {
  tpark_checked_label(&O, "o");
  announce_thread("T");
  tpark_once_call(&O, reenter, NULL);
}

START_TEST(once_reentered_from_its_fn) {
  expect_line(
      once_reentered,
      "tpark checked: rule \"once not re-entered\" broken by tpark_once_call(once \"o\") in "
      "thread {T}: thread {T} is running this once's fn, which would wait for itself");
}
END_TEST

static void *exit_holding(void *arg) {
  (void)arg;
  announce_thread("X");
  tpark_mutex_lock(&B);
  tpark_recursive_mutex_lock(&R); /* released: only B is reported */
  tpark_recursive_mutex_unlock(&R);
  return NULL;
}

static void thread_exits_holding(void) {
  tpark_checked_label(&B, "b");
  join(start(exit_holding, NULL));
  stay(); /* the exiting thread ends the process */
}

START_TEST(thread_exits_holding_a_mutex) {
  expect_line(thread_exits_holding,
              "tpark checked: rule \"release before exit\" broken by the exit of thread {X}: it "
              "still holds mutex \"b\"");
}
END_TEST

/* ---- the rwlock ------------------------------------------------------------------------ */

static tpark_rwlock RW;

static void rw_unlock_free(void) {
  tpark_checked_label(&RW, "rw");
  announce_thread("T");
  tpark_rwlock_read_unlock(&RW);
}

START_TEST(read_unlock_of_a_free_rwlock) {
  expect_line(
      rw_unlock_free,
      "tpark checked: rule \"unlock by the holder\" broken by tpark_rwlock_read_unlock(rwlock "
      "\"rw\") in thread {T}: thread {T} does not hold this rwlock (no thread holds it)");
}
END_TEST

static void *hold_rw_for_write(void *arg) {
  (void)arg;
  tpark_rwlock_write_lock(&RW);
  announce_thread("H");
  reach(1);
  stay();
  return NULL;
}

static void rw_write_unlock_of_another(void) {
  tpark_checked_label(&RW, "rw");
  start(hold_rw_for_write, NULL);
  await(1);
  announce_thread("T");
  tpark_rwlock_write_unlock(&RW);
}

START_TEST(write_unlock_of_an_rwlock_another_thread_holds) {
  expect_line(
      rw_write_unlock_of_another,
      "tpark checked: rule \"unlock by the holder\" broken by tpark_rwlock_write_unlock(rwlock "
      "\"rw\") in thread {T}: thread {T} does not hold this rwlock (thread {H} holds it)");
}
END_TEST

static void write_unlock_of_read(void) {
  tpark_checked_label(&RW, "rw");
  announce_thread("T");
  tpark_rwlock_read_lock(&RW);
  tpark_rwlock_write_unlock(&RW);
}

START_TEST(write_unlock_of_a_read_lock) {
  expect_line(write_unlock_of_read,
              "tpark checked: rule \"the mode held\" broken by tpark_rwlock_write_unlock(rwlock "
              "\"rw\") in thread {T}: thread {T} holds this rwlock for read, not for write");
}
END_TEST

static void read_unlock_of_write(void) {
  tpark_checked_label(&RW, "rw");
  announce_thread("T");
  tpark_rwlock_write_lock(&RW);
  tpark_rwlock_read_unlock(&RW);
}

START_TEST(read_unlock_of_a_write_lock) {
  expect_line(read_unlock_of_write,
              "tpark checked: rule \"the mode held\" broken by tpark_rwlock_read_unlock(rwlock "
              "\"rw\") in thread {T}: thread {T} holds this rwlock for write, not for read");
}
END_TEST

static void upgrade_of_read(void) {
  tpark_checked_label(&RW, "rw");
  announce_thread("T");
  tpark_rwlock_read_lock(&RW);
  tpark_rwlock_upgrade(&RW);
}

START_TEST(upgrade_of_a_read_lock) {
  expect_line(
      upgrade_of_read,
      "tpark checked: rule \"the mode held\" broken by tpark_rwlock_upgrade(rwlock \"rw\") "
      "in thread {T}: thread {T} holds this rwlock for read, not as an upgradable read lock");
}
END_TEST

static void downgrade_of_upgradable(void) {
  tpark_checked_label(&RW, "rw");
  announce_thread("T");
  tpark_rwlock_upgradable_lock(&RW);
  tpark_rwlock_downgrade(&RW);
}

START_TEST(downgrade_of_an_upgradable_lock) {
  expect_line(
      downgrade_of_upgradable,
      "tpark checked: rule \"the mode held\" broken by tpark_rwlock_downgrade(rwlock \"rw\") "
      "in thread {T}: thread {T} holds this rwlock as an upgradable read lock, not for "
      "write");
}
END_TEST

static void read_relock(void) {
  tpark_checked_label(&RW, "rw");
  announce_thread("T");
  tpark_rwlock_read_lock(&RW);
  tpark_rwlock_read_lock(&RW);
}

START_TEST(read_relock_of_an_rwlock) {
  expect_line(
      read_relock,
      "tpark checked: rule \"no re-lock\" broken by tpark_rwlock_read_lock(rwlock \"rw\") in "
      "thread {T}: thread {T} holds this rwlock already, for read (a tpark_rwlock is not "
      "recursive: with a writer waiting in between, this waits forever)");
}
END_TEST

static void *exit_reading(void *arg) {
  (void)arg;
  announce_thread("X");
  tpark_rwlock_read_lock(&RW);
  return NULL;
}

static void thread_exits_reading(void) {
  tpark_checked_label(&RW, "rw");
  join(start(exit_reading, NULL));
  stay();
}

START_TEST(thread_exits_holding_a_read_lock) {
  expect_line(thread_exits_reading,
              "tpark checked: rule \"release before exit\" broken by the exit of thread {X}: it "
              "still holds rwlock \"rw\"");
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2 || subject_open(argv[1]) == NULL) {
    fprintf(stderr, "usage: lock_misuse_test <subject>\n");
    return 2;
  }
  Suite *s = suite_create("lock_misuse");
  TCase *rules = new_tcase("rules");
  tcase_add_test(rules, unlock_of_a_free_mutex);
  tcase_add_test(rules, unlock_of_a_mutex_another_thread_holds);
  tcase_add_test(rules, unlock_fair_of_a_free_mutex);
  tcase_add_test(rules, relock_of_a_held_mutex);
  tcase_add_test(rules, relock_until_of_a_held_mutex);
  tcase_add_test(rules, unlock_of_a_recursive_mutex_another_thread_holds);
  tcase_add_test(rules, unlock_of_a_recursive_mutex_more_than_locked);
  tcase_add_test(rules, cond_wait_without_its_mutex);
  tcase_add_test(rules, cond_used_with_two_mutexes);
  tcase_add_test(rules, once_reentered_from_its_fn);
  tcase_add_test(rules, thread_exits_holding_a_mutex);
  tcase_add_test(rules, read_unlock_of_a_free_rwlock);
  tcase_add_test(rules, write_unlock_of_an_rwlock_another_thread_holds);
  tcase_add_test(rules, write_unlock_of_a_read_lock);
  tcase_add_test(rules, read_unlock_of_a_write_lock);
  tcase_add_test(rules, upgrade_of_a_read_lock);
  tcase_add_test(rules, downgrade_of_an_upgradable_lock);
  tcase_add_test(rules, read_relock_of_an_rwlock);
  tcase_add_test(rules, thread_exits_holding_a_read_lock);
  suite_add_tcase(s, rules);
  return run_suite(s);
}
