/* Internal header (not installed): the OS table.
 *
 * Every OS function a backend calls goes through a named, replaceable entry
 * of tpark__os[] (after SQLite's aSyscall): a test replaces one entry with a
 * fake, by name, and restores one or all. Windows backends compile on every
 * OS and reach their functions only through this table, so that their logic
 * runs on Linux against a fake Windows (tests/fake_os.h).
 *
 * Each entry has the real function of this OS or NULL where this OS has no
 * such call (futex off Linux, the Windows calls off Windows); a backend whose
 * calls are NULL reports TPARK_ENOTSUP. Functions that Windows only offers by
 * name (WaitOnAddress, the Nt* keyed-event calls) are not entries: backends
 * look them up with the GetModuleHandleA/GetProcAddress entries, so faking
 * the loader fakes them.
 *
 * Entries are read without synchronisation on hot paths: replace them only
 * while no other thread uses tpark.
 */
#ifndef TPARK_PLATFORM_OS_H
#define TPARK_PLATFORM_OS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tpark/tpark.h"

/* Windows types and constants by hand, so that no Windows header is needed
 * anywhere. */
#if defined(_WIN32) && !defined(_WIN64)
#define TPARK__WINAPI __stdcall
#else
#define TPARK__WINAPI /* the only convention on x86_64 and off Windows */
#endif
typedef int32_t tpark__ntstatus;
#define TPARK__STATUS_SUCCESS ((tpark__ntstatus)0x00000000)
#define TPARK__STATUS_TIMEOUT ((tpark__ntstatus)0x00000102)
#define TPARK__INFINITE 0xFFFFFFFFu
#define TPARK__ERROR_TIMEOUT 1460u /* GetLastError after a timed-out WaitOnAddress */

/* Any function, as stored in the table (cast back to its own type to call). */
typedef void (*tpark_os_fn)(void);

/* Calling conventions of the entries. */
#define TPARK_OS_CC_C
#define TPARK_OS_CC_WIN TPARK__WINAPI

/* X(name, where it exists, convention, return type, parameters).
 * Where: ANY (standard C), POSIX, LINUX, WIN. A new entry: a line here and
 * its real function, tpark__real_<name>, in platform/posix.c or
 * platform/windows.c (the prototype comes from this line). */
// clang-format off: keep the table as a table
#define TPARK_OS_CALLS(X)                                                                    \
  X(getenv, ANY, C, char *, (const char *name))                                              \
  X(clock_gettime, POSIX, C, int, (int clock_id, struct timespec *ts))                       \
  X(sched_yield, POSIX, C, int, (void))                                                      \
  X(futex, LINUX, C, long,                                                                   \
    (uint32_t * uaddr, int op, uint32_t val, const struct timespec *timeout, uint32_t val3)) \
  X(pthread_cond_init_monotonic, POSIX, C, int, (pthread_cond_t * cond))                     \
  X(pthread_cond_wait, POSIX, C, int, (pthread_cond_t * cond, pthread_mutex_t * mutex))      \
  X(pthread_cond_timedwait, POSIX, C, int,                                                   \
    (pthread_cond_t * cond, pthread_mutex_t * mutex, const struct timespec *abstime))        \
  X(pthread_cond_broadcast, POSIX, C, int, (pthread_cond_t * cond))                          \
  X(pthread_mutex_lock, POSIX, C, int, (pthread_mutex_t * mutex))                            \
  X(pthread_mutex_unlock, POSIX, C, int, (pthread_mutex_t * mutex))                          \
  X(GetModuleHandleA, WIN, WIN, void *, (const char *module))                                \
  X(GetProcAddress, WIN, WIN, tpark_os_fn, (void *module, const char *proc))                 \
  X(CloseHandle, WIN, WIN, int, (void *handle))                                              \
  X(GetLastError, WIN, WIN, uint32_t, (void))                                                \
  X(QueryPerformanceCounter, WIN, WIN, int, (int64_t * count))                               \
  X(QueryPerformanceFrequency, WIN, WIN, int, (int64_t * frequency))                         \
  X(Sleep, WIN, WIN, void, (uint32_t ms))
// clang-format on

