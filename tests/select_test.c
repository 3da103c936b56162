/* Backend selection (SPEC 9) on the fake Linux (the fake Windows is in
 * windows_fake_test.c): TPARK_BACKEND, the fallback order, explicit defaults,
 * and one choice per process even under a race. The environment is the fake
 * OS's; each test starts from no selection. Runs on any host; condvar only
 * where POSIX threads are. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/testing.h"
#include "tests/fake_os.h"
#include "tests/run_suite.h"
#include "tpark/backend.h"
#include "tpark/mock.h"
#include "tpark/tpark.h"

static void setup(void) {
  tpark__selection_reset();
  fake_os_install(0, FAKE_OS_LINUX);
}

static void teardown(void) {
  tpark__selection_reset();
  fake_os_remove();
}

static const char *default_name(void) {
  const tpark_backend *b = tpark_default_backend();
  return b != NULL ? b->name : "(none)";
}

/* The fake futex answers ENOSYS, as a kernel without futexes would. */
static void futex_missing(void) {
  static const fake_answer enosys = {ENOSYS, 0, NULL, NULL};
  fake_script(FAKE_FUTEX_WAKE, &enosys, 1);
}

START_TEST(linux_default_is_futex) {
  ck_assert_str_eq(default_name(), "futex");
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_OK);
  ck_assert_str_eq(tpark_backend_name(&p), "futex");
}
END_TEST

#if !defined(_WIN32) /* condvar needs POSIX threads */
START_TEST(linux_falls_back_to_condvar) {
  futex_missing();
  ck_assert_str_eq(default_name(), "condvar");
}
END_TEST

START_TEST(env_forces_a_backend) {
  fake_env_set("TPARK_BACKEND", "condvar");
  ck_assert_str_eq(default_name(), "condvar");
}
END_TEST
#endif

START_TEST(empty_env_counts_as_unset) {
  fake_env_set("TPARK_BACKEND", "");
  ck_assert_str_eq(default_name(), "futex");
}
END_TEST

START_TEST(env_naming_unavailable_backend_is_enotsup) {
  futex_missing();
  fake_env_set("TPARK_BACKEND", "futex");
  ck_assert_ptr_null(tpark_default_backend());
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_ENOTSUP);
}
END_TEST

START_TEST(env_unknown_name_is_einval_not_a_fallback) {
  static const char *const bad[] = {"nope", "mock", "FUTEX", " futex", "futex "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tpark__selection_reset();
    fake_env_set("TPARK_BACKEND", bad[i]);
    ck_assert_msg(tpark_default_backend() == NULL, "TPARK_BACKEND=\"%s\" accepted", bad[i]);
    tpark_parker p;
    ck_assert_int_eq(tpark_init(&p), TPARK_EINVAL);
  }
}
END_TEST

/* The choice, failed or not, is made once per process. */
START_TEST(choice_is_made_once) {
  fake_env_set("TPARK_BACKEND", "nope");
  ck_assert_ptr_null(tpark_default_backend());
  fake_env_set("TPARK_BACKEND", NULL);
  ck_assert_ptr_null(tpark_default_backend());
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_EINVAL);
}
END_TEST

START_TEST(select_by_name) {
  const tpark_backend *b = (const tpark_backend *)&b;
  ck_assert_int_eq(tpark_select_backend(NULL, &b), TPARK_EINVAL);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(tpark_select_backend("futex", NULL), TPARK_EINVAL);
  ck_assert_int_eq(tpark_select_backend("mock", &b), TPARK_EINVAL);
  ck_assert_int_eq(tpark_select_backend("", &b), TPARK_EINVAL);
  const tpark_backend *again;
  ck_assert_int_eq(tpark_select_backend("futex", &b), TPARK_OK);
  ck_assert_str_eq(b->name, "futex");
  ck_assert_int_eq(tpark_select_backend("futex", &again), TPARK_OK);
  ck_assert_ptr_eq(b, again); /* one instance per process */
#if !defined(_WIN32)
  ck_assert_int_eq(tpark_select_backend("condvar", &b), TPARK_OK);
  ck_assert_str_eq(b->name, "condvar");
#else
  ck_assert_int_eq(tpark_select_backend("condvar", &b), TPARK_ENOTSUP);
#endif
}
END_TEST

