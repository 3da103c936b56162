/* The example backend (see example_backend.h and docs/backends.md).
 *
 * Like the built-in condvar backend, but with C11 threads and from outside
 * tpark: a parker sleeps on one of BUCKETS mutex/condvar pairs chosen by its
 * address; unpark broadcasts to the bucket and neighbours go back to sleep.
 * p->state_.word is EMPTY (not in a cycle, or unparked) or PARKED. The owner
 * checks it and waits under the bucket mutex; a waker sets EMPTY without the
 * mutex, then takes it to broadcast: so the broadcast comes either before the
 * owner's check (which then sees EMPTY) or while the owner waits.
 *
 * The clock is CLOCK_MONOTONIC (POSIX). C11 has no monotonic timed wait:
 * cnd_timedwait waits until a TIME_UTC instant, so a wall-clock step during
 * a wait makes it return early (absorbed: the loop re-checks now()) or late
 * (a limit of this example; the built-in condvar backend has none).
 *
 * cnd_wait and cnd_timedwait are cancellation points on POSIX systems (they
 * are pthread_cond_wait), and a park must not be one (tpark/backend.h): a
 * thread cancelled there would unwind holding the bucket mutex, its parker
 * perhaps still queued by the caller. So a park waits with cancellation
 * disabled, the one POSIX call here. */
#include "tests/example_backend/example_backend.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(__has_include)
#if __has_include(<threads.h>) && !defined(__STDC_NO_THREADS__)
#define EXAMPLE_C11_THREADS 1
#endif
#endif

#if defined(EXAMPLE_C11_THREADS)

#include <pthread.h>
#include <threads.h>
#include <time.h>

enum { EMPTY = 0, PARKED = 1 };

#define BUCKETS 64
#define NS_PER_SEC 1000000000u

struct bucket {
  mtx_t mutex;
  cnd_t cond;
};

/* What the backend's context points to. */
struct example {
  struct bucket buckets[BUCKETS];
};

/* Once set up, park/unpark cannot fail (SPEC 8): an error is fatal. */
static void fatal(const char *call, int rc) {
  fprintf(stderr, "example backend: %s failed (%d)\n", call, rc);
  abort();
}

static void check(int rc, const char *call) {
  if (rc != thrd_success) fatal(call, rc);
}

static struct bucket *bucket_of(const tpark_backend *self, const tpark_parker *p) {
  struct example *e = self->context; /* not self: a copy is a valid backend */
  uint64_t h = ((uint64_t)(uintptr_t)p >> 3) * UINT64_C(0x9E3779B97F4A7C15);
  return &e->buckets[h >> 58]; /* top 6 bits: 0..63 */
}

static tpark_instant example_now(const tpark_backend *self) {
  struct timespec ts;
  (void)self;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) fatal("clock_gettime", -1);
  return (tpark_instant)ts.tv_sec * NS_PER_SEC + (tpark_instant)ts.tv_nsec;
}

static void example_prepare_park(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  __atomic_store_n(&p->state_.word, PARKED, __ATOMIC_RELAXED);
}

/* Waits on b until the TIME_UTC instant that is ns from now. */
static void timed_wait(struct bucket *b, uint64_t ns) {
  struct timespec until;
  if (timespec_get(&until, TIME_UTC) != TIME_UTC) fatal("timespec_get", 0);
  ns += (uint64_t)until.tv_nsec;
  until.tv_sec += (time_t)(ns / NS_PER_SEC);
  until.tv_nsec = (long)(ns % NS_PER_SEC);
  int rc = cnd_timedwait(&b->cond, &b->mutex, &until);
  if (rc != thrd_timedout) check(rc, "cnd_timedwait");
}

static bool example_park_until(const tpark_backend *self, tpark_parker *p, tpark_instant deadline) {
  struct bucket *b = bucket_of(self, p);
  bool unparked;
  int cancel_state, ignored;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  check(mtx_lock(&b->mutex), "mtx_lock");
  for (;;) { /* every wake-up, spurious or for a neighbour, re-checks */
    if (__atomic_load_n(&p->state_.word, __ATOMIC_ACQUIRE) == EMPTY) {
      unparked = true;
      break;
    }
    if (deadline == TPARK_NEVER) {
      check(cnd_wait(&b->cond, &b->mutex), "cnd_wait");
      continue;
    }
    tpark_instant now = example_now(self);
    if (now >= deadline) {
      unparked = false; /* state stays PARKED: see example_timed_out */
      break;
    }
    /* At most ~1 year per wait, so the UTC sum cannot overflow. */
    uint64_t left = deadline - now, year = UINT64_C(31536000) * NS_PER_SEC;
    timed_wait(b, left < year ? left : year);
  }
  check(mtx_unlock(&b->mutex), "mtx_unlock");
  pthread_setcancelstate(cancel_state, &ignored);
  return unparked;
}

static void example_park(const tpark_backend *self, tpark_parker *p) {
  example_park_until(self, p, TPARK_NEVER);
}

/* PARKED until an unpark_lock, also after a timeout. */
static bool example_timed_out(const tpark_backend *self, tpark_parker *p) {
  (void)self;
  return __atomic_load_n(&p->state_.word, __ATOMIC_ACQUIRE) != EMPTY;
}

/* The token is the bucket (never p's memory), NULL when nothing to wake. */
static void *example_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  uintptr_t old = __atomic_exchange_n(&p->state_.word, EMPTY, __ATOMIC_RELEASE);
  return old == PARKED ? bucket_of(self, p) : NULL;
}

static void example_unpark(const tpark_backend *self, void *token) {
  struct bucket *b = token;
  (void)self;
  if (b == NULL) return;
  check(mtx_lock(&b->mutex), "mtx_lock");
  check(cnd_broadcast(&b->cond), "cnd_broadcast");
  check(mtx_unlock(&b->mutex), "mtx_unlock");
}

static void example_thread_yield(const tpark_backend *self) {
  (void)self;
  thrd_yield();
}

static void destroy_buckets(struct example *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    cnd_destroy(&e->buckets[i].cond);
    mtx_destroy(&e->buckets[i].mutex);
  }
  free(e);
}

tpark_status example_backend_create(tpark_backend *b) {
  if (b == NULL) return TPARK_EINVAL;
  struct example *e = malloc(sizeof *e);
  if (e == NULL) return TPARK_ENOBACKEND;
  for (size_t i = 0; i < BUCKETS; i++) {
    if (mtx_init(&e->buckets[i].mutex, mtx_plain) != thrd_success) {
      destroy_buckets(e, i);
      return TPARK_ENOBACKEND;
    }
    if (cnd_init(&e->buckets[i].cond) != thrd_success) {
      mtx_destroy(&e->buckets[i].mutex);
      destroy_buckets(e, i);
      return TPARK_ENOBACKEND;
    }
  }
  *b = (tpark_backend){
      .abi_version = TPARK_BACKEND_ABI_VERSION,
      .name = "example",
      .prepare_park = example_prepare_park,
      .park = example_park,
      .park_until = example_park_until,
      .timed_out = example_timed_out,
      .unpark_lock = example_unpark_lock,
      .unpark = example_unpark,
      .now = example_now,
      .thread_yield = example_thread_yield,
      .context = e,
  };
  return TPARK_OK;
}

void example_backend_destroy(tpark_backend *b) { destroy_buckets(b->context, BUCKETS); }

#else /* !EXAMPLE_C11_THREADS */

tpark_status example_backend_create(tpark_backend *b) {
  (void)b;
  return TPARK_ENOTSUP;
}

void example_backend_destroy(tpark_backend *b) { (void)b; }

#endif /* EXAMPLE_C11_THREADS */
