/* A fake OS for tests: fakes of the OS table's entries (platform/os.h) over
 * a fake clock and a small fake kernel, so backend logic runs
 * deterministically: time passes only through fake_clock_*, and the next
 * answers of a call can be scripted (errors, spurious wake-ups, early
 * timeouts, with a hook that runs first).
 *
 * Unscripted calls behave like the real OS: waits really block (on the fake
 * kernel's lock) until a wake or until the fake clock passes their timeout.
 * Tests install it before they start threads and remove it after joining. */
#ifndef TPARK_TESTS_FAKE_OS_H
#define TPARK_TESTS_FAKE_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fake calls that can be counted and scripted. */
typedef enum fake_call {
  FAKE_CLOCK,       /* clock_gettime */
  FAKE_FUTEX_WAIT,  /* futex(FUTEX_WAIT_BITSET) */
  FAKE_FUTEX_WAKE,  /* futex(FUTEX_WAKE) */
  FAKE_N_CALLS
} fake_call;

/* A scripted answer. */
typedef struct fake_answer {
  int err;                 /* the errno to fail with; 0: succeed (a wait
                              returns as if woken, spuriously if no wake) */
  uint64_t clock_to;       /* if > now, the fake clock moves there first */
  void (*hook)(void *arg); /* if set, runs first (fake lock not held) */
  void *arg;
} fake_answer;

/* Replaces the OS table's entries with the fakes and resets the fake state:
 * clock at start_ns, nothing scripted, counters 0, environment empty. */
void fake_os_install(uint64_t start_ns);
/* Restores every real entry. */
void fake_os_remove(void);

uint64_t fake_clock_now(void);
/* Moves the clock forward and wakes waits whose timeout has passed. */
void fake_clock_advance(uint64_t ns);

/* The fake environment of getenv: one variable at a time (NULL: unset). */
void fake_env_set(const char *name, const char *value);

/* The next n calls of c answer answers[0..n-1] instead of their default. */
void fake_script(fake_call c, const fake_answer *answers, size_t n);
/* The n-th call of c from now (1 = the next) fails with err; others as usual. */
void fake_fail_nth(fake_call c, unsigned n, int err);
/* Calls of c since install. */
unsigned fake_count(fake_call c);
/* Threads blocked in a fake wait right now. */
size_t fake_sleepers(void);
/* Waits (real time, at most timeout_ms) until >= n threads block in a fake
 * wait; true once they do. */
bool fake_wait_sleepers(size_t n, unsigned timeout_ms);

#endif /* TPARK_TESTS_FAKE_OS_H */
