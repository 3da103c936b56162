/* The conformance suite's checks (tpark/conformance.h): every promise of
 * tpark/tpark.h written once as a check, their helpers and the table of
 * checks. The runner (runner.c) runs each against a fresh backend. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance/internal.h"
#include "tpark/tpark.h"

#define MS UINT64_C(1000000)
#define SECOND UINT64_C(1000000000)

/* "1.000 ms" */
static const char *duration(char *buf, size_t cap, uint64_t ns) {
  if (ns < 1000) {
    snprintf(buf, cap, "%llu ns", (unsigned long long)ns);
  } else if (ns < MS) {
    snprintf(buf, cap, "%.3f us", (double)ns / 1e3);
  } else if (ns < SECOND) {
    snprintf(buf, cap, "%.3f ms", (double)ns / 1e6);
  } else {
    snprintf(buf, cap, "%.3f s", (double)ns / 1e9);
  }
  return buf;
}

/* ---- helpers for checks ------------------------------------------------- */

static bool fake_time(void) { return tpark__conformance_subject->advance != NULL; }

static void advance(uint64_t ns) {
  if (tpark__conformance_subject->advance != NULL) {
    tpark__conformance_subject->advance(tpark__conformance_active, ns);
  }
}

/* A pause that makes "n threads sleep in the backend" likely. */
static void wait_sleepers(size_t n, unsigned timeout_ms) {
  if (tpark__conformance_subject->wait_sleepers != NULL) {
    tpark__conformance_subject->wait_sleepers(tpark__conformance_active, n, timeout_ms);
  } else {
    tpark__conformance_pause_ms(1);
  }
}

static void init_on(tpark_parker *p, const tpark_backend *b) {
  tpark_status st = tpark_init_with(p, b);
  EXPECT(st == TPARK_OK, VTABLE, "tpark_init_with rejected the backend: %s", tpark_status_str(st));
}

static void init(tpark_parker *p) { init_on(p, tpark__conformance_active); }

struct thread_start {
  void *(*fn)(void *);
  void *arg;
};

static void *thread_main(void *arg) {
  struct thread_start ts = *(struct thread_start *)arg;
  free(arg);
  void *r = ts.fn(ts.arg);
  __atomic_sub_fetch(&tpark__conformance_live_threads, 1, __ATOMIC_RELEASE);
  return r;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  struct thread_start *ts = malloc(sizeof *ts);
  EXPECT(ts != NULL, SETUP, "out of memory");
  ts->fn = fn;
  ts->arg = arg;
  __atomic_add_fetch(&tpark__conformance_live_threads, 1, __ATOMIC_ACQ_REL);
  if (pthread_create(t, NULL, thread_main, ts) != 0) {
    __atomic_sub_fetch(&tpark__conformance_live_threads, 1, __ATOMIC_RELEASE);
    free(ts);
    tpark__conformance_fail(SETUP, "pthread_create failed");
  }
}

static void join(pthread_t t) {
  if (pthread_join(t, NULL) != 0) tpark__conformance_fail(SETUP, "pthread_join failed");
}

static int load(const int *flag) { return __atomic_load_n(flag, __ATOMIC_ACQUIRE); }
static void store(int *flag, int v) { __atomic_store_n(flag, v, __ATOMIC_RELEASE); }
static void wait_for(const int *flag, int v) {
  while (load(flag) != v) tpark_thread_yield();
}

/* ---- a waker thread ------------------------------------------------------ */

struct waker {
  tpark_parker *p;
  int go;        /* set by the owner: the parker is prepared */
  int locked;    /* set by the waker after unpark_lock, before unpark */
  int done;      /* set by the waker after unpark */
  bool sleepers; /* wait until the owner sleeps before unpark_lock */
  bool twice;    /* a second unpark_lock (and unpark) in the same cycle */
  int data[16];  /* written before unpark_lock (ordering check) */
};

