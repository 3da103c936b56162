/* parkbench's "rw" section: tpark_rwlock against the system's reader-writer
 * locks, on the process default backend, in the same run:
 *
 *   POSIX    pthread_rwlock_t with default attributes (glibc: readers
 *            preferred) and, on glibc, with
 *            PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
 *   Windows  SRWLOCK (AcquireSRWLockShared / AcquireSRWLockExclusive)
 *
 * The loop of the sync anchors' rwlock benchmark: T = 1, 2, 4, 8, 16 threads
 * share one lock over 16 integers (lock and data on one cache line). Each
 * iteration draws x from a per-thread LCG; if x % W == 0 (W = 10: 10 %
 * writes, W = 1000: 0.1 %) it takes the write lock and increments the 16,
 * else it takes the read lock and sums them (checking that all 16 are
 * equal); then 50 LCG steps outside the lock. Each run lasts lock_ms. One
 * in 64 read locks and one in 64 write locks of a thread (its first, 65th,
 * ...) are timed from just before the call until it returns: the worst of those samples is a run's
 * worst reader / writer wait (a lower bound of the true worst). Per run:
 * lock operations per second, the two worst waits, and the largest over the
 * smallest per-thread operation count (1.00: every thread got as many).
 *
 * Each round runs every case with every variant, the variants' order
 * rotating per round and case; the table shows medians over the rounds and
 * the median (middle half) of the per-round ops/s ratios. A torn read or a
 * lost write ends parkbench with a message. A measure a run could not take
 * (no lock of that kind, a thread without any operation) is null in JSON and
 * has no CSV row. */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#include <windows.h>
#elif !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#endif

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/output.h"
#include "tools/bench/section.h"
#include "tools/bench/stats.h"
#include "tools/bench/sys.h"
#include "tpark/rwlock.h"

/* ---- the variants: [0] tpark, then the system's -------------------------------- */

typedef struct rw_variant {
  const char *id;   /* CSV and JSON: no spaces */
  const char *name; /* the table's header */
  void (*init)(void *l);
  void (*destroy)(void *l);
  void (*read_lock)(void *l);
  void (*read_unlock)(void *l);
  void (*write_lock)(void *l);
  void (*write_unlock)(void *l);
} rw_variant;

static void nothing(void *l) { (void)l; }
static void t_init(void *l) { *(tpark_rwlock *)l = (tpark_rwlock)TPARK_RWLOCK_INIT; }
static void t_rlock(void *l) { tpark_rwlock_read_lock(l); }
static void t_runlock(void *l) { tpark_rwlock_read_unlock(l); }
static void t_wlock(void *l) { tpark_rwlock_write_lock(l); }
static void t_wunlock(void *l) { tpark_rwlock_write_unlock(l); }

#if defined(_WIN32)
static void s_init(void *l) { InitializeSRWLock(l); }
static void s_rlock(void *l) { AcquireSRWLockShared(l); }
static void s_runlock(void *l) { ReleaseSRWLockShared(l); }
static void s_wlock(void *l) { AcquireSRWLockExclusive(l); }
static void s_wunlock(void *l) { ReleaseSRWLockExclusive(l); }

static const rw_variant variants[] = {
    {"tpark", "tpark", t_init, nothing, t_rlock, t_runlock, t_wlock, t_wunlock},
    {"SRWLOCK", "SRWLOCK", s_init, nothing, s_rlock, s_runlock, s_wlock, s_wunlock},
};
#else
static void p_init(void *l) {
  if (pthread_rwlock_init(l, NULL) != 0) die("rw: pthread_rwlock_init failed");
}
static void p_destroy(void *l) { pthread_rwlock_destroy(l); }
static void p_rlock(void *l) { pthread_rwlock_rdlock(l); }
static void p_unlock(void *l) { pthread_rwlock_unlock(l); }
static void p_wlock(void *l) { pthread_rwlock_wrlock(l); }

#if defined(__GLIBC__)
static void pw_init(void *l) {
  pthread_rwlockattr_t a;
  if (pthread_rwlockattr_init(&a) != 0 ||
      pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) != 0 ||
      pthread_rwlock_init(l, &a) != 0) {
    die("rw: a writer-preferring pthread_rwlock_t could not be made");
  }
  pthread_rwlockattr_destroy(&a);
}
#endif

static const rw_variant variants[] = {
    {"tpark", "tpark", t_init, nothing, t_rlock, t_runlock, t_wlock, t_wunlock},
    {"pthread", "pthread_rwlock_t", p_init, p_destroy, p_rlock, p_unlock, p_wlock, p_unlock},
#if defined(__GLIBC__)
    {"pthread_wp", "pthread_rwlock_t (PREFER_WRITER_NONRECURSIVE_NP)", pw_init, p_destroy, p_rlock,
     p_unlock, p_wlock, p_unlock},
#endif
};
#endif

