/* mock backend: a fake clock and an event log, for tests of code built on
 * tpark (see tpark/mock.h). One mutex serialises every call on a mock; one
 * condition variable, broadcast on every change, wakes waiting threads, which
 * then recheck their own state. Real OS calls only for that mutex and condvar:
 * the mock is a test tool, not a backend over an OS primitive.
 *
 * Every thread blocked in a park has a `struct sleep` on its stack, linked
 * into the mock's list in the order the threads began to sleep. Its phase
 * says who may touch it: ASLEEP (a sleeper: counted, has a deadline) ->
 * WAKING (an unpark_lock hit it; waits for that handle's unpark) ->
 * RELEASED (unlinked; the thread may return). The waker moves it, under the
 * mock's lock, so counts are settled the moment a wake happens.
 *
 * Teardown: every call counts itself in `inside` before it takes the lock and
 * uncounts itself after it released it, as its very last touch of the mock;
 * tpark_mock_free frees nothing before that count is 0. So it never depends
 * on the platform mutex being safe to destroy while another thread's unlock is
 * still in flight (winpthreads' pthread_mutex_unlock reads the mutex after
 * releasing it, to wake a waiter).
 *
 * Cancellation: no call blocks at a cancellation point (pthread_cond_wait is
 * one; a thread cancelled there would leave with the lock held and its sleep
 * record linked): every wait runs with cancellation disabled, and a cancel
 * stays pending until the thread reaches a cancellation point of its own. */
#include "tpark/mock.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "platform/os.h"
#include "tpark/backend.h"

/* States of p->state_.u32. */
enum { EMPTY = 0, PARKED = 1, UNPARKED = 2, TIMED_OUT = 3 };

enum phase { ASLEEP, WAKING, RELEASED };

struct sleep {
  tpark_parker *parker; /* valid while the thread is in its park */
  tpark_instant since, deadline;
  tpark_instant woken_at; /* WAKING: when the unpark_lock hit */
  enum phase phase;
  bool unparked; /* the park's result, set by whoever released it */
  struct sleep *prev, *next;
};

/* An unpark_lock's handle until its unpark: the token is its id (never 0),
 * so a stale or repeated unpark cannot wake a later cycle by address. */
struct handle {
  uintptr_t id;
  const tpark_parker *parker;
  struct sleep *waking; /* the sleeper it hit, if any */
};

struct label {
  const tpark_parker *parker;
  char *name; /* NULL: label removed */
};

struct tpark_mock {
  tpark_backend backend; /* context points back here */
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  tpark_instant now;
  size_t sleepers; /* ASLEEP records */
  size_t in_park;  /* threads inside a blocking park (any phase) */
  size_t inside;   /* atomic: threads in a call on this mock (see the top) */
  struct sleep *first, *last;
  struct handle *handles;
  size_t n_handles, cap_handles;
  uintptr_t last_id;
  struct label *labels; /* append-only; the latest entry for a parker wins */
  size_t n_labels, cap_labels;
  bool threads_declared;
  size_t threads, exited;
  tpark_mock_event *events;
  size_t n_events, cap_events;
};

static void lock(tpark_mock *m) {
  __atomic_add_fetch(&m->inside, 1, __ATOMIC_RELAXED);
  if (pthread_mutex_lock(&m->mutex) != 0) tpark__fatal("tpark mock: pthread_mutex_lock failed");
}

/* The caller's last touch of m: tpark_mock_free may free it right after. */
static void unlock(tpark_mock *m) {
  if (pthread_mutex_unlock(&m->mutex) != 0) tpark__fatal("tpark mock: pthread_mutex_unlock failed");
  __atomic_sub_fetch(&m->inside, 1, __ATOMIC_RELEASE);
}

/* Waits for a broadcast (or until the real-time instant *until, if not
 * NULL): 0, or ETIMEDOUT; wake-ups may be spurious. m is locked. */
static int wait_changed_until(tpark_mock *m, const struct timespec *until) {
  int cancel_state, ignored;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  int err = until == NULL ? pthread_cond_wait(&m->changed, &m->mutex)
                          : pthread_cond_timedwait(&m->changed, &m->mutex, until);
  pthread_setcancelstate(cancel_state, &ignored);
#if defined(_WIN32)
  /* winpthreads: a cancel request ends a cond wait even while cancellation
   * is disabled, with EINVAL and the mutex locked again: a spurious wake. */
  if (err == EINVAL) err = 0;
#endif
  if (err != 0 && !(until != NULL && err == ETIMEDOUT)) {
    tpark__fatal("tpark mock: %s",
                 until == NULL ? "pthread_cond_wait failed" : "pthread_cond_timedwait failed");
  }
  return err;
}

