/* The keyed-event backend against the fake Windows: the timed-out-but-
 * released race at every point, a release during a timed wait, the timeout
 * commit and two racing unpark_locks on the state word, the process-exit
 * case, the fake's own strictness (access rights, odd keys) and aborts on
 * impossible answers. Runs on any host. */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "core/testing.h"
#include "platform/os.h"
#include "tests/child.h"
#include "tests/fake_os.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tests/windows_fake.h"
#include "tpark/tpark.h"

/* ---- the keyed-event race ------------------------------------------------- */

struct releaser {
  tpark_unpark_handle h;
  pthread_t thread;
  int done;
  bool started;
};
static struct releaser rel;

static void *releaser_main(void *arg) {
  (void)arg;
  tpark_unpark(rel.h); /* blocks in NtReleaseKeyedEvent until taken */
  __atomic_store_n(&rel.done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* A waker's unpark_lock, with its unpark in a thread of its own. */
static void race_hook(void *arg) {
  rel.h = tpark_unpark_lock(arg);
  rel.started = true;
  ck_assert_int_eq(pthread_create(&rel.thread, NULL, releaser_main, NULL), 0);
}

/* The watchdog: the releaser must be done within 10 s, not stuck. */
static void join_releaser(void) {
  if (!rel.started) return;
  for (int i = 0; i < 10000 && !__atomic_load_n(&rel.done, __ATOMIC_ACQUIRE); i++) test_sleep_ms(1);
  ck_assert_msg(__atomic_load_n(&rel.done, __ATOMIC_ACQUIRE),
                "the waker is stuck in NtReleaseKeyedEvent: its release was never taken");
  pthread_join(rel.thread, NULL);
}

/* The unpark_lock lands at every point of a park_until that times out; the
 * park must report it (true) or not (false) consistently and the release, if
 * one was promised, must be taken. */
START_TEST(keyed_event_timed_out_but_released) {
  enum { AT_FIRST_CLOCK, IN_WAIT, AT_TIMEOUT_CLOCK, AFTER_RETURN, N_POINTS };
  init_backend("keyed_event");
  for (int point = 0; point < N_POINTS; point++) {
    memset(&rel, 0, sizeof rel);
    tpark_instant deadline = fake_clock_now() + 1000;
    fake_answer clock[2] = {{FAKE_DEFAULT, 0, NULL, NULL}, {FAKE_DEFAULT, 0, NULL, NULL}};
    fake_answer wait = {TPARK__STATUS_TIMEOUT, deadline, NULL, NULL};
    if (point == AT_FIRST_CLOCK) clock[0].hook = race_hook, clock[0].arg = &p;
    if (point == AT_TIMEOUT_CLOCK) clock[1].hook = race_hook, clock[1].arg = &p;
    if (point == IN_WAIT) wait.hook = race_hook, wait.arg = &p;
    fake_script(FAKE_CLOCK, clock, 2);
    fake_script(FAKE_NT_WAIT, &wait, 1); /* the OS timeout; later waits are real */
    tpark_prepare_park(&p);
    bool unparked = tpark_park_until(&p, deadline);
    if (point == AFTER_RETURN) race_hook(&p);
    ck_assert_msg(unparked == (point != AFTER_RETURN), "point %d: park_until said %d", point,
                  unparked);
    if (!unparked) ck_assert(!tpark_timed_out(&p)); /* unparked after the timeout */
    if (unparked) {
      /* The promised release was taken by a wait without a timeout: a timed
       * one could give up while the waker is still on its way. */
      bool has;
      fake_last_nt_timeout(&has);
      ck_assert_msg(!has, "point %d: the promised release was taken with a timed wait", point);
    }
    join_releaser();
    ck_assert_uint_eq(fake_pending_releases(), 0);
  }
}
END_TEST

/* The waker releases while the owner is really asleep in a timed wait. */
static void *late_waker(void *arg) {
  ck_assert(fake_wait_sleepers(1, 10000));
  tpark_unpark(tpark_unpark_lock(arg));
  return NULL;
}

START_TEST(keyed_event_release_during_timed_wait) {
  init_backend("keyed_event");
  for (int i = 0; i < 20; i++) {
    pthread_t t;
    tpark_prepare_park(&p);
    ck_assert_int_eq(pthread_create(&t, NULL, late_waker, &p), 0);
    ck_assert(tpark_park_until(&p, tpark_deadline(&p, MS)));
    pthread_join(t, NULL);
    ck_assert_uint_eq(fake_pending_releases(), 0);
  }
}
END_TEST

/* ---- process exit (RtlDllShutdownInProgress) ------------------------------- */

/* While the process exits (ExitProcess has ended every other thread), an
 * unpark must not wait for the gone owner to take a release. */
START_TEST(keyed_event_skips_release_during_process_exit) {
  init_backend("keyed_event");
  memset(&rel, 0, sizeof rel);
  tpark_prepare_park(&p); /* the owner "parks" and dies with the process */
  fake_set_dll_shutdown(true);
  race_hook(&p); /* unpark_lock here, unpark in a thread (watchdog) */
  join_releaser();
  ck_assert_uint_eq(fake_count(FAKE_NT_RELEASE), 0);
  ck_assert_uint_ge(fake_count(FAKE_DLL_SHUTDOWN), 1);
  /* Outside shutdown the release is made, and taken. */
  fake_set_dll_shutdown(false);
  memset(&rel, 0, sizeof rel);
  tpark_prepare_park(&p);
  race_hook(&p);
  tpark_park(&p);
  join_releaser();
  ck_assert_uint_eq(fake_count(FAKE_NT_RELEASE), 1);
}
END_TEST

/* Without RtlDllShutdownInProgress (an ntdll that lacks it) the backend still
 * works, and makes every release. */
START_TEST(keyed_event_without_shutdown_query) {
  fake_hide("RtlDllShutdownInProgress");
  init_backend("keyed_event");
  memset(&rel, 0, sizeof rel);
  tpark_prepare_park(&p);
  race_hook(&p);
  tpark_park(&p);
  join_releaser();
  ck_assert_uint_eq(fake_count(FAKE_NT_RELEASE), 1);
  ck_assert_uint_eq(fake_count(FAKE_DLL_SHUTDOWN), 0);
}
END_TEST

/* ---- the fake is as strict as Windows ------------------------------------ */

static tpark_os_fn ntdll_proc(const char *name) {
  return tpark_os(GetProcAddress)(tpark_os(GetModuleHandleA)("ntdll.dll"), name);
}

START_TEST(fake_keyed_events_are_strict) {
  tpark_os_NtCreateKeyedEvent_fn *create =
      (tpark_os_NtCreateKeyedEvent_fn *)ntdll_proc("NtCreateKeyedEvent");
  tpark_os_NtWaitForKeyedEvent_fn *wait =
      (tpark_os_NtWaitForKeyedEvent_fn *)ntdll_proc("NtWaitForKeyedEvent");
  tpark_os_NtReleaseKeyedEvent_fn *release =
      (tpark_os_NtReleaseKeyedEvent_fn *)ntdll_proc("NtReleaseKeyedEvent");
  static uint32_t word; /* aligned: &word is even, &word + 1 byte is odd */
  void *even = &word, *odd = (char *)&word + 1;
  void *read_only, *write_only;
  int64_t zero = 0; /* a timed call that gives up at once */
  ck_assert_int_eq(create(&read_only, GENERIC_READ, NULL, 0), 0);
  ck_assert_int_eq(create(&write_only, GENERIC_WRITE, NULL, 0), 0);
  ck_assert_int_eq(wait(read_only, even, 0, &zero), TPARK__STATUS_TIMEOUT);
  ck_assert_int_eq(release(read_only, even, 0, &zero), STATUS_ACCESS_DENIED);
  ck_assert_int_eq(wait(write_only, even, 0, &zero), STATUS_ACCESS_DENIED);
  ck_assert_int_eq(release(write_only, even, 0, &zero), TPARK__STATUS_TIMEOUT);
  ck_assert_int_eq(wait(read_only, odd, 0, &zero), STATUS_INVALID_PARAMETER_1);
  ck_assert_int_eq(release(write_only, odd, 0, &zero), STATUS_INVALID_PARAMETER_1);
  tpark_os(CloseHandle)(read_only);
  tpark_os(CloseHandle)(write_only);
}
END_TEST

/* ---- races on the state word ------------------------------------------------
 * Two threads start a round together, one of them after a short delay. A
 * round counts ("live") only if both were running at its start (neither had
 * to yield the processor while waiting for it): on a loaded machine the two
 * may share one processor and cannot race. The delay follows the outcome of
 * the live rounds (a random walk: whoever came first waits longer next
 * time), so that the two land at the same instant about half of the time,
 * whatever the speed of the machine. A state update that is not one atomic
 * step loses that race. Each test stops after RACE_LIVE live rounds or
 * RACE_SECONDS, so it cannot hang on a busy machine (it races less there). */

#define RACE_LIVE 20000
#define RACE_SECONDS 4

static void spin(unsigned n) {
  for (volatile unsigned i = 0; i < n; i++) {
  }
}

/* Waits until *word >= value (or *stop); false if it had to yield the
 * processor meanwhile (the other thread was not running). */
static bool await_round(const int *word, int value, const int *stop) {
  bool live = true;
  for (unsigned i = 0; __atomic_load_n(word, __ATOMIC_ACQUIRE) < value; i++) {
    if (stop != NULL && __atomic_load_n(stop, __ATOMIC_ACQUIRE)) return false;
    if (i > 20000) {
      live = false;
      sched_yield();
    }
  }
  return live;
}

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A delay of its own for each of two threads: bias > 0 delays the first. */
static unsigned delay_of(int bias, bool first, unsigned jitter) {
  if (first) return bias > 0 ? (unsigned)bias + jitter : jitter;
  return bias < 0 ? (unsigned)-bias + jitter : jitter;
}

/* One step of the walk; bounded: beyond a few microseconds it is the
 * scheduler, not the race. */
static int walk(int bias, bool first_came_first) {
  bias += first_came_first ? 3 : -3;
  return bias > 2000 || bias < -2000 ? bias / 2 : bias;
}

static struct {
  int go, started, locked, done, stop; /* round numbers; stop: 0/1 */
  bool waker_live;
  unsigned delay;
  tpark_unpark_handle h;
} commit;

static void *commit_waker(void *arg) {
  (void)arg;
  for (int round = 1;; round++) {
    bool live = await_round(&commit.go, round, &commit.stop);
    if (__atomic_load_n(&commit.stop, __ATOMIC_ACQUIRE)) break;
    __atomic_store_n(&commit.started, round, __ATOMIC_RELEASE);
    spin(commit.delay);
    commit.h = tpark_unpark_lock(&p);
    commit.waker_live = live;
    __atomic_store_n(&commit.locked, round, __ATOMIC_RELEASE);
    tpark_unpark(commit.h); /* blocks until taken, if one was promised */
    __atomic_store_n(&commit.done, round, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* keyed_event: a park_until past its deadline commits to TIMED_OUT while an
 * unpark_lock lands. Either the park returns true and took the release, or
 * false and the unpark_lock promised nothing: never false with a promise
 * (the waker would be stuck in NtReleaseKeyedEvent for good). */
START_TEST(keyed_event_timeout_commit_is_atomic) {
  init_backend("keyed_event");
  memset(&commit, 0, sizeof commit);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, commit_waker, NULL), 0);
  tpark_instant deadline = tpark_now(&p); /* already passed: commit at once */
  int lost = 0, live = 0, rounds = 0, bias = 0;
  uint32_t x = 1;
  double end = seconds_now() + RACE_SECONDS;
  while (live < RACE_LIVE && (rounds % 256 != 0 || seconds_now() < end)) {
    int round = ++rounds;
    x = x * 1103515245u + 12345u;
    unsigned jitter = (x >> 16) % 16;
    commit.delay = delay_of(bias, false, jitter);
    tpark_prepare_park(&p);
    __atomic_store_n(&commit.go, round, __ATOMIC_RELEASE);
    bool owner_live = await_round(&commit.started, round, NULL); /* the waker runs: race it */
    spin(delay_of(bias, true, jitter));
    bool woken = tpark_park_until(&p, deadline);
    await_round(&commit.locked, round, NULL);
    if (!woken && commit.h.token_ != NULL) {
      lost++;
      tpark_park(&p); /* take the stray release, so that the waker goes on */
    }
    if (owner_live && commit.waker_live) {
      live++;
      bias = walk(bias, !woken); /* not woken: the owner came first */
    }
    await_round(&commit.done, round, NULL);
  }
  __atomic_store_n(&commit.stop, 1, __ATOMIC_RELEASE);
  pthread_join(t, NULL);
  ck_assert_msg(lost == 0, "%d of %d timed-out parks left their waker a release to make", lost,
                rounds);
  ck_assert_uint_eq(fake_pending_releases(), 0);
}
END_TEST

static struct {
  int go, started[2], locked[2], done, stop; /* [0]: the test's thread */
  bool live;
  unsigned delay;
  tpark_unpark_handle h[2];
} pair;

/* The other waker: races the test's thread, then makes both unparks (the
 * test's thread owns the parker and takes the releases). */
static void *pair_waker(void *arg) {
  (void)arg;
  for (int round = 1;; round++) {
    bool live = await_round(&pair.go, round, &pair.stop);
    if (__atomic_load_n(&pair.stop, __ATOMIC_ACQUIRE)) break;
    __atomic_store_n(&pair.started[1], round, __ATOMIC_RELEASE);
    spin(pair.delay);
    pair.h[1] = tpark_unpark_lock(&p);
    pair.live = live;
    __atomic_store_n(&pair.locked[1], round, __ATOMIC_RELEASE);
    await_round(&pair.locked[0], round, NULL);
    tpark_unpark(pair.h[1]);
    tpark_unpark(pair.h[0]);
    __atomic_store_n(&pair.done, round, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* Two wakers race on unpark_lock of one prepared parker: exactly one wins
 * (gets a handle that wakes); a second winner would make a second release
 * that nobody takes. */
START_TEST(one_of_two_racing_unpark_locks_wins) {
  static const char *const names[] = {"waitaddress", "keyed_event"};
  for (size_t n = 0; n < 2; n++) {
    init_backend(names[n]);
    memset(&pair, 0, sizeof pair);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, pair_waker, NULL), 0);
    int doubles = 0, live = 0, rounds = 0, bias = 0;
    uint32_t x = 7;
    double end = seconds_now() + RACE_SECONDS / 2;
    while (live < RACE_LIVE && (rounds % 256 != 0 || seconds_now() < end)) {
      int round = ++rounds;
      x = x * 1103515245u + 12345u;
      unsigned jitter = (x >> 16) % 16;
      pair.delay = delay_of(bias, false, (x >> 24) % 16);
      tpark_prepare_park(&p);
      __atomic_store_n(&pair.go, round, __ATOMIC_RELEASE);
      bool my_live = await_round(&pair.started[1], round, NULL); /* the other runs: race it */
      spin(delay_of(bias, true, jitter));
      pair.h[0] = tpark_unpark_lock(&p);
      __atomic_store_n(&pair.locked[0], round, __ATOMIC_RELEASE);
      await_round(&pair.locked[1], round, NULL);
      int winners = (pair.h[0].token_ != NULL) + (pair.h[1].token_ != NULL);
      ck_assert_int_ge(winners, 1);
      doubles += winners > 1;
      for (int i = 0; i < winners; i++) tpark_park(&p); /* take every release */
      if (my_live && pair.live) {
        live++;
        bias = walk(bias, pair.h[0].token_ != NULL); /* this thread first: it waits longer */
      }
      await_round(&pair.done, round, NULL);
    }
    __atomic_store_n(&pair.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    ck_assert_msg(doubles == 0, "%s: in %d of %d rounds both unpark_locks won", names[n], doubles,
                  rounds);
    ck_assert_uint_eq(fake_pending_releases(), 0);
  }
}
END_TEST

/* ---- impossible answers abort, naming the call ----------------------------- */

static void wait_on_address_bad_error(void) {
  const fake_answer bad[] = {{ERROR_INVALID_PARAMETER, 0, NULL, NULL}};
  init_backend("waitaddress");
  fake_script(FAKE_WAIT_ON_ADDRESS, bad, 1);
  tpark_prepare_park(&p);
  tpark_park(&p);
}

static void keyed_wait_bad_status(void) {
  const fake_answer bad[] = {{STATUS_ACCESS_VIOLATION, 0, NULL, NULL}};
  init_backend("keyed_event");
  fake_script(FAKE_NT_WAIT, bad, 1);
  tpark_prepare_park(&p);
  tpark_park(&p);
}

static void keyed_release_bad_status(void) {
  const fake_answer bad[] = {{STATUS_ACCESS_VIOLATION, 0, NULL, NULL}};
  init_backend("keyed_event");
  fake_script(FAKE_NT_RELEASE, bad, 1);
  tpark_prepare_park(&p);
  tpark_unpark(tpark_unpark_lock(&p));
}

/* STATUS_TIMEOUT from a wait without a timeout: Windows never answers it. */
static void keyed_untimed_wait_times_out(void) {
  const fake_answer impossible[] = {{TPARK__STATUS_TIMEOUT, 0, NULL, NULL}};
  init_backend("keyed_event");
  fake_allow_impossible(true);
  fake_script(FAKE_NT_WAIT, impossible, 1);
  tpark_prepare_park(&p);
  tpark_park(&p);
}

/* The same in the wait that takes a promised release after a timeout. */
static void keyed_promised_release_wait_times_out(void) {
  init_backend("keyed_event");
  memset(&rel, 0, sizeof rel);
  tpark_instant deadline = fake_clock_now() + 1000;
  const fake_answer answers[] = {
      {TPARK__STATUS_TIMEOUT, deadline, race_hook, &p}, /* the timed wait ends; a waker comes */
      {TPARK__STATUS_TIMEOUT, 0, NULL, NULL},           /* then the untimed one "times out" */
  };
  fake_allow_impossible(true);
  fake_script(FAKE_NT_WAIT, answers, 2);
  tpark_prepare_park(&p);
  tpark_park_until(&p, deadline);
}

/* A test that scripts an answer Windows never gives is itself wrong. */
static void fake_refuses_impossible_script(void) {
  const fake_answer impossible[] = {{TPARK__STATUS_TIMEOUT, 0, NULL, NULL}};
  init_backend("keyed_event");
  fake_script(FAKE_NT_WAIT, impossible, 1);
  tpark_prepare_park(&p);
  tpark_park(&p);
}

static void qpc_fails(void) {
  init_backend("waitaddress");
  fake_fail_nth(FAKE_CLOCK, 1, 1);
  tpark_now(&p);
}

START_TEST(impossible_answers_abort) {
  const char *const wait[] = {"WaitOnAddress", "GetLastError 87"};
  const char *const kwait[] = {"NtWaitForKeyedEvent", "NTSTATUS"};
  const char *const krel[] = {"NtReleaseKeyedEvent", "0xc0000005"};
  const char *const qpc[] = {"QueryPerformanceCounter"};
  const char *const untimed[] = {"tpark: NtWaitForKeyedEvent failed", "0x00000102"};
  const char *const refused[] = {"fake OS: NtWaitForKeyedEvent without a timeout cannot time out"};
  expect_abort(wait_on_address_bad_error, setup, wait, 2);
  expect_abort(keyed_wait_bad_status, setup, kwait, 2);
  expect_abort(keyed_release_bad_status, setup, krel, 2);
  expect_abort(qpc_fails, setup, qpc, 1);
  expect_abort(keyed_untimed_wait_times_out, setup, untimed, 2);
  expect_abort(keyed_promised_release_wait_times_out, setup, untimed, 2);
  expect_abort(fake_refuses_impossible_script, setup, refused, 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("keyed_event_fake");
  TCase *tc = new_tcase("keyed_event");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, keyed_event_timed_out_but_released);
  tcase_add_test(tc, keyed_event_release_during_timed_wait);
  tcase_add_test(tc, keyed_event_skips_release_during_process_exit);
  tcase_add_test(tc, keyed_event_without_shutdown_query);
  tcase_add_test(tc, fake_keyed_events_are_strict);
  tcase_add_test(tc, keyed_event_timeout_commit_is_atomic);
  tcase_add_test(tc, one_of_two_racing_unpark_locks_wins);
  tcase_add_test(tc, impossible_answers_abort);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
