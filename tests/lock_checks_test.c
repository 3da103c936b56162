/* Checked mode for locks (tpark/checked.h, TPARK_CHECKED=1): an inversion
 * of lock order is reported although its two orders never run at the same
 * time; a correct program that uses every lock in many consistent orders
 * (and frees and reuses a lock's memory after tpark_checked_forget) reports
 * nothing; a deadlock of three threads is described by
 * tpark_checked_deadlocks. Each rule of a lock's use: lock_misuse_test.c;
 * what both share: tests/lock_checks.h. */
#include <check.h>
#include <inttypes.h>
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
#include "tpark/lot.h"
#include "tpark/mutex.h"
#include "tpark/once.h"
#include "tpark/rwlock.h"

static tpark_mutex A, B;
static tpark_recursive_mutex R;
static tpark_once O;
static tpark_cond CVB;
static tpark_rwlock RW;

static void *read_rw_then_a(void *arg) {
  (void)arg;
  announce_thread("T1");
  tpark_rwlock_read_lock(&RW);
  tpark_mutex_lock(&A);
  tpark_mutex_unlock(&A);
  tpark_rwlock_read_unlock(&RW);
  return NULL;
}

static void *a_then_write_rw(void *arg) {
  (void)arg;
  announce_thread("T2");
  tpark_mutex_lock(&A);
  tpark_rwlock_write_lock(&RW);
  return NULL;
}

static void rw_inversion(void) {
  tpark_checked_label(&RW, "rw");
  tpark_checked_label(&A, "a");
  join(start(read_rw_then_a, NULL));
  join(start(a_then_write_rw, NULL));
}

START_TEST(inversion_of_an_rwlock_and_a_mutex) {
  expect_line(rw_inversion,
              "tpark checked: rule \"lock order\" broken by tpark_rwlock_write_lock(rwlock \"rw\") "
              "in thread {T2}: it takes this lock while holding mutex \"a\", but thread {T1} took "
              "mutex \"a\" while holding rwlock \"rw\": together these orders can deadlock");
}
END_TEST

/* ---- lock order --------------------------------------------------------------------- */

static void *a_then_b(void *arg) {
  (void)arg;
  announce_thread("T1");
  tpark_mutex_lock(&A);
  tpark_mutex_lock(&B);
  tpark_mutex_unlock(&B);
  tpark_mutex_unlock(&A);
  return NULL;
}

static void *b_then_a(void *arg) {
  (void)arg;
  announce_thread("T2");
  tpark_mutex_lock(&B);
  tpark_mutex_lock(&A);
  tpark_mutex_unlock(&A);
  tpark_mutex_unlock(&B);
  return NULL;
}

/* The second order starts after the first thread ended: no deadlock was
 * ever possible in this run, and it is reported all the same. */
static void inversion_never_deadlocking(void) {
  tpark_checked_label(&A, "a");
  tpark_checked_label(&B, "b");
  join(start(a_then_b, NULL));
  join(start(b_then_a, NULL));
}

START_TEST(inversion_of_two_threads_that_never_overlap) {
  expect_line(
      inversion_never_deadlocking,
      "tpark checked: rule \"lock order\" broken by tpark_mutex_lock(mutex \"a\") in thread "
      "{T2}: it takes this lock while holding mutex \"b\", but thread {T1} took mutex \"b\" "
      "while holding mutex \"a\": together these orders can deadlock");
}
END_TEST

static void *b_then_c(void *arg) {
  (void)arg;
  announce_thread("T2");
  tpark_mutex_lock(&B);
  tpark_recursive_mutex_lock(&R); /* any lock kind takes part */
  tpark_recursive_mutex_unlock(&R);
  tpark_mutex_unlock(&B);
  return NULL;
}

static void *c_then_a(void *arg) {
  (void)arg;
  announce_thread("T3");
  tpark_recursive_mutex_lock(&R);
  if (tpark_mutex_trylock(&A)) tpark_mutex_unlock(&A); /* a trylock adds no order */
  tpark_mutex_lock(&A);
  return NULL;
}

static void inversion_of_three(void) {
  tpark_checked_label(&A, "a");
  tpark_checked_label(&B, "b");
  tpark_checked_label(&R, "r");
  join(start(a_then_b, NULL));
  join(start(b_then_c, NULL));
  join(start(c_then_a, NULL));
}

