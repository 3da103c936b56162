/* The Windows backends against the fake Windows: selection and fallback,
 * every timeout conversion edge, early OS timeouts, spurious wake-ups, the
 * keyed-event timed-out-but-released race, handle accounting and a sweep
 * that fails each setup call in turn. Runs on any host. */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "backends/builtin.h"
#include "platform/os.h"
#include "tests/expect_abort.h"
#include "tests/fake_os.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/tpark.h"

#define START UINT64_C(1000000000)
#define MS UINT64_C(1000000)
#define STATUS_NO_MEMORY ((int)0xC0000017)
#define STATUS_ACCESS_VIOLATION ((int)0xC0000005)
#define ERROR_TIMEOUT 1460
#define ERROR_INVALID_PARAMETER 87

static tpark_parker p;

static void setup(void) {
  tpark__selection_reset();
  fake_os_install(START, FAKE_OS_WINDOWS);
}

static void teardown(void) {
  tpark__selection_reset();
  ck_assert_int_eq(fake_open_handles(), 0);
  fake_os_remove();
}

static void init_backend(const char *name) {
  const tpark_backend *b;
  ck_assert_int_eq(tpark_select_backend(name, &b), TPARK_OK);
  ck_assert_int_eq(tpark_init_with(&p, b), TPARK_OK);
}

static const char *default_name(void) {
  const tpark_backend *b = tpark_default_backend();
  return b != NULL ? b->name : "(none)";
}

/* ---- selection ------------------------------------------------------------ */

START_TEST(windows_prefers_waitaddress) { ck_assert_str_eq(default_name(), "waitaddress"); }
END_TEST

START_TEST(without_wait_on_address_falls_back_to_keyed_event) {
  fake_hide("api-ms-win-core-synch-l1-2-0.dll"); /* Windows 7 */
  ck_assert_str_eq(default_name(), "keyed_event");
}
END_TEST

START_TEST(without_one_function_falls_back_to_keyed_event) {
  fake_hide("WakeByAddressSingle");
  ck_assert_str_eq(default_name(), "keyed_event");
}
END_TEST

START_TEST(env_forces_keyed_event) {
  fake_env_set("TPARK_BACKEND", "keyed_event");
  ck_assert_str_eq(default_name(), "keyed_event");
}
END_TEST

START_TEST(nothing_usable_is_enobackend) {
  fake_hide("WaitOnAddress");
  fake_hide("NtCreateKeyedEvent");
  ck_assert_ptr_null(tpark_default_backend());
  tpark_parker q;
  ck_assert_int_eq(tpark_init(&q), TPARK_ENOBACKEND);
  /* The status string says what was tried. */
  const char *why = tpark_status_str(TPARK_ENOBACKEND);
  ck_assert_ptr_nonnull(strstr(why, "WaitOnAddress"));
  ck_assert_ptr_nonnull(strstr(why, "NtCreateKeyedEvent"));
}
END_TEST

START_TEST(unavailable_names_are_enotsup) {
  const tpark_backend *b;
  ck_assert_int_eq(tpark_select_backend("futex", &b), TPARK_ENOTSUP);
  ck_assert_int_eq(tpark_select_backend("condvar", &b), TPARK_ENOTSUP);
  fake_hide("ntdll.dll");
  ck_assert_int_eq(tpark_select_backend("keyed_event", &b), TPARK_ENOTSUP);
  fake_env_set("TPARK_BACKEND", "keyed_event");
  ck_assert_ptr_null(tpark_default_backend()); /* no fallback to waitaddress */
  /* And the Windows backends on Linux. */
  fake_os_install(START, FAKE_OS_LINUX);
  ck_assert_int_eq(tpark_select_backend("waitaddress", &b), TPARK_ENOTSUP);
  ck_assert_int_eq(tpark_select_backend("keyed_event", &b), TPARK_ENOTSUP);
}
END_TEST

/* ---- timeout conversions -------------------------------------------------- */

/* The longest timeout there is: up to 1 us before the end of time. */
#define END_OF_TIME UINT64_MAX

/* One park_until(now + timeout) whose OS wait answers "timed out" once the
 * deadline has passed on the QueryPerformanceCounter clock (100 ns ticks). */
