/* The reader-writer lock (tpark/rwlock.h) on one subject backend (the
 * program's argument) made the process default, under stress at 2 to 32
 * threads: every way of taking and leaving it at once, with deadlines that
 * race the unlocks (on fake-time subjects a thread moves the clock while
 * the others run). Checked inside every critical section: readers never see
 * a torn write, writers are alone, an upgradable holder is alone among
 * upgradable holders and writers; at the end the data holds every write and
 * the word is zero. The ordered scenarios on the mock's clock:
 * rwlock_test.c, rwlock_fair_test.c. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/backend.h"
#include "tpark/rwlock.h"

#define US UINT64_C(1000)
#define N_DATA 16

static void setup(void) {
  subject_setup();
  ck_assert_ptr_nonnull(subject_backend());
  tpark_set_default_backend(subject_backend());
}

static void teardown(void) {
  tpark_set_default_backend(NULL);
  subject_teardown();
}

static tpark_rwlock lock;
static uint64_t data[N_DATA]; /* guarded by lock; plain, so TSan sees any overlap */
static uint64_t writes;       /* guarded by the write lock */
/* Atomics: who is inside now, and what went wrong. */
static int readers_in, writers_in, upgradables_in;
static int torn, overlaps, timeouts;
static int stop;

/* ---- inside the lock ---- */

static uint32_t next_random(uint64_t *x) {
  *x = *x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (uint32_t)(*x >> 33);
}

/* Holds the lock longer now and then: gives the processor away (so that
 * others run into the held lock and queue), and on fake-time subjects moves
 * the fake clock up to 20 us, so that the deadlines of those waiting pass
 * while the lock is held and race its unlock. */
static void linger(void) {
  static __thread uint64_t x;
  if (x == 0) x = (uintptr_t)&x | 1;
  uint32_t r = next_random(&x);
  if (r % 8 != 0) return;
  if (subject_fake_time()) subject_advance(r % (20 * US));
  test_sleep_ms(0);
}

static void as_reader(void) {
  __atomic_add_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&writers_in, __ATOMIC_SEQ_CST) != 0) {
    __atomic_add_fetch(&overlaps, 1, __ATOMIC_RELAXED);
  }
  uint64_t first = data[0];
  for (int i = 1; i < N_DATA; i++) {
    if (data[i] != first) __atomic_add_fetch(&torn, 1, __ATOMIC_RELAXED);
  }
  linger();
  __atomic_sub_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
}

static void as_writer(void) {
  if (__atomic_add_fetch(&writers_in, 1, __ATOMIC_SEQ_CST) != 1 ||
      __atomic_load_n(&readers_in, __ATOMIC_SEQ_CST) != 0 ||
      __atomic_load_n(&upgradables_in, __ATOMIC_SEQ_CST) != 0) {
    __atomic_add_fetch(&overlaps, 1, __ATOMIC_RELAXED);
  }
  /* Element by element: a reader inside now would see them differ. */
  for (int i = 0; i < N_DATA; i++) data[i]++;
  writes++;
  linger();
  __atomic_sub_fetch(&writers_in, 1, __ATOMIC_SEQ_CST);
}

/* Holding the upgradable lock: readers may be inside, nobody else. */
static void as_upgradable(void) {
  if (__atomic_add_fetch(&upgradables_in, 1, __ATOMIC_SEQ_CST) != 1 ||
      __atomic_load_n(&writers_in, __ATOMIC_SEQ_CST) != 0) {
    __atomic_add_fetch(&overlaps, 1, __ATOMIC_RELAXED);
  }
  as_reader();
  __atomic_sub_fetch(&upgradables_in, 1, __ATOMIC_SEQ_CST);
}

/* ---- one thread's mix ---- */

static unsigned iterations;
static int gate; /* atomic: the threads of a run start together once it opens */

static void wait_gate(void) {
  while (!__atomic_load_n(&gate, __ATOMIC_SEQ_CST)) test_sleep_ms(0);
}

/* Starts n threads, the first `firsts` running first(i + 1) and the others
 * then(i + 1), lets them go at once, and waits for them all. */
static void run_threads(int n, int firsts, void *(*first)(void *), void *(*then)(void *)) {
  pthread_t t[32];
  ck_assert_int_le(n, 32);
  __atomic_store_n(&gate, 0, __ATOMIC_SEQ_CST);
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(
        pthread_create(&t[i], NULL, i < firsts ? first : then, (void *)(uintptr_t)(i + 1)), 0);
  }
  __atomic_store_n(&gate, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < n; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
}

