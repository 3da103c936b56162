/* tpark mock backend: deterministic tests of code built on tpark.
 *
 * A mock is a backend with its own fake clock. Its parks really block (threads
 * sleep on a lock inside the mock), but time passes only when the test moves
 * the clock (tpark_mock_advance, tpark_mock_advance_to,
 * tpark_mock_run_until_idle): a park_until returns false only then, never
 * because real time went by. Every call is recorded in an event log, in the
 * order it happened (one lock inside the mock serialises them), so a test can
 * assert what its code did.
 *
 * Sleepers. A thread is a sleeper of m from the moment its park/park_until
 * blocks (its SLEEP event) until the moment it is woken, and that moment is
 * the waker's call, under the mock's lock, not when the thread gets to run:
 *   - tpark_mock_advance / _advance_to / _run_until_idle wake, inside the
 *     call, every sleeper whose deadline is <= the new time;
 *   - an unpark_lock that hits a sleeping parker wakes it inside the
 *     unpark_lock (the thread itself then waits for the matching unpark
 *     before it returns from its park, as with a real backend).
 * So once `tpark_mock_advance(m, d)` returned k, the k woken threads no
 * longer count (a sleeper counted from then on has parked again), and
 * `tpark_mock_wait_sleepers(m, n, ...)` waits until they have run and parked
 * again: it never reads stale state.
 *
 * Typical use, stepping by hand:
 *   tpark_mock *m = tpark_mock_new();
 *   tpark_set_default_backend(tpark_mock_backend(m)); // or tpark_init_with
 *   ... start the code under test; it parks with a 5 s timeout ...
 *   tpark_mock_wait_sleepers(m, 1, 10000);            // it is asleep now
 *   tpark_mock_advance(m, 5000000000u);               // its timeout fires: 1
 *   ... join, check its effects and tpark_mock_events ...
 *   tpark_mock_free(m);
 * or letting the mock drive the clock: tpark_mock_set_threads(m, n) before
 * starting n threads (each calls tpark_mock_thread_exit(m) when it ends),
 * then tpark_mock_run_until_idle(m, limit, 10000). README, "Testing your code
 * with the mock", has a complete example.
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

/* A new mock whose fake clock starts at start (any value, TPARK_NEVER too);
 * NULL when out of memory. tpark_mock_new() is tpark_mock_new_at(0). */
tpark_mock *tpark_mock_new_at(tpark_instant start);

/* Frees m, its events and labels. No thread may be parked on it (asleep, or
 * woken by an unpark_lock and still waiting for its unpark): that aborts with
 * a message. A thread that was woken and is on its way out of its park is
 * waited for, and so is any call on m that another thread is still returning
 * from (a waker leaving tpark_unpark): freeing right after a wake is safe.
 * No call on m may start once this has begun, and no parker bound to m may be
 * used afterwards. NULL does nothing. */
void tpark_mock_free(tpark_mock *m);

/* The backend to pass to tpark_init_with or tpark_set_default_backend; valid
 * until tpark_mock_free. Its name is "mock". */
const tpark_backend *tpark_mock_backend(tpark_mock *m);

/* The fake clock, ns. Also what tpark_now returns for parkers on m. */
tpark_instant tpark_mock_now(tpark_mock *m);

/* Moves the fake clock forward by ns (saturating at TPARK_NEVER), records
 * ADVANCE, and wakes every sleeper whose deadline is <= the new time: their
 * park_until returns false (tpark_timed_out stays true unless an unpark_lock
 * comes later). Returns how many it woke; they stop counting as sleepers
 * before it returns. Any thread. */
size_t tpark_mock_advance(tpark_mock *m, uint64_t ns);

/* As tpark_mock_advance, to the absolute time instant. Never moves the clock
 * backwards: an instant <= now leaves it where it is (and still records an
 * ADVANCE, at the unchanged time). TPARK_NEVER is allowed (the end of time:
 * every finite deadline fires). Returns how many sleepers it woke. */
size_t tpark_mock_advance_to(tpark_mock *m, tpark_instant instant);

