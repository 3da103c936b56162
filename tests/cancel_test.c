/* No tpark wait is a cancellation point (tpark/tpark.h), on any backend: a
 * thread cancelled while it waits in tpark_mutex_lock or tpark_park stays in
 * its wait with the cancel pending, returns from it as usual, and is
 * cancelled at its next cancellation point.
 *
 * Where a backend sleeps in pthread_cond_wait (the condvar backend, the mock)
 * and let the cancel act there, the thread unwound from inside the lot with
 * its data still queued (freed by the key destructor: a use-after-free in the
 * next unlock) and the backend's mutex locked (the next park or unpark in
 * that bucket hangs). So a thread seen unwinding inside its wait ends the
 * program at once with a message: nothing after it could run.
 *
 * One subject per program (the argument), made the process default. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lot_internal.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/lot.h"
#include "tpark/mutex.h"

#define MS UINT64_C(1000000)

/* How long a thread gets to show it was cancelled inside its wait. A wait
 * that is a cancellation point acts on the cancel as soon as the thread runs
 * (within microseconds); the fixed code waits here for nothing every time. */
#define UNWIND_GRACE_MS 500

static void setup(void) {
  subject_setup();
  ck_assert_ptr_nonnull(subject_backend());
  tpark_set_default_backend(subject_backend());
}

static void teardown(void) {
  tpark_set_default_backend(NULL);
  subject_teardown();
}

/* ---- the cancelled thread ---- */

typedef struct victim {
  bool timed; /* the timed variant of the wait (a timed OS wait) */
  pthread_t thread;
  int ready;    /* atomic: about to wait */
  int returned; /* atomic: its wait returned */
  int unwound;  /* atomic: its cancellation cleanup ran */
} victim;

static void on_unwind(void *c) { __atomic_store_n(&((victim *)c)->unwound, 1, __ATOMIC_SEQ_CST); }

static tpark_mutex m;

static void *lock_main(void *c) {
  victim *v = c;
  pthread_cleanup_push(on_unwind, v);
  __atomic_store_n(&v->ready, 1, __ATOMIC_SEQ_CST);
  if (v->timed) {
    if (tpark_mutex_lock_until(&m, tpark_lot_deadline(3600000 * MS))) {
      __atomic_store_n(&v->returned, 1, __ATOMIC_SEQ_CST);
      tpark_mutex_unlock(&m);
    }
  } else {
    tpark_mutex_lock(&m);
    __atomic_store_n(&v->returned, 1, __ATOMIC_SEQ_CST);
    tpark_mutex_unlock(&m);
  }
  pthread_testcancel(); /* the pending cancel acts here */
  pthread_cleanup_pop(0);
  return NULL;
}

static tpark_parker parker;

static void *park_main(void *c) {
  victim *v = c;
  pthread_cleanup_push(on_unwind, v);
  tpark_prepare_park(&parker);
  __atomic_store_n(&v->ready, 1, __ATOMIC_SEQ_CST);
  if (v->timed) {
    if (tpark_park_until(&parker, tpark_deadline(&parker, 3600000 * MS))) {
      __atomic_store_n(&v->returned, 1, __ATOMIC_SEQ_CST);
    }
  } else {
    tpark_park(&parker);
    __atomic_store_n(&v->returned, 1, __ATOMIC_SEQ_CST);
  }
  pthread_testcancel();
  pthread_cleanup_pop(0);
  return NULL;
}

static void wait_until(int *flag) {
  for (int i = 0; i < 60000 && !__atomic_load_n(flag, __ATOMIC_SEQ_CST); i++) test_sleep_ms(1);
  ck_assert_msg(__atomic_load_n(flag, __ATOMIC_SEQ_CST), "the thread never got there");
}

