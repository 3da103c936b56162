/* parkbench's "once" section: tpark_once against the system's once
 * (sync_raw.h: pthread_once, InitOnceExecuteOnce), on the process default
 * backend. Each round measures both, in an order that alternates; the
 * comparison is the ratio per round, as in the locks section.
 *
 *   done path   ns per call on a once that is done, one thread pinned to one
 *               CPU (its CPU time where the OS keeps one)
 *   herd        T = 4, 16, 64 threads call a fresh once together; the run
 *               waits until all have called, lets them block for 1 ms, and
 *               returns: the time from the run's end until the last caller
 *               has returned (the waiters' wake-up), in us, the median of
 *               the runs of a round */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/output.h"
#include "tools/bench/section.h"
#include "tools/bench/stats.h"
#include "tools/bench/sync_raw.h"
#include "tools/bench/sys.h"
#include "tpark/once.h"
#include "tpark/tpark.h"

#define N_HERDS 3
static const int herd_sizes[N_HERDS] = {4, 16, 64};
#define MAX_THREADS 64
static const char *const variant_name[2] = {"tpark", "system"};

static struct {
  const char *backend;
  unsigned n; /* rounds */
  unsigned herd_runs;
  double *done_ns[2];
  double *herd_us[N_HERDS][2];
} res;

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  int err = pthread_create(t, NULL, fn, arg);
  if (err != 0) die("pthread_create failed: %d", err);
}

/* ---- the done path -------------------------------------------------------------------- */

static void nothing(void *arg) { (void)arg; }
static void nothing_sys(void) {}

typedef struct done_path {
  const bench_options *o;
  unsigned round;
} done_path;

/* One round, in a thread of its own pinned to the CPU of the pinned runs. */
static void *done_path_thread(void *arg) {
  const done_path *d = arg;
  unsigned n = d->o->lock_ops;
  pin_self(d->o->cpu);
  tpark_once once = TPARK_ONCE_INIT;
  tpark_once_call(&once, nothing, NULL);
  sys_once *so = sys_once_new();
  sys_once_call(so, nothing_sys);
  for (int j = 0; j < 2; j++) {
    int v = (int)(d->round + (unsigned)j) % 2; /* A B, then B A */
    uint64_t t0 = thread_cpu_ns();
    if (v == 0) {
      for (unsigned i = 0; i < n; i++) tpark_once_call(&once, nothing, NULL);
    } else {
      sys_once_repeat(so, nothing_sys, n);
    }
    res.done_ns[v][d->round] = (double)(thread_cpu_ns() - t0) / n;
  }
  sys_once_free(so);
  return NULL;
}

/* ---- the herd ------------------------------------------------------------------------------ */

static struct {
  int threads;
  int arrived; /* atomic: callers about to call */
  int go;      /* atomic */
  uint64_t run_end;
  tpark_once once;
  sys_once *sys;
  bool use_sys;
  uint64_t returned[MAX_THREADS];
  int runs; /* atomic */
} h;

/* The run: waits until every caller has called, lets them block, ends. */
static void herd_run(void) {
  __atomic_add_fetch(&h.runs, 1, __ATOMIC_RELAXED);
  while (__atomic_load_n(&h.arrived, __ATOMIC_ACQUIRE) < h.threads) yield_cpu();
  sleep_ms(1);
  h.run_end = now_ns();
}
static void herd_run_tpark(void *arg) {
  (void)arg;
  herd_run();
}

static void *herd_caller(void *arg) {
  int i = (int)(intptr_t)arg;
  while (!__atomic_load_n(&h.go, __ATOMIC_ACQUIRE)) yield_cpu();
  __atomic_add_fetch(&h.arrived, 1, __ATOMIC_RELEASE);
  if (h.use_sys) {
    sys_once_call(h.sys, herd_run);
  } else {
    tpark_once_call(&h.once, herd_run_tpark, NULL);
  }
  h.returned[i] = now_ns();
  return NULL;
}

/* One herd of `threads`: us from the run's end until the last returned. */
static double herd_once_us(bool use_sys, int threads) {
  static pthread_t t[MAX_THREADS];
  h.threads = threads;
  h.use_sys = use_sys;
  h.once = (tpark_once)TPARK_ONCE_INIT;
  h.sys = sys_once_new();
  __atomic_store_n(&h.arrived, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&h.go, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&h.runs, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < threads; i++) start(&t[i], herd_caller, (void *)(intptr_t)i);
  __atomic_store_n(&h.go, 1, __ATOMIC_RELEASE);
  uint64_t last = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    if (h.returned[i] > last) last = h.returned[i];
  }
  if (h.runs != 1) die("once: %d runs of one once", h.runs);
  sys_once_free(h.sys);
  return (double)(last - h.run_end) / 1e3;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* ---- the section's steps -------------------------------------------------------------- */

static bool once_prepare(const bench_options *o) {
  (void)o;
  tpark_parker probe;
  if (tpark_default_backend() == NULL || tpark_init(&probe) != TPARK_OK) {
    fprintf(stderr, "parkbench: once: no default backend (see the message above)\n");
    return false;
  }
  res.backend = tpark_backend_name(&probe);
  return true;
}

static unsigned herd_runs(const bench_options *o) { return o->quick ? 3 : 9; }
static double done_s(const bench_options *o) { return 2.0 * o->lock_ops * 3e-9; }
static double herd_s(const bench_options *o) { return N_HERDS * 2 * herd_runs(o) * 4e-3; }

static double once_estimate_s(const bench_options *o) {
  return o->lock_rounds * (done_s(o) + herd_s(o));
}

