/* The mock's settled counts, deadlines, reports and run_until_idle (issue 8):
 * after advance or unpark_lock the sleeper count is already right, advance
 * wakes exactly the due sleepers in deadline order, labels and describe name
 * them, and run_until_idle drives tickers and a pool of 4 workers to idle or
 * reports the deadlock. These test the mock's own bookkeeping on the raw
 * mock; some of it (labels) unparks a parker from its owner, which checked
 * mode forbids, so there is no checked run of this file. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/mock_fixture.h"
#include "tests/run_suite.h"
#include "tpark/mock.h"
#include "tpark/tpark.h"

/* ---- Settled counts, deadlines, run_until_idle, reports (issue 8) ------- */

#define MS UINT64_C(1000000)
#define REAL_MS 10000 /* a generous real-time bound for waits that succeed */

/* A thread with its own parker that parks once until a deadline. */
struct waiter {
  tpark_parker p;
  tpark_instant deadline;
  bool result;
  pthread_t thread;
};

static void *waiter_main(void *arg) {
  struct waiter *w = arg;
  w->result = tpark_park_until(&w->p, w->deadline);
  return NULL;
}

/* Starts w parking until deadline and waits until it is the n-th sleeper. */
static void start_waiter(struct waiter *w, tpark_instant deadline, size_t n) {
  ck_assert_int_eq(tpark_init_with(&w->p, tpark_mock_backend(m)), TPARK_OK);
  w->deadline = deadline;
  tpark_prepare_park(&w->p);
  ck_assert_int_eq(pthread_create(&w->thread, NULL, waiter_main, w), 0);
  ck_assert(tpark_mock_wait_sleepers(m, n, REAL_MS));
}

static void join_waiter(struct waiter *w) { ck_assert_int_eq(pthread_join(w->thread, NULL), 0); }

/* The events from index from on, as "OP:label" words (label or "-"). */
static const char *labelled_ops(size_t from) {
  static char buf[1024];
  tpark_mock_event ev[64];
  size_t n = tpark_mock_events(m, ev, 64);
  buf[0] = '\0';
  for (size_t i = from; i < n && i < 64; i++) {
    if (i > from) strcat(buf, " ");
    strcat(buf, tpark_mock_op_name(ev[i].op));
    if (ev[i].op != TPARK_MOCK_ADVANCE) {
      strcat(buf, ":");
      strcat(buf, ev[i].label ? ev[i].label : "-");
    }
  }
  return buf;
}

/* The periodic worker of issue 8: it parks for one period, counts a tick,
 * and parks again. After `advance` the test waits for the worker to park
 * again; settled counts make that wait see the new tick every time. */
#define PERIOD (10 * MS)
#define ROUNDS 1000

static int ticks; /* written by the worker; read by the test after a wait */

static void *periodic_main(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    tpark_prepare_park(&p);
    bool unparked = tpark_park_until(&p, tpark_deadline(&p, PERIOD));
    if (!unparked && tpark_timed_out(&p)) ticks++;
  }
  return NULL;
}

START_TEST(periodic_worker_reads_no_stale_state) {
  ticks = 0;
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, periodic_main, NULL), 0);
  int stale = 0;
  for (int i = 0; i < ROUNDS; i++) {
    ck_assert_msg(tpark_mock_wait_sleepers(m, 1, REAL_MS), "round %d: no sleeper", i);
    if (ticks != i) stale++; /* the worker has not finished the last round */
    ck_assert_uint_eq(tpark_mock_next_deadline(m), (tpark_instant)(i + 1) * PERIOD);
    ck_assert_uint_eq(tpark_mock_advance(m, PERIOD), 1);
    /* Settled: the woken worker stopped counting at once, so a sleeper now
     * is the worker parked again, for the next period. */
    tpark_instant next = tpark_mock_next_deadline(m);
    ck_assert(next == TPARK_NEVER || next == (tpark_instant)(i + 2) * PERIOD);
  }
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert_msg(stale == 0, "%d stale reads in %d rounds", stale, ROUNDS);
  ck_assert_int_eq(ticks, ROUNDS);
  ck_assert_uint_eq(tpark_mock_now(m), (tpark_instant)ROUNDS * PERIOD);
  /* PREPARE SLEEP ADVANCE TIMED_OUT per round. */
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 4 * ROUNDS);
}
END_TEST

