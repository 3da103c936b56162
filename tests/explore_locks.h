/* What the two files of explore_locks_test share (explore_locks_test.c:
 * the runner, the mutex, cond, once, recursive mutex and wait on address;
 * explore_locks_rwlock.c: the rwlock). */
#ifndef TPARK_TESTS_EXPLORE_LOCKS_H
#define TPARK_TESTS_EXPLORE_LOCKS_H

#include <check.h>
#include <stdint.h>

#include "tpark/explore.h"

#define HOUR UINT64_C(3600000000000)

/* Runs body under BOUNDED with 2 preemptions (which must finish), then 300
 * runs of RANDOM and of PCT; fails the test with the failed run's report,
 * and prints the runs, decisions and seconds of each. */
void explore_all(const char *name, void (*body)(void *));

/* Counts over all the runs of a test, to show that the schedules that
 * matter happened (a timeout and no timeout, ...). Written by the bodies,
 * never read by them: runs stay deterministic. Zeroed by each test. */
extern uint64_t seen[4];

/* Inside a run: a point where the explorer may run another thread (a notify
 * of a cond nobody waits on; it does nothing else). The explorer's own
 * points are before a lock, once it is taken and after the unlock; the
 * bodies call this in the middle of their critical sections too (after a
 * notify, between the halves of a write). */
void step(void);

/* First thing in each run: resets step()'s cond. */
void begin_run(void);

/* Inside a run: fails it unless the clock has reached deadline. */
void check_not_early(tpark_instant deadline, const char *what);

/* The rwlock's tests (explore_locks_rwlock.c). */
void add_rwlock_tests(TCase *tc);

#endif /* TPARK_TESTS_EXPLORE_LOCKS_H */
