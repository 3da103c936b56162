/* The conformance suite (tpark/conformance.h): every promise of tpark/tpark.h
 * written once as a check, and a small runner with no test framework.
 *
 * A check runs against a fresh backend from the subject's create. A failed
 * expectation ends the check with "<rule>: <what happened>". Each check runs
 * in a child process that sends its failure through a pipe, so a crash, a
 * hang or a sanitizer's exit status fails that check only:
 *  - POSIX: fork(), with alarm() as the check's timeout;
 *  - Windows: the same program started again (CreateProcess, same command
 *    line) with TPARK_CONFORMANCE_CHILD="<run>:<check>:<pipe handle>" in its
 *    environment: the <run>-th call of tpark_conformance_run in the child
 *    runs that one check and exits. The parent times it out.
 * With TPARK_CONFORMANCE_NO_FORK (or if no child can be made) the check runs
 * here: a failure in the check's own thread with none of its threads left
 * running jumps back to the runner (longjmp); any other failure, or the
 * watchdog's timeout, ends the run with the summary. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "tpark/conformance.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpark/tpark.h"

#if defined(__unix__) || defined(__APPLE__)
#define CONFORMANCE_FORK 1
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#elif defined(_WIN32)
#define CONFORMANCE_SPAWN 1
#include <windows.h>
#define CHILD_ENV "TPARK_CONFORMANCE_CHILD"
#endif

#define MS UINT64_C(1000000)
#define SECOND UINT64_C(1000000000)
#define DEFAULT_TIMEOUT_S 120u
#define MSG_CAP 512

/* The rules, as the report names them (tpark/tpark.h, SPEC). */
#define NEVER_LOST "never lost"   /* an unpark_lock after prepare_park makes park return true */
#define NEVER_EARLY "never early" /* park_until returns false only after its deadline */
#define NO_SPURIOUS "no spurious return" /* park returns only after an unpark_lock of its cycle */
#define ONE_CYCLE "one cycle"     /* an unpark_lock counts only for the cycle it hit */
#define PAST_DEADLINE "past deadline" /* a passed deadline: false at once */
#define TIMED_OUT "timed_out"     /* true after a timeout unless unparked since */
#define ORDERING "memory ordering" /* waker's writes before unpark_lock visible after park */
#define LIFETIME "lifetime"       /* unpark does not touch the parker */
#define CLOCK "clock"             /* now() never decreases; deadlines saturate */
#define VTABLE "vtable"           /* tpark/backend.h's rules for the struct */
#define COPY "copy"               /* a copy of a valid backend is a valid backend */
#define UNPARK_BLOCKS "unpark does not block" /* unless TPARK_CONFORMANCE_UNPARK_MAY_BLOCK */
#define SETUP "setup"             /* create, threads */

/* ---- the run's state ------------------------------------------------------ */

static const tpark_conformance_subject *subject;
static tpark_backend backend;        /* the check's backend, filled by create */
static tpark_backend saved_backend;  /* backend's bytes while the copy check scribbles */
static int backend_scribbled;
static const tpark_backend *active;  /* what the hooks get: &backend or its copy */
static int live_threads;             /* threads of the check still running */
static pthread_t check_thread;
static jmp_buf failure_jump;
static char failure[MSG_CAP];
static int in_child;                 /* this process runs one check for its parent */
#if defined(CONFORMANCE_FORK)
static int result_fd = -1;           /* the child's end of the pipe */
#elif defined(CONFORMANCE_SPAWN)
static HANDLE result_handle;         /* the child's end of the pipe */
#endif

