/* The rwlock (tpark/rwlock.h) under the schedule explorer, for
 * explore_locks_test.c: readers, a writer that downgrades, an upgrader, and
 * timed acquisitions and upgrades. A writer is never inside with anyone
 * else, readers never see the pair of values a writer writes torn apart, a
 * timed acquisition fails only at its deadline, and one that gives up lets
 * in those queued behind it. */
#include <inttypes.h>
#include <string.h>

#include "tests/explore_locks.h"
#include "tpark/lot.h"
#include "tpark/rwlock.h"
#include "tpark/wait.h"

static tpark_rwlock rw;
static int rw_readers, rw_writers, rw_upgradable, rw_a, rw_b;
static bool rw_claiming; /* the timed writer is in write_lock_until */

static void rw_begin(void) {
  begin_run();
  rw = (tpark_rwlock)TPARK_RWLOCK_INIT;
  tpark_explore_label(&rw, "rwlock");
  rw_readers = rw_writers = rw_upgradable = rw_a = rw_b = 0;
  rw_claiming = false;
}

/* Holding a read lock (or the upgradable one): no writer, no torn pair. */
static void rw_read(void) {
  tpark_explore_check(rw_writers == 0, "no writer inside with a reader");
  tpark_explore_check(rw_a == rw_b, "a reader never sees a torn pair");
  step();
  tpark_explore_check(rw_writers == 0 && rw_a == rw_b, "still no writer, no torn pair");
}

static void rw_write(int value) {
  tpark_explore_check(++rw_writers == 1 && rw_readers == 0 && rw_upgradable == 0,
                      "a writer is alone inside");
  rw_a = value;
  step();
  rw_b = value;
  tpark_explore_check(rw_writers == 1 && rw_readers == 0 && rw_upgradable == 0,
                      "a writer is still alone inside");
  rw_writers--;
}

static void rw_reader(void *arg) {
  (void)arg;
  tpark_rwlock_read_lock(&rw);
  rw_readers++;
  rw_read();
  rw_readers--;
  tpark_rwlock_read_unlock(&rw);
}

static void rw_writer(void *arg) {
  (void)arg;
  tpark_rwlock_write_lock(&rw);
  rw_write(3);
  tpark_rwlock_write_unlock(&rw);
}

/* Writes 1, then downgrades and reads what it wrote: no writer came in
 * between. */
static void rw_downgrader(void *arg) {
  (void)arg;
  tpark_rwlock_write_lock(&rw);
  rw_write(1);
  tpark_rwlock_downgrade(&rw);
  rw_readers++;
  rw_read();
  tpark_explore_check(rw_a == 1, "the downgraded writer reads its own write");
  rw_readers--;
  tpark_rwlock_read_unlock(&rw);
}

/* Two readers, the downgrader and a writer (which may queue behind the
 * readers that the downgrade lets in). */
static void rwlock_readers_writer(void *arg) {
  (void)arg;
  rw_begin();
  tpark_explore_thread r1 = tpark_explore_spawn(rw_reader, NULL);
  tpark_explore_thread d = tpark_explore_spawn(rw_downgrader, NULL);
  tpark_explore_thread w = tpark_explore_spawn(rw_writer, NULL);
  rw_reader(NULL);
  tpark_explore_join(r1);
  tpark_explore_join(d);
  tpark_explore_join(w);
  tpark_explore_check(rw_a == rw_b && rw_a != 0, "the writes happened");
}

START_TEST(rwlock_readers_and_a_downgrading_writer) {
  explore_all("rwlock downgrade", rwlock_readers_writer);
}
END_TEST

/* Reads under the upgradable lock, then upgrades and writes. */
static void rw_upgrader(void *arg) {
  (void)arg;
  tpark_rwlock_upgradable_lock(&rw);
  tpark_explore_check(++rw_upgradable == 1, "one upgradable holder");
  rw_read();
  tpark_rwlock_upgrade(&rw);
  rw_upgradable--;
  rw_write(2);
  tpark_rwlock_write_unlock(&rw);
}

static void rwlock_upgrade(void *arg) {
  (void)arg;
  rw_begin();
  tpark_explore_thread u = tpark_explore_spawn(rw_upgrader, NULL);
  tpark_explore_thread r = tpark_explore_spawn(rw_reader, NULL);
  rw_writer(NULL);
  tpark_explore_join(u);
  tpark_explore_join(r);
  tpark_explore_check(rw_a == rw_b && rw_a != 0, "both writes happened");
}

START_TEST(rwlock_upgrade_excludes_everyone) { explore_all("rwlock upgrade", rwlock_upgrade); }
END_TEST

/* A writer with an hour's deadline claims the lock while a reader is in; a
 * reader with two hours' queues behind it. The reader may time out only
 * while the writer still claims or holds the lock: a writer that gives up
 * lets the readers queued behind it in. */
static void rw_timed_writer(void *arg) {
  (void)arg;
  tpark_instant deadline = tpark_lot_deadline(HOUR);
  rw_claiming = true;
  bool ok = tpark_rwlock_write_lock_until(&rw, deadline);
  rw_claiming = false;
  if (ok) {
    seen[0]++;
    rw_write(1);
    tpark_rwlock_write_unlock(&rw);
  } else {
    seen[1]++;
    check_not_early(deadline, "tpark_rwlock_write_lock_until failed only at its deadline");
  }
}