/* advance wakes exactly the due sleepers, by deadline then in the order
 * they began to sleep, and counts them. */
START_TEST(advance_wakes_due_sleepers_in_deadline_order) {
  struct waiter w[5];
  const tpark_instant deadlines[5] = {30, 10, TPARK_NEVER, 20, 10};
  const char *names[5] = {"d30", "d10a", "never", "d20", "d10b"};
  for (int i = 0; i < 5; i++) {
    start_waiter(&w[i], deadlines[i], (size_t)i + 1);
    ck_assert_int_eq(tpark_mock_label(m, &w[i].p, names[i]), TPARK_OK);
  }
  ck_assert_uint_eq(tpark_mock_next_deadline(m), 10);
  tpark_mock_clear_events(m);
  ck_assert_uint_eq(tpark_mock_advance(m, 9), 0);
  ck_assert_uint_eq(tpark_mock_sleepers(m), 5);
  ck_assert_uint_eq(tpark_mock_advance(m, 16), 3); /* to 25: d10a, d10b, d20 */
  ck_assert_uint_eq(tpark_mock_sleepers(m), 2);
  ck_assert_uint_eq(tpark_mock_next_deadline(m), 30);
  ck_assert_str_eq(labelled_ops(0), "ADVANCE ADVANCE TIMED_OUT:d10a TIMED_OUT:d10b TIMED_OUT:d20");
  ck_assert_uint_eq(tpark_mock_advance_to(m, 30), 1);
  ck_assert_uint_eq(tpark_mock_next_deadline(m), TPARK_NEVER);
  ck_assert_uint_eq(tpark_mock_advance_to(m, TPARK_NEVER), 0); /* park: never due */
  ck_assert_uint_eq(tpark_mock_sleepers(m), 1);
  tpark_unpark(tpark_unpark_lock(&w[2].p));
  for (int i = 0; i < 5; i++) {
    join_waiter(&w[i]);
    ck_assert(w[i].result == (i == 2));
  }
  ck_assert_uint_eq(tpark_mock_sleepers(m), 0);
}
END_TEST

/* An unpark_lock hit wakes the sleeper at once (no longer counted), and it
 * returns only after the unpark; WOKEN follows that UNPARK. */
START_TEST(unpark_lock_settles_at_once) {
  struct waiter w;
  start_waiter(&w, 100, 1);
  tpark_mock_label(m, &w.p, "w");
  tpark_unpark_handle h = tpark_unpark_lock(&w.p);
  ck_assert_uint_eq(tpark_mock_sleepers(m), 0);
  ck_assert_uint_eq(tpark_mock_next_deadline(m), TPARK_NEVER);
  ck_assert(!tpark_mock_wait_sleepers(m, 1, 20));
  char text[512];
  tpark_mock_describe(m, text, sizeof text);
  ck_assert_msg(strstr(text, "\"w\": woken by unpark_lock at 0 ns, waiting for its unpark"), "%s",
                text);
  ck_assert_uint_eq(tpark_mock_advance(m, 1000), 0); /* no longer due to time out */
  tpark_unpark(h);
  /* WOKEN is in the log when unpark returns, whenever the thread runs. */
  ck_assert_str_eq(labelled_ops(0), "PREPARE:- SLEEP:- UNPARK_LOCK:w ADVANCE UNPARK:w WOKEN:w");
  join_waiter(&w);
  ck_assert(w.result);
  ck_assert_str_eq(labelled_ops(0), "PREPARE:- SLEEP:- UNPARK_LOCK:w ADVANCE UNPARK:w WOKEN:w");
}
END_TEST

/* A timeout decided by advance stays a timeout; an unpark_lock after it
 * only turns tpark_timed_out false (the caller must act as unparked). */
START_TEST(unpark_lock_after_advance_timeout) {
  struct waiter w;
  start_waiter(&w, 5, 1);
  ck_assert_uint_eq(tpark_mock_advance(m, 5), 1);
  tpark_unpark(tpark_unpark_lock(&w.p));
  join_waiter(&w);
  ck_assert(!w.result);
  ck_assert(!tpark_timed_out(&w.p));
  ck_assert_str_eq(ops(0), "PREPARE SLEEP ADVANCE TIMED_OUT UNPARK_LOCK UNPARK");
  tpark_mock_event ev[6];
  tpark_mock_events(m, ev, 6);
  ck_assert(ev[4].hit);
}
END_TEST