/* A deadline 0 to 50 us ahead: about as long as a few critical sections,
 * so that timeouts and unlocks race. */
static tpark_instant soon(uint64_t *x) { return tpark_lot_now() + next_random(x) % (50 * US); }

static void write_then_leave(uint64_t *x) {
  as_writer();
  if (next_random(x) % 4 == 0) {
    tpark_rwlock_downgrade(&lock);
    as_reader();
    tpark_rwlock_read_unlock(&lock);
  } else {
    tpark_rwlock_write_unlock(&lock);
  }
}

static void *mixer_main(void *arg) {
  uint64_t x = (uintptr_t)arg * UINT64_C(0x9E3779B97F4A7C15) + 1;
  wait_gate();
  for (unsigned i = 0; i < iterations; i++) {
    uint32_t op = next_random(&x) % 100, how = next_random(&x) % 3;
    bool got = true;
    if (op < 60) {
      if (how == 0) tpark_rwlock_read_lock(&lock);
      if (how == 1) got = tpark_rwlock_read_trylock(&lock);
      if (how == 2) got = tpark_rwlock_read_lock_until(&lock, soon(&x));
      if (got) {
        as_reader();
        tpark_rwlock_read_unlock(&lock);
      }
    } else if (op < 80) {
      if (how == 0) tpark_rwlock_write_lock(&lock);
      if (how == 1) got = tpark_rwlock_write_trylock(&lock);
      if (how == 2) got = tpark_rwlock_write_lock_until(&lock, soon(&x));
      if (got) write_then_leave(&x);
    } else {
      if (how == 0) tpark_rwlock_upgradable_lock(&lock);
      if (how == 1) got = tpark_rwlock_upgradable_trylock(&lock);
      if (how == 2) got = tpark_rwlock_upgradable_lock_until(&lock, soon(&x));
      if (got) {
        as_upgradable();
        uint32_t then = next_random(&x) % 4;
        bool upgraded = false;
        if (then == 0) {
          tpark_rwlock_upgrade(&lock);
          upgraded = true;
        }
        if (then == 1) upgraded = tpark_rwlock_try_upgrade(&lock);
        if (then == 2) upgraded = tpark_rwlock_upgrade_until(&lock, soon(&x));
        if (upgraded) {
          write_then_leave(&x);
        } else {
          if (then == 2) as_upgradable(); /* still held after a timeout */
          tpark_rwlock_upgradable_unlock(&lock);
        }
      }
    }
    if (!got) __atomic_add_fetch(&timeouts, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

/* On fake-time subjects: time passes while the others run, so that their
 * deadlines come (and race their wake-ups). */
static void *clock_main(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
    subject_advance(10 * US);
    test_sleep_ms(1);
  }
  return NULL;
}

static void reset(void) {
  lock = (tpark_rwlock)TPARK_RWLOCK_INIT;
  for (int i = 0; i < N_DATA; i++) data[i] = 0;
  writes = 0;
  readers_in = writers_in = upgradables_in = 0;
  torn = overlaps = timeouts = stop = 0;
}

/* Real time passes by itself: a clock thread only for fake-time subjects. */
static pthread_t clock_thread;

static void start_clock(void) {
  __atomic_store_n(&stop, 0, __ATOMIC_SEQ_CST);
  if (subject_fake_time()) {
    ck_assert_int_eq(pthread_create(&clock_thread, NULL, clock_main, NULL), 0);
  }
}

static void stop_clock(void) {
  __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
  if (subject_fake_time()) ck_assert_int_eq(pthread_join(clock_thread, NULL), 0);
}

static void check_end(const char *what, int n) {
  ck_assert_msg(torn == 0, "%s, %d threads: %d reads saw a torn write", what, n, torn);
  ck_assert_msg(overlaps == 0, "%s, %d threads: %d critical sections overlapped", what, n,
                overlaps);
  for (int i = 0; i < N_DATA; i++) ck_assert_uint_eq(data[i], writes);
  ck_assert_msg(lock.state_ == 0, "%s, %d threads: the word is %#llx at the end", what, n,
                (unsigned long long)lock.state_);
}

START_TEST(every_way_in_and_out_at_once) {
  static const int threads[] = {2, 4, 8, 16, 32};
  for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
    int n = threads[k];
    /* The mock and the fake OS serialise every call on one lock: fewer
     * rounds there. */
    iterations = (subject_fake_time() ? 12000u : 48000u) / (unsigned)n;
    reset();
    start_clock();
    run_threads(n, n, mixer_main, NULL);
    stop_clock();
    check_end("mixed", n);
    ck_assert_uint_gt(writes, 0);
  }
}
END_TEST

/* ---- timed writers against readers that come and go ---- */

/* The race of parking_lot issue #465: a writer's deadline passes while it
 * waits for readers, as the last of them leaves (and wakes it). Readers
 * keep the lock busy; writers try with short deadlines. A claim given back
 * wrongly leaves the word non-zero or a later lock hanging. */
static void *reader_main(void *arg) {
  (void)arg;
  wait_gate();
  for (unsigned i = 0; i < iterations; i++) {
    tpark_rwlock_read_lock(&lock);
    as_reader();
    tpark_rwlock_read_unlock(&lock);
  }
  return NULL;
}

static void *timed_writer_main(void *arg) {
  uint64_t x = (uintptr_t)arg;
  wait_gate();
  for (unsigned i = 0; i < iterations / 4; i++) {
    if (tpark_rwlock_write_lock_until(&lock, tpark_lot_now() + next_random(&x) % (10 * US))) {
      as_writer();
      tpark_rwlock_write_unlock(&lock);
    } else {
      __atomic_add_fetch(&timeouts, 1, __ATOMIC_RELAXED);
    }
  }
  return NULL;
}

enum { READERS = 4, WRITERS = 2 };

START_TEST(writer_deadlines_race_the_last_reader) {
  iterations = subject_fake_time() ? 2000u : 10000u;
  reset();
  start_clock();
  run_threads(READERS + WRITERS, READERS, reader_main, timed_writer_main);
  stop_clock();
  check_end("timed writers", READERS + WRITERS);
  /* Still a working lock: a writer gets in, then readers. */
  tpark_rwlock_write_lock(&lock);
  tpark_rwlock_write_unlock(&lock);
  tpark_rwlock_read_lock(&lock);
  tpark_rwlock_read_unlock(&lock);
  ck_assert_uint_eq(lock.state_, 0);
}
END_TEST

/* ---- no writer starves ---- */

/* Readers overlap so that the lock is hardly ever free of them; writers
 * still get in (a lock that let readers pass a waiting writer would hang
 * here until the test's timeout), and the readers stop once they have. */
static int writers_done;

static void *endless_reader_main(void *arg) {
  (void)arg;
  while (__atomic_load_n(&writers_done, __ATOMIC_SEQ_CST) < 2) {
    tpark_rwlock_read_lock(&lock);
    as_reader();
    for (volatile int spin = 0; spin < 200; spin++) {
    }
    tpark_rwlock_read_unlock(&lock);
  }
  return NULL;
}

static void *writer_main(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) {
    tpark_rwlock_write_lock(&lock);
    as_writer();
    tpark_rwlock_write_unlock(&lock);
  }
  __atomic_add_fetch(&writers_done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

START_TEST(writers_get_in_among_overlapping_readers) {
  enum { ENDLESS = 6 };
  reset();
  writers_done = 0;
  pthread_t r[ENDLESS], w[2];
  for (int i = 0; i < ENDLESS; i++) {
    ck_assert_int_eq(pthread_create(&r[i], NULL, endless_reader_main, NULL), 0);
  }
  test_sleep_ms(5); /* let the readers get going */
  for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&w[i], NULL, writer_main, NULL), 0);
  for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_join(w[i], NULL), 0);
  for (int i = 0; i < ENDLESS; i++) ck_assert_int_eq(pthread_join(r[i], NULL), 0);
  ck_assert_uint_eq(writes, 200);
  check_end("overlapping readers", ENDLESS + 2);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2 || !subject_open(argv[1])) return 2;
  char suite_name[64];
  snprintf(suite_name, sizeof suite_name, "rwlock_stress[%s]", argv[1]);
  Suite *s = suite_create(suite_name);
  TCase *tc = new_tcase("rwlock_stress");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, every_way_in_and_out_at_once);
  tcase_add_test(tc, writer_deadlines_race_the_last_reader);
  tcase_add_test(tc, writers_get_in_among_overlapping_readers);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
