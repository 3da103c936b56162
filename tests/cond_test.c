/* The condition variable (tpark/cond.h) on one subject backend (the
 * program's argument) made the process default: notify_one wakes exactly one
 * waiter, notify_all's count, timeouts (never early; on the fake clock,
 * exactly at the deadline), timeouts racing notifies (a wait that returns
 * false was not notified, no notify is lost), the cond reused after every
 * waiter timed out, two mutexes at once, and exactly-once delivery through a
 * bounded queue with many producers and consumers. After each scenario the
 * mutex word and the cond word are back to zero. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/lot_internal.h"
#include "tests/child.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/cond.h"
#include "tpark/mutex.h"

#define MS UINT64_C(1000000)

static tpark_mutex m = TPARK_MUTEX_INIT, m2 = TPARK_MUTEX_INIT;
static tpark_cond c = TPARK_COND_INIT;
static tpark_cond not_full = TPARK_COND_INIT; /* the queue's second cond */
static int gate = 1;                          /* atomic: waiters start once it is set */

static void setup(void) {
  subject_setup();
  ck_assert_ptr_nonnull(subject_backend());
  tpark_set_default_backend(subject_backend());
  /* Without fork (Windows) the tests share this program's state. */
  m = m2 = (tpark_mutex)TPARK_MUTEX_INIT;
  c = not_full = (tpark_cond)TPARK_COND_INIT;
  gate = 1;
}

static void teardown(void) {
  tpark_set_default_backend(NULL);
  subject_teardown();
}

/* Both words zero: free, nobody waits (tpark/cond.h, tpark/mutex.h). */
static void assert_idle(void) {
  ck_assert_int_eq(__atomic_load_n(&m.state_, __ATOMIC_SEQ_CST), 0);
  ck_assert_int_eq(__atomic_load_n(&m2.state_, __ATOMIC_SEQ_CST), 0);
  ck_assert_ptr_null(__atomic_load_n(&c.mutex_, __ATOMIC_SEQ_CST));
  ck_assert_uint_eq(tpark__lot_queued(&c), 0);
}

/* Waits (real time, generous) until n threads are queued in the lot on key. */
static void wait_queued(const void *key, size_t n) {
  for (int i = 0; i < 60000 && tpark__lot_queued(key) != n; i++) test_sleep_ms(1);
  ck_assert_uint_eq(tpark__lot_queued(key), n);
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  ck_assert_int_eq(pthread_create(t, NULL, fn, arg), 0);
}

/* ---- a waiter thread ---- */

typedef struct waiter {
  pthread_t thread;
  tpark_mutex *mutex;
  tpark_instant deadline; /* TPARK_NEVER: tpark_cond_wait */
  int result;             /* 1: notified, 0: timed out */
  bool held;              /* the mutex was held when the wait returned */
} waiter;

static int returned; /* atomic: waits that have returned */
static int inside;   /* guarded by the waiters' mutex */
static int overlaps; /* atomic: two threads inside at once */

static void *waiter_main(void *arg) {
  waiter *w = arg;
  while (!__atomic_load_n(&gate, __ATOMIC_ACQUIRE)) tpark_thread_yield();
  tpark_mutex_lock(w->mutex);
  if (w->deadline == TPARK_NEVER) {
    tpark_cond_wait(&c, w->mutex);
    w->result = 1;
  } else {
    w->result = tpark_cond_wait_until(&c, w->mutex, w->deadline);
  }
  if (inside++ != 0) __atomic_add_fetch(&overlaps, 1, __ATOMIC_SEQ_CST);
  w->held = !tpark_mutex_trylock(w->mutex);
  __atomic_add_fetch(&returned, 1, __ATOMIC_SEQ_CST);
  inside--;
  tpark_mutex_unlock(w->mutex);
  return NULL;
}

static void start_waiters(waiter *w, int n, tpark_mutex *mutex, tpark_instant deadline) {
  __atomic_store_n(&returned, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&overlaps, 0, __ATOMIC_SEQ_CST);
  for (int i = 0; i < n; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].mutex = mutex;
    w[i].deadline = deadline;
    w[i].result = -1;
    start(&w[i].thread, waiter_main, &w[i]);
  }
}

static void join_waiters(waiter *w, int n) {
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
    ck_assert_msg(w[i].held, "waiter %d: the wait returned without the mutex", i);
  }
  ck_assert_int_eq(overlaps, 0);
}

static int returned_now(void) { return __atomic_load_n(&returned, __ATOMIC_SEQ_CST); }

