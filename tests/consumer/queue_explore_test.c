/* README's queue (queue.h) under the schedule explorer: every schedule with
 * at most 2 preemptions of a consumer and a producer passes; a pop with a
 * lost wake-up (it checks for an item, drops the lock, then waits) is found
 * as a deadlock, and its token replays it. Plain exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "tpark/explore.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define ITEMS 2

static queue q;
static int items[ITEMS], taken;
static bool use_buggy_pop;

/* The mistake: between the check and the wait, the push and its notify
 * may come and go, and then nothing wakes the wait. */
static void *buggy_pop(queue *qu) {
  tpark_mutex_lock(&qu->lock);
  bool empty = qu->count == 0;
  tpark_mutex_unlock(&qu->lock);
  tpark_mutex_lock(&qu->lock);
  if (empty) tpark_cond_wait(&qu->not_empty, &qu->lock);
  void *item = qu->items[qu->head];
  qu->head = (qu->head + 1) % QUEUE_SLOTS;
  qu->count--;
  tpark_mutex_unlock(&qu->lock);
  return item;
}

static void consumer(void *arg) {
  (void)arg;
  tpark_explore_label(NULL, "consumer");
  for (int i = 0; i < ITEMS; i++) {
    void *item = NULL;
    if (use_buggy_pop) {
      item = buggy_pop(&q);
    } else {
      queue_pop_until(&q, &item, TPARK_NEVER);
    }
    tpark_explore_check(item == &items[i], "items come out in order");
    taken++;
  }
}

static void producer(void *arg) {
  (void)arg;
  tpark_explore_label(NULL, "producer");
  for (int i = 0; i < ITEMS; i++) queue_push(&q, &items[i]);
}

/* One run: everything starts afresh. */
static void body(void *arg) {
  (void)arg;
  q = (queue)QUEUE_INIT;
  taken = 0;
  tpark_explore_label(&q.lock, "queue lock");
  tpark_explore_label(&q.not_empty, "not_empty");
  tpark_explore_thread c = tpark_explore_spawn(consumer, NULL);
  tpark_explore_thread p = tpark_explore_spawn(producer, NULL);
  tpark_explore_join(p);
  tpark_explore_join(c);
  tpark_explore_check(taken == ITEMS, "every item was taken");
}

int main(void) {
  tpark_explore_result r;
  tpark_explore_options every = {.strategy = TPARK_EXPLORE_BOUNDED, .depth = 2, .result = &r};
  CHECK(tpark_explore_run(&every, body, NULL) == TPARK_EXPLORE_PASSED);
  CHECK(r.exhausted && r.runs > 1);
  printf("correct queue: every schedule with at most 2 preemptions passed (%llu runs)\n",
         (unsigned long long)r.runs);

  use_buggy_pop = true;
  CHECK(tpark_explore_run(&every, body, NULL) == TPARK_EXPLORE_DEADLOCK);
  CHECK(strstr(r.report, "\"consumer\": waits in tpark_cond_wait for cond \"not_empty\"") != NULL);
  char token[sizeof r.token];
  strcpy(token, r.token);
  tpark_explore_options replay = {.replay = token, .result = &r};
  CHECK(tpark_explore_run(&replay, body, NULL) == TPARK_EXPLORE_DEADLOCK);
  CHECK(strcmp(r.token, token) == 0);

  tpark_explore_options random = {.seed = 1, .quiet = true, .result = &r};
  CHECK(tpark_explore_run(&random, body, NULL) == TPARK_EXPLORE_DEADLOCK);
  printf("lost wake-up: found by random search in run %llu\n", (unsigned long long)r.runs);
  return 0;
}
