/* parkbench's "locks" section: tpark_mutex against the system's own lock
 * (lock_raw.h: pthread_mutex_t, SRWLOCK), tpark_recursive_mutex against the
 * system's recursive lock (PTHREAD_MUTEX_RECURSIVE, CRITICAL_SECTION), and
 * tpark_wait_on_address against the raw address wait (futex, WaitOnAddress),
 * on the process default backend. Each round measures every variant once, in an order that
 * alternates (A B, then B A), so that drift falls on both; the comparison is
 * the ratio per round, summarised over the rounds (stats.h), as in the
 * backends section.
 *
 *   uncontended  ns per lock+unlock, one thread pinned to one CPU (its CPU
 *                time where the OS keeps one: a preempted loop does not count)
 *   throughput   T = 2, 4, 8, 16 threads for lock_ms: lock, a 20-step critical
 *                section on shared data, unlock, 50 steps of local work;
 *                millions of acquisitions per second
 *   worst wait   the same loop for lock_ms / 2 with every lock call timed: the
 *                longest one (max over rounds), and the fewest acquisitions
 *                one thread made in a run (0 would be a starved thread);
 *                the mutexes only
 *   (the recursive locks: uncontended and throughput, never re-entered: what
 *   code ported from CRITICAL_SECTION pays for the recursion it rarely uses)
 *   wait/wake    round trip between two threads that wake each other through
 *                a 4-byte flag; threads free, and both pinned to one CPU */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/lock_raw.h"
#include "tools/bench/output.h"
#include "tools/bench/section.h"
#include "tools/bench/stats.h"
#include "tools/bench/sys.h"
#include "tpark/mutex.h"
#include "tpark/tpark.h"
#include "tpark/wait.h"

#define CS_STEPS 20
#define OUTSIDE_STEPS 50
#define N_COUNTS 4
static const int thread_counts[N_COUNTS] = {2, 4, 8, 16};
#define MAX_THREADS 16

/* ---- the locks: pairs of [0] tpark's, [1] the system's ------------------------- */

static tpark_mutex tm = TPARK_MUTEX_INIT;
static void tm_init(void) { tm = (tpark_mutex)TPARK_MUTEX_INIT; }
static void tm_lock(void) { tpark_mutex_lock(&tm); }
static void tm_unlock(void) { tpark_mutex_unlock(&tm); }

static tpark_recursive_mutex trm = TPARK_RECURSIVE_MUTEX_INIT;
static void trm_init(void) { trm = (tpark_recursive_mutex)TPARK_RECURSIVE_MUTEX_INIT; }
static void trm_lock(void) { tpark_recursive_mutex_lock(&trm); }
static void trm_unlock(void) { tpark_recursive_mutex_unlock(&trm); }

typedef struct lock_variant {
  const char *name; /* CSV's variant, the table's column */
  void (*init)(void);
  void (*lock)(void);
  void (*unlock)(void);
} lock_variant;

#define N_PAIRS 2
static const char *const pair_subject[N_PAIRS] = {"mutex", "recursive"}; /* CSV, JSON */
static lock_variant locks[N_PAIRS][2] = {
    {{"tpark_mutex", tm_init, tm_lock, tm_unlock},
     {NULL, system_lock_init, system_lock, system_unlock}},
    {{"tpark_recursive_mutex", trm_init, trm_lock, trm_unlock},
     {NULL, system_recursive_init, system_recursive_lock, system_recursive_unlock}},
};

/* ---- the results -------------------------------------------------------------------- */

static struct {
  const char *backend;  /* the process default's name */
  const char *raw_wait; /* NULL: no raw address wait here */
  unsigned n;           /* rounds */
  double *uncontended[N_PAIRS][2];
  double *mops[N_PAIRS][N_COUNTS][2];
  double worst_us[N_COUNTS][2]; /* the mutexes ([0]) only */
  uint64_t fewest[N_COUNTS][2];
  double *trip_ns[2][2]; /* [free, pinned][tpark, raw] */
} res;

static const char *const placement_name[2] = {"free", "pinned"};

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  int err = pthread_create(t, NULL, fn, arg);
  if (err != 0) die("pthread_create failed: %d", err);
}

/* ---- uncontended ---------------------------------------------------------------------- */

typedef struct uncontended {
  const bench_options *o;
  unsigned round;
} uncontended;

/* One round, in a thread of its own pinned to the CPU of the pinned runs
 * (threads inherit affinity: the main thread stays free). */