static void *waker_main(void *arg) {
  struct waker *w = arg;
  wait_for(&w->go, 1);
  if (w->sleepers) wait_sleepers(1, 1000);
  for (int i = 0; i < 16; i++) w->data[i] = i + 1;
  tpark_unpark_handle h = tpark_unpark_lock(w->p);
  tpark_unpark_handle second = {0, 0};
  if (w->twice) second = tpark_unpark_lock(w->p);
  store(&w->locked, 1);
  tpark_unpark(h);
  tpark_unpark(second); /* must neither block nor count for the next cycle */
  store(&w->done, 1);
  return NULL;
}

/* Prepares w->p and lets a waker thread go at it; the caller parks, then
 * joins the thread returned. */
static pthread_t prepare_with_waker(struct waker *w) {
  pthread_t t;
  start(&t, waker_main, w);
  tpark_prepare_park(w->p);
  store(&w->go, 1);
  return t;
}

/* ---- time for timeouts ----------------------------------------------------- */

struct driver {
  int stop;
};

/* Moves fake time in 0.25 ms steps while a park_until waits. */
static void *driver_main(void *arg) {
  struct driver *d = arg;
  while (!load(&d->stop)) {
    wait_sleepers(1, 5);
    advance(MS / 4);
    tpark_thread_yield();
  }
  return NULL;
}

/* park_until(p, deadline) while time passes on the backend's clock. */
static bool park_until_as_time_passes(tpark_parker *p, tpark_instant deadline) {
  if (!fake_time()) return tpark_park_until(p, deadline);
  struct driver d = {0};
  pthread_t t;
  start(&t, driver_main, &d);
  bool r = tpark_park_until(p, deadline);
  store(&d.stop, 1);
  join(t);
  return r;
}

/* ---- checks ------------------------------------------------------------------ */

static void check_vtable(void) {
  const tpark_backend *b = tpark__conformance_active;
  EXPECT(b->abi_version >= 1 && b->abi_version <= TPARK_BACKEND_ABI_VERSION, VTABLE,
         "abi_version is %u, not 1 to TPARK_BACKEND_ABI_VERSION (%u)", b->abi_version,
         TPARK_BACKEND_ABI_VERSION);
  EXPECT(b->name != NULL && b->name[0] != '\0', VTABLE, "the backend has no name");
#define MEMBER(m) EXPECT(b->m != NULL, VTABLE, "member " #m " is NULL")
  MEMBER(prepare_park);
  MEMBER(park);
  MEMBER(park_until);
  MEMBER(timed_out);
  MEMBER(unpark_lock);
  MEMBER(unpark);
  MEMBER(now);
  MEMBER(thread_yield);
#undef MEMBER
  tpark_parker p;
  init(&p);
  EXPECT(strcmp(tpark_backend_name(&p), b->name) == 0, VTABLE,
         "tpark_backend_name says \"%s\", the backend's name is \"%s\"", tpark_backend_name(&p),
         b->name);
}

static void check_name_and_clock(void) {
  tpark_parker p;
  init(&p);
  if (tpark__conformance_subject->name != NULL) {
    EXPECT(strcmp(tpark_backend_name(&p), tpark__conformance_subject->name) == 0, VTABLE,
           "tpark_backend_name says \"%s\", expected \"%s\"", tpark_backend_name(&p),
           tpark__conformance_subject->name);
  }
  tpark_instant a = tpark_now(&p), b = tpark_now(&p);
  EXPECT(a <= b, CLOCK, "now() went back from %llu to %llu", (unsigned long long)a,
         (unsigned long long)b);
  EXPECT(tpark_deadline(&p, UINT64_MAX) == TPARK_NEVER, CLOCK,
         "tpark_deadline(p, UINT64_MAX) is not TPARK_NEVER");
  tpark_instant d = tpark_deadline(&p, 5);
  EXPECT(d >= b + 5, CLOCK, "tpark_deadline(p, 5) is %llu, before now (%llu) + 5",
         (unsigned long long)d, (unsigned long long)b);
}

/* now() never decreases, also as seen from another thread: an instant read
 * after another thread's (acquire) is not smaller. */
struct clock_race {
  tpark_parker *p;
  tpark_instant latest;
};

