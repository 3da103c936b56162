/* tpark reader-writer lock: one pointer-sized word that owns no OS object,
 * after parking_lot's RwLock.
 *
 * Three ways to hold it:
 *   read        shared: any number of readers at once;
 *   write       exclusive: one writer, nobody else;
 *   upgradable  a read lock that may later become the write lock without
 *               letting anyone write in between: at most one upgradable
 *               holder at a time, alongside any number of readers; it
 *               excludes writers and other upgradable holders.
 *
 *   static tpark_rwlock routes = TPARK_RWLOCK_INIT;
 *   tpark_rwlock_read_lock(&routes);   ... look up ...  tpark_rwlock_read_unlock(&routes);
 *   tpark_rwlock_write_lock(&routes);  ... rewrite ...  tpark_rwlock_write_unlock(&routes);
 *
 * Uncontended, each lock and unlock is one atomic instruction (inline). A
 * contended call spins a little, then parks the thread in the parking lot
 * (tpark/lot.h) on the lock's address.
 *
 * Fairness (task-fair). A writer that finds only readers inside claims the
 * lock at once and waits for those readers to leave; from that moment new
 * readers wait behind it. So a writer that arrives while only readers hold
 * the lock waits for the readers it found there and no others: if each
 * reader holds the lock for at most H, the writer is in within H of its
 * arrival, however many readers keep arriving (tests/rwlock_fair_test.c measures
 * this on the mock's clock). Threads that have to wait queue in arrival
 * order; an unlock wakes, from the front of the queue, every waiting reader
 * up to and including the first writer (or upgradable locker, after which
 * later writers are passed over and later readers still woken): readers
 * woken together enter together. Normally the woken threads compete with
 * running ones (which keeps throughput high); about every 0.5 ms of the
 * default backend's clock (the lot's fair timer, as for tpark_mutex) an
 * unlock hands the lock directly to the threads it wakes instead, so that
 * neither readers nor writers starve.
 *
 * Not recursive. A thread must not take a read lock it already holds
 * (nor any lock on a rwlock it holds in any way): if a writer arrived in
 * between, it waits for the first read lock to go, the second read lock
 * waits behind the writer, and the thread deadlocks with itself. Nothing
 * records owners: unlocking a lock the caller does not hold in that way is
 * undefined. Checked mode for locks (tpark/checked.h, TPARK_CHECKED=1)
 * reports both, and a lock order that can deadlock.
 *
 * Timed acquisitions take deadlines on the default backend's clock
 * (tpark_lot_now(), tpark_lot_deadline()), so the mock drives them. One that
 * times out leaves no trace: the lock's word is as if it had never been
 * called. The word is all zero whenever the lock is free and nobody waits.
 * Any memory zeroed is a free lock; no destructor: the memory may be reused
 * once the lock is free and no thread uses it. It must not be copied while
 * in use. C99 and C++11; includes no OS header.
 */
#ifndef TPARK_RWLOCK_H
#define TPARK_RWLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "tpark/lot.h"
#include "tpark/observed.h"
#include "tpark/tpark.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One pointer-sized word. The member is private. */
typedef struct tpark_rwlock {
  uintptr_t state_;
} tpark_rwlock;

/* A free lock (all zero). */
#define TPARK_RWLOCK_INIT \
  { 0 }

/* ---- read (shared) ---- */

/* Acquires a read lock on l, waiting as long as it takes. */
static inline void tpark_rwlock_read_lock(tpark_rwlock *l);

/* Acquires a read lock if no writer holds l or waits for it now; true when
 * acquired. Never waits. */
bool tpark_rwlock_read_trylock(tpark_rwlock *l);

/* Acquires a read lock, waiting until deadline at most (an instant on
 * tpark_lot_now()'s clock; TPARK_NEVER waits like tpark_rwlock_read_lock).
 * True when acquired; false only once the deadline has passed. A past
 * deadline still takes a lock that is free for readers now. */
bool tpark_rwlock_read_lock_until(tpark_rwlock *l, tpark_instant deadline);

/* Releases one read lock the caller holds. The last reader out wakes a
 * writer that waits for the readers to leave. */
static inline void tpark_rwlock_read_unlock(tpark_rwlock *l);

/* ---- write (exclusive) ---- */

/* Acquires the write lock on l, waiting as long as it takes. */
static inline void tpark_rwlock_write_lock(tpark_rwlock *l);

/* Acquires the write lock if l is free now; true when acquired. Never
 * waits (and may fail while a reader is just then taking itself back out
 * after meeting a writer). */
bool tpark_rwlock_write_trylock(tpark_rwlock *l);

/* Acquires the write lock, waiting until deadline at most (as
 * tpark_rwlock_read_lock_until). On a timeout the readers that waited
 * behind this writer are let in. */
bool tpark_rwlock_write_lock_until(tpark_rwlock *l, tpark_instant deadline);

/* Releases the write lock the caller holds; wakes the waiting threads as
 * the header comment says. */
static inline void tpark_rwlock_write_unlock(tpark_rwlock *l);

/* Turns the write lock the caller holds into a read lock, atomically: no
 * writer can come in between. The readers waiting at the front of the
 * queue get in with it at once; the first writer queued behind them (if
 * any) claims the lock as it does and waits until every reader, the caller
 * included, has left; those queued behind that writer keep waiting. */
void tpark_rwlock_downgrade(tpark_rwlock *l);

