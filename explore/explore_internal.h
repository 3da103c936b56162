/* Internal header (not installed): what the schedule explorer's two files
 * share. explore/explore.c runs the body's threads one at a time (the
 * baton), is the process default backend and the observer of every lock
 * operation during a run, and reports failures; explore/schedule.c holds the
 * strategies (which option to take at each scheduling point) and the
 * tokens that replay a run.
 *
 * A scheduling point offers options: the threads that may go next, and the
 * fake clock (TICK: it moves to the earliest deadline, timing out the
 * threads whose deadline that is). options[0] is the default: the thread at
 * the point if it may go on, else the lowest-numbered one that may. */
#ifndef TPARK_EXPLORE_INTERNAL_H
#define TPARK_EXPLORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <setjmp.h>

#include "sync/observe.h"
#include "tpark/backend.h"
#include "tpark/explore.h"

#define EX_MAX_THREADS 64
#define EX_TICK EX_MAX_THREADS /* the option "the clock moves" */
#define EX_MAX_PCT_DEPTH 17    /* PCT's d: at most 16 change points */

/* What kind of point a thread is at. */
typedef enum ex_point_kind {
  EX_PREEMPT, /* it may go on: going elsewhere is a preemption */
  EX_YIELD,   /* tpark_thread_yield: another thread goes if one can */
  EX_BLOCK,   /* it waits (park, join): it is not an option */
  EX_EXIT     /* it has ended */
} ex_point_kind;

typedef struct ex_point {
  ex_point_kind kind;
  unsigned current;        /* the thread at the point */
  const unsigned *options; /* thread ids and EX_TICK, the default first */
  size_t n;                /* >= 1 */
  uint64_t step;           /* this point's number in the run, from 1 */
} ex_point;

/* The strategy's state (explore/schedule.c), inside the explorer. */
typedef struct ex_schedule {
  tpark_explore_strategy strategy;
  uint64_t seed;     /* the options' seed */
  unsigned depth;    /* PCT's d, BOUNDED's preemption bound */
  bool replaying;    /* the one run of a token */
  uint64_t run_seed; /* RANDOM, PCT: this run's seed */
  uint64_t rng;
  /* PCT */
  uint64_t priority[EX_MAX_THREADS + 1];    /* [EX_TICK]: the clock's */
  uint64_t change_at[EX_MAX_PCT_DEPTH - 1]; /* steps where the running thread drops */
  unsigned n_changes;
  uint64_t k;        /* steps of the longest run so far */
  uint64_t k_of_run; /* the k of this run's change points */
  /* BOUNDED: the decisions (points with 2+ options) of this run: how many
   * options, which was taken, which others are preemptions, and the
   * preemptions before it. The next run replays a prefix and takes the next
   * option at its last decision. */
  struct ex_decision {
    uint16_t n, pick;
    bool costly; /* a point where the thread could go on: other threads preempt */
    bool tick;   /* the last option is the clock */
    uint16_t spent;
  } * decisions;
  size_t n_decisions, cap_decisions, prefix; /* decisions [0, prefix) are replayed */
  uint16_t preemptions;
  bool exhausted;
  bool diverged; /* a replayed decision had fewer options than recorded */
  /* The per-step checks of this run (written), and of the token (read). */
  char *checks;
  size_t n_checks, cap_checks;
  const char *expect; /* replaying: the token's checks */
  size_t n_expect;
} ex_schedule;

/* Reads opts into s (after the environment's overrides); false and a
 * message in err when the token is not one. */
bool tpark__ex_schedule_init(ex_schedule *s, const tpark_explore_options *opts, const char *replay,
                             char *err, size_t cap);
void tpark__ex_schedule_free(ex_schedule *s);

/* Before run number `run` (from 0): false when BOUNDED has nothing left. */
bool tpark__ex_schedule_begin(ex_schedule *s, uint64_t run);

