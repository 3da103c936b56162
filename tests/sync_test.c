/* Wait on address (tpark/wait.h) and the mutex (tpark/mutex.h) on one
 * subject backend (the program's argument), made the process default: each
 * size, "value already differs", timeouts (never early), wake-ups, and mutual
 * exclusion under stress at 2 to 64 threads; the recursive mutex's re-entry,
 * exclusion with re-entrant holders, and timed locks. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/child.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/backend.h"
#include "tpark/mutex.h"
#include "tpark/wait.h"

#define MS UINT64_C(1000000)

static void setup(void) {
  subject_setup();
  ck_assert_ptr_nonnull(subject_backend());
  tpark_set_default_backend(subject_backend());
}

static void teardown(void) {
  tpark_set_default_backend(NULL);
  subject_teardown();
}

static bool is_native(void) {
  const tpark_backend *b = subject_backend();
  return b->abi_version >= 2 && b->wait_on_address != NULL;
}

START_TEST(native_path_only_on_waitaddress) {
  /* The real waitaddress backend forwards to WaitOnAddress; the others
   * (and waitaddress on the fake OS, which has no WakeByAddressAll) use
   * the lot. */
  ck_assert_int_eq(is_native(),
                   strcmp(subject_backend_name(), "waitaddress") == 0 && !subject_fake_time());
}
END_TEST

/* Each size compares exactly size bytes: with the bytes around it different,
 * an equal value waits (a past deadline: false at once), a different one
 * returns true at once, also without a deadline. */
START_TEST(each_size_compares_its_bytes) {
  static const size_t sizes[] = {1, 2, 4, 8};
  for (size_t i = 0; i < 4; i++) {
    size_t size = sizes[i];
    union {
      uint64_t all[2];
      unsigned char bytes[16];
    } u;
    memset(&u, 0xAB, sizeof u);
    unsigned char *addr = u.bytes + 8 - size; /* aligned, with other bytes on both sides */
    memset(addr, 0, size);
    unsigned char compare[9] = {0};
    ck_assert_msg(!tpark_wait_on_address(addr, compare + 1, size, tpark_lot_now()),
                  "size %u: equal value did not wait", (unsigned)size);
    compare[size] = 1; /* the last byte of the compared value differs */
    ck_assert_msg(tpark_wait_on_address(addr, compare + 1, size, tpark_lot_now()),
                  "size %u: different value waited", (unsigned)size);
    ck_assert(tpark_wait_on_address(addr, compare + 1, size, TPARK_NEVER));
  }
}
END_TEST

/* ---- a waiter thread ---- */

typedef struct wait_arg {
  volatile void *addr;
  size_t size;
  uint64_t stop_value; /* loops until the variable holds it */
  tpark_instant deadline;
  int result;   /* last wait's result */
  int returned; /* atomic */
} wait_arg;

static uint64_t load_sized(volatile void *addr, size_t size) {
  switch (size) {
    case 1:
      return __atomic_load_n((volatile uint8_t *)addr, __ATOMIC_ACQUIRE);
    case 2:
      return __atomic_load_n((volatile uint16_t *)addr, __ATOMIC_ACQUIRE);
    case 4:
      return __atomic_load_n((volatile uint32_t *)addr, __ATOMIC_ACQUIRE);
    default:
      return __atomic_load_n((volatile uint64_t *)addr, __ATOMIC_ACQUIRE);
  }
}

