/* tpark mutex: a one-byte lock that owns no OS object, after parking_lot's
 * RawMutex.
 *
 * Two bits: LOCKED, and PARKED (threads may be parked on the mutex's address
 * in the parking lot, tpark/lot.h). Locking is one compare-and-swap when
 * free; a contended lock spins a little, then parks. Unlocking is one
 * compare-and-swap when nobody is parked. Fairness is eventual: normally an
 * unlock releases the lock and the woken thread competes for it (a running
 * thread may barge in, which keeps throughput high), but about every 0.5 ms
 * of the default backend's clock an unlock hands the lock directly to the
 * longest waiting thread, so no waiter starves. tpark_mutex_unlock_fair
 * always hands it over.
 *
 *   static tpark_mutex m = TPARK_MUTEX_INIT;
 *   tpark_mutex_lock(&m);  ...  tpark_mutex_unlock(&m);
 *
 * Not recursive; no owner is recorded: unlocking a mutex the caller does not
 * hold is undefined. Any memory zeroed is an unlocked mutex; no destructor:
 * the memory may be reused once the mutex is unlocked and no thread uses it.
 * Timed locking takes deadlines on the default backend's clock
 * (tpark_lot_now(), tpark_lot_deadline()), so the mock drives them. Locking
 * is not a cancellation point (as pthread_mutex_lock; see tpark/tpark.h). C99
 * and C++11; includes no OS header.
 */
#ifndef TPARK_MUTEX_H
#define TPARK_MUTEX_H

#include <stdbool.h>

#include "tpark/lot.h"
#include "tpark/tpark.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One byte. The member is private. */
typedef struct tpark_mutex {
  unsigned char state_;
} tpark_mutex;

/* An unlocked mutex (all zero). */
#define TPARK_MUTEX_INIT \
  { 0 }

/* Acquires m, waiting as long as it takes. */
void tpark_mutex_lock(tpark_mutex *m);

/* Acquires m if it is free now; true when acquired. Never waits. */
bool tpark_mutex_trylock(tpark_mutex *m);

/* Acquires m, waiting until deadline at most (an instant on tpark_lot_now()'s
 * clock; TPARK_NEVER waits like tpark_mutex_lock). True when acquired; false
 * only once the deadline has passed. A past deadline still takes a free
 * mutex. */
bool tpark_mutex_lock_until(tpark_mutex *m, tpark_instant deadline);

/* Releases m, which the caller holds. Wakes one parked thread if any (and
 * hands m over to it when the fair timer has fired). */
void tpark_mutex_unlock(tpark_mutex *m);

/* Releases m and, if a thread is parked on it, hands m directly to the one
 * that has waited longest, so that the caller cannot take it back first. */
void tpark_mutex_unlock_fair(tpark_mutex *m);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_MUTEX_H */
