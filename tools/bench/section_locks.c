/* parkbench --locks: the lock section. tpark_mutex against the system's own
 * lock (pthread_mutex_t on POSIX, SRWLOCK on Windows), and
 * tpark_wait_on_address against the raw address wait (futex on Linux,
 * WaitOnAddress on Windows), the variants of each measurement interleaved
 * (A B B A ... per round) so that drift falls on both.
 *
 *   uncontended   ns per lock+unlock, one thread (thread CPU time on POSIX)
 *   throughput    T threads for a while: lock, a 20-step critical section on
 *                 shared data, unlock, 50 steps of local work; millions of
 *                 acquisitions per second (median of the rounds)
 *   worst wait    the same loop with the time of every lock call taken: the
 *                 longest one (max over rounds), and the fewest acquisitions
 *                 any thread made (0 would be a starved thread)
 *   wait/wake     round trip between two threads that wake each other through
 *                 a 4-byte flag, ns
 *
 * Self-contained: parkbench.c only forwards `--locks` here. */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1
#include <windows.h>
#else
#include <time.h>
#endif
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpark/mutex.h"
#include "tpark/tpark.h"
#include "tpark/wait.h"

int lockbench_main(int argc, char **argv);

/* ---- clock ---- */

#if defined(_WIN32)
static int64_t qpc_hz;
static uint64_t now_ns(void) {
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  return (uint64_t)((double)c.QuadPart * 1e9 / (double)qpc_hz);
}
#else
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

/* ---- the locks ---- */

typedef struct lock_ops {
  const char *name;
  void (*init)(void);
  void (*lock)(void);
  void (*unlock)(void);
} lock_ops;

static tpark_mutex tm = TPARK_MUTEX_INIT;
static void tm_init(void) { tm = (tpark_mutex)TPARK_MUTEX_INIT; }
static void tm_lock(void) { tpark_mutex_lock(&tm); }
static void tm_unlock(void) { tpark_mutex_unlock(&tm); }

#if defined(_WIN32)
static SRWLOCK srw = SRWLOCK_INIT;
static void sys_init(void) { InitializeSRWLock(&srw); }
static void sys_lock(void) { AcquireSRWLockExclusive(&srw); }
static void sys_unlock(void) { ReleaseSRWLockExclusive(&srw); }
#define SYS_LOCK_NAME "SRWLOCK"
#else
static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
static void sys_init(void) { pthread_mutex_init(&pm, NULL); }
static void sys_lock(void) { pthread_mutex_lock(&pm); }
static void sys_unlock(void) { pthread_mutex_unlock(&pm); }
#define SYS_LOCK_NAME "pthread_mutex_t"
#endif

static const lock_ops locks[2] = {
    {"tpark_mutex", tm_init, tm_lock, tm_unlock},
    {SYS_LOCK_NAME, sys_init, sys_lock, sys_unlock},
};

/* ---- uncontended ---- */

/* The thread's CPU time where there is one (a loaded machine preempts the
 * loop; wall time would count that), else wall time. */
static uint64_t cpu_ns(void) {
#if defined(CLOCK_THREAD_CPUTIME_ID) && !defined(_WIN32)
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#else
  return now_ns();
#endif
}

static double uncontended_ns(const lock_ops *l, unsigned n) {
  l->init();
  uint64_t t0 = cpu_ns();
  for (unsigned i = 0; i < n; i++) {
    l->lock();
    __asm__ __volatile__("" ::: "memory");
    l->unlock();
  }
  return (double)(cpu_ns() - t0) / n;
}

/* ---- contended ---- */

#define CS_STEPS 20
#define OUTSIDE_STEPS 50
#define MAX_THREADS 64

static volatile uint64_t shared_value;

typedef struct worker {
  pthread_t thread;
  const lock_ops *l;
  bool timed;
  uint64_t count, worst_ns;
  char pad[64];
} worker;

static int go, stop; /* atomic */

static void *worker_main(void *arg) {
  worker *w = arg;
  uint64_t value = 1, local = 1, count = 0, worst = 0;
  while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) {
  }
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    uint64_t t0 = w->timed ? now_ns() : 0;
    w->l->lock();
    if (w->timed) {
      uint64_t waited = now_ns() - t0;
      if (waited > worst) worst = waited;
    }
    for (int i = 0; i < CS_STEPS; i++) {
      shared_value += value;
      shared_value *= 3;
      value++;
    }
    w->l->unlock();
    for (int i = 0; i < OUTSIDE_STEPS; i++) {
      local += value;
      local *= 3;
      value++;
      __asm__ __volatile__("" : "+r"(local));
    }
    count++;
  }
  w->count = count;
  w->worst_ns = worst;
  return NULL;
}