START_TEST(inversion_through_a_chain_of_three_locks) {
  expect_line(
      inversion_of_three,
      "tpark checked: rule \"lock order\" broken by tpark_mutex_lock(mutex \"a\") in thread "
      "{T3}: it takes this lock while holding recursive mutex \"r\", but thread {T1} took "
      "mutex \"b\" while holding mutex \"a\", thread {T2} took recursive mutex \"r\" while "
      "holding mutex \"b\": together these orders can deadlock");
}
END_TEST

static void *trylock_inverted(void *arg) {
  (void)arg;
  tpark_mutex_lock(&B);
  if (tpark_mutex_trylock(&A)) tpark_mutex_unlock(&A);
  tpark_mutex_unlock(&B);
  return NULL;
}

static void trylock_then_inversion(void) {
  join(start(trylock_inverted, NULL)); /* b then a, by trylock: no order */
  join(start(a_then_b, NULL));         /* a then b: fine */
  printf("no report\n");
}

START_TEST(trylock_adds_no_order) {
  child_result r = child_run(trylock_then_inversion, lock_checks_setup, 60);
  char what[64];
  ck_assert_msg(r.exited && r.exit_code == 0, "%s: %s", child_describe(&r, what, sizeof what),
                r.err);
  ck_assert_msg(strstr(r.err, "tpark checked") == NULL, "reported: %s", r.err);
}
END_TEST

/* ---- a correct program --------------------------------------------------------------- */

enum { WORKERS = 4, ROUNDS = 300, N_LOCKS = 5 };

static tpark_mutex L[N_LOCKS];
static tpark_recursive_mutex RL;
static tpark_rwlock RWL;
static tpark_once INIT;
static tpark_mutex queue_lock;
static tpark_cond queue_cond;
static int queued, initialised;

static void init_once(void *arg) {
  (void)arg;
  tpark_mutex_lock(&L[0]); /* a lock inside a once's fn */
  initialised++;
  tpark_mutex_unlock(&L[0]);
}

/* Reused memory: a lock freed after tpark_checked_forget leaves no order. */
static void heap_lock_orders(unsigned seed) {
  tpark_mutex *h = calloc(1, sizeof *h);
  if (h == NULL) exit(1);
  if (seed % 2 == 0) {
    tpark_mutex_lock(&L[4]);
    tpark_mutex_lock(h);
  } else {
    tpark_mutex_lock(h);
    tpark_mutex_lock(&L[4]);
  }
  tpark_mutex_unlock(&L[4]);
  tpark_mutex_unlock(h);
  tpark_checked_forget(h);
  free(h);
}

