/* tpark backend vtable: what a backend provides, and the rules of each call.
 *
 * The public functions of tpark/tpark.h dispatch to these members. A custom
 * backend fills a tpark_backend and passes it to tpark_init_with (or
 * tpark_set_default_backend); the conformance suite (tpark/conformance.h,
 * @tpark//:conformance) checks it.
 *
 * Every function member is required (tpark_init_with rejects a NULL one).
 * Members only ever get appended; abi_version says which set a struct has.
 * A copy of a valid backend is a valid backend: members must not depend on
 * the struct's own address, only on what it holds (use `context`).
 *
 * Each member receives `self`, the struct the parker was initialised with.
 * The parker's `state_` union (zeroed by tpark_init_with, meaning "not
 * prepared") is the backend's to use; tpark never reads it.
 */
#ifndef TPARK_BACKEND_H
#define TPARK_BACKEND_H

#include <stddef.h>

#include "tpark/tpark.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version this header describes. tpark_init_with accepts every version
 * from 1 to this one and reads only the members that version has. */
#define TPARK_BACKEND_ABI_VERSION 2u

struct tpark_backend {
  /* TPARK_BACKEND_ABI_VERSION. */
  unsigned abi_version;

  /* Short lower-case name, e.g. "futex"; what tpark_backend_name returns. */
  const char *name;

  /* Owning thread, before p is reachable to wakers: start a cycle. Must be
   * a plain store or close to it; any thread may unpark_lock right after. */
  void (*prepare_park)(const tpark_backend *self, tpark_parker *p);

  /* Owning thread, after prepare_park: return once an unpark_lock of this
   * cycle has happened, and not before. Absorb spurious wake-ups. On return,
   * the waker's writes before its unpark_lock must be visible (acquire).
   * Must not be a cancellation point (tpark/tpark.h): disable cancellation
   * around an OS wait that is one, such as pthread_cond_wait. */
  void (*park)(const tpark_backend *self, tpark_parker *p);

  /* As park, but return false once now(self) >= deadline and no unpark_lock
   * of this cycle won the race; true when unparked. deadline may be in the
   * past (no wait for time then) or TPARK_NEVER (behave as park, return true).
   * An OS timeout that fires before deadline on now() must be waited again.
   * Not a cancellation point either. */
  bool (*park_until)(const tpark_backend *self, tpark_parker *p, tpark_instant deadline);

  /* Owning thread, after park_until returned false, under the wakers' lock:
   * true unless an unpark_lock has happened since the timeout. */
  bool (*timed_out)(const tpark_backend *self, tpark_parker *p);

  /* Any thread but the owner, usually under a lock, must not block: if p is in
   * a cycle and this is its first unpark_lock, mark it unparked (release).
   * Return a token for unpark (NULL is allowed). After it returns the owner may
   * free p at any moment, so the token must not be p's memory that unpark
   * dereferences; it may be p's address used as a key. */
  void *(*unpark_lock)(const tpark_backend *self, tpark_parker *p);

  /* Any thread, after it released its locks: wake the owner of the cycle that
   * produced token, if it sleeps. Called exactly once per unpark_lock, with its
   * token (also when that is NULL). Must not read or write the parker. May
   * block until the owner has entered its wait, never longer. */
  void (*unpark)(const tpark_backend *self, void *token);

  /* Any thread: now in ns on this backend's monotonic clock (the clock of
   * park_until deadlines). Never decreases. */
  tpark_instant (*now)(const tpark_backend *self);

  /* Any thread: give the processor to another ready thread. */
  void (*thread_yield)(const tpark_backend *self);

  /* The backend's own state (e.g. an OS handle, a mock); tpark never reads
   * it. */
  void *context;

  /* ---- ABI version 2: a native address wait (optional) ----
   * Either both NULL (the usual case: tpark/wait.h then uses the parking
   * lot) or both set, when the OS has an address wait of its own
   * (WaitOnAddress). tpark_wait_on_address and tpark_wake_by_address_* call
   * them when this backend is the process default; arguments are already
   * checked (size 1, 2, 4 or 8, addr aligned and not NULL). */

  /* Any thread: WaitOnAddress's contract. Return true at once when the size
   * bytes at addr differ from those at compare, true when woken by
   * wake_by_address on addr (spurious true allowed), false only once
   * now(self) >= deadline (TPARK_NEVER: never). */
  bool (*wait_on_address)(const tpark_backend *self, volatile void *addr, const void *compare,
                          size_t size, tpark_instant deadline);

  /* Any thread: wake one (all false) or every thread waiting on addr in
   * wait_on_address. */
  void (*wake_by_address)(const tpark_backend *self, void *addr, bool all);
};

#ifdef __cplusplus
}
#endif

#endif /* TPARK_BACKEND_H */