static void timed_park(uint64_t timeout, fake_call wait_call, int timeout_answer) {
  tpark_instant deadline =
      timeout == END_OF_TIME ? TPARK_NEVER - 1000 : tpark_deadline(&p, timeout);
  unsigned waits = fake_count(wait_call);
  const fake_answer at_deadline[] = {{timeout_answer, deadline + 99, NULL, NULL}};
  fake_script(wait_call, at_deadline, 1);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, deadline));
  ck_assert_uint_eq(fake_count(wait_call), waits + 1);
}

START_TEST(wait_on_address_timeouts) {
  static const struct {
    uint64_t timeout;
    uint32_t ms;
  } cases[] = {
      {1, 1},
      {999999, 1},
      {MS, 1},
      {MS + 1, 2},
      {UINT64_C(4294967294) * MS, 0xFFFFFFFEu}, /* 49.7 days */
      {UINT64_C(4294967295) * MS, 0xFFFFFFFEu}, /* would be INFINITE */
      {END_OF_TIME, 0xFFFFFFFEu},
  };
  init_backend("waitaddress");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    timed_park(cases[i].timeout, FAKE_WAIT_ON_ADDRESS, ERROR_TIMEOUT);
    ck_assert_msg(fake_last_wait_ms() == cases[i].ms, "timeout %llu ns: waited %u ms",
                  (unsigned long long)cases[i].timeout, fake_last_wait_ms());
  }
}
END_TEST

START_TEST(keyed_event_timeouts) {
  static const struct {
    uint64_t timeout;
    int64_t units;
  } cases[] = {
      {1, -1},
      {100, -1},
      {101, -2},
      {999999, -10000},
      {MS, -10000},
      {UINT64_C(4294967295) * MS, -INT64_C(42949672950000)},
  };
  init_backend("keyed_event");
  bool has;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    timed_park(cases[i].timeout, FAKE_NT_WAIT, TPARK_STATUS_TIMEOUT);
    ck_assert_int_eq(fake_last_nt_timeout(&has), cases[i].units);
    ck_assert(has);
  }
  /* No overflow at the end of time: all of it, in 100 ns units. */
  uint64_t left = TPARK_NEVER - 1000 - tpark_now(&p);
  timed_park(END_OF_TIME, FAKE_NT_WAIT, TPARK_STATUS_TIMEOUT);
  ck_assert_int_eq(fake_last_nt_timeout(&has), -(int64_t)(left / 100 + (left % 100 != 0)));
}
END_TEST

static tpark_unpark_handle hook_handle;
static void unpark_lock_hook(void *arg) { hook_handle = tpark_unpark_lock(arg); }

/* A zero timeout makes no wait; TPARK_NEVER waits with no timeout at all. */
START_TEST(zero_and_infinite_timeouts) {
  const fake_answer woken[] = {{0, 0, unpark_lock_hook, &p}};
  init_backend("waitaddress");
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, tpark_deadline(&p, 0)));
  ck_assert_uint_eq(fake_count(FAKE_WAIT_ON_ADDRESS), 0);
  fake_script(FAKE_WAIT_ON_ADDRESS, woken, 1);
  tpark_prepare_park(&p);
  ck_assert(tpark_park_until(&p, TPARK_NEVER));
  ck_assert_uint_eq(fake_last_wait_ms(), 0xFFFFFFFFu);
  tpark_unpark(hook_handle);
}
END_TEST

START_TEST(keyed_event_never_has_no_timeout) {
  init_backend("keyed_event");
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, tpark_deadline(&p, 0)));
  ck_assert_uint_eq(fake_count(FAKE_NT_WAIT), 0);
  const fake_answer released[] = {{0, 0, NULL, NULL}};
  fake_script(FAKE_NT_WAIT, released, 1);
  tpark_prepare_park(&p);
  ck_assert(tpark_park_until(&p, TPARK_NEVER));
  bool has;
  fake_last_nt_timeout(&has);
  ck_assert(!has);
}
END_TEST

/* ---- early OS timeouts and spurious wake-ups ------------------------------ */

