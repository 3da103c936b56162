/* parkbench: measuring each backend against its raw baseline.
 *
 * Each measurement runs twice, through tpark and as the raw baseline, the two
 * interleaved in one run (blocks A B B A A B ..., so that drift and order
 * effects fall on both) and compared as a ratio per round: this machine's
 * noise moves both alike.
 *
 *   ping-pong      round trip between two threads, each waking the other and
 *                  parking; threads free, and both pinned to one CPU (no
 *                  cross-CPU wake-up there, so the software path shows).
 *   unpark, awake  unpark_lock+unpark of a parker that is prepared but whose
 *                  owner does not sleep; and park once already unparked.
 *   timeouts       how late park_until returns after 0.1, 1 and 10 ms, and
 *                  that it never returns early; the raw primitive's own
 *                  lateness beside it (one timed wait call).
 *   footprint      heap bytes and OS handles (fds) gained over 2 x N fresh
 *                  parkers, each initialised and used for one hand-off.
 *   setup          tpark_select_backend: the first call; and the built-in's
 *                  create (then destroy) on its own, again and again: what
 *                  a fresh process pays for its OS objects.
 */
#include "tools/bench/measure.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/builtin.h" /* the built-ins' create, for the fresh-state setup cost */
#include "tools/bench/sys.h"

const uint64_t timeouts_ns[N_TIMEOUTS] = {100000, 1000000, 10000000};

#define NAME(name) #name,
const char *const builtin_names[] = {TPARK__BUILTINS(NAME)};
#undef NAME
const size_t n_builtin_names = sizeof builtin_names / sizeof builtin_names[0];

backend_result *backends;
size_t n_backends;

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg) {
  int err = pthread_create(t, NULL, fn, arg);
  if (err != 0) die("pthread_create failed: %d", err);
}

/* ---- ping-pong ----------------------------------------------------------------- */

typedef struct pingpong {
  const variant *v[2]; /* [0] tpark, [1] raw */
  slot *a[2], *b[2];   /* the pinging and the ponging thread's slots, per variant */
  unsigned blocks, iters;
  int cpu;       /* both threads pinned to it; -1: free */
  double *ns[2]; /* per recorded round: ns per round trip */
  int ready;     /* atomic: the pong thread has prepared its first slot */
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
    if (k % 2) progress_step(k / 2, pp->blocks / 2);
  }
  return NULL;
}

pingpong_result measure_pingpong(const variant *v0, const variant *v1, const tpark_backend *b,
                                 const bench_options *o, int cpu) {
  pingpong pp = {{v0, v1}, {NULL, NULL}, {NULL, NULL}, 2 * (o->rounds + 1),
                 o->iters, cpu,          {NULL, NULL}, 0};
  slot *slots = new_slots(4);
  pingpong_result r;
  memset(&r, 0, sizeof r);
  r.n = o->rounds;
  for (int v = 0; v < 2; v++) {
    pp.a[v] = &slots[2 * v];
    pp.b[v] = &slots[2 * v + 1];
    pp.v[v]->init(pp.a[v], b);
    pp.v[v]->init(pp.b[v], b);
    pp.ns[v] = r.ns[v] = xcalloc(o->rounds, sizeof(double));
  }
  pthread_t ping, pong;
  start_thread(&pong, pong_thread, &pp);
  start_thread(&ping, ping_thread, &pp);
  pthread_join(ping, NULL);
  pthread_join(pong, NULL);
  free_slots(slots);

  r.ratio = xcalloc(r.n, sizeof(double));
  for (unsigned i = 0; i < r.n; i++) r.ratio[i] = r.ns[0][i] / r.ns[1][i];
  double *both = xcalloc(2 * (size_t)r.n, sizeof(double)), *same = xcalloc(r.n, sizeof(double));
  memcpy(both, r.ns[0], r.n * sizeof(double));
  memcpy(both + r.n, r.ns[1], r.n * sizeof(double));
  modes m = find_modes(both, 2 * (size_t)r.n);
  unsigned n_same = 0;
  for (unsigned i = 0; i < r.n; i++) {
    /* The two sides split at the geometric mean of the modes. */
    double split = sqrt(m.low * m.high);
    if (!m.bimodal || (r.ns[0][i] < split) == (r.ns[1][i] < split)) same[n_same++] = r.ratio[i];
  }
  r.mixed = r.n - n_same;
  r.ratio_s = summarize(same, n_same);
  free(both);
  free(same);
  for (int v = 0; v < 2; v++) {
    r.s[v] = summarize(r.ns[v], r.n);
    r.modes[v] = find_modes(r.ns[v], r.n);
  }
  return r;
}

/* ---- per-operation costs: unpark of an awake owner, park when unparked ----------
 *
 * An owner thread prepares a batch of parkers and stays awake; a waker thread
 * unparks them all (timed); then the owner parks on each (timed: each returns
 * at once). The two threads take turns (never both running), pinned to one
 * CPU so that the parkers stay in its cache. */

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

