/* tpark condition variable: waits on a tpark_mutex that owns no OS object,
 * after parking_lot's Condvar, on the parking lot (tpark/lot.h).
 *
 *   static tpark_mutex m = TPARK_MUTEX_INIT;
 *   static tpark_cond ready = TPARK_COND_INIT;
 *
 *   waiter                                  notifier
 *   tpark_mutex_lock(&m);                   tpark_mutex_lock(&m);
 *   while (!done) tpark_cond_wait(&ready,   done = true;
 *                                 &m);      tpark_cond_notify_one(&ready);
 *   ...                                     tpark_mutex_unlock(&m);
 *   tpark_mutex_unlock(&m);
 *
 * A wait releases the mutex and sleeps, as one step with respect to
 * notifiers: a notify made after the waiter released the mutex (typically by
 * a thread that then locked it) finds the waiter. The mutex is held again
 * when the wait returns, whatever the reason. No spurious wake-ups: a wait
 * returns only when a notify chose it or its deadline passed. Waiters are
 * notified in the order they started to wait (FIFO).
 *
 * A notify may be made with or without the mutex held. notify_all wakes
 * every waiter of the moment; notify_one wakes the longest waiter or, when
 * that is cheaper (the notifier last waited on this cond and the mutex is
 * locked), moves it straight onto the mutex's queue, where it waits for the
 * mutex like any locker (it counts as notified: its wait returns true once
 * it holds it). Which one, and why, is in docs/locks.md.
 *
 * All the waiters of one condition variable must use the same mutex at a
 * time; after every waiter has left (notified or timed out) it may be used
 * with another. Waiting with a second mutex while the first one's waiters
 * remain is a programming error: the wait prints what was wrong to stderr
 * and aborts, with the mutex still held (checked mode for locks, tpark/checked.h,
 * names both; it also reports a wait without the mutex held). Any memory
 * zeroed is a condition variable nobody waits on; no
 * destructor: the memory may be reused once no thread waits on it. It must
 * not be copied while in use. Deadlines are instants on the default
 * backend's clock (tpark_lot_now(), tpark_lot_deadline()), so the mock drives
 * them. C99 and C++11; includes no OS header.
 */
#ifndef TPARK_COND_H
#define TPARK_COND_H

#include <stdbool.h>
#include <stddef.h>

#include "tpark/lot.h"
#include "tpark/mutex.h"
#include "tpark/tpark.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One pointer. The member is private: the mutex of the current waiters
 * (NULL while none wait). */
typedef struct tpark_cond {
  tpark_mutex *mutex_;
} tpark_cond;

/* A condition variable nobody waits on (all zero). */
#define TPARK_COND_INIT \
  { 0 }

/* Releases m, which the caller holds, and waits until notified; then locks m
 * again before returning. */
void tpark_cond_wait(tpark_cond *c, tpark_mutex *m);

/* As tpark_cond_wait, but waits until deadline at most (an instant on
 * tpark_lot_now()'s clock; TPARK_NEVER waits like tpark_cond_wait). True
 * when notified; false only once the deadline has passed and no notify chose
 * this thread. Either way m is held again on return (relocking m may take
 * longer than the deadline). */
bool tpark_cond_wait_until(tpark_cond *c, tpark_mutex *m, tpark_instant deadline);

/* Wakes the thread that has waited longest on c, if any: true when there was
 * one (its wait returns true). */
bool tpark_cond_notify_one(tpark_cond *c);

/* Wakes every thread waiting on c: how many there were (each of their waits
 * returns true). */
size_t tpark_cond_notify_all(tpark_cond *c);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_COND_H */