static void *clock_reader(void *arg) {
  struct clock_race *c = arg;
  for (int i = 0; i < 5000; i++) {
    tpark_instant seen = __atomic_load_n(&c->latest, __ATOMIC_ACQUIRE);
    tpark_instant now = tpark_now(c->p);
    EXPECT(now >= seen, CLOCK, "now() is %llu after another thread read %llu",
           (unsigned long long)now, (unsigned long long)seen);
    while (seen < now && !__atomic_compare_exchange_n(&c->latest, &seen, now, false,
                                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    }
    if (fake_time() && i % 100 == 0) advance(1000);
  }
  return NULL;
}

static void check_clock_never_decreases(void) {
  tpark_parker p;
  init(&p);
  struct clock_race c = {&p, 0};
  pthread_t t;
  start(&t, clock_reader, &c);
  clock_reader(&c);
  join(t);
}

/* An unpark_lock between prepare_park and park makes park return. */
static void check_unpark_before_park(void) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p};
  pthread_t t = prepare_with_waker(&w);
  wait_for(&w.locked, 1);
  tpark_park(&p);
  join(t);
}

/* The same with park_until and a deadline already passed: true, at once. */
static void check_unpark_before_park_until_past(void) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p};
  pthread_t t = prepare_with_waker(&w);
  wait_for(&w.locked, 1);
  bool r = tpark_park_until(&p, 0);
  join(t);
  EXPECT(r, NEVER_LOST,
         "park_until(past deadline) returned false after an unpark_lock of its cycle");
}

/* The waker comes while the owner sleeps; many cycles of one parker. */
static void check_unpark_while_parked(void) {
  tpark_parker p;
  init(&p);
  for (int i = 0; i < 50; i++) {
    struct waker w = {.p = &p, .sleepers = true};
    pthread_t t = prepare_with_waker(&w);
    bool r = true;
    if (i % 2) {
      tpark_park(&p);
    } else {
      r = tpark_park_until(&p, TPARK_NEVER);
    }
    join(t);
    EXPECT(r, NEVER_LOST, "park_until(TPARK_NEVER) returned false (cycle %d)", i);
    EXPECT(load(&w.locked), NO_SPURIOUS, "park returned before the unpark_lock (cycle %d)", i);
  }
}

/* A finite deadline far away: the unpark_lock wins. */
static void check_unpark_while_park_until(void) {
  tpark_parker p;
  init(&p);
  for (int i = 0; i < 10; i++) {
    struct waker w = {.p = &p, .sleepers = true};
    pthread_t t = prepare_with_waker(&w);
    bool r = tpark_park_until(&p, tpark_deadline(&p, 60 * SECOND));
    join(t);
    EXPECT(r, NEVER_LOST, "park_until(now + 60 s) returned false, unparked while it waited");
    EXPECT(load(&w.locked), NO_SPURIOUS, "park_until returned true before the unpark_lock");
  }
}

/* An unpark_lock on a parker that is not prepared is not remembered. */
static void check_unpark_lock_not_prepared_is_forgotten(void) {
  tpark_parker p;
  init(&p);
  tpark_unpark(tpark_unpark_lock(&p));
  tpark_prepare_park(&p);
  EXPECT(!tpark_park_until(&p, tpark_now(&p)), ONE_CYCLE,
         "an unpark_lock before prepare_park made the next park_until return true");
  EXPECT(tpark_timed_out(&p), TIMED_OUT, "false after a timeout with no unpark_lock since");
}

/* Nor is an unpark of the previous cycle. */
static void check_unpark_not_remembered_across_cycles(void) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p};
  pthread_t t = prepare_with_waker(&w);
  tpark_park(&p);
  join(t);
  /* The cycle is over: another unpark_lock is not remembered. */
  tpark_unpark(tpark_unpark_lock(&p));
  tpark_prepare_park(&p);
  EXPECT(!tpark_park_until(&p, 0), ONE_CYCLE,
         "an unpark_lock after the end of a cycle made the next one's park_until return true");
}

