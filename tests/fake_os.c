/* The fake OS of tests/fake_os.h. */
#include "tests/fake_os.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/os.h"

#define MAX_SCRIPT 64
#define MAX_HIDDEN 4
#define MAX_HANDLES 64
#define FUTEX_CMD_MASK 127 /* without FUTEX_PRIVATE_FLAG */
#define FUTEX_CMD_WAKE 1
#define FUTEX_CMD_WAIT_BITSET 9
#define QPC_FREQUENCY 10000000 /* 100 ns ticks, as on most Windows */
#define STATUS_INVALID_HANDLE ((tpark__ntstatus)0xC0000008)
#define STATUS_ACCESS_DENIED ((tpark__ntstatus)0xC0000022)
#define STATUS_INVALID_PARAMETER_1 ((tpark__ntstatus)0xC00000EF)
/* Keyed-event access rights, and how the generic ones map to them. */
#define KEYEDEVENT_WAIT 0x0001u
#define KEYEDEVENT_WAKE 0x0002u
#define MAXIMUM_ALLOWED 0x02000000u
#define GENERIC_ALL 0x10000000u
#define GENERIC_WRITE 0x40000000u
#define GENERIC_READ 0x80000000u
/* A wait's deadline when it has no timeout; timed deadlines stay below. */
#define NO_DEADLINE UINT64_MAX

/* ThreadSanitizer: the fake kernel's lock must add no happens-before edge
 * between its callers (see fake_os.h), so TSan ignores the synchronisation,
 * and the memory accesses, of the fake while it holds its lock. */
#if defined(__SANITIZE_THREAD__)
#define FAKE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FAKE_TSAN 1
#endif
#endif
#if defined(FAKE_TSAN)
void AnnotateIgnoreSyncBegin(const char *file, int line);
void AnnotateIgnoreSyncEnd(const char *file, int line);
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#endif

/* A thread blocked in a fake wait or release. handle is NULL for address
 * waits (futex, WaitOnAddress), the keyed event for keyed waits. */
struct waiter {
  const void *handle, *addr;
  bool done; /* woken (a wait) or taken (a release) */
  struct waiter *next;
};

static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
/* Broadcast on every clock move, wake, sleep and release. */
static pthread_cond_t fk_changed = PTHREAD_COND_INITIALIZER;
static __thread uint32_t last_error; /* GetLastError */

static struct {
  uint64_t now;
  int64_t qpc_frequency;
  bool dll_shutdown, allow_impossible;
  struct waiter *waiters;  /* blocked waits */
  struct waiter *releases; /* blocked NtReleaseKeyedEvent calls */
  size_t sleepers;
  unsigned count[FAKE_N_CALLS];
  fake_answer script[FAKE_N_CALLS][MAX_SCRIPT];
  size_t script_len[FAKE_N_CALLS], script_pos[FAKE_N_CALLS];
  unsigned fail_at[FAKE_N_CALLS]; /* a value of count; 0: none */
  int fail_err[FAKE_N_CALLS];
  const char *env_name, *env_value;
  const char *hidden[MAX_HIDDEN];
  bool handle_open[MAX_HANDLES];
  uint32_t handle_rights[MAX_HANDLES]; /* KEYEDEVENT_WAIT | KEYEDEVENT_WAKE */
  int open_handles;
  uint32_t last_wait_ms;
  int64_t last_nt_timeout;
  bool has_nt_timeout;
} fk;

static void lock(void) {
#if defined(FAKE_TSAN)
  AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
  AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
#endif
  pthread_mutex_lock(&fk_lock);
}

static void unlock(void) {
  pthread_mutex_unlock(&fk_lock);
#if defined(FAKE_TSAN)
  AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
  AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
#endif
}

static void fake_bug(const char *what) {
  fprintf(stderr, "fake OS: %s\n", what);
  abort();
}

/* Counts a call of c and finds its scripted answer, if any. Locked. */
static bool take_answer(fake_call c, fake_answer *a) {
  unsigned n = ++fk.count[c];
  if (fk.fail_at[c] == n) {
    memset(a, 0, sizeof *a);
    a->err = fk.fail_err[c];
    return true;
  }
  if (fk.script_pos[c] < fk.script_len[c]) {
    *a = fk.script[c][fk.script_pos[c]++];
    return true;
  }
  return false;
}

