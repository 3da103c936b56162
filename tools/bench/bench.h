/* parkbench: what every part shares: the options, the progress line, and
 * the hook a section of measurements plugs into.
 *
 * A section (e.g. "backends": every tpark backend against its raw baseline)
 * is one file that defines a bench_section; section.h lists the sections in
 * order (one name each). A section measures in run(), keeps its results to
 * itself, and prints them in each output format with the helpers of
 * output.h. */
#ifndef PARKBENCH_BENCH_H
#define PARKBENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { FORMAT_TABLE, FORMAT_JSON, FORMAT_CSV } bench_format;

typedef struct bench_options {
  bench_format format;
  bool quick;
  const char *backend;    /* --backend: only this one; NULL: all */
  unsigned rounds, iters; /* ping-pong: recorded rounds, round trips per block */
  unsigned op_reps;       /* batches of the per-operation measurement */
  unsigned setup_reps;    /* fresh-state selections */
  unsigned footprint_pairs;
  double timeout_budget_s; /* per timeout value and variant */
  unsigned timeout_cap;    /* samples per timeout value and variant, at most */
  int cpus, cpu;           /* CPUs this process may use; the one pinned runs use */
  /* The locks section (section_locks.c). */
  unsigned lock_rounds; /* rounds, each measuring every variant once */
  unsigned lock_ms;     /* ms of each throughput run */
  unsigned lock_ops;    /* lock+unlock pairs of an uncontended measurement */
  unsigned lock_trips;  /* round trips of a wait/wake ping-pong block */
} bench_options;

#define RATIO_BAR 1.05 /* tpark / raw, paired: the bar a backend must meet */

typedef struct bench_section {
  const char *name; /* --sections names it; its JSON key(s) start with it; CSV "section" */
  /* Before anything runs: what will be measured; false ends parkbench with
   * status 2 after a message (e.g. --backend names one this OS lacks). */
  bool (*prepare)(const bench_options *o);
  /* Seconds run() should take on an idle machine (for the time left). */
  double (*estimate_s)(const bench_options *o);
  void (*run)(const bench_options *o);
  /* Output: a table for people; JSON members ("key": value, each printed
   * with json_member); CSV rows (csv_row). */
  void (*table)(const bench_options *o);
  void (*json)(const bench_options *o);
  void (*csv)(const bench_options *o);
} bench_section;

/* Progress on stderr once the run has taken 2 s: the phase and the time
 * left (re-estimated from how fast the phases so far went); on a terminal
 * one line rewritten in place, else a line per phase. */
void progress_start(double expected_total_s);
/* A new phase that should take expected_s seconds. */
void progress_phase(double expected_s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Step i of n of the current phase. */
void progress_step(unsigned i, unsigned n);
void progress_done(void);

#endif /* PARKBENCH_BENCH_H */
