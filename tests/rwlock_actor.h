/* Actors for the reader-writer lock's scenarios (rwlock_test.c): each a
 * thread that runs the lock calls the test posts to it, one at a time, and
 * records what each returned and when, on the lot's clock (the mock's fake
 * clock in those suites). The test posts a call, then waits for it to
 * return (actor_wait) or for the actor to be queued in the lot (wait_queued):
 * the scenario moves on only once every thread is where it should be.
 * Header-only, as mock_default.h. */
#ifndef TPARK_TESTS_RWLOCK_ACTOR_H
#define TPARK_TESTS_RWLOCK_ACTOR_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/lot_internal.h"
#include "tests/subject.h"
#include "tpark/rwlock.h"

typedef enum call {
  CALL_NONE,
  CALL_READ,       /* read_lock, or read_lock_until when a deadline is given */
  CALL_WRITE,      /* write_lock / write_lock_until */
  CALL_UPGRADABLE, /* upgradable_lock / upgradable_lock_until */
  CALL_UPGRADE,    /* upgrade / upgrade_until */
  CALL_DOWNGRADE,  /* write -> read */
  CALL_UNLOCK,     /* whatever the actor holds */
  CALL_QUIT
} call;

typedef struct actor {
  pthread_t thread;
  tpark_rwlock *l;
  pthread_mutex_t mu;
  pthread_cond_t posted;
  call next;              /* under mu: the posted call, CALL_NONE once taken */
  tpark_instant deadline; /* under mu: of the posted call; TPARK_NEVER: untimed */
  /* Of the last call; read once it has returned (returned counts them). */
  bool result;           /* acquired / upgraded (true for the others) */
  tpark_instant at;      /* lot clock when it returned */
  call holds;            /* CALL_NONE, CALL_READ, CALL_WRITE, CALL_UPGRADABLE */
  unsigned posted_count; /* under mu */
  unsigned returned;     /* atomic */
} actor;

static void *actor_main(void *arg) {
  actor *a = arg;
  for (;;) {
    pthread_mutex_lock(&a->mu);
    while (a->next == CALL_NONE) pthread_cond_wait(&a->posted, &a->mu);
    call c = a->next;
    tpark_instant deadline = a->deadline;
    a->next = CALL_NONE;
    pthread_mutex_unlock(&a->mu);
    if (c == CALL_QUIT) return NULL;
    bool timed = deadline != TPARK_NEVER, ok = true;
    switch (c) {
      case CALL_READ:
        if (timed) {
          ok = tpark_rwlock_read_lock_until(a->l, deadline);
        } else {
          tpark_rwlock_read_lock(a->l);
        }
        if (ok) a->holds = CALL_READ;
        break;
      case CALL_WRITE:
        if (timed) {
          ok = tpark_rwlock_write_lock_until(a->l, deadline);
        } else {
          tpark_rwlock_write_lock(a->l);
        }
        if (ok) a->holds = CALL_WRITE;
        break;
      case CALL_UPGRADABLE:
        if (timed) {
          ok = tpark_rwlock_upgradable_lock_until(a->l, deadline);
        } else {
          tpark_rwlock_upgradable_lock(a->l);
        }
        if (ok) a->holds = CALL_UPGRADABLE;
        break;
      case CALL_UPGRADE:
        ck_assert_int_eq(a->holds, CALL_UPGRADABLE);
        if (timed) {
          ok = tpark_rwlock_upgrade_until(a->l, deadline);
        } else {
          tpark_rwlock_upgrade(a->l);
        }
        if (ok) a->holds = CALL_WRITE;
        break;
      case CALL_DOWNGRADE:
        ck_assert_int_eq(a->holds, CALL_WRITE);
        tpark_rwlock_downgrade(a->l);
        a->holds = CALL_READ;
        break;
      case CALL_UNLOCK:
        if (a->holds == CALL_READ) tpark_rwlock_read_unlock(a->l);
        if (a->holds == CALL_WRITE) tpark_rwlock_write_unlock(a->l);
        if (a->holds == CALL_UPGRADABLE) tpark_rwlock_upgradable_unlock(a->l);
        ck_assert_int_ne(a->holds, CALL_NONE);
        a->holds = CALL_NONE;
        break;
      default:
        break;
    }
    a->at = tpark_lot_now();
    a->result = ok;
    __atomic_add_fetch(&a->returned, 1, __ATOMIC_SEQ_CST);
  }
}

static void actor_start(actor *a, tpark_rwlock *l) {
  a->l = l;
  a->next = CALL_NONE;
  a->holds = CALL_NONE;
  a->posted_count = 0;
  a->returned = 0;
  ck_assert_int_eq(pthread_mutex_init(&a->mu, NULL), 0);
  ck_assert_int_eq(pthread_cond_init(&a->posted, NULL), 0);
  ck_assert_int_eq(pthread_create(&a->thread, NULL, actor_main, a), 0);
}

/* Posts a call; it runs while the test goes on. */
static void actor_post(actor *a, call c, tpark_instant deadline) {
  pthread_mutex_lock(&a->mu);
  ck_assert_int_eq(a->next, CALL_NONE);
  a->next = c;
  a->deadline = deadline;
  a->posted_count++;
  pthread_cond_signal(&a->posted);
  pthread_mutex_unlock(&a->mu);
}

static bool actor_returned(actor *a) {
  pthread_mutex_lock(&a->mu);
  unsigned posted = a->posted_count;
  pthread_mutex_unlock(&a->mu);
  return __atomic_load_n(&a->returned, __ATOMIC_SEQ_CST) == posted;
}

/* Waits (real time, generous) until the last call posted has returned;
 * returns its result. */
static bool actor_wait(actor *a) {
  for (int i = 0; i < 600000 && !actor_returned(a); i++) test_sleep_ms(0);
  for (int i = 0; i < 60000 && !actor_returned(a); i++) test_sleep_ms(1);
  ck_assert_msg(actor_returned(a), "an actor's call did not return");
  return a->result;
}

/* Posts a call and waits for it to return. */
static bool actor_do(actor *a, call c, tpark_instant deadline) {
  actor_post(a, c, deadline);
  return actor_wait(a);
}

static void actor_stop(actor *a) {
  actor_post(a, CALL_QUIT, TPARK_NEVER);
  ck_assert_int_eq(pthread_join(a->thread, NULL), 0);
  pthread_cond_destroy(&a->posted);
  pthread_mutex_destroy(&a->mu);
}

/* The key a writer waits on for the readers to leave (sync/rwlock.c). */
static const void *drain_key_of(tpark_rwlock *l) { return (const char *)l + 1; }

/* Waits (real time, generous) until exactly n threads are queued on key. */
static void wait_queued(const void *key, size_t n) {
  for (int i = 0; i < 600000 && tpark__lot_queued(key) != n; i++) test_sleep_ms(0);
  for (int i = 0; i < 60000 && tpark__lot_queued(key) != n; i++) test_sleep_ms(1);
  ck_assert_uint_eq(tpark__lot_queued(key), n);
}

static uintptr_t word(tpark_rwlock *l) { return __atomic_load_n(&l->state_, __ATOMIC_SEQ_CST); }

#endif /* TPARK_TESTS_RWLOCK_ACTOR_H */
