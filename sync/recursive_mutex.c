/* tpark_recursive_mutex's out-of-line halves (tpark/mutex.h inlines the
 * fast paths): the whole operation when an observer watches every lock
 * operation (tpark/observed.h), a lock count about to overflow, and the
 * thread id where the ABI gives no thread pointer.
 *
 * The owner's id is written only by the owner itself (after acquiring the
 * inner mutex, and back to 0 before releasing it), so a thread that reads
 * its own id there holds the mutex, and one that reads anything else does
 * not: a stale value can never equal the reader's id. */
#include "core/internal.h"
#include "tpark/mutex.h"

uintptr_t tpark__thread_id_slow(void) {
  static _Thread_local char here; /* one per thread: its address is the id */
  return (uintptr_t)&here;
}

bool tpark__recursive_mutex_lock_slow(tpark_recursive_mutex *r, tpark_instant deadline) {
  if (__atomic_load_n(&r->owner_, __ATOMIC_RELAXED) == tpark__thread_id()) {
    if (r->count_ == UINT32_MAX) {
      tpark__fatal("tpark_recursive_mutex_lock: locked %lu times by one thread (the limit)",
                   (unsigned long)UINT32_MAX);
    }
    r->count_++;
    return true;
  }
  if (!tpark__mutex_lock_slow(&r->mutex_, deadline)) return false;
  tpark__recursive_mutex_own(r);
  return true;
}

bool tpark__recursive_mutex_trylock_slow(tpark_recursive_mutex *r) {
  if (__atomic_load_n(&r->owner_, __ATOMIC_RELAXED) == tpark__thread_id()) {
    return tpark__recursive_mutex_lock_slow(r, TPARK_NEVER);
  }
  if (!tpark__mutex_trylock_slow(&r->mutex_)) return false;
  tpark__recursive_mutex_own(r);
  return true;
}

/* Checked mode for locks (tpark/checked.h) will check here that the caller
 * is the owner. */
void tpark__recursive_mutex_unlock_slow(tpark_recursive_mutex *r) {
  if (--r->count_ != 0) return;
  __atomic_store_n(&r->owner_, (uintptr_t)0, __ATOMIC_RELAXED);
  tpark__mutex_unlock_slow(&r->mutex_);
}
