/* tpark conformance suite: checks that a backend keeps every promise of
 * tpark/tpark.h (never lost, never early, one cycle at a time, timed_out,
 * memory ordering, lifetime, the clock, the vtable rules). Bazel target
 * @tpark//:conformance (testonly); no test framework needed.
 *
 * A whole test of a custom backend (tpark/backend.h):
 *
 *   #include "tpark/conformance.h"
 *   #include "my_backend.h"        // tpark_status my_create(tpark_backend *)
 *
 *   int main(int argc, char **argv) {
 *     tpark_conformance_subject s = {0};
 *     s.create = my_create;        // a fresh backend for every check
 *     s.destroy = my_destroy;      // optional
 *     return tpark_conformance_main(&s, argc, argv);
 *   }
 *
 * A backend obtained from a factory (const tpark_backend *) is handed over as
 * a copy: `*b = *factory(); return TPARK_OK;` (a copy of a valid backend is a
 * valid backend). Wrapping one backend in another works the same way: create
 * the inner one, then fill *b with the wrapper.
 *
 * Each check runs in a child process of its own (POSIX: fork(); Windows: this
 * program started again, see tpark_conformance_run), with a timeout: a crash,
 * a hang or a sanitizer report fails that check only.
 *
 * The report (stdout, or the report hook) has one line per check, e.g.
 *   FAIL never_early: never early: park_until returned false 1.000 ms before its deadline
 * i.e. the check, the rule it broke and what happened, then a summary line
 *   95%: Checks: 22, Failures: 1, Errors: 0
 * (Errors: crashes and timeouts; the same line as the Check framework's).
 *
 * Public header: standard C only, C99 and C++11.
 */
#ifndef TPARK_CONFORMANCE_H
#define TPARK_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpark/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of tpark_conformance_subject.flags. */
/* unpark may block until the owner has entered its wait (keyed events; see
 * tpark/tpark.h): skips the check that unpark returns while the owner is
 * still between prepare_park and park. */
#define TPARK_CONFORMANCE_UNPARK_MAY_BLOCK 0x1u
/* Run every check in this process, with a watchdog thread for the timeout
 * (e.g. under a debugger). A failure in the check's own thread is reported
 * and the run goes on; one that leaves a thread of the check running, or a
 * timeout, ends the run (and the process) after the summary. */
#define TPARK_CONFORMANCE_NO_FORK 0x2u

/* The backend under test and how to drive it. Zero-initialise it, then set
 * what applies; only create is required. Members are only ever appended. */
typedef struct tpark_conformance_subject {
  /* Fills *b with a new, ready backend (a fresh one for every check, in the
   * process that runs the check). Anything but TPARK_OK fails the check. */
  tpark_status (*create)(tpark_backend *b);
  /* Optional: releases what create made, after the check, once no thread
   * uses b any more. */
  void (*destroy)(tpark_backend *b);

  /* Optional: the name tpark_backend_name must report. NULL: any non-empty
   * name. */
  const char *name;
  /* Optional: shown in the report, e.g. "spin". NULL: the backend's name. */
  const char *label;

  /* Optional: fake time. When set, b's clock moves only through this call
   * (e.g. tpark_mock_advance); the suite moves it while a park_until waits.
   * NULL: b's clock is real time, and timeouts of a few ms really pass. */
  void (*advance)(const tpark_backend *b, uint64_t ns);
  /* Optional: waits at most timeout_ms of real time until n threads sleep in
   * b; true once they do (e.g. tpark_mock_wait_sleepers). The suite uses it
   * to make an interleaving likely, never to decide a result. NULL: it
   * pauses 1 ms instead. */
  bool (*wait_sleepers)(const tpark_backend *b, size_t n, unsigned timeout_ms);

  /* TPARK_CONFORMANCE_* flags. */
  unsigned flags;
  /* Per-check timeout in seconds (real time). 0: 120. */
  unsigned timeout_s;
  /* Optional: comma-separated names of the checks to run. NULL: all. */
  const char *only;

  /* Optional: receives each report line (no newline) instead of stdout. */
  void (*report)(void *report_arg, const char *line);
  void *report_arg;
} tpark_conformance_subject;

/* Runs the checks of s (all, or those in s->only) one after another and
 * reports each. Returns the number that failed or erred (0: all passed), or
 * -1 with a message when s is unusable (NULL, no create, an unknown name in
 * only).
 *
 * On Windows a check's child process is this program started again with
 * the same command line; in it, the n-th call of tpark_conformance_run runs
 * the check of the parent's n-th call and ends the process, earlier calls
 * return 0 at once. So main must reach the same calls again: do not make
 * them depend on anything but the command line and the environment. */
int tpark_conformance_run(const tpark_conformance_subject *s);

/* For main(): the command line is [--list] [--no-fork] [CHECK...] (CHECKs
 * replace s->only). --list prints the names of the checks. Returns the exit
 * status: 0 when every check passed, 1 when one failed, 2 for a bad command
 * line or subject (with a message on stderr). */
int tpark_conformance_main(const tpark_conformance_subject *s, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_CONFORMANCE_H */
