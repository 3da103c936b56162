/* README's first example: main parks until a thread hands it a result. */
#include <pthread.h>
#include <stdio.h>

#include "tpark/tpark.h"

static tpark_parker parker; /* plain memory: no OS object, nothing to destroy */
static int result;          /* written before the unpark, read after the park */

static void *compute(void *arg) {
  (void)arg;
  result = 6 * 7;
  tpark_unpark(tpark_unpark_lock(&parker)); /* wakes main, or its park will not sleep */
  return NULL;
}

int main(void) {
  if (tpark_init(&parker) != TPARK_OK) return 1; /* the best backend of this OS */
  tpark_prepare_park(&parker);                   /* before the other thread can see it */
  pthread_t thread;
  if (pthread_create(&thread, NULL, compute, NULL) != 0) return 1;
  tpark_park(&parker); /* until unparked: never lost, never early */
  printf("result: %d\n", result);
  pthread_join(thread, NULL);
  return result == 42 ? 0 : 1;
}