/* In a child: sends the failure to the parent and ends the process. */
static void child_fail(const char *msg) __attribute__((noreturn));
static void child_fail(const char *msg) {
  /* One write below PIPE_BUF: atomic even if two threads fail at once. */
#if defined(CONFORMANCE_FORK)
  ssize_t w = write(result_fd, msg, strlen(msg));
  (void)w;
#elif defined(CONFORMANCE_SPAWN)
  DWORD w;
  WriteFile(result_handle, msg, (DWORD)strlen(msg), &w, NULL);
#endif
  fflush(stderr);
  _Exit(1);
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
  char line[MSG_CAP + 128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (subject != NULL && subject->report != NULL) {
    subject->report(subject->report_arg, line);
  } else {
    printf("%s\n", line);
    fflush(stdout);
  }
}

/* Set by the runner so that a failure that must end the run can still print
 * the summary. */
static const char *current_check;
static int run_passed, run_failed, run_errors;

static void summary(void) {
  int total = run_passed + run_failed + run_errors;
  report("%d%%: Checks: %d, Failures: %d, Errors: %d", total ? run_passed * 100 / total : 100,
         total, run_failed, run_errors);
}

static void fail(const char *rule, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
static void fail(const char *rule, const char *fmt, ...) {
  char msg[MSG_CAP];
  int n = snprintf(msg, sizeof msg, "%s: ", rule);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  if (in_child) child_fail(msg);
  if (pthread_equal(pthread_self(), check_thread) &&
      __atomic_load_n(&live_threads, __ATOMIC_ACQUIRE) == 0) {
    memcpy(failure, msg, sizeof failure);
    longjmp(failure_jump, 1);
  }
  /* A thread of the check may still use the backend: nothing is safe to do
   * but to stop here. */
  report("FAIL %s: %s", __atomic_load_n(&current_check, __ATOMIC_ACQUIRE), msg);
  report("(a thread of the check is still running: the run ends here)");
  run_failed++;
  summary();
  _Exit(1);
}

#define EXPECT(cond, rule, ...)                   \
  do {                                            \
    if (!(cond)) fail(rule, __VA_ARGS__);         \
  } while (0)

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

static void pause_ms(unsigned ms) {
  struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

static bool fake_time(void) { return subject->advance != NULL; }

static void advance(uint64_t ns) {
  if (subject->advance != NULL) subject->advance(active, ns);
}

/* A pause that makes "n threads sleep in the backend" likely. */
static void wait_sleepers(size_t n, unsigned timeout_ms) {
  if (subject->wait_sleepers != NULL) {
    subject->wait_sleepers(active, n, timeout_ms);
  } else {
    pause_ms(1);
  }
}

static void init_on(tpark_parker *p, const tpark_backend *b) {
  tpark_status st = tpark_init_with(p, b);
  EXPECT(st == TPARK_OK, VTABLE, "tpark_init_with rejected the backend: %s", tpark_status_str(st));
}

static void init(tpark_parker *p) { init_on(p, active); }

struct thread_start {
  void *(*fn)(void *);
  void *arg;
};

static void *thread_main(void *arg) {
  struct thread_start ts = *(struct thread_start *)arg;
  free(arg);
  void *r = ts.fn(ts.arg);
  __atomic_sub_fetch(&live_threads, 1, __ATOMIC_RELEASE);
  return r;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  struct thread_start *ts = malloc(sizeof *ts);
  EXPECT(ts != NULL, SETUP, "out of memory");
  ts->fn = fn;
  ts->arg = arg;
  __atomic_add_fetch(&live_threads, 1, __ATOMIC_ACQ_REL);
  if (pthread_create(t, NULL, thread_main, ts) != 0) {
    __atomic_sub_fetch(&live_threads, 1, __ATOMIC_RELEASE);
    free(ts);
    fail(SETUP, "pthread_create failed");
  }
}

static void join(pthread_t t) {
  if (pthread_join(t, NULL) != 0) fail(SETUP, "pthread_join failed");
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
  const tpark_backend *b = active;
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
  if (subject->name != NULL) {
    EXPECT(strcmp(tpark_backend_name(&p), subject->name) == 0, VTABLE,
           "tpark_backend_name says \"%s\", expected \"%s\"", tpark_backend_name(&p),
           subject->name);
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
    while (seen < now &&
           !__atomic_compare_exchange_n(&c->latest, &seen, now, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
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
    EXPECT(now >= deadline, NEVER_EARLY, "park_until returned false %s before its deadline (timeout %s)",
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
  for (int i = 0; i < 50 && !load(&l->freed); i++) pause_ms(1);
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
  *copy = backend;
  saved_backend = backend;
  memset(&backend, 0x5A, sizeof backend);
  backend_scribbled = 1;
  active = copy;
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
  active = &backend;
  backend = saved_backend;
  backend_scribbled = 0;
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
    pause_ms(1);
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
  bool timed;    /* workers use park_until */
};

static void q_remove(struct queue *q, tpark_parker *p) {
  for (size_t i = 0; i < q->n; i++) {
    if (q->items[i] == p) {
      q->items[i] = q->items[--q->n];
      return;
    }
  }
  fail(TIMED_OUT, "true, but the parker had been unparked (taken out of the queue)");
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
         "%ld unparked + %ld timed out of %ld parks", q.woken, q.timeouts,
         (long)WORKERS * CYCLES);
  EXPECT(timed || q.timeouts == 0, NO_SPURIOUS, "park timed out");
}

static void check_queue_stress_park(void) { run_queue(false); }
static void check_queue_stress_park_until(void) { run_queue(true); }

/* ---- the runner ------------------------------------------------------------ */

static const struct check {
  const char *name;
  void (*fn)(void);
  const char *hang; /* what a timeout most likely means */
  unsigned skip_if; /* a flag that skips it */
} checks[] = {
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
#define N_CHECKS (sizeof checks / sizeof checks[0])

static unsigned timeout_s(void) {
  return subject->timeout_s ? subject->timeout_s : DEFAULT_TIMEOUT_S;
}

/* Runs c here: create, the check, destroy. 0 when it passed; else 1 and
 * the failure in msg. */
static int run_here(const struct check *c, char *msg) {
  static volatile int result; /* static: survives the longjmp */
  check_thread = pthread_self();
  __atomic_store_n(&live_threads, 0, __ATOMIC_RELEASE);
  memset(&backend, 0, sizeof backend);
  tpark_status st = subject->create(&backend);
  if (st != TPARK_OK) {
    snprintf(msg, MSG_CAP, SETUP ": create failed: %s", tpark_status_str(st));
    return 1;
  }
  active = &backend;
  result = 0;
  if (setjmp(failure_jump) == 0) {
    c->fn();
  } else {
    memcpy(msg, failure, MSG_CAP);
    result = 1;
  }
  if (backend_scribbled) {
    backend = saved_backend;
    backend_scribbled = 0;
  }
  active = &backend;
  if (subject->destroy != NULL) subject->destroy(&backend);
  return result;
}

/* The watchdog of a run without fork: ends the process when a check takes
 * longer than its timeout. */
static struct {
  int stop;
  long started; /* time(NULL) when the running check started; 0: none */
  const char *hang;
} watchdog;

static void *watchdog_main(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&watchdog.stop, __ATOMIC_ACQUIRE)) {
    long started = __atomic_load_n(&watchdog.started, __ATOMIC_ACQUIRE);
    if (started != 0 && (long)time(NULL) - started > (long)timeout_s()) {
      report("ERROR %s: %s: no result after %u s (timeout)",
             __atomic_load_n(&current_check, __ATOMIC_ACQUIRE),
             __atomic_load_n(&watchdog.hang, __ATOMIC_ACQUIRE),
             timeout_s());
      run_errors++;
      summary();
      _Exit(1);
    }
    pause_ms(50);
  }
  return NULL;
}

enum outcome { PASSED, FAILED, ERRED };

#if defined(CONFORMANCE_FORK)
static enum outcome run_forked(const struct check *c, char *msg) {
  int fds[2];
  if (pipe(fds) != 0) {
    snprintf(msg, MSG_CAP, SETUP ": pipe failed (errno %d)", errno);
    return ERRED;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(msg, MSG_CAP, SETUP ": fork failed (errno %d)", errno);
    close(fds[0]);
    close(fds[1]);
    return ERRED;
  }
  if (pid == 0) {
    close(fds[0]);
    in_child = 1;
    result_fd = fds[1];
    alarm(timeout_s());
    if (run_here(c, msg) != 0) child_fail(msg);
    exit(0); /* exit, not _Exit: sanitizers report (leaks, races) at exit */
  }
  close(fds[1]);
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fds[0], msg + len, MSG_CAP - 1 - len);
    if (r > 0) {
      len += (size_t)r;
      if (len == MSG_CAP - 1) break;
    } else if (r == 0 || errno != EINTR) {
      break;
    }
  }
  msg[len] = '\0';
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      snprintf(msg, MSG_CAP, SETUP ": waitpid failed (errno %d)", errno);
      return ERRED;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && len == 0) return PASSED;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && len > 0) return FAILED;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    snprintf(msg, MSG_CAP, "%s: no result after %u s (timeout)", c->hang, timeout_s());
  } else if (WIFSIGNALED(status)) {
    snprintf(msg, MSG_CAP, "crashed: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  } else {
    snprintf(msg, MSG_CAP,
             "exited with status %d, no failure reported (a sanitizer's report on stderr?)",
             WEXITSTATUS(status));
  }
  return ERRED;
}
#endif /* CONFORMANCE_FORK */

#if defined(CONFORMANCE_SPAWN)
static unsigned run_count; /* calls of tpark_conformance_run in this process */

/* Runs check c in a new process of this program (see the top). */
static enum outcome run_spawned(const struct check *c, char *msg) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE rd, wr;
  if (!CreatePipe(&rd, &wr, &sa, 0)) {
    snprintf(msg, MSG_CAP, SETUP ": CreatePipe failed (%lu)", (unsigned long)GetLastError());
    return ERRED;
  }
  SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
  char value[200];
  snprintf(value, sizeof value, "%u:%s:%llu", run_count, c->name,
           (unsigned long long)(uintptr_t)wr);
  static wchar_t exe[32768];
  DWORD n = GetModuleFileNameW(NULL, exe, sizeof exe / sizeof exe[0]);
  wchar_t *cmd = _wcsdup(GetCommandLineW()); /* CreateProcessW may write to it */
  STARTUPINFOW si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  PROCESS_INFORMATION pi;
  fflush(stdout);
  fflush(stderr);
  BOOL ok = n > 0 && n < sizeof exe / sizeof exe[0] && cmd != NULL &&
            SetEnvironmentVariableA(CHILD_ENV, value) &&
            CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
  DWORD err = GetLastError();
  SetEnvironmentVariableA(CHILD_ENV, NULL);
  free(cmd);
  CloseHandle(wr);
  if (!ok) {
    CloseHandle(rd);
    snprintf(msg, MSG_CAP, SETUP ": cannot start a child process (%lu)", (unsigned long)err);
    return ERRED;
  }
  CloseHandle(pi.hThread);
  enum outcome o = ERRED;
  if (WaitForSingleObject(pi.hProcess, timeout_s() * 1000u) == WAIT_TIMEOUT) {
    TerminateProcess(pi.hProcess, 3);
    WaitForSingleObject(pi.hProcess, INFINITE);
    snprintf(msg, MSG_CAP, "%s: no result after %u s (timeout)", c->hang, timeout_s());
  } else {
    /* The child is gone: its message (if any) is in the pipe. */
    DWORD code = 0, got;
    GetExitCodeProcess(pi.hProcess, &code);
    size_t len = 0;
    while (len < MSG_CAP - 1 && ReadFile(rd, msg + len, (DWORD)(MSG_CAP - 1 - len), &got, NULL) &&
           got > 0) {
      len += got;
    }
    msg[len] = '\0';
    if (code == 0 && len == 0) {
      o = PASSED;
    } else if (code == 1 && len > 0) {
      o = FAILED;
    } else {
      snprintf(msg, MSG_CAP, "%s with code 0x%lx, no failure reported",
               code >= 0xC0000000u ? "crashed" : "exited", (unsigned long)code);
    }
  }
  CloseHandle(pi.hProcess);
  CloseHandle(rd);
  return o;
}

