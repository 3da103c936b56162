/* waitaddress backend (Windows 8+): WaitOnAddress on the state word and
 * WakeByAddressSingle, both looked up at run time in
 * api-ms-win-core-synch-l1-2-0.dll, so nothing links against them. Calls go
 * through the OS table only: this file compiles on every OS and runs on
 * Linux against the fake Windows of the tests.
 *
 * States of p->state_.u32: EMPTY (not in a cycle, or unparked) and PARKED.
 * Clock: QueryPerformanceCounter. */
#include <stdlib.h>

#include "backends/builtin.h"
#include "core/internal.h"
#include "platform/os.h"

enum { EMPTY = 0, PARKED = 1 };

struct waitaddress {
  tpark_os_WaitOnAddress_fn *wait_on_address;
  tpark_os_WakeByAddressSingle_fn *wake_by_address_single;
  tpark_os_WakeByAddressSingle_fn *wake_by_address_all; /* NULL: no native address wait */
  int64_t qpc_frequency;
};

static tpark_instant waitaddress_now(const tpark_backend *self) {
  const struct waitaddress *wa = self->context;
  return tpark__os_qpc_ns(wa->qpc_frequency);
}

static void waitaddress_prepare_park(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  __atomic_store_n(&p->state_.u32, PARKED, __ATOMIC_RELAXED);
}

static bool waitaddress_park_until(const tpark_backend *self, tpark_parker *p,
                                   tpark_instant deadline) {
  const struct waitaddress *wa = self->context;
  for (;;) {
    if (__atomic_load_n(&p->state_.u32, __ATOMIC_ACQUIRE) == EMPTY) return true;
    uint32_t ms = TPARK__INFINITE;
    if (deadline != TPARK_NEVER) {
      tpark_instant now = waitaddress_now(self);
      if (now >= deadline) return false; /* the state stays PARKED: timed out */
      ms = tpark__wait_ms(deadline - now);
    }
    uint32_t parked = PARKED;
    if (!wa->wait_on_address(&p->state_.u32, &parked, sizeof parked, ms)) {
      /* A timeout (perhaps early on our clock): the loop checks the time. */
      uint32_t err = tpark_os(GetLastError)();
      if (err != TPARK__ERROR_TIMEOUT) tpark__os_fatal("WaitOnAddress", "GetLastError", (long)err);
    }
  }
}

static void waitaddress_park(const tpark_backend *self, tpark_parker *p) {
  waitaddress_park_until(self, p, TPARK_NEVER);
}

static bool waitaddress_timed_out(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  return __atomic_load_n(&p->state_.u32, __ATOMIC_ACQUIRE) != EMPTY;
}

static void *waitaddress_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  uint32_t old = __atomic_exchange_n(&p->state_.u32, EMPTY, __ATOMIC_RELEASE);
  return old == PARKED ? &p->state_.u32 : NULL;
}

static void waitaddress_unpark(const tpark_backend *self, void *token) {
  const struct waitaddress *wa = self->context;
  /* Only the address is used: the parker may be freed by now. */
  if (token != NULL) wa->wake_by_address_single(token);
}

/* The native address wait (tpark/wait.h over WaitOnAddress itself). */
static bool waitaddress_wait_on_address(const tpark_backend *self, volatile void *addr,
                                        const void *compare, size_t size, tpark_instant deadline) {
  const struct waitaddress *wa = self->context;
  for (;;) {
    uint32_t ms = TPARK__INFINITE;
    if (deadline != TPARK_NEVER) {
      tpark_instant now = waitaddress_now(self);
      /* A past deadline still compares once (0 ms): a changed value is true. */
      ms = now >= deadline ? 0 : tpark__wait_ms(deadline - now);
    }
    if (wa->wait_on_address(addr, (void *)compare, size, ms)) return true;
    uint32_t err = tpark_os(GetLastError)();
    if (err != TPARK__ERROR_TIMEOUT) tpark__os_fatal("WaitOnAddress", "GetLastError", (long)err);
    if (ms == 0 || waitaddress_now(self) >= deadline) return false;
    /* Early on our clock: wait for the rest. */
  }
}

static void waitaddress_wake_by_address(const tpark_backend *self, void *addr, bool all) {
  const struct waitaddress *wa = self->context;
  if (all) {
    wa->wake_by_address_all(addr);
  } else {
    wa->wake_by_address_single(addr);
  }
}

static void waitaddress_thread_yield(const tpark_backend *self) {
  (void)self;
  tpark_os(Sleep)(0);
}

static tpark_status waitaddress_create(tpark_backend *b) {
  if (!tpark_os_has(GetModuleHandleA) || !tpark_os_has(GetProcAddress) ||
      !tpark_os_has(GetLastError) || !tpark_os_has(QueryPerformanceCounter) ||
      !tpark_os_has(QueryPerformanceFrequency) || !tpark_os_has(Sleep)) {
    return TPARK_ENOTSUP;
  }
  /* Windows 8+ maps this API set into every process that can use it. */
  void *synch = tpark_os(GetModuleHandleA)("api-ms-win-core-synch-l1-2-0.dll");
  if (synch == NULL) return TPARK_ENOTSUP;
  tpark_os_fn wait = tpark_os(GetProcAddress)(synch, "WaitOnAddress");
  tpark_os_fn wake = tpark_os(GetProcAddress)(synch, "WakeByAddressSingle");
  if (wait == NULL || wake == NULL) return TPARK_ENOTSUP;
  tpark_os_fn wake_all = tpark_os(GetProcAddress)(synch, "WakeByAddressAll");
  int64_t frequency;
  if (!tpark__os_qpc_frequency(&frequency)) return TPARK_ENOBACKEND;
  struct waitaddress *wa = malloc(sizeof *wa);
  if (wa == NULL) return TPARK_ENOBACKEND;
  wa->wait_on_address = (tpark_os_WaitOnAddress_fn *)wait;
  wa->wake_by_address_single = (tpark_os_WakeByAddressSingle_fn *)wake;
  wa->wake_by_address_all = (tpark_os_WakeByAddressSingle_fn *)wake_all;
  wa->qpc_frequency = frequency;
  *b = (tpark_backend){
      .abi_version = TPARK_BACKEND_ABI_VERSION,
      .name = "waitaddress",
      .prepare_park = waitaddress_prepare_park,
      .park = waitaddress_park,
      .park_until = waitaddress_park_until,
      .timed_out = waitaddress_timed_out,
      .unpark_lock = waitaddress_unpark_lock,
      .unpark = waitaddress_unpark,
      .now = waitaddress_now,
      .thread_yield = waitaddress_thread_yield,
      .context = wa,
      .wait_on_address = wake_all != NULL ? waitaddress_wait_on_address : NULL,
      .wake_by_address = wake_all != NULL ? waitaddress_wake_by_address : NULL,
  };
  return TPARK_OK;
}

static void waitaddress_destroy(tpark_backend *b) { free(b->context); }

const tpark__builtin *tpark__waitaddress_builtin(void) {
  static const tpark__builtin builtin = {"waitaddress", waitaddress_create, waitaddress_destroy};
  return &builtin;
}
