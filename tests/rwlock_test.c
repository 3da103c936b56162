/* The reader-writer lock (tpark/rwlock.h) on the mock's fake clock, the mock
 * being the process default (mock_default.h): who may hold it with whom,
 * timeouts that leave no trace in the word (the writer's bound during a
 * stream of readers, readers woken together, downgrade, upgrade, the fair
 * handoff (those in rwlock_fair_test.c). Each scenario moves threads
 * (rwlock_actor.h) one step at a time and checks the word at each step and
 * at the end (zero). The same lock on every backend, under stress:
 * rwlock_stress_test.c. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/child.h"
#include "tests/mock_default.h"
#include "tests/run_suite.h"
#include "tests/rwlock_actor.h"
#include "tpark/rwlock.h"

#define R TPARK__RWLOCK_ONE_READER
#define W TPARK__RWLOCK_WRITER
#define U TPARK__RWLOCK_UPGRADABLE
#define P TPARK__RWLOCK_PARKED
#define WP TPARK__RWLOCK_WRITER_PARKED

static tpark_rwlock lock;

static void reset(void) { lock = (tpark_rwlock)TPARK_RWLOCK_INIT; }

/* Asleep in the mock (not just queued): the scenario's next advance or
 * unlock reaches them. */
static void wait_sleepers(size_t n) { ck_assert(tpark_mock_wait_sleepers(mock, n, 60000)); }

/* ---- alone: the word and the trylocks ---- */

START_TEST(one_word_and_who_may_share_it) {
  reset();
  ck_assert_uint_eq(sizeof lock, sizeof(void *));
  ck_assert_uint_eq(word(&lock), 0);
  /* Readers share. */
  ck_assert(tpark_rwlock_read_trylock(&lock));
  ck_assert(tpark_rwlock_read_trylock(&lock));
  ck_assert_uint_eq(word(&lock), 2 * R);
  ck_assert(!tpark_rwlock_write_trylock(&lock));
  /* An upgradable holder joins readers, excludes another. */
  ck_assert(tpark_rwlock_upgradable_trylock(&lock));
  ck_assert(!tpark_rwlock_upgradable_trylock(&lock));
  ck_assert(!tpark_rwlock_write_trylock(&lock));
  ck_assert_uint_eq(word(&lock), 3 * R | U);
  ck_assert(!tpark_rwlock_try_upgrade(&lock)); /* two readers inside */
  tpark_rwlock_read_unlock(&lock);
  ck_assert(!tpark_rwlock_try_upgrade(&lock));
  tpark_rwlock_read_unlock(&lock);
  ck_assert(tpark_rwlock_read_trylock(&lock)); /* readers still welcome */
  tpark_rwlock_read_unlock(&lock);
  ck_assert(tpark_rwlock_try_upgrade(&lock)); /* alone now */
  ck_assert_uint_eq(word(&lock), W);
  /* A writer excludes everyone. */
  ck_assert(!tpark_rwlock_read_trylock(&lock));
  ck_assert(!tpark_rwlock_upgradable_trylock(&lock));
  ck_assert(!tpark_rwlock_write_trylock(&lock));
  ck_assert(!tpark_rwlock_read_lock_until(&lock, 0)); /* a past deadline: no wait */
  ck_assert(!tpark_rwlock_write_lock_until(&lock, 0));
  ck_assert(!tpark_rwlock_upgradable_lock_until(&lock, 0));
  ck_assert_uint_eq(word(&lock), W);
  tpark_rwlock_downgrade(&lock);
  ck_assert_uint_eq(word(&lock), R);
  tpark_rwlock_read_unlock(&lock);
  ck_assert_uint_eq(word(&lock), 0);
  /* Every way in and out of a free lock, including past deadlines. */
  ck_assert(tpark_rwlock_write_lock_until(&lock, 0));
  tpark_rwlock_write_unlock(&lock);
  ck_assert(tpark_rwlock_read_lock_until(&lock, 0));
  tpark_rwlock_read_unlock(&lock);
  ck_assert(tpark_rwlock_upgradable_lock_until(&lock, 0));
  ck_assert(tpark_rwlock_upgrade_until(&lock, 0));
  tpark_rwlock_write_unlock(&lock);
  tpark_rwlock_upgradable_lock(&lock);
  tpark_rwlock_upgrade(&lock);
  tpark_rwlock_downgrade(&lock);
  tpark_rwlock_read_unlock(&lock);
  tpark_rwlock_upgradable_lock(&lock);
  tpark_rwlock_upgradable_unlock(&lock);
  ck_assert_uint_eq(word(&lock), 0);
}
END_TEST

