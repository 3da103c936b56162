/* The parking lot's semantics one by one (tpark/lot.h), on the mock as the
 * process default backend, so that every timeout and the fair timer run on
 * the fake clock; plus the table's growth under load and the release of
 * each thread's data. (The locks on the fake clock: mutex_test.c.) */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/lot_internal.h"
#include "tests/mock_default.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/backend.h"
#include "tpark/lot.h"
#include "tpark/mock.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(_WIN32)
#include <windows.h>
#endif

/* ---- a thread parked in the lot ---- */

typedef struct waiter {
  const void *key;
  uintptr_t park_token;
  tpark_instant deadline;
  bool valid; /* what validate answers */
  pthread_t thread;
  tpark_lot_park_result result;
  int validated, queued, timed_out_calls; /* atomic */
  const void *timed_out_key;
  bool was_last;
} waiter;

static bool w_validate(void *c) {
  waiter *w = c;
  __atomic_store_n(&w->validated, 1, __ATOMIC_SEQ_CST);
  return w->valid;
}

static void w_before_sleep(void *c) {
  waiter *w = c;
  __atomic_store_n(&w->queued, 1, __ATOMIC_SEQ_CST);
}

static void w_timed_out(void *c, const void *key, bool was_last) {
  waiter *w = c;
  w->timed_out_key = key;
  w->was_last = was_last;
  __atomic_add_fetch(&w->timed_out_calls, 1, __ATOMIC_SEQ_CST);
}

static void *w_main(void *c) {
  waiter *w = c;
  w->result = tpark_lot_park(w->key, w_validate, w_before_sleep, w_timed_out, w, w->park_token,
                             w->deadline);
  return NULL;
}

/* Waits (real time, generous) until *flag is set. */
static void wait_flag(int *flag) {
  for (int i = 0; i < 60000 && !__atomic_load_n(flag, __ATOMIC_SEQ_CST); i++) test_sleep_ms(1);
  ck_assert_msg(__atomic_load_n(flag, __ATOMIC_SEQ_CST), "a thread never got there");
}

/* Starts a thread parking on key; returns once it is queued (or, when
 * valid is false, once validate has run). */
static void w_start(waiter *w, const void *key, uintptr_t token, tpark_instant deadline,
                    bool valid) {
  memset(w, 0, sizeof *w);
  w->key = key;
  w->park_token = token;
  w->deadline = deadline;
  w->valid = valid;
  ck_assert_int_eq(pthread_create(&w->thread, NULL, w_main, w), 0);
  wait_flag(valid ? &w->queued : &w->validated);
}

static void w_join(waiter *w) { ck_assert_int_eq(pthread_join(w->thread, NULL), 0); }

/* ---- an unpark callback that records its calls ---- */

typedef struct recorder {
  int calls;
  tpark_lot_unpark_result last;
  tpark_lot_requeue_op op;
  uintptr_t token; /* what it returns */
} recorder;

static uintptr_t r_callback(void *c, tpark_lot_unpark_result r) {
  recorder *rec = c;
  rec->calls++;
  rec->last = r;
  return rec->token;
}

static uintptr_t r_requeue_callback(void *c, tpark_lot_requeue_op op, tpark_lot_unpark_result r) {
  recorder *rec = c;
  rec->op = op;
  return r_callback(c, r);
}

static char key_a, key_b;

START_TEST(fifo_per_key) {
  waiter w[3];
  for (int i = 0; i < 3; i++) w_start(&w[i], &key_a, 0, TPARK_NEVER, true);
  for (int i = 0; i < 3; i++) {
    recorder rec = {0};
    rec.token = 100 + (uintptr_t)i;
    tpark_lot_unpark_result r = tpark_lot_unpark_one(&key_a, r_callback, &rec);
    ck_assert_uint_eq(r.unparked_threads, 1);
    ck_assert_int_eq(r.have_more_threads, i < 2);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_uint_eq(rec.last.unparked_threads, 1);
    w_join(&w[i]); /* the oldest first: the others are still parked */
    ck_assert_int_eq(w[i].result.status, TPARK_LOT_UNPARKED);
    ck_assert_uint_eq(w[i].result.unpark_token, 100 + (uintptr_t)i);
    ck_assert_int_eq(w[i].timed_out_calls, 0);
  }
  recorder rec = {0};
  tpark_lot_unpark_result r = tpark_lot_unpark_one(&key_a, r_callback, &rec);
  ck_assert_uint_eq(r.unparked_threads, 0);
  ck_assert_int_eq(r.have_more_threads, false);
  ck_assert_int_eq(rec.calls, 1); /* called also when nobody was there */
}
END_TEST