static void *waiter_main(void *c) {
  wait_arg *w = c;
  uint64_t zero = 0; /* little or big endian: all zero bytes */
  for (;;) {
    if (load_sized(w->addr, w->size) == w->stop_value) break;
    w->result = tpark_wait_on_address(w->addr, &zero, w->size, w->deadline);
    if (!w->result) break;
  }
  __atomic_store_n(&w->returned, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void store_sized(volatile void *addr, size_t size, uint64_t v) {
  switch (size) {
    case 1:
      __atomic_store_n((volatile uint8_t *)addr, (uint8_t)v, __ATOMIC_RELEASE);
      break;
    case 2:
      __atomic_store_n((volatile uint16_t *)addr, (uint16_t)v, __ATOMIC_RELEASE);
      break;
    case 4:
      __atomic_store_n((volatile uint32_t *)addr, (uint32_t)v, __ATOMIC_RELEASE);
      break;
    default:
      __atomic_store_n((volatile uint64_t *)addr, v, __ATOMIC_RELEASE);
      break;
  }
}

START_TEST(each_size_is_woken) {
  static const size_t sizes[] = {1, 2, 4, 8};
  for (size_t i = 0; i < 4; i++) {
    static uint64_t var;
    var = 0;
    wait_arg w[2];
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
      memset(&w[k], 0, sizeof w[k]);
      w[k].addr = &var;
      w[k].size = sizes[i];
      w[k].stop_value = 1;
      w[k].deadline = TPARK_NEVER;
      ck_assert_int_eq(pthread_create(&t[k], NULL, waiter_main, &w[k]), 0);
    }
    subject_wait_sleepers(2, 2000); /* likely both asleep (fake: certainly) */
    store_sized(&var, sizes[i], 1);
    tpark_wake_by_address_all(&var);
    for (int k = 0; k < 2; k++) {
      ck_assert_int_eq(pthread_join(t[k], NULL), 0);
    }
    /* wake_single, once per waiter, wakes them too. */
    store_sized(&var, sizes[i], 0);
    for (int k = 0; k < 2; k++) {
      w[k].returned = 0;
      ck_assert_int_eq(pthread_create(&t[k], NULL, waiter_main, &w[k]), 0);
    }
    subject_wait_sleepers(2, 2000);
    store_sized(&var, sizes[i], 1);
    for (int k = 0; k < 2; k++) {
      /* A wake may find nobody yet (spurious true is allowed), so repeat
       * until this waiter is out. */
      while (!__atomic_load_n(&w[k].returned, __ATOMIC_SEQ_CST)) {
        tpark_wake_by_address_single(&var);
        test_sleep_ms(1);
      }
      ck_assert_int_eq(pthread_join(t[k], NULL), 0);
    }
  }
}
END_TEST

START_TEST(wait_times_out_never_early) {
  static uint32_t var;
  var = 0;
  wait_arg w = {&var, 4, 1, 0, 1, 0};
  w.deadline = tpark_lot_deadline(2 * MS);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, waiter_main, &w), 0);
  if (subject_fake_time()) {
    subject_wait_sleepers(1, 60000);
    subject_advance(2 * MS - 1);
    subject_wait_sleepers(1, 60000);
    ck_assert(!__atomic_load_n(&w.returned, __ATOMIC_SEQ_CST));
    subject_advance(1);
  }
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(w.result, 0);
  ck_assert_uint_ge(tpark_lot_now(), w.deadline);
}
END_TEST

static void wait_size_3(void) {
  uint32_t v = 0, c = 0;
  tpark_wait_on_address(&v, &c, 3, TPARK_NEVER);
}
static void wait_misaligned(void) {
  uint64_t v[2] = {0, 0}, c = 0;
  tpark_wait_on_address((char *)v + 2, &c, 4, TPARK_NEVER);
}
START_TEST(bad_arguments_abort_with_a_message) {
  static const char *const size[] = {"tpark_wait_on_address", "bad size", "size 3"};
  expect_abort(wait_size_3, NULL, size, 3);
  static const char *const align[] = {"tpark_wait_on_address", "not aligned"};
  expect_abort(wait_misaligned, NULL, align, 2);
}
END_TEST

/* ---- the mutex ---- */

static tpark_mutex mutex = TPARK_MUTEX_INIT;
static long counter;   /* guarded by mutex, deliberately not atomic */
static int inside;     /* guarded by mutex */
static int violations; /* atomic */
static int iterations;

static void *exclusion_main(void *c) {
  (void)c;
  for (int i = 0; i < iterations; i++) {
    tpark_mutex_lock(&mutex);
    if (inside++ != 0) __atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
    counter++;
    inside--;
    if (i % 2) {
      tpark_mutex_unlock(&mutex);
    } else if (i % 3) {
      tpark_mutex_unlock_fair(&mutex);
    } else {
      tpark_mutex_unlock(&mutex);
      while (!tpark_mutex_trylock(&mutex)) {
      }
      counter++;
      tpark_mutex_unlock(&mutex);
    }
  }
  return NULL;
}

