/* tpark schedule explorer: find, and replay, the interleaving that breaks code
 * built on tpark.
 *
 * tpark_explore_run runs a test body many times. The body's thread and the
 * threads it starts with tpark_explore_spawn are real OS threads, but only
 * one of them runs at a time: at each tpark synchronisation point (every
 * lock, unlock, cond wait and notify, once, wait-on-address, park, unpark,
 * tpark_thread_yield, spawn) the explorer decides which thread goes next.
 * Time is a fake clock that moves only when the explorer says so: a thread
 * in a timed wait (tpark_cond_wait_until, tpark_mutex_lock_until, ...) may be
 * woken or may time out, and which comes first is one of the explorer's
 * choices, so a body with one-hour timeouts runs in microseconds.
 *
 * A run fails when a tpark_explore_check fails, when every thread is blocked
 * with no deadline left (a deadlock: the report names what each thread waits
 * on and in which call), or when it takes more than max_steps scheduling
 * points (a livelock). The explorer then prints what failed and one line
 *   TPARK_EXPLORE_REPLAY=<token>
 * Running the same body with that token (in that environment variable, or
 * in the options) replays exactly that schedule, on any OS: a token printed
 * on Linux replays under Wine. A replay that does something else than the
 * recorded run (the body is not deterministic under a fixed schedule: it
 * reads the real clock, a global left over from an earlier run, ...) stops
 * at the first step that differs and says so.
 *
 * Under TPARK_CHECKED=1 (tpark/checked.h) a broken lock rule still ends the
 * process with checked mode's line; the token of the run is printed first.
 *
 * What the body must do:
 *   - synchronise only through tpark (locks, conds, onces, wait-on-address,
 *     parkers, the lot): a plain pthread mutex or a spin loop on an atomic
 *     that never calls tpark is invisible to the explorer (a spin loop that
 *     calls tpark_thread_yield is fine);
 *   - start its threads with tpark_explore_spawn (a thread started otherwise
 *     that calls tpark during a run ends the process with a message);
 *   - create or reset every object it uses in each run: a failed run stops
 *     its threads where they were, leaving locks held;
 *   - be deterministic apart from the schedule (no real clock, no
 *     unseeded randomness): replays depend on it.
 * Threads the body does not join are run to their end before the run ends.
 * A failed run stops the threads where they are (they unwind with longjmp:
 * in C++ the destructors of their stack objects do not run).
 *
 * The explorer replaces the process default backend for the length of a
 * call (tpark_set_default_backend) and restores it after; tpark_explore_run
 * calls must not overlap. While it runs, the lot's fairness timer does not
 * fire (an unlock hands the lock over only with tpark_mutex_unlock_fair).
 *
 * Link with @tpark//:tpark_explore (testonly). docs/explore.md has the
 * details, the strategies' guarantees and an example.
 */
#ifndef TPARK_EXPLORE_H
#define TPARK_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpark/tpark.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tpark_explore_strategy {
  /* At every choice, one of the possible next steps, uniformly at random
   * (seeded). */
  TPARK_EXPLORE_RANDOM = 0,
  /* Probabilistic concurrency testing: random thread priorities and depth-1
   * random priority change points. Each run finds a bug of depth d (one that
   * needs d ordering constraints) with probability at least 1/(n k^(d-1)),
   * n the threads (the fake clock counts as one) and k the steps of the
   * longest run so far. */
  TPARK_EXPLORE_PCT = 1,
  /* Every schedule with at most `depth` preemptions (a switch away from a
   * thread that could have gone on), each once, depth first; it stops when
   * none is left (tpark_explore_result.exhausted) or after `runs`. */
  TPARK_EXPLORE_BOUNDED = 2
} tpark_explore_strategy;

/* What tpark_explore_run returns, and why a run failed. */
typedef enum tpark_explore_outcome {
  TPARK_EXPLORE_PASSED = 0,     /* every run passed */
  TPARK_EXPLORE_CHECK = 1,      /* a tpark_explore_check failed */
  TPARK_EXPLORE_DEADLOCK = 2,   /* every thread blocked, no deadline left */
  TPARK_EXPLORE_STEP_LIMIT = 3, /* more than max_steps points in one run */
  TPARK_EXPLORE_DIVERGED = 4,   /* a replay did not follow its token */
  TPARK_EXPLORE_EINVAL = 5      /* bad options, token or environment: nothing ran */
} tpark_explore_outcome;

/* Filled in by tpark_explore_run when the options point to one. */
typedef struct tpark_explore_result {
  tpark_explore_outcome outcome;
  uint64_t runs;      /* bodies run, the failed one included */
  uint64_t steps;     /* scheduling points over all runs */
  uint64_t decisions; /* points where more than one thread (or the clock) could go next */
  bool exhausted;     /* BOUNDED: every schedule within the bound was run */
  /* The failed run's token (empty when it does not fit: token_len is its
   * length; stderr has it whole) and report (what was printed, cut to fit). */
  size_t token_len;
  char token[1024];
  char report[2048];
} tpark_explore_result;

/* All zero is valid: RANDOM, seed 0, 1000 runs, no replay. */
typedef struct tpark_explore_options {
  tpark_explore_strategy strategy;
  uint64_t seed;      /* RANDOM and PCT; TPARK_EXPLORE_SEED overrides it */
  uint64_t runs;      /* 0: 1000 (RANDOM, PCT), no limit (BOUNDED); TPARK_EXPLORE_RUNS */
  unsigned depth;     /* PCT: bug depth d, 1 to 17; BOUNDED: preemption bound. 0: 3 and 2 */
  const char *replay; /* a token: run that schedule once (TPARK_EXPLORE_REPLAY wins) */
  uint64_t max_steps; /* scheduling points per run before a livelock; 0: 100000 */
  bool quiet;         /* print nothing on stderr (the result still says it all) */
  tpark_explore_result *result; /* optional */
} tpark_explore_options;

/* Runs body(arg) as the options say: 0 when every run passed, else the
 * outcome of the first failed run (it stops there) or TPARK_EXPLORE_EINVAL
 * (opts or body NULL, a bad token, a bad TPARK_EXPLORE_* variable: a line on
 * stderr says which). Not from inside a run. */
int tpark_explore_run(const tpark_explore_options *opts, void (*body)(void *arg), void *arg);

/* A thread of the current run. */
typedef struct tpark_explore_thread {
  unsigned id_; /* private: the body's thread is 0, the spawned ones 1, 2, ... */
} tpark_explore_thread;

/* Inside a run: starts fn(arg) on a thread of the run (at most 64 threads
 * per run, the body's included). It runs when the explorer picks it. */
tpark_explore_thread tpark_explore_spawn(void (*fn)(void *arg), void *arg);

/* Inside a run: waits until t has returned from its fn. */
void tpark_explore_join(tpark_explore_thread t);

/* Inside a run: when ok is false the run fails with `what` in its report. */
void tpark_explore_check(bool ok, const char *what);

/* Names the lock, cond, once, address or parker at obj in reports (the
 * explorer keeps a copy of name, for the rest of the run). NULL obj names
 * the calling thread. Outside a run: nothing. */
void tpark_explore_label(const void *obj, const char *name);

/* A short name ("random", "pct", "bounded") for s. */
const char *tpark_explore_strategy_name(tpark_explore_strategy s);

/* A short name ("passed", "check", "deadlock", "step limit", "diverged",
 * "einval") for o. */
const char *tpark_explore_outcome_name(tpark_explore_outcome o);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_EXPLORE_H */