/* A reader that met a writer in the inline path has added itself to the
 * count and is about to take itself back out: the writer's unlock and
 * downgrade keep its count for it (a plain store would lose it, and its
 * retreat would then wrap the count around). Simulated here by adding its
 * ONE_READER by hand, then retreating as it does (a read unlock). */
START_TEST(unlocks_keep_the_count_of_retreating_readers) {
  reset();
  tpark_rwlock_write_lock(&lock);
  __atomic_fetch_add(&lock.state_, R, __ATOMIC_SEQ_CST);
  tpark_rwlock_write_unlock(&lock);
  ck_assert_uint_eq(word(&lock), R);
  tpark_rwlock_read_unlock(&lock);
  ck_assert_uint_eq(word(&lock), 0);

  tpark_rwlock_write_lock(&lock);
  __atomic_fetch_add(&lock.state_, R, __ATOMIC_SEQ_CST);
  tpark_rwlock_downgrade(&lock);
  ck_assert_uint_eq(word(&lock), 2 * R);
  tpark_rwlock_read_unlock(&lock);
  tpark_rwlock_read_unlock(&lock);
  ck_assert_uint_eq(word(&lock), 0);

  /* The same with a reader queued, woken by the unlock. */
  actor a;
  actor_start(&a, &lock);
  tpark_rwlock_write_lock(&lock);
  actor_post(&a, CALL_READ, TPARK_NEVER);
  wait_queued(&lock, 1);
  __atomic_fetch_add(&lock.state_, R, __ATOMIC_SEQ_CST);
  tpark_rwlock_write_unlock(&lock);
  ck_assert(actor_wait(&a));
  ck_assert_uint_eq(word(&lock), 2 * R);
  tpark_rwlock_read_unlock(&lock);
  actor_do(&a, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&a);
}
END_TEST

static void read_lock_with_the_count_full(void) {
  static tpark_rwlock full = {TPARK__RWLOCK_READERS_FULL};
  tpark_rwlock_read_lock(&full);
}

START_TEST(too_many_readers_end_the_process_with_a_message) {
  static const char *const want[] = {"tpark_rwlock", "too many read locks"};
  expect_abort(read_lock_with_the_count_full, NULL, want, 2);
}
END_TEST

/* ---- timeouts leave no trace ---- */

/* A timed call blocked behind `holder`'s lock: sleeps until its deadline,
 * not a nanosecond less, then returns false with the word as before. */
static void times_out(actor *a, call c, const void *key, uintptr_t waiting, uintptr_t after) {
  tpark_instant deadline = tpark_mock_now(mock) + 10 * MS;
  actor_post(a, c, deadline);
  wait_queued(key, 1);
  wait_sleepers(1);
  ck_assert_uint_eq(word(&lock), waiting);
  tpark_mock_advance(mock, 10 * MS - 1);
  wait_sleepers(1);
  ck_assert(!actor_returned(a));
  tpark_mock_advance(mock, 1);
  ck_assert(!actor_wait(a));
  ck_assert_uint_ge(a->at, deadline);
  ck_assert_uint_eq(word(&lock), after);
  ck_assert_uint_eq(tpark__lot_queued(key), 0);
}