/* A clock that starts elsewhere; advance_to never goes back and saturates. */
START_TEST(new_at_and_advance_to_edges) {
  tpark_mock *n = tpark_mock_new_at(1000);
  ck_assert_ptr_nonnull(n);
  tpark_parker q;
  ck_assert_int_eq(tpark_init_with(&q, tpark_mock_backend(n)), TPARK_OK);
  ck_assert_uint_eq(tpark_now(&q), 1000);
  ck_assert_uint_eq(tpark_deadline(&q, 5), 1005);
  tpark_prepare_park(&q);
  ck_assert(!tpark_park_until(&q, 1000));              /* already due: no sleep */
  ck_assert_uint_eq(tpark_mock_advance_to(n, 500), 0); /* backwards: stays */
  ck_assert_uint_eq(tpark_mock_now(n), 1000);
  ck_assert_uint_eq(tpark_mock_advance_to(n, 1000), 0);
  ck_assert_uint_eq(tpark_mock_advance_to(n, 1001), 0);
  ck_assert_uint_eq(tpark_mock_now(n), 1001);
  ck_assert_uint_eq(tpark_mock_advance_to(n, TPARK_NEVER), 0);
  ck_assert_uint_eq(tpark_mock_now(n), TPARK_NEVER);
  ck_assert_uint_eq(tpark_mock_advance(n, 1), 0); /* saturated */
  ck_assert_uint_eq(tpark_mock_now(n), TPARK_NEVER);
  tpark_mock_event ev[7];
  ck_assert_uint_eq(tpark_mock_events(n, ev, 7), 7); /* PREPARE TIMED_OUT, 5 ADVANCE */
  ck_assert_int_eq(ev[2].op, TPARK_MOCK_ADVANCE);
  ck_assert_uint_eq(ev[2].at, 1000); /* the backwards move is logged, unmoved */
  ck_assert_uint_eq(ev[6].at, TPARK_NEVER);
  tpark_mock_free(n);

  /* The end of time: every finite deadline is due. */
  n = tpark_mock_new_at(TPARK_NEVER);
  ck_assert_int_eq(tpark_init_with(&q, tpark_mock_backend(n)), TPARK_OK);
  tpark_prepare_park(&q);
  ck_assert(!tpark_park_until(&q, TPARK_NEVER - 1));
  ck_assert_uint_eq(tpark_deadline(&q, 1), TPARK_NEVER);
  tpark_mock_free(n);
}
END_TEST

/* next_deadline: NEVER with no sleeper and for park / park_until(NEVER). */
START_TEST(next_deadline_edges) {
  ck_assert_uint_eq(tpark_mock_next_deadline(m), TPARK_NEVER);
  struct waiter a, b;
  start_waiter(&a, TPARK_NEVER, 1);
  ck_assert_uint_eq(tpark_mock_next_deadline(m), TPARK_NEVER);
  start_waiter(&b, 7, 2);
  ck_assert_uint_eq(tpark_mock_next_deadline(m), 7);
  ck_assert_uint_eq(tpark_mock_advance(m, 7), 1);
  ck_assert_uint_eq(tpark_mock_next_deadline(m), TPARK_NEVER);
  tpark_unpark(tpark_unpark_lock(&a.p));
  join_waiter(&a);
  join_waiter(&b);
}
END_TEST

START_TEST(labels_follow_the_parker) {
  ck_assert_int_eq(tpark_mock_label(NULL, &p, "x"), TPARK_EINVAL);
  ck_assert_int_eq(tpark_mock_label(m, NULL, "x"), TPARK_EINVAL);
  char name[8] = "first";
  ck_assert_int_eq(tpark_mock_label(m, &p, name), TPARK_OK);
  strcpy(name, "XXXXX"); /* the mock keeps its own copy */
  tpark_prepare_park(&p);
  ck_assert_int_eq(tpark_mock_label(m, &p, "second"), TPARK_OK);
  tpark_unpark(tpark_unpark_lock(&p));
  ck_assert_int_eq(tpark_mock_label(m, &p, NULL), TPARK_OK);
  tpark_park(&p);
  tpark_mock_advance(m, 1);
  ck_assert_str_eq(labelled_ops(0),
                   "PREPARE:first UNPARK_LOCK:second UNPARK:second WOKEN:- ADVANCE");
  tpark_mock_event ev[5];
  tpark_mock_events(m, ev, 5);
  ck_assert_ptr_null(ev[4].label);
}
END_TEST