static op_result run_ops(const target *t, const tpark_backend *b, const bench_options *o) {
  op_result res;
  memset(&res, 0, sizeof res);
  if (t->unpark_blocks) return res;
  opbench ob = {{&tpark_variant, &t->variant},
                {NULL, NULL},
                o->op_reps,
                o->cpu,
                0,
                {NULL, NULL},
                {NULL, NULL}};
  for (int v = 0; v < 2; v++) {
    ob.s[v] = new_slots(OPS_BATCH);
    for (unsigned i = 0; i < OPS_BATCH; i++) ob.v[v]->init(&ob.s[v][i], b);
    ob.unpark_ns[v] = res.unpark_ns[v] = xcalloc(o->op_reps, sizeof(double));
    ob.park_ns[v] = res.park_ns[v] = xcalloc(o->op_reps, sizeof(double));
  }
  pthread_t owner, waker;
  start_thread(&owner, op_owner_thread, &ob);
  start_thread(&waker, op_waker_thread, &ob);
  pthread_join(owner, NULL);
  pthread_join(waker, NULL);
  res.measured = true;
  res.n = o->op_reps;
  for (int v = 0; v < 2; v++) {
    res.unpark[v] = summarize(res.unpark_ns[v], res.n);
    res.park[v] = summarize(res.park_ns[v], res.n);
    free_slots(ob.s[v]);
  }
  return res;
}

/* ---- timeout lateness --------------------------------------------------------- */

static unsigned timeout_samples(const bench_options *o, uint64_t timeout_ns) {
  double n = o->timeout_budget_s * 1e9 / (double)timeout_ns;
  if (n > o->timeout_cap) n = o->timeout_cap;
  return n < 3 ? 3 : (unsigned)n;
}

static void run_timeouts(const target *t, const tpark_backend *b, const bench_options *o,
                         timeout_result to[N_TIMEOUTS]) {
  const variant *v[2] = {&tpark_variant, &t->variant};
  slot *s = new_slots(2);
  v[0]->init(&s[0], b);
  v[1]->init(&s[1], b);
  for (size_t k = 0; k < N_TIMEOUTS; k++) {
    unsigned n = timeout_samples(o, timeouts_ns[k]);
    timeout_result *r = &to[k];
    r->timeout_ns = timeouts_ns[k];
    r->n = n;
    unsigned not_timed[2] = {0, 0};
    for (int w = 0; w < 2; w++) r->late[w] = xcalloc(n, sizeof(int64_t));
    for (unsigned i = 0; i < n; i++) {
      for (unsigned j = 0; j < 2; j++) {
        unsigned w = (i + j) & 1;
        if (!v[w]->timed_wait(&s[w], timeouts_ns[k], &r->late[w][i])) not_timed[w]++;
      }
    }
    /* Nobody unparks: a park_until that says it was unparked breaks the API. */
    if (not_timed[0] != 0) die("%s: park_until returned true with no unpark", t->name);
    for (int w = 0; w < 2; w++) r->l[w] = summarize_late(r->late[w], n, not_timed[w]);
  }
  free_slots(s);
}

/* ---- footprint -------------------------------------------------------------------
 *
 * Heap bytes and OS handles (fds) of the process before and after 2 x n
 * parkers are initialised and each used for one hand-off (a ping-pong over
 * fresh parkers, so most of them sleep in the OS once). Both threads exist
 * before the first count and until after the second, so thread creation is
 * not counted. What the OS keeps inside the kernel (or Wine's server) cannot
 * be seen from here; handles and fds can. */

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