static void wait_changed(tpark_mock *m) { wait_changed_until(m, NULL); }

static void broadcast(tpark_mock *m) {
  if (pthread_cond_broadcast(&m->changed) != 0)
    tpark__fatal("tpark mock: pthread_cond_broadcast failed");
}

/* Makes room for one more element in an array of *cap elements of size. */
static void *grow(void *array, size_t *cap, size_t n, size_t size, const char *what) {
  if (n < *cap) return array;
  size_t new_cap = *cap ? 2 * *cap : 16;
  void *grown = realloc(array, new_cap * size);
  if (grown == NULL) tpark__fatal("tpark mock: %s", what);
  *cap = new_cap;
  return grown;
}

/* p's current label, or NULL; m is locked. */
static const char *label_of(tpark_mock *m, const tpark_parker *p) {
  for (size_t i = m->n_labels; i-- > 0;) {
    if (m->labels[i].parker == p) return m->labels[i].name;
  }
  return NULL;
}

/* Appends an event; m is locked. */
static void record(tpark_mock *m, tpark_mock_op op, const tpark_parker *p, tpark_instant deadline,
                   bool hit) {
  m->events = grow(m->events, &m->cap_events, m->n_events, sizeof *m->events,
                   "out of memory for the event log");
  tpark_mock_event e = {op, p, m->now, deadline, hit, p ? label_of(m, p) : NULL};
  m->events[m->n_events++] = e;
}

static void link_sleep(tpark_mock *m, struct sleep *s) {
  s->prev = m->last;
  s->next = NULL;
  if (m->last)
    m->last->next = s;
  else
    m->first = s;
  m->last = s;
}

static void unlink_sleep(tpark_mock *m, struct sleep *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    m->first = s->next;
  if (s->next)
    s->next->prev = s->prev;
  else
    m->last = s->prev;
  s->prev = s->next = NULL;
}

/* Wakes sleeper s with result unparked; m is locked. The caller broadcasts. */
static void release(tpark_mock *m, struct sleep *s, bool unparked) {
  if (s->phase == ASLEEP) m->sleepers--;
  unlink_sleep(m, s);
  s->phase = RELEASED;
  s->unparked = unparked;
  record(m, unparked ? TPARK_MOCK_WOKEN : TPARK_MOCK_TIMED_OUT, s->parker, 0, false);
}

/* The earliest deadline among ASLEEP records; m is locked. */
static tpark_instant next_deadline(tpark_mock *m) {
  tpark_instant d = TPARK_NEVER;
  for (struct sleep *s = m->first; s; s = s->next) {
    if (s->phase == ASLEEP && s->deadline < d) d = s->deadline;
  }
  return d;
}

/* Moves the clock to max(now, to), records ADVANCE and times out the due
 * sleepers, by deadline and then in list order; m is locked. */
static size_t advance_to(tpark_mock *m, tpark_instant to) {
  if (to > m->now) m->now = to;
  record(m, TPARK_MOCK_ADVANCE, NULL, 0, false);
  size_t woken = 0;
  for (;;) {
    struct sleep *due = NULL;
    for (struct sleep *s = m->first; s; s = s->next) {
      if (s->phase != ASLEEP || s->deadline == TPARK_NEVER || s->deadline > m->now) continue;
      if (due == NULL || s->deadline < due->deadline) due = s;
    }
    if (due == NULL) break;
    /* Decided now: a later unpark_lock finds TIMED_OUT and turns
     * tpark_timed_out false, as after any timeout. */
    due->parker->state_.u32 = TIMED_OUT;
    release(m, due, false);
    woken++;
  }
  broadcast(m);
  return woken;
}

static void mock_prepare_park(const tpark_backend *self, tpark_parker *p) {
  tpark_mock *m = self->context;
  lock(m);
  p->state_.u32 = PARKED;
  record(m, TPARK_MOCK_PREPARE, p, 0, false);
  unlock(m);
}