/* A thread joins the run (PCT gives it a priority). */
void tpark__ex_schedule_spawned(ex_schedule *s, unsigned id);

/* The index of the option to take at p. */
size_t tpark__ex_schedule_choose(ex_schedule *s, const ex_point *p);

/* Records the check of a step (a hash of what happened); false when a replay
 * expected another. */
bool tpark__ex_schedule_check(ex_schedule *s, uint64_t step, uint32_t hash);

/* After a run of `steps` points (PCT learns k; BOUNDED finds the next
 * schedule). */
void tpark__ex_schedule_end(ex_schedule *s, uint64_t steps);

/* The token of the run so far into buf (as snprintf); its full length. */
size_t tpark__ex_schedule_token(const ex_schedule *s, char *buf, size_t cap);

/* ---- the explorer (explore/explore.c; explore/run.c drives it) ---- */

#define RING 10 /* steps shown in a report */

/* p->state_.u32 of the explorer's parkers. */
enum { EMPTY = 0, PREPARED = 1, UNPARKED = 2, TIMED_OUT = 3 };

/* Kinds of objects in reports: the lock kinds, then these. */
enum { OBJ_PARKER = 16, OBJ_THREAD = 17, OBJ_NONE = 18 };

typedef enum tstate { T_RUNNABLE, T_PARKED, T_JOINING, T_DONE } tstate;

struct worker;

typedef struct ex_thread {
  unsigned id;
  tstate state;
  void (*fn)(void *arg);
  void *arg;
  struct worker *worker;
  jmp_buf unwind;
  char name[40];
  tpark_parker *parker; /* T_PARKED */
  bool in_park;         /* inside the backend's park: its parker is parker */
  tpark_instant deadline;
  bool park_result;
  unsigned join_target; /* T_JOINING */
  /* The operation it is in, for reports: a LOCK, COND_WAIT, ONCE_BEGIN or
   * ADDRESS_WAIT not yet completed. */
  const char *call;
  const void *obj, *other;
  unsigned obj_kind;
  uint64_t since;
} ex_thread;

typedef struct worker {
  pthread_t thread;
  pthread_cond_t wake;
  ex_thread *job;
  bool quit;
} worker;

typedef struct object {
  const void *addr;
  unsigned kind;
  char *label;
} object;

typedef struct ring_entry {
  uint64_t step;
  unsigned thread;
  const char *what;
  const void *obj;
  unsigned obj_kind;
  tpark_instant now;
} ring_entry;

typedef struct explorer {
  tpark_backend backend;
  tpark__observer observer;
  pthread_mutex_t mu;
  pthread_cond_t done;
  pthread_mutex_t unwind_mu;
  ex_schedule sched;
  uint64_t max_steps;
  worker *workers[EX_MAX_THREADS];
  unsigned n_workers;
  /* The run. */
  ex_thread threads[EX_MAX_THREADS];
  unsigned n_threads, live, running;
  bool aborting;
  tpark_instant now;
  uint64_t step, run;
  object *objects;
  size_t n_objects, cap_objects;
  ring_entry ring[RING];
  /* Over all runs, and the failure. */
  uint64_t total_steps, decisions;
  tpark_explore_outcome outcome;
  char report[2048];
  size_t report_len;
} explorer;

/* The explorer of the tpark_explore_run call in progress, NULL outside. */
extern explorer *tpark__ex_active;

/* Sets up x's backend and observer, its locks (false: out of resources). */
bool tpark__ex_init(explorer *x);

/* Runs body once as thread 0 of a run and returns when every thread of
 * the run has ended (x->outcome says how); the calling thread takes no part
 * in the run. Then forgets the run's objects. */
void tpark__ex_run_once(explorer *x, void (*body)(void *arg), void *arg);

/* Ends the workers and frees what x holds (not x). */
void tpark__ex_destroy(explorer *x);

#endif /* TPARK_EXPLORE_INTERNAL_H */
