/* tpark mutex: a one-byte lock that owns no OS object, after parking_lot's
 * RawMutex; and a recursive mutex over it.
 *
 * Two bits: LOCKED, and PARKED (threads may be parked on the mutex's address
 * in the parking lot, tpark/lot.h). Locking is one compare-and-swap when
 * free, inlined into the caller; a contended lock spins a little, then parks.
 * Unlocking is one compare-and-swap when nobody is parked, also inlined.
 * Fairness is eventual: normally an unlock releases the lock and the woken
 * thread competes for it (a running thread may barge in, which keeps
 * throughput high), but about every 0.5 ms of the default backend's clock an
 * unlock hands the lock directly to the longest waiting thread, so no waiter
 * starves. tpark_mutex_unlock_fair always hands it over.
 *
 *   static tpark_mutex m = TPARK_MUTEX_INIT;
 *   tpark_mutex_lock(&m);  ...  tpark_mutex_unlock(&m);
 *
 * Not recursive; no owner is recorded: unlocking a mutex the caller does not
 * hold is undefined (tpark_recursive_mutex, below, records its owner; checked
 * mode for locks, tpark/checked.h, reports it and a re-lock). Any
 * memory zeroed is an unlocked mutex; no destructor: the memory may be reused
 * once the mutex is unlocked and no thread uses it. Timed locking takes
 * deadlines on the default backend's clock (tpark_lot_now(),
 * tpark_lot_deadline()), so the mock drives them. Locking is not a
 * cancellation point (as pthread_mutex_lock; see tpark/tpark.h). C99 and
 * C++11 (GNU C builtins: gcc, clang, mingw-w64); includes no OS header.
 *
 * Single-threaded processes: with glibc 2.32 or later, while the process has
 * never created a second thread (glibc's __libc_single_threaded, which its
 * own pthread_mutex_t consults the same way), lock and unlock use plain loads
 * and stores instead of atomic read-modify-writes; nothing else changes. */
#ifndef TPARK_MUTEX_H
#define TPARK_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include "tpark/lot.h"
#include "tpark/observed.h"
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
static inline void tpark_mutex_lock(tpark_mutex *m);

/* Acquires m if it is free now; true when acquired. Never waits. */
static inline bool tpark_mutex_trylock(tpark_mutex *m);

/* Acquires m, waiting until deadline at most (an instant on tpark_lot_now()'s
 * clock; TPARK_NEVER waits like tpark_mutex_lock). True when acquired; false
 * only once the deadline has passed. A past deadline still takes a free
 * mutex. */
static inline bool tpark_mutex_lock_until(tpark_mutex *m, tpark_instant deadline);

/* Releases m, which the caller holds. Wakes one parked thread if any (and
 * hands m over to it when the fair timer has fired). */
static inline void tpark_mutex_unlock(tpark_mutex *m);

/* Releases m and, if a thread is parked on it, hands m directly to the one
 * that has waited longest, so that the caller cannot take it back first. */
void tpark_mutex_unlock_fair(tpark_mutex *m);

/* ---- recursive mutex ------------------------------------------------------
 *
 * For code ported from CRITICAL_SECTION or PTHREAD_MUTEX_RECURSIVE: the
 * thread that holds it may lock it again; it is released when the unlocks
 * match the locks. A tpark_mutex, the owning thread's id and a count: not
 * re-entered, a lock or unlock costs what tpark_mutex's does, plus reading
 * the thread's id (one instruction on x86, x86-64 and ARM64; a call
 * elsewhere) and two plain stores.
 *
 *   static tpark_recursive_mutex r = TPARK_RECURSIVE_MUTEX_INIT;
 *   tpark_recursive_mutex_lock(&r);  tpark_recursive_mutex_lock(&r);
 *   ...  tpark_recursive_mutex_unlock(&r);  tpark_recursive_mutex_unlock(&r);
 *
 * Unlocking one the caller does not hold is undefined (checked mode for locks,
 * tpark/checked.h, reports it). All-zero memory is an unlocked one; no destructor. The
 * members are private. */
typedef struct tpark_recursive_mutex {
  uintptr_t owner_; /* atomic: the holder's tpark__thread_id(), 0 when free */
  uint32_t count_;  /* the holder's locks not yet unlocked */
  tpark_mutex mutex_;
} tpark_recursive_mutex;

/* An unlocked recursive mutex (all zero). */
#define TPARK_RECURSIVE_MUTEX_INIT \
  { 0, 0, TPARK_MUTEX_INIT }