/* Cancels v, which waits in `what`; it must not leave that wait. */
static void cancel_in_wait(victim *v, const char *what) {
  subject_wait_sleepers(1, 60000); /* the mock: really asleep; else a pause */
  ck_assert_int_eq(pthread_cancel(v->thread), 0);
  for (int i = 0; i < UNWIND_GRACE_MS && !__atomic_load_n(&v->unwound, __ATOMIC_SEQ_CST); i++) {
    test_sleep_ms(1);
  }
  if (__atomic_load_n(&v->unwound, __ATOMIC_SEQ_CST) ||
      __atomic_load_n(&v->returned, __ATOMIC_SEQ_CST)) {
    fprintf(stderr,
            "FAIL: %s: a thread cancelled in %s%s %s inside its wait: the wait is a cancellation "
            "point\n",
            subject_backend_name(), what, v->timed ? " (timed)" : "",
            __atomic_load_n(&v->unwound, __ATOMIC_SEQ_CST) ? "unwound" : "returned");
    fflush(stderr);
    _Exit(1); /* the lot or the backend is broken now: stop here */
  }
}

/* After the wait returned: the cancel acted at the thread's own
 * cancellation point. */
static void join_cancelled(victim *v) {
  void *ret = NULL;
  ck_assert_int_eq(pthread_join(v->thread, &ret), 0);
  ck_assert_msg(ret == PTHREAD_CANCELED, "the thread was not cancelled after its wait");
  ck_assert_int_eq(__atomic_load_n(&v->returned, __ATOMIC_SEQ_CST), 1);
  ck_assert_int_eq(__atomic_load_n(&v->unwound, __ATOMIC_SEQ_CST), 1);
}

/* ---- a plain contender, to see that the lot still works ---- */

static int contender_done;

static void *contender_main(void *c) {
  (void)c;
  tpark_mutex_lock(&m);
  __atomic_store_n(&contender_done, 1, __ATOMIC_SEQ_CST);
  tpark_mutex_unlock(&m);
  return NULL;
}

static void wait_queued(const void *key) {
  for (int i = 0; i < 60000 && tpark__lot_queued(key) == 0; i++) test_sleep_ms(1);
  ck_assert_uint_eq(tpark__lot_queued(key), 1);
}

/* A contended lock of m, parked and woken through the same bucket. */
static void contended_lock_works(void) {
  pthread_t t;
  contender_done = 0;
  tpark_mutex_lock(&m);
  ck_assert_int_eq(pthread_create(&t, NULL, contender_main, NULL), 0);
  wait_queued(&m);
  tpark_mutex_unlock(&m);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(contender_done, 1);
}

START_TEST(mutex_lock_is_not_a_cancellation_point) {
  for (int timed = 0; timed < 2; timed++) {
    victim v;
    memset(&v, 0, sizeof v);
    v.timed = timed != 0;
    tpark_mutex_lock(&m);
    ck_assert_int_eq(pthread_create(&v.thread, NULL, lock_main, &v), 0);
    wait_until(&v.ready);
    wait_queued(&m); /* parked in the lot, on the mutex */
    cancel_in_wait(&v, "tpark_mutex_lock");
    ck_assert_uint_eq(tpark__lot_queued(&m), 1); /* still parked */
    tpark_mutex_unlock(&m);                      /* hands it to the victim */
    join_cancelled(&v);
    contended_lock_works();
  }
}
END_TEST

START_TEST(park_is_not_a_cancellation_point) {
  for (int timed = 0; timed < 2; timed++) {
    victim v;
    memset(&v, 0, sizeof v);
    v.timed = timed != 0;
    ck_assert_int_eq(tpark_init(&parker), TPARK_OK);
    ck_assert_int_eq(pthread_create(&v.thread, NULL, park_main, &v), 0);
    wait_until(&v.ready);
    cancel_in_wait(&v, "tpark_park");
    tpark_unpark(tpark_unpark_lock(&parker));
    join_cancelled(&v);
    contended_lock_works();
  }
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2 || !subject_open(argv[1])) return 2;
  Suite *s = suite_create("cancel");
  TCase *tc = new_tcase(argv[1]);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, mutex_lock_is_not_a_cancellation_point);
  tcase_add_test(tc, park_is_not_a_cancellation_point);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