#define N_VARIANTS (int)(sizeof variants / sizeof variants[0])
#define N_T 5
static const int thread_counts[N_T] = {1, 2, 4, 8, 16};
#define N_W 2
static const unsigned write_every[N_W] = {10, 1000};
#define N_CASES (N_T * N_W)
#define MAX_THREADS 16
#define N_DATA 16
#define OUTSIDE_STEPS 50 /* LCG steps between two lock operations */
#define SAMPLE_MASK 63   /* of each kind, the 1st, 65th, 129th, ... operation is timed */

/* ---- one run ------------------------------------------------------------------------ */

/* What a run measured. Waits in ms; NAN when no operation was sampled. */
typedef struct rw_result {
  double ops_per_s, writer_worst_ms, reader_worst_ms, fairness;
} rw_result;

static struct {
  union {
    tpark_rwlock tpark;
#if defined(_WIN32)
    SRWLOCK srw;
#else
    pthread_rwlock_t pthread;
#endif
  } lock;
  uint64_t data[N_DATA]; /* guarded by lock */
} shared __attribute__((aligned(64)));

typedef struct worker {
  pthread_t thread;
  const rw_variant *v;
  unsigned w;
  uint64_t seed;
  uint64_t reads, writes, torn, fold;
  uint64_t read_worst_ns, write_worst_ns, read_samples, write_samples;
  char pad[64]; /* each worker's counters on lines of their own */
} worker;

static int go, stop;            /* atomic */
volatile uint64_t reads_folded; /* extern: the compiler must compute it */

/* The LCG's constants, read through volatile so that the compiler cannot
 * fold the 50 steps outside the lock into one. */
static volatile uint64_t lcg_a = UINT64_C(6364136223846793005);
static volatile uint64_t lcg_c = UINT64_C(1442695040888963407);

static void *worker_main(void *arg) {
  worker *k = arg;
  const rw_variant *v = k->v;
  const uint64_t a = lcg_a, c = lcg_c, w = k->w;
  uint64_t x = k->seed, reads = 0, writes = 0, torn = 0, fold = 0;
  uint64_t rworst = 0, wworst = 0, rn = 0, wn = 0;
  while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) yield_cpu();
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    x = x * a + c;
    if ((x >> 32) % w == 0) {
      bool sample = (writes & SAMPLE_MASK) == 0;
      uint64_t t0 = sample ? now_ns() : 0;
      v->write_lock(&shared.lock);
      if (sample) {
        uint64_t waited = now_ns() - t0;
        if (waited > wworst) wworst = waited;
        wn++;
      }
      for (int i = 0; i < N_DATA; i++) shared.data[i]++;
      v->write_unlock(&shared.lock);
      writes++;
    } else {
      bool sample = (reads & SAMPLE_MASK) == 0;
      uint64_t t0 = sample ? now_ns() : 0;
      v->read_lock(&shared.lock);
      if (sample) {
        uint64_t waited = now_ns() - t0;
        if (waited > rworst) rworst = waited;
        rn++;
      }
      uint64_t first = shared.data[0], sum = 0;
      bool equal = true;
      for (int i = 0; i < N_DATA; i++) {
        sum += shared.data[i];
        equal &= shared.data[i] == first;
      }
      v->read_unlock(&shared.lock);
      torn += !equal;
      fold = fold * 31 + sum;
      reads++;
    }
    for (int i = 0; i < OUTSIDE_STEPS; i++) x = x * a + c;
  }
  k->reads = reads;
  k->writes = writes;
  k->torn = torn;
  k->fold = fold ^ x;
  k->read_worst_ns = rworst;
  k->write_worst_ns = wworst;
  k->read_samples = rn;
  k->write_samples = wn;
  return NULL;
}