static void once_run(const bench_options *o) {
  unsigned n = res.n = o->lock_rounds, runs = res.herd_runs = herd_runs(o);
  for (int v = 0; v < 2; v++) {
    res.done_ns[v] = xcalloc(n, sizeof(double));
    for (int k = 0; k < N_HERDS; k++) res.herd_us[k][v] = xcalloc(n, sizeof(double));
  }
  double *samples = xcalloc(runs, sizeof(double));
  for (unsigned r = 0; r < n; r++) {
    progress_phase(done_s(o), "once: round %u of %u, done path", r + 1, n);
    done_path d = {o, r};
    pthread_t t;
    start(&t, done_path_thread, &d);
    pthread_join(t, NULL);
    progress_phase(herd_s(o), "once: round %u of %u, herds", r + 1, n);
    for (int k = 0; k < N_HERDS; k++) {
      for (int j = 0; j < 2; j++) {
        int v = (int)(r + (unsigned)k + (unsigned)j) % 2;
        for (unsigned i = 0; i < runs; i++) samples[i] = herd_once_us(v == 1, herd_sizes[k]);
        qsort(samples, runs, sizeof samples[0], cmp_double);
        res.herd_us[k][v][r] = samples[runs / 2];
      }
      progress_step((unsigned)k + 1, N_HERDS);
    }
  }
  free(samples);
}

/* ---- output ------------------------------------------------------------------------------ */

static const char *ratio_text(char *buf, size_t cap, const double *a, const double *b, unsigned n) {
  double *q = xcalloc(n, sizeof(double));
  for (unsigned i = 0; i < n; i++) q[i] = a[i] / b[i];
  summary s = summarize(q, n);
  free(q);
  if (isfinite(s.median)) {
    snprintf(buf, cap, "%.2f (%.2f-%.2f)", s.median, s.q1, s.q3);
  } else {
    snprintf(buf, cap, "-");
  }
  return buf;
}

static void once_table(const bench_options *o) {
  (void)o;
  unsigned n = res.n;
  char q[48];
  printf("== once: tpark_once against %s (default backend %s; %u rounds, medians over\n",
         system_once_name, res.backend, n);
  printf(
      "   the rounds; ratio: the median (middle half) of the per-round ratios; lower is "
      "better) ==\n");
  printf("%-22s %-12s %-20s %s\n", "", "tpark", system_once_name, "ratio tpark/system");
  printf("%-22s %-12.2f %-20.2f %s\n", "done path, ns, pinned", summarize(res.done_ns[0], n).median,
         summarize(res.done_ns[1], n).median,
         ratio_text(q, sizeof q, res.done_ns[0], res.done_ns[1], n));
  printf("herd: us from the run's end to the last caller's return (median of %u runs a round):\n",
         res.herd_runs);
  for (int k = 0; k < N_HERDS; k++) {
    char label[32];
    snprintf(label, sizeof label, "  T=%d", herd_sizes[k]);
    printf("%-22s %-12.1f %-20.1f %s\n", label, summarize(res.herd_us[k][0], n).median,
           summarize(res.herd_us[k][1], n).median,
           ratio_text(q, sizeof q, res.herd_us[k][0], res.herd_us[k][1], n));
  }
}

/* {"tpark": summary, "system": summary, "ratio": summary, "samples": {...}} */
static void json_compare(const double *t, const double *s, unsigned n, int decimals) {
  double *q = xcalloc(n, sizeof(double));
  for (unsigned i = 0; i < n; i++) q[i] = t[i] / s[i];
  printf("{\"tpark\": ");
  json_summary(summarize(t, n), decimals);
  printf(", \"system\": ");
  json_summary(summarize(s, n), decimals);
  printf(", \"ratio\": ");
  json_summary(summarize(q, n), 4);
  printf(",\n      \"samples\": {\"tpark\": ");
  json_doubles(t, n, decimals);
  printf(", \"system\": ");
  json_doubles(s, n, decimals);
  printf("}}");
  free(q);
}

static void once_json(const bench_options *o) {
  unsigned n = res.n;
  json_member("once");
  printf("{\"default_backend\": ");
  json_str(res.backend);
  printf(", \"rounds\": %u, \"calls\": %u, \"herd_runs\": %u, \"system\": ", n, o->lock_ops,
         res.herd_runs);
  json_str(system_once_name);
  printf(",\n    \"done_ns\": ");
  json_compare(res.done_ns[0], res.done_ns[1], n, 3);
  printf(",\n    \"herd_us\": [");
  for (int k = 0; k < N_HERDS; k++) {
    printf("%s\n     {\"threads\": %d, \"last_return\": ", k ? "," : "", herd_sizes[k]);
    json_compare(res.herd_us[k][0], res.herd_us[k][1], n, 2);
    printf("}");
  }
  printf("]}");
}

static void once_csv(const bench_options *o) {
  (void)o;
  unsigned n = res.n;
  for (int v = 0; v < 2; v++) {
    for (unsigned r = 0; r < n; r++) {
      csv_row("once", "once", "done_path", "pinned", variant_name[v], r, res.done_ns[v][r], "ns");
    }
  }
  for (int k = 0; k < N_HERDS; k++) {
    char cond[16];
    snprintf(cond, sizeof cond, "T=%d", herd_sizes[k]);
    for (int v = 0; v < 2; v++) {
      for (unsigned r = 0; r < n; r++) {
        csv_row("once", "once", "herd", cond, variant_name[v], r, res.herd_us[k][v][r], "us");
      }
    }
  }
}

const bench_section once_section = {
    .name = "once",
    .prepare = once_prepare,
    .estimate_s = once_estimate_s,
    .run = once_run,
    .table = once_table,
    .json = once_json,
    .csv = once_csv,
};
