/* condvar backend (any POSIX): pthread mutexes and condition variables,
 * without one per parker. A parker sleeps on one of BUCKETS mutex/condvar
 * pairs, chosen by its address; each bucket counts the threads asleep on it.
 *
 * States of p->state_.u32, as in the futex backend:
 *   EMPTY    not in a cycle, or unparked (the end of a cycle)
 *   PARKED   prepared; the owner is not asleep
 *   SLEEPING prepared; the owner is, or is about to be, in pthread_cond_wait
 * The owner moves PARKED -> SLEEPING under the bucket mutex and keeps the
 * mutex until pthread_cond_wait releases it. A waker exchanges EMPTY in
 * without the mutex; only if it found SLEEPING does unpark take the mutex
 * (so its critical section comes after the owner is in pthread_cond_wait)
 * and read the bucket's sleeper count.
 *
 * Why the wake comes after unlocking the bucket mutex: a thread woken while
 * the waker still holds the mutex runs only to block on it again (two extra
 * context switches when both share a CPU). Buckets are never freed while
 * the backend exists, so the condvar is still valid after the unlock, even
 * if the parker is gone. A wake after the unlock reaches every thread that
 * was in pthread_cond_wait before the waker took the mutex, the owner among
 * them.
 *
 * Why broadcast and not signal: after the unlock, another parker of the same
 * bucket may start waiting before the wake, and a signal could go to it
 * instead of the owner (a lost wake-up). Neighbours are woken only when the
 * count says that someone else sleeps in the bucket: with one sleeper a
 * broadcast costs what a signal costs (one FUTEX_WAKE in glibc), with none
 * there is no call at all. */
#if !defined(_WIN32)

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "backends/builtin.h"
#include "core/internal.h"
#include "platform/os.h"

enum { EMPTY = 0, PARKED = 1, SLEEPING = 2 };

#define BUCKETS 64

/* A cache line each, so that two buckets' mutexes never share one. */
struct bucket {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  unsigned sleepers; /* threads in pthread_cond_wait on cond; under mutex */
} __attribute__((aligned(64)));

struct condvar {
  struct bucket buckets[BUCKETS];
};

static struct bucket *bucket_of(const tpark_backend *self, const tpark_parker *p) {
  struct condvar *cv = self->context;
  /* Fibonacci hashing of the address; parkers are at least 8 bytes apart. */
  uint64_t h = ((uint64_t)(uintptr_t)p >> 3) * UINT64_C(0x9E3779B97F4A7C15);
  return &cv->buckets[h >> 58]; /* top 6 bits: 0..63 */
}

static void lock(struct bucket *b) {
  int err = tpark_os(pthread_mutex_lock)(&b->mutex);
  if (err != 0) tpark__os_fatal("pthread_mutex_lock", "error", err);
}

static void unlock(struct bucket *b) {
  int err = tpark_os(pthread_mutex_unlock)(&b->mutex);
  if (err != 0) tpark__os_fatal("pthread_mutex_unlock", "error", err);
}

static tpark_instant condvar_now(const tpark_backend *self) {
  struct timespec ts;
  (void)self;
  if (tpark_os(clock_gettime)(CLOCK_MONOTONIC, &ts) != 0) {
    tpark__os_fatal("clock_gettime(CLOCK_MONOTONIC)", "errno", errno);
  }
  return tpark__from_timespec(&ts);
}

static void condvar_prepare_park(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  __atomic_store_n(&p->state_.u32, PARKED, __ATOMIC_RELAXED);
}

static bool condvar_park_until(const tpark_backend *self, tpark_parker *p, tpark_instant deadline) {
  uint32_t *word = &p->state_.u32;
  /* Already unparked: no mutex. */
  if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == EMPTY) return true;
  struct bucket *b = bucket_of(self, p);
  bool unparked;
  /* pthread_cond_wait and _timedwait are cancellation points; a thread
   * cancelled there would unwind with b's mutex locked, b's sleeper count
   * raised and its lot data still queued. No tpark wait is a cancellation
   * point (tpark/tpark.h): a cancel stays pending until the thread reaches
   * one of its own. */
  int cancel_state, ignored;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  lock(b);
  for (;;) {
    uint32_t s = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (s == EMPTY) {
      unparked = true;
      break;
    }
    if (deadline != TPARK_NEVER && condvar_now(self) >= deadline) {
      /* Commit to the timeout, back to PARKED: a later unpark_lock then
       * knows no one sleeps. If an unpark_lock won meanwhile, loop. */
      if (s == PARKED || __atomic_compare_exchange_n(word, &s, PARKED, false, __ATOMIC_ACQUIRE,
                                                     __ATOMIC_ACQUIRE)) {
        unparked = false;
        break;
      }
      continue;
    }
    if (s == PARKED && !__atomic_compare_exchange_n(word, &s, SLEEPING, false, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_ACQUIRE)) {
      continue; /* unparked meanwhile */
    }
    int err;
    b->sleepers++;
    if (deadline == TPARK_NEVER) {
      err = tpark_os(pthread_cond_wait)(&b->cond, &b->mutex);
      if (err != 0) tpark__os_fatal("pthread_cond_wait", "error", err);
    } else {
      /* The condvar waits on CLOCK_MONOTONIC, the clock of condvar_now: an
       * absolute deadline needs no rounding. */
      struct timespec ts = tpark__timespec(deadline);
      err = tpark_os(pthread_cond_timedwait)(&b->cond, &b->mutex, &ts);
      if (err != 0 && err != ETIMEDOUT) {
        tpark__os_fatal("pthread_cond_timedwait", "error", err);
      }
    }
    b->sleepers--;
  }
  unlock(b);
  pthread_setcancelstate(cancel_state, &ignored);
  return unparked;
}