/* Nor a second unpark_lock of the same cycle. */
static void check_only_first_unpark_lock_counts(void) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p, .twice = true};
  pthread_t t = prepare_with_waker(&w);
  tpark_park(&p);
  join(t);
  tpark_prepare_park(&p);
  EXPECT(!tpark_park_until(&p, 0), ONE_CYCLE,
         "a second unpark_lock of a cycle made the next cycle's park_until return true");
}

/* Nor an unpark_lock that came after a timeout (timed_out saw it). */
static void check_late_unpark_not_remembered(void) {
  tpark_parker p;
  init(&p);
  for (int i = 0; i < 3; i++) {
    tpark_prepare_park(&p);
    EXPECT(!tpark_park_until(&p, 0), PAST_DEADLINE, "park_until(0) returned true, not unparked");
    struct waker w = {.p = &p};
    store(&w.go, 1);
    pthread_t t;
    start(&t, waker_main, &w);
    join(t);
    EXPECT(!tpark_timed_out(&p), TIMED_OUT, "true after a timeout and an unpark_lock since");
    tpark_prepare_park(&p);
    EXPECT(!tpark_park_until(&p, 0), ONE_CYCLE,
           "an unpark_lock after a timeout made the next cycle's park_until return true");
    EXPECT(tpark_timed_out(&p), TIMED_OUT, "false after a timeout with no unpark_lock since");
  }
}

static void check_past_deadline_times_out_at_once(void) {
  tpark_parker p;
  init(&p);
  tpark_prepare_park(&p);
  EXPECT(!tpark_park_until(&p, 0), PAST_DEADLINE, "park_until(0) returned true, not unparked");
  EXPECT(tpark_timed_out(&p), TIMED_OUT, "false after a timeout with no unpark_lock since");
  tpark_prepare_park(&p);
  EXPECT(!tpark_park_until(&p, tpark_now(&p)), PAST_DEADLINE,
         "park_until(now) returned true, not unparked");
  EXPECT(tpark_timed_out(&p), TIMED_OUT, "false after a timeout with no unpark_lock since");
}

/* park_until returns false only once the deadline has passed. */
static void check_never_early(void) {
  tpark_parker p;
  init(&p);
  static const uint64_t timeouts[] = {1, 1000, MS / 10, MS, 3 * MS};
  for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
    tpark_prepare_park(&p);
    tpark_instant deadline = tpark_deadline(&p, timeouts[i]);
    bool r = park_until_as_time_passes(&p, deadline);
    tpark_instant now = tpark_now(&p);
    char early[32], timeout[32];
    EXPECT(!r, NO_SPURIOUS, "park_until (timeout %s) returned true, not unparked",
           duration(timeout, sizeof timeout, timeouts[i]));
    EXPECT(now >= deadline, NEVER_EARLY,
           "park_until returned false %s before its deadline (timeout %s)",
           duration(early, sizeof early, deadline - now),
           duration(timeout, sizeof timeout, timeouts[i]));
    EXPECT(tpark_timed_out(&p), TIMED_OUT, "false after a timeout with no unpark_lock since");
  }
}

/* TPARK_NEVER: waits like park, returns true. */
static void check_park_until_never(void) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p, .sleepers = true};
  pthread_t t = prepare_with_waker(&w);
  bool r = tpark_park_until(&p, TPARK_NEVER);
  join(t);
  EXPECT(r, NEVER_LOST, "park_until(TPARK_NEVER) returned false");
}

/* timed_out turns false once an unpark_lock comes after the timeout. */
static void check_timed_out_then_unparked(void) {
  tpark_parker p;
  init(&p);
  tpark_prepare_park(&p);
  EXPECT(!tpark_park_until(&p, 0), PAST_DEADLINE, "park_until(0) returned true, not unparked");
  EXPECT(tpark_timed_out(&p), TIMED_OUT, "false after a timeout with no unpark_lock since");
  tpark_unpark_handle h = tpark_unpark_lock(&p);
  EXPECT(!tpark_timed_out(&p), TIMED_OUT, "true after an unpark_lock that followed the timeout");
  tpark_unpark(h);
  EXPECT(!tpark_timed_out(&p), TIMED_OUT, "true after an unpark that followed the timeout");
}

