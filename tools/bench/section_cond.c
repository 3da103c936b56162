/* parkbench's "cond" section: tpark_cond with tpark_mutex against the
 * system's condition variable with its mutex (sync_raw.h: pthread_cond_t +
 * pthread_mutex_t, CONDITION_VARIABLE + SRWLOCK), on the process default
 * backend. Each round runs every case with both variants, in an order that
 * alternates (A B, then B A); the comparison is the ratio per round,
 * summarised over the rounds (stats.h), as in the locks section. Every
 * notify is made with the mutex held.
 *
 *   ping-pong   two threads hand a turn back and forth through one cond;
 *               ns per round trip (2 waits, 2 notify_one)
 *   queue       1 producer, C = 1, 2, 4, 8 consumers, a ring of 64 slots, a
 *               mutex and two conds (not_empty, not_full), notify_one after
 *               every push and pop, for lock_ms; items per second
 *   broadcast   W = 4, 16, 64 threads wait; notify_all; the time until the
 *               last of them holds the mutex, median over the generations
 *               of lock_ms; us */
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
#include "tpark/cond.h"
#include "tpark/mutex.h"

/* ---- the two variants: [0] tpark, [1] the system's ------------------------------ */

typedef struct cond_variant {
  void *(*mutex_new)(void);
  void (*mutex_free)(void *m);
  void (*lock)(void *m);
  void (*unlock)(void *m);
  void *(*cond_new)(void);
  void (*cond_free)(void *c);
  void (*wait)(void *c, void *m);
  void (*notify_one)(void *c);
  void (*notify_all)(void *c);
} cond_variant;

static void *tm_new(void) { return aligned_zalloc(64, 64); } /* zero: TPARK_MUTEX_INIT */
static void tm_lock(void *m) { tpark_mutex_lock(m); }
static void tm_unlock(void *m) { tpark_mutex_unlock(m); }
static void *tc_new(void) { return aligned_zalloc(64, 64); } /* zero: TPARK_COND_INIT */
static void tc_wait(void *c, void *m) { tpark_cond_wait(c, m); }
static void tc_notify_one(void *c) { tpark_cond_notify_one(c); }
static void tc_notify_all(void *c) { tpark_cond_notify_all(c); }

static void *sm_new(void) { return sys_mutex_new(); }
static void sm_free(void *m) { sys_mutex_free(m); }
static void sm_lock(void *m) { sys_mutex_lock(m); }
static void sm_unlock(void *m) { sys_mutex_unlock(m); }
static void *sc_new(void) { return sys_cond_new(); }
static void sc_free(void *c) { sys_cond_free(c); }
static void sc_wait(void *c, void *m) { sys_cond_wait(c, m); }
static void sc_notify_one(void *c) { sys_cond_signal(c); }
static void sc_notify_all(void *c) { sys_cond_broadcast(c); }

static const cond_variant variants[2] = {
    {tm_new, aligned_free, tm_lock, tm_unlock, tc_new, aligned_free, tc_wait, tc_notify_one,
     tc_notify_all},
    {sm_new, sm_free, sm_lock, sm_unlock, sc_new, sc_free, sc_wait, sc_notify_one, sc_notify_all},
};
static const char *const variant_name[2] = {"tpark", "system"};

#define N_QUEUE 4
static const int consumer_counts[N_QUEUE] = {1, 2, 4, 8};
#define N_BCAST 3
static const int waiter_counts[N_BCAST] = {4, 16, 64};
#define MAX_THREADS 65

/* ---- the results ------------------------------------------------------------------ */

static struct {
  const char *backend;
  unsigned n;                /* rounds */
  double *trip_ns[2];        /* per round */
  double *items[N_QUEUE][2]; /* items/s, per round */
  double *bcast_us[N_BCAST][2];
} res;

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  int err = pthread_create(t, NULL, fn, arg);
  if (err != 0) die("pthread_create failed: %d", err);
}

static int go; /* atomic: the threads of a run start together */

static void wait_for_go(void) {
  while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) yield_cpu();
}

/* ---- ping-pong ---------------------------------------------------------------------- */

typedef struct pingpong {
  const cond_variant *v;
  void *m, *c;
  int turn, done;   /* guarded by m */
  unsigned trips;   /* round trips to time */
  uint64_t elapsed; /* thread 0: ns for them */
} pingpong;

static void pingpong_turns(pingpong *p, int me) {
  unsigned n = 0;
  uint64_t t0 = 0;
  p->v->lock(p->m);
  for (;;) {
    while (p->turn != me && !p->done) p->v->wait(p->c, p->m);
    if (p->done) break;
    if (me == 0) {
      if (n == 0) t0 = now_ns();
      if (n == p->trips) {
        p->elapsed = now_ns() - t0;
        p->done = 1;
        p->v->notify_one(p->c);
        break;
      }
      n++;
    }
    p->turn = 1 - me;
    p->v->notify_one(p->c);
  }
  p->v->unlock(p->m);
}