START_TEST(wait_on_address_early_timeout_waits_again) {
  init_backend("waitaddress");
  tpark_instant deadline = START + 5 * MS;
  const fake_answer answers[] = {
      {ERROR_TIMEOUT, START + 4 * MS + MS / 2, NULL, NULL}, /* 0.5 ms early */
      {0, 0, NULL, NULL},                                   /* spurious */
      {ERROR_TIMEOUT, deadline - 1, NULL, NULL},            /* 1 ns early */
      {ERROR_TIMEOUT, deadline, NULL, NULL},
  };
  fake_script(FAKE_WAIT_ON_ADDRESS, answers, 4);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, deadline));
  ck_assert_uint_eq(fake_count(FAKE_WAIT_ON_ADDRESS), 4);
  ck_assert_uint_eq(fake_last_wait_ms(), 1); /* 1 ns left: rounded up */
  ck_assert(tpark_timed_out(&p));
}
END_TEST

START_TEST(wait_on_address_spurious_wakeups_absorbed) {
  init_backend("waitaddress");
  const fake_answer answers[] = {
      {0, 0, NULL, NULL},
      {0, 0, NULL, NULL},
      {0, 0, unpark_lock_hook, &p},
  };
  fake_script(FAKE_WAIT_ON_ADDRESS, answers, 3);
  tpark_prepare_park(&p);
  tpark_park(&p);
  ck_assert_uint_eq(fake_count(FAKE_WAIT_ON_ADDRESS), 3);
  tpark_unpark(hook_handle);
  ck_assert_uint_eq(fake_count(FAKE_WAKE_BY_ADDRESS), 1);
}
END_TEST

START_TEST(keyed_event_early_timeout_waits_again) {
  init_backend("keyed_event");
  tpark_instant deadline = START + 5 * MS;
  const fake_answer answers[] = {
      {TPARK_STATUS_TIMEOUT, START + 2 * MS, NULL, NULL},
      {TPARK_STATUS_TIMEOUT, deadline - 1, NULL, NULL},
      {TPARK_STATUS_TIMEOUT, deadline, NULL, NULL},
  };
  fake_script(FAKE_NT_WAIT, answers, 3);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, deadline));
  ck_assert_uint_eq(fake_count(FAKE_NT_WAIT), 3);
  bool has;
  ck_assert_int_eq(fake_last_nt_timeout(&has), -1); /* 1 ns left: one unit */
}
END_TEST

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
    fake_answer wait = {TPARK_STATUS_TIMEOUT, deadline, NULL, NULL};
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

/* ---- handles -------------------------------------------------------------- */

#define RACERS 16
static const tpark_backend *raced[RACERS];
static int racers_ready, in_create;

static void *select_racer(void *arg) {
  size_t i = (size_t)(uintptr_t)arg;
  __atomic_add_fetch(&racers_ready, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&racers_ready, __ATOMIC_ACQUIRE) < RACERS) sched_yield();
  tpark_select_backend("keyed_event", &raced[i]);
  return NULL;
}

/* Inside NtCreateKeyedEvent, before the handle exists: the first creator
 * waits here for a second one, so that the race surely happens (no creator
 * can publish before). Bounded: a failure, not a hang, if none comes. */
static void meet_in_create(void *arg) {
  (void)arg;
  __atomic_add_fetch(&in_create, 1, __ATOMIC_ACQ_REL);
  for (int i = 0; i < 10000 && __atomic_load_n(&in_create, __ATOMIC_ACQUIRE) < 2; i++) {
    test_sleep_ms(1);
  }
}