static void *uncontended_thread(void *arg) {
  const uncontended *u = arg;
  pin_self(u->o->cpu);
  for (int p = 0; p < N_PAIRS; p++) {
    for (int j = 0; j < 2; j++) {
      int v = (int)(u->round + (unsigned)j) % 2; /* A B, then B A */
      const lock_variant *l = &locks[p][v];
      l->init();
      uint64_t t0 = thread_cpu_ns();
      for (unsigned i = 0; i < u->o->lock_ops; i++) {
        l->lock();
        __asm__ __volatile__("" ::: "memory");
        l->unlock();
      }
      res.uncontended[p][v][u->round] = (double)(thread_cpu_ns() - t0) / u->o->lock_ops;
    }
  }
  return NULL;
}

/* ---- contended ------------------------------------------------------------------------- */

static volatile uint64_t shared_value;
static int go, stop; /* atomic */

typedef struct worker {
  pthread_t thread;
  const lock_variant *l;
  bool timed;
  uint64_t count, worst_ns;
  char pad[64]; /* no false sharing between the workers' counters */
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  uint64_t value = 1, local = 1, count = 0, worst = 0;
  /* Yield while waiting: spinning threads would starve the one starting
   * them on a small machine. */
  while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) yield_cpu();
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

typedef struct contended_result {
  double mops;     /* millions of acquisitions per second */
  double worst_us; /* timed runs */
  uint64_t fewest; /* timed runs: the fewest acquisitions by one thread */
} contended_result;

static contended_result contended(const lock_variant *l, int threads, unsigned ms, bool timed) {
  static worker w[MAX_THREADS];
  l->init();
  __atomic_store_n(&go, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < threads; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].l = l;
    w[i].timed = timed;
    start(&w[i].thread, worker_main, &w[i]);
  }
  uint64_t t0 = now_ns();
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  sleep_ms(ms);
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  contended_result r = {0, 0, UINT64_MAX};
  uint64_t total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(w[i].thread, NULL);
    total += w[i].count;
    if ((double)w[i].worst_ns / 1e3 > r.worst_us) r.worst_us = (double)w[i].worst_ns / 1e3;
    if (w[i].count < r.fewest) r.fewest = w[i].count;
  }
  uint64_t elapsed = now_ns() - t0; /* includes the joins: every thread stopped */
  r.mops = (double)total / ((double)elapsed / 1e9) / 1e6;
  return r;
}

/* ---- wait/wake ping-pong ------------------------------------------------------------------ */

typedef struct pingpong {
  uint32_t flag; /* 0: ping's turn, 1: pong's turn */
  bool raw;
  unsigned n;
  int cpu; /* both threads pinned to it; -1: free */
  double ns;
} pingpong;

/* Waits until flag == want, then passes the turn. */
static void take_turn(pingpong *p, uint32_t want) {
  uint32_t v;
  while ((v = __atomic_load_n(&p->flag, __ATOMIC_ACQUIRE)) != want) {
    if (p->raw) {
      raw_wait(&p->flag, v);
    } else {
      tpark_wait_on_address(&p->flag, &v, sizeof v, TPARK_NEVER);
    }
  }
  __atomic_store_n(&p->flag, want ^ 1u, __ATOMIC_RELEASE);
  if (p->raw) {
    raw_wake(&p->flag);
  } else {
    tpark_wake_by_address_single(&p->flag);
  }
}

static void *pong_thread(void *arg) {
  pingpong *p = arg;
  if (p->cpu >= 0) pin_self(p->cpu);
  for (unsigned i = 0; i < p->n; i++) take_turn(p, 1);
  return NULL;
}

static void *ping_thread(void *arg) {
  pingpong *p = arg;
  if (p->cpu >= 0) pin_self(p->cpu);
  uint64_t t0 = now_ns();
  for (unsigned i = 0; i < p->n; i++) take_turn(p, 0);
  p->ns = (double)(now_ns() - t0) / p->n;
  return NULL;
}

static double round_trip_ns(bool raw, unsigned n, int cpu) {
  pingpong p = {0, raw, n, cpu, 0};
  pthread_t ping, pong;
  start(&pong, pong_thread, &p);
  start(&ping, ping_thread, &p);
  pthread_join(ping, NULL);
  pthread_join(pong, NULL);
  return p.ns;
}

/* ---- the section's steps -------------------------------------------------------------------- */