static void rw_timed_reader(void *arg) {
  (void)arg;
  tpark_instant deadline = tpark_lot_deadline(2 * HOUR);
  if (tpark_rwlock_read_lock_until(&rw, deadline)) {
    seen[2]++;
    rw_readers++;
    rw_read();
    rw_readers--;
    tpark_rwlock_read_unlock(&rw);
  } else {
    seen[3]++;
    check_not_early(deadline, "tpark_rwlock_read_lock_until failed only at its deadline");
    tpark_explore_check(rw_claiming || rw_writers > 0, "a reader times out only behind a writer");
  }
}

static void rwlock_timed(void *arg) {
  (void)arg;
  rw_begin();
  tpark_explore_thread w = tpark_explore_spawn(rw_timed_writer, NULL);
  tpark_explore_thread t = tpark_explore_spawn(rw_timed_reader, NULL);
  rw_reader(NULL);
  tpark_explore_join(w);
  tpark_explore_join(t);
  tpark_explore_check(rw_readers == 0 && rw_writers == 0, "everyone left");
}

START_TEST(rwlock_lock_until_is_never_early) {
  memset(seen, 0, sizeof seen);
  explore_all("rwlock lock_until", rwlock_timed);
  for (int i = 0; i < 4; i++) ck_assert_msg(seen[i] > 0, "outcome %d never happened", i);
}
END_TEST

/* A writer with an hour's deadline claims the lock while a reader is in,
 * and another writer (no deadline) queues behind it: when the first gives
 * up, the second must be woken (else, with the readers gone, nobody wakes
 * it: a deadlock). */
static void rwlock_timed_writers(void *arg) {
  (void)arg;
  rw_begin();
  tpark_explore_thread w = tpark_explore_spawn(rw_timed_writer, NULL);
  tpark_explore_thread w2 = tpark_explore_spawn(rw_writer, NULL);
  rw_reader(NULL);
  tpark_explore_join(w);
  tpark_explore_join(w2);
  tpark_explore_check(rw_a == rw_b && rw_a != 0 && rw_writers == 0, "the writes happened");
}

START_TEST(rwlock_write_lock_until_wakes_the_writer_behind) {
  memset(seen, 0, sizeof seen);
  explore_all("rwlock 2 writers", rwlock_timed_writers);
  ck_assert_msg(seen[0] > 0 && seen[1] > 0, "in %" PRIu64 ", timed out %" PRIu64, seen[0], seen[1]);
}
END_TEST

/* An upgrade with an hour's deadline while a reader is in: on a timeout the
 * caller still holds the upgradable lock, and a reader that waited behind
 * the upgrade gets in beside it (the upgrader waits for that reader, on
 * its flag: if the reader were not let in, a deadlock). */
static uint32_t reader_in;

static void rw_flagging_reader(void *arg) {
  (void)arg;
  tpark_rwlock_read_lock(&rw);
  rw_readers++;
  __atomic_store_n(&reader_in, 1, __ATOMIC_RELEASE);
  tpark_wake_by_address_all(&reader_in);
  rw_read();
  rw_readers--;
  tpark_rwlock_read_unlock(&rw);
}

static void rw_timed_upgrader(void *arg) {
  (void)arg;
  tpark_rwlock_upgradable_lock(&rw);
  tpark_explore_check(++rw_upgradable == 1, "one upgradable holder");
  rw_read();
  tpark_instant deadline = tpark_lot_deadline(HOUR);
  if (tpark_rwlock_upgrade_until(&rw, deadline)) {
    seen[0]++;
    rw_upgradable--;
    rw_write(2);
    tpark_rwlock_write_unlock(&rw);
    return;
  }
  seen[1]++;
  check_not_early(deadline, "tpark_rwlock_upgrade_until failed only at its deadline");
  uint32_t zero = 0;
  while (__atomic_load_n(&reader_in, __ATOMIC_ACQUIRE) == 0) {
    tpark_wait_on_address(&reader_in, &zero, sizeof zero, TPARK_NEVER);
  }
  rw_read();
  rw_upgradable--;
  tpark_rwlock_upgradable_unlock(&rw);
}

static void rwlock_timed_upgrade(void *arg) {
  (void)arg;
  rw_begin();
  reader_in = 0;
  tpark_explore_label(&reader_in, "reader_in");
  tpark_explore_thread u = tpark_explore_spawn(rw_timed_upgrader, NULL);
  tpark_explore_thread r = tpark_explore_spawn(rw_flagging_reader, NULL);
  rw_reader(NULL);
  tpark_explore_join(u);
  tpark_explore_join(r);
  tpark_explore_check(rw_readers == 0 && rw_writers == 0 && rw_upgradable == 0, "everyone left");
}

START_TEST(rwlock_upgrade_until_lets_readers_in) {
  memset(seen, 0, sizeof seen);
  explore_all("rwlock upgrade_until", rwlock_timed_upgrade);
  ck_assert_msg(seen[0] > 0 && seen[1] > 0, "upgraded %" PRIu64 ", timed out %" PRIu64, seen[0],
                seen[1]);
}
END_TEST

void add_rwlock_tests(TCase *tc) {
  tcase_add_test(tc, rwlock_readers_and_a_downgrading_writer);
  tcase_add_test(tc, rwlock_upgrade_excludes_everyone);
  tcase_add_test(tc, rwlock_lock_until_is_never_early);
  tcase_add_test(tc, rwlock_write_lock_until_wakes_the_writer_behind);
  tcase_add_test(tc, rwlock_upgrade_until_lets_readers_in);
}
