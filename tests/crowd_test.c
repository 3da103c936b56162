/* A crowd of sleepers: more parkers asleep at once than the condvar backend
 * has buckets (64), so that some share a bucket's mutex and condvar. Each
 * unpark must still wake its own parker, and only it. Runs against every
 * built-in backend available on this OS (futex, condvar; waitaddress,
 * keyed_event); it guards condvar's choice of broadcast after unlocking. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/run_suite.h"
#include "tpark/backend.h"
#include "tpark/tpark.h"

#define CROWD 72 /* > 64 buckets: some must share */

static const char *backend_name;

struct crowd {
  tpark_parker p[CROWD];
  int prepared; /* sleepers that have prepared */
  int returned[CROWD];
  int n_returned; /* counted before returned[i] is set */
};

struct member {
  struct crowd *c;
  int i;
};

static int load(const int *flag) { return __atomic_load_n(flag, __ATOMIC_ACQUIRE); }

static void *sleeper(void *arg) {
  struct member *m = arg;
  tpark_prepare_park(&m->c->p[m->i]);
  __atomic_add_fetch(&m->c->prepared, 1, __ATOMIC_ACQ_REL);
  tpark_park(&m->c->p[m->i]);
  /* Counted before the flag: whoever sees the flag sees the count. */
  __atomic_add_fetch(&m->c->n_returned, 1, __ATOMIC_ACQ_REL);
  __atomic_store_n(&m->c->returned[m->i], 1, __ATOMIC_RELEASE);
  return NULL;
}

static uint64_t real_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void run_crowd(const tpark_backend *b) {
  struct crowd *c = calloc(1, sizeof *c);
  struct member m[CROWD];
  pthread_t t[CROWD];
  ck_assert_ptr_nonnull(c);
  for (int i = 0; i < CROWD; i++) {
    ck_assert_int_eq(tpark_init_with(&c->p[i], b), TPARK_OK);
    m[i] = (struct member){c, i};
    ck_assert_int_eq(pthread_create(&t[i], NULL, sleeper, &m[i]), 0);
  }
  while (load(&c->prepared) < CROWD) tpark_thread_yield();
  /* Let most of them fall asleep (a pause, never an assertion). */
  struct timespec pause = {0, 20 * 1000000};
  nanosleep(&pause, NULL);
  /* In a scrambled order (7 is prime to 72), one at a time. */
  for (int k = 0; k < CROWD; k++) {
    int i = (k * 7 + 3) % CROWD;
    tpark_unpark(tpark_unpark_lock(&c->p[i]));
    uint64_t give_up = real_ms() + 20000;
    while (!load(&c->returned[i]) && real_ms() < give_up) tpark_thread_yield();
    ck_assert_msg(load(&c->returned[i]), "%s: unparked sleeper %d did not return (k=%d)",
                  backend_name, i, k);
    ck_assert_int_eq(load(&c->n_returned), k + 1); /* nobody else returned */
  }
  for (int i = 0; i < CROWD; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  free(c);
}

static const char *const builtins[] = {"waitaddress", "keyed_event", "futex", "condvar"};

START_TEST(each_unpark_wakes_its_own) {
  const tpark_backend *b;
  backend_name = builtins[_i];
  if (tpark_select_backend(backend_name, &b) != TPARK_OK) return; /* not on this OS */
  run_crowd(b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("crowd");
  TCase *tc = new_tcase("crowd");
  tcase_add_loop_test(tc, each_unpark_wakes_its_own, 0,
                      (int)(sizeof builtins / sizeof builtins[0]));
  suite_add_tcase(s, tc);
  return run_suite(s);
}
