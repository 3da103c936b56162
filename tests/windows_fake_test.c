/* The Windows backends against the fake Windows: selection and fallback,
 * every timeout conversion edge, early OS timeouts, spurious wake-ups,
 * handle accounting, a sweep that fails each setup call in turn, the yield,
 * the selection messages, QueryPerformanceCounter at every frequency, and
 * memory ordering. The keyed-event races, process exit and impossible
 * answers: keyed_event_fake_test.c. Runs on any host. */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <unistd.h>
#endif

#include "core/testing.h"
#include "platform/os.h"
#include "tests/fake_os.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tests/windows_fake.h"
#include "tpark/tpark.h"

/* LeakSanitizer (ASan builds): a leak check on demand. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#if defined(HAVE_LSAN)
int __lsan_do_recoverable_leak_check(void);
#endif

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
      {1, -1},          {100, -1},    {101, -2},
      {999999, -10000}, {MS, -10000}, {UINT64_C(4294967295) * MS, -INT64_C(42949672950000)},
  };
  init_backend("keyed_event");
  bool has;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    timed_park(cases[i].timeout, FAKE_NT_WAIT, TPARK__STATUS_TIMEOUT);
    ck_assert_int_eq(fake_last_nt_timeout(&has), cases[i].units);
    ck_assert(has);
  }
  /* No overflow at the end of time: all of it, in 100 ns units. */
  uint64_t left = TPARK_NEVER - 1000 - tpark_now(&p);
  timed_park(END_OF_TIME, FAKE_NT_WAIT, TPARK__STATUS_TIMEOUT);
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
      {TPARK__STATUS_TIMEOUT, START + 2 * MS, NULL, NULL},
      {TPARK__STATUS_TIMEOUT, deadline - 1, NULL, NULL},
      {TPARK__STATUS_TIMEOUT, deadline, NULL, NULL},
  };
  fake_script(FAKE_NT_WAIT, answers, 3);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, deadline));
  ck_assert_uint_eq(fake_count(FAKE_NT_WAIT), 3);
  bool has;
  ck_assert_int_eq(fake_last_nt_timeout(&has), -1); /* 1 ns left: one unit */
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
  for (size_t i = 0; i < RACERS; i++)
    meet[i] = (fake_answer){FAKE_DEFAULT, 0, meet_in_create, NULL};
  fake_script(FAKE_NT_CREATE, meet, RACERS);
  racers_ready = in_create = 0;
  pthread_t t[RACERS];
  for (size_t i = 0; i < RACERS; i++) {
    ck_assert_int_eq(pthread_create(&t[i], NULL, select_racer, (void *)(uintptr_t)i), 0);
  }
  for (size_t i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
  for (size_t i = 0; i < RACERS; i++) ck_assert_ptr_eq(raced[i], raced[0]);
  ck_assert_int_eq(fake_open_handles(), 1);         /* one keyed event per process */
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
    tpark_status status;                           /* when one of them fails */
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

/* ---- thread_yield -------------------------------------------------------- */

/* A yield before any choice yields through the OS and chooses nothing: no
 * keyed-event handle, no lookup, no message. */
START_TEST(thread_yield_does_not_choose_the_default) {
  fake_hide("api-ms-win-core-synch-l1-2-0.dll");
  fake_env_set("TPARK_BACKEND", "keyed_event");
  tpark_thread_yield();
  ck_assert_uint_eq(fake_count(FAKE_SLEEP), 1);
  ck_assert_uint_eq(fake_count(FAKE_GET_MODULE), 0);
  ck_assert_uint_eq(fake_count(FAKE_NT_CREATE), 0);
  ck_assert_int_eq(fake_open_handles(), 0);
  /* Nothing chosen: tpark_set_default_backend(NULL) says so and chooses
   * nothing either. */
  ck_assert_ptr_null(tpark_set_default_backend(NULL));
  /* Once chosen, the default's own yield. */
  ck_assert_str_eq(default_name(), "keyed_event");
  ck_assert_ptr_eq(tpark_set_default_backend(NULL), tpark_default_backend());
  tpark_thread_yield();
  ck_assert_uint_eq(fake_count(FAKE_SLEEP), 2);
  /* A failed choice: the OS yield again. */
  tpark__selection_reset();
  fake_env_set("TPARK_BACKEND", "nope");
  ck_assert_ptr_null(tpark_default_backend());
  tpark_thread_yield();
  ck_assert_uint_eq(fake_count(FAKE_SLEEP), 3);
}
END_TEST

/* Each Windows backend's yield is Sleep(0) (the fake aborts on any other). */
START_TEST(backend_yields_sleep) {
  static const char *const names[] = {"waitaddress", "keyed_event"};
  for (size_t i = 0; i < 2; i++) {
    const tpark_backend *b;
    ck_assert_int_eq(tpark_select_backend(names[i], &b), TPARK_OK);
    unsigned before = fake_count(FAKE_SLEEP);
    b->thread_yield(b);
    ck_assert_uint_eq(fake_count(FAKE_SLEEP), before + 1);
  }
  /* And the OS yield on the fake Linux. */
  tpark__selection_reset();
  fake_os_install(START, FAKE_OS_LINUX);
  tpark_thread_yield();
  ck_assert_uint_eq(fake_count(FAKE_SCHED_YIELD), 1);
}
END_TEST

/* ---- the message when there is no default ------------------------------ */

#if !defined(_WIN32)
/* What tpark_default_backend writes to stderr. */
static void default_message(char *msg, size_t size) {
  char path[] = "/tmp/tpark_msg_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  unlink(path);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  tpark_default_backend();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  memset(msg, 0, size);
  ck_assert_int_ge(pread(fd, msg, size - 1, 0), 0);
  close(fd);
}

static void assert_has(const char *msg, const char *part) {
  ck_assert_msg(strstr(msg, part) != NULL, "message \"%s\" lacks \"%s\"", msg, part);
}

START_TEST(forced_backend_message_says_what_and_why) {
  char msg[1024];
  /* Forced, and this system lacks it. */
  fake_hide("ntdll.dll");
  fake_env_set("TPARK_BACKEND", "keyed_event");
  default_message(msg, sizeof msg);
  assert_has(msg, "TPARK_BACKEND=\"keyed_event\" forces the keyed_event backend");
  assert_has(msg, "TPARK_ENOTSUP");
  assert_has(msg, "no other backend was tried");
  ck_assert_ptr_null(strstr(msg, "tried waitaddress"));
  default_message(msg, sizeof msg); /* said once */
  ck_assert_str_eq(msg, "");
  /* Forced, and its setup fails. */
  tpark__selection_reset();
  fake_os_install(START, FAKE_OS_WINDOWS);
  fake_env_set("TPARK_BACKEND", "keyed_event");
  fake_fail_nth(FAKE_NT_CREATE, 1, STATUS_NO_MEMORY);
  default_message(msg, sizeof msg);
  assert_has(msg, "forces the keyed_event backend");
  assert_has(msg, "TPARK_ENOBACKEND");
  ck_assert_ptr_null(strstr(msg, "tried waitaddress"));
  /* An unknown name. */
  tpark__selection_reset();
  fake_env_set("TPARK_BACKEND", "keyed");
  default_message(msg, sizeof msg);
  assert_has(msg, "TPARK_BACKEND=\"keyed\" names no built-in backend");
  assert_has(msg, "(waitaddress, keyed_event, futex, condvar)");
  /* Not forced: every backend was tried. */
  tpark__selection_reset();
  fake_os_install(START, FAKE_OS_WINDOWS);
  fake_hide("WaitOnAddress");
  fake_hide("NtCreateKeyedEvent");
  default_message(msg, sizeof msg);
  assert_has(msg, "TPARK_BACKEND unset");
  assert_has(msg, "tried waitaddress");
  /* A yield says nothing. */
  tpark__selection_reset();
  fake_env_set("TPARK_BACKEND", "keyed");
  fflush(stderr);
  char path[] = "/tmp/tpark_msg_XXXXXX";
  int fd = mkstemp(path), saved = dup(2);
  unlink(path);
  dup2(fd, 2);
  tpark_thread_yield();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  ck_assert_int_eq(pread(fd, msg, sizeof msg - 1, 0), 0);
  close(fd);
}
END_TEST
#endif /* !_WIN32 */

/* ---- QueryPerformanceCounter at every frequency -------------------------- */

static int64_t qpc_count;
static int TPARK__WINAPI test_qpc(int64_t *count) {
  *count = qpc_count;
  return 1;
}

/* a * b as a 128-bit number (hi, lo), from 32-bit halves (no __int128 on
 * 32-bit targets). */
static void mul_128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
  uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
  uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
  *lo = (mid << 32) | (p00 & 0xFFFFFFFFu);
  *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

static bool le_128(uint64_t ah, uint64_t al, uint64_t bh, uint64_t bl) {
  return ah < bh || (ah == bh && al <= bl);
}

/* The ns of count at frequency f, checked: floor(count * 10^9 / f) exactly,
 * or TPARK_NEVER - 1 when that is larger. */
static tpark_instant checked_qpc_ns(int64_t count, int64_t f) {
  qpc_count = count;
  tpark_instant ns = tpark__os_qpc_ns(f);
  uint64_t ch, cl, nh, nl, mh, ml;
  mul_128((uint64_t)count, 1000000000u, &ch, &cl); /* count * 10^9 */
  mul_128(ns, (uint64_t)f, &nh, &nl);              /* ns * f */
  ck_assert_msg(le_128(nh, nl, ch, cl), "f %lld, count %lld: %llu ns is late", (long long)f,
                (long long)count, (unsigned long long)ns);
  if (ns == TPARK_NEVER - 1) {
    /* Saturated: the exact value is at least this. */
  } else {
    /* (ns + 1) * f > count * 10^9: not early either. */
    mul_128(ns + 1, (uint64_t)f, &mh, &ml);
    ck_assert_msg(!le_128(mh, ml, ch, cl), "f %lld, count %lld: %llu ns is early", (long long)f,
                  (long long)count, (unsigned long long)ns);
  }
  ck_assert_uint_ne(ns, TPARK_NEVER);
  return ns;
}

/* The first count whose exact ns, floor(c * 10^9 / f), is TPARK_NEVER or
 * more: the least c with c * 10^9 >= UINT64_MAX * f (may be past INT64_MAX;
 * UINT64_MAX if none below 2^64). */
static uint64_t saturation_count(int64_t f) {
  uint64_t lo = 0, hi = UINT64_MAX, th, tl, ch, cl;
  mul_128(UINT64_MAX, (uint64_t)f, &th, &tl);
  while (lo < hi) { /* the least c in [lo, hi] with c * 10^9 >= threshold */
    uint64_t mid = lo + (hi - lo) / 2;
    mul_128(mid, 1000000000u, &ch, &cl);
    if (le_128(th, tl, ch, cl)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

START_TEST(qpc_conversion_exact_at_every_frequency) {
  static const int64_t frequencies[] = {
      10000000,   /* 100 ns ticks: Windows 10+ */
      3579545,    /* the ACPI PM timer */
      14318180,   /* the HPET */
      1000000000, /* 1 GHz */
      2995200000, /* ~3 GHz: an invariant TSC */
      3000000000, 1, (int64_t)TPARK__QPC_MAX_FREQUENCY,
  };
  ck_assert_int_eq(tpark__os_set("QueryPerformanceCounter", (tpark_os_fn)test_qpc), TPARK_OK);
  for (size_t i = 0; i < sizeof frequencies / sizeof frequencies[0]; i++) {
    int64_t f = frequencies[i];
    const int64_t fixed[] = {0,
                             1,
                             2,
                             f - 1,
                             f,
                             f + 1,
                             2 * f - 1,
                             2 * f,
                             1000 * f + f / 2,
                             INT64_MAX / 2,
                             INT64_MAX - 1,
                             INT64_MAX};
    for (size_t j = 0; j < sizeof fixed / sizeof fixed[0]; j++) {
      if (fixed[j] < 0) continue;
      tpark_instant a = checked_qpc_ns(fixed[j], f);
      if (fixed[j] < INT64_MAX) ck_assert_uint_le(a, checked_qpc_ns(fixed[j] + 1, f));
    }
    /* Sweep the whole range (up to where the count saturates, or to
     * INT64_MAX), each point against its neighbour and its predecessor. */
    uint64_t end = saturation_count(f);
    if (end > (uint64_t)INT64_MAX) end = INT64_MAX;
    tpark_instant previous = 0;
    uint64_t step = end / 4096 + 1, x = 12345;
    for (uint64_t c = 0; c <= end - step; c += step) {
      x = x * 6364136223846793005u + 1442695040888963407u; /* jitter */
      int64_t count = (int64_t)(c + (x >> 33) % step);
      tpark_instant ns = checked_qpc_ns(count, f);
      ck_assert_uint_ge(ns, previous);
      if (count < INT64_MAX) ck_assert_uint_le(ns, checked_qpc_ns(count + 1, f));
      previous = ns;
    }
    /* Where it saturates: exact just below, TPARK_NEVER - 1 from there on
     * (never wrapped around to a small value). */
    uint64_t first = saturation_count(f);
    if (first <= (uint64_t)INT64_MAX) {
      checked_qpc_ns((int64_t)first - 1, f);
      ck_assert_uint_eq(checked_qpc_ns((int64_t)first, f), TPARK_NEVER - 1);
      ck_assert_uint_eq(checked_qpc_ns(INT64_MAX, f), TPARK_NEVER - 1);
    }
  }
}
END_TEST

/* The backends on a fake Windows whose counter runs at other frequencies:
 * the clock never runs ahead of real time, so deadlines are never early. */
START_TEST(backends_at_other_frequencies) {
  static const int64_t frequencies[] = {3579545, 1000000000, 2995200000};
  static const char *const names[] = {"waitaddress", "keyed_event"};
  for (size_t i = 0; i < sizeof frequencies / sizeof frequencies[0]; i++) {
    for (size_t n = 0; n < 2; n++) {
      tpark__selection_reset();
      fake_os_install(START + 123457, FAKE_OS_WINDOWS);
      fake_qpc_set_frequency(frequencies[i]);
      init_backend(names[n]);
      uint64_t tick = 1000000000u / (uint64_t)frequencies[i] + 1;
      ck_assert_uint_le(tpark_now(&p), fake_clock_now());
      ck_assert_uint_ge(tpark_now(&p) + tick, fake_clock_now());
      tpark_instant deadline = tpark_deadline(&p, 7 * MS + 3);
      fake_call wait = n == 0 ? FAKE_WAIT_ON_ADDRESS : FAKE_NT_WAIT;
      int timed_out = n == 0 ? ERROR_TIMEOUT : TPARK__STATUS_TIMEOUT;
      const fake_answer answers[] = {
          {timed_out, deadline - 1, NULL, NULL}, /* 1 ns early on the real clock */
          {timed_out, deadline + tick, NULL, NULL},
      };
      fake_script(wait, answers, 2);
      tpark_prepare_park(&p);
      ck_assert(!tpark_park_until(&p, deadline));
      ck_assert_uint_eq(fake_count(wait), 2);
      ck_assert_uint_ge(fake_clock_now(), deadline);
    }
  }
}
END_TEST

START_TEST(qpc_frequency_out_of_range_is_enobackend) {
  const tpark_backend *b;
  fake_qpc_set_frequency((int64_t)TPARK__QPC_MAX_FREQUENCY + 1);
  ck_assert_int_eq(tpark_select_backend("waitaddress", &b), TPARK_ENOBACKEND);
  ck_assert_int_eq(tpark_select_backend("keyed_event", &b), TPARK_ENOBACKEND);
  fake_qpc_set_frequency(0);
  ck_assert_int_eq(tpark_select_backend("keyed_event", &b), TPARK_ENOBACKEND);
  ck_assert_int_eq(fake_open_handles(), 0);
}
END_TEST

/* ---- memory ordering --------------------------------------------------------
 * What a waker writes before unpark_lock is visible once the park returns.
 * The data is a plain variable, and the fake OS adds no ordering of its own
 * for ThreadSanitizer: a backend that orders too weakly is a data race that
 * TSan reports (--config=tsan). Elsewhere the values are checked. */

static struct {
  int data; /* plain on purpose */
  int round;
} order;

static void *order_waker(void *arg) {
  int mode = (int)(uintptr_t)arg;
  if (mode == 1) ck_assert(fake_wait_sleepers(1, 10000)); /* in the timed wait */
  order.data = order.round;
  tpark_unpark(tpark_unpark_lock(&p));
  return NULL;
}

START_TEST(waker_writes_are_visible_after_the_park) {
  static const char *const names[] = {"waitaddress", "keyed_event"};
  for (size_t n = 0; n < 2; n++) {
    init_backend(names[n]);
    for (int mode = 0; mode < 3; mode++) {
      for (int round = 1; round <= 20; round++) {
        pthread_t t;
        order.round = round;
        tpark_prepare_park(&p);
        ck_assert_int_eq(pthread_create(&t, NULL, order_waker, (void *)(uintptr_t)mode), 0);
        if (mode == 0) {
          tpark_park(&p);
        } else if (mode == 1) {
          ck_assert(tpark_park_until(&p, tpark_deadline(&p, 1000 * MS)));
        } else {
          /* Past the deadline: unparked only if the waker came first (then
           * keyed_event takes its release in the commit path). */
          if (!tpark_park_until(&p, tpark_now(&p))) {
            pthread_join(t, NULL);
            continue;
          }
        }
        ck_assert_int_eq(order.data, round); /* read before the join */
        pthread_join(t, NULL);
      }
    }
  }
}
END_TEST

/* ---- the selection race, waitaddress -------------------------------------- */

static void *waitaddress_racer(void *arg) {
  size_t i = (size_t)(uintptr_t)arg;
  __atomic_add_fetch(&racers_ready, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&racers_ready, __ATOMIC_ACQUIRE) < RACERS) sched_yield();
  tpark_select_backend("waitaddress", &raced[i]);
  return NULL;
}

/* As for keyed events: the losers of the publication race free what they
 * made (waitaddress: its context). Leaks show under LeakSanitizer. */
START_TEST(selection_race_losers_free_their_context) {
  fake_answer meet[RACERS];
  for (size_t i = 0; i < RACERS; i++)
    meet[i] = (fake_answer){FAKE_DEFAULT, 0, meet_in_create, NULL};
  fake_script(FAKE_QPF, meet, RACERS); /* QueryPerformanceFrequency: inside create */
  racers_ready = in_create = 0;
  pthread_t t[RACERS];
  for (size_t i = 0; i < RACERS; i++) {
    ck_assert_int_eq(pthread_create(&t[i], NULL, waitaddress_racer, (void *)(uintptr_t)i), 0);
  }
  for (size_t i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
  for (size_t i = 0; i < RACERS; i++) ck_assert_ptr_eq(raced[i], raced[0]);
  ck_assert_ptr_nonnull(raced[0]);
  ck_assert_uint_ge(fake_count(FAKE_QPF), 2); /* the race did happen */
#if defined(HAVE_LSAN)
  ck_assert_msg(__lsan_do_recoverable_leak_check() == 0, "a loser leaked (see LeakSanitizer)");
#endif
}
END_TEST

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
  tcase_add_test(tc, selection_race_losers_close_their_handles);
  tcase_add_test(tc, failing_each_setup_call);
  tcase_add_test(tc, thread_yield_does_not_choose_the_default);
  tcase_add_test(tc, backend_yields_sleep);
#if !defined(_WIN32)
  tcase_add_test(tc, forced_backend_message_says_what_and_why);
#endif
  tcase_add_test(tc, qpc_conversion_exact_at_every_frequency);
  tcase_add_test(tc, backends_at_other_frequencies);
  tcase_add_test(tc, qpc_frequency_out_of_range_is_enobackend);
  tcase_add_test(tc, waker_writes_are_visible_after_the_park);
  tcase_add_test(tc, selection_race_losers_free_their_context);
  suite_add_tcase(s, tc);
  return run_suite(s);
}