START_TEST(clear_events_starts_again) {
  tpark_mock_advance(m, 1);
  tpark_mock_advance(m, 1);
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 2);
  tpark_mock_clear_events(m);
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 0);
  ck_assert_uint_eq(tpark_mock_now(m), 2); /* the clock stays */
  tpark_mock_advance(m, 3);
  tpark_mock_event ev[1];
  ck_assert_uint_eq(tpark_mock_events(m, ev, 1), 1);
  ck_assert_uint_eq(ev[0].at, 5);
  tpark_mock_clear_events(m);
  tpark_mock_clear_events(m); /* empty: nothing to do */
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 0);
}
END_TEST

START_TEST(describe_reports_sleepers_and_truncates) {
  struct waiter a, b;
  start_waiter(&a, 5000, 1);
  tpark_mock_label(m, &a.p, "worker");
  tpark_mock_advance(m, 3000);
  start_waiter(&b, TPARK_NEVER, 2);
  char text[512];
  tpark_mock_describe(m, text, sizeof text);
  ck_assert_msg(strstr(text, "mock: now 3000 ns, threads not declared, 2 asleep, ") == text, "%s",
                text);
  tpark_mock_set_threads(m, 4);
  ck_assert_int_eq(tpark_mock_thread_exit(m), TPARK_OK);
  tpark_mock_describe(m, text, sizeof text);
  ck_assert_msg(strstr(text, "threads 4 declared (1 exited)"), "%s", text);
  tpark_mock_set_threads(m, 3); /* a new count: exits start again from 0 */
  size_t len = tpark_mock_describe(m, text, sizeof text);
  ck_assert_uint_eq(len, strlen(text));
  ck_assert_msg(strstr(text,
                       "mock: now 3000 ns, threads 3 declared (0 exited), 2 asleep, "
                       "next deadline 5000 ns\n") == text,
                "%s", text);
  char line[128];
  snprintf(line, sizeof line, "  parker %p \"worker\": asleep since 0 ns, until 5000 ns\n",
           (void *)&a.p);
  ck_assert_msg(strstr(text, line), "%s", text);
  snprintf(line, sizeof line, "  parker %p (no label): asleep since 3000 ns, until never\n",
           (void *)&b.p);
  ck_assert_msg(strstr(text, line), "%s", text);
  ck_assert(strstr(text, "worker") < strstr(text, "no label")); /* sleep order */
  /* snprintf rules: the full length always, at most cap bytes written. */
  ck_assert_uint_eq(tpark_mock_describe(m, NULL, 0), len);
  char small[11];
  memset(small, '#', sizeof small);
  ck_assert_uint_eq(tpark_mock_describe(m, small, 10), len);
  ck_assert_str_eq(small, "mock: now");
  ck_assert_int_eq(small[10], '#');
  ck_assert_uint_eq(tpark_mock_advance(m, 2000), 1);
  tpark_unpark(tpark_unpark_lock(&b.p));
  join_waiter(&a);
  join_waiter(&b);
  tpark_mock_describe(m, text, sizeof text);
  ck_assert_str_eq(text,
                   "mock: now 5000 ns, threads 3 declared (0 exited), 0 asleep, "
                   "next deadline never\n");
}
END_TEST

/* ---- run_until_idle ---------------------------------------------------- */

/* A worker that ticks every PERIOD until it has ticked `rounds` times or is
 * stopped, then exits (telling the mock). Its own parker. */
struct ticker {
  tpark_parker p;
  pthread_mutex_t lock;
  bool stop, waiting;
  int rounds, ticks;
  tpark_instant last_tick;
  pthread_t thread;
};