/* Carries out a scripted answer and returns its err. Locked on entry and
 * exit; the hook runs unlocked. */
static int apply(const fake_answer *a) {
  if (a->hook != NULL) {
    unlock();
    a->hook(a->arg);
    lock();
  }
  if (a->clock_to > fk.now) {
    fk.now = a->clock_to;
    pthread_cond_broadcast(&fk_changed);
  }
  return a->err;
}

/* Counts call c; true with *err set when a scripted answer replaces it
 * (FAKE_DEFAULT answers only add their hook and clock move). */
static bool scripted(fake_call c, int *err) {
  fake_answer a;
  if (!take_answer(c, &a)) return false;
  int e = apply(&a);
  if (e == FAKE_DEFAULT) return false;
  *err = e;
  return true;
}

static void unlink_waiter(struct waiter **list, struct waiter *w) {
  while (*list != w) list = &(*list)->next;
  *list = w->next;
}

/* now + ns, saturating below NO_DEADLINE (a timed wait stays timed). Locked. */
static uint64_t deadline_after(uint64_t ns) {
  return ns >= NO_DEADLINE - 1 - fk.now ? NO_DEADLINE - 1 : fk.now + ns;
}

/* A timed-out answer to a call without a timeout is one Windows never gives:
 * a script may only make it after fake_allow_impossible. Locked. */
static void check_possible(const char *call, bool timed, bool timed_out) {
  if (timed_out && !timed && !fk.allow_impossible) {
    unlock();
    fprintf(stderr, "fake OS: %s without a timeout cannot time out\n", call);
    abort();
  }
}

/* Blocks until woken or the clock reaches deadline (NO_DEADLINE: only
 * woken); true if woken. Locked. */
static bool block(const void *handle, const void *addr, uint64_t deadline) {
  struct waiter w = {handle, addr, false, fk.waiters};
  fk.waiters = &w;
  fk.sleepers++;
  pthread_cond_broadcast(&fk_changed);
  while (!w.done && (deadline == NO_DEADLINE || fk.now < deadline)) {
    pthread_cond_wait(&fk_changed, &fk_lock);
  }
  unlink_waiter(&fk.waiters, &w);
  fk.sleepers--;
  return w.done;
}

/* Wakes at most n blocked waits on (handle, addr); returns how many. */
static long wake(const void *handle, const void *addr, long n) {
  long woken = 0;
  for (struct waiter *w = fk.waiters; w != NULL && woken < n; w = w->next) {
    if (w->handle == handle && w->addr == addr && !w->done) {
      w->done = true;
      woken++;
    }
  }
  pthread_cond_broadcast(&fk_changed);
  return woken;
}

static bool hidden(const char *name) {
  for (size_t i = 0; i < MAX_HIDDEN; i++) {
    if (fk.hidden[i] != NULL && strcmp(fk.hidden[i], name) == 0) return true;
  }
  return false;
}

/* ---- Linux ------------------------------------------------------------- */

static int fake_clock_gettime(int clock_id, struct timespec *ts) {
  int err = 0;
  (void)clock_id;
  lock();
  scripted(FAKE_CLOCK, &err);
  uint64_t now = fk.now;
  unlock();
  if (err != 0) {
    errno = err;
    return -1;
  }
  ts->tv_sec = (time_t)(now / 1000000000u);
  ts->tv_nsec = (long)(now % 1000000000u);
  return 0;
}

static long fake_futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *timeout,
                       uint32_t val3) {
  long ret = 0;
  int err = 0;
  (void)val3;
  lock();
  switch (op & FUTEX_CMD_MASK) {
    case FUTEX_CMD_WAIT_BITSET:
      if (scripted(FAKE_FUTEX_WAIT, &err)) break;
      if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val) {
        err = EAGAIN;
      } else {
        uint64_t deadline =
            timeout == NULL ? NO_DEADLINE
                            : (uint64_t)timeout->tv_sec * 1000000000u + (uint64_t)timeout->tv_nsec;
        if (timeout != NULL && deadline == NO_DEADLINE) deadline--;
        err = block(NULL, uaddr, deadline) ? 0 : ETIMEDOUT;
      }
      break;
    case FUTEX_CMD_WAKE:
      if (!scripted(FAKE_FUTEX_WAKE, &err)) ret = wake(NULL, uaddr, (long)val);
      break;
    default:
      err = ENOSYS;
  }
  unlock();
  if (err != 0) {
    errno = err;
    return -1;
  }
  return ret;
}