/* In a child (CHILD_ENV set): runs the check named there when this is the
 * run it names, then exits; true for another run of the child (to be
 * skipped: it is its parent's). False in a parent. */
static bool maybe_child(void) {
  const char *env = getenv(CHILD_ENV);
  if (env == NULL || *env == '\0') return false;
  unsigned run;
  unsigned long long handle;
  char name[128];
  if (sscanf(env, "%u:%127[^:]:%llu", &run, name, &handle) != 3) {
    fprintf(stderr, "tpark conformance: bad %s=%s\n", CHILD_ENV, env);
    _Exit(2);
  }
  if (run != run_count) return true;
  in_child = 1;
  result_handle = (HANDLE)(uintptr_t)handle;
  for (size_t i = 0; i < N_CHECKS; i++) {
    if (strcmp(checks[i].name, name) == 0) {
      char msg[MSG_CAP] = "";
      if (run_here(&checks[i], msg) != 0) child_fail(msg);
      exit(0);
    }
  }
  child_fail(SETUP ": the parent asked for an unknown check");
}
#endif /* CONFORMANCE_SPAWN */

static bool selected(const char *only, const char *name) {
  if (only == NULL) return true;
  size_t n = strlen(name);
  for (const char *s = only; *s != '\0';) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len == n && strncmp(s, name, n) == 0) return true;
    s += len + (end != NULL);
  }
  return false;
}