START_TEST(keys_are_separate) {
  waiter wa, wb;
  w_start(&wa, &key_a, 0, TPARK_NEVER, true);
  w_start(&wb, &key_b, 0, TPARK_NEVER, true);
  ck_assert_uint_eq(tpark_lot_unpark_all(&key_b, 5), 1);
  w_join(&wb);
  ck_assert_uint_eq(wb.result.unpark_token, 5);
  ck_assert_uint_eq(tpark_lot_unpark_all(&key_b, 5), 0);
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, NULL, NULL).unparked_threads, 1);
  w_join(&wa);
  ck_assert_uint_eq(wa.result.unpark_token, TPARK_LOT_DEFAULT_UNPARK_TOKEN);
}
END_TEST

START_TEST(invalid_does_not_park) {
  waiter w;
  w_start(&w, &key_a, 0, TPARK_NEVER, false);
  w_join(&w);
  ck_assert_int_eq(w.result.status, TPARK_LOT_INVALID);
  ck_assert_int_eq(w.queued, 0); /* before_sleep not called */
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, NULL, NULL).unparked_threads, 0);
}
END_TEST

/* before_sleep runs once the thread is queued and the bucket lock is free:
 * an unpark made from there (by another thread) finds it, and the wake-up
 * that comes before the sleep is not lost. */
static int bs_flag, bs_unparked;
static void bs_before_sleep(void *c) {
  (void)c;
  __atomic_store_n(&bs_flag, 1, __ATOMIC_SEQ_CST);
  wait_flag(&bs_unparked); /* the callback ran: we were queued */
}
static uintptr_t bs_callback(void *c, tpark_lot_unpark_result r) {
  (void)c;
  if (r.unparked_threads == 1) __atomic_store_n(&bs_unparked, 1, __ATOMIC_SEQ_CST);
  return 9;
}
static void *bs_main(void *c) {
  tpark_lot_park_result *r = c;
  *r = tpark_lot_park(&key_a, NULL, bs_before_sleep, NULL, NULL, 0, TPARK_NEVER);
  return NULL;
}

START_TEST(before_sleep_after_queueing) {
  pthread_t t;
  tpark_lot_park_result r;
  bs_flag = bs_unparked = 0;
  ck_assert_int_eq(pthread_create(&t, NULL, bs_main, &r), 0);
  wait_flag(&bs_flag);
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, bs_callback, NULL).unparked_threads, 1);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(r.status, TPARK_LOT_UNPARKED);
  ck_assert_uint_eq(r.unpark_token, 9);
}
END_TEST

/* A before_sleep that wakes its own key picks its own thread (the only one
 * queued): that thread must skip its park, not unpark its own parker (which
 * hangs on keyed_event and breaks checked mode's "no self-unpark"). */
static uintptr_t self_token(void *ctx, tpark_lot_unpark_result r) {
  (void)ctx;
  ck_assert_uint_eq(r.unparked_threads, 1);
  return 7;
}

static void wake_own_key(void *ctx) {
  (void)ctx;
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, self_token, NULL).unparked_threads, 1);
}

START_TEST(an_unpark_in_before_sleep_skips_the_park) {
  tpark_lot_park_result r = tpark_lot_park(&key_a, NULL, wake_own_key, NULL, NULL, 0, TPARK_NEVER);
  ck_assert_int_eq(r.status, TPARK_LOT_UNPARKED);
  ck_assert_uint_eq(r.unpark_token, 7);
  tpark_mock_event events[16];
  size_t n = tpark_mock_events(mock, events, 16);
  for (size_t i = 0; i < n && i < 16; i++) {
    ck_assert_msg(events[i].op == TPARK_MOCK_PREPARE, "event %lu: %s", (unsigned long)i,
                  tpark_mock_op_name(events[i].op));
  }
  ck_assert_uint_eq(tpark__lot_queued(&key_a), 0);
}
END_TEST

