/* keyed_event backend (Windows XP+): NT keyed events, looked up at run time
 * in ntdll.dll. One keyed-event handle per process; the key is the address
 * of the parker's state word (even, as keys must be). Calls go through the
 * OS table only: this file compiles on every OS and runs on Linux against
 * the fake Windows of the tests.
 *
 * A release (NtReleaseKeyedEvent) blocks until a thread waits on its key and
 * takes it. So every unpark_lock that finds the parker PARKED promises one
 * release, and the owner must take it before its park returns, even when it
 * has just timed out: otherwise the waker would stay blocked for good.
 *
 * At process exit, a release could never be taken: once ExitProcess has
 * ended every other thread, code that still runs (DllMain with
 * DLL_PROCESS_DETACH, a DLL's static destructors) may unpark a worker that no
 * longer exists, and NtReleaseKeyedEvent would block for ever: the process
 * would never exit. So unpark asks RtlDllShutdownInProgress (ntdll, looked up
 * like the Nt* calls; optional) first and skips the release during shutdown.
 *
 * States of p->state_.u32:
 *   EMPTY      never prepared
 *   PARKED     prepared, no unpark_lock yet
 *   UNPARKED   an unpark_lock won: a release is coming (or came)
 *   TIMED_OUT  park_until gave up first; an unpark_lock now sends nothing
 * Clock: QueryPerformanceCounter. */
#include <stdlib.h>

#include "backends/builtin.h"
#include "core/internal.h"
#include "platform/os.h"

enum { EMPTY = 0, PARKED = 1, UNPARKED = 2, TIMED_OUT = 3 };

#define KEYED_EVENT_ACCESS 0xC0000000u /* GENERIC_READ | GENERIC_WRITE */

struct keyed_event {
  void *handle;
  tpark_os_NtWaitForKeyedEvent_fn *wait;
  tpark_os_NtReleaseKeyedEvent_fn *release;
  tpark_os_RtlDllShutdownInProgress_fn *shutting_down; /* NULL if ntdll lacks it */
  int64_t qpc_frequency;
};

static tpark_instant keyed_event_now(const tpark_backend *self) {
  const struct keyed_event *ke = self->context;
  return tpark__os_qpc_ns(ke->qpc_frequency);
}

static void keyed_event_prepare_park(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  __atomic_store_n(&p->state_.u32, PARKED, __ATOMIC_RELAXED);
}

/* One NtWaitForKeyedEvent; timeout NULL waits until a release is taken.
 * After a release it orders the waker's writes before its unpark_lock before
 * ours (acquire). */
static tpark__ntstatus keyed_wait(const struct keyed_event *ke, tpark_parker *p, int64_t *timeout) {
  tpark__ntstatus status = ke->wait(ke->handle, &p->state_.u32, 0, timeout);
  if (status == TPARK__STATUS_SUCCESS) {
    (void)__atomic_load_n(&p->state_.u32, __ATOMIC_ACQUIRE);
  } else if (!(timeout != NULL && status == TPARK__STATUS_TIMEOUT)) {
    tpark__os_fatal("NtWaitForKeyedEvent", "NTSTATUS", (long)status);
  }
  return status;
}

static void keyed_event_park(const tpark_backend *self, tpark_parker *p) {
  keyed_wait(self->context, p, NULL);
}

static bool keyed_event_park_until(const tpark_backend *self, tpark_parker *p,
                                   tpark_instant deadline) {
  const struct keyed_event *ke = self->context;
  if (deadline == TPARK_NEVER) {
    keyed_wait(ke, p, NULL);
    return true;
  }
  for (;;) {
    tpark_instant now = keyed_event_now(self);
    if (now >= deadline) {
      /* Commit to the timeout, unless an unpark_lock came first: then its
       * release is on its way and must be taken. */
      if (__atomic_exchange_n(&p->state_.u32, TIMED_OUT, __ATOMIC_ACQ_REL) == UNPARKED) {
        keyed_wait(ke, p, NULL);
        return true;
      }
      return false;
    }
    /* Relative (negative), so a change of the wall clock cannot move it. An
     * OS timeout that fires early on our clock loops and waits again. */
    int64_t timeout = tpark__nt_relative_timeout(deadline - now);
    if (keyed_wait(ke, p, &timeout) == TPARK__STATUS_SUCCESS) return true;
  }
}