static rw_result run_case(const rw_variant *v, int threads, unsigned w, unsigned ms) {
  static worker workers[MAX_THREADS];
  memset(&shared, 0, sizeof shared);
  v->init(&shared.lock);
  __atomic_store_n(&go, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < threads; i++) {
    worker *k = &workers[i];
    memset(k, 0, sizeof *k);
    k->v = v;
    k->w = w;
    k->seed = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(i + 1);
    int err = pthread_create(&k->thread, NULL, worker_main, k);
    if (err != 0) die("rw: pthread_create failed: %d", err);
  }
  uint64_t t0 = now_ns();
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  sleep_ms(ms);
  uint64_t t1 = now_ns();
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  uint64_t ops = 0, writes = 0, torn = 0, most = 0, least = UINT64_MAX;
  uint64_t rworst = 0, wworst = 0, rn = 0, wn = 0, fold = 0;
  for (int i = 0; i < threads; i++) {
    worker *k = &workers[i];
    pthread_join(k->thread, NULL);
    uint64_t n = k->reads + k->writes;
    ops += n;
    writes += k->writes;
    torn += k->torn;
    fold ^= k->fold;
    if (n > most) most = n;
    if (n < least) least = n;
    if (k->read_worst_ns > rworst) rworst = k->read_worst_ns;
    if (k->write_worst_ns > wworst) wworst = k->write_worst_ns;
    rn += k->read_samples;
    wn += k->write_samples;
  }
  for (int i = 0; i < N_DATA; i++) {
    if (shared.data[i] != writes) torn++;
  }
  if (torn != 0) {
    die("rw: %s, T=%d W=%u: %llu torn reads or lost writes", v->id, threads, w,
        (unsigned long long)torn);
  }
  v->destroy(&shared.lock);
  reads_folded = fold; /* the reads' sums are used */
  rw_result r;
  r.ops_per_s = (double)ops / ((double)(t1 - t0) / 1e9);
  r.writer_worst_ms = wn ? (double)wworst / 1e6 : NAN;
  r.reader_worst_ms = rn ? (double)rworst / 1e6 : NAN;
  r.fairness = least ? (double)most / (double)least : NAN;
  return r;
}

/* ---- the section's steps ------------------------------------------------------------- */

/* The measures, in the order of rw_result. */
#define N_MEASURES 4
static const struct {
  const char *id, *unit, *title;
  int decimals;
  double scale; /* the table's */
} measures[N_MEASURES] = {
    {"ops_per_s", "ops/s", "lock operations, M/s (higher is better)", 2, 1e6},
    {"writer_worst_wait", "ms", "writer worst sampled wait, ms (lower is better)", 3, 1},
    {"reader_worst_wait", "ms", "reader worst sampled wait, ms (lower is better)", 3, 1},
    {"fairness", "max/min", "per-thread operations, max/min (1.00: even)", 2, 1},
};

static struct {
  const char *backend;
  unsigned n;                                 /* rounds */
  double *v[N_CASES][N_VARIANTS][N_MEASURES]; /* per round */
} res;

static int case_threads(int c) { return thread_counts[c % N_T]; }
static unsigned case_w(int c) { return write_every[c / N_T]; }

static bool rw_prepare(const bench_options *o) {
  (void)o;
  tpark_parker probe;
  if (tpark_default_backend() == NULL || tpark_init(&probe) != TPARK_OK) {
    fprintf(stderr, "parkbench: rw: no default backend (see the message above)\n");
    return false;
  }
  res.backend = tpark_backend_name(&probe);
  return true;
}

static double case_s(const bench_options *o) { return N_VARIANTS * (o->lock_ms / 1e3 + 0.002); }

static double rw_estimate_s(const bench_options *o) { return o->lock_rounds * N_CASES * case_s(o); }

static void rw_run(const bench_options *o) {
  unsigned n = res.n = o->lock_rounds;
  for (int c = 0; c < N_CASES; c++) {
    for (int v = 0; v < N_VARIANTS; v++) {
      for (int m = 0; m < N_MEASURES; m++) res.v[c][v][m] = xcalloc(n, sizeof(double));
    }
  }
  for (unsigned r = 0; r < n; r++) {
    progress_phase(N_CASES * case_s(o), "rw: round %u of %u", r + 1, n);
    for (int c = 0; c < N_CASES; c++) {
      for (int j = 0; j < N_VARIANTS; j++) {
        int v = (int)((r + (unsigned)c + (unsigned)j) % N_VARIANTS);
        rw_result x = run_case(&variants[v], case_threads(c), case_w(c), o->lock_ms);
        res.v[c][v][0][r] = x.ops_per_s;
        res.v[c][v][1][r] = x.writer_worst_ms;
        res.v[c][v][2][r] = x.reader_worst_ms;
        res.v[c][v][3][r] = x.fairness;
      }
      progress_step((unsigned)c + 1, N_CASES);
    }
  }
}

/* ---- output ------------------------------------------------------------------------------ */

/* The per-round ratios tpark / variant v of case c's ops/s (malloc'd). */
static double *ratios(int c, int v) {
  double *q = xcalloc(res.n, sizeof(double));
  for (unsigned i = 0; i < res.n; i++) q[i] = res.v[c][0][0][i] / res.v[c][v][0][i];
  return q;
}

