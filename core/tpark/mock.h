/* tpark mock backend: deterministic tests of code built on tpark.
 *
 * A mock is a backend with its own fake clock. Its parks really block (threads
 * sleep on a lock inside the mock), but time passes only when the test calls
 * tpark_mock_advance: a park_until returns false only then, never because real
 * time went by. Every call is recorded in an event log, in the order it
 * happened (one lock inside the mock serialises them), so a test can assert
 * what its code did.
 *
 * Typical use:
 *   tpark_mock *m = tpark_mock_new();
 *   tpark_set_default_backend(tpark_mock_backend(m)); // or tpark_init_with
 *   ... start the code under test; it parks with a 5 s timeout ...
 *   tpark_mock_wait_sleepers(m, 1, 10000);            // it is asleep now
 *   tpark_mock_advance(m, 5000000000u);               // its timeout fires
 *   ... join, check tpark_mock_events ...
 *   tpark_mock_free(m);
 *
 * Link with @tpark//:tpark_mock.
 */
#ifndef TPARK_MOCK_H
#define TPARK_MOCK_H

#include <stddef.h>

#include "tpark/tpark.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tpark_mock tpark_mock;

/* A new mock, fake clock at 0; NULL when out of memory. Any thread. */
tpark_mock *tpark_mock_new(void);

/* Frees m and its events. No thread may be parked on it and no parker bound to
 * it may be used afterwards; freeing a mock with sleepers aborts with a
 * message. NULL does nothing. */
void tpark_mock_free(tpark_mock *m);

/* The backend to pass to tpark_init_with or tpark_set_default_backend; valid
 * until tpark_mock_free. Its name is "mock". */
const tpark_backend *tpark_mock_backend(tpark_mock *m);

/* The fake clock, ns. Also what tpark_now returns for parkers on m. */
tpark_instant tpark_mock_now(tpark_mock *m);

/* Moves the fake clock forward by ns (saturating at TPARK_NEVER) and wakes
 * every park_until whose deadline is <= the new time: they return false
 * (unless unparked first). Records ADVANCE. Any thread. */
void tpark_mock_advance(tpark_mock *m, uint64_t ns);

/* The number of threads blocked in park or park_until on m right now. */
size_t tpark_mock_sleepers(tpark_mock *m);

/* Waits (in real time, at most real_timeout_ms) until at least n threads are
 * blocked on m. True once they are, false on timeout. The only real-time wait
 * of the mock; use it to let the code under test reach its park. */
bool tpark_mock_wait_sleepers(tpark_mock *m, size_t n, uint64_t real_timeout_ms);

typedef enum tpark_mock_op {
  TPARK_MOCK_PREPARE,      /* prepare_park */
  TPARK_MOCK_SLEEP,        /* a park/park_until began to block (deadline in .deadline) */
  TPARK_MOCK_WOKEN,        /* a park returned true */
  TPARK_MOCK_TIMED_OUT,    /* a park_until returned false */
  TPARK_MOCK_UNPARK_LOCK,  /* unpark_lock (.hit: it found the parker prepared) */
  TPARK_MOCK_UNPARK,       /* unpark */
  TPARK_MOCK_ADVANCE       /* tpark_mock_advance (new time in .at) */
} tpark_mock_op;

/* One recorded call. SLEEP is recorded only when a park really blocks (not
 * when an unpark_lock came first). WOKEN and TIMED_OUT are recorded for every
 * park/park_until return, blocking or not. UNPARK_LOCK's .hit is true when it
 * found the parker in a cycle and not yet unparked (prepared, or timed out and
 * not yet unparked: then timed_out turns false); only such an unpark_lock
 * wakes anyone. Every event but ADVANCE names its parker; for UNPARK, the
 * parker of the handle's unpark_lock (as an address: it may be freed). */
typedef struct tpark_mock_event {
  tpark_mock_op op;
  const tpark_parker *parker;  /* NULL for ADVANCE */
  tpark_instant at;            /* fake time when it happened */
  tpark_instant deadline;      /* SLEEP only; TPARK_NEVER for park */
  bool hit;                    /* UNPARK_LOCK only */
} tpark_mock_event;

/* Copies the oldest min(cap, total) events into out (out may be NULL when cap
 * is 0); returns the total recorded so far. */
size_t tpark_mock_events(tpark_mock *m, tpark_mock_event *out, size_t cap);

/* A short name for op ("PREPARE", "SLEEP", ...), for test messages. */
const char *tpark_mock_op_name(tpark_mock_op op);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_MOCK_H */