START_TEST(mutex_exclusion_stress) {
  static const int threads[] = {2, 4, 8, 16, 32, 64};
  for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
    int n = threads[k];
    /* The mock and the fake OS serialise every call on one lock: fewer
     * rounds there. */
    iterations = (subject_fake_time() ? 2000 : 40000) / n;
    counter = 0;
    violations = 0;
    pthread_t t[64];
    for (int i = 0; i < n; i++)
      ck_assert_int_eq(pthread_create(&t[i], NULL, exclusion_main, NULL), 0);
    for (int i = 0; i < n; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    long per_thread = 0;
    for (int i = 0; i < iterations; i++) per_thread += (i % 2 == 0 && i % 3 == 0) ? 2 : 1;
    ck_assert_int_eq(violations, 0);
    ck_assert_int_eq(counter, per_thread * n);
    ck_assert_int_eq(mutex.state_, 0);
  }
}
END_TEST

static tpark_instant timed_deadline;
static int timed_result = -1;
static void *timed_locker(void *c) {
  (void)c;
  timed_result = tpark_mutex_lock_until(&mutex, timed_deadline);
  if (timed_result) tpark_mutex_unlock(&mutex);
  return NULL;
}

START_TEST(mutex_lock_until) {
  pthread_t t;
  /* Times out while held, never early. */
  tpark_mutex_lock(&mutex);
  timed_deadline = tpark_lot_deadline(2 * MS);
  ck_assert_int_eq(pthread_create(&t, NULL, timed_locker, NULL), 0);
  if (subject_fake_time()) {
    subject_wait_sleepers(1, 60000);
    subject_advance(2 * MS);
  }
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(timed_result, 0);
  ck_assert_uint_ge(tpark_lot_now(), timed_deadline);
  ck_assert_int_eq(mutex.state_, 1); /* the timed-out last waiter cleared PARKED */
  /* Acquired when released before the deadline. */
  timed_deadline = tpark_lot_deadline(UINT64_C(3600) * 1000 * MS);
  ck_assert_int_eq(pthread_create(&t, NULL, timed_locker, NULL), 0);
  subject_wait_sleepers(1, 2000);
  tpark_mutex_unlock(&mutex);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(timed_result, 1);
  ck_assert_int_eq(mutex.state_, 0);
}
END_TEST

#if defined(__has_feature)
#define UNDER_CLANG_TSAN __has_feature(thread_sanitizer)
#else
#define UNDER_CLANG_TSAN 0
#endif

static int st_acquired; /* atomic */
static void *st_locker(void *c) {
  (void)c;
  tpark_mutex_lock(&mutex);
  __atomic_store_n(&st_acquired, 1, __ATOMIC_SEQ_CST);
  tpark_mutex_unlock(&mutex);
  return NULL;
}

/* A process that has not made a thread yet (Check forks one per test) locks
 * with plain stores where glibc tells (tpark/mutex.h): a held mutex still
 * refuses a second lock, and a thread made while it is held waits for the
 * unlock, which takes the atomic path by then. */
START_TEST(mutex_before_and_after_the_first_thread) {
  bool single = tpark__single_threaded();
#if defined(__GLIBC__) && !defined(__SANITIZE_THREAD__) && !UNDER_CLANG_TSAN
  /* TSan's runtime has threads of its own: glibc's flag is false there. */
  const char *fork_mode = getenv("CK_FORK");
  if (fork_mode == NULL || strcmp(fork_mode, "no") != 0) ck_assert(single);
#endif
  (void)single;
  tpark_mutex_lock(&mutex);
  ck_assert_int_eq(mutex.state_, 1);
  ck_assert(!tpark_mutex_trylock(&mutex));
  ck_assert(!tpark_mutex_lock_until(&mutex, 0));
  ck_assert_int_eq(mutex.state_, 1);
  tpark_mutex_unlock(&mutex);
  ck_assert_int_eq(mutex.state_, 0);
  tpark_mutex_lock(&mutex);
  st_acquired = 0;
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, st_locker, NULL), 0);
  ck_assert(!tpark__single_threaded());
  subject_wait_sleepers(1, 2000);
  ck_assert_int_eq(__atomic_load_n(&st_acquired, __ATOMIC_SEQ_CST), 0);
  tpark_mutex_unlock(&mutex);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(st_acquired, 1);
  ck_assert_int_eq(mutex.state_, 0);
}
END_TEST

/* ---- the recursive mutex ---- */

