/* Runs a function of the test program in a child process, with a timeout
 * and its stderr captured: how tests watch an abort (tpark__fatal, checked
 * mode), a process exit, or anything else that must not take the test
 * process down.
 *
 * POSIX: fork(). The child is a copy of the caller at the call, with what
 * the test's fixture set up.
 * Windows (no fork): this program started again, with the same command line
 * and TPARK_TEST_CHILD in its environment naming the function. Its main runs
 * as usual until it calls child_serve() (run_suite does, tests/run_suite.h),
 * which runs the function there, as a Check test of its own, and ends the
 * process. What main did before is there; what a Check fixture did is not:
 * pass the fixture (or what fn needs of it) as setup, which runs first in
 * such a fresh child, and nowhere else.
 * Either way fn and setup may use Check's assertions: one that fails ends
 * the child with status 1 and the failure on its stderr (Windows), or fails
 * the calling test (POSIX, where Check forks each test). */
#ifndef TPARK_TESTS_CHILD_H
#define TPARK_TESTS_CHILD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct child_result {
  bool timed_out; /* still running after the timeout: killed */
  bool aborted;   /* ended by abort(): SIGABRT (POSIX), exit code 3 (Windows) */
  bool exited;    /* ended by exit(), or fn returned (status 0) */
  int exit_code;  /* when exited */
  int signal;     /* POSIX: the signal that ended it; 0 if none */
  unsigned timeout_s;
  char err[4096]; /* what it wrote to stderr (the start of it), NUL-terminated */
} child_result;

/* Runs fn in a child and waits at most timeout_s seconds for it to end. A
 * Check assertion fails when no child can be made. */
child_result child_run(void (*fn)(void), void (*setup)(void), unsigned timeout_s);

/* What happened, in words, for assertion messages: "aborted", "exited with
 * status 2", "killed by signal 11", "timed out after 60 s". */
const char *child_describe(const child_result *r, char *buf, size_t cap);

/* Asserts (Check) that fn, run in a child (setup as for child_run), aborts
 * within 60 s and that its stderr contains every string of want[0..n-1]. */
void expect_abort(void (*fn)(void), void (*setup)(void), const char *const *want, size_t n);

/* In a child that child_run started on Windows: runs its setup and function,
 * then ends the process with exit() (status 0, or 1 when an assertion
 * failed). Elsewhere it returns at once. */
void child_serve(void);

#endif /* TPARK_TESTS_CHILD_H */