/* Unparking one parker does not wake another (e.g. one sharing its bucket). */
struct sleeper {
  tpark_parker p;
  int ready;    /* prepared */
  int unparked; /* set by the main thread before its unpark_lock */
  int returned; /* the park returned */
};

static void *sleeper_main(void *arg) {
  struct sleeper *s = arg;
  tpark_prepare_park(&s->p);
  store(&s->ready, 1);
  tpark_park(&s->p);
  EXPECT(load(&s->unparked), NO_SPURIOUS, "park returned when only another parker was unparked");
  store(&s->returned, 1);
  return NULL;
}

static void check_unpark_wakes_only_its_parker(void) {
  for (int round = 0; round < 5; round++) {
    struct sleeper s[2];
    memset(s, 0, sizeof s);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
      init(&s[i].p);
      start(&t[i], sleeper_main, &s[i]);
    }
    for (int i = 0; i < 2; i++) wait_for(&s[i].ready, 1);
    wait_sleepers(2, 1000);
    for (int i = 0; i < 2; i++) {
      store(&s[i].unparked, 1);
      tpark_unpark(tpark_unpark_lock(&s[i].p));
      join(t[i]);
      if (i == 0) {
        wait_sleepers(1, 5); /* a chance for a wrongly woken one to return */
        EXPECT(!load(&s[1].returned), NO_SPURIOUS,
               "park returned when only another parker was unparked");
      }
    }
  }
}

/* The waker's plain writes before unpark_lock are visible after park. */
static void check_memory_ordering(void) {
  tpark_parker p;
  init(&p);
  for (int round = 0; round < 200; round++) {
    struct waker w = {.p = &p, .sleepers = round % 2 == 0};
    pthread_t t = prepare_with_waker(&w);
    tpark_park(&p);
    int bad = -1;
    for (int i = 0; i < 16; i++) {
      if (w.data[i] != i + 1 && bad < 0) bad = i;
    }
    join(t);
    EXPECT(bad < 0, ORDERING, "after park, the waker's write %d before unpark_lock is not visible",
           bad);
  }
}

/* A zero handle does nothing; unpark does not touch a freed parker (ASan
 * reports it if it does). */
struct lifetime {
  tpark_parker *p;
  int go, locked, freed;
};

static void *lifetime_waker(void *arg) {
  struct lifetime *l = arg;
  wait_for(&l->go, 1);
  tpark_unpark_handle h = tpark_unpark_lock(l->p);
  store(&l->locked, 1);
  /* Let the owner return and free the parker, unless the backend needs
   * this unpark to let it return (keyed events). */
  for (int i = 0; i < 50 && !load(&l->freed); i++) tpark__conformance_pause_ms(1);
  tpark_unpark(h);
  return NULL;
}

static void check_handles_and_lifetime(void) {
  tpark_unpark_handle zero;
  memset(&zero, 0, sizeof zero);
  tpark_unpark(zero);
  for (int round = 0; round < 20; round++) {
    struct lifetime l = {0};
    l.p = malloc(sizeof *l.p);
    EXPECT(l.p != NULL, SETUP, "out of memory");
    init(l.p);
    pthread_t t;
    start(&t, lifetime_waker, &l);
    tpark_prepare_park(l.p);
    store(&l.go, 1);
    wait_for(&l.locked, 1);
    tpark_park(l.p);
    memset(l.p, 0xA5, sizeof *l.p);
    free(l.p);
    store(&l.freed, 1);
    join(t);
  }
}

/* A copy of the backend at another address works while the original's bytes
 * are garbage: nothing may depend on the struct's own address. */
static void check_copy_is_a_backend(void) {
  tpark_backend *copy = malloc(sizeof *copy);
  EXPECT(copy != NULL, SETUP, "out of memory");
  *copy = tpark__conformance_backend;
  tpark__conformance_saved_backend = tpark__conformance_backend;
  memset(&tpark__conformance_backend, 0x5A, sizeof tpark__conformance_backend);
  tpark__conformance_backend_scribbled = 1;
  tpark__conformance_active = copy;
  tpark_parker p;
  init_on(&p, copy);
  for (int round = 0; round < 10; round++) {
    struct waker w = {.p = &p, .sleepers = round % 2 == 0};
    pthread_t t = prepare_with_waker(&w);
    tpark_park(&p);
    join(t);
    tpark_prepare_park(&p);
    EXPECT(!tpark_park_until(&p, 0), COPY, "on a copy, park_until(0) returned true, not unparked");
  }
  tpark__conformance_active = &tpark__conformance_backend;
  tpark__conformance_backend = tpark__conformance_saved_backend;
  tpark__conformance_backend_scribbled = 0;
  free(copy);
}