static void *ticker_main(void *arg) {
  struct ticker *t = arg;
  tpark_instant next = tpark_now(&t->p) + PERIOD;
  pthread_mutex_lock(&t->lock);
  while (!t->stop && t->ticks < t->rounds) {
    tpark_prepare_park(&t->p);
    t->waiting = true;
    pthread_mutex_unlock(&t->lock);
    bool unparked = tpark_park_until(&t->p, next);
    pthread_mutex_lock(&t->lock);
    if (!unparked && tpark_timed_out(&t->p)) {
      t->waiting = false;
      t->ticks++;
      t->last_tick = tpark_now(&t->p);
      next += PERIOD;
    }
  }
  pthread_mutex_unlock(&t->lock);
  ck_assert_int_eq(tpark_mock_thread_exit(m), TPARK_OK);
  return NULL;
}

static void start_ticker(struct ticker *t, int rounds) {
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->lock, NULL);
  t->rounds = rounds;
  ck_assert_int_eq(tpark_init_with(&t->p, tpark_mock_backend(m)), TPARK_OK);
  ck_assert_int_eq(pthread_create(&t->thread, NULL, ticker_main, t), 0);
}

static void stop_ticker(struct ticker *t) {
  tpark_unpark_handle h = {0};
  pthread_mutex_lock(&t->lock);
  t->stop = true;
  if (t->waiting) h = tpark_unpark_lock(&t->p);
  t->waiting = false;
  pthread_mutex_unlock(&t->lock);
  tpark_unpark(h);
  ck_assert_int_eq(pthread_join(t->thread, NULL), 0);
  pthread_mutex_destroy(&t->lock);
}

START_TEST(run_until_idle_bad_arguments) {
  ck_assert_int_eq(tpark_mock_run_until_idle(NULL, TPARK_NEVER, 10), TPARK_MOCK_EINVAL);
  ck_assert_int_eq(tpark_mock_run_until_idle(m, TPARK_NEVER, 10), TPARK_MOCK_EINVAL);
  ck_assert_int_eq(tpark_mock_set_threads(NULL, 1), TPARK_EINVAL);
  ck_assert_int_eq(tpark_mock_thread_exit(NULL), TPARK_EINVAL);
  ck_assert_int_eq(tpark_mock_set_threads(m, 0), TPARK_OK);
  ck_assert_int_eq(tpark_mock_thread_exit(m), TPARK_EINVAL); /* none left */
  ck_assert_int_eq(tpark_mock_run_until_idle(m, TPARK_NEVER, 10), TPARK_MOCK_IDLE);
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), 0); /* nothing moved */
  ck_assert_str_eq(tpark_mock_result_name(TPARK_MOCK_IDLE), "IDLE");
  ck_assert_str_eq(tpark_mock_result_name(TPARK_MOCK_LIMIT), "LIMIT");
  ck_assert_str_eq(tpark_mock_result_name(TPARK_MOCK_DEADLOCK), "DEADLOCK");
  ck_assert_str_eq(tpark_mock_result_name(TPARK_MOCK_TIMEOUT), "TIMEOUT");
  ck_assert_str_eq(tpark_mock_result_name(TPARK_MOCK_EINVAL), "EINVAL");
}
END_TEST

/* Two tickers of 5 and 8 rounds run to completion: IDLE at 8 periods. */
START_TEST(run_until_idle_runs_tickers_to_the_end) {
  struct ticker a, b;
  tpark_mock_set_threads(m, 2);
  start_ticker(&a, 5);
  start_ticker(&b, 8);
  ck_assert_int_eq(tpark_mock_run_until_idle(m, TPARK_NEVER, REAL_MS), TPARK_MOCK_IDLE);
  ck_assert_uint_eq(tpark_mock_now(m), 8 * PERIOD);
  stop_ticker(&a);
  stop_ticker(&b);
  ck_assert_int_eq(a.ticks, 5);
  ck_assert_int_eq(b.ticks, 8);
  ck_assert_uint_eq(a.last_tick, 5 * PERIOD);
  ck_assert_uint_eq(b.last_tick, 8 * PERIOD);
}
END_TEST