START_TEST(timeouts_on_the_fake_clock) {
  waiter w1, w2;
  w_start(&w1, &key_a, 0, 100 * MS, true);
  w_start(&w2, &key_a, 0, 200 * MS, true);
  tpark_mock_advance(mock, 100 * MS - 1);
  ck_assert(tpark_mock_wait_sleepers(mock, 2, 60000)); /* nobody timed out early */
  tpark_mock_advance(mock, 1);
  w_join(&w1);
  ck_assert_int_eq(w1.result.status, TPARK_LOT_TIMED_OUT);
  ck_assert_int_eq(w1.timed_out_calls, 1);
  ck_assert_ptr_eq(w1.timed_out_key, &key_a);
  ck_assert_int_eq(w1.was_last, false); /* w2 still waits */
  tpark_mock_advance(mock, 100 * MS);
  w_join(&w2);
  ck_assert_int_eq(w2.result.status, TPARK_LOT_TIMED_OUT);
  ck_assert_int_eq(w2.timed_out_calls, 1);
  ck_assert_int_eq(w2.was_last, true);
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, NULL, NULL).unparked_threads, 0);
}
END_TEST

/* was_last looks both ways: here the only other waiter is ahead. */
START_TEST(timeout_with_a_waiter_ahead_is_not_last) {
  waiter w1, w2;
  w_start(&w1, &key_a, 0, 200 * MS, true);
  w_start(&w2, &key_a, 0, 100 * MS, true);
  tpark_mock_advance(mock, 100 * MS);
  w_join(&w2);
  ck_assert_int_eq(w2.result.status, TPARK_LOT_TIMED_OUT);
  ck_assert_int_eq(w2.was_last, false);
  tpark_mock_advance(mock, 100 * MS);
  w_join(&w1);
  ck_assert_int_eq(w1.was_last, true);
}
END_TEST

/* An unpark that picks a thread just as its park times out wins: the
 * thread returns UNPARKED with the token, and timed_out is not called.
 * The callback runs under the bucket lock: there it lets the deadline pass
 * and waits until the thread's park_until has returned false. */
static uintptr_t race_callback(void *c, tpark_lot_unpark_result r) {
  (void)c;
  ck_assert_uint_eq(r.unparked_threads, 1);
  tpark_mock_advance(mock, 10 * MS);
  for (int i = 0; i < 60000; i++) {
    size_t n = tpark_mock_events(mock, NULL, 0);
    tpark_mock_event *ev = malloc(n * sizeof *ev);
    tpark_mock_events(mock, ev, n);
    bool timed_out = false;
    for (size_t k = 0; k < n; k++) timed_out |= ev[k].op == TPARK_MOCK_TIMED_OUT;
    free(ev);
    if (timed_out) return 5;
    test_sleep_ms(1);
  }
  ck_abort_msg("the park never timed out");
  return 0;
}

START_TEST(unpark_wins_over_a_racing_timeout) {
  waiter w;
  w_start(&w, &key_a, 0, 10 * MS, true);
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, race_callback, NULL).unparked_threads, 1);
  w_join(&w);
  ck_assert_int_eq(w.result.status, TPARK_LOT_UNPARKED);
  ck_assert_uint_eq(w.result.unpark_token, 5);
  ck_assert_int_eq(w.timed_out_calls, 0);
}
END_TEST

START_TEST(past_deadline_times_out) {
  tpark_mock_advance(mock, 5 * MS);
  tpark_lot_park_result r = tpark_lot_park(&key_a, NULL, NULL, NULL, NULL, 0, 5 * MS);
  ck_assert_int_eq(r.status, TPARK_LOT_TIMED_OUT);
  ck_assert_uint_eq(tpark_lot_now(), 5 * MS);
  ck_assert_uint_eq(tpark_lot_deadline(7), 5 * MS + 7);
  ck_assert_uint_eq(tpark_lot_deadline(UINT64_MAX), TPARK_NEVER);
}
END_TEST