/* unpark returns while the owner has prepared but not yet parked. */
static void check_unpark_does_not_wait_for_park(void) {
  tpark_parker p;
  init(&p);
  struct waker w = {.p = &p};
  pthread_t t = prepare_with_waker(&w);
  int waited_ms = 0;
  while (!load(&w.done) && waited_ms < 10000) {
    tpark__conformance_pause_ms(1);
    waited_ms++;
  }
  bool done = load(&w.done);
  tpark_park(&p); /* lets a blocked unpark go */
  join(t);
  EXPECT(done, UNPARK_BLOCKS,
         "unpark did not return within 10 s while its owner had not parked yet "
         "(if it may block by design, set TPARK_CONFORMANCE_UNPARK_MAY_BLOCK)");
}

/* ---- the intended use: a wait queue under a lock ----------------------------- */

#define WORKERS 4
#define WAKERS 2
#define CYCLES 300

struct queue {
  pthread_mutex_t lock;
  tpark_parker *items[WORKERS];
  size_t n;
  int workers_done;
  long woken;    /* parks that ended unparked (workers' count) */
  long unparked; /* unpark_locks of queued parkers (wakers' count) */
  long timeouts;
  bool timed; /* workers use park_until */
};

static void q_remove(struct queue *q, tpark_parker *p) {
  for (size_t i = 0; i < q->n; i++) {
    if (q->items[i] == p) {
      q->items[i] = q->items[--q->n];
      return;
    }
  }
  tpark__conformance_fail(TIMED_OUT,
                          "true, but the parker had been unparked (taken out of the queue)");
}

