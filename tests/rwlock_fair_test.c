/* The reader-writer lock's order (tpark/rwlock.h) on the mock's fake clock,
 * the mock being the process default: a writer's bound during a stream of
 * readers, readers woken together, downgrade, upgradable and upgrade, and
 * the fair timer's handoff. Threads are moved one step at a time
 * (rwlock_actor.h); the word is checked along the way and is zero at the
 * end of each scenario. Timeouts: rwlock_test.c. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>

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

/* ---- a writer during a stream of readers ---- */

#define HOLD MS         /* each thread holds the lock this long (fake time) */
#define STEP (HOLD / 2) /* a new reader arrives every STEP */
#define N_READERS 10
#define WRITER_AT 4 /* the step at which the writer arrives */

static actor readers[N_READERS], writer;
static tpark_instant reader_in[N_READERS], writer_in; /* when each got the lock */

/* Waits until each actor whose call has not returned is asleep in the lot,
 * so that the next step finds every thread where the last one put it; then
 * notes when each new holder got the lock. */
static void settle(void) {
  for (int i = 0;; i++) {
    size_t waiting = !actor_returned(&writer);
    for (int j = 0; j < N_READERS; j++) waiting += !actor_returned(&readers[j]);
    size_t queued = tpark__lot_queued(&lock) + tpark__lot_queued(drain_key_of(&lock));
    if (queued == waiting && tpark_mock_sleepers(mock) == waiting) break;
    ck_assert_msg(i < 700000, "the threads did not settle");
    test_sleep_ms(i < 600000 ? 0 : 1);
  }
  for (int j = 0; j < N_READERS; j++) {
    if (actor_returned(&readers[j]) && readers[j].holds == CALL_READ &&
        reader_in[j] == TPARK_NEVER) {
      reader_in[j] = readers[j].at;
    }
  }
  if (actor_returned(&writer) && writer.holds == CALL_WRITE && writer_in == TPARK_NEVER) {
    writer_in = writer.at;
  }
}

/* Unlocks for a if it has held the lock (since *in) for HOLD; true if so. */
static bool release_if_due(actor *a, tpark_instant in) {
  if (!actor_returned(a) || a->holds == CALL_NONE || tpark_lot_now() - in < HOLD) return false;
  actor_do(a, CALL_UNLOCK, TPARK_NEVER);
  return true;
}

/* The bound the header states: readers arrive every HOLD / 2 and each holds
 * for HOLD, so there are always readers inside. The writer arrives at step
 * WRITER_AT, just after that step's reader got in; it must be in within
 * HOLD (when the readers it found inside have left), and no reader arriving
 * after it may enter before it leaves. When it leaves, the readers queued
 * behind it are all woken by that one unlock, and enter at once. */
START_TEST(a_writer_gets_in_within_one_hold_during_a_stream_of_readers) {
  reset();
  for (int j = 0; j < N_READERS; j++) {
    actor_start(&readers[j], &lock);
    reader_in[j] = TPARK_NEVER;
  }
  actor_start(&writer, &lock);
  writer_in = TPARK_NEVER;
  tpark_instant writer_out = TPARK_NEVER, writer_arrived = TPARK_NEVER;
  size_t queued_behind = 0;
  for (int step = 0; step < 2 * N_READERS; step++) {
    if (step > 0) tpark_mock_advance(mock, STEP);
    for (int j = 0; j < N_READERS; j++) release_if_due(&readers[j], reader_in[j]);
    settle();
    if (writer_out == TPARK_NEVER) queued_behind = tpark__lot_queued(&lock);
    if (release_if_due(&writer, writer_in)) {
      writer_out = tpark_lot_now();
      /* One unlock took every reader queued behind the writer off the
       * queue: none is left for a later wake-up. */
      ck_assert_uint_ge(queued_behind, 2);
      ck_assert_uint_eq(tpark__lot_queued(&lock), 0);
      settle();
    }
    if (step < N_READERS) {
      actor_post(&readers[step], CALL_READ, TPARK_NEVER);
      settle();
    }
    if (step == WRITER_AT) {
      writer_arrived = tpark_lot_now(); /* the clock stands still until the next step */
      actor_post(&writer, CALL_WRITE, TPARK_NEVER);
      settle();
    }
  }
  ck_assert_uint_ne(writer_out, TPARK_NEVER);
  ck_assert_uint_eq(writer_arrived, WRITER_AT * STEP);
  ck_assert_msg(writer_in - writer_arrived <= HOLD, "the writer waited %llu ns (bound %llu)",
                (unsigned long long)(writer_in - writer_arrived), (unsigned long long)HOLD);
  for (int j = 0; j < N_READERS; j++) {
    ck_assert_int_eq(readers[j].holds, CALL_NONE);
    if (j <= WRITER_AT) {
      ck_assert_uint_eq(reader_in[j], j * STEP); /* in on arrival */
    } else {
      ck_assert_msg(reader_in[j] >= writer_out, "reader %d got in at %llu, before the writer left",
                    j, (unsigned long long)reader_in[j]);
    }
  }
  ck_assert_uint_eq(word(&lock), 0);
  for (int j = 0; j < N_READERS; j++) actor_stop(&readers[j]);
  actor_stop(&writer);
}
END_TEST