START_TEST(set_default_wins_and_restores) {
  tpark_mock *m = tpark_mock_new();
  const tpark_backend *mock = tpark_mock_backend(m);
  fake_env_set("TPARK_BACKEND", "nope");
  /* Nothing chosen yet, and setting does not choose. */
  ck_assert_ptr_null(tpark_set_default_backend(mock));
  ck_assert_ptr_eq(tpark_default_backend(), mock); /* wins over TPARK_BACKEND */
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_OK);
  ck_assert_str_eq(tpark_backend_name(&p), "mock");
  /* Back to automatic selection, which fails on TPARK_BACKEND=nope. */
  ck_assert_ptr_eq(tpark_set_default_backend(NULL), mock);
  ck_assert_ptr_null(tpark_default_backend());
  ck_assert_str_eq(tpark_backend_name(&p), "mock"); /* parkers keep theirs */
  ck_assert_ptr_null(tpark_set_default_backend(NULL));
  tpark_mock_free(m);
}
END_TEST

START_TEST(set_default_returns_selected_default) {
  const tpark_backend *chosen = tpark_default_backend();
  ck_assert_ptr_nonnull(chosen);
  tpark_mock *m = tpark_mock_new();
  ck_assert_ptr_eq(tpark_set_default_backend(tpark_mock_backend(m)), chosen);
  ck_assert_ptr_eq(tpark_set_default_backend(NULL), tpark_mock_backend(m));
  ck_assert_ptr_eq(tpark_default_backend(), chosen); /* the same as before */
  tpark_mock_free(m);
}
END_TEST

/* 16 threads race on first use and all get the same backend. */
#define RACERS 16
#if !defined(_WIN32)
#define ALTERNATIVE "condvar"
#else
#define ALTERNATIVE "futex" /* the fake Linux's futex, the only one there */
#endif
static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t race_cond = PTHREAD_COND_INITIALIZER;
static struct {
  int ready;
  const tpark_backend *got[RACERS];
} race;

static void *racer(void *arg) {
  size_t i = (size_t)(uintptr_t)arg;
  pthread_mutex_lock(&race_lock);
  race.ready++;
  pthread_cond_broadcast(&race_cond);
  while (race.ready < RACERS) pthread_cond_wait(&race_cond, &race_lock);
  pthread_mutex_unlock(&race_lock);
  race.got[i] = tpark_default_backend();
  return NULL;
}

static void run_race(void) {
  pthread_t t[RACERS];
  race.ready = 0;
  for (size_t i = 0; i < RACERS; i++) {
    ck_assert_int_eq(pthread_create(&t[i], NULL, racer, (void *)(uintptr_t)i), 0);
  }
  for (size_t i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
}

START_TEST(racing_first_use_gets_one_backend) {
  for (int round = 0; round < 20; round++) {
    tpark__selection_reset();
    if (round % 2) fake_env_set("TPARK_BACKEND", ALTERNATIVE);
    run_race();
    for (size_t i = 0; i < RACERS; i++) {
      ck_assert_ptr_eq(race.got[i], race.got[0]);
    }
    ck_assert_ptr_nonnull(race.got[0]);
    ck_assert_str_eq(race.got[0]->name, round % 2 ? ALTERNATIVE : "futex");
    fake_env_set("TPARK_BACKEND", NULL);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("select");
  TCase *tc = new_tcase("select");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, linux_default_is_futex);
#if !defined(_WIN32)
  tcase_add_test(tc, linux_falls_back_to_condvar);
  tcase_add_test(tc, env_forces_a_backend);
#endif
  tcase_add_test(tc, empty_env_counts_as_unset);
  tcase_add_test(tc, env_naming_unavailable_backend_is_enotsup);
  tcase_add_test(tc, set_default_returns_selected_default);
  tcase_add_test(tc, env_unknown_name_is_einval_not_a_fallback);
  tcase_add_test(tc, choice_is_made_once);
  tcase_add_test(tc, select_by_name);
  tcase_add_test(tc, set_default_wins_and_restores);
  tcase_add_test(tc, racing_first_use_gets_one_backend);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
