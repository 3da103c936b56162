/* parkbench: the measurements of one backend against its raw baseline,
 * interleaved and paired (see measure.c), with the raw samples kept. */
#ifndef PARKBENCH_MEASURE_H
#define PARKBENCH_MEASURE_H

#include "tools/bench/bench.h"
#include "tools/bench/stats.h"
#include "tools/bench/variant.h"

#define OPS_BATCH 1024u /* parkers per batch in the per-operation measurement */
#define N_TIMEOUTS 3
extern const uint64_t timeouts_ns[N_TIMEOUTS]; /* 0.1, 1 and 10 ms */

/* [0] tpark, [1] raw, in every pair below. */
typedef struct pingpong_result {
  unsigned n;    /* recorded rounds */
  double *ns[2]; /* per round: ns per round trip, in round order */
  double *ratio; /* per round: tpark / raw */
  summary s[2];
  modes modes[2];
  /* The paired ratio: over every round, or, when the samples of both
   * variants together have two modes, over the rounds whose two blocks fell
   * in the same mode (a round whose tpark block shared a CPU and whose raw
   * block did not compares nothing). mixed: the rounds left out. */
  summary ratio_s;
  unsigned mixed;
} pingpong_result;

typedef struct op_result {
  bool measured; /* not for keyed events: an unpark waits until the owner waits */
  unsigned n;    /* batches */
  double *unpark_ns[2], *park_ns[2]; /* per batch, ns per operation */
  summary unpark[2], park[2];
} op_result;

typedef struct timeout_result {
  uint64_t timeout_ns;
  unsigned n;
  int64_t *late[2]; /* per sample: ns after the deadline (negative: early) */
  lateness l[2];
} timeout_result;

typedef struct footprint {
  unsigned parkers;
  int64_t heap_delta; /* bytes; INT64_MIN: unknown */
  long handles_delta; /* LONG_MIN: unknown */
} footprint;

typedef struct setup_result {
  double first_ns; /* the first tpark_select_backend in this process */
  unsigned n;
  double *fresh_ns; /* the built-in's create on its own, each time afresh */
  summary fresh;
} setup_result;

typedef struct backend_result {
  const target *t;
  const tpark_backend *b;
  bool is_default; /* what tpark_init picks in this process */
  setup_result setup;
  pingpong_result pp[2]; /* [0] threads free, [1] both pinned to one CPU */
  op_result ops;
  timeout_result to[N_TIMEOUTS];
  footprint fp;
} backend_result;

/* The backends measured (prepared by measure_prepare, filled by measure_run). */
extern backend_result *backends;
extern size_t n_backends;

/* Every built-in name, in tpark's order of preference. */
extern const char *const builtin_names[];
extern const size_t n_builtin_names;

/* One ping-pong run (threads free when cpu < 0, else both pinned to cpu):
 * blocks of v0 and v1 interleaved, [0] v0 and [1] v1 in the result, the
 * ratio v0 / v1 per round; both variants on backend b. For other sections
 * too (e.g. a wrapper against the plain backend). */
pingpong_result measure_pingpong(const variant *v0, const variant *v1, const tpark_backend *b,
                                 const bench_options *o, int cpu);
/* What one measure_pingpong should take on an idle machine, in seconds. */
double pingpong_estimate_s(const bench_options *o);

bool measure_prepare(const bench_options *o);
double measure_estimate_s(const bench_options *o);
void measure_run(const bench_options *o);

/* Verdicts against the bar. */
bool pingpong_ok(const backend_result *r, int placement);
unsigned early_returns(const backend_result *r);
bool footprint_ok(const backend_result *r);
bool bar_met(const backend_result *r);

#endif /* PARKBENCH_MEASURE_H */
