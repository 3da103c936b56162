/* Runs a function in a child process (POSIX only) and checks that it aborts
 * with a message: how tests see tpark's "impossible OS answer" aborts. */
#ifndef TPARK_TESTS_EXPECT_ABORT_H
#define TPARK_TESTS_EXPECT_ABORT_H

#include <stddef.h>

#if !defined(_WIN32)
#define TPARK_HAVE_EXPECT_ABORT 1
/* Asserts (Check) that fn, run in a forked child with stderr captured,
 * aborts, and that what it printed contains every string of want[0..n-1]. */
void expect_abort(void (*fn)(void), const char *const *want, size_t n);
#endif

#endif /* TPARK_TESTS_EXPECT_ABORT_H */