static void *pong_main(void *arg) {
  wait_for_go();
  pingpong_turns(arg, 1);
  return NULL;
}

static double pingpong_ns(const cond_variant *v, unsigned trips) {
  pingpong p = {v, v->mutex_new(), v->cond_new(), 0, 0, trips, 0};
  pthread_t pong;
  __atomic_store_n(&go, 0, __ATOMIC_RELAXED);
  start(&pong, pong_main, &p);
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  pingpong_turns(&p, 0);
  pthread_join(pong, NULL);
  v->cond_free(p.c);
  v->mutex_free(p.m);
  return (double)p.elapsed / trips;
}

/* ---- the bounded queue --------------------------------------------------------------- */

#define SLOTS 64

static struct {
  const cond_variant *v;
  void *m, *not_empty, *not_full;
  unsigned head, count; /* guarded by m */
  uint64_t ring[SLOTS]; /* guarded by m */
  int stop;             /* atomic */
  int consumers;
  uint64_t produced;
} qr;

typedef struct consumer {
  pthread_t thread;
  uint64_t n, sum;
  char pad[64]; /* the consumers' counters on lines of their own */
} consumer;

static void push(uint64_t v) {
  qr.v->lock(qr.m);
  while (qr.count == SLOTS) qr.v->wait(qr.not_full, qr.m);
  qr.ring[(qr.head + qr.count++) % SLOTS] = v;
  qr.v->notify_one(qr.not_empty);
  qr.v->unlock(qr.m);
}

static void *producer_main(void *arg) {
  (void)arg;
  uint64_t v = 0;
  wait_for_go();
  while (!__atomic_load_n(&qr.stop, __ATOMIC_RELAXED)) push(++v);
  for (int i = 0; i < qr.consumers; i++) push(0); /* one end mark each */
  qr.produced = v;
  return NULL;
}

static void *consumer_main(void *arg) {
  consumer *c = arg;
  uint64_t n = 0, sum = 0;
  wait_for_go();
  for (;;) {
    qr.v->lock(qr.m);
    while (qr.count == 0) qr.v->wait(qr.not_empty, qr.m);
    uint64_t v = qr.ring[qr.head];
    qr.head = (qr.head + 1) % SLOTS;
    qr.count--;
    qr.v->notify_one(qr.not_full);
    qr.v->unlock(qr.m);
    if (v == 0) break;
    n++;
    sum += v;
  }
  c->n = n;
  c->sum = sum;
  return NULL;
}

static double queue_items_per_s(const cond_variant *v, int consumers, unsigned ms) {
  static consumer c[MAX_THREADS];
  qr.v = v;
  qr.m = v->mutex_new();
  qr.not_empty = v->cond_new();
  qr.not_full = v->cond_new();
  qr.head = qr.count = 0;
  qr.consumers = consumers;
  __atomic_store_n(&qr.stop, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&go, 0, __ATOMIC_RELAXED);
  pthread_t producer;
  start(&producer, producer_main, NULL);
  for (int i = 0; i < consumers; i++) {
    memset(&c[i], 0, sizeof c[i]);
    start(&c[i].thread, consumer_main, &c[i]);
  }
  uint64_t t0 = now_ns();
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  sleep_ms(ms);
  __atomic_store_n(&qr.stop, 1, __ATOMIC_RELAXED);
  pthread_join(producer, NULL);
  uint64_t n = 0, sum = 0;
  for (int i = 0; i < consumers; i++) {
    pthread_join(c[i].thread, NULL);
    n += c[i].n;
    sum += c[i].sum;
  }
  uint64_t elapsed = now_ns() - t0;
  /* 1 + ... + P, mod 2^64: each item taken once. */
  uint64_t p = qr.produced, want = p % 2 ? (p + 1) / 2 * p : p / 2 * (p + 1);
  if (n != p || sum != want || qr.count != 0) die("cond: the queue lost or repeated an item");
  v->cond_free(qr.not_full);
  v->cond_free(qr.not_empty);
  v->mutex_free(qr.m);
  return (double)p / ((double)elapsed / 1e9);
}

/* ---- broadcast -------------------------------------------------------------------------- */

#define BCAST_WARM 2 /* generations not recorded */
#define BCAST_MAX 100000

static struct {
  const cond_variant *v;
  void *m, *cv, *main_cv;
  uint64_t gen, t_last; /* guarded by m */
  int waiting, woken;   /* guarded by m */
  int stop, w;          /* stop: guarded by m */
} br;
static double bcast_lat[BCAST_MAX];