static bool mock_park_until(const tpark_backend *self, tpark_parker *p, tpark_instant deadline) {
  tpark_mock *m = self->context;
  bool unparked;
  lock(m);
  if (p->state_.u32 == UNPARKED) {
    unparked = true;
    record(m, TPARK_MOCK_WOKEN, p, 0, false);
  } else if (deadline != TPARK_NEVER && m->now >= deadline) {
    p->state_.u32 = TIMED_OUT;
    unparked = false;
    record(m, TPARK_MOCK_TIMED_OUT, p, 0, false);
  } else {
    /* Block until a waker releases us (it records WOKEN/TIMED_OUT). */
    struct sleep s = {p, m->now, deadline, 0, ASLEEP, false, NULL, NULL};
    link_sleep(m, &s);
    m->sleepers++;
    m->in_park++;
    record(m, TPARK_MOCK_SLEEP, p, deadline, false);
    broadcast(m); /* for tpark_mock_wait_sleepers and run_until_idle */
    while (s.phase != RELEASED) wait_changed(m);
    unparked = s.unparked;
    m->in_park--;
    broadcast(m); /* for tpark_mock_free */
  }
  unlock(m);
  return unparked;
}

static void mock_park(const tpark_backend *self, tpark_parker *p) {
  mock_park_until(self, p, TPARK_NEVER);
}

static bool mock_timed_out(const tpark_backend *self, tpark_parker *p) {
  tpark_mock *m = self->context;
  lock(m);
  bool timed_out = p->state_.u32 == TIMED_OUT;
  unlock(m);
  return timed_out;
}

static void *mock_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  tpark_mock *m = self->context;
  lock(m);
  bool hit = p->state_.u32 == PARKED || p->state_.u32 == TIMED_OUT;
  struct sleep *waking = NULL;
  if (hit) {
    p->state_.u32 = UNPARKED;
    for (struct sleep *s = m->first; s; s = s->next) {
      if (s->parker == p && s->phase == ASLEEP) {
        /* Woken now: no longer a sleeper, though it waits for the unpark. */
        s->phase = WAKING;
        s->woken_at = m->now;
        m->sleepers--;
        waking = s;
        break;
      }
    }
  }
  record(m, TPARK_MOCK_UNPARK_LOCK, p, 0, hit);
  m->handles = grow(m->handles, &m->cap_handles, m->n_handles, sizeof *m->handles,
                    "out of memory for unpark handles");
  struct handle h = {++m->last_id, p, waking};
  m->handles[m->n_handles++] = h;
  unlock(m);
  return (void *)h.id;
}

static void mock_unpark(const tpark_backend *self, void *token) {
  tpark_mock *m = self->context;
  lock(m);
  size_t i = m->n_handles;
  while (i-- > 0 && m->handles[i].id != (uintptr_t)token) {
  }
  if (i == (size_t)-1) {
    unlock(m);
    tpark__fatal(
        "tpark mock: tpark_unpark: this handle was already used, or is not from this mock's "
        "unpark_lock");
  }
  struct handle h = m->handles[i];
  m->handles[i] = m->handles[--m->n_handles];
  record(m, TPARK_MOCK_UNPARK, h.parker, 0, false);
  if (h.waking != NULL) release(m, h.waking, true);
  broadcast(m);
  unlock(m);
}

static tpark_instant mock_now(const tpark_backend *self) { return tpark_mock_now(self->context); }

static void mock_thread_yield(const tpark_backend *self) {
  (void)self;
  tpark__os_yield();
}

tpark_mock *tpark_mock_new_at(tpark_instant start) {
  tpark_mock *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  if (pthread_mutex_init(&m->mutex, NULL) != 0) {
    free(m);
    return NULL;
  }
  if (pthread_cond_init(&m->changed, NULL) != 0) {
    pthread_mutex_destroy(&m->mutex);
    free(m);
    return NULL;
  }
  m->now = start;
  m->backend = (tpark_backend){
      .abi_version = TPARK_BACKEND_ABI_VERSION,
      .name = "mock",
      .prepare_park = mock_prepare_park,
      .park = mock_park,
      .park_until = mock_park_until,
      .timed_out = mock_timed_out,
      .unpark_lock = mock_unpark_lock,
      .unpark = mock_unpark,
      .now = mock_now,
      .thread_yield = mock_thread_yield,
      .context = m,
  };
  return m;
}

tpark_mock *tpark_mock_new(void) { return tpark_mock_new_at(0); }