/* Waits (real time, generous) until n waits have returned. */
static void wait_returned(int n) {
  for (int i = 0; i < 60000 && returned_now() < n; i++) test_sleep_ms(1);
  ck_assert_int_eq(returned_now(), n);
}

/* ---- the tests ---- */

START_TEST(cond_is_a_pointer_and_zero_is_idle) {
  ck_assert_uint_le(sizeof(tpark_cond), sizeof(void *));
  tpark_cond zero;
  memset(&zero, 0, sizeof zero);
  tpark_cond init = TPARK_COND_INIT;
  ck_assert_int_eq(memcmp(&zero, &init, sizeof zero), 0);
  ck_assert(!tpark_cond_notify_one(&c));
  ck_assert_uint_eq(tpark_cond_notify_all(&c), 0);
  tpark_mutex_lock(&m);
  ck_assert(!tpark_cond_notify_one(&c));
  ck_assert_uint_eq(tpark_cond_notify_all(&c), 0);
  tpark_mutex_unlock(&m);
  assert_idle();
}
END_TEST

/* Four waiters; each notify_one (with the mutex held, then without) takes
 * exactly one out of the cond's queue and its wait returns true. */
START_TEST(notify_one_wakes_exactly_one) {
  enum { N = 4 };
  waiter w[N];
  start_waiters(w, N, &m, TPARK_NEVER);
  wait_queued(&c, N);
  for (int k = 1; k <= N; k++) {
    bool held = k % 2 == 1;
    if (held) tpark_mutex_lock(&m);
    ck_assert(tpark_cond_notify_one(&c));
    /* Out of the cond's queue at once (under its bucket lock): one, not two. */
    ck_assert_uint_eq(tpark__lot_queued(&c), (size_t)(N - k));
    if (held) tpark_mutex_unlock(&m);
    wait_returned(k);
    ck_assert_uint_eq(tpark__lot_queued(&c), (size_t)(N - k));
  }
  ck_assert(!tpark_cond_notify_one(&c));
  join_waiters(w, N);
  for (int i = 0; i < N; i++) ck_assert_int_eq(w[i].result, 1);
  ck_assert_int_eq(returned_now(), N);
  assert_idle();
}
END_TEST

/* notify_all reports every waiter, with the mutex held and without, and
 * each of their waits returns true; a second one finds nobody. */
START_TEST(notify_all_counts_every_waiter) {
  enum { N = 5 };
  for (int held = 0; held < 2; held++) {
    waiter w[N];
    start_waiters(w, N, &m, TPARK_NEVER);
    wait_queued(&c, N);
    if (held) tpark_mutex_lock(&m);
    ck_assert_uint_eq(tpark_cond_notify_all(&c), N);
    ck_assert_uint_eq(tpark_cond_notify_all(&c), 0);
    ck_assert_uint_eq(tpark__lot_queued(&c), 0);
    if (held) tpark_mutex_unlock(&m);
    join_waiters(w, N);
    for (int i = 0; i < N; i++) ck_assert_int_eq(w[i].result, 1);
    ck_assert_int_eq(returned_now(), N);
    assert_idle();
  }
}
END_TEST

/* A timed wait returns false, with the mutex held, never before its
 * deadline; on a fake clock exactly at it. A past deadline does not wait. */
START_TEST(wait_until_times_out_never_early) {
  waiter w[1];
  tpark_instant deadline = tpark_lot_deadline(10 * MS);
  start_waiters(w, 1, &m, deadline);
  if (subject_fake_time()) {
    wait_queued(&c, 1);
    /* Asleep first: a relative OS timeout taken before an advance would
     * end only an advance later (keyed events under QEMU hung so). */
    subject_wait_sleepers(1, 60000);
    subject_advance(10 * MS - 1);
    subject_wait_sleepers(1, 60000);
    ck_assert_uint_eq(tpark__lot_queued(&c), 1);
    ck_assert_int_eq(returned_now(), 0);
    subject_advance(1);
  }
  join_waiters(w, 1);
  ck_assert_int_eq(w[0].result, 0);
  ck_assert_uint_ge(tpark_lot_now(), deadline);
  assert_idle();

  tpark_mutex_lock(&m);
  ck_assert(!tpark_cond_wait_until(&c, &m, tpark_lot_now()));
  ck_assert(!tpark_mutex_trylock(&m)); /* held again */
  tpark_mutex_unlock(&m);
  assert_idle();
}
END_TEST

/* Notified before its deadline, a wait returns true even when getting the
 * mutex back takes until after the deadline. (A real clock may pass the
 * deadline before the notify: then neither may report the other.) */