static void print_cell(double x, int decimals) {
  if (isfinite(x)) {
    printf(" %12.*f", decimals, x);
  } else {
    printf(" %12s", "-");
  }
}

static void rw_table(const bench_options *o) {
  unsigned n = res.n;
  printf("== rw: tpark_rwlock against the system's (default backend %s; %u rounds of %u ms;\n",
         res.backend, n, o->lock_ms);
  printf("   T threads, 1 in W operations a write; medians over the rounds; ratio: the median\n");
  printf("   (middle half) of the per-round ratios; waits: every 64th lock timed) ==\n");
  for (int v = 1; v < N_VARIANTS; v++) printf("   %s: %s\n", variants[v].id, variants[v].name);
  for (int m = 0; m < N_MEASURES; m++) {
    printf("%-14s", measures[m].title);
    printf("\n%-14s", "");
    for (int v = 0; v < N_VARIANTS; v++) printf(" %12s", variants[v].id);
    if (m == 0) {
      for (int v = 1; v < N_VARIANTS; v++) printf("  tpark/%s", variants[v].id);
    }
    printf("\n");
    for (int c = 0; c < N_CASES; c++) {
      char label[32];
      snprintf(label, sizeof label, "  T=%d W=%u", case_threads(c), case_w(c));
      printf("%-14s", label);
      for (int v = 0; v < N_VARIANTS; v++) {
        print_cell(summarize(res.v[c][v][m], n).median / measures[m].scale, measures[m].decimals);
      }
      if (m == 0) {
        for (int v = 1; v < N_VARIANTS; v++) {
          double *q = ratios(c, v);
          summary s = summarize(q, n);
          free(q);
          printf("  %.2f (%.2f-%.2f)", s.median, s.q1, s.q3);
        }
      }
      printf("\n");
    }
  }
}

/* {"threads": T, "write_every": W, "<measure>": {"<variant>": summary, ...,
 *  "samples": {"<variant>": [...]}}, ..., "ratio": {"tpark/<variant>": summary}} */
static void rw_json(const bench_options *o) {
  unsigned n = res.n;
  json_member("rw");
  printf("{\"default_backend\": ");
  json_str(res.backend);
  printf(", \"rounds\": %u, \"ms\": %u, \"sample_every\": %d, \"variants\": {", n, o->lock_ms,
         SAMPLE_MASK + 1);
  for (int v = 0; v < N_VARIANTS; v++) {
    printf("%s", v ? ", " : "");
    json_str(variants[v].id);
    printf(": ");
    json_str(variants[v].name);
  }
  printf("},\n    \"cases\": [");
  for (int c = 0; c < N_CASES; c++) {
    printf("%s\n     {\"threads\": %d, \"write_every\": %u", c ? "," : "", case_threads(c),
           case_w(c));
    for (int m = 0; m < N_MEASURES; m++) {
      printf(",\n      \"%s\": {", measures[m].id);
      for (int v = 0; v < N_VARIANTS; v++) {
        printf("\"%s\": ", variants[v].id);
        json_summary(summarize(res.v[c][v][m], n), measures[m].decimals + 3);
        printf(", ");
      }
      printf("\"samples\": {");
      for (int v = 0; v < N_VARIANTS; v++) {
        printf("%s\"%s\": ", v ? ", " : "", variants[v].id);
        json_doubles(res.v[c][v][m], n, measures[m].decimals + 3);
      }
      printf("}}");
    }
    printf(",\n      \"ratio\": {");
    for (int v = 1; v < N_VARIANTS; v++) {
      double *q = ratios(c, v);
      printf("%s\"tpark/%s\": ", v > 1 ? ", " : "", variants[v].id);
      json_summary(summarize(q, n), 4);
      free(q);
    }
    printf("}}");
  }
  printf("]}");
}

static void rw_csv(const bench_options *o) {
  (void)o;
  for (int m = 0; m < N_MEASURES; m++) {
    for (int c = 0; c < N_CASES; c++) {
      char cond[32];
      snprintf(cond, sizeof cond, "T=%d W=%u", case_threads(c), case_w(c));
      for (int v = 0; v < N_VARIANTS; v++) {
        for (unsigned r = 0; r < res.n; r++) {
          if (!isfinite(res.v[c][v][m][r])) continue;
          csv_row("rw", "rwlock", measures[m].id, cond, variants[v].id, r, res.v[c][v][m][r],
                  measures[m].unit);
        }
      }
    }
  }
}

const bench_section rw_section = {
    .name = "rw",
    .prepare = rw_prepare,
    .estimate_s = rw_estimate_s,
    .run = rw_run,
    .table = rw_table,
    .json = rw_json,
    .csv = rw_csv,
};
