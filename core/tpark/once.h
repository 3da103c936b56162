/* tpark once: runs an initialisation exactly once, however many threads ask
 * for it at the same time, after parking_lot's Once, on the parking lot
 * (tpark/lot.h).
 *
 *   static tpark_once table_once = TPARK_ONCE_INIT;
 *   static struct table *table;
 *   static void build_table(void *arg) { (void)arg; table = table_new(); }
 *
 *   struct table *get_table(void) {
 *     tpark_once_call(&table_once, build_table, NULL);
 *     return table;  // built, and its writes visible, in every thread
 *   }
 *
 * One byte, all zero before the first call (TPARK_ONCE_INIT), no OS object
 * and no destructor. Once done, a call is one acquire load, inlined here.
 * While one thread runs fn, the others that call park on the lot (they do
 * not spin) until it has finished; then all of them return, with fn's writes
 * visible. fn may call tpark_once_call on another tpark_once; on the same
 * one it deadlocks (no owner is recorded), as pthread_once does.
 *
 * A run may fail: with tpark_once_try_call, fn returns false to say that the
 * initialisation did not happen (it could not allocate, it threw a C++
 * exception, ...). The once then stays not done, and the initialisation
 * passes to exactly one other thread: the one that has waited longest runs
 * its own fn next (the others keep waiting), or, when none waits, the next
 * caller does. That is what C++'s std::call_once needs: its callable's
 * exception leaves the flag unset and another call runs. A C++ wrapper
 * catches the exception inside its fn, returns false, and rethrows it after
 * tpark_once_try_call returned: no exception may unwind through tpark's C
 * frames (the lot holds no lock while fn runs, but unwinding through C is
 * undefined). A failed run wakes one waiter rather than all of them because
 * only one can run fn: the others would wake up to park again.
 *
 * It must not be copied while in use. C99 and C++11; includes no OS header.
 */
#ifndef TPARK_ONCE_H
#define TPARK_ONCE_H

#include <stdbool.h>

#include "tpark/observed.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One byte. The member is private (see sync/once.c for its bits). */
typedef struct tpark_once {
  unsigned char state_;
} tpark_once;

/* Not run yet (all zero). */
#define TPARK_ONCE_INIT \
  { 0 }

/* The value of state_ once an initialisation has succeeded (final). */
#define TPARK__ONCE_DONE 1u

/* Out of line: the calls below when the once is not done (or when
 * tpark/observed.h's observation is on). Not an API: call the functions
 * below. */
void tpark__once_call_slow(tpark_once *o, void (*fn)(void *arg), void *arg);
bool tpark__once_try_call_slow(tpark_once *o, bool (*fn)(void *arg), void *arg);

/* True once an initialisation of o has succeeded; then its writes are
 * visible to the caller. */
static inline bool tpark_once_done(tpark_once *o) {
  return __atomic_load_n(&o->state_, __ATOMIC_ACQUIRE) == TPARK__ONCE_DONE;
}

/* Runs fn(arg) if no call on o has run its fn yet, and returns once that run
 * (this one or another thread's) has finished, its writes visible. */
static inline void tpark_once_call(tpark_once *o, void (*fn)(void *arg), void *arg) {
  if (tpark__observed() || !tpark_once_done(o)) tpark__once_call_slow(o, fn, arg);
}

/* As tpark_once_call, for an fn that may fail: fn returns true when the
 * initialisation succeeded. Returns true when o is done (by this call's fn,
 * or by another's); false when this call ran fn and it failed: o is not
 * done, and another caller (the longest waiting, if any) runs its fn next. */
static inline bool tpark_once_try_call(tpark_once *o, bool (*fn)(void *arg), void *arg) {
  if (!tpark__observed() && tpark_once_done(o)) return true;
  return tpark__once_try_call_slow(o, fn, arg);
}

#ifdef __cplusplus
}
#endif

#endif /* TPARK_ONCE_H */