typedef struct run_result {
  double mops;     /* millions of acquisitions per second */
  double worst_us; /* timed runs */
  uint64_t fewest; /* timed runs: fewest acquisitions by one thread */
} run_result;

static void sleep_ms(unsigned ms) {
#if defined(_WIN32)
  Sleep(ms);
#else
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
#endif
}

static run_result contended(const lock_ops *l, int threads, unsigned ms, bool timed) {
  static worker w[MAX_THREADS];
  l->init();
  __atomic_store_n(&go, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < threads; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].l = l;
    w[i].timed = timed;
    if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
      fprintf(stderr, "parkbench --locks: pthread_create failed\n");
      exit(1);
    }
  }
  uint64_t t0 = now_ns();
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  sleep_ms(ms);
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  run_result r = {0, 0, UINT64_MAX};
  uint64_t total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].thread, NULL);
    total += w[i].count;
    if (w[i].worst_ns / 1e3 > r.worst_us) r.worst_us = (double)w[i].worst_ns / 1e3;
    if (w[i].count < r.fewest) r.fewest = w[i].count;
  }
  uint64_t elapsed = now_ns() - t0; /* includes the joins: every thread stopped */
  r.mops = (double)total / ((double)elapsed / 1e9) / 1e6;
  return r;
}

/* ---- wait/wake ping-pong ---- */

typedef struct pingpong {
  uint32_t flag; /* 0: ping's turn, 1: pong's turn */
  bool native;
  unsigned n;
} pingpong;

#if defined(_WIN32)
typedef BOOL(WINAPI *wait_fn)(volatile VOID *, PVOID, SIZE_T, DWORD);
typedef VOID(WINAPI *wake_fn)(PVOID);
static wait_fn native_wait;
static wake_fn native_wake;
static void native_setup(void) {
  HMODULE m = GetModuleHandleA("api-ms-win-core-synch-l1-2-0.dll");
  if (m == NULL) return;
  native_wait = (wait_fn)(void (*)(void))GetProcAddress(m, "WaitOnAddress");
  native_wake = (wake_fn)(void (*)(void))GetProcAddress(m, "WakeByAddressSingle");
}
static bool have_native(void) { return native_wait != NULL && native_wake != NULL; }
static void raw_wait(uint32_t *addr, uint32_t v) { native_wait(addr, &v, 4, INFINITE); }
static void raw_wake(uint32_t *addr) { native_wake(addr); }
#define RAW_WAIT_NAME "WaitOnAddress"
#elif defined(__linux__)
static void native_setup(void) {}
static bool have_native(void) { return true; }
static void raw_wait(uint32_t *addr, uint32_t v) {
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}
static void raw_wake(uint32_t *addr) {
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#define RAW_WAIT_NAME "futex"
#else
static void native_setup(void) {}
static bool have_native(void) { return false; }
static void raw_wait(uint32_t *addr, uint32_t v) {
  (void)addr;
  (void)v;
}
static void raw_wake(uint32_t *addr) { (void)addr; }
#define RAW_WAIT_NAME "none"
#endif

/* Waits until flag == want, then passes the turn. */
static void take_turn(pingpong *p, uint32_t want) {
  uint32_t v;
  while ((v = __atomic_load_n(&p->flag, __ATOMIC_ACQUIRE)) != want) {
    if (p->native) {
      raw_wait(&p->flag, v);
    } else {
      tpark_wait_on_address(&p->flag, &v, sizeof v, TPARK_NEVER);
    }
  }
  __atomic_store_n(&p->flag, want ^ 1u, __ATOMIC_RELEASE);
  if (p->native) {
    raw_wake(&p->flag);
  } else {
    tpark_wake_by_address_single(&p->flag);
  }
}

static void *pong_main(void *arg) {
  pingpong *p = arg;
  for (unsigned i = 0; i < p->n; i++) take_turn(p, 1);
  return NULL;
}

static double pingpong_ns(bool native, unsigned n) {
  pingpong p = {0, native, n};
  pthread_t t;
  pthread_create(&t, NULL, pong_main, &p);
  uint64_t t0 = now_ns();
  for (unsigned i = 0; i < n; i++) take_turn(&p, 0);
  pthread_join(t, NULL);
  return (double)(now_ns() - t0) / n;
}

/* ---- driver ---- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The median of v[0..n-1] (n <= 64); v keeps its order (rounds stay paired). */
static double median(const double *v, int n) {
  double s[64];
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: parkbench --locks [--quick] [--rounds N] [--ms N]\n"
          "\n"
          "tpark_mutex against %s, tpark_wait_on_address against %s,\n"
          "interleaved. Throughput: lock, %d-step critical section, unlock, %d steps\n"
          "outside, at T = 2, 4, 8, 16 threads; medians of N rounds (default 5,\n"
          "quick 3) of ms milliseconds each (default 300, quick 100).\n",
          SYS_LOCK_NAME, RAW_WAIT_NAME, CS_STEPS, OUTSIDE_STEPS);
}

