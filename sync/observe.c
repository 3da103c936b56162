/* The observers of the lock operations (sync/observe.h) and the flag of
 * tpark/observed.h: the number of observers installed. */
#include "sync/observe.h"

#include <stddef.h>

int tpark__lock_observed;

#define MAX_OBSERVERS 4

static const tpark__observer *observers[MAX_OBSERVERS]; /* atomic */

bool tpark__observe_add(const tpark__observer *o) {
  for (size_t i = 0; i < MAX_OBSERVERS; i++) {
    const tpark__observer *none = NULL;
    if (__atomic_compare_exchange_n(&observers[i], &none, o, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
      /* After the slot: the operations that now take their out-of-line
       * paths find the observer there. */
      __atomic_add_fetch(&tpark__lock_observed, 1, __ATOMIC_RELEASE);
      return true;
    }
  }
  return false;
}

void tpark__observe_remove(const tpark__observer *o) {
  for (size_t i = 0; i < MAX_OBSERVERS; i++) {
    if (__atomic_load_n(&observers[i], __ATOMIC_RELAXED) == o) {
      __atomic_sub_fetch(&tpark__lock_observed, 1, __ATOMIC_RELEASE);
      __atomic_store_n(&observers[i], NULL, __ATOMIC_RELEASE);
      return;
    }
  }
}

const char *tpark__lock_kind_name(tpark__lock_kind kind) {
  switch (kind) {
    case TPARK__LOCK_MUTEX:
      return "mutex";
    case TPARK__LOCK_RECURSIVE_MUTEX:
      return "recursive mutex";
    case TPARK__LOCK_RWLOCK:
      return "rwlock";
    case TPARK__LOCK_COND:
      return "cond";
    case TPARK__LOCK_ONCE:
      return "once";
    case TPARK__LOCK_ADDRESS:
      return "address";
  }
  return "lock";
}

void tpark__observe(const tpark__lock_event *e) {
  for (size_t i = 0; i < MAX_OBSERVERS; i++) {
    const tpark__observer *o = __atomic_load_n(&observers[i], __ATOMIC_ACQUIRE);
    if (o != NULL) o->event(o->ctx, e);
  }
}

/* Before main and before the constructors of default priority (C++'s static
 * objects among them), so that checked mode sees every lock operation of the
 * program from its first: an unlock whose lock it had not seen would be a
 * false report. */
__attribute__((constructor(101))) static void start_at_load(void) { tpark__lock_checks_start(); }
