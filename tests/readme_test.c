/* The five examples of docs/locks.md (the lot, wait on address, the mutex,
 * once, the reader-writer lock), copied verbatim (keep them in sync with the page), compiled and
 * run on the real default backend. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "tests/run_suite.h"

/* What a user's header would declare for the examples' functions. */
void event_wait(int *set);
void event_set(int *set);
bool flag_wait(uint32_t *flag);
void flag_set(uint32_t *flag);
void deposit(long amount);
bool deposit_within_1ms(long amount);
int square(unsigned char x);
char *shared_buffer(void);
int route(unsigned char to);
bool add_route(unsigned char to, int via);

/* ---- docs/locks.md: the parking lot ---- */
#include "tpark/lot.h"

static bool not_set(void *ctx) { return !__atomic_load_n((int *)ctx, __ATOMIC_ACQUIRE); }

void event_wait(int *set) {
  while (!__atomic_load_n(set, __ATOMIC_ACQUIRE)) {
    /* Parks only if still not set, checked under the bucket lock. */
    tpark_lot_park(set, not_set, NULL, NULL, set, TPARK_LOT_DEFAULT_PARK_TOKEN, TPARK_NEVER);
  }
}

void event_set(int *set) {
  __atomic_store_n(set, 1, __ATOMIC_RELEASE);
  tpark_lot_unpark_all(set, TPARK_LOT_DEFAULT_UNPARK_TOKEN);
}

/* ---- docs/locks.md: wait on address ---- */
#include "tpark/wait.h"

/* Waits until *flag is set, 10 ms at most; true if it was set. */
bool flag_wait(uint32_t *flag) {
  tpark_instant deadline = tpark_lot_deadline(10 * 1000 * 1000);
  uint32_t unset = 0;
  while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0) {
    if (!tpark_wait_on_address(flag, &unset, sizeof unset, deadline)) break; /* deadline */
  }
  return __atomic_load_n(flag, __ATOMIC_ACQUIRE) != 0;
}

void flag_set(uint32_t *flag) {
  __atomic_store_n(flag, 1, __ATOMIC_RELEASE);
  tpark_wake_by_address_all(flag);
}

/* ---- docs/locks.md: the mutex ---- */
#include "tpark/mutex.h"

static tpark_mutex account_lock = TPARK_MUTEX_INIT;
static long balance;

void deposit(long amount) {
  tpark_mutex_lock(&account_lock);
  balance += amount;
  tpark_mutex_unlock(&account_lock);
}

/* Gives up after 1 ms of waiting for the lock. */
bool deposit_within_1ms(long amount) {
  if (!tpark_mutex_lock_until(&account_lock, tpark_lot_deadline(1000 * 1000))) return false;
  balance += amount;
  tpark_mutex_unlock(&account_lock);
  return true;
}

/* ---- docs/locks.md: once ---- */
#include <stdlib.h>

#include "tpark/once.h"

/* A table built on first use, by exactly one thread. */
static tpark_once squares_once = TPARK_ONCE_INIT;
static int squares[256];

static void build_squares(void *arg) {
  (void)arg;
  for (int i = 0; i < 256; i++) squares[i] = i * i;
}

int square(unsigned char x) {
  tpark_once_call(&squares_once, build_squares, NULL);
  return squares[x]; /* built, and visible to this thread */
}

/* An initialisation that may fail: then the next caller tries again. */
static tpark_once buffer_once = TPARK_ONCE_INIT;
static char *buffer;

static bool make_buffer(void *arg) {
  (void)arg;
  buffer = malloc(1 << 20);
  return buffer != NULL;
}

char *shared_buffer(void) {
  return tpark_once_try_call(&buffer_once, make_buffer, NULL) ? buffer : NULL;
}

/* ---- docs/locks.md: the reader-writer lock ---- */
#include "tpark/rwlock.h"

/* A table read by every request and changed now and then. */
static tpark_rwlock routes_lock = TPARK_RWLOCK_INIT;
static int routes[64];