START_TEST(notified_then_late_for_the_mutex_is_notified) {
  waiter w[1];
  tpark_instant deadline = tpark_lot_deadline((subject_fake_time() ? 10 : 200) * MS);
  start_waiters(w, 1, &m, deadline);
  for (int i = 0; i < 60000 && tpark__lot_queued(&c) != 1 && tpark_lot_now() < deadline; i++) {
    test_sleep_ms(1);
  }
  tpark_mutex_lock(&m);
  bool hit = tpark_cond_notify_one(&c);
  if (subject_fake_time()) ck_assert(hit);
  if (subject_fake_time()) {
    subject_advance(20 * MS);
  } else {
    while (tpark_lot_now() < deadline + 2 * MS) test_sleep_ms(1);
  }
  tpark_mutex_unlock(&m);
  join_waiters(w, 1);
  ck_assert_int_eq(w[0].result, hit);
  assert_idle();
}
END_TEST

/* A notifier that itself waits on the cond moves the waiter onto the held
 * mutex (requeue, sync/cond.c); its deadline passing there does not make it
 * a timeout: it was notified. Then both words go back to zero. */
START_TEST(requeued_then_late_for_the_mutex_is_notified) {
  tpark_mutex_lock(&m);
  ck_assert(!tpark_cond_wait_until(&c, &m, tpark_lot_now())); /* main has waited on c */
  tpark_mutex_unlock(&m);
  waiter w[1];
  tpark_instant deadline = tpark_lot_deadline((subject_fake_time() ? 10 : 200) * MS);
  start_waiters(w, 1, &m, deadline);
  for (int i = 0; i < 60000 && tpark__lot_queued(&c) != 1 && tpark_lot_now() < deadline; i++) {
    test_sleep_ms(1);
  }
  tpark_mutex_lock(&m);
  bool hit = tpark_cond_notify_one(&c);
  if (subject_fake_time()) ck_assert(hit);
  if (hit) {
    ck_assert_uint_eq(tpark__lot_queued(&c), 0);
    ck_assert_uint_eq(tpark__lot_queued(&m), 1);                       /* moved, not woken */
    ck_assert_int_eq(__atomic_load_n(&m.state_, __ATOMIC_SEQ_CST), 3); /* LOCKED | PARKED */
  }
  if (subject_fake_time()) {
    subject_advance(20 * MS); /* its park on the mutex's queue times out */
    test_sleep_ms(50);        /* (a pause: let it get there, then wait for the mutex) */
  } else {
    while (tpark_lot_now() < deadline + 2 * MS) test_sleep_ms(1);
  }
  ck_assert_int_eq(returned_now(), 0); /* not without the mutex */
  tpark_mutex_unlock(&m);
  join_waiters(w, 1);
  ck_assert_int_eq(w[0].result, hit);
  assert_idle();
}
END_TEST

/* Two threads take turns through one cond, each notifying the cond it waits
 * on (the requeue case), with timed and untimed waits. */
enum { TURNS = 2000 };
static int turn; /* guarded by m */
static int turns[2];
static int missed; /* atomic: notifies that found the other thread not waiting */

static void *turn_taker(void *arg) {
  int me = (int)(intptr_t)arg;
  tpark_mutex_lock(&m);
  for (int i = 0; i < TURNS; i++) {
    while (turn != me) {
      if (i % 2) {
        tpark_cond_wait(&c, &m);
      } else {
        tpark_cond_wait_until(&c, &m, tpark_lot_deadline(UINT64_C(3600) * 1000 * MS));
      }
    }
    turns[me]++;
    turn = 1 - me;
    /* The other thread waits, unless it has not started or has finished. */
    if (!tpark_cond_notify_one(&c) && turns[1 - me] != 0 && turns[1 - me] != TURNS) {
      __atomic_add_fetch(&missed, 1, __ATOMIC_SEQ_CST);
    }
  }
  tpark_mutex_unlock(&m);
  return NULL;
}

START_TEST(ping_pong_takes_turns) {
  turn = 0;
  turns[0] = turns[1] = missed = 0;
  pthread_t t[2];
  for (int i = 0; i < 2; i++) start(&t[i], turn_taker, (void *)(intptr_t)i);
  for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  ck_assert_int_eq(turns[0], TURNS);
  ck_assert_int_eq(turns[1], TURNS);
  ck_assert_int_eq(missed, 0);
  assert_idle();
}
END_TEST

/* ---- timeouts racing notifies ---- */

static int notified; /* atomic: notify_one calls that returned true */
static int notify_calls;
static uint64_t race_timeout;
static tpark_instant race_start;

