/* parkbench: what a tpark parker costs, next to the raw OS primitive that its
 * backend wraps.
 *
 * For every backend available in this process (Linux: futex, condvar;
 * Windows: waitaddress, keyed_event) it runs each measurement twice: through
 * tpark, and as the same protocol written directly on the raw primitive
 * ("raw": same states, same wake condition, the OS calls inlined, no tpark in
 * between). The two are interleaved in one run (blocks A B B A A B ..., so
 * that drift and order effects fall on both), and compared as a ratio per
 * round: this machine's noise moves both alike.
 *
 *   ping-pong      round trip between two threads, each waking the other and
 *                  parking (prepare/park <-> unpark_lock/unpark); threads free,
 *                  and both pinned to one CPU (no cross-CPU wake-up there, so
 *                  the software path shows).
 *   unpark, awake  unpark_lock+unpark of a parker that is prepared but whose
 *                  owner does not sleep; and park once already unparked.
 *   timeouts       how late park_until returns after 0.1, 1 and 10 ms, and
 *                  that it never returns early; the raw primitive's own
 *                  lateness beside it (one timed wait call).
 *   footprint      sizeof(tpark_parker); heap bytes and OS handles (fds)
 *                  gained over 2 x N fresh parkers, each initialised and
 *                  used for one hand-off between two threads;
 *                  the cost of tpark_select_backend, first call and in a
 *                  fresh state (after the library's test hook
 *                  tpark__selection_reset).
 *
 * Prints a table (default) or JSON (--json); see usage() below.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* pthread_setaffinity_np, sched_getaffinity */
#endif
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#include <malloc.h>
#include <windows.h>
#else
#include <sched.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <dirent.h>
#include <linux/futex.h>
#include <malloc.h>
#include <sys/syscall.h>
#endif

#include "backends/builtin.h" /* tpark__selection_reset, for the fresh-state setup cost */
#include "tpark/backend.h"
#include "tpark/checked.h" /* the checked-mode row */
#include "tpark/tpark.h"

#define NS_PER_SEC 1000000000ull
#define RATIO_BAR 1.05

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("parkbench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  if (p == NULL) die("out of memory");
  return p;
}

/* ---- the OS: clock, yield, affinity, heap and handle counts ------------------ */

#if defined(_WIN32)
static int64_t qpc_frequency;

/* QueryPerformanceCounter in ns, as the Windows backends compute it. */
static uint64_t now_ns(void) {
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  uint64_t t = (uint64_t)c.QuadPart, f = (uint64_t)qpc_frequency;
  return t / f * NS_PER_SEC + t % f * NS_PER_SEC / f;
}

static void yield_cpu(void) { SwitchToThread(); }

/* The CPUs this process may use: count, and the lowest (the pinned one). */
static int allowed_cpus(int *first) {
  DWORD_PTR process, system;
  *first = 0;
  if (!GetProcessAffinityMask(GetCurrentProcess(), &process, &system) || process == 0) return 1;
  int n = 0;
  for (int i = (int)sizeof process * 8 - 1; i >= 0; i--) {
    if (process >> i & 1) {
      n++;
      *first = i;
    }
  }
  return n;
}

static void pin_self(int cpu) {
  if (SetThreadAffinityMask(GetCurrentThread(), (DWORD_PTR)1 << cpu) == 0) {
    die("SetThreadAffinityMask(CPU %d) failed: %lu", cpu, (unsigned long)GetLastError());
  }
}

/* Bytes in use on the C runtime heap (where tpark's malloc goes); -1 if unknown. */
static int64_t heap_in_use(void) {
  _HEAPINFO hi;
  int64_t used = 0;
  int st;
  hi._pentry = NULL;
  while ((st = _heapwalk(&hi)) == _HEAPOK) {
    if (hi._useflag == _USEDENTRY) used += (int64_t)hi._size;
  }
  return st == _HEAPEND || st == _HEAPEMPTY ? used : -1;
}

static long os_handles(void) {
  DWORD n;
  return GetProcessHandleCount(GetCurrentProcess(), &n) ? (long)n : -1;
}
#define HANDLES_WHAT "handles"

static const char *os_name(void) { return "windows"; }

/* "8.0" under Wine, NULL on Windows itself. */
static const char *wine_version(void) {
  typedef const char *(CDECL * wine_get_version_fn)(void);
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  FARPROC f = ntdll ? GetProcAddress(ntdll, "wine_get_version") : NULL;
  return f ? ((wine_get_version_fn)(void (*)(void))f)() : NULL;
}

#else /* POSIX */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void yield_cpu(void) { sched_yield(); }

#if defined(__linux__)
static int allowed_cpus(int *first) {
  cpu_set_t set;
  *first = 0;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return (int)sysconf(_SC_NPROCESSORS_ONLN);
  for (int i = CPU_SETSIZE - 1; i >= 0; i--) {
    if (CPU_ISSET(i, &set)) *first = i;
  }
  return CPU_COUNT(&set);
}

static void pin_self(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (err != 0) die("pthread_setaffinity_np(CPU %d) failed: %s", cpu, strerror(err));
}

/* Bytes in use on the malloc heap. main() limits glibc to one arena, which
 * mallinfo2 covers (it reports only the main arena). */
static int64_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return (int64_t)(mi.uordblks + mi.hblkhd);
}

/* Open file descriptors: the OS objects a POSIX parker could hold. */
static long os_handles(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return -1;
  long n = 0;
  while (readdir(d) != NULL) n++;
  closedir(d);
  return n;
}
#else
static int allowed_cpus(int *first) {
  *first = 0;
  return (int)sysconf(_SC_NPROCESSORS_ONLN);
}
static void pin_self(int cpu) { (void)cpu; } /* no portable affinity call */
static int64_t heap_in_use(void) { return -1; }
static long os_handles(void) { return -1; }
#endif /* __linux__ */
#define HANDLES_WHAT "fds"

static const char *os_name(void) {
#if defined(__linux__)
  return "linux";
#else
  return "posix";
#endif
}

static const char *wine_version(void) { return NULL; }
#endif /* _WIN32 */

/* ---- slots: the memory one parker lives in ------------------------------------ */

/* One parker for each kind of variant, on cache lines of its own, so that
 * neither variant gets false sharing the other lacks. */
enum { EMPTY = 0, PARKED = 1, SLEEPING = 2, UNPARKED = 2 };

typedef struct slot {
  _Alignas(64) tpark_parker parker; /* the tpark variant */
  uint32_t state;                   /* the raw variants' state word */
#if !defined(_WIN32)
  pthread_mutex_t mutex; /* raw condvar */
  pthread_cond_t cond;
#endif
} slot;

static slot *new_slots(size_t n) {
#if defined(_WIN32)
  slot *s = _aligned_malloc(n * sizeof *s, _Alignof(slot));
#else
  void *s = NULL;
  if (posix_memalign(&s, _Alignof(slot), n * sizeof(slot)) != 0) s = NULL;
#endif
  if (s == NULL) die("out of memory");
  memset(s, 0, n * sizeof(slot));
  return s;
}

static void free_slots(slot *s) {
#if defined(_WIN32)
  _aligned_free(s);
#else
  free(s); /* raw condvar slots: glibc's mutex/cond hold no resources */
#endif
}