static void *worker(void *arg) {
  unsigned index = (unsigned)(uintptr_t)arg, seed = index * 7919u + 1u;
  for (int round = 0; round < ROUNDS; round++) {
    seed = seed * 1103515245u + 12345u;
    tpark_once_call(&INIT, init_once, NULL);
    /* Any subset, always in index order; the recursive mutex re-entered. */
    unsigned subset = (seed >> 8) % (1u << N_LOCKS);
    tpark_recursive_mutex_lock(&RL);
    /* The rwlock in every mode, inside RL and before the others. */
    switch ((seed >> 20) % 5) {
      case 0:
        tpark_rwlock_read_lock(&RWL);
        tpark_rwlock_read_unlock(&RWL);
        break;
      case 1:
        tpark_rwlock_write_lock(&RWL);
        tpark_rwlock_downgrade(&RWL);
        tpark_rwlock_read_unlock(&RWL);
        break;
      case 2:
        tpark_rwlock_upgradable_lock(&RWL);
        tpark_rwlock_upgrade(&RWL);
        tpark_rwlock_write_unlock(&RWL);
        break;
      case 3:
        tpark_rwlock_upgradable_lock(&RWL);
        if (tpark_rwlock_try_upgrade(&RWL)) {
          tpark_rwlock_write_unlock(&RWL);
        } else {
          tpark_rwlock_upgradable_unlock(&RWL);
        }
        break;
      default:
        if (tpark_rwlock_read_trylock(&RWL)) tpark_rwlock_read_unlock(&RWL);
        if (tpark_rwlock_write_trylock(&RWL)) tpark_rwlock_write_unlock(&RWL);
        break;
    }
    /* Held for read across the mutexes sometimes: RL, RWL, L[...] */
    bool reading = (seed >> 24) % 2 == 0;
    if (reading) tpark_rwlock_read_lock(&RWL);
    for (int i = 0; i < N_LOCKS; i++) {
      if (subset & (1u << i)) tpark_mutex_lock(&L[i]);
    }
    tpark_recursive_mutex_lock(&RL);
    tpark_recursive_mutex_unlock(&RL);
    /* Against the order, only trylocks. */
    for (int i = N_LOCKS; i-- > 0;) {
      if (!(subset & (1u << i)) && tpark_mutex_trylock(&L[i])) tpark_mutex_unlock(&L[i]);
    }
    /* Unlocks in either order. */
    bool up = (seed >> 16) % 2 == 0;
    for (int k = 0; k < N_LOCKS; k++) {
      int i = up ? k : N_LOCKS - 1 - k;
      if (subset & (1u << i)) tpark_mutex_unlock(&L[i]);
    }
    if (reading) tpark_rwlock_read_unlock(&RWL);
    tpark_recursive_mutex_unlock(&RL);
    heap_lock_orders(seed >> 4);
    /* A queue: even workers produce, odd ones consume (waiting on the cond). */
    tpark_mutex_lock(&queue_lock);
    if (index % 2 == 0) {
      queued++;
      if (round % 7 == 0) {
        tpark_cond_notify_all(&queue_cond);
      } else {
        tpark_cond_notify_one(&queue_cond);
      }
    } else {
      while (queued == 0) tpark_cond_wait(&queue_cond, &queue_lock);
      queued--;
    }
    tpark_mutex_unlock(&queue_lock);
  }
  return NULL;
}

static void correct_program(void) {
  pthread_t t[WORKERS];
  for (int i = 0; i < WORKERS; i++) t[i] = start(worker, (void *)(uintptr_t)i);
  for (int i = 0; i < WORKERS; i++) join(t[i]);
  char buf[256];
  ck_assert_uint_eq(tpark_checked_deadlocks(buf, sizeof buf), 0);
  ck_assert_int_eq(initialised, 1);
  ck_assert_int_eq(queued, 0);
  fprintf(stderr, "lock_checks_test: correct program done\n");
}

START_TEST(a_correct_program_reports_nothing) {
  child_result r = child_run(correct_program, lock_checks_setup, 120);
  char what[64];
  ck_assert_msg(r.exited && r.exit_code == 0, "%s: %s", child_describe(&r, what, sizeof what),
                r.err);
  ck_assert_msg(strstr(r.err, "correct program done") != NULL, "%s", r.err);
  ck_assert_msg(strstr(r.err, "tpark checked") == NULL, "reported: %s", r.err);
}
END_TEST

/* More locks held than a record tracks (64): a recursive mutex locked
 * twice, a cond wait and a once run beyond the table report nothing, and an
 * unlock of a free mutex is still caught once the count is back. */
#define TABLE 64 /* TPARK__CHECKED_MAX_HELD (sync/lock_checks.h) */

static tpark_mutex many[TABLE];

static void beyond_fn(void *arg) { (void)arg; }

static void beyond_the_table(void) {
  for (int i = 0; i < TABLE; i++) tpark_mutex_lock(&many[i]);
  tpark_recursive_mutex_lock(&R);
  tpark_recursive_mutex_lock(&R);
  tpark_recursive_mutex_unlock(&R);
  tpark_recursive_mutex_unlock(&R);
  tpark_mutex_lock(&A);
  tpark_cond_wait_until(&CVB, &A, tpark_lot_now()); /* times out at once, on any clock */
  tpark_mutex_unlock(&A);
  tpark_once_call(&O, beyond_fn, NULL);
  for (int i = TABLE; i-- > 0;) tpark_mutex_unlock(&many[i]);
  announce("beyond", "done");
  tpark_checked_label(&B, "b");
  announce_thread("T");
  tpark_mutex_unlock(&B); /* free: reported */
}

