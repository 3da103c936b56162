/* Internal to the conformance suite (not installed). Its files, from the
 * bottom up:
 *   harness.c      what a check runs in: the run's state, failing a check,
 *                  running one check in this process, the report lines
 *   checks.c       the checks and their table
 *   child_fork.c   POSIX: a check in a fork()ed child
 *   child_spawn.c  Windows: a check in this program started again
 *   runner.c       tpark_conformance_run and _main: which checks, where, the
 *                  watchdog, the summary
 * Each file uses only the ones above it in this list. */
#ifndef TPARK_CONFORMANCE_INTERNAL_H
#define TPARK_CONFORMANCE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "tpark/backend.h"
#include "tpark/conformance.h"
#include "tpark/tpark.h"

/* The rules, as the report names them (tpark/tpark.h, SPEC). */
#define NEVER_LOST "never lost"   /* an unpark_lock after prepare_park makes park return true */
#define NEVER_EARLY "never early" /* park_until returns false only after its deadline */
#define NO_SPURIOUS "no spurious return" /* park returns only after an unpark_lock of its cycle */
#define ONE_CYCLE "one cycle"            /* an unpark_lock counts only for the cycle it hit */
#define PAST_DEADLINE "past deadline"    /* a passed deadline: false at once */
#define TIMED_OUT "timed_out"            /* true after a timeout unless unparked since */
#define ORDERING "memory ordering"       /* waker's writes before unpark_lock visible after park */
#define CLOCK "clock"                    /* now() never decreases; deadlines saturate */
#define VTABLE "vtable"                  /* tpark/backend.h's rules for the struct */
#define COPY "copy"                      /* a copy of a valid backend is a valid backend */
#define UNPARK_BLOCKS "unpark does not block" /* unless TPARK_CONFORMANCE_UNPARK_MAY_BLOCK */
#define SETUP "setup"                         /* create, threads */

#define TPARK__CONFORMANCE_MSG_CAP 512 /* a failure message, with its NUL */

/* ---- a check (the table is in checks.c) ---------------------------------- */

struct tpark__conformance_check {
  const char *name;
  void (*fn)(void);
  const char *hang; /* what a timeout most likely means */
  unsigned skip_if; /* a flag that skips it */
};

extern const struct tpark__conformance_check tpark__conformance_checks[];
extern const size_t tpark__conformance_n_checks;

/* ---- the harness (harness.c) ---------------------------------------------- */

/* The subject of the run in progress. */
extern const tpark_conformance_subject *tpark__conformance_subject;
/* The check's backend, filled by create. */
extern tpark_backend tpark__conformance_backend;
/* The backend's bytes while the copy check scribbles on them (set: scribbled). */
extern tpark_backend tpark__conformance_saved_backend;
extern int tpark__conformance_backend_scribbled;
/* What the hooks get: &tpark__conformance_backend or its copy. */
extern const tpark_backend *tpark__conformance_active;
/* Threads of the check still running (atomic). */
extern int tpark__conformance_live_threads;

/* Ends the check with "<rule>: <what happened>": in a child process, sent to
 * the parent; in the check's own thread with none of its threads left, back
 * to tpark__conformance_run_here; otherwise it ends the run (and the process)
 * after the summary. */
void tpark__conformance_fail(const char *rule, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

#define EXPECT(cond, rule, ...)                              \
  do {                                                       \
    if (!(cond)) tpark__conformance_fail(rule, __VA_ARGS__); \
  } while (0)

/* Sleeps ms milliseconds of real time. */
void tpark__conformance_pause_ms(unsigned ms);

/* The subject's per-check timeout in seconds. */
unsigned tpark__conformance_timeout_s(void);

/* Runs c in this process: create, the check, destroy. 0 when it passed; else
 * 1 and the failure in msg (TPARK__CONFORMANCE_MSG_CAP bytes). */
int tpark__conformance_run_here(const struct tpark__conformance_check *c, char *msg);

/* Makes this process a child that runs one check for its parent: a failure
 * goes to send (which must not return: it passes the message on and ends
 * the process). */
void tpark__conformance_become_child(void (*send)(const char *msg));

/* The run's report: one line (to the subject's report hook or stdout), and
 * its tally. current_check names the check under way for a failure that ends
 * the run. */
void tpark__conformance_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern struct tpark__conformance_tally {
  int passed, failed, errors;
  const char *current_check; /* atomic */
} tpark__conformance_tally;
/* "<percent>%: Checks: n, Failures: f, Errors: e" */
void tpark__conformance_summary(void);

/* ---- a check in a child process (child_fork.c, child_spawn.c) ----------------- */

enum tpark__conformance_outcome {
  TPARK__CONFORMANCE_PASSED,
  TPARK__CONFORMANCE_FAILED,
  TPARK__CONFORMANCE_ERRED /* a crash, a timeout, or no child */
};

/* Runs c in a child process with the subject's timeout; the failure or error
 * in msg. */
enum tpark__conformance_outcome tpark__conformance_run_in_child(
    const struct tpark__conformance_check *c, char *msg);

/* First thing in every tpark_conformance_run. In a child process that
 * tpark__conformance_run_in_child started as this program again (Windows):
 * when this is the run the parent was in, runs its check and ends the
 * process; otherwise returns true (the run is the parent's and must return
 * at once). False in a parent, and always with fork(). */
bool tpark__conformance_child_entry(void);

#endif /* TPARK_CONFORMANCE_INTERNAL_H */