static footprint run_footprint(const tpark_backend *b, const bench_options *o) {
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

/* ---- the section's steps --------------------------------------------------------- */

static const target *target_of(const char *name) {
  for (size_t i = 0; i < n_raw_targets; i++) {
    if (!strcmp(raw_targets[i].name, name)) return &raw_targets[i];
  }
  return NULL;
}

/* Which backends exist here. Each one's first tpark_select_backend is also
 * its one-time setup cost: measured now, before anything else selects it. */
bool measure_prepare(const bench_options *o) {
  backends = xcalloc(n_builtin_names, sizeof *backends);
  n_backends = 0;
  for (size_t k = 0; k < n_builtin_names; k++) {
    const char *name = builtin_names[k];
    if (o->backend && strcmp(o->backend, name)) continue;
    const tpark_backend *b;
    uint64_t t0 = now_ns();
    tpark_status st = tpark_select_backend(name, &b);
    uint64_t t1 = now_ns();
    if (st != TPARK_OK) {
      if (o->backend) {
        fprintf(stderr, "parkbench: backend \"%s\" is not available here: %s\n", name,
                tpark_status_str(st));
        return false;
      }
      continue;
    }
    const target *t = target_of(name);
    if (t == NULL) die("backend %s has no raw baseline on this OS", name);
    backends[n_backends].t = t;
    backends[n_backends].setup.first_ns = (double)(t1 - t0);
    n_backends++;
  }
  if (n_backends == 0) die("no tpark backend is available here");
  /* The process default, as tpark_init would pick it (TPARK_BACKEND
   * included); a failed default choice is tpark's to report. */
  const tpark_backend *def = tpark_default_backend();
  for (size_t i = 0; i < n_backends; i++) {
    backends[i].is_default = def != NULL && !strcmp(def->name, backends[i].t->name);
  }
  return true;
}

/* Guesses for an idle machine; the progress line scales them by how fast
 * the run actually goes. */
double pingpong_estimate_s(const bench_options *o) {
  return 2.0 * (o->rounds + 1) * o->iters * 20e-6;
}

static double timeouts_estimate_s(const bench_options *o) {
  double s = 0;
  for (size_t k = 0; k < N_TIMEOUTS; k++) {
    s += 2.0 * timeout_samples(o, timeouts_ns[k]) * ((double)timeouts_ns[k] / 1e9 + 100e-6);
  }
  return s;
}

static double setup_estimate_s(const bench_options *o) { return o->setup_reps * 50e-6; }
static double ops_estimate_s(const bench_options *o) { return o->op_reps * 4.0 * OPS_BATCH * 1e-6; }
static double footprint_estimate_s(const bench_options *o) { return o->footprint_pairs * 40e-6; }

double measure_estimate_s(const bench_options *o) {
  return (double)n_backends *
         (setup_estimate_s(o) + 2 * pingpong_estimate_s(o) + ops_estimate_s(o) +
          timeouts_estimate_s(o) + footprint_estimate_s(o));
}

/* The built-in called name (backends/builtin.h). */
static const tpark__builtin *builtin_named(const char *name) {
#define ACCESSOR(name) tpark__##name##_builtin,
  static const tpark__builtin *(*const all[])(void) = {TPARK__BUILTINS(ACCESSOR)};
#undef ACCESSOR
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (!strcmp(all[i]()->name, name)) return all[i]();
  }
  die("no built-in backend is called %s", name);
}

void measure_run(const bench_options *o) {
  /* Setup in a fresh state, many times: the built-in's create on its own
   * (its OS objects: a handle, a table of condvars, ...), each instance
   * destroyed after it was timed. */
  for (size_t i = 0; i < n_backends; i++) {
    setup_result *s = &backends[i].setup;
    const tpark__builtin *builtin = builtin_named(backends[i].t->name);
    progress_phase(setup_estimate_s(o), "%s: setup cost", backends[i].t->name);
    s->n = o->setup_reps;
    s->fresh_ns = xcalloc(s->n, sizeof(double));
    for (unsigned r = 0; r < s->n; r++) {
      tpark_backend fresh;
      uint64_t t0 = now_ns();
      tpark_status st = builtin->create(&fresh);
      uint64_t t1 = now_ns();
      if (st != TPARK_OK) die("%s: creating it failed the second time", backends[i].t->name);
      builtin->destroy(&fresh);
      s->fresh_ns[r] = (double)(t1 - t0);
    }
    s->fresh = summarize(s->fresh_ns, s->n);
    if (tpark_select_backend(backends[i].t->name, &backends[i].b) != TPARK_OK) {
      die("%s: selection failed", backends[i].t->name);
    }
  }

  for (size_t i = 0; i < n_backends; i++) {
    backend_result *r = &backends[i];
    progress_phase(pingpong_estimate_s(o), "%s: ping-pong, threads free", r->t->name);
    r->pp[0] = measure_pingpong(&tpark_variant, &r->t->variant, r->b, o, -1);
    progress_phase(pingpong_estimate_s(o), "%s: ping-pong, both pinned to CPU %d", r->t->name,
                   o->cpu);
    r->pp[1] = measure_pingpong(&tpark_variant, &r->t->variant, r->b, o, o->cpu);
    progress_phase(ops_estimate_s(o), "%s: unpark and park costs", r->t->name);
    r->ops = run_ops(r->t, r->b, o);
    progress_phase(timeouts_estimate_s(o), "%s: timeouts", r->t->name);
    run_timeouts(r->t, r->b, o, r->to);
    progress_phase(footprint_estimate_s(o), "%s: footprint", r->t->name);
    r->fp = run_footprint(r->b, o);
  }
}

bool pingpong_ok(const backend_result *r, int placement) {
  return r->pp[placement].ratio_s.median <= RATIO_BAR;
}

unsigned early_returns(const backend_result *r) {
  unsigned e = 0;
  for (size_t k = 0; k < N_TIMEOUTS; k++) e += r->to[k].l[0].early;
  return e;
}

bool footprint_ok(const backend_result *r) {
  return r->fp.heap_delta == 0 && (r->fp.handles_delta == 0 || r->fp.handles_delta == LONG_MIN);
}

bool bar_met(const backend_result *r) {
  return pingpong_ok(r, 0) && pingpong_ok(r, 1) && early_returns(r) == 0 && footprint_ok(r);
}