static bool locks_prepare(const bench_options *o) {
  (void)o;
  const tpark_backend *b = tpark_default_backend();
  if (b == NULL) {
    fprintf(stderr, "parkbench: locks: no default backend (see the message above)\n");
    return false;
  }
  tpark_parker probe;
  if (tpark_init(&probe) != TPARK_OK) return false;
  res.backend = tpark_backend_name(&probe);
  res.raw_wait = raw_wait_name();
  locks[0][1].name = system_lock_name;
  locks[1][1].name = system_recursive_name;
  return true;
}

/* Guesses for an idle machine (the progress line scales them). */
static double uncontended_s(const bench_options *o) { return 2.0 * N_PAIRS * o->lock_ops * 25e-9; }
static double contended_s(const bench_options *o) {
  return N_COUNTS * 2 * (1.5 + N_PAIRS - 1) * o->lock_ms / 1e3;
}
static double trips_s(const bench_options *o) { return 2 * 2 * o->lock_trips * 15e-6; }

static double locks_estimate_s(const bench_options *o) {
  return o->lock_rounds * (uncontended_s(o) + contended_s(o) + trips_s(o));
}

static void locks_run(const bench_options *o) {
  unsigned n = res.n = o->lock_rounds;
  for (int v = 0; v < 2; v++) {
    for (int p = 0; p < N_PAIRS; p++) {
      res.uncontended[p][v] = xcalloc(n, sizeof(double));
      for (int k = 0; k < N_COUNTS; k++) res.mops[p][k][v] = xcalloc(n, sizeof(double));
    }
    for (int k = 0; k < N_COUNTS; k++) {
      res.worst_us[k][v] = 0;
      res.fewest[k][v] = UINT64_MAX;
    }
    for (int pl = 0; pl < 2; pl++) res.trip_ns[pl][v] = xcalloc(n, sizeof(double));
  }
  for (unsigned r = 0; r < n; r++) {
    progress_phase(uncontended_s(o), "locks: round %u of %u, uncontended", r + 1, n);
    uncontended u = {o, r};
    pthread_t t;
    start(&t, uncontended_thread, &u);
    pthread_join(t, NULL);
    progress_phase(contended_s(o), "locks: round %u of %u, 2 to %d threads", r + 1, n,
                   thread_counts[N_COUNTS - 1]);
    for (int k = 0; k < N_COUNTS; k++) {
      for (int j = 0; j < 2; j++) {
        int v = (int)(r + (unsigned)k + (unsigned)j) % 2;
        for (int p = 0; p < N_PAIRS; p++) {
          res.mops[p][k][v][r] = contended(&locks[p][v], thread_counts[k], o->lock_ms, false).mops;
        }
        contended_result timed = contended(&locks[0][v], thread_counts[k], o->lock_ms / 2, true);
        if (timed.worst_us > res.worst_us[k][v]) res.worst_us[k][v] = timed.worst_us;
        if (timed.fewest < res.fewest[k][v]) res.fewest[k][v] = timed.fewest;
      }
      progress_step((unsigned)k + 1, N_COUNTS);
    }
    progress_phase(trips_s(o), "locks: round %u of %u, wait/wake", r + 1, n);
    for (int pl = 0; pl < 2; pl++) {
      for (int j = 0; j < 2; j++) {
        int v = (int)(r + (unsigned)j) % 2; /* 0: tpark, 1: raw */
        if (v == 1 && res.raw_wait == NULL) {
          res.trip_ns[pl][v][r] = NAN;
        } else {
          res.trip_ns[pl][v][r] = round_trip_ns(v == 1, o->lock_trips, pl ? o->cpu : -1);
        }
      }
    }
  }
}

/* ---- output ------------------------------------------------------------------------------ */

/* a[i] / b[i] for each round (malloc'd). */
static double *ratios(const double *a, const double *b, unsigned n) {
  double *q = xcalloc(n, sizeof(double));
  for (unsigned i = 0; i < n; i++) q[i] = a[i] / b[i];
  return q;
}

/* "median (q1-q3)" of a ratio. */
static const char *fmt_ratio(char *buf, size_t cap, const double *a, const double *b, unsigned n) {
  double *q = ratios(a, b, n);
  summary s = summarize(q, n);
  free(q);
  if (isfinite(s.median)) {
    snprintf(buf, cap, "%.2f (%.2f-%.2f)", s.median, s.q1, s.q3);
  } else {
    snprintf(buf, cap, "-");
  }
  return buf;
}