static void *bcast_waiter(void *arg) {
  (void)arg;
  wait_for_go();
  br.v->lock(br.m);
  for (;;) {
    uint64_t g = br.gen;
    if (++br.waiting == br.w) br.v->notify_one(br.main_cv);
    while (br.gen == g) br.v->wait(br.cv, br.m);
    uint64_t t = now_ns();
    if (++br.woken == br.w) br.t_last = t;
    if (br.stop) break;
  }
  br.v->unlock(br.m);
  return NULL;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, c = *(const double *)y;
  return (a > c) - (a < c);
}

/* The median, over the generations of ms, of the time from notify_all until
 * the last of w waiters holds the mutex; in us. */
static double bcast_us(const cond_variant *v, int w, unsigned ms) {
  static pthread_t t[MAX_THREADS];
  br.v = v;
  br.m = v->mutex_new();
  br.cv = v->cond_new();
  br.main_cv = v->cond_new();
  br.gen = br.t_last = 0;
  br.waiting = br.woken = br.stop = 0;
  br.w = w;
  __atomic_store_n(&go, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < w; i++) start(&t[i], bcast_waiter, NULL);
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  uint64_t begin = now_ns(), t0 = 0;
  size_t n = 0;
  v->lock(br.m);
  for (uint64_t gen = 0;; gen++) {
    while (br.waiting < w) v->wait(br.main_cv, br.m);
    if (br.woken != (gen ? w : 0)) die("cond: a broadcast did not wake each waiter once");
    if (gen > BCAST_WARM) bcast_lat[n++] = (double)(br.t_last - t0) / 1e3;
    bool last = (now_ns() - begin >= (uint64_t)ms * 1000000 && n > 0) || n == BCAST_MAX;
    br.waiting = br.woken = 0;
    br.stop = last;
    br.gen++;
    t0 = now_ns();
    v->notify_all(br.cv);
    if (last) break;
  }
  v->unlock(br.m);
  for (int i = 0; i < w; i++) pthread_join(t[i], NULL);
  v->cond_free(br.main_cv);
  v->cond_free(br.cv);
  v->mutex_free(br.m);
  qsort(bcast_lat, n, sizeof bcast_lat[0], cmp_double);
  return n % 2 ? bcast_lat[n / 2] : (bcast_lat[n / 2 - 1] + bcast_lat[n / 2]) / 2;
}

/* ---- the section's steps -------------------------------------------------------------- */

static bool cond_prepare(const bench_options *o) {
  (void)o;
  tpark_parker probe;
  if (tpark_default_backend() == NULL || tpark_init(&probe) != TPARK_OK) {
    fprintf(stderr, "parkbench: cond: no default backend (see the message above)\n");
    return false;
  }
  res.backend = tpark_backend_name(&probe);
  return true;
}

/* Guesses for an idle machine (the progress line scales them). */
static double trips_s(const bench_options *o) { return 2 * o->lock_trips * 12e-6; }
static double queue_s(const bench_options *o) { return N_QUEUE * 2 * o->lock_ms / 1e3; }
static double bcast_s(const bench_options *o) { return N_BCAST * 2 * (o->lock_ms / 1e3 + 0.01); }

static double cond_estimate_s(const bench_options *o) {
  return o->lock_rounds * (trips_s(o) + queue_s(o) + bcast_s(o));
}

static void cond_run(const bench_options *o) {
  unsigned n = res.n = o->lock_rounds;
  for (int v = 0; v < 2; v++) {
    res.trip_ns[v] = xcalloc(n, sizeof(double));
    for (int k = 0; k < N_QUEUE; k++) res.items[k][v] = xcalloc(n, sizeof(double));
    for (int k = 0; k < N_BCAST; k++) res.bcast_us[k][v] = xcalloc(n, sizeof(double));
  }
  for (unsigned r = 0; r < n; r++) {
    progress_phase(trips_s(o), "cond: round %u of %u, ping-pong", r + 1, n);
    for (int j = 0; j < 2; j++) {
      int v = (int)(r + (unsigned)j) % 2; /* A B, then B A */
      res.trip_ns[v][r] = pingpong_ns(&variants[v], o->lock_trips);
    }
    progress_phase(queue_s(o), "cond: round %u of %u, bounded queue", r + 1, n);
    for (int k = 0; k < N_QUEUE; k++) {
      for (int j = 0; j < 2; j++) {
        int v = (int)(r + (unsigned)k + (unsigned)j) % 2;
        res.items[k][v][r] = queue_items_per_s(&variants[v], consumer_counts[k], o->lock_ms);
      }
      progress_step((unsigned)k + 1, N_QUEUE);
    }
    progress_phase(bcast_s(o), "cond: round %u of %u, broadcast", r + 1, n);
    for (int k = 0; k < N_BCAST; k++) {
      for (int j = 0; j < 2; j++) {
        int v = (int)(r + (unsigned)k + (unsigned)j) % 2;
        res.bcast_us[k][v][r] = bcast_us(&variants[v], waiter_counts[k], o->lock_ms);
      }
      progress_step((unsigned)k + 1, N_BCAST);
    }
  }
}