/* tpark_os_<name>_fn: the type of each entry. */
#define TPARK_OS_TYPEDEF(name, where, cc, ret, params) \
  typedef ret(TPARK_OS_CC_##cc tpark_os_##name##_fn) params;
TPARK_OS_CALLS(TPARK_OS_TYPEDEF)
#undef TPARK_OS_TYPEDEF

/* TPARK__ON_<where>(yes, no): yes where this OS has the calls of that kind,
 * else no. */
#define TPARK__ON_ANY(yes, no) yes
#if defined(_WIN32)
#define TPARK__ON_WIN(yes, no) yes
#define TPARK__ON_POSIX(yes, no) no
#else
#define TPARK__ON_WIN(yes, no) no
#define TPARK__ON_POSIX(yes, no) yes
#endif
#if defined(__linux__)
#define TPARK__ON_LINUX(yes, no) yes
#else
#define TPARK__ON_LINUX(yes, no) no
#endif

/* The real functions (platform/posix.c, platform/windows.c): a prototype for
 * each entry this OS has, made from its line of the table. A definition that
 * drifts from its line does not compile, one missing does not link, and a
 * function that has no line has no prototype (-Wmissing-prototypes). */
#define TPARK__OS_DECLARE_REAL(name, where, cc, ret, params) \
  TPARK__ON_##where(tpark_os_##name##_fn tpark__real_##name;, )
TPARK_OS_CALLS(TPARK__OS_DECLARE_REAL)
#undef TPARK__OS_DECLARE_REAL

/* Windows functions looked up by name through the loader entries. */
typedef int(TPARK__WINAPI tpark_os_WaitOnAddress_fn)(volatile void *address, void *compare,
                                                     size_t size, uint32_t ms);
typedef void(TPARK__WINAPI tpark_os_WakeByAddressSingle_fn)(void *address);
typedef tpark__ntstatus(TPARK__WINAPI tpark_os_NtCreateKeyedEvent_fn)(void **handle,
                                                                      uint32_t access,
                                                                      void *attributes,
                                                                      uint32_t flags);
typedef tpark__ntstatus(TPARK__WINAPI tpark_os_NtWaitForKeyedEvent_fn)(void *handle, void *key,
                                                                       uint8_t alertable,
                                                                       int64_t *timeout);
typedef tpark__ntstatus(TPARK__WINAPI tpark_os_NtReleaseKeyedEvent_fn)(void *handle, void *key,
                                                                       uint8_t alertable,
                                                                       int64_t *timeout);
/* BOOLEAN RtlDllShutdownInProgress(void): nonzero once ExitProcess has ended
 * every other thread and runs DllMain(DLL_PROCESS_DETACH) and the DLLs'
 * static destructors. */
typedef uint8_t(TPARK__WINAPI tpark_os_RtlDllShutdownInProgress_fn)(void);

enum tpark_os_index {
#define TPARK_OS_ENUM(name, where, cc, ret, params) TPARK_OS_##name,
  TPARK_OS_CALLS(TPARK_OS_ENUM)
#undef TPARK_OS_ENUM
      TPARK_OS_COUNT
};

typedef struct tpark_os_entry {
  const char *name;
  tpark_os_fn current; /* what backends call */
  tpark_os_fn real;    /* this OS's function, NULL where it has none */
} tpark_os_entry;

extern tpark_os_entry tpark__os[TPARK_OS_COUNT];

/* The current function of an entry, typed: tpark_os(futex)(...). */
#define tpark_os(name) ((tpark_os_##name##_fn *)tpark__os[TPARK_OS_##name].current)

/* True when the entry has a function (real or fake). */
#define tpark_os_has(name) (tpark__os[TPARK_OS_##name].current != NULL)

/* For tests (the fake OS, tests/fake_os.h): */
/* Replaces the entry called name with fn (NULL: the real one again).
 * TPARK_EINVAL when no entry has that name. */
tpark_status tpark__os_set(const char *name, tpark_os_fn fn);
/* Makes the entry called name missing (NULL), as on an OS without that
 * call. TPARK_EINVAL when no entry has that name. */
tpark_status tpark__os_hide(const char *name);
/* Every entry back to the real function. */
void tpark__os_restore_all(void);

/* Gives the processor away through the table (Sleep(0) or sched_yield). */
void tpark__os_yield(void);

/* Windows: QueryPerformanceFrequency, read once at setup: false if it fails
 * or answers a frequency tpark cannot convert exactly (not in 1 Hz ..
 * TPARK__QPC_MAX_FREQUENCY; real ones are 10 MHz, 3.58 MHz, a few GHz). */
#define TPARK__QPC_MAX_FREQUENCY (UINT64_MAX / UINT64_C(1000000000)) /* 18.4 GHz */
bool tpark__os_qpc_frequency(int64_t *frequency);

/* Windows: QueryPerformanceCounter in ns, given the frequency of
 * tpark__os_qpc_frequency: rounded down, exact, monotonic, saturating at
 * TPARK_NEVER - 1. */
tpark_instant tpark__os_qpc_ns(int64_t frequency);

/* "tpark: <call> failed: <what> <code> (<code in hex>)" through tpark__fatal:
 * for OS answers that the API documents as impossible once a backend is set
 * up. */
void tpark__os_fatal(const char *call, const char *what, long code) __attribute__((noreturn));

#endif /* TPARK_PLATFORM_OS_H */