static void locks_table(const bench_options *o) {
  char q[48];
  unsigned n = res.n;
  printf("== locks: tpark_mutex, tpark_recursive_mutex and tpark_wait_on_address (default\n");
  printf(
      "   backend %s; %u rounds, medians over the rounds; ratio: the median (middle half) of the\n"
      "   per-round ratios) ==\n",
      res.backend, n);
  printf("%-30s %-12s %-24s %s\n", "uncontended, ns", "tpark", "system", "ratio tpark/system");
  for (int p = 0; p < N_PAIRS; p++) {
    char label[64];
    snprintf(label, sizeof label, "  %s", locks[p][0].name);
    printf("%-30s %-12.1f %-24s %s\n", label, summarize(res.uncontended[p][0], n).median,
           locks[p][1].name,
           fmt_ratio(q, sizeof q, res.uncontended[p][0], res.uncontended[p][1], n));
    printf("%-30s %-12s %-24.1f\n", "", "", summarize(res.uncontended[p][1], n).median);
  }
  printf("  (lock+unlock, pinned to one CPU; the recursive locks not re-entered)\n");
  printf(
      "throughput, M acquisitions/s (lock, %d-step critical section, unlock, %d steps outside,\n",
      CS_STEPS, OUTSIDE_STEPS);
  printf(
      "%u ms a run); worst wait for the lock (max over rounds), fewest acquisitions by a thread:\n",
      o->lock_ms);
  printf("%-10s %-12s %-16s %-18s %-22s %s\n", "  threads", locks[0][0].name, locks[0][1].name,
         "ratio tpark/system", "worst wait tpark", "worst wait system");
  for (int k = 0; k < N_COUNTS; k++) {
    char label[16], wt[40], ws[40];
    snprintf(label, sizeof label, "  T=%d", thread_counts[k]);
    snprintf(wt, sizeof wt, "%.0f us (min %" PRIu64 ")", res.worst_us[k][0], res.fewest[k][0]);
    snprintf(ws, sizeof ws, "%.0f us (min %" PRIu64 ")", res.worst_us[k][1], res.fewest[k][1]);
    printf("%-10s %-12.1f %-16.1f %-18s %-22s %s\n", label, summarize(res.mops[0][k][0], n).median,
           summarize(res.mops[0][k][1], n).median,
           fmt_ratio(q, sizeof q, res.mops[0][k][0], res.mops[0][k][1], n), wt, ws);
  }
  printf("%-10s %-22s %-24s %s\n", "  threads", locks[1][0].name, locks[1][1].name,
         "ratio tpark/system");
  for (int k = 0; k < N_COUNTS; k++) {
    char label[16];
    snprintf(label, sizeof label, "  T=%d", thread_counts[k]);
    printf("%-10s %-22.1f %-24.1f %s\n", label, summarize(res.mops[1][k][0], n).median,
           summarize(res.mops[1][k][1], n).median,
           fmt_ratio(q, sizeof q, res.mops[1][k][0], res.mops[1][k][1], n));
  }
  printf("wait/wake round trip through a 4-byte flag, ns:\n");
  printf("%-26s %-22s %-14s %s\n", "", "tpark_wait_on_address", res.raw_wait ? res.raw_wait : "raw",
         "ratio tpark/raw");
  for (int pl = 0; pl < 2; pl++) {
    char label[40];
    if (pl == 0) {
      snprintf(label, sizeof label, "  threads free");
    } else {
      snprintf(label, sizeof label, "  both pinned to CPU %d", o->cpu);
    }
    if (res.raw_wait != NULL) {
      printf("%-26s %-22.0f %-14.0f %s\n", label, summarize(res.trip_ns[pl][0], n).median,
             summarize(res.trip_ns[pl][1], n).median,
             fmt_ratio(q, sizeof q, res.trip_ns[pl][0], res.trip_ns[pl][1], n));
    } else {
      printf("%-26s %-22.0f %-14s %s\n", label, summarize(res.trip_ns[pl][0], n).median, "-",
             "- (no raw address wait here)");
    }
  }
}

/* {"tpark": summary, "<other>": summary, "ratio": summary, "samples": {...}} */
static void json_pair(const char *other, const double *a, const double *b, unsigned n,
                      int decimals) {
  double *q = ratios(a, b, n);
  printf("{\"tpark\": ");
  json_summary(summarize(a, n), decimals);
  printf(", \"%s\": ", other);
  json_summary(summarize(b, n), decimals);
  printf(", \"ratio\": ");
  json_summary(summarize(q, n), 4);
  printf(",\n      \"samples\": {\"tpark\": ");
  json_doubles(a, n, decimals);
  printf(", \"%s\": ", other);
  json_doubles(b, n, decimals);
  printf("}}");
  free(q);
}