/* The earliest deadline among the current sleepers; TPARK_NEVER when no
 * sleeper has one (none sleeps, or all sleep in park / park_until(NEVER)).
 * A thread woken but not yet parked again has none. */
tpark_instant tpark_mock_next_deadline(tpark_mock *m);

/* The number of sleepers of m right now (see "Sleepers" above). */
size_t tpark_mock_sleepers(tpark_mock *m);

/* Waits (in real time, at most real_timeout_ms) until at least n threads
 * sleep on m. True once they do, false on timeout (tpark_mock_describe then
 * says who sleeps). A real-time wait; use it to let the code under test reach
 * its park. */
bool tpark_mock_wait_sleepers(tpark_mock *m, size_t n, uint64_t real_timeout_ms);

/* ---- Running until idle -------------------------------------------------
 * A test declares how many threads take part (every thread that parks on m),
 * then lets the mock drive the clock: tpark_mock_run_until_idle waits until
 * all of them sleep, jumps the clock to the next deadline, and again, until
 * nothing is pending. A declared thread that ends calls
 * tpark_mock_thread_exit(m) as its last step, so nobody waits for it to
 * sleep again. */

/* Declares that n threads take part (replaces the earlier count, exits
 * included). TPARK_EINVAL when m is NULL. Call it before starting them. */
tpark_status tpark_mock_set_threads(tpark_mock *m, size_t n);

/* A declared thread has ended (or will never park on m again): one fewer
 * thread takes part. TPARK_EINVAL when m is NULL or no declared thread is
 * left. Any thread. */
tpark_status tpark_mock_thread_exit(tpark_mock *m);

/* Why tpark_mock_run_until_idle stopped. */
typedef enum tpark_mock_result {
  /* Nothing is pending: every declared thread has exited (the count is 0)
   * and no sleeper has a deadline. */
  TPARK_MOCK_IDLE = 0,
  /* The next deadline is after limit: the clock was moved to limit (if it
   * was earlier), and every declared thread sleeps. */
  TPARK_MOCK_LIMIT = 1,
  /* Every declared thread that has not exited sleeps (at least one), and
   * none has a deadline: only the test can wake them now. A bug if the test
   * expected them to finish (tpark_mock_describe says who sleeps where); the
   * expected end if they are, say, workers waiting for a job (Go's synctest
   * calls this state a deadlock too: shut such workers down to reach IDLE). */
  TPARK_MOCK_DEADLOCK = 2,
  /* Within real_timeout_ms of real time, the declared threads did not all
   * sleep: one is busy, blocked outside the mock (a plain mutex, a join),
   * woken by an unpark_lock whose unpark never came, or ended without
   * tpark_mock_thread_exit; or the declared count is too high. */
  TPARK_MOCK_TIMEOUT = 3,
  /* m is NULL, or tpark_mock_set_threads was never called on it. */
  TPARK_MOCK_EINVAL = 4
} tpark_mock_result;

/* Drives the fake clock until nothing is pending. Each step waits (real
 * time, at most real_timeout_ms per step) until every declared thread that
 * has not exited sleeps, then moves the clock to the earliest deadline among
 * the sleepers (recording ADVANCE, waking the sleepers due then, as
 * tpark_mock_advance_to), never past limit. Returns why it stopped (see
 * tpark_mock_result); the clock is at the last deadline it reached, or at
 * limit for TPARK_MOCK_LIMIT. With limit <= now it moves nothing: it waits
 * for the threads once and reports. A thread that parks with a deadline
 * again and again (a periodic timer) always leaves one pending: give a
 * finite limit, or TPARK_NEVER runs until its deadlines reach the end of
 * time. Call it from a thread that does not park on m (the test's own). */
tpark_mock_result tpark_mock_run_until_idle(tpark_mock *m, tpark_instant limit,
                                            uint64_t real_timeout_ms);

/* A short name for r ("IDLE", "LIMIT", "DEADLOCK", "TIMEOUT", "EINVAL"). */
const char *tpark_mock_result_name(tpark_mock_result r);

/* ---- Reports --------------------------------------------------------- */

