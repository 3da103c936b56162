/* parkbench: the variants under measurement. A variant is one way to park
 * and wake: tpark (variant_tpark.c), or the best plain use of the OS
 * primitive that a backend wraps, as a user who never heard of tpark would
 * write it (raw_posix.c, raw_windows.c). Each backend has a target: its name
 * and its raw baseline.
 *
 * A variant X provides X_init, X_prepare, X_park, X_wake (for tpark:
 * unpark_lock + unpark) and X_timed_wait; DEFINE_LOOPS(X), in X's own file,
 * writes the measurement loops with those calls inlined, so that a raw
 * baseline costs what hand-written code costs, and tpark what a user's
 * calls into the library cost. */
#ifndef PARKBENCH_VARIANT_H
#define PARKBENCH_VARIANT_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if !defined(_WIN32)
#include <pthread.h>
#endif

#include "tpark/backend.h"
#include "tpark/tpark.h"

/* The memory one parker lives in: one for each variant, on cache lines of
 * its own, so that neither variant gets false sharing the other lacks. */
typedef struct slot {
  alignas(64) tpark_parker parker; /* the tpark variant */
  uint32_t state;                  /* a raw variant's state word */
#if !defined(_WIN32)
  pthread_mutex_t mutex; /* raw condvar: a mutex and condvar per parker */
  pthread_cond_t cond;
#endif
} slot;

slot *new_slots(size_t n);
void free_slots(slot *s);

typedef struct variant {
  void (*init)(slot *s, const tpark_backend *b);
  void (*prepare)(slot *s);
  void (*wake)(slot *s);
  /* n round trips: wake the peer, sleep until it wakes us. */
  void (*ping)(slot *mine, slot *peer, unsigned n);
  /* The other side, mine prepared; its last wake-up is the caller's. */
  void (*pong)(slot *mine, slot *peer, unsigned n);
  void (*prepare_all)(slot *s, unsigned n);
  void (*wake_all)(slot *s, unsigned n);
  void (*park_all)(slot *s, unsigned n);
  /* Nobody wakes: one wait of timeout_ns; *late: how late it returned (ns,
   * negative: early). True when it reported a timeout. */
  bool (*timed_wait)(slot *s, uint64_t timeout_ns, int64_t *late);
} variant;

/* A backend and its raw baseline. */
typedef struct target {
  const char *name;   /* the tpark backend */
  const char *raw;    /* what the raw baseline does, in a few words */
  variant variant;    /* the raw baseline */
  bool unpark_blocks; /* keyed events: an unpark waits until the owner waits */
} target;

extern const variant tpark_variant;

/* The targets of this OS (raw_posix.c or raw_windows.c). */
extern const target raw_targets[];
extern const size_t n_raw_targets;

#define DEFINE_LOOPS(v)                                      \
  static void v##_ping(slot *mine, slot *peer, unsigned n) { \
    for (unsigned i = 0; i < n; i++) {                       \
      v##_prepare(mine);                                     \
      v##_wake(peer);                                        \
      v##_park(mine);                                        \
    }                                                        \
  }                                                          \
  static void v##_pong(slot *mine, slot *peer, unsigned n) { \
    for (unsigned i = 1; i < n; i++) {                       \
      v##_park(mine);                                        \
      v##_prepare(mine);                                     \
      v##_wake(peer);                                        \
    }                                                        \
    v##_park(mine);                                          \
  }                                                          \
  static void v##_prepare_all(slot *s, unsigned n) {         \
    for (unsigned i = 0; i < n; i++) v##_prepare(&s[i]);     \
  }                                                          \
  static void v##_wake_all(slot *s, unsigned n) {            \
    for (unsigned i = 0; i < n; i++) v##_wake(&s[i]);        \
  }                                                          \
  static void v##_park_all(slot *s, unsigned n) {            \
    for (unsigned i = 0; i < n; i++) v##_park(&s[i]);        \
  }

#define VARIANT(v)                                                                      \
  {                                                                                     \
    v##_init, v##_prepare, v##_wake, v##_ping, v##_pong, v##_prepare_all, v##_wake_all, \
        v##_park_all, v##_timed_wait                                                    \
  }

#endif /* PARKBENCH_VARIANT_H */
