/* README's bounded blocking queue (queue.h). */
#include "queue.h"

void queue_push(queue *q, void *item) {
  tpark_mutex_lock(&q->lock);
  while (q->count == QUEUE_SLOTS) tpark_cond_wait(&q->not_full, &q->lock);
  q->items[(q->head + q->count++) % QUEUE_SLOTS] = item;
  tpark_cond_notify_one(&q->not_empty); /* one item: one consumer */
  tpark_mutex_unlock(&q->lock);
}

bool queue_pop_until(queue *q, void **item, tpark_instant deadline) {
  tpark_mutex_lock(&q->lock);
  while (q->count == 0) {
    /* Timed out: give up, unless an item came in while we relocked. */
    if (!tpark_cond_wait_until(&q->not_empty, &q->lock, deadline) && q->count == 0) {
      tpark_mutex_unlock(&q->lock);
      return false;
    }
  }
  *item = q->items[q->head];
  q->head = (q->head + 1) % QUEUE_SLOTS;
  q->count--;
  tpark_cond_notify_one(&q->not_full); /* one slot: one producer */
  tpark_mutex_unlock(&q->lock);
  return true;
}