/* ---- the variants: tpark and the raw protocols ---------------------------------
 *
 * Each variant X provides X_init, X_prepare, X_park, X_wake (unpark_lock +
 * unpark) and X_timed_wait; DEFINE_LOOPS(X) then writes its measurement loops
 * with those calls inlined, so that the raw protocols cost what hand-written
 * code costs, and tpark what a user's calls into the library cost. */

/* tpark: the public API, through the parker's backend. */
static void tp_init(slot *s, const tpark_backend *b) {
  if (tpark_init_with(&s->parker, b) != TPARK_OK) die("tpark_init_with failed");
}
static inline void tp_prepare(slot *s) { tpark_prepare_park(&s->parker); }
static inline void tp_park(slot *s) { tpark_park(&s->parker); }
static inline void tp_wake(slot *s) { tpark_unpark(tpark_unpark_lock(&s->parker)); }
/* Nobody unparks: true once timed out; *late is the return's lateness on the
 * backend's clock (negative: early). */
static bool tp_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  tpark_prepare_park(&s->parker);
  tpark_instant deadline = tpark_deadline(&s->parker, timeout_ns);
  bool unparked = tpark_park_until(&s->parker, deadline);
  *late = (int64_t)(tpark_now(&s->parker) - deadline);
  return !unparked;
}

#if defined(__linux__)
/* Raw futex: the futex backend's three states (EMPTY, PARKED, SLEEPING): the
 * owner moves PARKED -> SLEEPING before FUTEX_WAIT, and a waker calls
 * FUTEX_WAKE only when it found SLEEPING. */
static long fx_sys(uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t val3) {
  return syscall(SYS_futex, word, op, val, ts, NULL, val3);
}
static void fx_init(slot *s, const tpark_backend *b) {
  (void)b;
  s->state = EMPTY;
}
static inline void fx_prepare(slot *s) { __atomic_store_n(&s->state, PARKED, __ATOMIC_RELAXED); }
static inline void fx_park(slot *s) {
  for (;;) {
    uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    if (st == EMPTY) return;
    if (st == PARKED && !__atomic_compare_exchange_n(&s->state, &st, SLEEPING, false,
                                                     __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
      continue;
    }
    fx_sys(&s->state, FUTEX_WAIT_PRIVATE, SLEEPING, NULL, 0); /* EAGAIN, EINTR: look again */
  }
}
static inline void fx_wake(slot *s) {
  if (__atomic_exchange_n(&s->state, EMPTY, __ATOMIC_RELEASE) == SLEEPING) {
    fx_sys(&s->state, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
  }
}
/* One FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline. */
static bool fx_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  s->state = SLEEPING;
  uint64_t deadline = now_ns() + timeout_ns;
  struct timespec ts = {(time_t)(deadline / NS_PER_SEC), (long)(deadline % NS_PER_SEC)};
  long r = fx_sys(&s->state, FUTEX_WAIT_BITSET_PRIVATE, SLEEPING, &ts, FUTEX_BITSET_MATCH_ANY);
  int err = errno;
  *late = (int64_t)(now_ns() - deadline);
  return r != 0 && err == ETIMEDOUT;
}
#endif /* __linux__ */

#if !defined(_WIN32)
/* Raw condvar: the textbook protocol, a mutex and a CLOCK_MONOTONIC condvar
 * per parker; the owner waits while PARKED, a waker sets EMPTY and signals
 * under the mutex. */
static void cv_init(slot *s, const tpark_backend *b) {
  pthread_condattr_t attr;
  (void)b;
  s->state = EMPTY;
  if (pthread_mutex_init(&s->mutex, NULL) != 0 || pthread_condattr_init(&attr) != 0 ||
      pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
      pthread_cond_init(&s->cond, &attr) != 0) {
    die("pthread mutex/condvar init failed");
  }
  pthread_condattr_destroy(&attr);
}
static inline void cv_prepare(slot *s) { __atomic_store_n(&s->state, PARKED, __ATOMIC_RELAXED); }
static inline void cv_park(slot *s) {
  pthread_mutex_lock(&s->mutex);
  while (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != EMPTY) pthread_cond_wait(&s->cond, &s->mutex);
  pthread_mutex_unlock(&s->mutex);
}
static inline void cv_wake(slot *s) {
  pthread_mutex_lock(&s->mutex);
  __atomic_store_n(&s->state, EMPTY, __ATOMIC_RELAXED);
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
}
/* One pthread_cond_timedwait with an absolute CLOCK_MONOTONIC deadline. */
static bool cv_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  pthread_mutex_lock(&s->mutex);
  uint64_t deadline = now_ns() + timeout_ns;
  struct timespec ts = {(time_t)(deadline / NS_PER_SEC), (long)(deadline % NS_PER_SEC)};
  int err = pthread_cond_timedwait(&s->cond, &s->mutex, &ts);
  pthread_mutex_unlock(&s->mutex);
  *late = (int64_t)(now_ns() - deadline);
  return err == ETIMEDOUT;
}
#endif /* !_WIN32 */

#if defined(_WIN32)
/* The raw Windows functions, looked up by name as the backends do. */
typedef BOOL(WINAPI *wait_on_address_fn)(volatile VOID *, PVOID, SIZE_T, DWORD);
typedef VOID(WINAPI *wake_by_address_fn)(PVOID);
typedef LONG(NTAPI *nt_create_keyed_event_fn)(PHANDLE, ACCESS_MASK, PVOID, ULONG);
typedef LONG(NTAPI *nt_keyed_event_fn)(HANDLE, PVOID, BOOLEAN, PLARGE_INTEGER);
#define NT_STATUS_TIMEOUT 0x102

static struct {
  wait_on_address_fn wait_on_address;
  wake_by_address_fn wake_by_address_single;
  nt_keyed_event_fn wait_for_keyed_event, release_keyed_event;
  HANDLE keyed_event; /* the raw side's own handle */
} win;

static void (*lookup(const char *module, const char *name))(void) {
  HMODULE m = GetModuleHandleA(module);
  FARPROC f = m ? GetProcAddress(m, name) : NULL;
  if (f == NULL) die("raw baseline: %s!%s not found", module, name);
  return (void (*)(void))f;
}

/* Raw WaitOnAddress: the waitaddress backend's two states (EMPTY, PARKED);
 * a waker calls WakeByAddressSingle when it found PARKED. */
static void wa_init(slot *s, const tpark_backend *b) {
  (void)b;
  if (win.wait_on_address == NULL) {
    win.wait_on_address = (wait_on_address_fn)lookup("api-ms-win-core-synch-l1-2-0.dll", "WaitOnAddress");
    win.wake_by_address_single =
        (wake_by_address_fn)lookup("api-ms-win-core-synch-l1-2-0.dll", "WakeByAddressSingle");
  }
  s->state = EMPTY;
}
static inline void wa_prepare(slot *s) { __atomic_store_n(&s->state, PARKED, __ATOMIC_RELAXED); }
static inline void wa_park(slot *s) {
  while (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != EMPTY) {
    uint32_t parked = PARKED;
    win.wait_on_address(&s->state, &parked, sizeof parked, INFINITE);
  }
}
static inline void wa_wake(slot *s) {
  if (__atomic_exchange_n(&s->state, EMPTY, __ATOMIC_RELEASE) == PARKED) {
    win.wake_by_address_single(&s->state);
  }
}
/* One WaitOnAddress; it takes whole ms, so the timeout is rounded up (0.1 ms
 * asks for 1 ms) and lateness is counted from the requested timeout. */
