/* The conformance suite (tpark/conformance.h): every promise of tpark/tpark.h
 * written once as a check (checks.c), and here the runner, with no test
 * framework: tpark_conformance_run and tpark_conformance_main.
 *
 * A check runs against a fresh backend from the subject's create. A failed
 * expectation ends the check with "<rule>: <what happened>" (harness.c).
 * Each check runs in a child process (child_fork.c, child_spawn.c), so a
 * crash, a hang or a sanitizer's exit status fails that check only. With
 * TPARK_CONFORMANCE_NO_FORK the check runs here: a failure in the check's
 * own thread with none of its threads left running returns to the runner;
 * any other failure, or the watchdog's timeout, ends the run with the
 * summary. */
#include "tpark/conformance.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance/internal.h"

/* ---- the watchdog of a run without child processes -------------------------- */

/* Ends the process when a check takes longer than its timeout. */
static struct {
  int stop;
  long started; /* time(NULL) when the running check started; 0: none */
  const char *hang;
} watchdog;

static void *watchdog_main(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&watchdog.stop, __ATOMIC_ACQUIRE)) {
    long started = __atomic_load_n(&watchdog.started, __ATOMIC_ACQUIRE);
    unsigned timeout_s = tpark__conformance_timeout_s();
    if (started != 0 && (long)time(NULL) - started > (long)timeout_s) {
      tpark__conformance_report(
          "ERROR %s: %s: no result after %u s (timeout)",
          __atomic_load_n(&tpark__conformance_tally.current_check, __ATOMIC_ACQUIRE),
          __atomic_load_n(&watchdog.hang, __ATOMIC_ACQUIRE), timeout_s);
      tpark__conformance_tally.errors++;
      tpark__conformance_summary();
      _Exit(1);
    }
    tpark__conformance_pause_ms(50);
  }
  return NULL;
}

static enum tpark__conformance_outcome run_watched(const struct tpark__conformance_check *c,
                                                   char *msg) {
  __atomic_store_n(&watchdog.hang, c->hang, __ATOMIC_RELEASE);
  __atomic_store_n(&watchdog.started, (long)time(NULL), __ATOMIC_RELEASE);
  int failed = tpark__conformance_run_here(c, msg);
  __atomic_store_n(&watchdog.started, 0, __ATOMIC_RELEASE);
  return failed ? TPARK__CONFORMANCE_FAILED : TPARK__CONFORMANCE_PASSED;
}

/* ---- which checks ------------------------------------------------------------ */

static bool selected(const char *only, const char *name) {
  if (only == NULL) return true;
  size_t n = strlen(name);
  for (const char *s = only; *s != '\0';) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len == n && strncmp(s, name, n) == 0) return true;
    s += len + (end != NULL);
  }
  return false;
}

/* An error message if only names a check that does not exist. */
static bool only_is_valid(const char *only) {
  if (only == NULL) return true;
  for (const char *s = only; *s != '\0';) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    bool known = false;
    for (size_t i = 0; i < tpark__conformance_n_checks; i++) {
      const char *name = tpark__conformance_checks[i].name;
      if (strlen(name) == len && strncmp(name, s, len) == 0) known = true;
    }
    if (!known) {
      fprintf(stderr, "tpark conformance: no check named \"%.*s\" (--list shows them)\n", (int)len,
              s);
      return false;
    }
    s += len + (end != NULL);
  }
  return true;
}

int tpark_conformance_run(const tpark_conformance_subject *s) {
  if (s == NULL || s->create == NULL) {
    fprintf(stderr, "tpark_conformance_run: %s\n",
            s == NULL ? "no subject (NULL)" : "the subject has no create function");
    return -1;
  }
  if (!only_is_valid(s->only)) return -1;
  tpark__conformance_subject = s;
  if (tpark__conformance_child_entry()) { /* a child process, in its parent's earlier run */
    tpark__conformance_subject = NULL;
    return 0;
  }
  struct tpark__conformance_tally *tally = &tpark__conformance_tally;
  tally->passed = tally->failed = tally->errors = 0;
  bool use_child = !(s->flags & TPARK_CONFORMANCE_NO_FORK);
  const char *label = s->label ? s->label : s->name ? s->name : "backend";
  tpark__conformance_report("conformance[%s]: %s, timeout %u s each", label,
                            use_child ? "each check in a child process" : "checks in this process",
                            tpark__conformance_timeout_s());
  pthread_t wd;
  bool wd_started = false;
  if (!use_child) {
    __atomic_store_n(&watchdog.stop, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&watchdog.started, 0, __ATOMIC_RELEASE);
    wd_started = pthread_create(&wd, NULL, watchdog_main, NULL) == 0;
    if (!wd_started) tpark__conformance_report("(no watchdog thread: a hang is not timed out)");
  }
  for (size_t i = 0; i < tpark__conformance_n_checks; i++) {
    const struct tpark__conformance_check *c = &tpark__conformance_checks[i];
    if (!selected(s->only, c->name)) continue;
    if (s->flags & c->skip_if) {
      tpark__conformance_report("SKIP %s (unpark may block: TPARK_CONFORMANCE_UNPARK_MAY_BLOCK)",
                                c->name);
      continue;
    }
    __atomic_store_n(&tally->current_check, c->name, __ATOMIC_RELEASE);
    char msg[TPARK__CONFORMANCE_MSG_CAP] = "";
    enum tpark__conformance_outcome o =
        use_child ? tpark__conformance_run_in_child(c, msg) : run_watched(c, msg);
    if (o == TPARK__CONFORMANCE_PASSED) {
      tally->passed++;
      tpark__conformance_report("PASS %s", c->name);
    } else if (o == TPARK__CONFORMANCE_FAILED) {
      tally->failed++;
      tpark__conformance_report("FAIL %s: %s", c->name, msg);
    } else {
      tally->errors++;
      tpark__conformance_report("ERROR %s: %s", c->name, msg);
    }
  }
  if (wd_started) {
    __atomic_store_n(&watchdog.stop, 1, __ATOMIC_RELEASE);
    pthread_join(wd, NULL);
  }
  tpark__conformance_summary();
  tpark__conformance_subject = NULL;
  return tally->failed + tally->errors;
}

int tpark_conformance_main(const tpark_conformance_subject *s, int argc, char **argv) {
  if (s == NULL) {
    fprintf(stderr, "tpark_conformance_main: no subject (NULL)\n");
    return 2;
  }
  tpark_conformance_subject copy = *s;
  size_t cap = 1;
  for (int i = 1; i < argc; i++) cap += strlen(argv[i]) + 1;
  char *only = calloc(1, cap);
  if (only == NULL) {
    fprintf(stderr, "tpark_conformance_main: out of memory\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--list") == 0) {
      for (size_t c = 0; c < tpark__conformance_n_checks; c++) {
        printf("%s\n", tpark__conformance_checks[c].name);
      }
      free(only);
      return 0;
    } else if (strcmp(argv[i], "--no-fork") == 0) {
      copy.flags |= TPARK_CONFORMANCE_NO_FORK;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: %s [--list] [--no-fork] [CHECK...]\n", argv[0]);
      free(only);
      return 2;
    } else {
      if (only[0] != '\0') strcat(only, ",");
      strcat(only, argv[i]);
    }
  }
  if (only[0] != '\0') copy.only = only;
  int r = tpark_conformance_run(&copy);
  free(only);
  return r < 0 ? 2 : r > 0 ? 1 : 0;
}