static tpark_lot_requeue_op op_to_use;
static int validate_calls;
static tpark_lot_requeue_op rq_validate(void *c) {
  (void)c;
  validate_calls++;
  return op_to_use;
}

START_TEST(requeue) {
  waiter w[4];
  for (int i = 0; i < 3; i++) w_start(&w[i], &key_a, 0, TPARK_NEVER, true);
  w_start(&w[3], &key_b, 0, TPARK_NEVER, true); /* already on the target */

  recorder rec = {0};
  op_to_use = TPARK_LOT_REQUEUE_ABORT;
  tpark_lot_unpark_result r =
      tpark_lot_unpark_requeue(&key_a, &key_b, rq_validate, r_requeue_callback, &rec);
  ck_assert_int_eq(validate_calls, 1);
  ck_assert_int_eq(rec.calls, 0); /* not called on abort */
  ck_assert_uint_eq(r.unparked_threads + r.requeued_threads, 0);

  op_to_use = TPARK_LOT_UNPARK_ONE_REQUEUE_REST;
  rec.token = 77;
  r = tpark_lot_unpark_requeue(&key_a, &key_b, rq_validate, r_requeue_callback, &rec);
  ck_assert_int_eq(rec.calls, 1);
  ck_assert_int_eq(rec.op, TPARK_LOT_UNPARK_ONE_REQUEUE_REST);
  ck_assert_uint_eq(r.unparked_threads, 1);
  ck_assert_uint_eq(r.requeued_threads, 2);
  ck_assert_uint_eq(rec.last.requeued_threads, 2);
  w_join(&w[0]);
  ck_assert_uint_eq(w[0].result.unpark_token, 77);
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, NULL, NULL).unparked_threads, 0);

  /* key_b's queue: w3 (first there), then w1, w2 in their order. */
  rec.token = 1;
  r = tpark_lot_unpark_one(&key_b, r_callback, &rec);
  ck_assert_uint_eq(r.unparked_threads, 1);
  w_join(&w[3]);
  ck_assert_uint_eq(w[3].result.unpark_token, 1);
  rec.token = 2;
  tpark_lot_unpark_one(&key_b, r_callback, &rec);
  w_join(&w[1]);
  ck_assert_uint_eq(w[1].result.unpark_token, 2);

  /* A requeued thread that times out reports its new key, last on it. */
  ck_assert(tpark_mock_wait_sleepers(mock, 1, 60000));
  ck_assert_uint_eq(tpark_lot_unpark_all(&key_b, 3), 1);
  w_join(&w[2]);
  ck_assert_uint_eq(w[2].result.unpark_token, 3);
}
END_TEST

START_TEST(requeue_one_and_timeout_on_new_key) {
  waiter w[2];
  w_start(&w[0], &key_a, 0, 50 * MS, true);
  w_start(&w[1], &key_a, 0, TPARK_NEVER, true);
  op_to_use = TPARK_LOT_REQUEUE_ONE;
  recorder rec = {0};
  tpark_lot_unpark_result r =
      tpark_lot_unpark_requeue(&key_a, &key_b, rq_validate, r_requeue_callback, &rec);
  ck_assert_uint_eq(r.unparked_threads, 0);
  ck_assert_uint_eq(r.requeued_threads, 1);
  ck_assert_int_eq(r.have_more_threads, true);
  tpark_mock_advance(mock, 50 * MS);
  w_join(&w[0]);
  ck_assert_int_eq(w[0].result.status, TPARK_LOT_TIMED_OUT);
  ck_assert_ptr_eq(w[0].timed_out_key, &key_b);
  ck_assert_int_eq(w[0].was_last, true);
  op_to_use = TPARK_LOT_UNPARK_ONE;
  r = tpark_lot_unpark_requeue(&key_a, &key_b, rq_validate, r_requeue_callback, &rec);
  ck_assert_uint_eq(r.unparked_threads, 1);
  ck_assert_int_eq(r.have_more_threads, false);
  w_join(&w[1]);
}
END_TEST

static tpark_lot_filter_op even_tokens(void *c, uintptr_t token) {
  (void)c;
  return token % 2 == 0 ? TPARK_LOT_FILTER_UNPARK : TPARK_LOT_FILTER_SKIP;
}
static int filter_calls;
static tpark_lot_filter_op stop_at_once(void *c, uintptr_t token) {
  (void)c;
  (void)token;
  filter_calls++;
  return TPARK_LOT_FILTER_STOP;
}