START_TEST(selection_race_losers_close_their_handles) {
  fake_answer meet[RACERS];
  for (size_t i = 0; i < RACERS; i++) meet[i] = (fake_answer){FAKE_DEFAULT, 0, meet_in_create, NULL};
  fake_script(FAKE_NT_CREATE, meet, RACERS);
  racers_ready = in_create = 0;
  pthread_t t[RACERS];
  for (size_t i = 0; i < RACERS; i++) {
    ck_assert_int_eq(pthread_create(&t[i], NULL, select_racer, (void *)(uintptr_t)i), 0);
  }
  for (size_t i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
  for (size_t i = 0; i < RACERS; i++) ck_assert_ptr_eq(raced[i], raced[0]);
  ck_assert_int_eq(fake_open_handles(), 1); /* one keyed event per process */
  ck_assert_uint_ge(fake_count(FAKE_NT_CREATE), 2); /* the race did happen */
  ck_assert_uint_eq(fake_count(FAKE_NT_CREATE), fake_count(FAKE_CLOSE_HANDLE) + 1);
}
END_TEST

/* Each setup call fails in turn: a documented status, never a crash or a
 * leaked handle. */
START_TEST(failing_each_setup_call) {
  static const struct {
    fake_call call;
    int err;
    unsigned waitaddress_calls, keyed_event_calls; /* made by each setup */
    tpark_status status; /* when one of them fails */
  } calls[] = {
      {FAKE_GET_MODULE, 1, 1, 1, TPARK_ENOTSUP},
      {FAKE_GET_PROC, 1, 2, 3, TPARK_ENOTSUP},
      {FAKE_QPF, 1, 1, 1, TPARK_ENOBACKEND},
      {FAKE_NT_CREATE, STATUS_NO_MEMORY, 0, 1, TPARK_ENOBACKEND},
  };
  static const char *const forced[] = {NULL, "waitaddress", "keyed_event"};
  for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
    for (unsigned n = 1; n <= 4; n++) {
      for (size_t f = 0; f < 3; f++) {
        tpark__selection_reset();
        fake_os_install(START, FAKE_OS_WINDOWS);
        fake_env_set("TPARK_BACKEND", forced[f]);
        fake_fail_nth(calls[c].call, n, calls[c].err);
        tpark_parker q;
        tpark_status got = tpark_init(&q);
        tpark_status want = TPARK_OK;
        const char *want_name = f == 2 ? "keyed_event" : "waitaddress";
        if (f == 0 && n <= calls[c].waitaddress_calls) want_name = "keyed_event";
        if (f == 1 && n <= calls[c].waitaddress_calls) want = calls[c].status;
        if (f == 2 && n <= calls[c].keyed_event_calls) want = calls[c].status;
        ck_assert_msg(got == want, "call %u fails at %u, TPARK_BACKEND=%s: status %d, want %d",
                      (unsigned)c, n, forced[f] ? forced[f] : "unset", got, want);
        if (got == TPARK_OK) ck_assert_str_eq(tpark_backend_name(&q), want_name);
        tpark__selection_reset();
        ck_assert_int_eq(fake_open_handles(), 0);
      }
    }
  }
}
END_TEST

/* ---- impossible answers abort, naming the call ----------------------------- */

#if defined(TPARK_HAVE_EXPECT_ABORT)
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
  expect_abort(wait_on_address_bad_error, wait, 2);
  expect_abort(keyed_wait_bad_status, kwait, 2);
  expect_abort(keyed_release_bad_status, krel, 2);
  expect_abort(qpc_fails, qpc, 1);
}
END_TEST
#endif /* TPARK_HAVE_EXPECT_ABORT */

int main(void) {
  Suite *s = suite_create("windows_fake");
  TCase *tc = new_tcase("windows");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, windows_prefers_waitaddress);
  tcase_add_test(tc, without_wait_on_address_falls_back_to_keyed_event);
  tcase_add_test(tc, without_one_function_falls_back_to_keyed_event);
  tcase_add_test(tc, env_forces_keyed_event);
  tcase_add_test(tc, nothing_usable_is_enobackend);
  tcase_add_test(tc, unavailable_names_are_enotsup);
  tcase_add_test(tc, wait_on_address_timeouts);
  tcase_add_test(tc, keyed_event_timeouts);
  tcase_add_test(tc, zero_and_infinite_timeouts);
  tcase_add_test(tc, keyed_event_never_has_no_timeout);
  tcase_add_test(tc, wait_on_address_early_timeout_waits_again);
  tcase_add_test(tc, wait_on_address_spurious_wakeups_absorbed);
  tcase_add_test(tc, keyed_event_early_timeout_waits_again);
  tcase_add_test(tc, keyed_event_timed_out_but_released);
  tcase_add_test(tc, keyed_event_release_during_timed_wait);
  tcase_add_test(tc, selection_race_losers_close_their_handles);
  tcase_add_test(tc, failing_each_setup_call);
#if defined(TPARK_HAVE_EXPECT_ABORT)
  tcase_add_test(tc, impossible_answers_abort);
#endif
  suite_add_tcase(s, tc);
  return run_suite(s);
}