/* Acquires r, or counts one more lock when the caller holds it already. */
static inline void tpark_recursive_mutex_lock(tpark_recursive_mutex *r);

/* As tpark_recursive_mutex_lock when r is free or held by the caller (true);
 * false, without waiting, when another thread holds it. */
static inline bool tpark_recursive_mutex_trylock(tpark_recursive_mutex *r);

/* As tpark_recursive_mutex_lock, waiting until deadline at most (an instant
 * on tpark_lot_now()'s clock). True when acquired (at once when the caller
 * holds it already); false only once the deadline has passed. */
static inline bool tpark_recursive_mutex_lock_until(tpark_recursive_mutex *r,
                                                    tpark_instant deadline);

/* Undoes one lock of r, which the caller holds; the last one releases it. */
static inline void tpark_recursive_mutex_unlock(tpark_recursive_mutex *r);

/* ---- internal: the out-of-line halves and the inline fast paths ---------
 * Not an API: these names may change in any release. */

/* The whole operation, when the inline fast path cannot finish it (the lock
 * is contended, or an observer watches every operation: tpark/observed.h). */
bool tpark__mutex_lock_slow(tpark_mutex *m, tpark_instant deadline);
bool tpark__mutex_trylock_slow(tpark_mutex *m);
void tpark__mutex_unlock_slow(tpark_mutex *m);
bool tpark__recursive_mutex_lock_slow(tpark_recursive_mutex *r, tpark_instant deadline);
bool tpark__recursive_mutex_trylock_slow(tpark_recursive_mutex *r);
void tpark__recursive_mutex_unlock_slow(tpark_recursive_mutex *r);

/* The LOCKED bit of the state byte (sync/mutex_internal.h defines it too,
 * with PARKED: the slow paths and the condition variable use both). */
#define TPARK__MUTEX_LOCKED 1u

/* True while the process has only ever had one thread, where the C library
 * says so (glibc 2.32 and later); then no other thread can touch a lock. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
extern char __libc_single_threaded; /* <sys/single_threaded.h> */
static inline bool tpark__single_threaded(void) {
  return __builtin_expect(__libc_single_threaded != 0, 0);
}
#else
static inline bool tpark__single_threaded(void) { return false; }
#endif