void tpark_mock_free(tpark_mock *m) {
  if (m == NULL) return;
  lock(m);
  if (m->first != NULL) {
    unlock(m);
    tpark__fatal("tpark mock: tpark_mock_free: threads are still parked on this mock");
  }
  /* Released threads still need the lock once to leave their park. */
  while (m->in_park > 0) wait_changed(m);
  unlock(m);
  /* The last of them (and any other caller) may still be inside its unlock:
   * wait for its last touch, which comes right after. */
  while (__atomic_load_n(&m->inside, __ATOMIC_ACQUIRE) != 0) sched_yield();
  pthread_cond_destroy(&m->changed);
  pthread_mutex_destroy(&m->mutex);
  for (size_t i = 0; i < m->n_labels; i++) free(m->labels[i].name);
  free(m->labels);
  free(m->handles);
  free(m->events);
  free(m);
}

const tpark_backend *tpark_mock_backend(tpark_mock *m) { return &m->backend; }

tpark_instant tpark_mock_now(tpark_mock *m) {
  lock(m);
  tpark_instant now = m->now;
  unlock(m);
  return now;
}

size_t tpark_mock_advance(tpark_mock *m, uint64_t ns) {
  lock(m);
  size_t woken = advance_to(m, tpark__add_sat(m->now, ns));
  unlock(m);
  return woken;
}

size_t tpark_mock_advance_to(tpark_mock *m, tpark_instant instant) {
  lock(m);
  size_t woken = advance_to(m, instant);
  unlock(m);
  return woken;
}

tpark_instant tpark_mock_next_deadline(tpark_mock *m) {
  lock(m);
  tpark_instant d = next_deadline(m);
  unlock(m);
  return d;
}

size_t tpark_mock_sleepers(tpark_mock *m) {
  lock(m);
  size_t n = m->sleepers;
  unlock(m);
  return n;
}

/* The real-time instant real_timeout_ms from now, on the condvar's default
 * clock (CLOCK_REALTIME). */
static struct timespec real_deadline(uint64_t real_timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  uint64_t ns = (uint64_t)until.tv_nsec + (real_timeout_ms % 1000) * TPARK_NS_PER_MS;
  until.tv_sec += (time_t)(real_timeout_ms / 1000 + ns / TPARK_NS_PER_SEC);
  until.tv_nsec = (long)(ns % TPARK_NS_PER_SEC);
  return until;
}

/* Waits until at least n sleep or until; true when they do. m is locked. */
static bool wait_sleepers_until(tpark_mock *m, const size_t *n, const struct timespec *until) {
  while (m->sleepers < *n) {
    if (wait_changed_until(m, until) == ETIMEDOUT) break;
  }
  return m->sleepers >= *n;
}

bool tpark_mock_wait_sleepers(tpark_mock *m, size_t n, uint64_t real_timeout_ms) {
  struct timespec until = real_deadline(real_timeout_ms);
  lock(m);
  bool reached = wait_sleepers_until(m, &n, &until);
  unlock(m);
  return reached;
}

tpark_status tpark_mock_set_threads(tpark_mock *m, size_t n) {
  if (m == NULL) return TPARK_EINVAL;
  lock(m);
  m->threads_declared = true;
  m->threads = n;
  m->exited = 0;
  broadcast(m);
  unlock(m);
  return TPARK_OK;
}

tpark_status tpark_mock_thread_exit(tpark_mock *m) {
  if (m == NULL) return TPARK_EINVAL;
  lock(m);
  tpark_status st = TPARK_EINVAL;
  if (m->threads > 0) {
    m->threads--;
    m->exited++;
    st = TPARK_OK;
    broadcast(m);
  }
  unlock(m);
  return st;
}

tpark_mock_result tpark_mock_run_until_idle(tpark_mock *m, tpark_instant limit,
                                            uint64_t real_timeout_ms) {
  if (m == NULL) return TPARK_MOCK_EINVAL;
  lock(m);
  tpark_mock_result r;
  if (!m->threads_declared) {
    r = TPARK_MOCK_EINVAL;
  } else {
    for (;;) {
      /* m->threads is reread on every wake: a thread may exit meanwhile. */
      struct timespec until = real_deadline(real_timeout_ms);
      if (!wait_sleepers_until(m, &m->threads, &until)) {
        r = TPARK_MOCK_TIMEOUT;
        break;
      }
      tpark_instant d = next_deadline(m);
      if (d == TPARK_NEVER) {
        r = m->threads == 0 ? TPARK_MOCK_IDLE : TPARK_MOCK_DEADLOCK;
        break;
      }
      if (d > limit) {
        if (limit > m->now) advance_to(m, limit);
        r = TPARK_MOCK_LIMIT;
        break;
      }
      advance_to(m, d);
    }
  }
  unlock(m);
  return r;
}

