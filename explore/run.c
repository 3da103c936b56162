/* tpark_explore_run: the options and the environment, the runs one after
 * another, and what a failure prints (explore/explore.c runs each one). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/lot_internal.h"
#include "explore/explore_internal.h"

#define DEFAULT_RUNS 1000
#define DEFAULT_MAX_STEPS 100000

const char *tpark_explore_strategy_name(tpark_explore_strategy s) {
  switch (s) {
    case TPARK_EXPLORE_RANDOM:
      return "random";
    case TPARK_EXPLORE_PCT:
      return "pct";
    case TPARK_EXPLORE_BOUNDED:
      return "bounded";
  }
  return "?";
}

const char *tpark_explore_outcome_name(tpark_explore_outcome o) {
  switch (o) {
    case TPARK_EXPLORE_PASSED:
      return "passed";
    case TPARK_EXPLORE_CHECK:
      return "check";
    case TPARK_EXPLORE_DEADLOCK:
      return "deadlock";
    case TPARK_EXPLORE_STEP_LIMIT:
      return "step limit";
    case TPARK_EXPLORE_DIVERGED:
      return "diverged";
    case TPARK_EXPLORE_EINVAL:
      return "einval";
  }
  return "?";
}

/* A TPARK_EXPLORE_* number: false (and why in err) when it is set but not
 * a decimal number that fits. */
static bool env_number(const char *name, uint64_t *value, char *err, size_t cap) {
  const char *s = getenv(name);
  if (s == NULL || s[0] == '\0') return true;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno == ERANGE) {
    snprintf(err, cap, "%s=\"%.40s\" is not a number from 0 to %" PRIu64, name, s, UINT64_MAX);
    return false;
  }
  *value = (uint64_t)v;
  return true;
}