/* Really yields (tests spin on it), through the host's POSIX layer. */
static int fake_sched_yield(void) {
  int err = 0;
  lock();
  scripted(FAKE_SCHED_YIELD, &err);
  unlock();
  return sched_yield();
}

static char *fake_getenv(const char *name) {
  lock();
  char *value = fk.env_name != NULL && strcmp(fk.env_name, name) == 0 ? (char *)fk.env_value : NULL;
  unlock();
  return value;
}

/* ---- Windows ----------------------------------------------------------- */

/* The fake modules' handles. */
static char synch_module, ntdll_module;

static tpark_os_GetModuleHandleA_fn fake_GetModuleHandleA;
static tpark_os_GetProcAddress_fn fake_GetProcAddress;
static tpark_os_GetLastError_fn fake_GetLastError;
static tpark_os_QueryPerformanceCounter_fn fake_QueryPerformanceCounter;
static tpark_os_QueryPerformanceFrequency_fn fake_QueryPerformanceFrequency;
static tpark_os_Sleep_fn fake_Sleep;
static tpark_os_CloseHandle_fn fake_CloseHandle;

static void *TPARK__WINAPI fake_GetModuleHandleA(const char *name) {
  int err = 0;
  void *module = NULL;
  lock();
  if (!scripted(FAKE_GET_MODULE, &err) && !hidden(name)) {
    if (strcmp(name, "api-ms-win-core-synch-l1-2-0.dll") == 0) module = &synch_module;
    if (strcmp(name, "ntdll.dll") == 0) module = &ntdll_module;
  }
  unlock();
  return err == 0 ? module : NULL;
}

/* Declared with the table's own types: the compiler checks each fake's
 * signature and calling convention (stdcall on 32-bit Windows). */
static tpark_os_WaitOnAddress_fn fake_WaitOnAddress;
static tpark_os_WakeByAddressSingle_fn fake_WakeByAddressSingle;
static tpark_os_NtCreateKeyedEvent_fn fake_NtCreateKeyedEvent;
static tpark_os_NtWaitForKeyedEvent_fn fake_NtWaitForKeyedEvent;
static tpark_os_NtReleaseKeyedEvent_fn fake_NtReleaseKeyedEvent;
static tpark_os_RtlDllShutdownInProgress_fn fake_RtlDllShutdownInProgress;

static tpark_os_fn TPARK__WINAPI fake_GetProcAddress(void *module, const char *name) {
  static const struct {
    void *module;
    const char *name;
    tpark_os_fn fn;
  } procs[] = {
      {&synch_module, "WaitOnAddress", (tpark_os_fn)fake_WaitOnAddress},
      {&synch_module, "WakeByAddressSingle", (tpark_os_fn)fake_WakeByAddressSingle},
      {&ntdll_module, "NtCreateKeyedEvent", (tpark_os_fn)fake_NtCreateKeyedEvent},
      {&ntdll_module, "NtWaitForKeyedEvent", (tpark_os_fn)fake_NtWaitForKeyedEvent},
      {&ntdll_module, "NtReleaseKeyedEvent", (tpark_os_fn)fake_NtReleaseKeyedEvent},
      {&ntdll_module, "RtlDllShutdownInProgress", (tpark_os_fn)fake_RtlDllShutdownInProgress},
  };
  int err = 0;
  tpark_os_fn fn = NULL;
  lock();
  if (!scripted(FAKE_GET_PROC, &err) && !hidden(name)) {
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) {
      if (procs[i].module == module && strcmp(procs[i].name, name) == 0) fn = procs[i].fn;
    }
  }
  unlock();
  return err == 0 ? fn : NULL;
}

static uint32_t TPARK__WINAPI fake_GetLastError(void) { return last_error; }

static int TPARK__WINAPI fake_QueryPerformanceCounter(int64_t *count) {
  int err = 0;
  lock();
  scripted(FAKE_CLOCK, &err);
  /* now * f / 10^9, rounded down, in two parts that cannot overflow. */
  uint64_t f = (uint64_t)fk.qpc_frequency, ticks;
  if (__builtin_mul_overflow(fk.now / 1000000000u, f, &ticks) ||
      __builtin_add_overflow(ticks, fk.now % 1000000000u * f / 1000000000u, &ticks) ||
      ticks > INT64_MAX) {
    ticks = INT64_MAX; /* the fake clock beyond what the counter can say */
  }
  *count = (int64_t)ticks;
  unlock();
  return err == 0;
}