static bool wa_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  uint32_t parked = PARKED;
  s->state = PARKED;
  uint64_t start = now_ns();
  DWORD ms = (DWORD)((timeout_ns + 999999) / 1000000);
  BOOL woken = win.wait_on_address(&s->state, &parked, sizeof parked, ms);
  DWORD err = GetLastError();
  *late = (int64_t)(now_ns() - (start + timeout_ns));
  return !woken && err == ERROR_TIMEOUT;
}

/* Raw keyed events: the keyed_event backend's states; the owner always waits
 * for the release (keyed on the state word's address) that a waker sends when
 * it found PARKED. */
static void ke_init(slot *s, const tpark_backend *b) {
  (void)b;
  if (win.keyed_event == NULL) {
    nt_create_keyed_event_fn create = (nt_create_keyed_event_fn)lookup("ntdll.dll", "NtCreateKeyedEvent");
    win.wait_for_keyed_event = (nt_keyed_event_fn)lookup("ntdll.dll", "NtWaitForKeyedEvent");
    win.release_keyed_event = (nt_keyed_event_fn)lookup("ntdll.dll", "NtReleaseKeyedEvent");
    if (create(&win.keyed_event, GENERIC_READ | GENERIC_WRITE, NULL, 0) != 0) {
      die("raw baseline: NtCreateKeyedEvent failed");
    }
  }
  s->state = EMPTY;
}
static inline void ke_prepare(slot *s) { __atomic_store_n(&s->state, PARKED, __ATOMIC_RELAXED); }
static inline void ke_park(slot *s) {
  win.wait_for_keyed_event(win.keyed_event, &s->state, FALSE, NULL);
  (void)__atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
}
static inline void ke_wake(slot *s) {
  if (__atomic_exchange_n(&s->state, UNPARKED, __ATOMIC_ACQ_REL) == PARKED) {
    win.release_keyed_event(win.keyed_event, &s->state, FALSE, NULL);
  }
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
#endif /* _WIN32 */

/* The measurement loops of a variant, with its calls inlined. */
#define DEFINE_LOOPS(v)                                                               \
  /* n round trips: wake the peer, sleep until it wakes us. */                       \
  static void v##_ping(slot *mine, slot *peer, unsigned n) {                         \
    for (unsigned i = 0; i < n; i++) {                                               \
      v##_prepare(mine);                                                             \
      v##_wake(peer);                                                                \
      v##_park(mine);                                                                \
    }                                                                                \
  }                                                                                  \
  /* The other side; mine is prepared. Its last wake-up is the caller's. */        \
  static void v##_pong(slot *mine, slot *peer, unsigned n) {                         \
    for (unsigned i = 1; i < n; i++) {                                               \
      v##_park(mine);                                                                \
      v##_prepare(mine);                                                             \
      v##_wake(peer);                                                                \
    }                                                                                \
    v##_park(mine);                                                                  \
  }                                                                                  \
  static void v##_prepare_all(slot *s, unsigned n) {                                 \
    for (unsigned i = 0; i < n; i++) v##_prepare(&s[i]);                             \
  }                                                                                  \
  static void v##_wake_all(slot *s, unsigned n) {                                    \
    for (unsigned i = 0; i < n; i++) v##_wake(&s[i]);                                \
  }                                                                                  \
  static void v##_park_all(slot *s, unsigned n) {                                    \
    for (unsigned i = 0; i < n; i++) v##_park(&s[i]);                                \
  }

typedef struct variant {
  void (*init)(slot *s, const tpark_backend *b);
  void (*prepare)(slot *s);
  void (*wake)(slot *s);
  void (*ping)(slot *mine, slot *peer, unsigned n);
  void (*pong)(slot *mine, slot *peer, unsigned n);
  void (*prepare_all)(slot *s, unsigned n);
  void (*wake_all)(slot *s, unsigned n);
  void (*park_all)(slot *s, unsigned n);
  bool (*timed_wait)(slot *s, uint64_t timeout_ns, int64_t *late);
} variant;

#define VARIANT(v)                                                                    \
  {                                                                                   \
    v##_init, v##_prepare, v##_wake, v##_ping, v##_pong, v##_prepare_all, v##_wake_all, \
        v##_park_all, v##_timed_wait                                                  \
  }

DEFINE_LOOPS(tp)
static const variant tpark_variant = VARIANT(tp);
#if defined(__linux__)
DEFINE_LOOPS(fx)
#endif
#if !defined(_WIN32)
DEFINE_LOOPS(cv)
#endif
#if defined(_WIN32)
DEFINE_LOOPS(wa)
DEFINE_LOOPS(ke)
#endif

/* A backend and its raw baseline. */
typedef struct target {
  const char *name; /* the tpark backend */
  const char *raw;  /* what the raw baseline calls */
  variant variant;
  bool unpark_blocks; /* keyed events: an unpark waits until the owner waits */
} target;

static const target targets[] = {
#if defined(_WIN32)
    {"waitaddress", "WaitOnAddress/WakeByAddressSingle on the same 2-state word", VARIANT(wa), false},
    {"keyed_event", "NtWaitForKeyedEvent/NtReleaseKeyedEvent, own handle, same states", VARIANT(ke),
     true},
#else
#if defined(__linux__)
    {"futex", "futex(2) FUTEX_WAIT/FUTEX_WAKE on the same 3-state word", VARIANT(fx), false},
#endif
    {"condvar", "pthread mutex + condvar per parker, signal under the mutex", VARIANT(cv), false},
#endif
};
#define N_TARGETS (sizeof targets / sizeof targets[0])

/* Every built-in name, in tpark's order of preference. */
static const char *const builtin_names[] = {"waitaddress", "keyed_event", "futex", "condvar"};
#define N_BUILTINS (sizeof builtin_names / sizeof builtin_names[0])

/* ---- options and progress -------------------------------------------------- */

typedef struct options {
  bool json, quick;
  const char *backend;     /* NULL: all */
  unsigned rounds, iters;  /* ping-pong: recorded rounds, round trips per block */
  unsigned op_reps;        /* batches of the per-operation measurement */
  unsigned setup_reps;     /* fresh-state selections */
  unsigned footprint_pairs;
  double timeout_budget_s; /* per timeout value and variant */
  unsigned timeout_cap;    /* samples per timeout value and variant, at most */
} options;

#define OPS_BATCH 1024u /* parkers per batch in the per-operation measurement */

static const uint64_t timeouts_ns[] = {100000, 1000000, 10000000};
#define N_TIMEOUTS (sizeof timeouts_ns / sizeof timeouts_ns[0])

static uint64_t run_start;
static bool progress_tty, progress_shown;
static char progress_phase[160];

/* Progress goes to stderr once the run has taken 2 s: a line per phase, or on a
 * terminal one line rewritten in place (with the round within the phase). */