int lockbench_main(int argc, char **argv) {
#if defined(_WIN32)
  LARGE_INTEGER f;
  QueryPerformanceFrequency(&f);
  qpc_hz = f.QuadPart;
#endif
  int rounds = 5;
  unsigned ms = 300, uncontended_n = 5000000, pp_n = 20000;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) {
      rounds = 3;
      ms = 100;
      uncontended_n = 1000000;
      pp_n = 5000;
    } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
      rounds = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
      ms = (unsigned)atoi(argv[++i]);
    } else if (strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "parkbench --locks: bad argument %s\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  if (rounds > 64) rounds = 64;
  const tpark_backend *b = tpark_default_backend();
  if (b == NULL) {
    fprintf(stderr, "parkbench --locks: no default backend\n");
    return 1;
  }
  tpark_parker probe;
  tpark_init(&probe);
  native_setup();

  static const int threads[] = {2, 4, 8, 16};
  enum { NT = 4 };
  double unc[2][64], mops[2][NT][64], worst[2][NT];
  uint64_t fewest[2][NT];
  memset(worst, 0, sizeof worst);
  for (int l = 0; l < 2; l++) {
    for (int k = 0; k < NT; k++) fewest[l][k] = UINT64_MAX;
  }
  double pp[2][64];
  for (int r = 0; r < rounds; r++) {
    for (int j = 0; j < 2; j++) {
      int l = (r + j) % 2; /* A B, then B A */
      unc[l][r] = uncontended_ns(&locks[l], uncontended_n);
    }
    for (int k = 0; k < NT; k++) {
      for (int j = 0; j < 2; j++) {
        int l = (r + k + j) % 2;
        mops[l][k][r] = contended(&locks[l], threads[k], ms, false).mops;
        run_result t = contended(&locks[l], threads[k], ms / 2, true);
        if (t.worst_us > worst[l][k]) worst[l][k] = t.worst_us;
        if (t.fewest < fewest[l][k]) fewest[l][k] = t.fewest;
      }
    }
    for (int j = 0; j < 2; j++) {
      int v = (r + j) % 2; /* 0: tpark, 1: raw */
      pp[v][r] = v == 1 && !have_native() ? 0 : pingpong_ns(v == 1, pp_n);
    }
  }

  printf("parkbench --locks: default backend %s, %d rounds of %u ms, medians\n",
         tpark_backend_name(&probe), rounds, ms);
  printf(
      "throughput: M acquisitions/s (lock, %d-step critical section, unlock, %d steps "
      "outside)\n\n",
      CS_STEPS, OUTSIDE_STEPS);
  printf("| lock | T=2 | T=4 | T=8 | T=16 | uncontended |\n|---|---|---|---|---|---|\n");
  for (int l = 0; l < 2; l++) {
    printf("| %s |", locks[l].name);
    for (int k = 0; k < NT; k++) printf(" %.1f |", median(mops[l][k], rounds));
    printf(" %.1f ns |\n", median(unc[l], rounds));
  }
  printf("| ratio tpark/%s (median of per-round ratios) |", locks[1].name);
  for (int k = 0; k < NT; k++) {
    double ratio[64];
    for (int r = 0; r < rounds; r++) ratio[r] = mops[0][k][r] / mops[1][k][r];
    printf(" %.2f |", median(ratio, rounds));
  }
  {
    double ratio[64];
    for (int r = 0; r < rounds; r++) ratio[r] = unc[0][r] / unc[1][r];
    printf(" %.2f |\n", median(ratio, rounds));
  }
  printf(
      "\nworst wait for the lock, us (max over rounds), and fewest acquisitions by one "
      "thread in a run:\n\n");
  printf("| lock | T=2 | T=4 | T=8 | T=16 |\n|---|---|---|---|---|\n");
  for (int l = 0; l < 2; l++) {
    printf("| %s |", locks[l].name);
    for (int k = 0; k < NT; k++) {
      printf(" %.0f us (min %llu) |", worst[l][k], (unsigned long long)fewest[l][k]);
    }
    printf("\n");
  }
  printf("\nwait/wake ping-pong round trip through a 4-byte flag, ns (median):\n\n");
  printf("| tpark_wait_on_address | %s | ratio |\n|---|---|---|\n", RAW_WAIT_NAME);
  if (have_native()) {
    double ratio[64];
    for (int r = 0; r < rounds; r++) ratio[r] = pp[0][r] / pp[1][r];
    double a = median(pp[0], rounds), c = median(pp[1], rounds);
    printf("| %.0f | %.0f | %.2f (median of per-round ratios) |\n", a, c, median(ratio, rounds));
  } else {
    printf("| %.0f | - | - |\n", median(pp[0], rounds));
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
