/* tpark wait on address: Windows' WaitOnAddress contract on every OS and
 * every backend.
 *
 * A thread waits while a variable holds a value; another thread changes the
 * variable, then wakes the threads waiting on its address:
 *
 *   waiter                                   waker
 *   while (atomic_load(&flag) == 0)          atomic_store(&flag, 1);
 *     tpark_wait_on_address(&flag, &zero,    tpark_wake_by_address_all(&flag);
 *                           sizeof flag, TPARK_NEVER);
 *
 * Where the process default backend has a native address wait (the
 * `waitaddress` backend: WaitOnAddress itself; see docs/backends.md,
 * "native address wait") the calls go straight to it. Elsewhere they use the
 * parking lot (tpark/lot.h), keyed by addr: the value check and the queueing
 * happen under the key's bucket lock, so a wake after the value changed is
 * never lost. Waiters and wakers of one address must therefore see the same
 * default backend: change it only while no thread waits on an address.
 *
 * Deadlines are instants on the default backend's clock (tpark_lot_now(),
 * tpark_lot_deadline()); with the mock as default they run on its fake clock.
 * A wait is not a cancellation point (tpark/tpark.h).
 */
#ifndef TPARK_WAIT_H
#define TPARK_WAIT_H

#include <stdbool.h>
#include <stddef.h>

#include "tpark/lot.h"
#include "tpark/tpark.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Waits while the size bytes at addr equal those at compare. Returns true when
 * woken by a tpark_wake_by_address_* call on addr, or at once when *addr
 * differs from *compare at entry; as on Windows a true return may also be
 * spurious, so callers recheck the value in a loop. Returns false only when
 * deadline (tpark_lot_now()'s clock; TPARK_NEVER: none) has passed, never
 * before. size must be 1, 2, 4 or 8, and addr aligned to size; addr and
 * compare must not be NULL. Anything else is a programming error: the call
 * prints what was wrong to stderr and aborts (a false return would read as a
 * timeout). *addr is read atomically; compare need not be aligned. */
bool tpark_wait_on_address(volatile void *addr, const void *compare, size_t size,
                           tpark_instant deadline);

/* Wakes one thread waiting on addr (the longest waiting, on the lot), if
 * any. NULL does nothing. */
void tpark_wake_by_address_single(void *addr);

/* Wakes every thread waiting on addr. NULL does nothing. */
void tpark_wake_by_address_all(void *addr);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_WAIT_H */
