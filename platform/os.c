/* The OS table: its entries, their real functions, and replacing them. */
#include "platform/os.h"

#include "core/internal.h"

#include <string.h>

tpark_os_entry tpark__os[TPARK_OS_COUNT] = {
#define TPARK_OS_INIT(name, where, cc, ret, params)                 \
  {#name, TPARK__ON_##where((tpark_os_fn)tpark__real_##name, NULL), \
   TPARK__ON_##where((tpark_os_fn)tpark__real_##name, NULL)},
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

tpark_status tpark__os_set(const char *name, tpark_os_fn fn) {
  tpark_os_entry *e = find_entry(name);
  if (e == NULL) return TPARK_EINVAL;
  e->current = fn != NULL ? fn : e->real;
  return TPARK_OK;
}

tpark_status tpark__os_hide(const char *name) {
  tpark_os_entry *e = find_entry(name);
  if (e == NULL) return TPARK_EINVAL;
  e->current = NULL;
  return TPARK_OK;
}

void tpark__os_restore_all(void) {
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
         (uint64_t)*frequency <= TPARK__QPC_MAX_FREQUENCY;
}

tpark_instant tpark__os_qpc_ns(int64_t frequency) {
  int64_t count;
  if (!tpark_os(QueryPerformanceCounter)(&count)) {
    tpark__os_fatal("QueryPerformanceCounter", "GetLastError", (long)tpark_os(GetLastError)());
  }
  uint64_t c = (uint64_t)count, f = (uint64_t)frequency;
  /* floor(c * 10^9 / f), exactly, split so that no product overflows:
   * c % f * 10^9 < f * 10^9 <= UINT64_MAX (TPARK__QPC_MAX_FREQUENCY). */
  uint64_t sec = c / f, frac = c % f * TPARK_NS_PER_SEC / f;
  /* Saturates below TPARK_NEVER (after ~584 years of uptime). */
  if (sec > (TPARK_NEVER - 1 - frac) / TPARK_NS_PER_SEC) return TPARK_NEVER - 1;
  return sec * TPARK_NS_PER_SEC + frac;
}

void tpark__os_fatal(const char *call, const char *what, long code) {
  /* Every code tpark reports (errno, GetLastError, NTSTATUS) fits 32 bits. */
  tpark__fatal("tpark: %s failed: %s %ld (0x%08lx)", call, what, code,
               (unsigned long)(uint32_t)code);
}
