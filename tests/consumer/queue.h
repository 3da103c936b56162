/* A bounded blocking queue on tpark_mutex and two tpark_cond (README's
 * example; tools/test checks that README shows this file). */
#ifndef QUEUE_H
#define QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "tpark/cond.h"
#include "tpark/mutex.h"

#define QUEUE_SLOTS 64

typedef struct queue {
  tpark_mutex lock;
  tpark_cond not_empty, not_full;
  size_t head, count; /* guarded by lock */
  void *items[QUEUE_SLOTS];
} queue;

/* An empty queue: all zero, like everything in tpark. */
#define QUEUE_INIT                                                  \
  {                                                                 \
    TPARK_MUTEX_INIT, TPARK_COND_INIT, TPARK_COND_INIT, 0, 0, { 0 } \
  }

/* Appends item, waiting while the queue is full. */
void queue_push(queue *q, void *item);

/* Takes the oldest item into *item, waiting while the queue is empty until
 * deadline (tpark_lot_deadline(ns), or TPARK_NEVER). False: still empty at
 * the deadline. */
bool queue_pop_until(queue *q, void **item, tpark_instant deadline);

#endif /* QUEUE_H */