/* Nothing runs: the line on stderr (unless quiet) and in the result. */
static tpark_explore_outcome invalid(const tpark_explore_options *opts, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static tpark_explore_outcome invalid(const tpark_explore_options *opts, const char *fmt, ...) {
  tpark_explore_result *result = opts != NULL ? opts->result : NULL;
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (opts == NULL || !opts->quiet) fprintf(stderr, "tpark explore: %s\n", line);
  if (result != NULL) {
    memset(result, 0, sizeof *result);
    result->outcome = TPARK_EXPLORE_EINVAL;
    snprintf(result->report, sizeof result->report, "tpark explore: %s\n", line);
  }
  return TPARK_EXPLORE_EINVAL;
}

/* What the run in progress has done so far, as a token to replay it: when
 * the process ends inside a run (tpark__fatal: checked mode, a misuse). */
static void print_token_at_fatal(void) {
  explorer *x = tpark__ex_active;
  if (x == NULL) return;
  size_t len = tpark__ex_schedule_token(&x->sched, NULL, 0);
  char *token = malloc(len + 1);
  if (token == NULL) return;
  tpark__ex_schedule_token(&x->sched, token, len + 1);
  fprintf(stderr,
          "tpark explore: the process ends in run %" PRIu64 " at step %" PRIu64
          "; to replay that run:\nTPARK_EXPLORE_REPLAY=%s\n",
          x->run + 1, x->step, token);
  free(token);
}

/* The failed run's report and token, on stderr and in the result. */
static void finish_failure(explorer *x, const tpark_explore_options *opts,
                           tpark_explore_result *result) {
  size_t len = tpark__ex_schedule_token(&x->sched, NULL, 0);
  char *token = malloc(len + 1);
  if (token == NULL) tpark__fatal("tpark explore: out of memory for a token");
  tpark__ex_schedule_token(&x->sched, token, len + 1);
  if (!opts->quiet) fprintf(stderr, "%sTPARK_EXPLORE_REPLAY=%s\n", x->report, token);
  if (result != NULL) {
    result->token_len = len;
    snprintf(result->token, sizeof result->token, "%s", len < sizeof result->token ? token : "");
    snprintf(result->report, sizeof result->report, "%s", x->report);
  }
  free(token);
}

int tpark_explore_run(const tpark_explore_options *opts, void (*body)(void *arg), void *arg) {
  if (opts == NULL || body == NULL) return invalid(opts, "tpark_explore_run: opts or body is NULL");
  tpark_explore_result *result = opts->result;
  if (opts->strategy > TPARK_EXPLORE_BOUNDED)
    return invalid(opts, "tpark_explore_run: strategy %d is not one", (int)opts->strategy);
  if (opts->strategy == TPARK_EXPLORE_PCT && opts->depth > EX_MAX_PCT_DEPTH)
    return invalid(opts, "tpark_explore_run: PCT's depth is 1 to %d (0: 3), not %u",
                   EX_MAX_PCT_DEPTH, opts->depth);
  if (tpark__ex_active != NULL)
    return invalid(opts, "tpark_explore_run: another tpark_explore_run is in progress");
  tpark_explore_options o = *opts;
  char err[200];
  if (!env_number("TPARK_EXPLORE_SEED", &o.seed, err, sizeof err) ||
      !env_number("TPARK_EXPLORE_RUNS", &o.runs, err, sizeof err))
    return invalid(opts, "%s", err);
  const char *replay = getenv("TPARK_EXPLORE_REPLAY");
  if (replay == NULL || replay[0] == '\0') replay = o.replay;
  if (o.runs == 0 && o.strategy != TPARK_EXPLORE_BOUNDED) o.runs = DEFAULT_RUNS;
  if (replay != NULL) o.runs = 1;

  /* One explorer, reused by every call: checked mode wraps the default
   * backend once per address (tpark_checked_backend), so the address stays. */
  static explorer instance;
  explorer *x = &instance;
  memset(x, 0, sizeof *x);
  if (!tpark__ex_init(x)) return invalid(opts, "tpark_explore_run: out of resources");
  if (!tpark__ex_schedule_init(&x->sched, &o, replay, err, sizeof err)) {
    tpark__ex_destroy(x);
    tpark__ex_schedule_free(&x->sched);
    return invalid(opts, "not a token: \"%.40s%s\": %s", replay, strlen(replay) > 40 ? "..." : "",
                   err);
  }
  x->max_steps = o.max_steps != 0 ? o.max_steps : DEFAULT_MAX_STEPS;

  tpark__ex_active = x;
  const tpark_backend *previous = tpark__exchange_set_default(&x->backend);
  if (!tpark__observe_add(&x->observer)) tpark__fatal("tpark explore: no room for its observer");
  tpark__lot_set_fair_timer(false);
  tpark__set_fatal_hook(print_token_at_fatal);

  tpark_explore_outcome outcome = TPARK_EXPLORE_PASSED;
  uint64_t runs = 0;
  for (; o.runs == 0 || runs < o.runs; runs++) {
    x->run = runs;
    if (!tpark__ex_schedule_begin(&x->sched, runs)) break;
    tpark__ex_run_once(x, body, arg);
    if (x->outcome == TPARK_EXPLORE_PASSED && x->sched.replaying && x->step != x->sched.n_expect) {
      snprintf(x->report, sizeof x->report,
               "tpark explore: the replay diverged: it passed after %" PRIu64
               " steps, the recorded run failed at step %" PRIu64 "\n",
               x->step, (uint64_t)x->sched.n_expect);
      x->outcome = TPARK_EXPLORE_DIVERGED;
    }
    if (x->outcome != TPARK_EXPLORE_PASSED) {
      outcome = x->outcome; /* the schedule stays that run's, for its token */
      runs++;
      break;
    }
    tpark__ex_schedule_end(&x->sched, x->step);
  }

  tpark__set_fatal_hook(NULL);
  tpark__lot_set_fair_timer(true);
  tpark__observe_remove(&x->observer);
  tpark__exchange_set_default(previous);
  tpark__ex_active = NULL;

  if (result != NULL) {
    memset(result, 0, sizeof *result);
    result->outcome = outcome;
    result->runs = runs;
    result->steps = x->total_steps;
    result->decisions = x->decisions;
    result->exhausted = x->sched.exhausted;
  }
  if (outcome != TPARK_EXPLORE_PASSED) {
    finish_failure(x, &o, result);
  } else if (!o.quiet) {
    if (o.strategy == TPARK_EXPLORE_BOUNDED && replay == NULL) {
      fprintf(stderr,
              "tpark explore: %" PRIu64 " runs passed: %s schedule with at most %u preemptions\n",
              runs, x->sched.exhausted ? "every" : "NOT every (the run limit came first)",
              x->sched.depth);
    } else {
      fprintf(stderr, "tpark explore: %" PRIu64 " runs passed (%s, seed %" PRIu64 ")\n", runs,
              tpark_explore_strategy_name(x->sched.strategy), o.seed);
    }
  }
  tpark__ex_destroy(x);
  tpark__ex_schedule_free(&x->sched);
  return (int)outcome;
}
