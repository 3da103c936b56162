/* Two threads pass a ball back and forth through tpark parkers, the way a
 * lock or a queue built on tpark would, and print the backend and the mean
 * round trip. Usage: pingpong [ROUND_TRIPS] (default 10000); TPARK_BACKEND
 * picks the backend. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "tpark/tpark.h"

struct player {
  tpark_parker parker;
  bool waiting; /* parked, waiting for the ball (under table.lock) */
};

static struct {
  pthread_mutex_t lock;
  int ball; /* index of the player who has it */
  struct player players[2];
  long round_trips;
} table = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Sleeps until the ball is at player me. */
static void wait_for_ball(int me) {
  struct player *p = &table.players[me];
  pthread_mutex_lock(&table.lock);
  while (table.ball != me) {
    tpark_prepare_park(&p->parker);
    p->waiting = true; /* now reachable to the other player */
    pthread_mutex_unlock(&table.lock);
    tpark_park(&p->parker);
    pthread_mutex_lock(&table.lock);
  }
  pthread_mutex_unlock(&table.lock);
}

/* Gives the ball to player to, waking it if it waits. */
static void pass_ball(int to) {
  struct player *p = &table.players[to];
  tpark_unpark_handle h = {0}; /* a zero handle does nothing */
  pthread_mutex_lock(&table.lock);
  table.ball = to;
  if (p->waiting) {
    p->waiting = false;
    h = tpark_unpark_lock(&p->parker);
  }
  pthread_mutex_unlock(&table.lock);
  tpark_unpark(h); /* after the lock: it may block briefly */
}

static void *pong(void *arg) {
  (void)arg;
  for (long i = 0; i < table.round_trips; i++) {
    wait_for_ball(1);
    pass_ball(0);
  }
  return NULL;
}

int main(int argc, char **argv) {
  table.round_trips = argc > 1 ? atol(argv[1]) : 10000;
  for (int i = 0; i < 2; i++) {
    tpark_status s = tpark_init(&table.players[i].parker);
    if (s != TPARK_OK) {
      fprintf(stderr, "pingpong: tpark_init: %s\n", tpark_status_str(s));
      return 1;
    }
  }
  pthread_t t;
  if (pthread_create(&t, NULL, pong, NULL) != 0) {
    fprintf(stderr, "pingpong: pthread_create failed\n");
    return 1;
  }
  tpark_parker *me = &table.players[0].parker;
  tpark_instant start = tpark_now(me);
  for (long i = 0; i < table.round_trips; i++) {
    pass_ball(1);
    wait_for_ball(0);
  }
  tpark_instant end = tpark_now(me);
  pthread_join(t, NULL);
  printf("pingpong: backend %s, %ld round trips, %.2f us each\n", tpark_backend_name(me),
         table.round_trips,
         table.round_trips ? (double)(end - start) / 1e3 / (double)table.round_trips : 0.0);
  return 0;
}