static void condvar_park(const tpark_backend *self, tpark_parker *p) {
  condvar_park_until(self, p, TPARK_NEVER);
}

static bool condvar_timed_out(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  return __atomic_load_n(&p->state_.u32, __ATOMIC_ACQUIRE) != EMPTY;
}

static void *condvar_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  uint32_t old = __atomic_exchange_n(&p->state_.u32, EMPTY, __ATOMIC_RELEASE);
  return old == SLEEPING ? bucket_of(self, p) : NULL;
}

static void condvar_unpark(const tpark_backend *self, void *token) {
  struct bucket *b = token;
  (void)self;
  if (b == NULL) return;
  /* The owner set SLEEPING under the mutex and holds it until it waits: once
   * we hold it, the owner is counted and in pthread_cond_wait (or already
   * awake and gone). */
  lock(b);
  unsigned sleepers = b->sleepers;
  unlock(b);
  if (sleepers == 0) return;
  int err = tpark_os(pthread_cond_broadcast)(&b->cond);
  if (err != 0) tpark__os_fatal("pthread_cond_broadcast", "error", err);
}

static void condvar_thread_yield(const tpark_backend *self) {
  (void)self;
  tpark_os(sched_yield)();
}

static void destroy_buckets(struct condvar *cv, size_t n) {
  for (size_t i = 0; i < n; i++) {
    pthread_cond_destroy(&cv->buckets[i].cond);
    pthread_mutex_destroy(&cv->buckets[i].mutex);
  }
  free(cv);
}

static tpark_status condvar_create(tpark_backend *b) {
  if (!tpark_os_has(pthread_cond_init_monotonic) || !tpark_os_has(clock_gettime)) {
    return TPARK_ENOTSUP;
  }
  /* Aligned as struct bucket asks (malloc promises only 16 bytes). */
  void *mem = NULL;
  if (posix_memalign(&mem, _Alignof(struct condvar), sizeof(struct condvar)) != 0) {
    return TPARK_ENOBACKEND;
  }
  struct condvar *cv = mem;
  for (size_t i = 0; i < BUCKETS; i++) {
    cv->buckets[i].sleepers = 0;
    int err = pthread_mutex_init(&cv->buckets[i].mutex, NULL);
    if (err == 0) {
      err = tpark_os(pthread_cond_init_monotonic)(&cv->buckets[i].cond);
      if (err != 0) pthread_mutex_destroy(&cv->buckets[i].mutex);
    }
    if (err != 0) {
      destroy_buckets(cv, i);
      return TPARK_ENOBACKEND;
    }
  }
  *b = (tpark_backend){
      .abi_version = TPARK_BACKEND_ABI_VERSION,
      .name = "condvar",
      .prepare_park = condvar_prepare_park,
      .park = condvar_park,
      .park_until = condvar_park_until,
      .timed_out = condvar_timed_out,
      .unpark_lock = condvar_unpark_lock,
      .unpark = condvar_unpark,
      .now = condvar_now,
      .thread_yield = condvar_thread_yield,
      .context = cv,
  };
  return TPARK_OK;
}

static void condvar_destroy(tpark_backend *b) { destroy_buckets(b->context, BUCKETS); }

#else /* _WIN32 */

#include "backends/builtin.h"

/* POSIX only: on Windows, the Windows backends do this job. */
static tpark_status condvar_create(tpark_backend *b) {
  (void)b;
  return TPARK_ENOTSUP;
}

static void condvar_destroy(tpark_backend *b) { (void)b; }

#endif /* _WIN32 */

const tpark__builtin *tpark__condvar_builtin(void) {
  static const tpark__builtin builtin = {"condvar", condvar_create, condvar_destroy};
  return &builtin;
}