/* Names the parker at address p for events and reports ("worker", ...): the
 * mock keeps a copy of name, valid until tpark_mock_free; NULL removes the
 * label. Labels go by address (a parker reused at the same address keeps
 * it); events keep the label the parker had when they were recorded.
 * TPARK_EINVAL when m or p is NULL. */
tpark_status tpark_mock_label(tpark_mock *m, const tpark_parker *p, const char *name);

/* Writes a description of m into buf, as snprintf does (at most cap bytes,
 * NUL-terminated when cap > 0; buf may be NULL when cap is 0), and returns
 * its full length without the NUL. One line for the mock: the fake time, the
 * declared threads, the number of sleepers, the next deadline; then one line
 * per thread parked on m, in the order they began to sleep:
 *   mock: now 3000 ns, threads 2 declared (0 exited), 2 asleep, next deadline 5000 ns
 *     parker 0x5581... "worker": asleep since 1000 ns, until 5000 ns
 *     parker 0x5581... (no label): asleep since 3000 ns, until never
 *     parker 0x5581... "timer": woken by unpark_lock at 2000 ns, waiting for its unpark
 * For a test's failure message, e.g. after TPARK_MOCK_DEADLOCK. */
size_t tpark_mock_describe(tpark_mock *m, char *buf, size_t cap);

/* ---- Event log --------------------------------------------------------- */

typedef enum tpark_mock_op {
  TPARK_MOCK_PREPARE,     /* prepare_park */
  TPARK_MOCK_SLEEP,       /* a park/park_until began to block (deadline in .deadline) */
  TPARK_MOCK_WOKEN,       /* a park returned true */
  TPARK_MOCK_TIMED_OUT,   /* a park_until returned false */
  TPARK_MOCK_UNPARK_LOCK, /* unpark_lock (.hit: it found the parker prepared) */
  TPARK_MOCK_UNPARK,      /* unpark */
  TPARK_MOCK_ADVANCE      /* the clock was moved (new time in .at) */
} tpark_mock_op;

/* One recorded call. SLEEP is recorded only when a park really blocks (not
 * when an unpark_lock came first). UNPARK_LOCK's .hit is true when it found
 * the parker in a cycle and not yet unparked (prepared, or timed out and not
 * yet unparked: then timed_out turns false); only such an unpark_lock wakes
 * anyone. Every event but ADVANCE names its parker; for UNPARK, the parker of
 * the handle's unpark_lock (as an address: it may be freed).
 *
 * WOKEN and TIMED_OUT are recorded once per park/park_until return, at the
 * moment its result is decided, which makes their place in the log fixed:
 *   - a park that does not block (already unparked, or deadline already
 *     passed) records it in the park call itself;
 *   - a sleeper woken by an unpark_lock hit: WOKEN right after the UNPARK of
 *     that unpark_lock's handle;
 *   - sleepers woken by a clock move: TIMED_OUT right after its ADVANCE, one
 *     per sleeper, by deadline, then in the order they began to sleep.
 * ADVANCE is recorded for every clock move (advance, advance_to, each step
 * of run_until_idle), also a move by 0. */
typedef struct tpark_mock_event {
  tpark_mock_op op;
  const tpark_parker *parker; /* NULL for ADVANCE */
  tpark_instant at;           /* fake time when it happened */
  tpark_instant deadline;     /* SLEEP only; TPARK_NEVER for park */
  bool hit;                   /* UNPARK_LOCK only */
  const char *label;          /* the parker's label then (tpark_mock_label), or NULL */
} tpark_mock_event;

/* Copies the oldest min(cap, total) events into out (out may be NULL when cap
 * is 0); returns the total recorded so far (since the last clear). */
size_t tpark_mock_events(tpark_mock *m, tpark_mock_event *out, size_t cap);

/* Forgets every recorded event (the total starts again from 0). Labels,
 * sleepers and the clock are unchanged. */
void tpark_mock_clear_events(tpark_mock *m);

/* A short name for op ("PREPARE", "SLEEP", ...), for test messages. */
const char *tpark_mock_op_name(tpark_mock_op op);

#ifdef __cplusplus
}
#endif

#endif /* TPARK_MOCK_H */
