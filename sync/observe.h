/* Internal header (not installed): the one hook point of every lock
 * operation. Whatever watches the locks installs an observer here: checked
 * mode for locks (sync/lock_checks.c) and the schedule explorer; more than
 * one at a time is fine, each gets every event.
 *
 * While at least one observer is installed, tpark__lock_observed
 * (tpark/observed.h) is nonzero, every inline fast path takes its
 * out-of-line function, and that function reports the operation as events
 * around the real work: an acquisition is LOCK (before the attempt) and
 * LOCKED (after it, .ok), a release is UNLOCK and UNLOCKED (before and
 * after it), and so on below.
 * While none is installed the only cost is the inline paths' one
 * predictable branch, and one more test in the out-of-line functions.
 *
 * Observers are called on the thread doing the operation, in the order they
 * were installed, outside every tpark lock (no bucket lock, no lock of the
 * operation held on their behalf): an observer may block, call tpark, or end
 * the process. It must not use a tpark lock that is itself observed in a way
 * that recurses into the same event (checked mode uses the unobserved
 * mutex of sync/mutex_internal.h for its own data). */
#ifndef TPARK_SYNC_OBSERVE_H
#define TPARK_SYNC_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "tpark/observed.h"
#include "tpark/tpark.h"

typedef enum tpark__lock_kind {
  TPARK__LOCK_MUTEX,           /* tpark_mutex */
  TPARK__LOCK_RECURSIVE_MUTEX, /* tpark_recursive_mutex */
  TPARK__LOCK_RWLOCK,          /* tpark_rwlock */
  TPARK__LOCK_COND,            /* tpark_cond */
  TPARK__LOCK_ONCE,            /* tpark_once */
  TPARK__LOCK_ADDRESS          /* tpark_wait_on_address's address */
} tpark__lock_kind;

/* How a lock is (or is to be) held. */
typedef enum tpark__lock_mode {
  TPARK__MODE_EXCLUSIVE,  /* mutexes, an rwlock's write lock, a once's run */
  TPARK__MODE_SHARED,     /* an rwlock's read lock */
  TPARK__MODE_UPGRADABLE, /* an rwlock's upgradable read lock */
} tpark__lock_mode;

typedef enum tpark__lock_op {
  /* Before an acquisition attempt: lock, lock_until (.flags TIMED), trylock
   * (TRY); an upgrade (UPGRADE, .mode EXCLUSIVE); a cond wait taking its
   * mutex back (RELOCK); a recursive mutex already held (REENTRY). */
  TPARK__OP_LOCK,
  /* After that attempt, the same fields; .ok: acquired. */
  TPARK__OP_LOCKED,
  /* Before a release (.mode: the one being released; FAIR: unlock_fair). */
  TPARK__OP_UNLOCK,
  /* After that release (or downgrade), the same fields: the lock may be
   * someone else's already (the schedule explorer lets others run here). */
  TPARK__OP_UNLOCKED,
  /* Before an rwlock goes from write (or upgradable) down to .mode. */
  TPARK__OP_DOWNGRADE,
  /* Before a cond wait (.lock the cond, .other its mutex, .deadline)
   * releases the mutex. Its relock is LOCK and LOCKED (RELOCK) of .other,
   * then COND_WOKEN (.ok: notified, not timed out). */
  TPARK__OP_COND_WAIT,
  TPARK__OP_COND_WOKEN,
  /* A cond wait refused: the cond's waiters use the mutex .conflict, not
   * .other (still held). The process ends right after (cond.c), unless an
   * observer ends it first. */
  TPARK__OP_COND_MISMATCH,
  /* Before a notify (ALL: notify_all). */
  TPARK__OP_COND_NOTIFY,
  /* A once call (.lock the once): BEGIN when it starts (.ok: the once was
   * done already), RUN just before this thread runs fn, END when the call
   * returns (.ok: the once is done; RAN: this thread ran fn). */
  TPARK__OP_ONCE_BEGIN,
  TPARK__OP_ONCE_RUN,
  TPARK__OP_ONCE_END,
  /* Before tpark_wait_on_address may sleep (.deadline), and before a wake
   * (ALL: wake_by_address_all). */
  TPARK__OP_ADDRESS_WAIT,
  TPARK__OP_ADDRESS_WAKE,
} tpark__lock_op;

/* tpark__lock_event.flags */
#define TPARK__OBSERVE_TRY 1u     /* a trylock: never waits */
#define TPARK__OBSERVE_TIMED 2u   /* waits until .deadline at most */
#define TPARK__OBSERVE_REENTRY 4u /* a recursive mutex its caller holds already */
#define TPARK__OBSERVE_UPGRADE 8u /* upgradable read lock to write lock */
#define TPARK__OBSERVE_RELOCK 16u /* a cond wait taking its mutex back */
#define TPARK__OBSERVE_FAIR 32u   /* tpark_mutex_unlock_fair */
#define TPARK__OBSERVE_ALL 64u    /* notify_all, wake_by_address_all */
#define TPARK__OBSERVE_RAN 128u   /* ONCE_END: this thread ran fn */

typedef struct tpark__lock_event {
  tpark__lock_op op;
  tpark__lock_kind kind;
  tpark__lock_mode mode;
  unsigned flags;
  bool ok;                /* LOCKED, COND_WOKEN, ONCE_BEGIN, ONCE_END */
  const void *lock;       /* the lock, cond, once or address */
  const void *other;      /* COND_*: the mutex of the wait */
  const void *conflict;   /* COND_MISMATCH: the mutex the cond's waiters use */
  tpark_instant deadline; /* TPARK_NEVER unless TIMED (and COND_WAIT, ADDRESS_WAIT) */
  const char *call;       /* the public function, for messages ("tpark_mutex_lock") */
} tpark__lock_event;

typedef struct tpark__observer {
  void (*event)(void *ctx, const tpark__lock_event *e);
  void *ctx;
} tpark__observer;

/* Installs o (it must stay valid as long as the process runs: a report in
 * flight may still reach it after tpark__observe_remove). False when the
 * table of observers (4) is full. Install before the operations to watch
 * begin: an observer sees nothing of what happened before (checked mode
 * installs itself at load). */
bool tpark__observe_add(const tpark__observer *o);

/* Uninstalls o; nothing when it is not installed. */
void tpark__observe_remove(const tpark__observer *o);

/* The kind's name in messages: "mutex", "recursive mutex", "rwlock",
 * "cond", "once", "address". */
const char *tpark__lock_kind_name(tpark__lock_kind kind);

/* Hands e to every installed observer. Only the out-of-line lock functions
 * call it, after tpark__observed() said true. */
void tpark__observe(const tpark__lock_event *e);

/* Sets up checked mode for locks when TPARK_CHECKED=1 (sync/lock_checks.c).
 * observe.c calls it at load, so that it is linked into every program that
 * uses a lock. */
void tpark__lock_checks_start(void);

/* Checked mode forgets what the calling thread holds and waits for (nothing
 * when checked mode is off): for the schedule explorer, whose failed runs
 * stop threads that still hold locks and reuse them for later runs. */
void tpark__lock_checks_drop_thread(void);

/* The calling thread's work is over though the OS thread goes on (a thread
 * of the schedule explorer, whose workers are reused): checked mode ends the
 * process if it still holds a lock ("release before exit"), as it would at
 * the thread's exit. Nothing when checked mode is off. */
void tpark__lock_checks_thread_ends(void);

#endif /* TPARK_SYNC_OBSERVE_H */