const char *tpark_mock_result_name(tpark_mock_result r) {
  switch (r) {
    case TPARK_MOCK_IDLE:
      return "IDLE";
    case TPARK_MOCK_LIMIT:
      return "LIMIT";
    case TPARK_MOCK_DEADLOCK:
      return "DEADLOCK";
    case TPARK_MOCK_TIMEOUT:
      return "TIMEOUT";
    case TPARK_MOCK_EINVAL:
      return "EINVAL";
  }
  return "?";
}

tpark_status tpark_mock_label(tpark_mock *m, const tpark_parker *p, const char *name) {
  if (m == NULL || p == NULL) return TPARK_EINVAL;
  char *copy = NULL;
  if (name != NULL) {
    size_t len = strlen(name);
    copy = malloc(len + 1);
    if (copy == NULL) tpark__fatal("tpark mock: out of memory for a label");
    memcpy(copy, name, len + 1);
  }
  lock(m);
  /* Old names stay allocated: events recorded earlier point to them. */
  m->labels =
      grow(m->labels, &m->cap_labels, m->n_labels, sizeof *m->labels, "out of memory for a label");
  struct label l = {p, copy};
  m->labels[m->n_labels++] = l;
  unlock(m);
  return TPARK_OK;
}

/* snprintf into a buffer that may be too small, counting the full length. */
struct text {
  char *buf;
  size_t cap, len;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  bool room = t->len < t->cap;
  int n = vsnprintf(room ? t->buf + t->len : NULL, room ? t->cap - t->len : 0, fmt, ap);
  va_end(ap);
  if (n > 0) t->len += (size_t)n;
}

static void put_instant(struct text *t, tpark_instant at) {
  if (at == TPARK_NEVER) {
    put(t, "never");
  } else {
    put(t, "%" PRIu64 " ns", at);
  }
}

size_t tpark_mock_describe(tpark_mock *m, char *buf, size_t cap) {
  struct text t = {buf, cap, 0};
  if (cap > 0) buf[0] = '\0';
  lock(m);
  put(&t, "mock: now ");
  put_instant(&t, m->now);
  if (m->threads_declared) {
    put(&t, ", threads %" PRIu64 " declared (%" PRIu64 " exited)",
        (uint64_t)(m->threads + m->exited), (uint64_t)m->exited);
  } else {
    put(&t, ", threads not declared");
  }
  put(&t, ", %" PRIu64 " asleep, next deadline ", (uint64_t)m->sleepers);
  put_instant(&t, next_deadline(m));
  put(&t, "\n");
  for (struct sleep *s = m->first; s; s = s->next) {
    const char *label = label_of(m, s->parker);
    put(&t, "  parker %p ", (const void *)s->parker);
    if (label)
      put(&t, "\"%s\"", label);
    else
      put(&t, "(no label)");
    if (s->phase == ASLEEP) {
      put(&t, ": asleep since ");
      put_instant(&t, s->since);
      put(&t, ", until ");
      put_instant(&t, s->deadline);
    } else {
      put(&t, ": woken by unpark_lock at ");
      put_instant(&t, s->woken_at);
      put(&t, ", waiting for its unpark");
    }
    put(&t, "\n");
  }
  unlock(m);
  return t.len;
}

size_t tpark_mock_events(tpark_mock *m, tpark_mock_event *out, size_t cap) {
  lock(m);
  size_t total = m->n_events;
  size_t n = cap < total ? cap : total;
  if (n > 0) memcpy(out, m->events, n * sizeof *out);
  unlock(m);
  return total;
}

void tpark_mock_clear_events(tpark_mock *m) {
  lock(m);
  m->n_events = 0;
  unlock(m);
}

const char *tpark_mock_op_name(tpark_mock_op op) {
  switch (op) {
    case TPARK_MOCK_PREPARE:
      return "PREPARE";
    case TPARK_MOCK_SLEEP:
      return "SLEEP";
    case TPARK_MOCK_WOKEN:
      return "WOKEN";
    case TPARK_MOCK_TIMED_OUT:
      return "TIMED_OUT";
    case TPARK_MOCK_UNPARK_LOCK:
      return "UNPARK_LOCK";
    case TPARK_MOCK_UNPARK:
      return "UNPARK";
    case TPARK_MOCK_ADVANCE:
      return "ADVANCE";
  }
  return "?";
}
