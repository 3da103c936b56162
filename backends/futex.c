/* futex backend (Linux): the state word is the futex.
 *
 * States of p->state_.u32:
 *   EMPTY    not in a cycle, or unparked (the end of a cycle)
 *   PARKED   prepared; the owner is not (yet) asleep in the kernel
 *   SLEEPING prepared; the owner is, or is about to be, in FUTEX_WAIT
 * The owner moves PARKED -> SLEEPING before it waits, so that an unpark_lock
 * that finds PARKED knows no one sleeps and unpark makes no system call. */
#include <errno.h>
#include <stddef.h>

#include "backends/builtin.h"
#include "core/internal.h"
#include "platform/os.h"

/* Linux's futex ABI, by hand so this file compiles on every OS. */
#define FUTEX_OP_WAIT_BITSET_PRIVATE (9 | 128)
#define FUTEX_OP_WAKE_PRIVATE (1 | 128)
#define FUTEX_BITSET_MATCH_ANY 0xFFFFFFFFu
#define LINUX_CLOCK_MONOTONIC 1

enum { EMPTY = 0, PARKED = 1, SLEEPING = 2 };

static tpark_instant futex_now(const tpark_backend *self) {
  struct timespec ts;
  (void)self;
  if (tpark_os(clock_gettime)(LINUX_CLOCK_MONOTONIC, &ts) != 0) {
    tpark__os_fatal("clock_gettime(CLOCK_MONOTONIC)", "errno", errno);
  }
  return tpark__from_timespec(&ts);
}

static void futex_prepare_park(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  __atomic_store_n(&p->state_.u32, PARKED, __ATOMIC_RELAXED);
}

static bool futex_park_until(const tpark_backend *self, tpark_parker *p, tpark_instant deadline) {
  uint32_t *word = &p->state_.u32;
  for (;;) {
    uint32_t s = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (s == EMPTY) return true;
    if (deadline != TPARK_NEVER && futex_now(self) >= deadline) {
      /* Commit to the timeout, back to PARKED: a later unpark_lock then
       * knows no one sleeps. If an unpark_lock won meanwhile, loop. */
      if (s == PARKED || __atomic_compare_exchange_n(word, &s, PARKED, false, __ATOMIC_ACQUIRE,
                                                     __ATOMIC_ACQUIRE)) {
        return false;
      }
      continue;
    }
    if (s == PARKED && !__atomic_compare_exchange_n(word, &s, SLEEPING, false, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_ACQUIRE)) {
      continue; /* unparked meanwhile */
    }
    /* An absolute CLOCK_MONOTONIC deadline: the very clock of futex_now, so
     * no conversion can make the wait end early by rounding. */
    struct timespec ts = tpark__timespec(deadline);
    if (tpark_os(futex)(word, FUTEX_OP_WAIT_BITSET_PRIVATE, SLEEPING,
                        deadline == TPARK_NEVER ? NULL : &ts, FUTEX_BITSET_MATCH_ANY) != 0) {
      int err = errno;
      /* EAGAIN: the word was no longer SLEEPING; EINTR: a signal;
       * ETIMEDOUT: the loop checks the clock itself. */
      if (err != EAGAIN && err != EINTR && err != ETIMEDOUT) {
        tpark__os_fatal("futex(FUTEX_WAIT_BITSET)", "errno", err);
      }
    }
  }
}

static void futex_park(const tpark_backend *self, tpark_parker *p) {
  futex_park_until(self, p, TPARK_NEVER);
}

static bool futex_timed_out(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  return __atomic_load_n(&p->state_.u32, __ATOMIC_ACQUIRE) != EMPTY;
}

static void *futex_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  uint32_t old = __atomic_exchange_n(&p->state_.u32, EMPTY, __ATOMIC_RELEASE);
  return old == SLEEPING ? &p->state_.u32 : NULL;
}

static void futex_unpark(const tpark_backend *self, void *token) {
  (void)self;
  if (token == NULL) return;
  /* The parker may be gone already (its owner returned and freed it): the
   * kernel only uses the address, and EFAULT means the memory went away. */
  if (tpark_os(futex)(token, FUTEX_OP_WAKE_PRIVATE, 1, NULL, 0) < 0 && errno != EFAULT) {
    tpark__os_fatal("futex(FUTEX_WAKE)", "errno", errno);
  }
}

static void futex_thread_yield(const tpark_backend *self) {
  (void)self;
  tpark_os(sched_yield)();
}

static tpark_status futex_create(tpark_backend *b) {
  if (!tpark_os_has(futex) || !tpark_os_has(clock_gettime) || !tpark_os_has(sched_yield)) {
    return TPARK_ENOTSUP;
  }
  /* A kernel without futexes (or a seccomp filter) answers ENOSYS. */
  uint32_t probe = 0;
  if (tpark_os(futex)(&probe, FUTEX_OP_WAKE_PRIVATE, 1, NULL, 0) < 0) {
    return TPARK_ENOTSUP;
  }
  *b = (tpark_backend){
      .abi_version = TPARK_BACKEND_ABI_VERSION,
      .name = "futex",
      .prepare_park = futex_prepare_park,
      .park = futex_park,
      .park_until = futex_park_until,
      .timed_out = futex_timed_out,
      .unpark_lock = futex_unpark_lock,
      .unpark = futex_unpark,
      .now = futex_now,
      .thread_yield = futex_thread_yield,
      .context = NULL,
  };
  return TPARK_OK;
}

static void futex_destroy(tpark_backend *b) { (void)b; }

const tpark__builtin *tpark__futex_builtin(void) {
  static const tpark__builtin builtin = {"futex", futex_create, futex_destroy};
  return &builtin;
}