static void progress_show(const char *step) {
  if (now_ns() - run_start < 2 * NS_PER_SEC) return;
  double t = (double)(now_ns() - run_start) / 1e9;
  if (progress_tty) {
    fprintf(stderr, "\rparkbench [%4.0fs] %s%s%-20s", t, progress_phase, step, "");
  } else if (step[0] == '\0') {
    fprintf(stderr, "parkbench [%4.0fs] %s\n", t, progress_phase);
  }
  fflush(stderr);
  progress_shown = true;
}

static void progress(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(progress_phase, sizeof progress_phase, fmt, ap);
  va_end(ap);
  progress_show("");
}

static void progress_step(unsigned i, unsigned n) {
  if (!progress_tty) return;
  char step[40];
  snprintf(step, sizeof step, " %u/%u", i, n);
  progress_show(step);
}

static void progress_done(void) {
  if (progress_tty && progress_shown) fprintf(stderr, "\r%-100s\r", "");
}

/* ---- statistics ---------------------------------------------------------------- */

typedef struct summary {
  double median, min, max;
  double q1, q3; /* quartiles: the middle half lies between them */
} summary;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Sorts v in place. */
static summary summarize(double *v, size_t n) {
  summary s = {NAN, NAN, NAN, NAN, NAN};
  if (n == 0) return s;
  qsort(v, n, sizeof *v, cmp_double);
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v[0];
  s.max = v[n - 1];
  s.q1 = v[n / 4];
  s.q3 = v[(3 * n) / 4 < n ? (3 * n) / 4 : n - 1];
  return s;
}

/* ---- ping-pong ------------------------------------------------------------------ */

typedef struct pingpong {
  const variant *v[2]; /* [0] tpark, [1] raw */
  slot *a[2], *b[2];   /* the pinging and the ponging thread's slots, per variant */
  unsigned blocks, iters;
  int cpu; /* both threads pinned to it; -1: free */
  double *ns[2];       /* per recorded round: ns per round trip */
  int ready;           /* atomic: the pong thread has prepared its first slot */
} pingpong;

/* The variant of block k: 0 1 1 0 0 1 1 0 ..., each round (a pair of blocks)
 * has both, and which goes first alternates. */
static unsigned block_variant(unsigned k) { return (k ^ (k >> 1)) & 1; }

static void *pong_thread(void *arg) {
  pingpong *pp = arg;
  if (pp->cpu >= 0) pin_self(pp->cpu);
  unsigned v = block_variant(0);
  pp->v[v]->prepare(pp->b[v]);
  __atomic_store_n(&pp->ready, 1, __ATOMIC_RELEASE);
  for (unsigned k = 0; k < pp->blocks; k++) {
    v = block_variant(k);
    pp->v[v]->pong(pp->b[v], pp->a[v], pp->iters);
    /* Ready for the next block before the wake-up that lets it start. */
    if (k + 1 < pp->blocks) {
      unsigned next = block_variant(k + 1);
      pp->v[next]->prepare(pp->b[next]);
    }
    pp->v[v]->wake(pp->a[v]);
  }
  return NULL;
}

static void *ping_thread(void *arg) {
  pingpong *pp = arg;
  if (pp->cpu >= 0) pin_self(pp->cpu);
  while (!__atomic_load_n(&pp->ready, __ATOMIC_ACQUIRE)) yield_cpu();
  for (unsigned k = 0; k < pp->blocks; k++) {
    unsigned v = block_variant(k);
    uint64_t t0 = now_ns();
    pp->v[v]->ping(pp->a[v], pp->b[v], pp->iters);
    uint64_t t1 = now_ns();
    /* The first round warms up and is not recorded. */
    if (k >= 2) pp->ns[v][k / 2 - 1] = (double)(t1 - t0) / pp->iters;
    if (k % 2) progress_step(k / 2, pp->blocks / 2 - 1);
  }
  return NULL;
}

typedef struct pingpong_result {
  summary tpark, raw, ratio;
} pingpong_result;

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg) {
  int err = pthread_create(t, NULL, fn, arg);
  if (err != 0) die("pthread_create failed: %s", strerror(err));
}

static pingpong_result run_pingpong(const target *t, const tpark_backend *b, const options *o,
                                    int cpu) {
  pingpong pp = {{&tpark_variant, &t->variant}, {NULL, NULL}, {NULL, NULL},
                 2 * (o->rounds + 1), o->iters, cpu, {NULL, NULL}, 0};
  slot *slots = new_slots(4);
  for (int v = 0; v < 2; v++) {
    pp.a[v] = &slots[2 * v];
    pp.b[v] = &slots[2 * v + 1];
    pp.v[v]->init(pp.a[v], b);
    pp.v[v]->init(pp.b[v], b);
    pp.ns[v] = xcalloc(o->rounds, sizeof(double));
  }
  pthread_t ping, pong;
  start_thread(&pong, pong_thread, &pp);
  start_thread(&ping, ping_thread, &pp);
  pthread_join(ping, NULL);
  pthread_join(pong, NULL);

  pingpong_result r;
  double *ratio = xcalloc(o->rounds, sizeof(double));
  for (unsigned i = 0; i < o->rounds; i++) ratio[i] = pp.ns[0][i] / pp.ns[1][i];
  r.ratio = summarize(ratio, o->rounds);
  r.tpark = summarize(pp.ns[0], o->rounds);
  r.raw = summarize(pp.ns[1], o->rounds);
  free(ratio);
  free(pp.ns[0]);
  free(pp.ns[1]);
  free_slots(slots);
  return r;
}

/* ---- per-operation costs: unpark of an awake owner, park when unparked ------------
 *
 * An owner thread prepares a batch of parkers and stays awake; a waker thread
 * unparks them all (timed); then the owner parks on each (timed: each returns
 * at once). The two threads take turns (never both running), pinned to one
 * CPU so that the parkers stay in its cache. Not for keyed events: there an
 * unpark waits until the owner waits, by design (SPEC 2b). */

typedef struct opbench {
  const variant *v[2];
  slot *s[2];
  unsigned reps;
  int cpu;
  int turn; /* atomic: 0 owner, 1 waker */
  double *unpark_ns[2], *park_ns[2];
} opbench;

static void wait_turn(int *turn, int mine) {
  while (__atomic_load_n(turn, __ATOMIC_ACQUIRE) != mine) yield_cpu();
}

static void *op_owner_thread(void *arg) {
  opbench *ob = arg;
  pin_self(ob->cpu);
  for (unsigned r = 0; r < ob->reps; r++) {
    for (unsigned j = 0; j < 2; j++) {
      unsigned v = (r + j) & 1;
      wait_turn(&ob->turn, 0);
      ob->v[v]->prepare_all(ob->s[v], OPS_BATCH);
      __atomic_store_n(&ob->turn, 1, __ATOMIC_RELEASE);
      wait_turn(&ob->turn, 0);
      uint64_t t0 = now_ns();
      ob->v[v]->park_all(ob->s[v], OPS_BATCH);
      uint64_t t1 = now_ns();
      ob->park_ns[v][r] = (double)(t1 - t0) / OPS_BATCH;
    }
  }
  return NULL;
}

