/* tpark parking lot: wait queues keyed by an address, after Rust's
 * parking_lot_core.
 *
 * One process-wide hash table of buckets; each bucket holds a small lock and a
 * FIFO of the threads parked on keys that hash to it. A thread parks "on a key"
 * (any address: a lock word, a condition variable, ...); other threads unpark
 * one, all, or a filtered subset of the threads parked on that key, or move
 * them to another key (requeue). Locks and condition variables built on it need
 * no OS object and no memory of their own beyond a word (see tpark/mutex.h and
 * tpark/wait.h, both built on this).
 *
 * Callbacks run under the lock of the key's bucket (of both buckets for
 * requeue): they must be short and must not call any tpark_lot_* function nor
 * park (directly or through tpark_mutex_*, tpark_wait_on_address, ...), or the
 * thread deadlocks on the bucket lock it holds. They may read and write the
 * caller's own atomics; that is their purpose: a check done in `validate` and a
 * state change done in an unpark callback are atomic with respect to every
 * other operation on the same key.
 *
 * Callbacks and before_sleep must return normally: they must not end the
 * thread (pthread_exit, or a cancellation point reached with a cancel
 * pending), longjmp out or throw. The lot would be left with a bucket lock
 * held, or with the thread's data still queued and later freed.
 *
 * Keys are shared by everything that parks in the process: tpark_mutex parks
 * on the mutex's address, tpark_wait_on_address (where it uses the lot) on the
 * waited address. A park keyed on such an address joins that queue: an
 * unlock of the mutex may wake it with the mutex's own unpark token (one that
 * hands the locked mutex over to it), and its own unparks may wake the
 * mutex's waiters. Park on addresses that only your protocol uses.
 *
 * Waits in the lot are not cancellation points (tpark/tpark.h). A thread
 * that is exiting may still use the lot from a pthread key destructor, after
 * its own lot data was released: such a call works on temporary data and
 * leaves nothing behind. (One case is left: a thread whose very first lot
 * call comes from a destructor in the last destructor round, which only
 * happens if another key's destructor sets its key again round after round,
 * keeps that data until the process ends.)
 *
 * The backend: every thread parks with a tpark parker of its own (thread-local,
 * created on the thread's first park, released when the thread exits), bound to
 * the process default backend (tpark_default_backend()) as it is at the time of
 * each park. Deadlines are instants on that backend's clock: read it with
 * tpark_lot_now() or build one with tpark_lot_deadline(). With the mock as
 * default (tpark_set_default_backend(tpark_mock_backend(m))) every timeout of
 * the lot, and the fair-unlock timer, runs on the mock's fake clock. Changing
 * the default while threads are parked is allowed: a parked thread stays with
 * the backend it parked with and is woken through it; its next park uses the
 * new default. Deadlines passed in after a change are read on the new clock.
 *
 * There must be a default backend: when the selection failed (see
 * tpark_default_backend) the first lot operation that needs one prints why to
 * stderr and aborts (a lock cannot report an error).
 *
 * Keys are compared as addresses; a key is never dereferenced by the lot.
 * Everything here is C99 and C++11 and includes no OS header.
 */
#ifndef TPARK_LOT_H
#define TPARK_LOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpark/tpark.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The park token a thread passes to tpark_lot_park (for unpark filters) and the
 * unpark token it receives when unparked. Their meaning is the caller's. */
#define TPARK_LOT_DEFAULT_PARK_TOKEN ((uintptr_t)0)
#define TPARK_LOT_DEFAULT_UNPARK_TOKEN ((uintptr_t)0)

typedef enum tpark_lot_park_status {
  TPARK_LOT_UNPARKED = 0, /* an unpark woke the thread; see unpark_token */
  TPARK_LOT_INVALID = 1,  /* validate returned false: the thread did not park */
  TPARK_LOT_TIMED_OUT = 2 /* the deadline passed; timed_out was called */
} tpark_lot_park_status;

typedef struct tpark_lot_park_result {
  tpark_lot_park_status status;
  uintptr_t unpark_token; /* TPARK_LOT_UNPARKED only: the unparker's token */
} tpark_lot_park_result;

/* What an unpark operation did, as seen by its callback and returned. */
typedef struct tpark_lot_unpark_result {
  size_t unparked_threads; /* threads woken */
  size_t requeued_threads; /* threads moved to another key (requeue only) */
  bool have_more_threads;  /* threads are still parked on the key (see each call) */
  /* The fair timer of the key's bucket has expired (set only when a thread
   * was unparked): a lock should hand itself over to the woken thread rather
   * than release, so that no waiter starves. The timer fires every 0 to 1 ms
   * (0.5 ms on average) on the default backend's clock. It belongs to the
   * bucket, not the key (as in parking_lot): keys that hash to the same bucket
   * share it, and an unpark on one of them may take an expiry another key's
   * unpark would have seen; fairness is statistical, not per key. */
  bool be_fair;
} tpark_lot_unpark_result;

/* Now on the process default backend's clock: the clock of every deadline
 * passed to this library's lot, wait and mutex calls. Aborts when there is no
 * default backend (see above). Any thread. */
