/* The backend a suite runs against ("subject"), picked by name on the test
 * program's command line, and how time passes for it: real time for real
 * backends, a fake clock (mock, or the fake OS) that the tests move. */
#ifndef TPARK_TESTS_SUBJECT_H
#define TPARK_TESTS_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpark/backend.h"

/* Sets up the subject called name (once per process, before the suite): a
 * built-in ("futex", "condvar", "waitaddress", "keyed_event"), "mock",
 * "<built-in>_fake" for a built-in on the fake OS, "default:<built-in>"
 * for the process default (real TPARK_BACKEND), which must be that
 * built-in, or "example" (tests/example_backend, docs/backends.md); any of
 * them prefixed "checked:" is wrapped in tpark_checked_backend. False,
 * with a message, when there is no such subject. */
bool subject_open(const char *name);
/* Per test (Check fixture): creates the subject's backend afresh. */
void subject_setup(void);
void subject_teardown(void);

const tpark_backend *subject_backend(void);
/* The backend name tpark_backend_name must report. */
const char *subject_backend_name(void);
/* True when time passes only through subject_advance. */
bool subject_fake_time(void);
/* Moves fake time forward (nothing for real time). */
void subject_advance(uint64_t ns);
/* Best effort: waits at most timeout_ms (real time) until n threads sleep
 * in the backend. Fake subjects can tell; for real ones it only lets 1 ms
 * pass. A pause to make an interleaving likely, never an assertion. */
void subject_wait_sleepers(size_t n, unsigned timeout_ms);

/* Sleeps in real time (a pause for another thread, never an assertion). */
void test_sleep_ms(unsigned ms);

#endif /* TPARK_TESTS_SUBJECT_H */
