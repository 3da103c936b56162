/* parkbench: the raw baselines on POSIX, each the best plain use of the
 * primitive that a tpark backend wraps, written as a user who never heard of
 * tpark would write a "sleep until woken" flag. A baseline copies no tpark
 * choice that the primitive does not force; tpark should cost no more.
 *
 *   futex    (Linux) the futex backend's primitive
 *   condvar  (any POSIX) the condvar backend's primitive
 * and the lock section's (lock_raw.h): pthread_mutex_t, and futex as a raw
 * address wait. */
#if !defined(_WIN32)
#if defined(__linux__)
#define _GNU_SOURCE /* syscall */
#endif

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "tools/bench/lock_raw.h"
#include "tools/bench/sys.h"
#include "tools/bench/variant.h"

#if defined(__linux__)
/* futex: the classic three-state word (as in Drepper, "Futexes Are Tricky").
 * EMPTY: woken or not waiting; PARKED: will wait; SLEEPING: in FUTEX_WAIT.
 * Why it is the floor: a wake-up needs one atomic on the word by each side
 * and one FUTEX_WAIT/FUTEX_WAKE pair, and the waker makes the FUTEX_WAKE
 * system call only when the word says someone sleeps. Fewer states would
 * make a waker call FUTEX_WAKE for an owner that is awake. */
enum { FX_EMPTY = 0, FX_PARKED = 1, FX_SLEEPING = 2 };

static long fx_sys(uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t val3) {
  return syscall(SYS_futex, word, op, val, ts, NULL, val3);
}
static void fx_init(slot *s, const tpark_backend *b) {
  (void)b;
  s->state = FX_EMPTY;
}
static inline void fx_prepare(slot *s) { __atomic_store_n(&s->state, FX_PARKED, __ATOMIC_RELAXED); }
static inline void fx_park(slot *s) {
  for (;;) {
    uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    if (st == FX_EMPTY) return;
    if (st == FX_PARKED && !__atomic_compare_exchange_n(&s->state, &st, FX_SLEEPING, false,
                                                        __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
      continue;
    }
    fx_sys(&s->state, FUTEX_WAIT_PRIVATE, FX_SLEEPING, NULL, 0); /* EAGAIN, EINTR: look again */
  }
}
static inline void fx_wake(slot *s) {
  if (__atomic_exchange_n(&s->state, FX_EMPTY, __ATOMIC_RELEASE) == FX_SLEEPING) {
    fx_sys(&s->state, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
  }
}
/* One FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline. */
static bool fx_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  s->state = FX_SLEEPING;
  uint64_t deadline = now_ns() + timeout_ns;
  struct timespec ts = {(time_t)(deadline / NS_PER_SEC), (long)(deadline % NS_PER_SEC)};
  long r = fx_sys(&s->state, FUTEX_WAIT_BITSET_PRIVATE, FX_SLEEPING, &ts, FUTEX_BITSET_MATCH_ANY);
  int err = errno;
  *late = (int64_t)(now_ns() - deadline);
  return r != 0 && err == ETIMEDOUT;
}
DEFINE_LOOPS(fx)
#endif /* __linux__ */

/* condvar: a mutex and a CLOCK_MONOTONIC condvar per parker and a "woken"
 * flag under the mutex, as a binary semaphore: the waker sets the flag
 * under the mutex and signals after unlocking; the owner waits until it is
 * set and clears it (so prepare has nothing to do).
 * Why it is the floor: with only a mutex and a condvar, the waker must take
 * the owner's mutex (or the owner could miss the wake between its check and
 * its wait); a condvar of its own means pthread_cond_signal wakes exactly the
 * owner (no broadcast, no neighbours); and signalling after the unlock means
 * the woken owner never blocks again on a mutex the waker still holds.
 * (After the unlock the owner may already have returned: fine here, where
 * the parker outlives the benchmark; a real per-parker design could not free
 * its parker that early.) */
static void cv_init(slot *s, const tpark_backend *b) {
  pthread_condattr_t attr;
  (void)b;
  s->state = 0;
  if (pthread_mutex_init(&s->mutex, NULL) != 0 || pthread_condattr_init(&attr) != 0 ||
      pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
      pthread_cond_init(&s->cond, &attr) != 0) {
    die("pthread mutex/condvar init failed");
  }
  pthread_condattr_destroy(&attr);
}
static inline void cv_prepare(slot *s) { (void)s; }
static inline void cv_park(slot *s) {
  pthread_mutex_lock(&s->mutex);
  while (!s->state) pthread_cond_wait(&s->cond, &s->mutex);
  s->state = 0;
  pthread_mutex_unlock(&s->mutex);
}
static inline void cv_wake(slot *s) {
  pthread_mutex_lock(&s->mutex);
  s->state = 1;
  pthread_mutex_unlock(&s->mutex);
  pthread_cond_signal(&s->cond);
}
/* One pthread_cond_timedwait with an absolute CLOCK_MONOTONIC deadline. */
static bool cv_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  pthread_mutex_lock(&s->mutex);
  uint64_t deadline = now_ns() + timeout_ns;
  struct timespec ts = {(time_t)(deadline / NS_PER_SEC), (long)(deadline % NS_PER_SEC)};
  int err = pthread_cond_timedwait(&s->cond, &s->mutex, &ts);
  pthread_mutex_unlock(&s->mutex);
  *late = (int64_t)(now_ns() - deadline);
  return err == ETIMEDOUT;
}
DEFINE_LOOPS(cv)