tpark_instant tpark_lot_now(void);

/* tpark_lot_now() + timeout_ns, saturating at TPARK_NEVER. */
tpark_instant tpark_lot_deadline(uint64_t timeout_ns);

/* Parks the calling thread on key, in FIFO order behind the threads already
 * parked on it, if validate(ctx) returns true; it is called under the
 * bucket lock, so no unpark on key can run between it and the thread being
 * queued. NULL validate counts as "always true".
 *
 * Once queued and the bucket lock released, before_sleep(ctx) is called (NULL:
 * none); it must not park, but it may unlock a tpark_mutex (a condition
 * variable's wait does). An unpark made in it may pick the calling thread
 * itself (say a waiter moved onto that mutex): the call then returns
 * UNPARKED with that unpark's token, without sleeping. Then the thread sleeps until an unpark on
 * its key (status UNPARKED, with the unparker's token) or until deadline (an instant on
 * tpark_lot_now()'s clock, TPARK_NEVER for none) passes. On timeout the thread
 * leaves the queue and calls timed_out(ctx, key, was_last) under the bucket
 * lock (NULL: none): key is the key it was parked on at the end (a requeue may
 * have moved it), was_last says no other thread is parked on that key now.
 * An unpark that races with the timeout wins: then the result is UNPARKED and
 * timed_out is not called. Never returns early, never loses a wake-up.
 *
 * Writes made by an unparker before its unpark call are visible to the thread
 * once this returns UNPARKED. */
tpark_lot_park_result tpark_lot_park(const void *key, bool (*validate)(void *ctx),
                                     void (*before_sleep)(void *ctx),
                                     void (*timed_out)(void *ctx, const void *key, bool was_last),
                                     void *ctx, uintptr_t park_token, tpark_instant deadline);

/* Unparks the thread that has been parked on key the longest, if any. The
 * callback (NULL: the token is TPARK_LOT_DEFAULT_UNPARK_TOKEN) runs under the
 * bucket lock, also when no thread was found, before the thread is woken: it
 * gets the result (have_more_threads: others are still parked on key) and
 * returns the unpark token the thread receives. Returns the same result. */
tpark_lot_unpark_result tpark_lot_unpark_one(
    const void *key, uintptr_t (*callback)(void *ctx, tpark_lot_unpark_result result), void *ctx);

/* Unparks every thread parked on key, each with unpark_token. Returns how
 * many. */
size_t tpark_lot_unpark_all(const void *key, uintptr_t unpark_token);

/* What tpark_lot_unpark_requeue does with the threads parked on `from`. */
typedef enum tpark_lot_requeue_op {
  TPARK_LOT_REQUEUE_ABORT = 0,           /* nothing; the callback is not called */
  TPARK_LOT_UNPARK_ONE_REQUEUE_REST = 1, /* wake the first, move the rest */
  TPARK_LOT_REQUEUE_ALL = 2,             /* move all, wake none */
  TPARK_LOT_UNPARK_ONE = 3,              /* wake the first only */
  TPARK_LOT_REQUEUE_ONE = 4              /* move the first only */
} tpark_lot_requeue_op;

/* Wakes and/or moves the threads parked on from to the key to (behind those
 * parked there), as validate(ctx) decides (called under both bucket locks;
 * NULL means TPARK_LOT_REQUEUE_ALL). Unless the op is ABORT, callback(ctx,
 * op, result) then runs under both locks (NULL: default token) and returns
 * the token of the woken thread, if one is woken. have_more_threads is only
 * computed for UNPARK_ONE and REQUEUE_ONE (threads remain on from). A thread
 * moved to `to` keeps its place in FIFO order behind the threads already
 * parked on `to`, its deadline and its park token. */
tpark_lot_unpark_result tpark_lot_unpark_requeue(
    const void *from, const void *to, tpark_lot_requeue_op (*validate)(void *ctx),
    uintptr_t (*callback)(void *ctx, tpark_lot_requeue_op op, tpark_lot_unpark_result result),
    void *ctx);

/* What tpark_lot_unpark_filter does with one parked thread. */
typedef enum tpark_lot_filter_op {
  TPARK_LOT_FILTER_UNPARK = 0, /* wake it */
  TPARK_LOT_FILTER_SKIP = 1,   /* leave it parked, go on */
  TPARK_LOT_FILTER_STOP = 2    /* leave it and all after it parked */
} tpark_lot_filter_op;

/* Visits the threads parked on key in FIFO order, calling filter(ctx,
 * park_token) for each under the bucket lock, and wakes those it says to.
 * Then callback(ctx, result) (NULL: default token) runs under the bucket lock
 * and returns the token every woken thread receives. have_more_threads: a
 * thread was skipped or the filter stopped before the end. */
tpark_lot_unpark_result tpark_lot_unpark_filter(
    const void *key, tpark_lot_filter_op (*filter)(void *ctx, uintptr_t park_token),
    uintptr_t (*callback)(void *ctx, tpark_lot_unpark_result result), void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_LOT_H */
