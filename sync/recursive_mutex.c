/* tpark_recursive_mutex's out-of-line halves (tpark/mutex.h inlines the
 * fast paths): the whole operation when an observer watches every lock
 * operation (tpark/observed.h; then each is reported, sync/observe.h), a
 * lock count about to overflow, and the thread id where the ABI gives no
 * thread pointer.
 *
 * The owner's id is written only by the owner itself (after acquiring the
 * inner mutex, and back to 0 before releasing it), so a thread that reads
 * its own id there holds the mutex, and one that reads anything else does
 * not: a stale value can never equal the reader's id. */
#include "core/internal.h"
#include "sync/mutex_internal.h"
#include "sync/observe.h"
#include "tpark/mutex.h"

uintptr_t tpark__thread_id_slow(void) {
  static _Thread_local char here; /* one per thread: its address is the id */
  return (uintptr_t)&here;
}

static bool held_by_caller(tpark_recursive_mutex *r) {
  return __atomic_load_n(&r->owner_, __ATOMIC_RELAXED) == tpark__thread_id();
}

static void count_one_more(tpark_recursive_mutex *r) {
  if (r->count_ == UINT32_MAX) {
    tpark__fatal("tpark_recursive_mutex_lock: locked %lu times by one thread (the limit)",
                 (unsigned long)UINT32_MAX);
  }
  r->count_++;
}

/* The operation itself: re-entered, or the inner mutex taken (trylock:
 * only if free now). */
static bool lock(tpark_recursive_mutex *r, tpark_instant deadline, bool try_only) {
  if (held_by_caller(r)) {
    count_one_more(r);
    return true;
  }
  if (try_only ? !tpark__mutex_trylock_fast(&r->mutex_)
               : !tpark__mutex_acquire(&r->mutex_, deadline)) {
    return false;
  }
  tpark__recursive_mutex_own(r);
  return true;
}

static bool observed_lock(tpark_recursive_mutex *r, tpark_instant deadline, bool try_only) {
  bool timed = !try_only && deadline != TPARK_NEVER;
  tpark__lock_event e = {
      .op = TPARK__OP_LOCK,
      .kind = TPARK__LOCK_RECURSIVE_MUTEX,
      .mode = TPARK__MODE_EXCLUSIVE,
      .flags = (try_only ? TPARK__OBSERVE_TRY : 0u) | (timed ? TPARK__OBSERVE_TIMED : 0u) |
               (held_by_caller(r) ? TPARK__OBSERVE_REENTRY : 0u),
      .lock = r,
      .deadline = timed ? deadline : TPARK_NEVER,
      .call = try_only ? "tpark_recursive_mutex_trylock"
              : timed  ? "tpark_recursive_mutex_lock_until"
                       : "tpark_recursive_mutex_lock",
  };
  tpark__observe(&e);
  e.ok = lock(r, deadline, try_only);
  e.op = TPARK__OP_LOCKED;
  tpark__observe(&e);
  return e.ok;
}

bool tpark__recursive_mutex_lock_slow(tpark_recursive_mutex *r, tpark_instant deadline) {
  if (tpark__observed()) return observed_lock(r, deadline, false);
  return lock(r, deadline, false);
}

bool tpark__recursive_mutex_trylock_slow(tpark_recursive_mutex *r) {
  if (tpark__observed()) return observed_lock(r, TPARK_NEVER, true);
  return lock(r, TPARK_NEVER, true);
}

static void unlock(tpark_recursive_mutex *r) {
  if (--r->count_ != 0) return;
  __atomic_store_n(&r->owner_, (uintptr_t)0, __ATOMIC_RELAXED);
  tpark__mutex_release(&r->mutex_);
}

void tpark__recursive_mutex_unlock_slow(tpark_recursive_mutex *r) {
  if (!tpark__observed()) {
    unlock(r);
    return;
  }
  /* Checked mode for locks checks here that the caller is the owner. */
  tpark__lock_event e = {
      .op = TPARK__OP_UNLOCK,
      .kind = TPARK__LOCK_RECURSIVE_MUTEX,
      .mode = TPARK__MODE_EXCLUSIVE,
      .lock = r,
      .deadline = TPARK_NEVER,
      .call = "tpark_recursive_mutex_unlock",
  };
  tpark__observe(&e);
  unlock(r);
  e.op = TPARK__OP_UNLOCKED;
  tpark__observe(&e);
}