START_TEST(filter) {
  waiter w[4];
  for (int i = 0; i < 4; i++) w_start(&w[i], &key_a, (uintptr_t)i, TPARK_NEVER, true);
  recorder rec = {0};
  rec.token = 42;
  tpark_lot_unpark_result r = tpark_lot_unpark_filter(&key_a, even_tokens, r_callback, &rec);
  ck_assert_uint_eq(r.unparked_threads, 2);
  ck_assert_int_eq(r.have_more_threads, true);
  ck_assert_int_eq(rec.calls, 1);
  w_join(&w[0]);
  w_join(&w[2]);
  ck_assert_uint_eq(w[0].result.unpark_token, 42);
  ck_assert_uint_eq(w[2].result.unpark_token, 42);
  r = tpark_lot_unpark_filter(&key_a, stop_at_once, r_callback, &rec);
  ck_assert_int_eq(filter_calls, 1);
  ck_assert_uint_eq(r.unparked_threads, 0);
  ck_assert_int_eq(r.have_more_threads, true);
  ck_assert_uint_eq(tpark_lot_unpark_all(&key_a, 0), 2);
  w_join(&w[1]);
  w_join(&w[3]);
}
END_TEST

/* One unpark_one of a freshly parked thread: its be_fair. */
static bool unpark_one_fair(void) {
  waiter w;
  w_start(&w, &key_a, 0, TPARK_NEVER, true);
  tpark_lot_unpark_result r = tpark_lot_unpark_one(&key_a, NULL, NULL);
  ck_assert_uint_eq(r.unparked_threads, 1);
  w_join(&w);
  return r.be_fair;
}

START_TEST(fair_timer_on_the_fake_clock) {
  /* Synchronise with the bucket's timer: it fires within 1 ms. */
  int tries = 0;
  while (!unpark_one_fair()) {
    ck_assert_int_lt(++tries, 3);
    tpark_mock_advance(mock, MS + 1);
  }
  /* Fired: it is rearmed 0 to 1 ms ahead, so not at the same instant... */
  ck_assert(!unpark_one_fair());
  ck_assert(!unpark_one_fair());
  /* ...and again once 1 ms has passed. */
  tpark_mock_advance(mock, MS + 1);
  ck_assert(unpark_one_fair());
  ck_assert(!unpark_one_fair());
}
END_TEST

/* ---- growth and per-thread data ---- */

#define GROW_KEYS 8
#define GROW_THREADS 120
static char grow_keys[GROW_KEYS];

START_TEST(table_grows_without_losing_anybody) {
  /* Some threads park first; many more start and park while the table
   * grows for them (each new thread's first park may grow it). */
  static waiter w[GROW_THREADS];
  for (int i = 0; i < GROW_THREADS; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].key = &grow_keys[i % GROW_KEYS];
    w[i].deadline = TPARK_NEVER;
    w[i].valid = true;
    ck_assert_int_eq(pthread_create(&w[i].thread, NULL, w_main, &w[i]), 0);
  }
  for (int i = 0; i < GROW_THREADS; i++) wait_flag(&w[i].queued);
  ck_assert_uint_ge(tpark__lot_table_size(), 3 * tpark__thread_live());
  ck_assert_uint_ge(tpark__lot_table_size(), 3 * GROW_THREADS);
  size_t woken = 0;
  for (int k = 0; k < GROW_KEYS; k++) woken += tpark_lot_unpark_all(&grow_keys[k], 1);
  ck_assert_uint_eq(woken, GROW_THREADS);
  for (int i = 0; i < GROW_THREADS; i++) {
    w_join(&w[i]);
    ck_assert_int_eq(w[i].result.status, TPARK_LOT_UNPARKED);
  }
}
END_TEST

