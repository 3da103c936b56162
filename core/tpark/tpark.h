/* tpark: thread parking.
 *
 * A parker puts its owning thread to sleep until another thread unparks it or
 * a deadline passes. Locks, condition variables and thread pools are built on
 * it. The work is done by a backend (see tpark/backend.h), picked at run time.
 *
 * The cycle (one owning thread, any number of wakers):
 *
 *   owner                               waker
 *   -----                               -----
 *   lock(queue)
 *   tpark_prepare_park(&p)
 *   push(queue, &p)
 *   unlock(queue)
 *   tpark_park(&p)   (or park_until)    lock(queue)
 *                                       q = pop(queue)
 *                                       h = tpark_unpark_lock(q)
 *                                       unlock(queue)
 *                                       tpark_unpark(h)
 *
 * One park per cycle: once park or park_until has returned, the cycle is over;
 * call tpark_prepare_park again before the next park.
 *
 * Guarantees (for every backend that passes the conformance suite):
 * - Never lost: an unpark_lock made after prepare_park makes the park of that
 *   cycle return true, whether it comes before or during the park.
 * - Never early: park returns only after an unpark_lock of its cycle (spurious
 *   OS wake-ups are absorbed); park_until returns false only once the deadline
 *   has passed on the backend's clock and no unpark_lock of the cycle won.
 * - Ordering: writes made by the waker before unpark_lock are visible to the
 *   owner once its park returns true, with no lock around them.
 * - Lifetime: the owner may reuse or free the parker as soon as its park
 *   returns; tpark_unpark does not touch the parker's memory.
 * - Cancellation: no tpark wait is a cancellation point (tpark_park,
 *   tpark_park_until, and the lot, wait and mutex calls built on them), on
 *   every backend tpark provides, the mock included. A thread cancelled (pthread_cancel) while it
 *   waits stays in its wait; the cancel stays pending and acts at the
 *   thread's next cancellation point after the wait has returned. (A thread
 *   unwound from inside a wait would leave its data queued and the backend's
 *   locks held.) Asynchronous cancellation must not be enabled around tpark
 *   calls: none of them is async-cancel-safe.
 *
 * tpark_unpark may block briefly: with the keyed_event backend it returns only
 * once the target thread has entered its wait. Hence a thread must never unpark
 * its own prepared parker, and a thread between prepare_park and park must
 * never wait for its waker.
 *
 * Checked mode (tpark/checked.h, TPARK_CHECKED=1) aborts with a message on a
 * broken rule of this contract instead of letting it hang on some backend.
 *
 * Everything here is C99 and C++11 and includes no OS header. A parker is plain
 * memory: it owns no OS object and is never destroyed.
 */
#ifndef TPARK_TPARK_H
#define TPARK_TPARK_H

#include <stdbool.h>
#include <stdint.h>

/* tpark's version, the same as MODULE.bazel's (tests/version_test.c checks
 * it); CHANGELOG.md says what each version changed. */
#define TPARK_VERSION_MAJOR 0
#define TPARK_VERSION_MINOR 1
#define TPARK_VERSION_PATCH 0

