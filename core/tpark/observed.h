/* Internal to tpark's inline lock functions (tpark/mutex.h and the other lock
 * headers): not an API; these names may change in any release.
 *
 * tpark__lock_observed is nonzero while something watches every lock
 * operation: checked mode for locks (tpark/checked.h) or the schedule
 * explorer. An inline fast path starts with `if (tpark__observed())` and
 * then calls its out-of-line function, which reports the operation; when
 * nothing watches, the check costs one relaxed load and a branch that is
 * always predicted right. C99 and C++11; includes no OS header. */
#ifndef TPARK_OBSERVED_H
#define TPARK_OBSERVED_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Set before the first observed operation, cleared after the last one;
 * written only by the observers (sync/observe.c). */
extern int tpark__lock_observed;

static inline bool tpark__observed(void) {
  return __builtin_expect(__atomic_load_n(&tpark__lock_observed, __ATOMIC_RELAXED) != 0, 0);
}

#ifdef __cplusplus
}
#endif

#endif /* TPARK_OBSERVED_H */