/* Growth while other threads park and unpark all along. */
static int churn_stop;
static char churn_key;
static bool churn_go_on(void *c) {
  (void)c;
  return !__atomic_load_n(&churn_stop, __ATOMIC_SEQ_CST);
}
static void *churner(void *c) {
  (void)c;
  while (tpark_lot_park(&churn_key, churn_go_on, NULL, NULL, NULL, 0, TPARK_NEVER).status ==
         TPARK_LOT_UNPARKED) {
  }
  return NULL;
}
static void *newcomer(void *c) {
  waiter *w = c;
  return w_main(w); /* parks on its own key until woken */
}

START_TEST(growth_during_churn) {
  enum { CHURNERS = 4, NEWCOMERS = 64 };
  pthread_t c[CHURNERS];
  static waiter n[NEWCOMERS];
  static char keys[NEWCOMERS];
  churn_stop = 0;
  for (int i = 0; i < CHURNERS; i++) {
    ck_assert_int_eq(pthread_create(&c[i], NULL, churner, NULL), 0);
  }
  /* Newcomers stay parked, so the table must keep growing for them while
   * the churners are queued and woken in the buckets being moved. */
  for (int i = 0; i < NEWCOMERS; i++) {
    memset(&n[i], 0, sizeof n[i]);
    n[i].key = &keys[i];
    n[i].deadline = TPARK_NEVER;
    n[i].valid = true;
    ck_assert_int_eq(pthread_create(&n[i].thread, NULL, newcomer, &n[i]), 0);
    tpark_lot_unpark_one(&churn_key, NULL, NULL);
  }
  for (int i = 0; i < NEWCOMERS; i++) wait_flag(&n[i].queued);
  for (int i = 0; i < NEWCOMERS; i++) {
    ck_assert_uint_eq(tpark_lot_unpark_all(&keys[i], 1), 1);
    w_join(&n[i]);
  }
  /* A churner lost in a resize would hang its join (the test times out). */
  __atomic_store_n(&churn_stop, 1, __ATOMIC_SEQ_CST);
  tpark_lot_unpark_all(&churn_key, 0);
  for (int i = 0; i < CHURNERS; i++) ck_assert_int_eq(pthread_join(c[i], NULL), 0);
}
END_TEST

static void *park_and_exit(void *c) {
  (void)c;
  /* A real park cycle that times out at once (past deadline). */
  tpark_lot_park_result r = tpark_lot_park(&key_a, NULL, NULL, NULL, NULL, 0, 0);
  return (void *)(uintptr_t)(r.status == TPARK_LOT_TIMED_OUT);
}

#if defined(_WIN32)
#define EXIT_THREADS 2000 /* thread creation under Wine is slow */
#else
#define EXIT_THREADS 10000
#endif

START_TEST(thread_data_released_at_exit) {
  size_t live_before = tpark__thread_live();
#if defined(__GLIBC__)
  /* Warm up: the first threads allocate stacks and TLS that glibc caches. */
  for (int i = 0; i < 100; i++) {
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, park_and_exit, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
  }
  struct mallinfo2 before = mallinfo2();
#endif
  for (int i = 0; i < EXIT_THREADS; i++) {
    pthread_t t;
    void *ok;
    ck_assert_int_eq(pthread_create(&t, NULL, park_and_exit, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &ok), 0);
    ck_assert_msg(ok != NULL, "the park did not time out");
  }
  ck_assert_uint_eq(tpark__thread_live(), live_before);
#if defined(__GLIBC__)
  struct mallinfo2 after = mallinfo2();
  /* One leaked thread data each would be > 100 bytes x 10 000. */
  ck_assert_msg(after.uordblks < before.uordblks + 64 * 1024,
                "heap grew by %zu bytes over %d threads", after.uordblks - before.uordblks,
                EXIT_THREADS);
#endif
}
END_TEST

#if defined(_WIN32)
/* A thread that winpthreads did not create (CreateThread) gets its data
 * released at exit too (winpthreads' TLS callback runs the key's
 * destructor). */
static DWORD WINAPI native_park_and_exit(LPVOID c) { return park_and_exit(c) != NULL ? 0 : 1; }

