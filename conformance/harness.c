/* The conformance suite's harness: what a check runs in. The run's state
 * (the subject, the check's backend), a check's failure, running one check
 * in this process, and the report's lines. Nothing here knows which checks
 * exist or where they run (runner.c, child_*.c). */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance/internal.h"

#define DEFAULT_TIMEOUT_S 120u

/* ---- the run's state (internal.h says what each is) ---------------------- */

const tpark_conformance_subject *tpark__conformance_subject;
tpark_backend tpark__conformance_backend;
tpark_backend tpark__conformance_saved_backend;
int tpark__conformance_backend_scribbled;
const tpark_backend *tpark__conformance_active;
int tpark__conformance_live_threads;
struct tpark__conformance_tally tpark__conformance_tally;

static pthread_t check_thread;
static jmp_buf failure_jump;
static char failure[TPARK__CONFORMANCE_MSG_CAP];
static void (*send_to_parent)(const char *msg); /* set: this process is a child */

void tpark__conformance_pause_ms(unsigned ms) {
  struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

unsigned tpark__conformance_timeout_s(void) {
  return tpark__conformance_subject->timeout_s ? tpark__conformance_subject->timeout_s
                                               : DEFAULT_TIMEOUT_S;
}

void tpark__conformance_become_child(void (*send)(const char *msg)) { send_to_parent = send; }

/* ---- the report -------------------------------------------------------------- */

void tpark__conformance_report(const char *fmt, ...) {
  char line[TPARK__CONFORMANCE_MSG_CAP + 128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (tpark__conformance_subject != NULL && tpark__conformance_subject->report != NULL) {
    tpark__conformance_subject->report(tpark__conformance_subject->report_arg, line);
  } else {
    printf("%s\n", line);
    fflush(stdout);
  }
}

void tpark__conformance_summary(void) {
  const struct tpark__conformance_tally *t = &tpark__conformance_tally;
  int total = t->passed + t->failed + t->errors;
  tpark__conformance_report("%d%%: Checks: %d, Failures: %d, Errors: %d",
                            total ? t->passed * 100 / total : 100, total, t->failed, t->errors);
}

/* ---- failing and running a check ------------------------------------------- */

void tpark__conformance_fail(const char *rule, const char *fmt, ...) {
  char msg[TPARK__CONFORMANCE_MSG_CAP];
  int n = snprintf(msg, sizeof msg, "%s: ", rule);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  if (send_to_parent != NULL) send_to_parent(msg);
  if (pthread_equal(pthread_self(), check_thread) &&
      __atomic_load_n(&tpark__conformance_live_threads, __ATOMIC_ACQUIRE) == 0) {
    memcpy(failure, msg, sizeof failure);
    longjmp(failure_jump, 1);
  }
  /* A thread of the check may still use the backend: nothing is safe to do
   * but to stop here. */
  tpark__conformance_report(
      "FAIL %s: %s", __atomic_load_n(&tpark__conformance_tally.current_check, __ATOMIC_ACQUIRE),
      msg);
  tpark__conformance_report("(a thread of the check is still running: the run ends here)");
  tpark__conformance_tally.failed++;
  tpark__conformance_summary();
  _Exit(1);
}

int tpark__conformance_run_here(const struct tpark__conformance_check *c, char *msg) {
  static volatile int result; /* static: survives the longjmp */
  check_thread = pthread_self();
  __atomic_store_n(&tpark__conformance_live_threads, 0, __ATOMIC_RELEASE);
  memset(&tpark__conformance_backend, 0, sizeof tpark__conformance_backend);
  tpark_status st = tpark__conformance_subject->create(&tpark__conformance_backend);
  if (st != TPARK_OK) {
    snprintf(msg, TPARK__CONFORMANCE_MSG_CAP, SETUP ": create failed: %s", tpark_status_str(st));
    return 1;
  }
  tpark__conformance_active = &tpark__conformance_backend;
  result = 0;
  if (setjmp(failure_jump) == 0) {
    c->fn();
  } else {
    memcpy(msg, failure, TPARK__CONFORMANCE_MSG_CAP);
    result = 1;
  }
  if (tpark__conformance_backend_scribbled) {
    tpark__conformance_backend = tpark__conformance_saved_backend;
    tpark__conformance_backend_scribbled = 0;
  }
  tpark__conformance_active = &tpark__conformance_backend;
  if (tpark__conformance_subject->destroy != NULL) {
    tpark__conformance_subject->destroy(&tpark__conformance_backend);
  }
  return result;
}