/* A limit between deadlines: the clock stops at the limit; again later. */
START_TEST(run_until_idle_stops_at_the_limit) {
  struct ticker t;
  tpark_mock_set_threads(m, 1);
  start_ticker(&t, 1000000);
  ck_assert_int_eq(tpark_mock_run_until_idle(m, 3 * PERIOD + PERIOD / 2, REAL_MS),
                   TPARK_MOCK_LIMIT);
  ck_assert_uint_eq(tpark_mock_now(m), 3 * PERIOD + PERIOD / 2);
  ck_assert_uint_eq(tpark_mock_sleepers(m), 1);
  pthread_mutex_lock(&t.lock);
  ck_assert_int_eq(t.ticks, 3);
  pthread_mutex_unlock(&t.lock);
  /* limit <= now: waits for the threads, moves nothing. */
  size_t events = tpark_mock_events(m, NULL, 0);
  ck_assert_int_eq(tpark_mock_run_until_idle(m, 0, REAL_MS), TPARK_MOCK_LIMIT);
  ck_assert_uint_eq(tpark_mock_events(m, NULL, 0), events);
  /* A limit exactly on a deadline fires it. */
  ck_assert_int_eq(tpark_mock_run_until_idle(m, 5 * PERIOD, REAL_MS), TPARK_MOCK_LIMIT);
  ck_assert_uint_eq(tpark_mock_now(m), 5 * PERIOD);
  ck_assert_uint_eq(tpark_mock_next_deadline(m), 6 * PERIOD);
  pthread_mutex_lock(&t.lock);
  ck_assert_int_eq(t.ticks, 5);
  pthread_mutex_unlock(&t.lock);
  stop_ticker(&t);
}
END_TEST

/* Declared threads that never sleep: TIMEOUT after the real-time bound. */
START_TEST(run_until_idle_times_out_waiting_for_threads) {
  struct waiter w;
  start_waiter(&w, TPARK_NEVER, 1);
  tpark_mock_set_threads(m, 2); /* one too many */
  ck_assert_int_eq(tpark_mock_run_until_idle(m, TPARK_NEVER, 50), TPARK_MOCK_TIMEOUT);
  ck_assert_uint_eq(tpark_mock_now(m), 0);
  tpark_mock_set_threads(m, 1);
  ck_assert_int_eq(tpark_mock_run_until_idle(m, TPARK_NEVER, 50), TPARK_MOCK_DEADLOCK);
  tpark_unpark(tpark_unpark_lock(&w.p));
  join_waiter(&w);
}
END_TEST

static int count_lines(const char *text) {
  int n = 0;
  for (; *text; text++) n += *text == '\n';
  return n;
}

/* ---- A pool of 4 workers running timers, driven by run_until_idle -------- */

#define WORKERS 4
#define TIMERS 40
#define REPEATS 3 /* each timer re-arms itself this many times after its first run */

struct timer {
  tpark_instant due;
  int id, runs;
  bool armed;
};

static struct pool {
  pthread_mutex_t lock;
  struct timer timers[TIMERS + 1]; /* the last one stops the pool, if armed */
  bool stop;
  struct worker {
    tpark_parker p;
    bool waiting;
    pthread_t thread;
  } workers[WORKERS];
  /* What ran: (timer id, fake time), in the order the runs happened. */
  struct run {
    int id;
    tpark_instant at, due;
  } runs[TIMERS * (REPEATS + 1) + 1];
  int n_runs;
} pool;

/* Wakes every waiting worker (they recompute the next due time); pool.lock
 * held. Returns how many handles it filled. */
static int wake_waiters(tpark_unpark_handle *h) {
  int n = 0;
  for (int i = 0; i < WORKERS; i++) {
    if (pool.workers[i].waiting) {
      h[n++] = tpark_unpark_lock(&pool.workers[i].p);
      pool.workers[i].waiting = false;
    }
  }
  return n;
}

static void unpark_all(tpark_unpark_handle *h, int n) {
  for (int i = 0; i < n; i++) tpark_unpark(h[i]);
}

/* The earliest armed timer, or NULL; pool.lock held. */
static struct timer *earliest(void) {
  struct timer *e = NULL;
  for (int i = 0; i <= TIMERS; i++) {
    struct timer *t = &pool.timers[i];
    if (t->armed && (e == NULL || t->due < e->due)) e = t;
  }
  return e;
}

