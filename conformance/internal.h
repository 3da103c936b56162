/* Internal to the conformance suite: what its runner (conformance.c) and its
 * checks (conformance_checks.c) share. Not a public header. */
#ifndef TPARK_CORE_CONFORMANCE_INTERNAL_H
#define TPARK_CORE_CONFORMANCE_INTERNAL_H

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
#define LIFETIME "lifetime"              /* unpark does not touch the parker */
#define CLOCK "clock"                    /* now() never decreases; deadlines saturate */
#define VTABLE "vtable"                  /* tpark/backend.h's rules for the struct */
#define COPY "copy"                      /* a copy of a valid backend is a valid backend */
#define UNPARK_BLOCKS "unpark does not block" /* unless TPARK_CONFORMANCE_UNPARK_MAY_BLOCK */
#define SETUP "setup"                         /* create, threads */

/* ---- the run's state (defined in conformance.c) ---------------------------- */

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

/* Ends the check with "<rule>: <what happened>" (conformance.c). */
void tpark__conformance_fail(const char *rule, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

#define EXPECT(cond, rule, ...)                              \
  do {                                                       \
    if (!(cond)) tpark__conformance_fail(rule, __VA_ARGS__); \
  } while (0)

/* Sleeps ms milliseconds (conformance_checks.c; the runner's watchdog uses it too). */
void tpark__conformance_pause_ms(unsigned ms);

/* ---- the checks (defined in conformance_checks.c) --------------------------- */

struct tpark__conformance_check {
  const char *name;
  void (*fn)(void);
  const char *hang; /* what a timeout most likely means */
  unsigned skip_if; /* a flag that skips it */
};

extern const struct tpark__conformance_check tpark__conformance_checks[];
extern const size_t tpark__conformance_n_checks;

#endif