static void *op_waker_thread(void *arg) {
  opbench *ob = arg;
  pin_self(ob->cpu);
  for (unsigned r = 0; r < ob->reps; r++) {
    for (unsigned j = 0; j < 2; j++) {
      unsigned v = (r + j) & 1;
      wait_turn(&ob->turn, 1);
      uint64_t t0 = now_ns();
      ob->v[v]->wake_all(ob->s[v], OPS_BATCH);
      uint64_t t1 = now_ns();
      ob->unpark_ns[v][r] = (double)(t1 - t0) / OPS_BATCH;
      __atomic_store_n(&ob->turn, 0, __ATOMIC_RELEASE);
    }
  }
  return NULL;
}

typedef struct op_result {
  bool measured;
  summary unpark[2], park[2]; /* [0] tpark, [1] raw */
} op_result;

static op_result run_ops(const target *t, const tpark_backend *b, const options *o, int cpu) {
  op_result res;
  memset(&res, 0, sizeof res);
  if (t->unpark_blocks) return res;
  opbench ob = {{&tpark_variant, &t->variant}, {NULL, NULL}, o->op_reps, cpu, 0,
                {NULL, NULL}, {NULL, NULL}};
  for (int v = 0; v < 2; v++) {
    ob.s[v] = new_slots(OPS_BATCH);
    for (unsigned i = 0; i < OPS_BATCH; i++) ob.v[v]->init(&ob.s[v][i], b);
    ob.unpark_ns[v] = xcalloc(o->op_reps, sizeof(double));
    ob.park_ns[v] = xcalloc(o->op_reps, sizeof(double));
  }
  pthread_t owner, waker;
  start_thread(&owner, op_owner_thread, &ob);
  start_thread(&waker, op_waker_thread, &ob);
  pthread_join(owner, NULL);
  pthread_join(waker, NULL);
  res.measured = true;
  for (int v = 0; v < 2; v++) {
    res.unpark[v] = summarize(ob.unpark_ns[v], o->op_reps);
    res.park[v] = summarize(ob.park_ns[v], o->op_reps);
    free(ob.unpark_ns[v]);
    free(ob.park_ns[v]);
    free_slots(ob.s[v]);
  }
  return res;
}

/* ---- timeout lateness --------------------------------------------------------- */

typedef struct lateness {
  unsigned n;
  double median_ns, p99_ns, max_ns;
  unsigned early;     /* returns before the deadline */
  unsigned not_timed; /* raw only: the call returned without reporting a timeout */
} lateness;

static lateness summarize_late(const int64_t *late, unsigned n, unsigned not_timed) {
  lateness l = {n, NAN, NAN, NAN, 0, not_timed};
  double *v = xcalloc(n, sizeof(double));
  for (unsigned i = 0; i < n; i++) {
    v[i] = (double)late[i];
    if (late[i] < 0) l.early++;
  }
  summary s = summarize(v, n);
  l.median_ns = s.median;
  l.max_ns = s.max;
  /* Nearest rank. */
  unsigned rank = (unsigned)ceil(0.99 * n);
  l.p99_ns = v[rank > 0 ? rank - 1 : 0];
  free(v);
  return l;
}

static unsigned timeout_samples(const options *o, uint64_t timeout_ns) {
  double n = o->timeout_budget_s * 1e9 / (double)timeout_ns;
  if (n > o->timeout_cap) n = o->timeout_cap;
  return n < 3 ? 3 : (unsigned)n;
}

/* late[k][v]: timeout k, variant v ([0] tpark, [1] raw). */
static void run_timeouts(const target *t, const tpark_backend *b, const options *o,
                         lateness late[N_TIMEOUTS][2]) {
  const variant *v[2] = {&tpark_variant, &t->variant};
  slot *s = new_slots(2);
  v[0]->init(&s[0], b);
  v[1]->init(&s[1], b);
  for (size_t k = 0; k < N_TIMEOUTS; k++) {
    unsigned n = timeout_samples(o, timeouts_ns[k]);
    int64_t *samples[2] = {xcalloc(n, sizeof(int64_t)), xcalloc(n, sizeof(int64_t))};
    unsigned not_timed[2] = {0, 0};
    for (unsigned i = 0; i < n; i++) {
      for (unsigned j = 0; j < 2; j++) {
        unsigned w = (i + j) & 1;
        if (!v[w]->timed_wait(&s[w], timeouts_ns[k], &samples[w][i])) not_timed[w]++;
      }
    }
    /* Nobody unparks: a park_until that says it was unparked breaks the API. */
    if (not_timed[0] != 0) die("%s: park_until returned true with no unpark", t->name);
    for (unsigned w = 0; w < 2; w++) {
      late[k][w] = summarize_late(samples[w], n, not_timed[w]);
      free(samples[w]);
    }
  }
  free_slots(s);
}

/* ---- footprint ------------------------------------------------------------------
 *
 * Heap bytes and OS handles (fds) of the process before and after 2 x n
 * parkers are initialised and each used for one hand-off (a ping-pong over
 * fresh parkers, so most of them sleep in the OS once). Both threads exist
 * before the first count and until after the second, so thread creation is
 * not counted. What the OS keeps inside the kernel (or Wine's server) cannot
 * be seen from here; handles and fds can. */

typedef struct footprint {
  unsigned parkers;
  int64_t heap_delta; /* bytes; INT64_MIN: unknown */
  long handles_delta; /* LONG_MIN: unknown */
} footprint;

typedef struct fp_run {
  const tpark_backend *b;
  tpark_parker *pa, *pb;
  unsigned n;
  int go, ready, done; /* atomics */
} fp_run;

static void wait_flag(int *flag) {
  while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) yield_cpu();
}

static void *fp_pong_thread(void *arg) {
  fp_run *r = arg;
  wait_flag(&r->go);
  tpark_prepare_park(&r->pb[0]);
  __atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
  for (unsigned i = 0; i < r->n; i++) {
    tpark_park(&r->pb[i]);
    if (i + 1 < r->n) tpark_prepare_park(&r->pb[i + 1]);
    tpark_unpark(tpark_unpark_lock(&r->pa[i]));
  }
  wait_flag(&r->done);
  return NULL;
}

static footprint run_footprint(const tpark_backend *b, const options *o) {
  fp_run r = {b, NULL, NULL, o->footprint_pairs, 0, 0, 0};
  r.pa = xcalloc(r.n, sizeof *r.pa);
  r.pb = xcalloc(r.n, sizeof *r.pb);
  pthread_t pong;
  start_thread(&pong, fp_pong_thread, &r);

  long handles0 = os_handles();
  int64_t heap0 = heap_in_use();
  for (unsigned i = 0; i < r.n; i++) {
    if (tpark_init_with(&r.pa[i], b) != TPARK_OK || tpark_init_with(&r.pb[i], b) != TPARK_OK) {
      die("tpark_init_with failed");
    }
  }
  __atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
  wait_flag(&r.ready);
  for (unsigned i = 0; i < r.n; i++) {
    tpark_prepare_park(&r.pa[i]);
    tpark_unpark(tpark_unpark_lock(&r.pb[i]));
    tpark_park(&r.pa[i]);
  }
  int64_t heap1 = heap_in_use();
  long handles1 = os_handles();
  __atomic_store_n(&r.done, 1, __ATOMIC_RELEASE);
  pthread_join(pong, NULL);

  footprint f = {2 * r.n, INT64_MIN, LONG_MIN};
  if (heap0 >= 0 && heap1 >= 0) f.heap_delta = heap1 - heap0;
  if (handles0 >= 0 && handles1 >= 0) f.handles_delta = handles1 - handles0;
  free(r.pa);
  free(r.pb);
  return f;
}