const target raw_targets[] = {
#if defined(__linux__)
    {"futex", "futex(2): 3-state word, FUTEX_WAKE only if the word says sleeping", VARIANT(fx),
     false},
#endif
    {"condvar", "mutex + condvar per parker, flag under the mutex, signal after unlocking",
     VARIANT(cv), false},
};
const size_t n_raw_targets = sizeof raw_targets / sizeof raw_targets[0];

/* ---- the lock section's baselines (lock_raw.h) ---------------------------------- */

static pthread_mutex_t system_mutex = PTHREAD_MUTEX_INITIALIZER;

const char *const system_lock_name = "pthread_mutex_t";

void system_lock_init(void) {
  if (pthread_mutex_init(&system_mutex, NULL) != 0) die("pthread_mutex_init failed");
}

void system_lock(void) { pthread_mutex_lock(&system_mutex); }

void system_unlock(void) { pthread_mutex_unlock(&system_mutex); }

static pthread_mutex_t system_recursive;

const char *const system_recursive_name = "PTHREAD_MUTEX_RECURSIVE";

void system_recursive_init(void) {
  static bool made;
  pthread_mutexattr_t attr;
  if (made) pthread_mutex_destroy(&system_recursive);
  if (pthread_mutexattr_init(&attr) != 0 ||
      pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE) != 0 ||
      pthread_mutex_init(&system_recursive, &attr) != 0) {
    die("pthread_mutex_init(PTHREAD_MUTEX_RECURSIVE) failed");
  }
  pthread_mutexattr_destroy(&attr);
  made = true;
}

void system_recursive_lock(void) { pthread_mutex_lock(&system_recursive); }

void system_recursive_unlock(void) { pthread_mutex_unlock(&system_recursive); }

#if defined(__linux__)
const char *raw_wait_name(void) { return "futex"; }

void raw_wait(uint32_t *addr, uint32_t value) {
  fx_sys(addr, FUTEX_WAIT_PRIVATE, value, NULL, 0); /* EAGAIN, EINTR: the caller looks again */
}

void raw_wake(uint32_t *addr) { fx_sys(addr, FUTEX_WAKE_PRIVATE, 1, NULL, 0); }
#else
const char *raw_wait_name(void) { return NULL; }

void raw_wait(uint32_t *addr, uint32_t value) {
  (void)addr;
  (void)value;
}

void raw_wake(uint32_t *addr) { (void)addr; }
#endif /* __linux__ */

#endif /* !_WIN32 */