START_TEST(timed_out_calls_leave_no_trace) {
  reset();
  actor a, b;
  actor_start(&a, &lock);
  actor_start(&b, &lock);
  /* Behind a writer: a reader, a writer, an upgradable locker. */
  ck_assert(actor_do(&a, CALL_WRITE, TPARK_NEVER));
  times_out(&b, CALL_READ, &lock, W | P, W);
  times_out(&b, CALL_WRITE, &lock, W | P, W);
  times_out(&b, CALL_UPGRADABLE, &lock, W | P, W);
  actor_do(&a, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  /* A writer behind a reader claims the lock, waits for the reader, and
   * gives the claim back. */
  ck_assert(actor_do(&a, CALL_READ, TPARK_NEVER));
  times_out(&b, CALL_WRITE, drain_key_of(&lock), R | W | WP, R);
  /* An upgradable locker behind another one. */
  actor_do(&a, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(actor_do(&a, CALL_UPGRADABLE, TPARK_NEVER));
  times_out(&b, CALL_UPGRADABLE, &lock, R | U | P, R | U);
  /* An upgrade behind a reader: back to the upgradable lock. */
  ck_assert(actor_do(&b, CALL_READ, TPARK_NEVER));
  times_out(&a, CALL_UPGRADE, drain_key_of(&lock), R | W | WP, 2 * R | U);
  ck_assert_int_eq(a.holds, CALL_UPGRADABLE);
  actor_do(&b, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(actor_do(&a, CALL_UPGRADE, TPARK_NEVER)); /* alone: at once */
  actor_do(&a, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&a);
  actor_stop(&b);
}
END_TEST

/* Two readers queued behind a writer time out one after the other: PARKED
 * stays while one is left, and goes with the last. */
START_TEST(the_last_timed_out_waiter_clears_parked) {
  reset();
  actor r1, r2;
  actor_start(&r1, &lock);
  actor_start(&r2, &lock);
  tpark_rwlock_write_lock(&lock);
  actor_post(&r1, CALL_READ, 5 * MS);
  actor_post(&r2, CALL_READ, 10 * MS);
  wait_queued(&lock, 2);
  wait_sleepers(2);
  tpark_mock_advance(mock, 5 * MS);
  ck_assert(!actor_wait(&r1));
  ck_assert_uint_eq(word(&lock), W | P);
  tpark_mock_advance(mock, 5 * MS);
  ck_assert(!actor_wait(&r2));
  ck_assert_uint_eq(word(&lock), W);
  tpark_rwlock_write_unlock(&lock);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&r1);
  actor_stop(&r2);
}
END_TEST

/* A writer times out while waiting for a reader. Whoever queued behind its
 * claim gets a turn: a reader gets in at once; a writer claims the lock and
 * waits for the reader that was inside. parking_lot 0.12.1 woke only the
 * readers here, and a queued writer slept on with the lock free once the
 * readers had left. (A reader and a writer queued together would be woken
 * together and race for the lock, as after a write unlock.) */
static void claim_times_out_with(call behind, uintptr_t then) {
  reset();
  actor w1, b;
  actor_start(&w1, &lock);
  actor_start(&b, &lock);
  tpark_rwlock_read_lock(&lock);
  actor_post(&w1, CALL_WRITE, tpark_mock_now(mock) + 10 * MS);
  wait_queued(drain_key_of(&lock), 1);
  actor_post(&b, behind, TPARK_NEVER);
  wait_queued(&lock, 1);
  wait_sleepers(2);
  ck_assert_uint_eq(word(&lock), R | W | WP | P);
  tpark_mock_advance(mock, 10 * MS);
  ck_assert(!actor_wait(&w1));
  if (behind == CALL_READ) {
    ck_assert(actor_wait(&b));
  } else {
    wait_queued(drain_key_of(&lock), 1); /* its own claim now */
  }
  ck_assert_uint_eq(tpark__lot_queued(&lock), 0);
  ck_assert_uint_eq(word(&lock), then);
  tpark_rwlock_read_unlock(&lock);
  ck_assert(actor_wait(&b));
  actor_do(&b, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&w1);
  actor_stop(&b);
}

START_TEST(a_timed_out_claim_wakes_those_behind_it) {
  claim_times_out_with(CALL_READ, 2 * R);
  claim_times_out_with(CALL_WRITE, R | W | WP);
}
END_TEST

/* An upgrade that times out lets in the readers queued behind its claim,
 * not the writers (the upgradable lock still keeps them out). */
START_TEST(a_timed_out_upgrade_lets_readers_in) {
  reset();
  actor up, r, w;
  actor_start(&up, &lock);
  actor_start(&r, &lock);
  actor_start(&w, &lock);
  ck_assert(actor_do(&up, CALL_UPGRADABLE, TPARK_NEVER));
  tpark_rwlock_read_lock(&lock);
  actor_post(&up, CALL_UPGRADE, 10 * MS);
  wait_queued(drain_key_of(&lock), 1);
  actor_post(&r, CALL_READ, TPARK_NEVER);
  actor_post(&w, CALL_WRITE, TPARK_NEVER);
  wait_queued(&lock, 2);
  wait_sleepers(3);
  tpark_mock_advance(mock, 10 * MS);
  ck_assert(!actor_wait(&up));
  ck_assert(actor_wait(&r));
  wait_queued(&lock, 1); /* the writer, back to sleep if it was woken */
  ck_assert_uint_eq(word(&lock), 3 * R | U | P);
  actor_do(&r, CALL_UNLOCK, TPARK_NEVER);
  tpark_rwlock_read_unlock(&lock);
  actor_do(&up, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(actor_wait(&w));
  actor_do(&w, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&up);
  actor_stop(&r);
  actor_stop(&w);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rwlock");
  TCase *tc = new_tcase("rwlock");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, one_word_and_who_may_share_it);
  tcase_add_test(tc, unlocks_keep_the_count_of_retreating_readers);
  tcase_add_test(tc, too_many_readers_end_the_process_with_a_message);
  tcase_add_test(tc, timed_out_calls_leave_no_trace);
  tcase_add_test(tc, the_last_timed_out_waiter_clears_parked);
  tcase_add_test(tc, a_timed_out_claim_wakes_those_behind_it);
  tcase_add_test(tc, a_timed_out_upgrade_lets_readers_in);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