static void *notifier_main(void *arg) {
  (void)arg;
  for (int i = 0; i < notify_calls; i++) {
    /* A real clock: spread over the waits' time, the last at their deadline. */
    tpark_instant at = race_start + (uint64_t)(i + 1) * race_timeout / (uint64_t)notify_calls;
    while (!subject_fake_time() && tpark_lot_now() < at) tpark_thread_yield();
    bool held = i % 2 == 0;
    if (held) tpark_mutex_lock(&m);
    if (tpark_cond_notify_one(&c)) __atomic_add_fetch(&notified, 1, __ATOMIC_SEQ_CST);
    if (held) tpark_mutex_unlock(&m);
  }
  return NULL;
}

static void *advancer_main(void *arg) {
  (void)arg;
  subject_advance(race_timeout);
  return NULL;
}

/* Waiters with a deadline against a notifier (and, on a fake clock, a thread
 * moving the clock past the deadline at the same time): every notify_one
 * that returned true made exactly one wait return true, and no wait that
 * returned false was notified. */
START_TEST(timeouts_race_notifies) {
  enum { N = 4 };
  int rounds = subject_fake_time() ? 40 : 200;
  race_timeout = MS;
  notify_calls = N - 1;
  int true_waits = 0, false_waits = 0;
  __atomic_store_n(&notified, 0, __ATOMIC_SEQ_CST);
  for (int r = 0; r < rounds; r++) {
    waiter w[N];
    /* The clock starts once the threads exist (slow to start under Wine). */
    __atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
    start_waiters(w, N, &m, 0);
    race_start = tpark_lot_now();
    for (int i = 0; i < N; i++) w[i].deadline = race_start + race_timeout;
    __atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
    /* Fake clock, every other round: all are surely waiting. */
    if (subject_fake_time() && r % 2) wait_queued(&c, N);
    pthread_t notifier, advancer;
    start(&notifier, notifier_main, NULL);
    if (subject_fake_time()) start(&advancer, advancer_main, NULL);
    ck_assert_int_eq(pthread_join(notifier, NULL), 0);
    if (subject_fake_time()) {
      ck_assert_int_eq(pthread_join(advancer, NULL), 0);
      /* Move the clock until every wait has returned: a wait that read the
       * clock before an advance and slept after it, with a relative OS
       * timeout (the Windows fakes), ends only an advance later. */
      for (int i = 0; i < 60000 && returned_now() < N; i++) {
        subject_advance(race_timeout);
        test_sleep_ms(1);
      }
    }
    join_waiters(w, N);
    for (int i = 0; i < N; i++) {
      ck_assert_int_ge(w[i].result, 0);
      if (w[i].result) {
        true_waits++;
      } else {
        false_waits++;
      }
    }
    ck_assert_int_eq(true_waits, __atomic_load_n(&notified, __ATOMIC_SEQ_CST));
    assert_idle();
  }
  /* Both outcomes happened (else this raced nothing): certain on a fake
   * clock (the rounds that wait for all four); likely, so only printed, on a
   * real one. */
  printf("%s: %d waits notified, %d timed out\n", subject_backend_name(), true_waits, false_waits);
  if (subject_fake_time()) {
    ck_assert_int_gt(true_waits, 0);
    ck_assert_int_gt(false_waits, 0);
  }
}
END_TEST

/* After every waiter timed out, the cond is idle, and works again, here with
 * another mutex (allowed once nobody waits). */
START_TEST(reused_after_every_waiter_timed_out) {
  enum { N = 3 };
  waiter w[N];
  tpark_instant deadline = tpark_lot_deadline(5 * MS);
  start_waiters(w, N, &m, deadline);
  if (subject_fake_time()) {
    wait_queued(&c, N);
    subject_wait_sleepers(N, 60000); /* asleep first, as above */
    subject_advance(5 * MS);
  }
  join_waiters(w, N);
  for (int i = 0; i < N; i++) ck_assert_int_eq(w[i].result, 0);
  assert_idle();

  start_waiters(w, N, &m2, TPARK_NEVER);
  wait_queued(&c, N);
  tpark_mutex_lock(&m2);
  ck_assert_uint_eq(tpark_cond_notify_all(&c), N);
  tpark_mutex_unlock(&m2);
  join_waiters(w, N);
  for (int i = 0; i < N; i++) ck_assert_int_eq(w[i].result, 1);
  assert_idle();
}
END_TEST

/* Waiting with a second mutex while the first one's waiter is queued: a
 * message and abort (in a child process). */
