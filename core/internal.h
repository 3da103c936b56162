/* Internal header (not installed): what every layer shares: the one way to
 * end the process on an impossible answer or a misuse (core/fatal.c), the
 * vtable check (core/vtable.c), and deadline arithmetic (pure functions,
 * unit-tested in tests/deadline_test.c). */
#ifndef TPARK_CORE_INTERNAL_H
#define TPARK_CORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "tpark/tpark.h"

#define TPARK_NS_PER_SEC UINT64_C(1000000000)
#define TPARK_NS_PER_MS UINT64_C(1000000)

/* Prints fmt's line (a newline added) on stderr and aborts. For what the API
 * says ends the process: a misuse it cannot report otherwise, or an OS
 * answer that cannot happen once a backend is set up. Messages start with
 * what failed ("tpark: futex(FUTEX_WAKE) failed: ...", "tpark mock: ...",
 * "tpark_wait_on_address: ..."). */
void tpark__fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Sets a function that tpark__fatal calls after its line, before it aborts
 * (the schedule explorer prints the token of its run); NULL: none. */
void tpark__set_fatal_hook(void (*hook)(void));

/* Makes b the process default as tpark_set_default_backend does and returns
 * the default that was set before: NULL when there was none (automatic
 * selection), so that passing it back restores exactly that. */
const tpark_backend *tpark__exchange_set_default(const tpark_backend *b);

/* What tpark_init_with accepts (core/vtable.c): a known ABI version, a name,
 * every required member, and both or neither native address-wait member. */
bool tpark__backend_complete(const tpark_backend *b);

/* a + b, saturating at TPARK_NEVER. */
static inline tpark_instant tpark__add_sat(tpark_instant a, uint64_t b) {
  return b > TPARK_NEVER - a ? TPARK_NEVER : a + b;
}

/* ceil(n / unit), unit > 0; exact for every n (no n + unit - 1 overflow). */
static inline uint64_t tpark__div_ceil(uint64_t n, uint64_t unit) {
  return n / unit + (n % unit != 0);
}

/* The WaitOnAddress timeout for a wait of ns: ms rounded up, and never
 * 0xFFFFFFFF (INFINITE) for a finite wait: longer waits are cut to
 * 0xFFFFFFFE ms (49.7 days) and the caller's loop waits again. */
static inline uint32_t tpark__wait_ms(uint64_t ns) {
  uint64_t ms = tpark__div_ceil(ns, TPARK_NS_PER_MS);
  return ms >= 0xFFFFFFFFu ? 0xFFFFFFFEu : (uint32_t)ms;
}

/* The NtWaitForKeyedEvent timeout for a wait of ns: 100 ns units rounded
 * up, negative (relative, on the monotonic interrupt clock). Never overflows:
 * UINT64_MAX / 100 < INT64_MAX. */
static inline int64_t tpark__nt_relative_timeout(uint64_t ns) {
  return -(int64_t)tpark__div_ceil(ns, 100);
}

/* An instant in ns as a timespec (for absolute CLOCK_MONOTONIC waits). */
static inline struct timespec tpark__timespec(tpark_instant ns) {
  struct timespec ts;
  uint64_t sec = ns / TPARK_NS_PER_SEC;
  /* A 32-bit time_t cannot hold 584 years: such a wait ends early and the
   * caller's loop waits again. */
  if (sizeof(time_t) < 8 && sec > INT32_MAX) sec = INT32_MAX;
  ts.tv_sec = (time_t)sec;
  ts.tv_nsec = (long)(ns % TPARK_NS_PER_SEC);
  return ts;
}

/* A timespec from clock_gettime as ns. */
static inline tpark_instant tpark__from_timespec(const struct timespec *ts) {
  return (uint64_t)ts->tv_sec * TPARK_NS_PER_SEC + (uint64_t)ts->tv_nsec;
}

#endif /* TPARK_CORE_INTERNAL_H */