/* ---- downgrade, upgradable, upgrade ---- */

/* Downgrading wakes the readers queued at the front, not the writer behind
 * them (it claims the lock and waits for all readers), nor the reader behind
 * that writer. */
START_TEST(downgrade_lets_the_waiting_readers_in_and_no_writer) {
  reset();
  actor r1, r2, w, r3;
  actor_start(&r1, &lock);
  actor_start(&r2, &lock);
  actor_start(&w, &lock);
  actor_start(&r3, &lock);
  tpark_rwlock_write_lock(&lock);
  actor_post(&r1, CALL_READ, TPARK_NEVER);
  wait_queued(&lock, 1);
  actor_post(&r2, CALL_READ, TPARK_NEVER);
  wait_queued(&lock, 2);
  actor_post(&w, CALL_WRITE, TPARK_NEVER);
  wait_queued(&lock, 3);
  actor_post(&r3, CALL_READ, TPARK_NEVER);
  wait_queued(&lock, 4);
  tpark_rwlock_downgrade(&lock);
  ck_assert(actor_wait(&r1));
  ck_assert(actor_wait(&r2));
  wait_queued(drain_key_of(&lock), 1); /* the writer waits for the 3 readers */
  wait_queued(&lock, 1);               /* r3, behind the writer */
  ck_assert(!actor_returned(&w));
  ck_assert(!actor_returned(&r3));
  ck_assert_uint_eq(word(&lock), 3 * R | W | WP | P);
  actor_do(&r1, CALL_UNLOCK, TPARK_NEVER);
  actor_do(&r2, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(!actor_returned(&w));
  tpark_rwlock_read_unlock(&lock);
  ck_assert(actor_wait(&w));
  ck_assert(!actor_returned(&r3));
  ck_assert_uint_eq(word(&lock), W | P);
  actor_do(&w, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(actor_wait(&r3));
  actor_do(&r3, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&r1);
  actor_stop(&r2);
  actor_stop(&w);
  actor_stop(&r3);
}
END_TEST

/* An upgradable holder keeps out writers and other upgradable lockers, and
 * lets readers in even with them queued; its unlock lets the first of them
 * in. */
START_TEST(upgradable_excludes_writers_and_upgradables_not_readers) {
  reset();
  actor w, u2, r;
  actor_start(&w, &lock);
  actor_start(&u2, &lock);
  actor_start(&r, &lock);
  tpark_rwlock_upgradable_lock(&lock);
  actor_post(&w, CALL_WRITE, TPARK_NEVER);
  wait_queued(&lock, 1);
  actor_post(&u2, CALL_UPGRADABLE, TPARK_NEVER);
  wait_queued(&lock, 2);
  ck_assert(actor_do(&r, CALL_READ, TPARK_NEVER)); /* in past the queue */
  ck_assert_uint_eq(word(&lock), 2 * R | U | P);
  ck_assert(!tpark_rwlock_write_trylock(&lock));
  ck_assert(!tpark_rwlock_upgradable_trylock(&lock));
  tpark_rwlock_upgradable_unlock(&lock);
  /* The writer claims the lock and waits for the reader; u2 waits on. */
  wait_queued(drain_key_of(&lock), 1);
  ck_assert_uint_eq(tpark__lot_queued(&lock), 1);
  ck_assert_uint_eq(word(&lock), R | W | WP | P);
  actor_do(&r, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(actor_wait(&w));
  ck_assert(!actor_returned(&u2));
  actor_do(&w, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(actor_wait(&u2));
  ck_assert_uint_eq(word(&lock), R | U);
  actor_do(&u2, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&w);
  actor_stop(&u2);
  actor_stop(&r);
}
END_TEST

/* upgrade keeps new readers out at once, returns only when the readers
 * inside have left, and then holds the lock alone. */
START_TEST(upgrade_waits_for_the_readers_then_holds_alone) {
  reset();
  actor up, r1, r2, late;
  actor_start(&up, &lock);
  actor_start(&r1, &lock);
  actor_start(&r2, &lock);
  actor_start(&late, &lock);
  ck_assert(actor_do(&up, CALL_UPGRADABLE, TPARK_NEVER));
  ck_assert(actor_do(&r1, CALL_READ, TPARK_NEVER));
  ck_assert(actor_do(&r2, CALL_READ, TPARK_NEVER));
  actor_post(&up, CALL_UPGRADE, TPARK_NEVER);
  wait_queued(drain_key_of(&lock), 1);
  actor_post(&late, CALL_READ, TPARK_NEVER);
  wait_queued(&lock, 1); /* kept out by the upgrade */
  ck_assert_uint_eq(word(&lock), 2 * R | W | WP | P);
  actor_do(&r1, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(!actor_returned(&up));
  ck_assert_uint_eq(word(&lock), R | W | WP | P);
  actor_do(&r2, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(actor_wait(&up));
  ck_assert_uint_eq(word(&lock), W | P);
  ck_assert(!tpark_rwlock_read_trylock(&lock));
  ck_assert(!tpark_rwlock_upgradable_trylock(&lock));
  ck_assert(!tpark_rwlock_write_trylock(&lock));
  ck_assert(!actor_returned(&late));
  actor_do(&up, CALL_UNLOCK, TPARK_NEVER);
  ck_assert(actor_wait(&late));
  actor_do(&late, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&up);
  actor_stop(&r1);
  actor_stop(&r2);
  actor_stop(&late);
}
END_TEST

/* ---- the fair timer ---- */

/* Before the timer is due an unlock wakes the queued readers to compete;
 * once it is (1 ms of fake time is enough), the unlock hands them the lock:
 * the word holds their two read locks before they run. */
START_TEST(the_fair_timer_hands_the_lock_to_the_woken_readers) {
  reset();
  actor r1, r2;
  actor_start(&r1, &lock);
  actor_start(&r2, &lock);
  tpark_rwlock_write_lock(&lock);
  actor_post(&r1, CALL_READ, TPARK_NEVER);
  actor_post(&r2, CALL_READ, TPARK_NEVER);
  wait_queued(&lock, 2);
  tpark_mock_advance(mock, 2 * MS);
  tpark_rwlock_write_unlock(&lock);
  ck_assert_uint_eq(word(&lock), 2 * R);
  ck_assert(!tpark_rwlock_write_trylock(&lock));
  ck_assert(actor_wait(&r1));
  ck_assert(actor_wait(&r2));
  actor_do(&r1, CALL_UNLOCK, TPARK_NEVER);
  actor_do(&r2, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&r1);
  actor_stop(&r2);
}
END_TEST

/* No reader starves behind a writer that unlocks and relocks at once
 * (barging past the woken reader): each unlock finds the reader queued and
 * consults the timer, which fires within 1 ms of fake time: 0.1 ms a round,
 * at most 11 rounds. */
START_TEST(a_barging_writer_hands_over_within_the_fair_interval) {
  reset();
  actor r;
  actor_start(&r, &lock);
  tpark_rwlock_write_lock(&lock);
  actor_post(&r, CALL_READ, TPARK_NEVER);
  int rounds = 0;
  for (;;) {
    ck_assert_int_le(++rounds, 11);
    wait_queued(&lock, 1);
    tpark_mock_advance(mock, MS / 10);
    tpark_rwlock_write_unlock(&lock);
    if (!tpark_rwlock_write_trylock(&lock)) break; /* handed over */
  }
  ck_assert(actor_wait(&r));
  actor_do(&r, CALL_UNLOCK, TPARK_NEVER);
  ck_assert_uint_eq(word(&lock), 0);
  actor_stop(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rwlock_fair");
  TCase *tc = new_tcase("rwlock_fair");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, a_writer_gets_in_within_one_hold_during_a_stream_of_readers);
  tcase_add_test(tc, downgrade_lets_the_waiting_readers_in_and_no_writer);
  tcase_add_test(tc, upgradable_excludes_writers_and_upgradables_not_readers);
  tcase_add_test(tc, upgrade_waits_for_the_readers_then_holds_alone);
  tcase_add_test(tc, the_fair_timer_hands_the_lock_to_the_woken_readers);
  tcase_add_test(tc, a_barging_writer_hands_over_within_the_fair_interval);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