static void *pool_worker(void *arg) {
  struct worker *w = arg;
  pthread_mutex_lock(&pool.lock);
  while (!pool.stop) {
    struct timer *t = earliest();
    tpark_instant now = tpark_now(&w->p);
    if (t != NULL && t->due <= now) {
      /* Run it (here: note it), and re-arm it or, for the last, stop. */
      t->armed = false;
      struct run r = {t->id, now, t->due};
      pool.runs[pool.n_runs++] = r;
      tpark_unpark_handle h[WORKERS];
      int n = 0;
      if (t->id == TIMERS) {
        pool.stop = true;
        n = wake_waiters(h);
      } else if (t->runs++ < REPEATS) {
        t->due = now + (tpark_instant)(t->id % 7 + 1) * MS;
        t->armed = true;
        n = wake_waiters(h);
      }
      pthread_mutex_unlock(&pool.lock);
      unpark_all(h, n);
      pthread_mutex_lock(&pool.lock);
      continue;
    }
    tpark_prepare_park(&w->p);
    w->waiting = true;
    pthread_mutex_unlock(&pool.lock);
    bool unparked = tpark_park_until(&w->p, t ? t->due : TPARK_NEVER);
    pthread_mutex_lock(&pool.lock);
    if (!unparked && tpark_timed_out(&w->p)) w->waiting = false;
  }
  pthread_mutex_unlock(&pool.lock);
  ck_assert_int_eq(tpark_mock_thread_exit(m), TPARK_OK);
  return NULL;
}

/* Arms the timers (due at 1..TIMERS ms, in a scrambled order), the stop
 * timer at stop_at if not TPARK_NEVER, and starts the workers. */
static void start_pool(tpark_instant stop_at) {
  memset(&pool, 0, sizeof pool);
  pthread_mutex_init(&pool.lock, NULL);
  for (int i = 0; i < TIMERS; i++) {
    struct timer t = {(tpark_instant)((i * 17) % TIMERS + 1) * MS, i, 0, true};
    pool.timers[i] = t;
  }
  struct timer stop = {stop_at, TIMERS, 0, stop_at != TPARK_NEVER};
  pool.timers[TIMERS] = stop;
  ck_assert_int_eq(tpark_mock_set_threads(m, WORKERS), TPARK_OK);
  for (int i = 0; i < WORKERS; i++) {
    char name[24]; /* "worker" and any int */
    snprintf(name, sizeof name, "worker%d", i);
    ck_assert_int_eq(tpark_init_with(&pool.workers[i].p, tpark_mock_backend(m)), TPARK_OK);
    tpark_mock_label(m, &pool.workers[i].p, name);
    ck_assert_int_eq(pthread_create(&pool.workers[i].thread, NULL, pool_worker, &pool.workers[i]),
                     0);
  }
}

static void stop_pool(void) {
  tpark_unpark_handle h[WORKERS];
  pthread_mutex_lock(&pool.lock);
  pool.stop = true;
  int n = wake_waiters(h);
  pthread_mutex_unlock(&pool.lock);
  unpark_all(h, n);
  for (int i = 0; i < WORKERS; i++) ck_assert_int_eq(pthread_join(pool.workers[i].thread, NULL), 0);
  pthread_mutex_destroy(&pool.lock);
}

/* Every timer runs exactly when due, REPEATS + 1 times; the stop timer ends
 * the pool: IDLE with the clock at the stop time. */
START_TEST(pool_of_four_runs_every_timer_on_time) {
  const tpark_instant stop_at = 100 * MS;
  start_pool(stop_at);
  tpark_mock_result r = tpark_mock_run_until_idle(m, TPARK_NEVER, REAL_MS);
  char text[2048];
  tpark_mock_describe(m, text, sizeof text);
  ck_assert_msg(r == TPARK_MOCK_IDLE, "%s\n%s", tpark_mock_result_name(r), text);
  ck_assert_uint_eq(tpark_mock_now(m), stop_at);
  stop_pool();
  ck_assert_int_eq(pool.n_runs, TIMERS * (REPEATS + 1) + 1);
  int per_timer[TIMERS + 1] = {0};
  for (int i = 0; i < pool.n_runs; i++) {
    ck_assert_uint_eq(pool.runs[i].at, pool.runs[i].due); /* never late, never early */
    if (i > 0) ck_assert_uint_ge(pool.runs[i].at, pool.runs[i - 1].at);
    per_timer[pool.runs[i].id]++;
  }
  for (int i = 0; i < TIMERS; i++) ck_assert_int_eq(per_timer[i], REPEATS + 1);
  ck_assert_int_eq(pool.runs[pool.n_runs - 1].id, TIMERS);
  ck_assert_uint_eq(tpark_mock_sleepers(m), 0);
}
END_TEST

