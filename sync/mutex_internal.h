/* Internal header (not installed): the mutex's state bits and unpark tokens
 * (sync/mutex.c), shared with the locks that hand waiters over to a mutex
 * (the condition variable requeues its waiters onto one). */
#ifndef TPARK_SYNC_MUTEX_INTERNAL_H
#define TPARK_SYNC_MUTEX_INTERNAL_H

#include <stdint.h>

#include "tpark/mutex.h"

/* tpark_mutex.state_: LOCKED while held; PARKED while threads may be parked
 * on the mutex's address in the lot (set under the bucket lock before they
 * park, cleared by whoever takes the last one out). */
#define TPARK__MUTEX_LOCKED 1u
#define TPARK__MUTEX_PARKED 2u

/* The unpark token a woken waiter receives: NORMAL, compete for the mutex;
 * HANDOFF, the unlocker kept it LOCKED for you, you own it now. */
#define TPARK__MUTEX_TOKEN_NORMAL ((uintptr_t)0)
#define TPARK__MUTEX_TOKEN_HANDOFF ((uintptr_t)1)

/* Lock and unlock without reporting to the observers (sync/observe.h): for
 * the locks built on a tpark_mutex, which report their own operations (the
 * condition variable, the recursive mutex), and for checked mode's own
 * data. acquire: true when acquired (false only past deadline). */
bool tpark__mutex_acquire(tpark_mutex *m, tpark_instant deadline);
void tpark__mutex_release(tpark_mutex *m);

#endif /* TPARK_SYNC_MUTEX_INTERNAL_H */
