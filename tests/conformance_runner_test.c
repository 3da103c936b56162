/* The conformance suite's runner catches broken backends and names the rule
 * each one broke: the default backend with one member broken at a time
 * (early timeout, lost wake-up, a crash), a failing create, bad subjects,
 * and a failure in a run without fork that lets the run go on. Plain exit
 * status: this tests the runner, so it does not use one. Linux (fork) and
 * Windows (a child process per check: this program started again). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpark/conformance.h"
#include "tpark/tpark.h"

#define MS UINT64_C(1000000)

static int checks, failures;
/* On Windows a check runs in this program started again, whose earlier
 * tpark_conformance_run calls return 0 unrun (tpark/conformance.h): its
 * CHECKs mean nothing, and stay quiet. */
static bool quiet;

#define CHECK(cond)                                                                        \
  do {                                                                                     \
    checks++;                                                                              \
    if (!(cond)) {                                                                         \
      if (!quiet) fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                                          \
    }                                                                                      \
  } while (0)

/* ---- the report, captured ------------------------------------------------ */

static char lines[64][600];
static int n_lines;

static void capture(void *arg, const char *line) {
  (void)arg;
  printf("  | %s\n", line);
  if (n_lines < 64) snprintf(lines[n_lines++], sizeof lines[0], "%s", line);
}

/* The number of captured lines that start with prefix. */
static int lines_starting(const char *prefix) {
  int n = 0;
  for (int i = 0; i < n_lines; i++) n += strncmp(lines[i], prefix, strlen(prefix)) == 0;
  return n;
}

static int run(tpark_conformance_subject *s) {
  n_lines = 0;
  s->report = capture;
  return tpark_conformance_run(s);
}

/* ---- the default backend, with one thing broken ------------------------------ */

static tpark_backend real;

static tpark_status backend(tpark_backend *b) {
  const tpark_backend *found = tpark_default_backend();
  if (found == NULL) return TPARK_ENOBACKEND;
  real = *b = *found;
  return TPARK_OK;
}

static bool early_park_until(const tpark_backend *self, tpark_parker *p, tpark_instant d) {
  return real.park_until(self, p, d != TPARK_NEVER && d > MS ? d - MS : d);
}
static tpark_status early(tpark_backend *b) {
  tpark_status st = backend(b);
  b->park_until = early_park_until;
  return st;
}

static void *lost_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  (void)p;
  return NULL; /* forgets to mark the parker unparked */
}
static tpark_status lost(tpark_backend *b) {
  tpark_status st = backend(b);
  b->unpark_lock = lost_unpark_lock;
  return st;
}

static void crashing_park(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  (void)p;
  abort(); /* not SIGSEGV: ASan would turn that into an exit status */
}
static tpark_status crashing(tpark_backend *b) {
  tpark_status st = backend(b);
  b->park = crashing_park;
  return st;
}

static tpark_status unsupported(tpark_backend *b) {
  (void)b;
  return TPARK_ENOTSUP;
}

int main(void) {
  tpark_conformance_subject s;
  quiet = getenv("TPARK_CONFORMANCE_CHILD") != NULL;

  /* A correct backend passes (the baseline of the mutants below). */
  memset(&s, 0, sizeof s);
  s.create = backend;
  s.only = "never_early,unpark_while_parked";
  CHECK(run(&s) == 0);
  CHECK(lines_starting("PASS ") == 2);
  CHECK(lines_starting("100%: Checks: 2, Failures: 0, Errors: 0") == 1);

  /* Early timeout: never_early fails naming the rule. */
  memset(&s, 0, sizeof s);
  s.create = early;
  s.only = "never_early,past_deadline_times_out_at_once";
  CHECK(run(&s) == 1);
  CHECK(lines_starting("FAIL never_early: never early: park_until returned false ") == 1);
  CHECK(lines_starting("PASS past_deadline_times_out_at_once") == 1);
  CHECK(lines_starting("50%: Checks: 2, Failures: 1, Errors: 0") == 1);

  /* The same in this process: the failure is in the check's own thread, so
   * the run goes on to the next check. */
  s.flags = TPARK_CONFORMANCE_NO_FORK;
  CHECK(run(&s) == 1);
  CHECK(lines_starting("FAIL never_early: never early: ") == 1);
  CHECK(lines_starting("PASS past_deadline_times_out_at_once") == 1);

  /* Lost wake-up: the park hangs; the per-check timeout names the rule. */
  memset(&s, 0, sizeof s);
  s.create = lost;
  s.only = "unpark_while_parked";
  s.timeout_s = 1;
  CHECK(run(&s) == 1);
  CHECK(lines_starting("ERROR unpark_while_parked: never lost: ") == 1);
  CHECK(lines_starting("0%: Checks: 1, Failures: 0, Errors: 1") == 1);

  /* A crash fails that check only. */
  memset(&s, 0, sizeof s);
  s.create = crashing;
  s.only = "unpark_before_park,past_deadline_times_out_at_once";
  CHECK(run(&s) == 1);
#if defined(_WIN32)
  CHECK(lines_starting("ERROR unpark_before_park: exited with code 0x3,") == 1); /* abort() */
#else
  CHECK(lines_starting("ERROR unpark_before_park: crashed: signal 6") == 1);
#endif
  CHECK(lines_starting("PASS past_deadline_times_out_at_once") == 1);

  /* create fails: every check fails with the status. */
  memset(&s, 0, sizeof s);
  s.create = unsupported;
  s.only = "vtable";
  CHECK(run(&s) == 1);
  CHECK(lines_starting("FAIL vtable: setup: create failed: ") == 1);

  /* Bad subjects: -1, nothing run. */
  CHECK(tpark_conformance_run(NULL) == -1);
  memset(&s, 0, sizeof s);
  CHECK(run(&s) == -1); /* no create */
  s.create = backend;
  s.only = "never_early,no_such_check";
  CHECK(run(&s) == -1);
  CHECK(n_lines == 0);

  /* main's command line. */
  memset(&s, 0, sizeof s);
  s.create = backend;
  s.report = capture;
  char prog[] = "t", bad[] = "--bogus", one[] = "vtable";
  char *bad_argv[] = {prog, bad, NULL}, *one_argv[] = {prog, one, NULL};
  CHECK(tpark_conformance_main(&s, 2, bad_argv) == 2);
  CHECK(tpark_conformance_main(&s, 2, one_argv) == 0);
  CHECK(tpark_conformance_main(NULL, 1, one_argv) == 2);

  /* The summary line of the other suites, for tools/test's listing. */
  printf("%d%%: Checks: %d, Failures: %d, Errors: 0\n", (checks - failures) * 100 / checks, checks,
         failures);
  return failures ? 1 : 0;
}