/* ---- setup: tpark_select_backend ------------------------------------------------ */

typedef struct setup {
  double first_ns;         /* the first call in this process */
  double fresh_median_ns;  /* later calls, each after tpark__selection_reset */
  unsigned fresh_n;
} setup;

/* ---- one backend's results --------------------------------------------------- */

typedef struct result {
  const target *t;
  const tpark_backend *b;
  setup setup;
  pingpong_result pp[2]; /* [0] free, [1] pinned */
  op_result ops;
  lateness late[N_TIMEOUTS][2];
  footprint fp;
} result;

static bool pingpong_ok(const result *r, int placement) {
  return r->pp[placement].ratio.median <= RATIO_BAR;
}

static unsigned early_returns(const result *r) {
  unsigned e = 0;
  for (size_t k = 0; k < N_TIMEOUTS; k++) e += r->late[k][0].early;
  return e;
}

static bool footprint_ok(const result *r) {
  return r->fp.heap_delta == 0 && (r->fp.handles_delta == 0 || r->fp.handles_delta == LONG_MIN);
}

static bool bar_met(const result *r) {
  return pingpong_ok(r, 0) && pingpong_ok(r, 1) && early_returns(r) == 0 && footprint_ok(r);
}

/* ---- output: table ------------------------------------------------------------ */

/* "median (min-max)", or with quartiles "median (q1-q3)". */
static const char *fmt_range(char *buf, size_t size, summary s, int decimals, bool quartiles) {
  snprintf(buf, size, "%.*f (%.*f-%.*f)", decimals, s.median, decimals, quartiles ? s.q1 : s.min,
           decimals, quartiles ? s.q3 : s.max);
  return buf;
}

static const char *fmt_timeout(uint64_t ns) {
  switch (ns) {
    case 100000:
      return "0.1 ms";
    case 1000000:
      return "1 ms";
    default:
      return "10 ms";
  }
}

static void print_table(const result *res, size_t n, const options *o, int cpus, int cpu) {
  const char *wine = wine_version();
  printf("parkbench: tpark vs the raw OS primitive of each backend (%s%s%s, %d CPUs)\n",
         os_name(), wine ? " under Wine " : "", wine ? wine : "", cpus);
  printf("ping-pong: %u rounds x %u round trips per variant, tpark and raw interleaved; "
         "sizeof(tpark_parker) = %u B\n",
         o->rounds, o->iters, (unsigned)sizeof(tpark_parker));
  for (size_t i = 0; i < n; i++) {
    const result *r = &res[i];
    char a[64], b[64], c[64];
    printf("\n== %s ==   raw: %s\n", r->t->name, r->t->raw);
    printf("%-28s %-26s %-26s %s\n", "ping-pong round trip, ns", "tpark: median (min-max)",
           "raw: median (min-max)", "tpark/raw: median (middle half)");
    for (int pl = 0; pl < 2; pl++) {
      char label[40];
      if (pl == 0) {
        snprintf(label, sizeof label, "  threads free");
      } else {
        snprintf(label, sizeof label, "  both pinned to CPU %d", cpu);
      }
      printf("%-28s %-26s %-26s %-24s %s\n", label, fmt_range(a, sizeof a, r->pp[pl].tpark, 0, false),
             fmt_range(b, sizeof b, r->pp[pl].raw, 0, false),
             fmt_range(c, sizeof c, r->pp[pl].ratio, 3, true),
             pingpong_ok(r, pl) ? "ok" : "OVER 1.05");
    }

    printf("%-52s %10s %10s\n", "ns per operation (median; threads on one CPU)", "tpark", "raw");
    if (r->ops.measured) {
      printf("%-52s %10.1f %10.1f\n", "  unpark_lock+unpark, owner prepared but awake",
             r->ops.unpark[0].median, r->ops.unpark[1].median);
      printf("%-52s %10.1f %10.1f\n", "  park, already unparked", r->ops.park[0].median,
             r->ops.park[1].median);
    } else {
      printf("  not measured: a keyed-event unpark waits until the owner waits (by design)\n");
    }

    printf("%-22s %-37s %-37s\n", "timeout lateness, us", "tpark: median    p99    max  early",
           "raw: median    p99    max  early");
    for (size_t k = 0; k < N_TIMEOUTS; k++) {
      const lateness *t = r->late[k], *w = &r->late[k][1];
      char label[40];
      snprintf(label, sizeof label, "  %s (n=%u)", fmt_timeout(timeouts_ns[k]), t->n);
      printf("%-22s %13.1f %6.1f %6.1f %6u %11.1f %6.1f %6.1f %6u\n", label, t->median_ns / 1e3,
             t->p99_ns / 1e3, t->max_ns / 1e3, t->early, w->median_ns / 1e3, w->p99_ns / 1e3,
             w->max_ns / 1e3, w->early);
    }
#if defined(_WIN32)
    if (strcmp(r->t->name, "waitaddress") == 0) {
      printf("  (raw WaitOnAddress takes whole ms: its 0.1 ms wait asks for 1 ms)\n");
    }
#endif

    printf("footprint: %u B per parker; OS objects per parker: ", (unsigned)sizeof(tpark_parker));
    if (r->fp.heap_delta == INT64_MIN) {
      printf("heap not measurable here");
    } else {
      printf("%.1f B (heap %+" PRId64 " B", (double)r->fp.heap_delta / r->fp.parkers,
             r->fp.heap_delta);
    }
    if (r->fp.handles_delta != LONG_MIN) {
      printf(", %+ld %s", r->fp.handles_delta, HANDLES_WHAT);
    }
    printf(" over %u fresh parkers, each used once)\n", r->fp.parkers);
    printf("setup: first tpark_select_backend(\"%s\") %.1f us", r->t->name, r->setup.first_ns / 1e3);
    printf("; in a fresh state: median %.1f us (n=%u)\n", r->setup.fresh_median_ns / 1e3,
           r->setup.fresh_n);
    printf("bar (tpark/raw <= 1.05 free and pinned, 0 early, 0 B per parker): %s\n",
           bar_met(r) ? "met" : "MISSED");
  }
}

/* ---- output: JSON --------------------------------------------------------------- */

static void json_num(double x, int decimals) {
  if (isfinite(x)) {
    printf("%.*f", decimals, x);
  } else {
    printf("null");
  }
}

static void json_summary(const char *key, summary s, int decimals) {
  printf("\"%s\": {\"median\": ", key);
  json_num(s.median, decimals);
  printf(", \"min\": ");
  json_num(s.min, decimals);
  printf(", \"max\": ");
  json_num(s.max, decimals);
  printf(", \"q1\": ");
  json_num(s.q1, decimals);
  printf(", \"q3\": ");
  json_num(s.q3, decimals);
  printf("}");
}