static tpark_recursive_mutex rmutex = TPARK_RECURSIVE_MUTEX_INIT;

static void assert_recursive_free(void) {
  ck_assert_uint_eq(rmutex.owner_, 0);
  ck_assert_uint_eq(rmutex.count_, 0);
  ck_assert_uint_eq(rmutex.mutex_.state_, 0);
}

static void *other_trylock_main(void *c) {
  bool *got = c;
  *got = tpark_recursive_mutex_trylock(&rmutex);
  if (*got) tpark_recursive_mutex_unlock(&rmutex);
  return NULL;
}

/* Whether another thread's trylock succeeds now. */
static bool other_thread_gets_it(void) {
  pthread_t t;
  bool got = false;
  ck_assert_int_eq(pthread_create(&t, NULL, other_trylock_main, &got), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  return got;
}

/* Re-entered 1000 deep (lock, trylock, lock_until with a past deadline in
 * turn), it stays held for other threads until the last unlock. */
START_TEST(recursive_mutex_reentry_depth) {
  enum { DEPTH = 1000 };
  for (int i = 0; i < DEPTH; i++) {
    switch (i % 3) {
      case 0:
        tpark_recursive_mutex_lock(&rmutex);
        break;
      case 1:
        ck_assert(tpark_recursive_mutex_trylock(&rmutex));
        break;
      default:
        ck_assert(tpark_recursive_mutex_lock_until(&rmutex, 0));
        break;
    }
    if (i == 0 || i == DEPTH - 1) ck_assert(!other_thread_gets_it());
  }
  ck_assert_uint_eq(rmutex.count_, DEPTH);
  for (int i = DEPTH; i > 0; i--) {
    if (i == DEPTH || i == DEPTH / 2 || i == 1) ck_assert(!other_thread_gets_it());
    tpark_recursive_mutex_unlock(&rmutex);
  }
  assert_recursive_free();
  ck_assert(other_thread_gets_it());
  assert_recursive_free();
}
END_TEST

static int rm_iterations;
static int rm_inside; /* guarded by rmutex */

/* Each round nests 1 to 3 deep, taking the outer lock with lock, trylock
 * (spinning) or lock_until in turn, and checks that nobody else is inside
 * at every depth. */
static void *recursive_exclusion_main(void *c) {
  (void)c;
  for (int i = 0; i < rm_iterations; i++) {
    switch (i % 3) {
      case 0:
        tpark_recursive_mutex_lock(&rmutex);
        break;
      case 1:
        while (!tpark_recursive_mutex_trylock(&rmutex)) {
        }
        break;
      default:
        if (!tpark_recursive_mutex_lock_until(&rmutex, TPARK_NEVER - 1)) {
          __atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
          continue;
        }
        break;
    }
    if (rm_inside++ != 0) __atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
    int depth = 1 + i % 3;
    for (int d = 1; d < depth; d++) {
      tpark_recursive_mutex_lock(&rmutex);
      counter++;
    }
    counter++;
    for (int d = 1; d < depth; d++) {
      tpark_recursive_mutex_unlock(&rmutex);
      if (rm_inside != 1) __atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
    }
    rm_inside--;
    tpark_recursive_mutex_unlock(&rmutex);
  }
  return NULL;
}

START_TEST(recursive_mutex_exclusion_stress) {
  static const int threads[] = {2, 4, 16};
  for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
    int n = threads[k];
    rm_iterations = (subject_fake_time() ? 1500 : 30000) / n;
    counter = 0;
    violations = 0;
    pthread_t t[16];
    for (int i = 0; i < n; i++)
      ck_assert_int_eq(pthread_create(&t[i], NULL, recursive_exclusion_main, NULL), 0);
    for (int i = 0; i < n; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    long per_thread = 0;
    for (int i = 0; i < rm_iterations; i++) per_thread += 1 + i % 3;
    ck_assert_int_eq(violations, 0);
    ck_assert_int_eq(counter, per_thread * n);
    assert_recursive_free();
  }
}
END_TEST

static void *recursive_timed_main(void *c) {
  (void)c;
  timed_result = tpark_recursive_mutex_lock_until(&rmutex, timed_deadline);
  if (timed_result) tpark_recursive_mutex_unlock(&rmutex);
  return NULL;
}

/* Held 2 deep by this thread: another thread's timed lock times out, never
 * early, and leaves the word as it was; released in time, it acquires. */
START_TEST(recursive_mutex_lock_until) {
  pthread_t t;
  tpark_recursive_mutex_lock(&rmutex);
  tpark_recursive_mutex_lock(&rmutex);
  timed_deadline = tpark_lot_deadline(2 * MS);
  ck_assert_int_eq(pthread_create(&t, NULL, recursive_timed_main, NULL), 0);
  if (subject_fake_time()) {
    subject_wait_sleepers(1, 60000);
    subject_advance(2 * MS);
  }
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(timed_result, 0);
  ck_assert_uint_ge(tpark_lot_now(), timed_deadline);
  ck_assert_uint_eq(rmutex.count_, 2);
  ck_assert_uint_eq(rmutex.mutex_.state_, 1); /* the timed-out last waiter cleared PARKED */
  timed_deadline = tpark_lot_deadline(UINT64_C(3600) * 1000 * MS);
  ck_assert_int_eq(pthread_create(&t, NULL, recursive_timed_main, NULL), 0);
  subject_wait_sleepers(1, 2000);
  tpark_recursive_mutex_unlock(&rmutex);
  ck_assert(!other_thread_gets_it()); /* still held once */
  tpark_recursive_mutex_unlock(&rmutex);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_int_eq(timed_result, 1);
  assert_recursive_free();
}
END_TEST

/* The bucket locks themselves (word locks that park): many threads run
 * callbacks under one key's bucket lock; they must exclude each other, and a
 * thread queued on the lock must be woken (a lost one hangs the test). */
static char bucket_key;
static long in_bucket_count;
static int in_bucket;
static int bucket_iterations;

static uintptr_t bucket_callback(void *c, tpark_lot_unpark_result r) {
  (void)c;
  (void)r;
  if (in_bucket++ != 0) __atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
  in_bucket_count++;
  for (volatile int i = 0; i < 50; i++) {
  }
  in_bucket--;
  return 0;
}

static void *bucket_main(void *c) {
  (void)c;
  for (int i = 0; i < bucket_iterations; i++)
    tpark_lot_unpark_one(&bucket_key, bucket_callback, NULL);
  return NULL;
}

START_TEST(bucket_lock_stress) {
  enum { N = 16 };
  bucket_iterations = subject_fake_time() ? 2000 : 20000;
  in_bucket_count = 0;
  violations = 0;
  pthread_t t[N];
  for (int i = 0; i < N; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, bucket_main, NULL), 0);
  for (int i = 0; i < N; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  ck_assert_int_eq(violations, 0);
  ck_assert_int_eq(in_bucket_count, (long)N * bucket_iterations);
}
END_TEST

START_TEST(mutex_is_one_byte) {
  tpark_mutex m = TPARK_MUTEX_INIT;
  ck_assert_uint_eq(sizeof m, 1);
  ck_assert(tpark_mutex_trylock(&m));
  ck_assert(!tpark_mutex_trylock(&m));
  tpark_mutex_unlock(&m);
  ck_assert(tpark_mutex_trylock(&m));
  tpark_mutex_unlock_fair(&m);
  ck_assert_int_eq(m.state_, 0);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2 || !subject_open(argv[1])) return 2;
  char suite_name[64];
  snprintf(suite_name, sizeof suite_name, "sync[%s]", argv[1]);
  Suite *s = suite_create(suite_name);
  TCase *tc = new_tcase("wait_and_mutex");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, native_path_only_on_waitaddress);
  tcase_add_test(tc, each_size_compares_its_bytes);
  tcase_add_test(tc, each_size_is_woken);
  tcase_add_test(tc, wait_times_out_never_early);
  tcase_add_test(tc, bad_arguments_abort_with_a_message);
  tcase_add_test(tc, mutex_is_one_byte);
  tcase_add_test(tc, mutex_before_and_after_the_first_thread);
  tcase_add_test(tc, mutex_lock_until);
  tcase_add_test(tc, mutex_exclusion_stress);
  tcase_add_test(tc, bucket_lock_stress);
  tcase_add_test(tc, recursive_mutex_reentry_depth);
  tcase_add_test(tc, recursive_mutex_exclusion_stress);
  tcase_add_test(tc, recursive_mutex_lock_until);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