/* Without the stop timer, the workers end up waiting for work forever:
 * DEADLOCK, and the report names all four, with no deadline. */
START_TEST(pool_without_stop_reports_deadlock) {
  start_pool(TPARK_NEVER);
  ck_assert_int_eq(tpark_mock_run_until_idle(m, TPARK_NEVER, REAL_MS), TPARK_MOCK_DEADLOCK);
  ck_assert_int_eq(pool.n_runs, TIMERS * (REPEATS + 1));
  char text[2048];
  tpark_mock_describe(m, text, sizeof text);
  ck_assert_msg(strstr(text, "threads 4 declared (0 exited), 4 asleep, next deadline never\n"),
                "%s", text);
  for (int i = 0; i < WORKERS; i++) {
    char line[128];
    snprintf(line, sizeof line, "  parker %p \"worker%d\": asleep since ",
             (void *)&pool.workers[i].p, i);
    ck_assert_msg(strstr(text, line), "no line for worker%d in:\n%s", i, text);
  }
  ck_assert_int_eq(count_lines(text), 1 + WORKERS);
  stop_pool();
  ck_assert_int_eq(tpark_mock_run_until_idle(m, TPARK_NEVER, REAL_MS), TPARK_MOCK_IDLE);
}
END_TEST

#if !defined(_WIN32) /* needs a process per test (no fork on Windows) */
/* A thread woken by unpark_lock still waits for its unpark: still parked. */
START_TEST(free_with_pending_unpark_aborts) {
  struct waiter w;
  start_waiter(&w, TPARK_NEVER, 1);
  tpark_unpark_lock(&w.p);
  tpark_mock_free(m);
}
END_TEST

/* Each unpark_lock's handle goes to exactly one unpark. */
START_TEST(unpark_twice_aborts) {
  tpark_prepare_park(&p);
  tpark_unpark_handle h = tpark_unpark_lock(&p);
  tpark_unpark(h);
  tpark_unpark(h);
}
END_TEST
#endif

int main(void) {
  Suite *s = suite_create("mock_run");
  TCase *settle = new_tcase("settled counts, deadlines, reports");
  tcase_add_checked_fixture(settle, setup, teardown);
  tcase_add_test(settle, periodic_worker_reads_no_stale_state);
  tcase_add_test(settle, advance_wakes_due_sleepers_in_deadline_order);
  tcase_add_test(settle, unpark_lock_settles_at_once);
  tcase_add_test(settle, unpark_lock_after_advance_timeout);
  tcase_add_test(settle, new_at_and_advance_to_edges);
  tcase_add_test(settle, next_deadline_edges);
  tcase_add_test(settle, labels_follow_the_parker);
  tcase_add_test(settle, clear_events_starts_again);
  tcase_add_test(settle, describe_reports_sleepers_and_truncates);
#if !defined(_WIN32)
  tcase_add_test_raise_signal(settle, free_with_pending_unpark_aborts, SIGABRT);
  tcase_add_test_raise_signal(settle, unpark_twice_aborts, SIGABRT);
#endif
  suite_add_tcase(s, settle);

  TCase *run = new_tcase("run_until_idle");
  tcase_add_checked_fixture(run, setup, teardown);
  tcase_add_test(run, run_until_idle_bad_arguments);
  tcase_add_test(run, run_until_idle_runs_tickers_to_the_end);
  tcase_add_test(run, run_until_idle_stops_at_the_limit);
  tcase_add_test(run, run_until_idle_times_out_waiting_for_threads);
  tcase_add_test(run, pool_of_four_runs_every_timer_on_time);
  tcase_add_test(run, pool_without_stop_reports_deadlock);
  suite_add_tcase(s, run);
  return run_suite(s);
}
