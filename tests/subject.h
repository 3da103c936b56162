/* The subjects of tpark's own conformance tests: each built-in backend, the
 * process default, the mock and the built-ins on the fake OS, handed to the
 * public suite (tpark/conformance.h) the way any user hands theirs. */
#ifndef TPARK_TESTS_SUBJECT_H
#define TPARK_TESTS_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpark/conformance.h"

/* The subject called name (once per process): a built-in ("futex",
 * "condvar", "waitaddress", "keyed_event"), "mock", "<built-in>_fake" for a
 * built-in on the fake OS (fake time), or "default:<built-in>" for the
 * process default (real TPARK_BACKEND), which must be that built-in; any of
 * them prefixed "checked:" is wrapped in tpark_checked_backend. NULL,
 * with a message, when there is no such subject. */
const tpark_conformance_subject *subject_open(const char *name);

/* The other suites (Check fixtures) get one backend of the opened subject
 * per test: subject_setup creates it (a message when it fails, then
 * subject_backend is NULL), subject_teardown releases it. */
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