static int TPARK__WINAPI fake_QueryPerformanceFrequency(int64_t *frequency) {
  int err = 0;
  lock();
  scripted(FAKE_QPF, &err);
  *frequency = fk.qpc_frequency;
  unlock();
  return err == 0;
}

static void TPARK__WINAPI fake_Sleep(uint32_t ms) {
  int err = 0;
  lock();
  scripted(FAKE_SLEEP, &err);
  unlock();
  if (ms != 0) fake_bug("Sleep with a time: tpark only yields");
}

static int TPARK__WINAPI fake_WaitOnAddress(volatile void *address, void *compare, size_t size,
                                            uint32_t ms) {
  int err = 0;
  if (size != sizeof(uint32_t)) fake_bug("WaitOnAddress: tpark waits on 4 bytes");
  lock();
  fk.last_wait_ms = ms;
  if (scripted(FAKE_WAIT_ON_ADDRESS, &err)) {
    check_possible("WaitOnAddress", ms != TPARK__INFINITE, err == TPARK__ERROR_TIMEOUT);
  } else if (__atomic_load_n((volatile uint32_t *)address, __ATOMIC_SEQ_CST) ==
             *(uint32_t *)compare) {
    uint64_t deadline =
        ms == TPARK__INFINITE ? NO_DEADLINE : deadline_after((uint64_t)ms * 1000000);
    if (!block(NULL, (const void *)address, deadline)) err = TPARK__ERROR_TIMEOUT;
  }
  unlock();
  if (err != 0) {
    last_error = (uint32_t)err;
    return 0;
  }
  return 1;
}

static void TPARK__WINAPI fake_WakeByAddressSingle(void *address) {
  int err = 0;
  lock();
  if (!scripted(FAKE_WAKE_BY_ADDRESS, &err)) wake(NULL, address, 1);
  unlock();
}

static bool handle_is_open(const void *handle) {
  const bool *h = handle;
  return h >= fk.handle_open && h < fk.handle_open + MAX_HANDLES && *h;
}

/* The keyed-event rights an access mask grants (generic rights mapped as
 * Windows maps them for keyed events). */
static uint32_t keyed_event_rights(uint32_t access) {
  uint32_t rights = access & (KEYEDEVENT_WAIT | KEYEDEVENT_WAKE);
  if (access & (GENERIC_READ | GENERIC_ALL | MAXIMUM_ALLOWED)) rights |= KEYEDEVENT_WAIT;
  if (access & (GENERIC_WRITE | GENERIC_ALL | MAXIMUM_ALLOWED)) rights |= KEYEDEVENT_WAKE;
  return rights;
}

/* What Windows checks first in a keyed wait or release: the handle, its
 * access right, the key (even). Locked. */
static tpark__ntstatus check_keyed_call(const void *handle, uint32_t right, const void *key) {
  if (!handle_is_open(handle)) return STATUS_INVALID_HANDLE;
  if (!(fk.handle_rights[(const bool *)handle - fk.handle_open] & right)) {
    return STATUS_ACCESS_DENIED;
  }
  if ((uintptr_t)key & 1) return STATUS_INVALID_PARAMETER_1;
  return TPARK__STATUS_SUCCESS;
}

static tpark__ntstatus TPARK__WINAPI fake_NtCreateKeyedEvent(void **handle, uint32_t access,
                                                             void *attributes, uint32_t flags) {
  int err = 0;
  (void)attributes;
  (void)flags;
  lock();
  if (!scripted(FAKE_NT_CREATE, &err)) {
    size_t i = 0;
    while (i < MAX_HANDLES && fk.handle_open[i]) i++;
    if (i == MAX_HANDLES) fake_bug("too many keyed events");
    fk.handle_open[i] = true;
    fk.handle_rights[i] = keyed_event_rights(access);
    fk.open_handles++;
    *handle = &fk.handle_open[i];
  }
  unlock();
  return (tpark__ntstatus)err;
}

/* The deadline of an NT timeout: NULL waits for ever, negative is relative
 * in 100 ns units. Locked. */
