/* A user's tests of README's queue (queue.h). On the mock's fake clock: a
 * pop on an empty queue times out exactly when the clock reaches its
 * deadline, a pop waiting on an empty queue is woken by one push, and a
 * producer blocked on a full queue is woken by one pop. For
 * real, on the process default backend: producers and consumers with timed
 * pops, every item delivered exactly once, no timeout early. Plain exit
 * status, no test framework. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "queue.h"
#include "tpark/mock.h"

#define MS UINT64_C(1000000)

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

static queue q = QUEUE_INIT;

/* ---- on the fake clock ---- */

static tpark_instant pop_deadline;
static int pop_result = -1; /* atomic */

static void *timed_popper(void *arg) {
  (void)arg;
  void *item;
  __atomic_store_n(&pop_result, queue_pop_until(&q, &item, pop_deadline), __ATOMIC_SEQ_CST);
  return NULL;
}

static void *pusher(void *item) {
  queue_push(&q, item);
  return NULL;
}

static void on_the_fake_clock(void) {
  tpark_mock *mock = tpark_mock_new();
  CHECK(mock != NULL);
  tpark_set_default_backend(tpark_mock_backend(mock));

  /* An empty queue: the pop sleeps until the clock reaches its deadline. */
  pop_deadline = tpark_lot_deadline(5 * MS);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, timed_popper, NULL) == 0);
  CHECK(tpark_mock_wait_sleepers(mock, 1, 60000));
  CHECK(tpark_mock_advance(mock, 5 * MS - 1) == 0); /* 1 ns short: nobody wakes */
  CHECK(tpark_mock_sleepers(mock) == 1);
  CHECK(__atomic_load_n(&pop_result, __ATOMIC_SEQ_CST) == -1);
  CHECK(tpark_mock_advance(mock, 1) == 1); /* the deadline: the pop wakes */
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(pop_result == 0);
  CHECK(tpark_mock_now(mock) == pop_deadline && pop_deadline == 5 * MS);

  /* An empty queue: the pop sleeps until one push, no time passing. */
  pop_deadline = TPARK_NEVER;
  pop_result = -1;
  CHECK(pthread_create(&t, NULL, timed_popper, NULL) == 0);
  CHECK(tpark_mock_wait_sleepers(mock, 1, 60000));
  queue_push(&q, (void *)&q);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(pop_result == 1 && q.count == 0);

  /* A full queue: the producer sleeps until one pop makes room. */
  for (uintptr_t i = 1; i <= QUEUE_SLOTS; i++) queue_push(&q, (void *)i);
  CHECK(pthread_create(&t, NULL, pusher, (void *)(uintptr_t)(QUEUE_SLOTS + 1)) == 0);
  CHECK(tpark_mock_wait_sleepers(mock, 1, 60000));
  void *item;
  CHECK(queue_pop_until(&q, &item, tpark_lot_now()) && item == (void *)1);
  CHECK(pthread_join(t, NULL) == 0); /* woken by that pop, no time passed */
  for (uintptr_t i = 2; i <= QUEUE_SLOTS + 1; i++) {
    CHECK(queue_pop_until(&q, &item, tpark_lot_now()) && item == (void *)i); /* in order */
  }
  CHECK(!queue_pop_until(&q, &item, tpark_lot_now())); /* empty, past deadline: at once */
  CHECK(tpark_mock_now(mock) == 5 * MS);               /* the timeout's 5 ms, nothing more */

  tpark_set_default_backend(NULL);
  tpark_mock_free(mock);
}

/* ---- for real ---- */

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 25000
static unsigned char seen[PRODUCERS * PER_PRODUCER + 1]; /* atomic counts */
static int timeouts;                                     /* atomic */

static void *producer(void *arg) {
  uintptr_t first = (uintptr_t)arg * PER_PRODUCER + 1;
  for (uintptr_t i = 0; i < PER_PRODUCER; i++) queue_push(&q, (void *)(first + i));
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  for (;;) {
    void *item;
    tpark_instant deadline = tpark_lot_deadline(MS / 2);
    if (!queue_pop_until(&q, &item, deadline)) {
      CHECK(tpark_lot_now() >= deadline); /* never early */
      __atomic_add_fetch(&timeouts, 1, __ATOMIC_RELAXED);
      continue;
    }
    if (item == NULL) return NULL; /* the end */
    __atomic_add_fetch(&seen[(uintptr_t)item], 1, __ATOMIC_RELAXED);
  }
}

static void for_real(void) {
  pthread_t p[PRODUCERS], c[CONSUMERS];
  for (int i = 0; i < CONSUMERS; i++) CHECK(pthread_create(&c[i], NULL, consumer, NULL) == 0);
  for (int i = 0; i < PRODUCERS; i++) {
    CHECK(pthread_create(&p[i], NULL, producer, (void *)(uintptr_t)i) == 0);
  }
  for (int i = 0; i < PRODUCERS; i++) CHECK(pthread_join(p[i], NULL) == 0);
  for (int i = 0; i < CONSUMERS; i++) queue_push(&q, NULL);
  for (int i = 0; i < CONSUMERS; i++) CHECK(pthread_join(c[i], NULL) == 0);
  for (size_t v = 1; v <= PRODUCERS * PER_PRODUCER; v++) CHECK(seen[v] == 1);
  CHECK(q.count == 0);
  printf("queue: %d items, each once; %d timed-out pops\n", PRODUCERS * PER_PRODUCER, timeouts);
}

int main(void) {
  on_the_fake_clock();
  for_real();
  return 0;
}