/* ---- output ------------------------------------------------------------------------------ */

/* "median (q1-q3)" of the per-round ratios a[i] / b[i]. */
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

static void table_row(const char *label, const double *t, const double *s, unsigned n, double scale,
                      int decimals) {
  char q[48];
  printf("%-16s %-12.*f %-20.*f %s\n", label, decimals, summarize(t, n).median / scale, decimals,
         summarize(s, n).median / scale, ratio_text(q, sizeof q, t, s, n));
}

static void cond_table(const bench_options *o) {
  unsigned n = res.n;
  printf("== cond: tpark_cond + tpark_mutex against %s (default backend %s; %u rounds,\n",
         system_cond_name, res.backend, n);
  printf("   medians over the rounds; ratio: the median (middle half) of the per-round ratios;\n");
  printf("   every notify with the mutex held) ==\n");
  printf("%-16s %-12s %-20s %s\n", "ping-pong, ns", "tpark", system_cond_name,
         "ratio tpark/system (lower is better)");
  table_row("  round trip", res.trip_ns[0], res.trip_ns[1], n, 1, 0);
  printf("%-16s %-12s %-20s %s\n", "queue, M items/s", "tpark", system_cond_name,
         "ratio tpark/system (higher is better)");
  for (int k = 0; k < N_QUEUE; k++) {
    char label[32];
    snprintf(label, sizeof label, "  1 + %d, %u ms", consumer_counts[k], o->lock_ms);
    table_row(label, res.items[k][0], res.items[k][1], n, 1e6, 3);
  }
  printf("%-16s %-12s %-20s %s\n", "broadcast, us", "tpark", system_cond_name,
         "ratio tpark/system (lower is better)");
  for (int k = 0; k < N_BCAST; k++) {
    char label[32];
    snprintf(label, sizeof label, "  W=%d", waiter_counts[k]);
    table_row(label, res.bcast_us[k][0], res.bcast_us[k][1], n, 1, 1);
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

static void cond_json(const bench_options *o) {
  unsigned n = res.n;
  json_member("cond");
  printf("{\"default_backend\": ");
  json_str(res.backend);
  printf(", \"rounds\": %u, \"ms\": %u, \"trips\": %u, \"system\": ", n, o->lock_ms, o->lock_trips);
  json_str(system_cond_name);
  printf(",\n    \"pingpong_ns\": ");
  json_compare(res.trip_ns[0], res.trip_ns[1], n, 1);
  printf(",\n    \"queue_items_per_s\": [");
  for (int k = 0; k < N_QUEUE; k++) {
    printf("%s\n     {\"consumers\": %d, \"rate\": ", k ? "," : "", consumer_counts[k]);
    json_compare(res.items[k][0], res.items[k][1], n, 0);
    printf("}");
  }
  printf("],\n    \"broadcast_us\": [");
  for (int k = 0; k < N_BCAST; k++) {
    printf("%s\n     {\"waiters\": %d, \"median\": ", k ? "," : "", waiter_counts[k]);
    json_compare(res.bcast_us[k][0], res.bcast_us[k][1], n, 2);
    printf("}");
  }
  printf("]}");
}

static void cond_csv(const bench_options *o) {
  (void)o;
  unsigned n = res.n;
  for (int v = 0; v < 2; v++) {
    for (unsigned r = 0; r < n; r++) {
      csv_row("cond", "cond", "pingpong", "round_trip", variant_name[v], r, res.trip_ns[v][r],
              "ns");
    }
  }
  for (int k = 0; k < N_QUEUE; k++) {
    char cond[16];
    snprintf(cond, sizeof cond, "C=%d", consumer_counts[k]);
    for (int v = 0; v < 2; v++) {
      for (unsigned r = 0; r < n; r++) {
        csv_row("cond", "cond", "queue", cond, variant_name[v], r, res.items[k][v][r], "items/s");
      }
    }
  }
  for (int k = 0; k < N_BCAST; k++) {
    char cond[16];
    snprintf(cond, sizeof cond, "W=%d", waiter_counts[k]);
    for (int v = 0; v < 2; v++) {
      for (unsigned r = 0; r < n; r++) {
        csv_row("cond", "cond", "broadcast", cond, variant_name[v], r, res.bcast_us[k][v][r], "us");
      }
    }
  }
}

const bench_section cond_section = {
    .name = "cond",
    .prepare = cond_prepare,
    .estimate_s = cond_estimate_s,
    .run = cond_run,
    .table = cond_table,
    .json = cond_json,
    .csv = cond_csv,
};