#ifdef __cplusplus
extern "C" {
#endif

/* Nanoseconds on the backend's monotonic clock. */
typedef uint64_t tpark_instant;

/* A deadline that never passes. */
#define TPARK_NEVER ((tpark_instant)UINT64_MAX)

/* The backend vtable, defined in tpark/backend.h. */
typedef struct tpark_backend tpark_backend;

/* A parker: plain memory, two words. The members belong to tpark and the
 * parker's backend; users only pass its address. */
typedef struct tpark_parker {
  const tpark_backend *backend_;
  union {
    uint32_t u32;   /* the built-in backends' state word */
    uintptr_t word; /* room for a custom backend's pointer-sized state */
  } state_;
} tpark_parker;

/* What tpark_unpark_lock hands to tpark_unpark. A zero-initialised handle is
 * valid and does nothing. Members are private. */
typedef struct tpark_unpark_handle {
  const tpark_backend *backend_;
  void *token_;
} tpark_unpark_handle;

typedef enum tpark_status {
  TPARK_OK = 0,
  TPARK_ENOBACKEND = -1, /* no usable backend on this system */
  TPARK_EINVAL = -2,     /* bad argument: NULL, unknown backend name, incomplete vtable */
  TPARK_ENOTSUP = -3     /* a known backend that this system cannot provide */
} tpark_status;

/* Binds p to the process default backend (tpark_default_backend()) and leaves
 * it not prepared. Returns TPARK_EINVAL when p is NULL; otherwise, when there is
 * no default backend, the status of the failed selection: TPARK_EINVAL
 * (TPARK_BACKEND names no built-in backend), TPARK_ENOTSUP (it names one this
 * system cannot provide) or TPARK_ENOBACKEND. Any thread, any time; a parker
 * may be re-initialised whenever it is not in a cycle. */
tpark_status tpark_init(tpark_parker *p);

/* As tpark_init, with backend b. TPARK_EINVAL when p or b is NULL, or b is not
 * a complete vtable of this ABI version (see tpark/backend.h). b must outlive
 * every use of p and of its unpark handles. */
tpark_status tpark_init_with(tpark_parker *p, const tpark_backend *b);

/* Starts a cycle: from now on an unpark_lock on p counts. Owning thread only,
 * before making p reachable to wakers. Publish p with a lock (as above) or a
 * release store that wakers read with acquire: on weakly ordered CPUs (ARM) a
 * relaxed publication could let a waker's unpark_lock miss this cycle. */
void tpark_prepare_park(tpark_parker *p);

/* Sleeps until an unpark_lock of this cycle has happened (which may already be
 * the case). Owning thread only, after tpark_prepare_park. */
void tpark_park(tpark_parker *p);

/* As tpark_park, but gives up at deadline (an instant on p's backend clock, see
 * tpark_deadline). Returns true when unparked, false when timed out: the
 * deadline has passed and no unpark_lock of this cycle came first. A deadline
 * already passed returns at once without sleeping on time (true if an
 * unpark_lock already happened). TPARK_NEVER waits like tpark_park and returns
 * true. After false, decide with tpark_timed_out under the wakers' lock. */
bool tpark_park_until(tpark_parker *p, tpark_instant deadline);

/* After tpark_park_until returned false: true unless an unpark_lock has
 * happened since, in which case the thread was unparked after all and must act
 * as such (e.g. it was already removed from the queue). Owning thread, under
 * the same lock the wakers hold around tpark_unpark_lock. */
bool tpark_timed_out(tpark_parker *p);

/* First half of an unpark: marks p unparked if it is in a cycle (prepared, or
 * timed out and not yet unparked). Only the first unpark_lock of a cycle has an
 * effect; one on a parker that is not prepared does nothing and is not
 * remembered by the next cycle. Any thread but the owner; typically under the
 * queue lock. Cheap and never blocks. */
tpark_unpark_handle tpark_unpark_lock(tpark_parker *p);

/* Second half: wakes the thread if it sleeps. Call it for every handle, after
 * releasing the queue lock. It may block until the target has entered its wait
 * (keyed_event backend), and it does not read or write the parker. */
void tpark_unpark(tpark_unpark_handle h);

/* Gives the processor to another ready thread, through the default backend
 * if it is set or already chosen, else the OS yield: it never makes the
 * choice of the default itself. */
void tpark_thread_yield(void);

/* Now on p's backend clock. p must be initialised. */
tpark_instant tpark_now(const tpark_parker *p);

/* now + timeout_ns on p's backend clock, saturating at TPARK_NEVER. */
tpark_instant tpark_deadline(const tpark_parker *p, uint64_t timeout_ns);

/* The name of p's backend: "waitaddress", "keyed_event", "futex", "condvar",
 * "mock", or a custom backend's. p must be initialised. */
const char *tpark_backend_name(const tpark_parker *p);

/* A sentence describing s; never NULL. */
const char *tpark_status_str(tpark_status s);

/* The process default backend, used by tpark_init. The first call chooses it,
 * once per process and race-free: TPARK_BACKEND=<name> when set and not empty
 * (an unknown or unavailable name gives NULL, never a fallback), else the first
 * built-in that works: waitaddress then keyed_event on Windows, futex then
 * condvar on Linux and condvar on other POSIX systems. NULL when there is none;
 * tpark_init then says why, and the failed choice prints one line saying why
 * to stderr (once per process: a misspelt TPARK_BACKEND should not go
 * unnoticed). A backend set with tpark_set_default_backend wins.
 *
 * TPARK_CHECKED=1 turns on checked mode (tpark/checked.h): the default,
 * whether selected or set, is then its checked wrapper
 * (tpark_checked_backend), so every parker that tpark_init binds aborts with
 * a message on a broken cycle rule instead of hanging on some backend.
 * Unset, empty or "0": off. Any other value is an error like an unknown
 * TPARK_BACKEND: NULL here, TPARK_EINVAL from tpark_init, and a line on
 * stderr. */
const tpark_backend *tpark_default_backend(void);

/* The built-in backend called name, created once per process (one keyed-event
 * handle per process) and shared by every caller. TPARK_EINVAL when name or out
 * is NULL or name is not a built-in ("mock" is not: see tpark/mock.h);
 * TPARK_ENOTSUP when this system cannot provide it. *out is NULL on error. */
tpark_status tpark_select_backend(const char *name, const tpark_backend **out);

/* Makes b the default for later tpark_init and tpark_default_backend calls (it
 * wins over TPARK_BACKEND); parkers keep the backend they were initialised
 * with. NULL restores automatic selection (its choice is made once per process).
 * Returns the previously set or selected default, NULL if there was none yet;
 * it never triggers a selection. b is checked by tpark_init, not here. With
 * TPARK_CHECKED=1, tpark_init and tpark_default_backend use b's checked
 * wrapper; this returns b as it was set (a selected default: as selected,
 * i.e. checked). */
const tpark_backend *tpark_set_default_backend(const tpark_backend *b);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_TPARK_H */
