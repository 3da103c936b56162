/* Internal header (not installed): what the parking lot (core/lot.c), the
 * wait functions (sync/wait.c) and the mutex (sync/mutex.c) share: each
 * thread's data, the spin policy, the default backend. */
#ifndef TPARK_CORE_LOT_INTERNAL_H
#define TPARK_CORE_LOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpark/tpark.h"

/* One per thread that used the lot (core/thread.c): created on first need,
 * freed when the thread exits. Only its own thread creates or frees it; other
 * threads touch it only while it is queued (its thread is then parked). */
typedef struct tpark__thread {
  /* The lot: the queue of a bucket, guarded by that bucket's lock. */
  tpark_parker parker;
  const void *key; /* atomic: a requeue changes it under the bucket locks */
  struct tpark__thread *next_in_queue;
  uintptr_t park_token;
  uintptr_t unpark_token; /* written by the unparker before unpark_lock */
  bool in_before_sleep;   /* atomic: it runs its own before_sleep (lot.c) */
  bool woke_itself;       /* an unpark in its own before_sleep picked it (lot.c) */
  /* The bucket locks (word locks): their queue, guarded by the lock word. A
   * second parker, because a timed-out thread takes a bucket lock between
   * its timed-out park and tpark_timed_out on the first one. */
  tpark_parker lock_parker;
  struct tpark__thread *lock_queue_tail, *lock_prev, *lock_next;
  /* Set when created: the lot may have to grow for one more thread. */
  bool grow_pending;
  /* On the caller's stack for one call: the thread is exiting. */
  bool temporary;
  /* Checked mode for locks (sync/lock_checks.c): its record of this thread,
   * NULL until it needs one; and the key-destructor rounds the thread's exit
   * has been through (tpark__thread_set_exit_hook). */
  void *lock_checks;
  unsigned exit_rounds;
} tpark__thread;

/* The calling thread's data, created on its first call (aborts when out of
 * memory) and released at thread exit (a pthread key destructor; winpthreads
 * runs them on Windows from its TLS callback). Once it was released the
 * thread is exiting, and this initialises and returns *spare instead: a
 * temporary for one call (core/thread.c says why). Either way, end the use
 * with tpark__thread_done. */
tpark__thread *tpark__thread_get(tpark__thread *spare);

/* What happens to a thread's data at the thread's exit, beyond freeing it:
 * checked mode for locks sets a hook (once, at load). The key's destructor
 * calls it in the exiting thread, with the data and the round (1, 2, ...:
 * the data is kept through a round whenever the hook returns true, and the
 * destructor runs again in the next round, as POSIX allows up to
 * PTHREAD_DESTRUCTOR_ITERATIONS times); false frees the data. Another key's
 * destructor that runs after tpark's in a round still finds the data. */
void tpark__thread_set_exit_hook(bool (*hook)(tpark__thread *t, unsigned round));

/* Uncounts a temporary (tpark__thread_done). */
void tpark__thread_uncount(void);

/* The end of a use begun with tpark__thread_get. */
static inline void tpark__thread_done(tpark__thread *t) {
  if (t->temporary) tpark__thread_uncount();
}

/* Threads that have data now (temporaries while in use). */
size_t tpark__thread_live(void);

/* The process default backend; prints why and aborts when there is none or
 * it is not a complete vtable. */
const tpark_backend *tpark__lot_backend(void);

/* (Re)binds p to backend b, not prepared; aborts if b is not a valid vtable. */
void tpark__lot_bind(tpark_parker *p, const tpark_backend *b);

/* Turns the fairness timer of every bucket off (tpark_lot_unpark_result's
 * be_fair stays false) or back on: the schedule explorer's runs must not
 * depend on state that earlier runs left in the buckets. */
void tpark__lot_set_fair_timer(bool on);

/* Takes the calling thread out of the queue it is in, if any, without
 * telling the lock it waited for: for the schedule explorer, which stops the
 * threads of a failed run wherever they are (their locks are abandoned with
 * the run). Not while the thread holds a bucket lock. */
void tpark__lot_leave(void);

/* Buckets in the lot's current table (0 before first use); for tests. */
size_t tpark__lot_table_size(void);

/* Threads queued on key right now (under its bucket lock); for tests that
 * must know a thread is really in the lot, not just about to park. */
size_t tpark__lot_queued(const void *key);

/* Bounded exponential backoff before parking (parking_lot's SpinWait): a few
 * rounds of pause instructions, then a few yields, then "park now". */
typedef struct tpark__spin {
  unsigned counter;
} tpark__spin;

/* Gives the processor away (platform/os.h, through the OS table). */
void tpark__os_yield(void);

static inline void tpark__cpu_relax(unsigned iterations) {
  for (unsigned i = 0; i < iterations; i++) {
#if defined(__i386__) || defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
  }
}

/* False once the thread has spun enough and should park. */
static inline bool tpark__spin_once(tpark__spin *s) {
  if (s->counter >= 10) return false;
  s->counter++;
  if (s->counter <= 3) {
    tpark__cpu_relax(1u << s->counter);
  } else {
    tpark__os_yield();
  }
  return true;
}

#endif /* TPARK_CORE_LOT_INTERNAL_H */