/* An error message if only names a check that does not exist. */
static bool only_is_valid(const char *only) {
  if (only == NULL) return true;
  for (const char *s = only; *s != '\0';) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    bool known = false;
    for (size_t i = 0; i < N_CHECKS; i++) {
      if (strlen(checks[i].name) == len && strncmp(checks[i].name, s, len) == 0) known = true;
    }
    if (!known) {
      fprintf(stderr, "tpark conformance: no check named \"%.*s\" (--list shows them)\n", (int)len,
              s);
      return false;
    }
    s += len + (end != NULL);
  }
  return true;
}

int tpark_conformance_run(const tpark_conformance_subject *s) {
  if (s == NULL || s->create == NULL) {
    fprintf(stderr, "tpark_conformance_run: %s\n",
            s == NULL ? "no subject (NULL)" : "the subject has no create function");
    return -1;
  }
  if (!only_is_valid(s->only)) return -1;
  subject = s;
  run_passed = run_failed = run_errors = 0;
  bool use_fork = false;
#if defined(CONFORMANCE_FORK)
  use_fork = !(s->flags & TPARK_CONFORMANCE_NO_FORK);
#elif defined(CONFORMANCE_SPAWN)
  run_count++;
  if (maybe_child()) {
    subject = NULL;
    return 0;
  }
  use_fork = !(s->flags & TPARK_CONFORMANCE_NO_FORK);
#endif
  const char *label = s->label ? s->label : s->name ? s->name : "backend";
  report("conformance[%s]: %s, timeout %u s each", label,
         use_fork ? "each check in a child process" : "checks in this process", timeout_s());
  pthread_t wd;
  bool wd_started = false;
  if (!use_fork) {
    __atomic_store_n(&watchdog.stop, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&watchdog.started, 0, __ATOMIC_RELEASE);
    wd_started = pthread_create(&wd, NULL, watchdog_main, NULL) == 0;
    if (!wd_started) report("(no watchdog thread: a hang is not timed out)");
  }
  for (size_t i = 0; i < N_CHECKS; i++) {
    const struct check *c = &checks[i];
    if (!selected(s->only, c->name)) continue;
    if (s->flags & c->skip_if) {
      report("SKIP %s (unpark may block: TPARK_CONFORMANCE_UNPARK_MAY_BLOCK)", c->name);
      continue;
    }
    __atomic_store_n(&current_check, c->name, __ATOMIC_RELEASE);
    char msg[MSG_CAP] = "";
    enum outcome o;
#if defined(CONFORMANCE_FORK)
    if (use_fork) {
      o = run_forked(c, msg);
    } else
#elif defined(CONFORMANCE_SPAWN)
    if (use_fork) {
      o = run_spawned(c, msg);
    } else
#endif
    {
      __atomic_store_n(&watchdog.hang, c->hang, __ATOMIC_RELEASE);
      __atomic_store_n(&watchdog.started, (long)time(NULL), __ATOMIC_RELEASE);
      o = run_here(c, msg) == 0 ? PASSED : FAILED;
      __atomic_store_n(&watchdog.started, 0, __ATOMIC_RELEASE);
    }
    if (o == PASSED) {
      run_passed++;
      report("PASS %s", c->name);
    } else if (o == FAILED) {
      run_failed++;
      report("FAIL %s: %s", c->name, msg);
    } else {
      run_errors++;
      report("ERROR %s: %s", c->name, msg);
    }
  }
  if (wd_started) {
    __atomic_store_n(&watchdog.stop, 1, __ATOMIC_RELEASE);
    pthread_join(wd, NULL);
  }
  summary();
  subject = NULL;
  return run_failed + run_errors;
}

int tpark_conformance_main(const tpark_conformance_subject *s, int argc, char **argv) {
  if (s == NULL) {
    fprintf(stderr, "tpark_conformance_main: no subject (NULL)\n");
    return 2;
  }
  tpark_conformance_subject copy = *s;
  size_t cap = 1;
  for (int i = 1; i < argc; i++) cap += strlen(argv[i]) + 1;
  char *only = calloc(1, cap);
  if (only == NULL) {
    fprintf(stderr, "tpark_conformance_main: out of memory\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--list") == 0) {
      for (size_t c = 0; c < N_CHECKS; c++) printf("%s\n", checks[c].name);
      free(only);
      return 0;
    } else if (strcmp(argv[i], "--no-fork") == 0) {
      copy.flags |= TPARK_CONFORMANCE_NO_FORK;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: %s [--list] [--no-fork] [CHECK...]\n", argv[0]);
      free(only);
      return 2;
    } else {
      if (only[0] != '\0') strcat(only, ",");
      strcat(only, argv[i]);
    }
  }
  if (only[0] != '\0') copy.only = only;
  int r = tpark_conformance_run(&copy);
  free(only);
  return r < 0 ? 2 : r > 0 ? 1 : 0;
}
