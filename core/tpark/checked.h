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

#include <stddef.h>

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

/* ---- checked mode for locks ------------------------------------------------
 *
 * Under TPARK_CHECKED=1 (read once, when the program or library is loaded)
 * every operation of tpark's locks (tpark/mutex.h, tpark/cond.h,
 * tpark/once.h, tpark/rwlock.h) is checked, and a misuse ends the process
 * (abort) with one line on stderr naming the rule, the call, the lock (its
 * label, else its address) and the thread:
 *
 *   tpark checked: rule "unlock by the holder" broken by
 *   tpark_mutex_unlock(mutex "queue") in thread 2: thread 2 does not hold
 *   this mutex (thread 1 holds it)
 *
 * The rules ("name": what breaks it):
 * - "unlock by the holder": unlocking a mutex, recursive mutex or rwlock
 *   that the calling thread does not hold.
 * - "no re-lock": tpark_mutex_lock or _lock_until of a mutex the calling
 *   thread holds (it would wait for itself; trylock just fails); a blocking
 *   or timed acquisition of an rwlock the thread holds in any mode (with a
 *   writer waiting in between, it waits for itself).
 * - "the mode held": an rwlock released in another mode than the one the
 *   thread holds it in (a read lock released as a write lock, the reverse,
 *   or as an upgradable lock), an upgrade without the upgradable lock, a
 *   downgrade without the write lock.
 * - "cond wait with its mutex held": tpark_cond_wait(_until) with a mutex
 *   the calling thread does not hold.
 * - "one mutex per cond": a cond waited on with a mutex while its waiters
 *   use another.
 * - "once not re-entered": tpark_once_call (or _try_call) of a once from
 *   its own fn.
 * - "release before exit": a thread that exits holding a tpark lock.
 * - "lock order": a thread takes B while holding A, and earlier some
 *   threads took A while holding B (directly, or through a chain of other
 *   locks): reported at the acquisition that closes the cycle, whether or
 *   not those threads could ever run at the same time, before any deadlock,
 *   with every order of the cycle and the threads that took them. Trylocks
 *   add no order (they cannot wait); timed acquisitions do.
 *
 * Threads are numbered 1, 2, ... in the order they first used a checked
 * parker or lock, as in the parker's messages.
 *
 * Cost: every lock operation goes out of line and updates the calling
 * thread's record (no lock shared with other threads) and, for an order of
 * two locks this thread has not taken before, the process-wide lock-order
 * graph. With TPARK_CHECKED unset the locks run as they are, behind one
 * predictable branch (tpark/observed.h). */

/* Names lock in checked mode's messages (the name is copied, up to 47
 * characters; NULL removes it). Nothing happens outside checked mode. */
void tpark_checked_label(const void *lock, const char *name);

/* Forgets what checked mode knows of lock: its label and its place in the
 * lock-order graph. Call it before a lock's memory is freed or reused for
 * another lock (not needed for locks that live as long as the process):
 * otherwise the new lock inherits the old one's orders, and an order that
 * the new lock never had could be reported. The lock must not be held.
 * tpark/sync.hpp's destructors call it. Outside checked mode it returns at
 * once. */
void tpark_checked_forget(const void *lock);

/* Describes the threads deadlocked right now: a cycle of threads each
 * waiting, without a deadline, to acquire a tpark lock (or for a once's
 * run) that the next one holds, e.g.
 *   deadlock of 2 threads: thread 2 waits for mutex "a", which thread 3
 *   holds; thread 3 waits for mutex "b", which thread 2 holds
 * Writes at most cap bytes into buf, NUL included (as snprintf) and returns
 * the length of the whole description; 0 when no thread is deadlocked, or
 * outside checked mode. For a watchdog or a test's timeout handler; any
 * thread, any time, but not from a signal handler (it allocates and takes
 * checked mode's lock). */
size_t tpark_checked_deadlocks(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_CHECKED_H */
