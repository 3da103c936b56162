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

/* Sleeps in real time (a pause for another thread, never an assertion). */
void test_sleep_ms(unsigned ms);

#endif /* TPARK_TESTS_SUBJECT_H */