static void *queue_worker(void *arg) {
  struct queue *q = arg;
  tpark_parker p;
  init(&p);
  for (int i = 0; i < CYCLES; i++) {
    pthread_mutex_lock(&q->lock);
    tpark_prepare_park(&p);
    q->items[q->n++] = &p;
    pthread_mutex_unlock(&q->lock);
    bool unparked = true;
    if (!q->timed) {
      tpark_park(&p);
    } else if (!tpark_park_until(&p, tpark_deadline(&p, (uint64_t)(i % 5) * 20000))) {
      pthread_mutex_lock(&q->lock);
      if (tpark_timed_out(&p)) { /* still queued: take it out */
        q_remove(q, &p);
        q->timeouts++;
        unparked = false;
      } /* else a waker dequeued it after the timeout: it was unparked */
      pthread_mutex_unlock(&q->lock);
    }
    if (unparked) __atomic_add_fetch(&q->woken, 1, __ATOMIC_RELAXED);
  }
  __atomic_add_fetch(&q->workers_done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void *queue_waker(void *arg) {
  struct queue *q = arg;
  while (__atomic_load_n(&q->workers_done, __ATOMIC_ACQUIRE) < WORKERS) {
    pthread_mutex_lock(&q->lock);
    tpark_unpark_handle h = {0, 0};
    bool got = q->n > 0;
    if (got) {
      h = tpark_unpark_lock(q->items[--q->n]);
      q->unparked++;
    }
    pthread_mutex_unlock(&q->lock);
    tpark_unpark(h); /* after the lock, as documented */
    if (!got) tpark_thread_yield();
  }
  return NULL;
}

static void *clock_mover(void *arg) {
  struct queue *q = arg;
  while (__atomic_load_n(&q->workers_done, __ATOMIC_ACQUIRE) < WORKERS) {
    advance(10000);
    tpark_thread_yield();
  }
  return NULL;
}

static void run_queue(bool timed) {
  struct queue q;
  memset(&q, 0, sizeof q);
  pthread_mutex_init(&q.lock, NULL);
  q.timed = timed;
  pthread_t workers[WORKERS], wakers[WAKERS], mover;
  for (int i = 0; i < WORKERS; i++) start(&workers[i], queue_worker, &q);
  for (int i = 0; i < WAKERS; i++) start(&wakers[i], queue_waker, &q);
  if (fake_time()) start(&mover, clock_mover, &q);
  for (int i = 0; i < WORKERS; i++) join(workers[i]);
  for (int i = 0; i < WAKERS; i++) join(wakers[i]);
  if (fake_time()) join(mover);
  pthread_mutex_destroy(&q.lock);
  EXPECT(q.n == 0, NEVER_LOST, "%lu parkers left in the queue", (unsigned long)q.n);
  EXPECT(q.woken == q.unparked, NEVER_LOST, "%ld parks returned unparked, %ld unpark_locks",
         q.woken, q.unparked);
  EXPECT(q.woken + q.timeouts == (long)WORKERS * CYCLES, NEVER_LOST,
         "%ld unparked + %ld timed out of %ld parks", q.woken, q.timeouts, (long)WORKERS * CYCLES);
  EXPECT(timed || q.timeouts == 0, NO_SPURIOUS, "park timed out");
}

static void check_queue_stress_park(void) { run_queue(false); }
static void check_queue_stress_park_until(void) { run_queue(true); }

/* ---- the table -------------------------------------------------------------- */

const struct tpark__conformance_check tpark__conformance_checks[] = {
#define HANG_LOST NEVER_LOST ": a park was still waiting (a lost wake-up?)"
#define HANG_TIMEOUT PAST_DEADLINE ": a park_until did not return (a timeout that never fires?)"
    {"vtable", check_vtable, VTABLE, 0},
    {"name_and_clock", check_name_and_clock, CLOCK, 0},
    {"clock_never_decreases", check_clock_never_decreases, CLOCK, 0},
    {"unpark_before_park", check_unpark_before_park, HANG_LOST, 0},
    {"unpark_before_park_until_past", check_unpark_before_park_until_past, HANG_LOST, 0},
    {"unpark_while_parked", check_unpark_while_parked, HANG_LOST, 0},
    {"unpark_while_park_until", check_unpark_while_park_until, HANG_LOST, 0},
    {"unpark_lock_not_prepared_is_forgotten", check_unpark_lock_not_prepared_is_forgotten,
     HANG_TIMEOUT, 0},
    {"unpark_not_remembered_across_cycles", check_unpark_not_remembered_across_cycles, HANG_LOST,
     0},
    {"only_first_unpark_lock_counts", check_only_first_unpark_lock_counts, HANG_LOST, 0},
    {"late_unpark_not_remembered", check_late_unpark_not_remembered, HANG_TIMEOUT, 0},
    {"past_deadline_times_out_at_once", check_past_deadline_times_out_at_once, HANG_TIMEOUT, 0},
    {"never_early", check_never_early, HANG_TIMEOUT, 0},
    {"park_until_never", check_park_until_never, HANG_LOST, 0},
    {"timed_out_then_unparked", check_timed_out_then_unparked, HANG_TIMEOUT, 0},
    {"unpark_wakes_only_its_parker", check_unpark_wakes_only_its_parker, HANG_LOST, 0},
    {"memory_ordering", check_memory_ordering, HANG_LOST, 0},
    {"handles_and_lifetime", check_handles_and_lifetime, HANG_LOST, 0},
    {"copy_is_a_backend", check_copy_is_a_backend, HANG_LOST, 0},
    {"unpark_does_not_wait_for_park", check_unpark_does_not_wait_for_park, UNPARK_BLOCKS,
     TPARK_CONFORMANCE_UNPARK_MAY_BLOCK},
    {"queue_stress_park", check_queue_stress_park, HANG_LOST, 0},
    {"queue_stress_park_until", check_queue_stress_park_until, HANG_LOST, 0},
};
const size_t tpark__conformance_n_checks =
    sizeof tpark__conformance_checks / sizeof tpark__conformance_checks[0];
