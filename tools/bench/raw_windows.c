/* parkbench: the raw baselines on Windows, each the plain obvious use of the
 * primitive that a tpark backend wraps, written as a user who never heard of
 * tpark would write "sleep until woken". A baseline copies no tpark choice
 * that the primitive does not force; tpark should cost no more.
 *
 *   waitaddress  WaitOnAddress/WakeByAddressSingle (Windows 8+)
 *   keyed_event  NtWaitForKeyedEvent/NtReleaseKeyedEvent (ntdll)
 * and the lock section's (lock_raw.h): an SRWLOCK, and WaitOnAddress as a
 * raw address wait. */
#if defined(_WIN32)

#include <windows.h>

#include "tools/bench/lock_raw.h"
#include "tools/bench/sys.h"
#include "tools/bench/variant.h"

/* The raw functions, looked up by name as the backends do (nothing links
 * against synchronization.lib or ntdll). */
typedef BOOL(WINAPI *wait_on_address_fn)(volatile VOID *, PVOID, SIZE_T, DWORD);
typedef VOID(WINAPI *wake_by_address_fn)(PVOID);
typedef LONG(NTAPI *nt_create_keyed_event_fn)(PHANDLE, ACCESS_MASK, PVOID, ULONG);
typedef LONG(NTAPI *nt_keyed_event_fn)(HANDLE, PVOID, BOOLEAN, PLARGE_INTEGER);
#define NT_STATUS_TIMEOUT 0x102

static struct {
  wait_on_address_fn wait_on_address;
  wake_by_address_fn wake_by_address_single;
  nt_keyed_event_fn wait_for_keyed_event, release_keyed_event;
  HANDLE keyed_event; /* the baseline's own handle */
} win;

/* module!name, or NULL when it is missing. */
static void (*find(const char *module, const char *name))(void) {
  HMODULE m = GetModuleHandleA(module);
  FARPROC f = m ? GetProcAddress(m, name) : NULL;
  return (void (*)(void))f;
}

static void (*lookup(const char *module, const char *name))(void) {
  void (*f)(void) = find(module, name);
  if (f == NULL) die("raw baseline: %s!%s not found", module, name);
  return f;
}

#define SYNCH_DLL "api-ms-win-core-synch-l1-2-0.dll"

/* WaitOnAddress: the obvious loop on a "woken" flag, as a binary semaphore:
 * the owner waits while the flag is 0 and clears it; the waker sets it and
 * calls WakeByAddressSingle. Why it is the floor: the compare is done in the
 * wait call, so no lock is needed; one store and one wake call per wake-up,
 * one wait call per sleep. (WaitOnAddress keeps no count of waiters the
 * caller could read, so the wake call is always made.) */
static void wa_init(slot *s, const tpark_backend *b) {
  (void)b;
  if (win.wait_on_address == NULL) {
    win.wait_on_address = (wait_on_address_fn)lookup(SYNCH_DLL, "WaitOnAddress");
    win.wake_by_address_single = (wake_by_address_fn)lookup(SYNCH_DLL, "WakeByAddressSingle");
  }
  s->state = 0;
}
static inline void wa_prepare(slot *s) { (void)s; }
static inline void wa_park(slot *s) {
  uint32_t zero = 0;
  while (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == 0) {
    win.wait_on_address(&s->state, &zero, sizeof zero, INFINITE);
  }
  __atomic_store_n(&s->state, 0, __ATOMIC_RELAXED);
}
static inline void wa_wake(slot *s) {
  __atomic_store_n(&s->state, 1, __ATOMIC_RELEASE);
  win.wake_by_address_single(&s->state);
}
/* One WaitOnAddress; it takes whole ms, so the timeout is rounded up (0.1 ms
 * asks for 1 ms) and lateness is counted from the requested timeout. */
static bool wa_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  uint32_t zero = 0;
  s->state = 0;
  uint64_t start = now_ns();
  DWORD ms = (DWORD)((timeout_ns + 999999) / 1000000);
  BOOL woken = win.wait_on_address(&s->state, &zero, sizeof zero, ms);
  DWORD err = GetLastError();
  *late = (int64_t)(now_ns() - (start + timeout_ns));
  return !woken && err == ERROR_TIMEOUT;
}
DEFINE_LOOPS(wa)