static void wait_with_two_mutexes(void) {
  waiter w[1];
  start_waiters(w, 1, &m, TPARK_NEVER);
  wait_queued(&c, 1);
  tpark_mutex_lock(&m2);
  tpark_cond_wait(&c, &m2);
}

START_TEST(two_mutexes_at_once_abort) {
  static const char *const want[] = {"tpark_cond_wait", "waited on with mutex",
                                     "its waiters use mutex"};
  expect_abort(wait_with_two_mutexes, setup, want, 3);
  assert_idle(); /* the child's state, not ours */
}
END_TEST

/* ---- a bounded queue: exactly-once delivery ---- */

#define SLOTS 4
#define PRODUCERS 3
#define CONSUMERS 3
/* c is not_empty */
static unsigned ring[SLOTS], head, count, taken, total;
static unsigned char *seen; /* per item: how many consumers got it (atomic) */
static int per_producer;
static uint64_t pop_timeout; /* 0: no deadline */

static void *producer_main(void *arg) {
  unsigned first = (unsigned)(uintptr_t)arg * (unsigned)per_producer;
  for (int i = 0; i < per_producer; i++) {
    tpark_mutex_lock(&m);
    while (count == SLOTS) tpark_cond_wait(&not_full, &m);
    ring[(head + count++) % SLOTS] = first + (unsigned)i;
    tpark_cond_notify_one(&c);
    tpark_mutex_unlock(&m);
  }
  return NULL;
}

static void *consumer_main(void *arg) {
  (void)arg;
  tpark_mutex_lock(&m);
  for (;;) {
    while (count == 0 && taken < total) {
      if (pop_timeout == 0) {
        tpark_cond_wait(&c, &m);
      } else {
        tpark_cond_wait_until(&c, &m, tpark_lot_deadline(pop_timeout)); /* false: look again */
      }
    }
    if (taken == total) break;
    unsigned item = ring[head];
    head = (head + 1) % SLOTS;
    count--;
    if (++taken == total) tpark_cond_notify_all(&c); /* the others stop too */
    tpark_cond_notify_one(&not_full);
    tpark_mutex_unlock(&m);
    __atomic_add_fetch(&seen[item], 1, __ATOMIC_RELAXED);
    tpark_mutex_lock(&m);
  }
  tpark_mutex_unlock(&m);
  return NULL;
}

START_TEST(queue_delivers_each_item_once) {
  per_producer = subject_fake_time() ? 1000 : 20000;
  total = (unsigned)(PRODUCERS * per_producer);
  head = count = taken = 0;
  /* Real clocks: timed pops too, so that timeouts race the notifies. */
  pop_timeout = subject_fake_time() ? 0 : MS / 10;
  static unsigned char counts[PRODUCERS * 20000];
  seen = counts;
  memset(counts, 0, sizeof counts);
  pthread_t p[PRODUCERS], q[CONSUMERS];
  for (int i = 0; i < CONSUMERS; i++) start(&q[i], consumer_main, NULL);
  for (int i = 0; i < PRODUCERS; i++) start(&p[i], producer_main, (void *)(uintptr_t)i);
  for (int i = 0; i < PRODUCERS; i++) ck_assert_int_eq(pthread_join(p[i], NULL), 0);
  for (int i = 0; i < CONSUMERS; i++) ck_assert_int_eq(pthread_join(q[i], NULL), 0);
  for (unsigned i = 0; i < total; i++)
    ck_assert_msg(counts[i] == 1, "item %u came %d times", i, counts[i]);
  ck_assert_uint_eq(count, 0);
  ck_assert_ptr_null(__atomic_load_n(&not_full.mutex_, __ATOMIC_SEQ_CST));
  assert_idle();
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2 || !subject_open(argv[1])) return 2;
  char suite_name[64];
  snprintf(suite_name, sizeof suite_name, "cond[%s]", argv[1]);
  Suite *s = suite_create(suite_name);
  TCase *tc = new_tcase("cond");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, cond_is_a_pointer_and_zero_is_idle);
  tcase_add_test(tc, notify_one_wakes_exactly_one);
  tcase_add_test(tc, notify_all_counts_every_waiter);
  tcase_add_test(tc, wait_until_times_out_never_early);
  tcase_add_test(tc, notified_then_late_for_the_mutex_is_notified);
  tcase_add_test(tc, requeued_then_late_for_the_mutex_is_notified);
  tcase_add_test(tc, ping_pong_takes_turns);
  tcase_add_test(tc, timeouts_race_notifies);
  tcase_add_test(tc, reused_after_every_waiter_timed_out);
  tcase_add_test(tc, two_mutexes_at_once_abort);
  tcase_add_test(tc, queue_delivers_each_item_once);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
