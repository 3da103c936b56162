/* mock backend: a fake clock and an event log, for tests of code built on
 * tpark (see tpark/mock.h). One mutex serialises every call on a mock; one
 * condition variable, broadcast on every change, wakes sleepers, which then
 * recheck their parker. Real OS calls only for that mutex and condvar: the
 * mock is a test tool, not a backend over an OS primitive. */
#include "tpark/mock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"
#include "platform/os.h"
#include "tpark/backend.h"

/* States of p->state_.u32. */
enum { EMPTY = 0, PARKED = 1, UNPARKED = 2, TIMED_OUT = 3 };

struct tpark_mock {
  tpark_backend backend; /* context points back here */
  pthread_mutex_t mutex;
  pthread_cond_t changed;
  tpark_instant now;
  size_t sleepers;
  tpark_mock_event *events;
  size_t n_events, cap_events;
};

static void fail(const char *what) {
  fprintf(stderr, "tpark mock: %s\n", what);
  fflush(stderr);
  abort();
}

static void lock(tpark_mock *m) {
  if (pthread_mutex_lock(&m->mutex) != 0) fail("pthread_mutex_lock failed");
}

static void unlock(tpark_mock *m) {
  if (pthread_mutex_unlock(&m->mutex) != 0) fail("pthread_mutex_unlock failed");
}

/* Appends an event; m is locked. */
static void record(tpark_mock *m, tpark_mock_op op, const tpark_parker *p,
                   tpark_instant deadline, bool hit) {
  if (m->n_events == m->cap_events) {
    size_t cap = m->cap_events ? 2 * m->cap_events : 64;
    tpark_mock_event *ev = realloc(m->events, cap * sizeof *ev);
    if (ev == NULL) fail("out of memory for the event log");
    m->events = ev;
    m->cap_events = cap;
  }
  tpark_mock_event e = {op, p, m->now, deadline, hit};
  m->events[m->n_events++] = e;
}

static void wait_changed(tpark_mock *m) {
  if (pthread_cond_wait(&m->changed, &m->mutex) != 0) fail("pthread_cond_wait failed");
}

static void broadcast(tpark_mock *m) {
  if (pthread_cond_broadcast(&m->changed) != 0) fail("pthread_cond_broadcast failed");
}

static void mock_prepare_park(const tpark_backend *self, tpark_parker *p) {
  tpark_mock *m = self->context;
  lock(m);
  p->state_.u32 = PARKED;
  record(m, TPARK_MOCK_PREPARE, p, 0, false);
  unlock(m);
}

static bool mock_park_until(const tpark_backend *self, tpark_parker *p,
                            tpark_instant deadline) {
  tpark_mock *m = self->context;
  bool asleep = false, unparked;
  lock(m);
  for (;;) {
    if (p->state_.u32 == UNPARKED) {
      unparked = true;
      break;
    }
    if (deadline != TPARK_NEVER && m->now >= deadline) {
      p->state_.u32 = TIMED_OUT;
      unparked = false;
      break;
    }
    if (!asleep) {
      asleep = true;
      m->sleepers++;
      record(m, TPARK_MOCK_SLEEP, p, deadline, false);
      broadcast(m); /* for tpark_mock_wait_sleepers */
    }
    wait_changed(m);
  }
  if (asleep) m->sleepers--;
  record(m, unparked ? TPARK_MOCK_WOKEN : TPARK_MOCK_TIMED_OUT, p, 0, false);
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
  if (hit) p->state_.u32 = UNPARKED;
  record(m, TPARK_MOCK_UNPARK_LOCK, p, 0, hit);
  unlock(m);
  return p; /* only its address is used: for the UNPARK event */
}

static void mock_unpark(const tpark_backend *self, void *token) {
  tpark_mock *m = self->context;
  lock(m);
  record(m, TPARK_MOCK_UNPARK, token, 0, false);
  broadcast(m);
  unlock(m);
}

static tpark_instant mock_now(const tpark_backend *self) {
  return tpark_mock_now(self->context);
}

static void mock_thread_yield(const tpark_backend *self) {
  (void)self;
  tpark__os_yield();
}

tpark_mock *tpark_mock_new(void) {
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

void tpark_mock_free(tpark_mock *m) {
  if (m == NULL) return;
  lock(m);
  size_t sleepers = m->sleepers;
  unlock(m);
  if (sleepers != 0) fail("tpark_mock_free: threads are still parked on this mock");
  pthread_cond_destroy(&m->changed);
  pthread_mutex_destroy(&m->mutex);
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

void tpark_mock_advance(tpark_mock *m, uint64_t ns) {
  lock(m);
  m->now = tpark__add_sat(m->now, ns);
  record(m, TPARK_MOCK_ADVANCE, NULL, 0, false);
  broadcast(m);
  unlock(m);
}

size_t tpark_mock_sleepers(tpark_mock *m) {
  lock(m);
  size_t n = m->sleepers;
  unlock(m);
  return n;
}

bool tpark_mock_wait_sleepers(tpark_mock *m, size_t n, uint64_t real_timeout_ms) {
  /* Real time, on the condvar's default clock (CLOCK_REALTIME). */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  uint64_t ns = (uint64_t)until.tv_nsec + (real_timeout_ms % 1000) * TPARK_NS_PER_MS;
  until.tv_sec += (time_t)(real_timeout_ms / 1000 + ns / TPARK_NS_PER_SEC);
  until.tv_nsec = (long)(ns % TPARK_NS_PER_SEC);
  lock(m);
  while (m->sleepers < n) {
    int err = pthread_cond_timedwait(&m->changed, &m->mutex, &until);
    if (err == ETIMEDOUT) break;
    if (err != 0) fail("pthread_cond_timedwait failed");
  }
  bool reached = m->sleepers >= n;
  unlock(m);
  return reached;
}

size_t tpark_mock_events(tpark_mock *m, tpark_mock_event *out, size_t cap) {
  lock(m);
  size_t total = m->n_events;
  size_t n = cap < total ? cap : total;
  if (n > 0) memcpy(out, m->events, n * sizeof *out);
  unlock(m);
  return total;
}

const char *tpark_mock_op_name(tpark_mock_op op) {
  switch (op) {
    case TPARK_MOCK_PREPARE: return "PREPARE";
    case TPARK_MOCK_SLEEP: return "SLEEP";
    case TPARK_MOCK_WOKEN: return "WOKEN";
    case TPARK_MOCK_TIMED_OUT: return "TIMED_OUT";
    case TPARK_MOCK_UNPARK_LOCK: return "UNPARK_LOCK";
    case TPARK_MOCK_UNPARK: return "UNPARK";
    case TPARK_MOCK_ADVANCE: return "ADVANCE";
  }
  return "?";
}