int route(unsigned char to) {
  tpark_rwlock_read_lock(&routes_lock);
  int via = routes[to % 64];
  tpark_rwlock_read_unlock(&routes_lock);
  return via;
}

/* Sets a route unless one is set: the look under the upgradable lock (the
 * readers go on meanwhile), the write only if needed. */
bool add_route(unsigned char to, int via) {
  tpark_rwlock_upgradable_lock(&routes_lock);
  bool missing = routes[to % 64] == 0;
  if (missing) {
    tpark_rwlock_upgrade(&routes_lock);
    routes[to % 64] = via;
    tpark_rwlock_write_unlock(&routes_lock);
  } else {
    tpark_rwlock_upgradable_unlock(&routes_lock);
  }
  return missing;
}

/* ---- the test ---- */

static int event;
static void *event_waiter(void *c) {
  (void)c;
  event_wait(&event);
  return NULL;
}

START_TEST(event_example) {
  pthread_t t[3];
  for (int i = 0; i < 3; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, event_waiter, NULL), 0);
  event_set(&event);
  for (int i = 0; i < 3; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  event_wait(&event); /* already set: returns at once */
}
END_TEST

static uint32_t flag;
static void *flag_setter(void *c) {
  (void)c;
  flag_set(&flag);
  return NULL;
}

START_TEST(flag_example) {
  flag = 0;
  tpark_instant before = tpark_lot_now();
  ck_assert(!flag_wait(&flag)); /* nobody sets it: 10 ms, never less */
  ck_assert_uint_ge(tpark_lot_now() - before, 10 * 1000 * 1000);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, flag_setter, NULL), 0);
  ck_assert_int_eq(pthread_join(t, NULL), 0);
  ck_assert(flag_wait(&flag));
}
END_TEST

static void *depositor(void *c) {
  (void)c;
  for (int i = 0; i < 10000; i++) deposit(1);
  return NULL;
}

START_TEST(mutex_example) {
  pthread_t t[4];
  for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, depositor, NULL), 0);
  for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  ck_assert_int_eq(balance, 40000);
  ck_assert(deposit_within_1ms(1));
  tpark_mutex_lock(&account_lock);
  ck_assert(!deposit_within_1ms(1)); /* held by us: times out */
  tpark_mutex_unlock(&account_lock);
  ck_assert_int_eq(balance, 40001);
}
END_TEST

static void *squarer(void *c) {
  (void)c;
  return square(12) == 144 && square(255) == 255 * 255 ? c : (void *)1;
}

START_TEST(once_example) {
  pthread_t t[4];
  void *r;
  for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, squarer, NULL), 0);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(pthread_join(t[i], &r), 0);
    ck_assert_ptr_null(r);
  }
  char *b = shared_buffer();
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_eq(shared_buffer(), b); /* made once */
  free(b);
}
END_TEST

static void *router(void *c) {
  for (int i = 0; i < 64; i++) {
    add_route((unsigned char)i, (int)(uintptr_t)c); /* the first thread to try wins */
    if (route((unsigned char)i) == 0) return (void *)1;
  }
  return NULL;
}

START_TEST(rwlock_example) {
  pthread_t t[4];
  void *r;
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(pthread_create(&t[i], NULL, router, (void *)(uintptr_t)(i + 1)), 0);
  }
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(pthread_join(t[i], &r), 0);
    ck_assert_ptr_null(r);
  }
  ck_assert(!add_route(3, 99)); /* set already */
  ck_assert_int_ne(route(3), 99);
  ck_assert_uint_eq(routes_lock.state_, 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("readme");
  TCase *tc = new_tcase("examples");
  tcase_add_test(tc, event_example);
  tcase_add_test(tc, flag_example);
  tcase_add_test(tc, mutex_example);
  tcase_add_test(tc, once_example);
  tcase_add_test(tc, rwlock_example);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