static void json_lateness(const char *key, const lateness *l) {
  printf("\"%s\": {\"median_ns\": ", key);
  json_num(l->median_ns, 0);
  printf(", \"p99_ns\": ");
  json_num(l->p99_ns, 0);
  printf(", \"max_ns\": ");
  json_num(l->max_ns, 0);
  printf(", \"early\": %u, \"not_timed_out\": %u}", l->early, l->not_timed);
}

static void print_json(const result *res, size_t n, const options *o, int cpus, int cpu) {
  const char *wine = wine_version();
  printf("{\n  \"tool\": \"parkbench\",\n  \"format\": 1,\n");
  printf("  \"machine\": {\"os\": \"%s\", \"cpus\": %d, \"wine\": ", os_name(), cpus);
  if (wine) {
    printf("\"%s\"", wine);
  } else {
    printf("null");
  }
  printf(", \"pinned_cpu\": %d},\n", cpu);
  printf("  \"config\": {\"quick\": %s, \"rounds\": %u, \"iters\": %u, \"op_batch\": %u, "
         "\"op_reps\": %u, \"ratio_bar\": %.2f},\n",
         o->quick ? "true" : "false", o->rounds, o->iters, OPS_BATCH, o->op_reps, RATIO_BAR);
  printf("  \"sizeof_parker\": %u,\n  \"backends\": [", (unsigned)sizeof(tpark_parker));
  for (size_t i = 0; i < n; i++) {
    const result *r = &res[i];
    printf("%s\n    {\n      \"name\": \"%s\",\n      \"raw\": \"%s\",\n", i ? "," : "", r->t->name,
           r->t->raw);
    printf("      \"pingpong_ns\": {");
    for (int pl = 0; pl < 2; pl++) {
      printf("%s\n        \"%s\": {", pl ? "," : "", pl ? "pinned" : "free");
      json_summary("tpark", r->pp[pl].tpark, 1);
      printf(", ");
      json_summary("raw", r->pp[pl].raw, 1);
      printf(", ");
      json_summary("ratio", r->pp[pl].ratio, 4);
      printf("}");
    }
    printf("\n      },\n");
    printf("      \"ops_ns\": ");
    if (r->ops.measured) {
      printf("{\"unpark_awake\": {\"tpark\": ");
      json_num(r->ops.unpark[0].median, 2);
      printf(", \"raw\": ");
      json_num(r->ops.unpark[1].median, 2);
      printf("}, \"park_unparked\": {\"tpark\": ");
      json_num(r->ops.park[0].median, 2);
      printf(", \"raw\": ");
      json_num(r->ops.park[1].median, 2);
      printf("}},\n");
    } else {
      printf("null,\n");
    }
    printf("      \"timeouts\": [");
    for (size_t k = 0; k < N_TIMEOUTS; k++) {
      printf("%s\n        {\"timeout_ns\": %" PRIu64 ", \"samples\": %u, ", k ? "," : "",
             timeouts_ns[k], r->late[k][0].n);
      json_lateness("tpark", &r->late[k][0]);
      printf(", ");
      json_lateness("raw", &r->late[k][1]);
      printf("}");
    }
    printf("\n      ],\n");
    printf("      \"footprint\": {\"sizeof_parker\": %u, \"parkers\": %u, \"heap_bytes_delta\": ",
           (unsigned)sizeof(tpark_parker), r->fp.parkers);
    if (r->fp.heap_delta == INT64_MIN) {
      printf("null, \"os_bytes_per_parker\": null");
    } else {
      printf("%" PRId64 ", \"os_bytes_per_parker\": ", r->fp.heap_delta);
      json_num((double)r->fp.heap_delta / r->fp.parkers, 2);
    }
    printf(", \"%s_delta\": ", HANDLES_WHAT);
    if (r->fp.handles_delta == LONG_MIN) {
      printf("null},\n");
    } else {
      printf("%ld},\n", r->fp.handles_delta);
    }
    printf("      \"setup\": {\"first_call_ns\": ");
    json_num(r->setup.first_ns, 0);
    printf(", \"fresh_median_ns\": ");
    json_num(r->setup.fresh_median_ns, 0);
    printf(", \"fresh_samples\": %u},\n", r->setup.fresh_n);
    printf("      \"bar\": {\"pingpong_free\": %s, \"pingpong_pinned\": %s, \"early_returns\": %u, "
           "\"footprint\": %s, \"met\": %s}\n    }",
           pingpong_ok(r, 0) ? "true" : "false", pingpong_ok(r, 1) ? "true" : "false",
           early_returns(r), footprint_ok(r) ? "true" : "false", bar_met(r) ? "true" : "false");
  }
  printf("\n  ]\n}\n");
}

/* ---- arguments --------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: parkbench [--json] [--quick] [--backend NAME] [--rounds N] [--iters N]\n"
          "\n"
          "Measures every tpark backend available here against the raw OS primitive it\n"
          "wraps (the same protocol written directly on it), interleaved in one run:\n"
          "ping-pong round trip (threads free, and both pinned to one CPU), unpark of an\n"
          "awake owner, park when already unparked, timeout lateness, footprint.\n"
          "\n"
          "  --json          JSON on stdout instead of the table\n"
          "  --quick         a short run (a few seconds): fewer rounds and samples\n"
          "  --backend NAME  only this backend (waitaddress, keyed_event, futex, condvar)\n"
          "  --rounds N      ping-pong rounds recorded per placement (default 301, quick 41)\n"
          "  --iters N       round trips per variant per round (default 100, quick 50)\n"
          "  --help          this text\n"
          "\n"
          "Progress goes to stderr once a run takes longer than 2 s. Exit status: 0, or\n"
          "2 for bad arguments, 1 when something failed.\n");
}

static void bad_args(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("parkbench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\n(parkbench --help shows the options)\n", stderr);
  va_end(ap);
  exit(2);
}

static unsigned parse_count(const char *opt, const char *s, unsigned max) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > max) {
    bad_args("%s wants a whole number from 1 to %u, not \"%s\"", opt, max, s);
  }
  return (unsigned)v;
}

static void parse_args(int argc, char **argv, options *o) {
  long rounds = -1, iters = -1;
  *o = (options){0};
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *value = NULL;
    char name[32];
    /* --opt=value or --opt value, for the options that take one. */
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, arg, len);
    name[len] = '\0';
    bool takes_value = !strcmp(name, "--backend") || !strcmp(name, "--rounds") ||
                       !strcmp(name, "--iters");
    if (takes_value) {
      if (eq) {
        value = eq + 1;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        bad_args("%s needs a value", name);
      }
    } else if (eq) {
      bad_args("%s takes no value", name);
    }
    if (!strcmp(name, "--json")) {
      o->json = true;
    } else if (!strcmp(name, "--quick")) {
      o->quick = true;
    } else if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(name, "--backend")) {
      bool known = false;
      for (size_t k = 0; k < N_BUILTINS; k++) known |= !strcmp(builtin_names[k], value);
      if (!known) {
        bad_args("unknown backend \"%s\" (built-in: waitaddress, keyed_event, futex, condvar)",
                 value);
      }
      o->backend = value;
    } else if (!strcmp(name, "--rounds")) {
      rounds = parse_count("--rounds", value, 100000);
    } else if (!strcmp(name, "--iters")) {
      iters = parse_count("--iters", value, 10000000);
    } else {
      bad_args("unknown argument \"%s\"", arg);
    }
  }
  /* Short blocks and many rounds: on a 2-CPU VM free threads switch between
   * sharing a CPU (~2 us a round trip) and not (~60 us) every few ms, and a
   * pair of blocks should see the same placement. */
  o->rounds = rounds > 0 ? (unsigned)rounds : o->quick ? 41 : 301;
  o->iters = iters > 0 ? (unsigned)iters : o->quick ? 50 : 100;
  o->op_reps = o->quick ? 11 : 51;
  o->setup_reps = o->quick ? 20 : 200;
  o->footprint_pairs = o->quick ? 200 : 1000;
  o->timeout_budget_s = o->quick ? 0.01 : 0.4;
  o->timeout_cap = o->quick ? 30 : 200;
}