START_TEST(locks_beyond_the_table_report_only_misuse) {
  expect_line(beyond_the_table,
              "tpark checked: rule \"unlock by the holder\" broken by tpark_mutex_unlock(mutex "
              "\"b\") in thread {T}: thread {T} does not hold this mutex (no thread holds it)");
}
END_TEST

/* ---- a deadlock of three threads ------------------------------------------------------- */

/* T1 runs the once's fn, which waits for a (T2 holds it); T2 waits for b
 * (T3 holds it); T3 waits for the once (T1 runs it). No lock order closes
 * a cycle (a once takes no part in the order), so only the deadlock scan
 * can tell. */
static void once_takes_a(void *arg) {
  (void)arg;
  reach(3);
  tpark_mutex_lock(&A);
}

static void *deadlock_t1(void *arg) {
  (void)arg;
  announce_thread("T1");
  await(2);
  tpark_once_call(&O, once_takes_a, NULL);
  return NULL;
}

static void *deadlock_t2(void *arg) {
  (void)arg;
  announce_thread("T2");
  tpark_mutex_lock(&A);
  reach(1);
  await(4);
  tpark_mutex_lock(&B);
  return NULL;
}

static void *deadlock_t3(void *arg) {
  (void)arg;
  announce_thread("T3");
  await(1);
  tpark_mutex_lock(&B);
  reach(2);
  await(3);
  reach(4);
  tpark_once_call(&O, once_takes_a, NULL);
  return NULL;
}

static void deadlock_of_three(void) {
  tpark_checked_label(&A, "a");
  tpark_checked_label(&B, "b");
  tpark_checked_label(&O, "o");
  char buf[512];
  ck_assert_uint_eq(tpark_checked_deadlocks(buf, sizeof buf), 0);
  start(deadlock_t1, NULL);
  start(deadlock_t2, NULL);
  start(deadlock_t3, NULL);
  size_t n = 0;
  for (int i = 0; i < 60000 && n == 0; i++) {
    n = tpark_checked_deadlocks(buf, sizeof buf);
    if (n == 0) test_sleep_ms(1);
  }
  ck_assert_msg(n > 0, "no deadlock found in 60 s");
  ck_assert_uint_eq(n, strlen(buf));
  char small[8];
  ck_assert_uint_eq(tpark_checked_deadlocks(small, sizeof small), n); /* truncated, same length */
  ck_assert_uint_eq(strlen(small), sizeof small - 1);
  fprintf(stderr, "lock_checks_test: found: %s\n", buf);
  fflush(stderr);
}

START_TEST(a_deadlock_of_three_threads_is_described) {
  child_result r = child_run(deadlock_of_three, lock_checks_setup, 90);
  char what[64];
  ck_assert_msg(r.exited && r.exit_code == 0, "%s: %s", child_describe(&r, what, sizeof what),
                r.err);
  static const char *const parts[] = {
      "lock_checks_test: found: deadlock of 3 threads: ",
      "thread {T1} waits for mutex \"a\", which thread {T2} holds",
      "thread {T2} waits for mutex \"b\", which thread {T3} holds",
      "thread {T3} waits for once \"o\", which thread {T1} is running",
  };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    char want[256];
    fill(r.err, parts[i], want, sizeof want);
    ck_assert_msg(strstr(r.err, want) != NULL, "no \"%s\" in: %s", want, r.err);
  }
  ck_assert_msg(strstr(r.err, "tpark checked") == NULL, "reported: %s", r.err);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2 || subject_open(argv[1]) == NULL) {
    fprintf(stderr, "usage: lock_checks_test <subject>\n");
    return 2;
  }
  Suite *s = suite_create("lock_checks");
  TCase *order = new_tcase("order");
  tcase_add_test(order, inversion_of_two_threads_that_never_overlap);
  tcase_add_test(order, inversion_through_a_chain_of_three_locks);
  tcase_add_test(order, trylock_adds_no_order);
  tcase_add_test(order, inversion_of_an_rwlock_and_a_mutex);
  suite_add_tcase(s, order);
  TCase *whole = new_tcase("programs");
  tcase_add_test(whole, a_correct_program_reports_nothing);
  tcase_add_test(whole, locks_beyond_the_table_report_only_misuse);
  tcase_add_test(whole, a_deadlock_of_three_threads_is_described);
  suite_add_tcase(s, whole);
  return run_suite(s);
}