START_TEST(thread_data_released_at_exit_of_a_native_thread) {
  size_t live_before = tpark__thread_live();
  for (int i = 0; i < 200; i++) {
    HANDLE h = CreateThread(NULL, 0, native_park_and_exit, NULL, 0, NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(WaitForSingleObject(h, INFINITE), WAIT_OBJECT_0);
    DWORD code = 1;
    GetExitCodeThread(h, &code);
    CloseHandle(h);
    ck_assert_uint_eq(code, 0);
  }
  ck_assert_uint_eq(tpark__thread_live(), live_before);
}
END_TEST
#endif

/* A thread parked while one mock was the default is woken through it after
 * the default changed; its next park uses the new default. */
static void *park_twice(void *c) {
  waiter *w = c;
  w_main(w);
  __atomic_store_n(&w->queued, 0, __ATOMIC_SEQ_CST);
  w_main(w);
  return NULL;
}

static size_t sleeps_of(tpark_mock *m) {
  size_t n = tpark_mock_events(m, NULL, 0), sleeps = 0;
  tpark_mock_event *ev = malloc((n + 1) * sizeof *ev);
  tpark_mock_events(m, ev, n);
  for (size_t k = 0; k < n; k++) sleeps += ev[k].op == TPARK_MOCK_SLEEP;
  free(ev);
  return sleeps;
}

START_TEST(default_backend_change) {
  waiter w;
  memset(&w, 0, sizeof w);
  w.key = &key_a;
  w.deadline = TPARK_NEVER;
  w.valid = true;
  ck_assert_int_eq(pthread_create(&w.thread, NULL, park_twice, &w), 0);
  wait_flag(&w.queued);
  ck_assert(tpark_mock_wait_sleepers(mock, 1, 60000));
  tpark_mock *second = tpark_mock_new();
  tpark_set_default_backend(tpark_mock_backend(second));
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, NULL, NULL).unparked_threads, 1);
  ck_assert(tpark_mock_wait_sleepers(second, 1, 60000)); /* parked again, on the new default */
  ck_assert_uint_eq(sleeps_of(mock), 1);
  ck_assert_uint_eq(tpark_lot_unpark_one(&key_a, NULL, NULL).unparked_threads, 1);
  w_join(&w);
  tpark_set_default_backend(tpark_mock_backend(mock));
  tpark_mock_free(second);
}
END_TEST

/* Backend ABI: version 1 structs are still accepted; a native address wait
 * needs both of its members. */
static bool fake_wait(const tpark_backend *self, volatile void *addr, const void *compare,
                      size_t size, tpark_instant deadline) {
  (void)self;
  (void)addr;
  (void)compare;
  (void)size;
  (void)deadline;
  return true;
}
START_TEST(backend_abi_versions) {
  tpark_backend b = *tpark_mock_backend(mock);
  tpark_parker p;
  ck_assert_uint_eq(TPARK_BACKEND_ABI_VERSION, 2);
  b.abi_version = 1;
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_OK);
  b.abi_version = 2;
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_OK);
  b.wait_on_address = fake_wait;
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_EINVAL); /* wake_by_address missing */
  b.abi_version = 1;                                       /* version 1: the member is not read */
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_OK);
  b.abi_version = 3;
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_EINVAL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("lot");
  TCase *tc = new_tcase("lot");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, fifo_per_key);
  tcase_add_test(tc, keys_are_separate);
  tcase_add_test(tc, invalid_does_not_park);
  tcase_add_test(tc, before_sleep_after_queueing);
  tcase_add_test(tc, an_unpark_in_before_sleep_skips_the_park);
  tcase_add_test(tc, timeouts_on_the_fake_clock);
  tcase_add_test(tc, timeout_with_a_waiter_ahead_is_not_last);
  tcase_add_test(tc, unpark_wins_over_a_racing_timeout);
  tcase_add_test(tc, past_deadline_times_out);
  tcase_add_test(tc, requeue);
  tcase_add_test(tc, requeue_one_and_timeout_on_new_key);
  tcase_add_test(tc, filter);
  tcase_add_test(tc, fair_timer_on_the_fake_clock);
  tcase_add_test(tc, table_grows_without_losing_anybody);
  tcase_add_test(tc, growth_during_churn);
  tcase_add_test(tc, thread_data_released_at_exit);
#if defined(_WIN32)
  tcase_add_test(tc, thread_data_released_at_exit_of_a_native_thread);
#endif
  tcase_add_test(tc, default_backend_change);
  tcase_add_test(tc, backend_abi_versions);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