/* ---- checked mode's cost (tpark/checked.h) ----------------------------------------
 *
 * A row per backend: ping-pong through tpark on the backend against tpark on
 * its checked wrapper (what TPARK_CHECKED=1 gives), interleaved as above;
 * run_pingpong's second variant is the checked one here. Table output only. */

static void tc_init(slot *s, const tpark_backend *b) {
  const tpark_backend *checked = tpark_checked_backend(b);
  if (checked == NULL) die("tpark_checked_backend failed");
  tp_init(s, checked);
}
#define tc_prepare tp_prepare
#define tc_park tp_park
#define tc_wake tp_wake
#define tc_timed_wait tp_timed_wait
DEFINE_LOOPS(tc)

static void print_checked_rows(const result *res, size_t n, const options *o, int cpu) {
  static const target checked = {"checked", "tpark on the checked wrapper", VARIANT(tc), false};
  printf("\n== checked mode (TPARK_CHECKED=1): ping-pong through the checked wrapper ==\n");
  printf("%-30s %-26s %-26s %s\n", "round trip, ns", "checked: median (min-max)",
         "tpark: median (min-max)", "checked/tpark: median (middle half)");
  for (size_t i = 0; i < n; i++) {
    for (int pl = 0; pl < 2; pl++) {
      progress("%s: checked mode, %s", res[i].t->name, pl ? "pinned" : "threads free");
      pingpong_result r = run_pingpong(&checked, res[i].b, o, pl ? cpu : -1);
      /* Per round tpark/checked; its inverse orders the other way round. */
      summary inv = {1 / r.ratio.median, 1 / r.ratio.max, 1 / r.ratio.min, 1 / r.ratio.q3,
                     1 / r.ratio.q1};
      char label[48], a[64], b[64], c[64];
      snprintf(label, sizeof label, "  %s, %s", res[i].t->name, pl ? "pinned" : "threads free");
      printf("%-30s %-26s %-26s %s\n", label, fmt_range(a, sizeof a, r.raw, 0, false),
             fmt_range(b, sizeof b, r.tpark, 0, false), fmt_range(c, sizeof c, inv, 3, true));
    }
  }
  progress_done();
}

/* ---- main ------------------------------------------------------------------------ */

static const target *target_of(const char *name) {
  for (size_t i = 0; i < N_TARGETS; i++) {
    if (!strcmp(targets[i].name, name)) return &targets[i];
  }
  return NULL;
}

int main(int argc, char **argv) {
#if defined(_WIN32)
  LARGE_INTEGER f;
  QueryPerformanceFrequency(&f);
  qpc_frequency = f.QuadPart;
  _setmode(_fileno(stdout), _O_BINARY); /* \n, not \r\n */
  progress_tty = _isatty(_fileno(stderr));
#else
  progress_tty = isatty(STDERR_FILENO);
#endif
#if defined(__linux__)
  mallopt(M_ARENA_MAX, 1); /* every thread on the arena mallinfo2 reports */
#endif
  run_start = now_ns();
  options o;
  parse_args(argc, argv, &o);
  int cpu, cpus = allowed_cpus(&cpu);

  /* Which backends exist here. Each one's first tpark_select_backend is also
   * its one-time setup cost: measured now, before anything else selects it. */
  result *res = xcalloc(N_BUILTINS, sizeof *res);
  size_t n = 0;
  for (size_t k = 0; k < N_BUILTINS; k++) {
    const char *name = builtin_names[k];
    if (o.backend && strcmp(o.backend, name)) continue;
    const tpark_backend *b;
    uint64_t t0 = now_ns();
    tpark_status st = tpark_select_backend(name, &b);
    uint64_t t1 = now_ns();
    if (st != TPARK_OK) {
      if (o.backend) bad_args("backend \"%s\" is not available here: %s", name, tpark_status_str(st));
      continue;
    }
    const target *t = target_of(name);
    if (t == NULL) die("backend %s has no raw baseline on this OS", name);
    res[n].t = t;
    res[n].setup.first_ns = (double)(t1 - t0);
    n++;
  }
  if (n == 0) die("no tpark backend is available here");

  /* The same in a fresh state, many times: the library's test hook forgets
   * every created backend (releasing its OS objects) before each call. */
  progress("setup cost");
  for (size_t i = 0; i < n; i++) {
    double *ns = xcalloc(o.setup_reps, sizeof(double));
    for (unsigned r = 0; r < o.setup_reps; r++) {
      tpark__selection_reset();
      const tpark_backend *b;
      uint64_t t0 = now_ns();
      tpark_status st = tpark_select_backend(res[i].t->name, &b);
      uint64_t t1 = now_ns();
      if (st != TPARK_OK) die("%s: tpark_select_backend failed the second time", res[i].t->name);
      ns[r] = (double)(t1 - t0);
    }
    res[i].setup.fresh_median_ns = summarize(ns, o.setup_reps).median;
    res[i].setup.fresh_n = o.setup_reps;
    free(ns);
  }
  tpark__selection_reset();
  for (size_t i = 0; i < n; i++) {
    if (tpark_select_backend(res[i].t->name, &res[i].b) != TPARK_OK) die("selection failed");
  }

  for (size_t i = 0; i < n; i++) {
    result *r = &res[i];
    progress("%s: ping-pong, threads free", r->t->name);
    r->pp[0] = run_pingpong(r->t, r->b, &o, -1);
    progress("%s: ping-pong, both pinned to CPU %d", r->t->name, cpu);
    r->pp[1] = run_pingpong(r->t, r->b, &o, cpu);
    progress("%s: unpark and park costs", r->t->name);
    r->ops = run_ops(r->t, r->b, &o, cpu);
    progress("%s: timeouts", r->t->name);
    run_timeouts(r->t, r->b, &o, r->late);
    progress("%s: footprint", r->t->name);
    r->fp = run_footprint(r->b, &o);
  }
  progress_done();

  if (o.json) {
    print_json(res, n, &o, cpus, cpu);
  } else {
    print_table(res, n, &o, cpus, cpu);
    print_checked_rows(res, n, &o, cpu);
  }
  free(res);
  return fflush(stdout) == 0 ? 0 : 1;
}
