/* A user's test of tpark's mutex and wait on address, written from README
 * alone: real threads on the process default backend (futex, waitaddress,
 * ... as TPARK_BACKEND says). Plain exit status, no test framework; only what
 * always holds is asserted (exclusion, never early, wake-ups arrive). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tpark/mutex.h"
#include "tpark/wait.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define MS UINT64_C(1000000)
#define THREADS 4
#define DEPOSITS 20000

static tpark_mutex account_lock = TPARK_MUTEX_INIT;
static long balance; /* guarded by account_lock */

static void *depositor(void *arg) {
  (void)arg;
  for (int i = 0; i < DEPOSITS; i++) {
    tpark_mutex_lock(&account_lock);
    balance += 1;
    tpark_mutex_unlock(&account_lock);
  }
  return NULL;
}

static void *timed_locker(void *arg) {
  tpark_instant deadline = tpark_lot_deadline(2 * MS);
  *(int *)arg = tpark_mutex_lock_until(&account_lock, deadline) ? 1 : 0;
  CHECK(*(int *)arg == 1 || tpark_lot_now() >= deadline); /* never early */
  if (*(int *)arg) tpark_mutex_unlock(&account_lock);
  return NULL;
}

static uint32_t flag;

static void *flag_setter(void *arg) {
  (void)arg;
  __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
  tpark_wake_by_address_all(&flag);
  return NULL;
}

int main(void) {
  CHECK(sizeof(tpark_mutex) == 1);

  /* Exclusion: every deposit counted. */
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, depositor, NULL) == 0);
  for (int i = 0; i < THREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);
  CHECK(balance == (long)THREADS * DEPOSITS);

  /* lock_until gives up, not before its deadline, while the lock is held. */
  CHECK(tpark_mutex_trylock(&account_lock));
  CHECK(!tpark_mutex_trylock(&account_lock));
  int got = -1;
  pthread_t locker;
  CHECK(pthread_create(&locker, NULL, timed_locker, &got) == 0);
  CHECK(pthread_join(locker, NULL) == 0);
  CHECK(got == 0);
  tpark_mutex_unlock_fair(&account_lock);
  CHECK(tpark_mutex_trylock(&account_lock));
  tpark_mutex_unlock(&account_lock);

  /* Wait on address: a value that already differs returns at once; an
   * unchanged one times out no earlier than its deadline; a wake arrives. */
  uint32_t other = 7;
  CHECK(tpark_wait_on_address(&flag, &other, sizeof flag, TPARK_NEVER));
  uint32_t zero = 0;
  tpark_instant deadline = tpark_lot_deadline(1 * MS);
  while (tpark_wait_on_address(&flag, &zero, sizeof flag, deadline)) {
    /* spurious wake-ups are allowed */
  }
  CHECK(tpark_lot_now() >= deadline);
  pthread_t setter;
  CHECK(pthread_create(&setter, NULL, flag_setter, NULL) == 0);
  while (__atomic_load_n(&flag, __ATOMIC_ACQUIRE) == 0) {
    tpark_wait_on_address(&flag, &zero, sizeof flag, TPARK_NEVER);
  }
  CHECK(pthread_join(setter, NULL) == 0);

  printf("lock_test: ok\n");
  return 0;
}
