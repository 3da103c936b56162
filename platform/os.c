/* The OS table: its entries, their real functions, and replacing them. */
#include "platform/os.h"

#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The real functions (platform/posix.c, platform/windows.c). Declared for
 * every OS; only those of this OS are defined and referenced. */
#define TPARK_OS_DECLARE_REAL(name, where, cc, ret, params) tpark_os_##name##_fn tpark__real_##name;
TPARK_OS_CALLS(TPARK_OS_DECLARE_REAL)
#undef TPARK_OS_DECLARE_REAL

#define TPARK_REAL(name) ((tpark_os_fn)tpark__real_##name)
#define TPARK_REAL_ANY(name) TPARK_REAL(name)
#if defined(_WIN32)
#define TPARK_REAL_WIN(name) TPARK_REAL(name)
#define TPARK_REAL_POSIX(name) NULL
#else
#define TPARK_REAL_WIN(name) NULL
#define TPARK_REAL_POSIX(name) TPARK_REAL(name)
#endif
#if defined(__linux__)
#define TPARK_REAL_LINUX(name) TPARK_REAL(name)
#else
#define TPARK_REAL_LINUX(name) NULL
#endif

tpark_os_entry tpark__os[TPARK_OS_COUNT] = {
#define TPARK_OS_INIT(name, where, cc, ret, params) \
  {#name, TPARK_REAL_##where(name), TPARK_REAL_##where(name)},
    TPARK_OS_CALLS(TPARK_OS_INIT)
#undef TPARK_OS_INIT
};

static tpark_os_entry *find_entry(const char *name) {
  if (name == NULL) return NULL;
  for (size_t i = 0; i < TPARK_OS_COUNT; i++) {
    if (strcmp(tpark__os[i].name, name) == 0) return &tpark__os[i];
  }
  return NULL;
}

tpark_status tpark_os_set(const char *name, tpark_os_fn fn) {
  tpark_os_entry *e = find_entry(name);
  if (e == NULL) return TPARK_EINVAL;
  e->current = fn != NULL ? fn : e->real;
  return TPARK_OK;
}

tpark_status tpark_os_hide(const char *name) {
  tpark_os_entry *e = find_entry(name);
  if (e == NULL) return TPARK_EINVAL;
  e->current = NULL;
  return TPARK_OK;
}

tpark_os_fn tpark_os_get(const char *name) {
  tpark_os_entry *e = find_entry(name);
  return e != NULL ? e->current : NULL;
}

void tpark_os_restore_all(void) {
  for (size_t i = 0; i < TPARK_OS_COUNT; i++) tpark__os[i].current = tpark__os[i].real;
}

void tpark__os_yield(void) {
  if (tpark_os_has(Sleep)) {
    tpark_os(Sleep)(0);
  } else if (tpark_os_has(sched_yield)) {
    tpark_os(sched_yield)();
  }
}

bool tpark__os_qpc_frequency(int64_t *frequency) {
  return tpark_os(QueryPerformanceFrequency)(frequency) && *frequency > 0 &&
         (uint64_t)*frequency <= TPARK_QPC_MAX_FREQUENCY;
}

tpark_instant tpark__os_qpc_ns(int64_t frequency) {
  int64_t count;
  if (!tpark_os(QueryPerformanceCounter)(&count)) {
    tpark__os_fatal("QueryPerformanceCounter", "GetLastError", (long)tpark_os(GetLastError)());
  }
  uint64_t c = (uint64_t)count, f = (uint64_t)frequency;
  /* floor(c * 10^9 / f), exactly, split so that no product overflows:
   * c % f * 10^9 < f * 10^9 <= UINT64_MAX (TPARK_QPC_MAX_FREQUENCY). */
  uint64_t sec = c / f, frac = c % f * TPARK_NS_PER_SEC / f;
  /* Saturates below TPARK_NEVER (after ~584 years of uptime). */
  if (sec > (TPARK_NEVER - 1 - frac) / TPARK_NS_PER_SEC) return TPARK_NEVER - 1;
  return sec * TPARK_NS_PER_SEC + frac;
}

void tpark__os_fatal(const char *call, const char *what, long code) {
  /* Every code tpark reports (errno, GetLastError, NTSTATUS) fits 32 bits. */
  fprintf(stderr, "tpark: %s failed: %s %ld (0x%08lx)\n", call, what, code,
          (unsigned long)(uint32_t)code);
  fflush(stderr);
  abort();
}