/* ---- upgradable (shared with readers, exclusive among upgraders) ---- */

/* Acquires the upgradable lock, waiting as long as it takes: while no
 * writer and no other upgradable holder is in. */
void tpark_rwlock_upgradable_lock(tpark_rwlock *l);

/* The same if possible now; true when acquired. Never waits. */
bool tpark_rwlock_upgradable_trylock(tpark_rwlock *l);

/* The same, waiting until deadline at most (as
 * tpark_rwlock_read_lock_until). */
bool tpark_rwlock_upgradable_lock_until(tpark_rwlock *l, tpark_instant deadline);

/* Releases the upgradable lock the caller holds. */
void tpark_rwlock_upgradable_unlock(tpark_rwlock *l);

/* Turns the upgradable lock the caller holds into the write lock: new
 * readers are kept out at once, and the call returns when the readers
 * inside have left. */
void tpark_rwlock_upgrade(tpark_rwlock *l);

/* The same if no other reader is inside now; true when upgraded (false:
 * the caller still holds the upgradable lock). Never waits (and may fail as
 * tpark_rwlock_write_trylock may). */
bool tpark_rwlock_try_upgrade(tpark_rwlock *l);

/* The same as tpark_rwlock_upgrade, waiting until deadline at most. True
 * when upgraded; false once the deadline has passed, and then the caller
 * still holds the upgradable lock and the readers that waited are let in. */
bool tpark_rwlock_upgrade_until(tpark_rwlock *l, tpark_instant deadline);

/* ---- internal: the inline fast paths (the names may change) ---- */

/* The word: four flag bits, then the number of readers (the upgradable
 * holder counts as one). A reader adds itself first and looks after: while
 * a writer holds the lock the count may include readers that are about to
 * take themselves back out. READERS_FULL is the reader count's top bit: an
 * acquisition that finds it set ends the process with a message. */
#define TPARK__RWLOCK_PARKED ((uintptr_t)1)        /* threads queued on the lock's address */
#define TPARK__RWLOCK_WRITER_PARKED ((uintptr_t)2) /* the writer waits for readers (address+1) */
#define TPARK__RWLOCK_UPGRADABLE ((uintptr_t)4)    /* an upgradable holder is in */
#define TPARK__RWLOCK_WRITER ((uintptr_t)8)        /* a writer holds it, or waits for readers */
#define TPARK__RWLOCK_ONE_READER ((uintptr_t)16)
#define TPARK__RWLOCK_READERS_MASK (~(uintptr_t)15)
#define TPARK__RWLOCK_READERS_FULL (~(UINTPTR_MAX >> 1))

/* Out of line (sync/rwlock.c), each the whole operation: where the fast
 * paths go when the lock is contended, and always while the locks are
 * observed (tpark/observed.h). */
void tpark__rwlock_read_lock_slow(tpark_rwlock *l);
/* The fast path's add found a writer in: take it back, then wait. */
void tpark__rwlock_read_lock_retreat(tpark_rwlock *l);
void tpark__rwlock_read_unlock_slow(tpark_rwlock *l);
void tpark__rwlock_write_lock_slow(tpark_rwlock *l);
void tpark__rwlock_write_unlock_slow(tpark_rwlock *l);
/* The last reader left while the writer waits for it: wake the writer. */
void tpark__rwlock_unpark_writer(tpark_rwlock *l);

static inline void tpark_rwlock_read_lock(tpark_rwlock *l) {
  if (tpark__observed()) {
    tpark__rwlock_read_lock_slow(l);
    return;
  }
  /* Optimistic: one atomic add, taken back (retreat) if a writer is in. */
  uintptr_t s = __atomic_fetch_add(&l->state_, TPARK__RWLOCK_ONE_READER, __ATOMIC_ACQUIRE);
  if ((s & (TPARK__RWLOCK_WRITER | TPARK__RWLOCK_READERS_FULL)) != 0) {
    tpark__rwlock_read_lock_retreat(l);
  }
}

static inline void tpark_rwlock_read_unlock(tpark_rwlock *l) {
  if (tpark__observed()) {
    tpark__rwlock_read_unlock_slow(l);
    return;
  }
  uintptr_t s = __atomic_fetch_sub(&l->state_, TPARK__RWLOCK_ONE_READER, __ATOMIC_RELEASE);
  if ((s & (TPARK__RWLOCK_READERS_MASK | TPARK__RWLOCK_WRITER_PARKED)) ==
      (TPARK__RWLOCK_ONE_READER | TPARK__RWLOCK_WRITER_PARKED)) {
    tpark__rwlock_unpark_writer(l);
  }
}

static inline void tpark_rwlock_write_lock(tpark_rwlock *l) {
  uintptr_t free_state = 0;
  if (tpark__observed() ||
      !__atomic_compare_exchange_n(&l->state_, &free_state, TPARK__RWLOCK_WRITER, true,
                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    tpark__rwlock_write_lock_slow(l);
  }
}

static inline void tpark_rwlock_write_unlock(tpark_rwlock *l) {
  uintptr_t held = TPARK__RWLOCK_WRITER;
  if (tpark__observed() || !__atomic_compare_exchange_n(&l->state_, &held, 0, false,
                                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
    tpark__rwlock_write_unlock_slow(l);
  }
}

#ifdef __cplusplus
}
#endif

#endif /* TPARK_RWLOCK_H */