static uint64_t nt_deadline(const int64_t *timeout) {
  if (timeout == NULL) return NO_DEADLINE;
  if (*timeout > 0) fake_bug("an absolute NT timeout: tpark uses relative ones");
  uint64_t units = (uint64_t)(-*timeout);
  return units > UINT64_MAX / 100 ? NO_DEADLINE - 1 : deadline_after(units * 100);
}

static tpark__ntstatus TPARK__WINAPI fake_NtWaitForKeyedEvent(void *handle, void *key,
                                                              uint8_t alertable, int64_t *timeout) {
  int err = 0;
  if (alertable) fake_bug("an alertable keyed wait");
  lock();
  fk.has_nt_timeout = timeout != NULL;
  if (timeout != NULL) fk.last_nt_timeout = *timeout;
  uint64_t deadline = nt_deadline(timeout);
  if (scripted(FAKE_NT_WAIT, &err)) {
    check_possible("NtWaitForKeyedEvent", timeout != NULL, err == TPARK__STATUS_TIMEOUT);
  } else if ((err = check_keyed_call(handle, KEYEDEVENT_WAIT, key)) == 0) {
    /* Take a release that is already waiting, else wait for one. */
    struct waiter *r = fk.releases;
    while (r != NULL && (r->handle != handle || r->addr != key || r->done)) r = r->next;
    if (r != NULL) {
      r->done = true;
      pthread_cond_broadcast(&fk_changed);
    } else if (!block(handle, key, deadline)) {
      err = TPARK__STATUS_TIMEOUT;
    }
  }
  unlock();
  return (tpark__ntstatus)err;
}

static tpark__ntstatus TPARK__WINAPI fake_NtReleaseKeyedEvent(void *handle, void *key,
                                                              uint8_t alertable, int64_t *timeout) {
  int err = 0;
  if (alertable) fake_bug("an alertable keyed release");
  lock();
  uint64_t deadline = nt_deadline(timeout);
  if (scripted(FAKE_NT_RELEASE, &err)) {
    check_possible("NtReleaseKeyedEvent", timeout != NULL, err == TPARK__STATUS_TIMEOUT);
  } else if ((err = check_keyed_call(handle, KEYEDEVENT_WAKE, key)) == 0) {
    if (wake(handle, key, 1) == 0) {
      /* No one waits yet: block until a wait takes this release. */
      struct waiter r = {handle, key, false, fk.releases};
      fk.releases = &r;
      while (!r.done && (deadline == NO_DEADLINE || fk.now < deadline)) {
        pthread_cond_wait(&fk_changed, &fk_lock);
      }
      unlink_waiter(&fk.releases, &r);
      if (!r.done) err = TPARK__STATUS_TIMEOUT;
    }
  }
  unlock();
  return (tpark__ntstatus)err;
}

static uint8_t TPARK__WINAPI fake_RtlDllShutdownInProgress(void) {
  int err = 0;
  lock();
  scripted(FAKE_DLL_SHUTDOWN, &err);
  bool in_progress = fk.dll_shutdown;
  unlock();
  return in_progress;
}

static int TPARK__WINAPI fake_CloseHandle(void *handle) {
  int err = 0;
  lock();
  if (!scripted(FAKE_CLOSE_HANDLE, &err)) {
    if (handle_is_open(handle)) {
      *(bool *)handle = false;
      fk.open_handles--;
    } else {
      err = 6; /* ERROR_INVALID_HANDLE */
    }
  }
  unlock();
  return err == 0;
}

/* ---- installing ---------------------------------------------------------- */

static const char *const linux_entries[] = {
    "clock_gettime",
    "sched_yield",
    "futex",
    "pthread_cond_init_monotonic",
    "pthread_cond_wait",
    "pthread_cond_timedwait",
    "pthread_cond_broadcast",
    "pthread_mutex_lock",
    "pthread_mutex_unlock",
};
static const char *const windows_entries[] = {
    "GetModuleHandleA",
    "GetProcAddress",
    "CloseHandle",
    "GetLastError",
    "QueryPerformanceCounter",
    "QueryPerformanceFrequency",
    "Sleep",
};

static void hide_all(const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (tpark__os_hide(names[i]) != TPARK_OK) fake_bug("no such OS table entry");
  }
}

#define SET(name, fn)                                                       \
  do {                                                                      \
    if (tpark__os_set(name, (tpark_os_fn)(fn)) != TPARK_OK) fake_bug(name); \
  } while (0)