static bool keyed_event_timed_out(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  return __atomic_load_n(&p->state_.u32, __ATOMIC_ACQUIRE) == TIMED_OUT;
}

static void *keyed_event_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  uint32_t old = __atomic_exchange_n(&p->state_.u32, UNPARKED, __ATOMIC_ACQ_REL);
  return old == PARKED ? &p->state_.u32 : NULL;
}

static void keyed_event_unpark(const tpark_backend *self, void *token) {
  const struct keyed_event *ke = self->context;
  if (token == NULL) return;
  /* During process shutdown the owner is gone (see the top of this file). */
  if (ke->shutting_down != NULL && ke->shutting_down()) return;
  /* Blocks until the owner takes it; the key is only an address. */
  tpark__ntstatus status = ke->release(ke->handle, token, 0, NULL);
  if (status != TPARK__STATUS_SUCCESS) {
    tpark__os_fatal("NtReleaseKeyedEvent", "NTSTATUS", (long)status);
  }
}

static void keyed_event_thread_yield(const tpark_backend *self) {
  (void)self;
  tpark_os(Sleep)(0);
}

static tpark_status keyed_event_create(tpark_backend *b) {
  if (!tpark_os_has(GetModuleHandleA) || !tpark_os_has(GetProcAddress) ||
      !tpark_os_has(CloseHandle) || !tpark_os_has(GetLastError) ||
      !tpark_os_has(QueryPerformanceCounter) || !tpark_os_has(QueryPerformanceFrequency) ||
      !tpark_os_has(Sleep)) {
    return TPARK_ENOTSUP;
  }
  void *ntdll = tpark_os(GetModuleHandleA)("ntdll.dll");
  if (ntdll == NULL) return TPARK_ENOTSUP;
  tpark_os_fn create = tpark_os(GetProcAddress)(ntdll, "NtCreateKeyedEvent");
  tpark_os_fn wait_fn = tpark_os(GetProcAddress)(ntdll, "NtWaitForKeyedEvent");
  tpark_os_fn release_fn = tpark_os(GetProcAddress)(ntdll, "NtReleaseKeyedEvent");
  if (create == NULL || wait_fn == NULL || release_fn == NULL) return TPARK_ENOTSUP;
  tpark_os_fn shutting_down = tpark_os(GetProcAddress)(ntdll, "RtlDllShutdownInProgress");
  int64_t frequency;
  if (!tpark__os_qpc_frequency(&frequency)) return TPARK_ENOBACKEND;
  struct keyed_event *ke = malloc(sizeof *ke);
  if (ke == NULL) return TPARK_ENOBACKEND;
  ke->handle = NULL;
  if (((tpark_os_NtCreateKeyedEvent_fn *)create)(&ke->handle, KEYED_EVENT_ACCESS, NULL, 0) !=
          TPARK__STATUS_SUCCESS ||
      ke->handle == NULL) {
    free(ke);
    return TPARK_ENOBACKEND;
  }
  ke->wait = (tpark_os_NtWaitForKeyedEvent_fn *)wait_fn;
  ke->release = (tpark_os_NtReleaseKeyedEvent_fn *)release_fn;
  ke->shutting_down = (tpark_os_RtlDllShutdownInProgress_fn *)shutting_down;
  ke->qpc_frequency = frequency;
  *b = (tpark_backend){
      .abi_version = TPARK_BACKEND_ABI_VERSION,
      .name = "keyed_event",
      .prepare_park = keyed_event_prepare_park,
      .park = keyed_event_park,
      .park_until = keyed_event_park_until,
      .timed_out = keyed_event_timed_out,
      .unpark_lock = keyed_event_unpark_lock,
      .unpark = keyed_event_unpark,
      .now = keyed_event_now,
      .thread_yield = keyed_event_thread_yield,
      .context = ke,
  };
  return TPARK_OK;
}

static void keyed_event_destroy(tpark_backend *b) {
  struct keyed_event *ke = b->context;
  tpark_os(CloseHandle)(ke->handle);
  free(ke);
}

const tpark__builtin *tpark__keyed_event_builtin(void) {
  static const tpark__builtin builtin = {"keyed_event", keyed_event_create, keyed_event_destroy};
  return &builtin;
}