/* Keyed events: the owner waits on the key (the slot's address), the waker
 * releases it; a release blocks until a wait takes it, so no flag is needed
 * for a hand-off. Why it is the floor: one wait call and one release call
 * per wake-up, nothing else. */
static void ke_init(slot *s, const tpark_backend *b) {
  (void)b;
  if (win.keyed_event == NULL) {
    nt_create_keyed_event_fn create =
        (nt_create_keyed_event_fn)lookup("ntdll.dll", "NtCreateKeyedEvent");
    win.wait_for_keyed_event = (nt_keyed_event_fn)lookup("ntdll.dll", "NtWaitForKeyedEvent");
    win.release_keyed_event = (nt_keyed_event_fn)lookup("ntdll.dll", "NtReleaseKeyedEvent");
    if (create(&win.keyed_event, GENERIC_READ | GENERIC_WRITE, NULL, 0) != 0) {
      die("raw baseline: NtCreateKeyedEvent failed");
    }
  }
  s->state = 0;
}
static inline void ke_prepare(slot *s) { (void)s; }
static inline void ke_park(slot *s) {
  win.wait_for_keyed_event(win.keyed_event, &s->state, FALSE, NULL);
}
static inline void ke_wake(slot *s) {
  win.release_keyed_event(win.keyed_event, &s->state, FALSE, NULL);
}
/* One NtWaitForKeyedEvent with a relative timeout in 100 ns units, rounded up. */
static bool ke_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  LARGE_INTEGER timeout;
  timeout.QuadPart = -(LONGLONG)((timeout_ns + 99) / 100);
  uint64_t start = now_ns();
  LONG st = win.wait_for_keyed_event(win.keyed_event, &s->state, FALSE, &timeout);
  *late = (int64_t)(now_ns() - (start + timeout_ns));
  return st == NT_STATUS_TIMEOUT;
}
DEFINE_LOOPS(ke)

const target raw_targets[] = {
    {"waitaddress", "WaitOnAddress loop on a flag, WakeByAddressSingle after setting it",
     VARIANT(wa), false},
    {"keyed_event", "NtWaitForKeyedEvent / NtReleaseKeyedEvent on the slot's address, own handle",
     VARIANT(ke), true},
};
const size_t n_raw_targets = sizeof raw_targets / sizeof raw_targets[0];

/* ---- the lock section's baselines (lock_raw.h) ---------------------------------- */

static SRWLOCK system_srwlock = SRWLOCK_INIT;

const char *const system_lock_name = "SRWLOCK";

void system_lock_init(void) { InitializeSRWLock(&system_srwlock); }

void system_lock(void) { AcquireSRWLockExclusive(&system_srwlock); }

void system_unlock(void) { ReleaseSRWLockExclusive(&system_srwlock); }

static CRITICAL_SECTION system_critical_section;

const char *const system_recursive_name = "CRITICAL_SECTION";

void system_recursive_init(void) {
  static bool made;
  if (made) DeleteCriticalSection(&system_critical_section);
  InitializeCriticalSection(&system_critical_section);
  made = true;
}

void system_recursive_lock(void) { EnterCriticalSection(&system_critical_section); }

void system_recursive_unlock(void) { LeaveCriticalSection(&system_critical_section); }

const char *raw_wait_name(void) {
  if (win.wait_on_address == NULL) {
    win.wait_on_address = (wait_on_address_fn)find(SYNCH_DLL, "WaitOnAddress");
    win.wake_by_address_single = (wake_by_address_fn)find(SYNCH_DLL, "WakeByAddressSingle");
  }
  return win.wait_on_address && win.wake_by_address_single ? "WaitOnAddress" : NULL;
}

void raw_wait(uint32_t *addr, uint32_t value) {
  win.wait_on_address(addr, &value, sizeof value, INFINITE);
}

void raw_wake(uint32_t *addr) { win.wake_by_address_single(addr); }

#endif /* _WIN32 */
