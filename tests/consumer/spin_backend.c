/* The spin backend (spin_backend.h). p->state_.word is EMPTY (not in a cycle,
 * or unparked) or PARKED: prepare_park stores PARKED, unpark_lock exchanges in
 * EMPTY (release), park polls until it reads EMPTY (acquire). After a timeout
 * the state stays PARKED, so timed_out is "still PARKED?". Nothing sleeps, so
 * unpark has nothing to wake and no wake-up can be lost. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "spin_backend.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <sched.h>
#include <time.h>
#endif

enum { EMPTY = 0, PARKED = 1 };

static tpark_instant spin_now(const tpark_backend *self) {
  (void)self;
#if defined(_WIN32)
  LARGE_INTEGER freq, count;
  QueryPerformanceFrequency(&freq); /* cannot fail since Windows XP */
  QueryPerformanceCounter(&count);
  uint64_t f = (uint64_t)freq.QuadPart, c = (uint64_t)count.QuadPart;
  return c / f * UINT64_C(1000000000) + c % f * UINT64_C(1000000000) / f;
#else
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
    fprintf(stderr, "spin backend: clock_gettime failed\n");
    abort(); /* after setup nothing may fail */
  }
  return (tpark_instant)ts.tv_sec * UINT64_C(1000000000) + (tpark_instant)ts.tv_nsec;
#endif
}

static void spin_thread_yield(const tpark_backend *self) {
  (void)self;
#if defined(_WIN32)
  SwitchToThread();
#else
  sched_yield();
#endif
}

static void spin_prepare_park(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  __atomic_store_n(&p->state_.word, PARKED, __ATOMIC_RELAXED);
}

static bool spin_park_until(const tpark_backend *self, tpark_parker *p, tpark_instant deadline) {
  for (;;) {
    if (__atomic_load_n(&p->state_.word, __ATOMIC_ACQUIRE) == EMPTY) return true;
    if (deadline != TPARK_NEVER && spin_now(self) >= deadline) return false;
    spin_thread_yield(self);
  }
}

static void spin_park(const tpark_backend *self, tpark_parker *p) {
  spin_park_until(self, p, TPARK_NEVER);
}

static bool spin_timed_out(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  return __atomic_load_n(&p->state_.word, __ATOMIC_ACQUIRE) != EMPTY;
}

static void *spin_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  __atomic_exchange_n(&p->state_.word, EMPTY, __ATOMIC_RELEASE);
  return NULL; /* the owner polls: nothing to wake */
}

static void spin_unpark(const tpark_backend *self, void *token) {
  (void)self;
  (void)token;
}

tpark_status spin_backend_create(tpark_backend *b) {
  if (b == NULL) return TPARK_EINVAL;
  *b = (tpark_backend){
      .abi_version = TPARK_BACKEND_ABI_VERSION,
      .name = "spin",
      .prepare_park = spin_prepare_park,
      .park = spin_park,
      .park_until = spin_park_until,
      .timed_out = spin_timed_out,
      .unpark_lock = spin_unpark_lock,
      .unpark = spin_unpark,
      .now = spin_now,
      .thread_yield = spin_thread_yield,
      .context = NULL,
  };
  return TPARK_OK;
}
