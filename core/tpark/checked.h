/* tpark checked mode: a backend that wraps another one and aborts on misuse.
 *
 * Some mistakes with a parker go unnoticed on one backend and hang forever on
 * another: unparking one handle twice, parking without prepare_park, or
 * unparking your own prepared parker do nothing visible with futex, condvar or
 * waitaddress but hang with keyed_event (whose unpark waits until the owner
 * takes the release). A checked backend forwards every call to the backend it
 * wraps and first checks the rules of tpark/tpark.h; a call that breaks one
 * ends the process (abort) with one line on stderr naming the rule, the call,
 * the parker, the backend and the thread:
 *
 *   tpark checked: rule "prepare before park" broken by tpark_park(parker
 *   0x7ffc1234) on backend futex, thread 2: ...
 *
 * The rules ("name": what breaks it):
 * - "parker initialised": a call on a parker that tpark_init/tpark_init_with
 *   did not initialise at its address with a checked backend (e.g. a copy
 *   of a parker). A zeroed parker has no backend at all: any call on it
 *   crashes in dispatch, checked or not.
 * - "prepare before park": park or park_until on a parker that has not been
 *   prepared since it was initialised or since its last park returned.
 * - "one park per cycle": a second park or park_until in one cycle, or a
 *   prepare_park while a thread is parked on the parker.
 * - "owner only": park, park_until or timed_out by a thread other than the
 *   one that called prepare_park.
 * - "timed_out after a timeout": timed_out when the cycle's park_until did
 *   not return false.
 * - "no self-unpark": unpark_lock of a prepared parker by the thread that
 *   prepared it (keyed_event: its unpark would wait for itself).
 * - "one unpark per handle": tpark_unpark of a handle that was already
 *   unparked, or that no tpark_unpark_lock returned.
 * - "no re-init while parked": tpark_init_with on a parker that a thread is
 *   parked on.
 * Allowed, as tpark.h says: unpark_lock by the owner of a parker that is not
 * prepared (idle, timed out, or woken); freeing or re-initialising a parker
 * once its park returned; a prepare_park without a park.
 *
 * Bookkeeping is beside the parker, in a process-wide table keyed by the
 * parker's address: parkers stay two words and the wrapped backend sees the
 * very same parker. tpark_init_with of a checked backend resets the entry of
 * that address, so memory reused for a new parker starts clean. The table has
 * a fixed size (a few thousand parkers): when it is full the least recently
 * used entry of a parker not being parked is forgotten, and the checks that
 * would need it are skipped for that address; it never reports a false
 * violation. Each tpark_unpark_lock gets a record (its handle carries the
 * record's index and generation) until its tpark_unpark.
 *
 * Cost: a lock and a table lookup around each call (checked mode is for
 * tests). Without it nothing changes: the public functions dispatch exactly
 * as before.
 *
 * Switching it on without code changes: TPARK_CHECKED=1 in the environment
 * (see tpark_default_backend in tpark/tpark.h), e.g.
 * bazel test --test_env=TPARK_CHECKED=1 //...
 */
#ifndef TPARK_CHECKED_H
#define TPARK_CHECKED_H

#include "tpark/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The checked wrapper of inner: a backend with inner's name and clock that
 * forwards every call to inner after checking the rules above. One wrapper
 * per inner address, created on the first call and kept until the process
 * ends (nothing to free; a later call with the same inner returns the same
 * wrapper). inner must outlive the parkers initialised with the wrapper, as
 * for tpark_init_with. A checked backend passed again is returned as it is.
 * NULL when inner is NULL, not a complete vtable (tpark/backend.h), or
 * memory runs out. Any thread. */
const tpark_backend *tpark_checked_backend(const tpark_backend *inner);

/* The backend b wraps when b is a checked backend, else NULL. */
const tpark_backend *tpark_checked_inner(const tpark_backend *b);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_CHECKED_H */