void fake_os_install(uint64_t start_ns, fake_os_kind kind) {
  lock();
  if (fk.waiters != NULL || fk.releases != NULL) fake_bug("installed while threads wait");
  memset(&fk, 0, sizeof fk);
  fk.now = start_ns;
  fk.qpc_frequency = QPC_FREQUENCY;
  unlock();
  tpark__os_restore_all();
  SET("getenv", fake_getenv);
  if (kind == FAKE_OS_LINUX) {
    hide_all(windows_entries, sizeof windows_entries / sizeof windows_entries[0]);
    SET("clock_gettime", fake_clock_gettime);
    SET("futex", fake_futex);
    SET("sched_yield", fake_sched_yield);
  } else {
    hide_all(linux_entries, sizeof linux_entries / sizeof linux_entries[0]);
    SET("GetModuleHandleA", fake_GetModuleHandleA);
    SET("GetProcAddress", fake_GetProcAddress);
    SET("CloseHandle", fake_CloseHandle);
    SET("GetLastError", fake_GetLastError);
    SET("QueryPerformanceCounter", fake_QueryPerformanceCounter);
    SET("QueryPerformanceFrequency", fake_QueryPerformanceFrequency);
    SET("Sleep", fake_Sleep);
  }
}

void fake_os_remove(void) { tpark__os_restore_all(); }

uint64_t fake_clock_now(void) {
  lock();
  uint64_t now = fk.now;
  unlock();
  return now;
}

void fake_clock_advance(uint64_t ns) {
  lock();
  fk.now = ns > UINT64_MAX - fk.now ? UINT64_MAX : fk.now + ns;
  pthread_cond_broadcast(&fk_changed);
  unlock();
}

void fake_qpc_set_frequency(int64_t frequency) {
  lock();
  fk.qpc_frequency = frequency;
  unlock();
}

void fake_set_dll_shutdown(bool in_progress) {
  lock();
  fk.dll_shutdown = in_progress;
  unlock();
}

void fake_allow_impossible(bool allow) {
  lock();
  fk.allow_impossible = allow;
  unlock();
}

void fake_env_set(const char *name, const char *value) {
  lock();
  fk.env_name = name;
  fk.env_value = value;
  unlock();
}

void fake_hide(const char *name) {
  lock();
  size_t i = 0;
  while (i < MAX_HIDDEN && fk.hidden[i] != NULL) i++;
  if (i == MAX_HIDDEN) fake_bug("too many hidden names");
  fk.hidden[i] = name;
  unlock();
}

void fake_script(fake_call c, const fake_answer *answers, size_t n) {
  if (n > MAX_SCRIPT) fake_bug("script too long");
  lock();
  memcpy(fk.script[c], answers, n * sizeof *answers);
  fk.script_len[c] = n;
  fk.script_pos[c] = 0;
  unlock();
}

void fake_fail_nth(fake_call c, unsigned n, int err) {
  lock();
  fk.fail_at[c] = fk.count[c] + n;
  fk.fail_err[c] = err;
  unlock();
}

unsigned fake_count(fake_call c) {
  lock();
  unsigned n = fk.count[c];
  unlock();
  return n;
}

size_t fake_sleepers(void) {
  lock();
  size_t n = fk.sleepers;
  unlock();
  return n;
}

bool fake_wait_sleepers(size_t n, unsigned timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  lock();
  while (fk.sleepers < n && pthread_cond_timedwait(&fk_changed, &fk_lock, &until) != ETIMEDOUT) {
  }
  bool reached = fk.sleepers >= n;
  unlock();
  return reached;
}

int fake_open_handles(void) {
  lock();
  int n = fk.open_handles;
  unlock();
  return n;
}

size_t fake_pending_releases(void) {
  lock();
  size_t n = 0;
  for (struct waiter *r = fk.releases; r != NULL; r = r->next) n += !r->done;
  unlock();
  return n;
}

uint32_t fake_last_wait_ms(void) {
  lock();
  uint32_t ms = fk.last_wait_ms;
  unlock();
  return ms;
}

int64_t fake_last_nt_timeout(bool *has_nt_timeout) {
  lock();
  int64_t t = fk.last_nt_timeout;
  *has_nt_timeout = fk.has_nt_timeout;
  unlock();
  return t;
}