static void locks_json(const bench_options *o) {
  unsigned n = res.n;
  json_member("locks");
  printf("{\"default_backend\": ");
  json_str(res.backend);
  printf(", \"rounds\": %u, \"ms\": %u, \"system_lock\": ", n, o->lock_ms);
  json_str(system_lock_name);
  printf(", \"raw_wait\": ");
  json_str(res.raw_wait);
  printf(",\n    \"uncontended_ns\": ");
  json_pair("system", res.uncontended[0][0], res.uncontended[0][1], n, 2);
  printf(",\n    \"throughput_mops\": [");
  for (int k = 0; k < N_COUNTS; k++) {
    printf("%s\n     {\"threads\": %d, \"mops\": ", k ? "," : "", thread_counts[k]);
    json_pair("system", res.mops[0][k][0], res.mops[0][k][1], n, 3);
    printf(",\n      \"worst_wait_us\": {\"tpark\": ");
    json_num(res.worst_us[k][0], 1);
    printf(", \"system\": ");
    json_num(res.worst_us[k][1], 1);
    printf("}, \"fewest_acquisitions\": {\"tpark\": %" PRIu64 ", \"system\": %" PRIu64 "}}",
           res.fewest[k][0], res.fewest[k][1]);
  }
  printf("],\n    \"recursive\": {\"system_lock\": ");
  json_str(system_recursive_name);
  printf(",\n     \"uncontended_ns\": ");
  json_pair("system", res.uncontended[1][0], res.uncontended[1][1], n, 2);
  printf(",\n     \"throughput_mops\": [");
  for (int k = 0; k < N_COUNTS; k++) {
    printf("%s\n     {\"threads\": %d, \"mops\": ", k ? "," : "", thread_counts[k]);
    json_pair("system", res.mops[1][k][0], res.mops[1][k][1], n, 3);
    printf("}");
  }
  printf("]}");
  printf(",\n    \"wait_wake_ns\": {");
  for (int pl = 0; pl < 2; pl++) {
    printf("%s\n     \"%s\": ", pl ? "," : "", placement_name[pl]);
    json_pair("raw", res.trip_ns[pl][0], res.trip_ns[pl][1], n, 1);
  }
  printf("}}");
}

/* Variants by name (tpark_mutex, pthread_mutex_t, ...): the charts' legends. */
static void locks_csv(const bench_options *o) {
  (void)o;
  const char *const wait_variant_name[2] = {"tpark_wait_on_address", res.raw_wait};
  unsigned n = res.n;
  for (int p = 0; p < N_PAIRS; p++) {
    for (int v = 0; v < 2; v++) {
      for (unsigned r = 0; r < n; r++) {
        csv_row("locks", pair_subject[p], "lock_unlock", "uncontended", locks[p][v].name, r,
                res.uncontended[p][v][r], "ns");
      }
    }
  }
  for (int k = 0; k < N_COUNTS; k++) {
    char cond[16];
    snprintf(cond, sizeof cond, "T=%d", thread_counts[k]);
    for (int p = 0; p < N_PAIRS; p++) {
      for (int v = 0; v < 2; v++) {
        for (unsigned r = 0; r < n; r++) {
          csv_row("locks", pair_subject[p], "throughput", cond, locks[p][v].name, r,
                  res.mops[p][k][v][r], "Mops");
        }
      }
    }
    for (int v = 0; v < 2; v++) {
      csv_row("locks", "mutex", "worst_wait", cond, locks[0][v].name, 0, res.worst_us[k][v], "us");
      csv_row("locks", "mutex", "fewest_acquisitions", cond, locks[0][v].name, 0,
              (double)res.fewest[k][v], "count");
    }
  }
  for (int pl = 0; pl < 2; pl++) {
    for (int v = 0; v < 2; v++) {
      if (v == 1 && res.raw_wait == NULL) continue;
      for (unsigned r = 0; r < n; r++) {
        csv_row("locks", "wait", "round_trip", placement_name[pl], wait_variant_name[v], r,
                res.trip_ns[pl][v][r], "ns");
      }
    }
  }
}

const bench_section locks_section = {
    .name = "locks",
    .prepare = locks_prepare,
    .estimate_s = locks_estimate_s,
    .run = locks_run,
    .table = locks_table,
    .json = locks_json,
    .csv = locks_csv,
};