/* The fast paths, without the observation check: true when done. */
static inline bool tpark__mutex_lock_fast(tpark_mutex *m) {
  unsigned char s = 0;
  if (tpark__single_threaded()) {
    if (__atomic_load_n(&m->state_, __ATOMIC_RELAXED) != 0) return false;
    __atomic_store_n(&m->state_, TPARK__MUTEX_LOCKED, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
    return true;
  }
  return __atomic_compare_exchange_n(&m->state_, &s, TPARK__MUTEX_LOCKED, true, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

static inline bool tpark__mutex_unlock_fast(tpark_mutex *m) {
  unsigned char s = TPARK__MUTEX_LOCKED;
  if (tpark__single_threaded()) {
    if (__atomic_load_n(&m->state_, __ATOMIC_RELAXED) != TPARK__MUTEX_LOCKED) return false;
    __atomic_signal_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&m->state_, 0, __ATOMIC_RELAXED);
    return true;
  }
  return __atomic_compare_exchange_n(&m->state_, &s, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static inline bool tpark__mutex_trylock_fast(tpark_mutex *m) {
  unsigned char s = __atomic_load_n(&m->state_, __ATOMIC_RELAXED);
  while (!(s & TPARK__MUTEX_LOCKED)) {
    if (__atomic_compare_exchange_n(&m->state_, &s, (unsigned char)(s | TPARK__MUTEX_LOCKED), true,
                                    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      return true;
    }
  }
  return false;
}

static inline void tpark_mutex_lock(tpark_mutex *m) {
  if (tpark__observed() || !tpark__mutex_lock_fast(m)) tpark__mutex_lock_slow(m, TPARK_NEVER);
}

static inline bool tpark_mutex_trylock(tpark_mutex *m) {
  if (tpark__observed()) return tpark__mutex_trylock_slow(m);
  return tpark__mutex_trylock_fast(m);
}

static inline bool tpark_mutex_lock_until(tpark_mutex *m, tpark_instant deadline) {
  if (!tpark__observed() && tpark__mutex_lock_fast(m)) return true;
  return tpark__mutex_lock_slow(m, deadline);
}

static inline void tpark_mutex_unlock(tpark_mutex *m) {
  if (tpark__observed() || !tpark__mutex_unlock_fast(m)) tpark__mutex_unlock_slow(m);
}

/* The calling thread's id for tpark_recursive_mutex: never 0, and no other
 * running thread has the same. The thread pointer where the ABI gives one
 * (the TEB on Windows, the TCB on Linux), else the address of a thread-local
 * (tpark__thread_id_slow, sync/recursive_mutex.c). */
uintptr_t tpark__thread_id_slow(void);
static inline uintptr_t tpark__thread_id(void) {
  uintptr_t id;
#if defined(_WIN32) && defined(__x86_64__)
  __asm__("movq %%gs:0x30, %0" : "=r"(id)); /* NtCurrentTeb() */
#elif defined(_WIN32) && defined(__i386__)
  __asm__("movl %%fs:0x18, %0" : "=r"(id)); /* NtCurrentTeb() */
#elif defined(__linux__) && defined(__x86_64__)
  __asm__("movq %%fs:0, %0" : "=r"(id)); /* the TCB's self pointer (x86-64 TLS ABI) */
#elif defined(__linux__) && defined(__i386__)
  __asm__("movl %%gs:0, %0" : "=r"(id)); /* the TCB's self pointer (i386 TLS ABI) */
#elif defined(__linux__) && defined(__aarch64__)
  __asm__("mrs %0, tpidr_el0" : "=r"(id)); /* the thread pointer (AArch64 TLS ABI) */
#else
  id = tpark__thread_id_slow();
#endif
  return id;
}

/* True when the caller holds r already: then one more lock is counted. */
static inline bool tpark__recursive_mutex_reenter(tpark_recursive_mutex *r) {
  /* Only a thread itself stores its id in owner_: equal means it holds r. */
  if (__atomic_load_n(&r->owner_, __ATOMIC_RELAXED) != tpark__thread_id()) return false;
  if (__builtin_expect(r->count_ == UINT32_MAX, 0)) {
    tpark__recursive_mutex_lock_slow(r, TPARK_NEVER); /* too deep: aborts with a message */
  }
  r->count_++;
  return true;
}

/* After the caller acquired r's mutex. */
static inline void tpark__recursive_mutex_own(tpark_recursive_mutex *r) {
  __atomic_store_n(&r->owner_, tpark__thread_id(), __ATOMIC_RELAXED);
  r->count_ = 1;
}

static inline void tpark_recursive_mutex_lock(tpark_recursive_mutex *r) {
  if (tpark__observed()) {
    tpark__recursive_mutex_lock_slow(r, TPARK_NEVER);
  } else if (!tpark__recursive_mutex_reenter(r)) {
    if (!tpark__mutex_lock_fast(&r->mutex_)) tpark__mutex_lock_slow(&r->mutex_, TPARK_NEVER);
    tpark__recursive_mutex_own(r);
  }
}

static inline bool tpark_recursive_mutex_trylock(tpark_recursive_mutex *r) {
  if (tpark__observed()) return tpark__recursive_mutex_trylock_slow(r);
  if (tpark__recursive_mutex_reenter(r)) return true;
  if (!tpark__mutex_trylock_fast(&r->mutex_)) return false;
  tpark__recursive_mutex_own(r);
  return true;
}

static inline bool tpark_recursive_mutex_lock_until(tpark_recursive_mutex *r,
                                                    tpark_instant deadline) {
  if (tpark__observed()) return tpark__recursive_mutex_lock_slow(r, deadline);
  if (tpark__recursive_mutex_reenter(r)) return true;
  if (!tpark__mutex_lock_fast(&r->mutex_) && !tpark__mutex_lock_slow(&r->mutex_, deadline)) {
    return false;
  }
  tpark__recursive_mutex_own(r);
  return true;
}

static inline void tpark_recursive_mutex_unlock(tpark_recursive_mutex *r) {
  if (tpark__observed()) {
    tpark__recursive_mutex_unlock_slow(r);
  } else if (--r->count_ == 0) {
    __atomic_store_n(&r->owner_, (uintptr_t)0, __ATOMIC_RELAXED);
    if (!tpark__mutex_unlock_fast(&r->mutex_)) tpark__mutex_unlock_slow(&r->mutex_);
  }
}

#ifdef __cplusplus
}
#endif

#endif /* TPARK_MUTEX_H */
