/* A fake OS for tests: fakes of the OS table's entries (platform/os.h) over
 * a fake clock and a small fake kernel, so that backend logic runs
 * deterministically on any host: time passes only through fake_clock_*, and
 * the next answers of a call can be scripted (errors, spurious wake-ups,
 * early timeouts, with a hook that runs first) or made to fail at the n-th
 * call.
 *
 * Unscripted calls behave like the real OS: waits really block (on the fake
 * kernel's lock) until a wake or until the fake clock passes their timeout;
 * a keyed-event release blocks until a wait takes it, as NT's does.
 *
 * The fake Windows is as strict as Windows: an odd keyed-event key answers
 * STATUS_INVALID_PARAMETER_1, a keyed-event handle without KEYEDEVENT_WAIT
 * (for waits) or KEYEDEVENT_WAKE (for releases) STATUS_ACCESS_DENIED, and a
 * wait without a timeout never times out: a script that makes one answer
 * "timed out" is a bug of the test (abort), unless fake_allow_impossible.
 *
 * Under ThreadSanitizer the fake kernel gives TSan no happens-before edge of
 * its own (its lock is invisible to TSan): the only ordering between a waker
 * and a woken thread that TSan sees is the backend's, as on a real OS whose
 * kernel TSan does not see either.
 * Tests install it before they start threads and remove it after joining. */
#ifndef TPARK_TESTS_FAKE_OS_H
#define TPARK_TESTS_FAKE_OS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which OS the fake plays; the other OS's entries are hidden (missing). */
typedef enum fake_os_kind { FAKE_OS_LINUX, FAKE_OS_WINDOWS } fake_os_kind;

/* The fake calls that can be counted, scripted and failed. */
typedef enum fake_call {
  FAKE_CLOCK,           /* clock_gettime, QueryPerformanceCounter */
  FAKE_FUTEX_WAIT,      /* futex(FUTEX_WAIT_BITSET) */
  FAKE_FUTEX_WAKE,      /* futex(FUTEX_WAKE) */
  FAKE_GET_MODULE,      /* GetModuleHandleA */
  FAKE_GET_PROC,        /* GetProcAddress */
  FAKE_QPF,             /* QueryPerformanceFrequency */
  FAKE_WAIT_ON_ADDRESS, /* WaitOnAddress */
  FAKE_WAKE_BY_ADDRESS, /* WakeByAddressSingle */
  FAKE_NT_CREATE,       /* NtCreateKeyedEvent */
  FAKE_NT_WAIT,         /* NtWaitForKeyedEvent */
  FAKE_NT_RELEASE,      /* NtReleaseKeyedEvent */
  FAKE_CLOSE_HANDLE,    /* CloseHandle */
  FAKE_SLEEP,           /* Sleep */
  FAKE_SCHED_YIELD,     /* sched_yield */
  FAKE_DLL_SHUTDOWN,    /* RtlDllShutdownInProgress */
  FAKE_N_CALLS
} fake_call;

/* A scripted answer. What err means depends on the call: an errno for the
 * Linux calls (0: success; a wait returns as if woken, spuriously if no
 * wake), GetLastError's value for WaitOnAddress (0: TRUE), the NTSTATUS for
 * the Nt* calls (0: STATUS_SUCCESS without taking a release), and any
 * non-zero value is a failure (NULL, FALSE) for the others. */
#define FAKE_DEFAULT INT_MIN /* err: run hook and clock, then the default */
typedef struct fake_answer {
  int err;
  uint64_t clock_to;       /* if > now, the fake clock moves there first */
  void (*hook)(void *arg); /* if set, runs first (fake lock not held) */
  void *arg;
} fake_answer;

/* Replaces the OS table's entries with the fakes of kind and resets the fake
 * state: clock at start_ns, nothing scripted or hidden, counters 0, no
 * handle, empty environment. */
void fake_os_install(uint64_t start_ns, fake_os_kind kind);
/* Restores every real entry. */
void fake_os_remove(void);

uint64_t fake_clock_now(void);
/* Moves the clock forward and wakes waits whose timeout has passed. */
void fake_clock_advance(uint64_t ns);

/* QueryPerformanceFrequency's answer (10 MHz after install); the counter is
 * the fake clock in those ticks, rounded down. */
void fake_qpc_set_frequency(int64_t frequency);

/* What RtlDllShutdownInProgress answers (false after install): true plays a
 * process in ExitProcess, whose other threads are all gone. */
void fake_set_dll_shutdown(bool in_progress);

/* Lets scripted answers be ones Windows never gives (an untimed wait that
 * "times out"), for tests of a backend's abort on them. Off after install. */
void fake_allow_impossible(bool allow);

/* The fake environment of getenv: one variable at a time (NULL: unset). */
void fake_env_set(const char *name, const char *value);

/* Makes a Windows module or function missing, as on an older Windows. */
void fake_hide(const char *module_or_function);

/* The next n calls of c answer answers[0..n-1] instead of their default. */
void fake_script(fake_call c, const fake_answer *answers, size_t n);
/* The n-th call of c from now (1 = the next) fails with err. */
void fake_fail_nth(fake_call c, unsigned n, int err);
/* Calls of c since install. */
unsigned fake_count(fake_call c);

/* Threads blocked in a fake wait (futex, WaitOnAddress, keyed event). */
size_t fake_sleepers(void);
/* Waits (real time, at most timeout_ms) until >= n threads block in a fake
 * wait; true once they do. */
bool fake_wait_sleepers(size_t n, unsigned timeout_ms);

/* Keyed-event handles created and not closed. */
int fake_open_handles(void);
/* Releases posted and not yet taken by a wait (blocked releasers). */
size_t fake_pending_releases(void);
/* The last timeouts passed: WaitOnAddress's ms, and NtWaitForKeyedEvent's
 * 100 ns units (has_nt_timeout false when it was NULL); releases do not
 * count. */
uint32_t fake_last_wait_ms(void);
int64_t fake_last_nt_timeout(bool *has_nt_timeout);

#endif /* TPARK_TESTS_FAKE_OS_H */
