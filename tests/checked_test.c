/* Checked mode (tpark/checked.h, TPARK_CHECKED): every rule broken once, in
 * a child process, aborts with one line naming the rule, the call, the parker
 * and the backend (the three misuses that hang with keyed events among them:
 * unpark twice, park without prepare, unpark of one's own prepared parker);
 * TPARK_CHECKED's values; and what must not be reported (reused memory, a
 * full side table, a stream of handles).
 *
 * argv[1] is the subject (tests/subject.h); BUILD runs it with
 * TPARK_CHECKED=1, so the backend under test is the process default as that
 * variable makes it: default:<built-in>, or the mock set as the default.
 * Each misuse runs in a child process (tests/child.h). */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/testing.h"
#include "tests/child.h"
#include "tests/fake_os.h"
#include "tests/run_suite.h"
#include "tests/subject.h"
#include "tpark/checked.h"
#include "tpark/tpark.h"

static const tpark_backend *backend; /* the default: checked */

static void setup(void) {
  subject_setup();
  ck_assert_ptr_nonnull(subject_backend());
  /* For the mock (not a built-in): made the default, TPARK_CHECKED wraps it.
   * The default:<built-in> subjects are wrapped already (and stay so). */
  tpark_set_default_backend(subject_backend());
  backend = tpark_default_backend();
  ck_assert_msg(tpark_checked_inner(backend) != NULL,
                "the default is not checked: is TPARK_CHECKED=1 set?");
  ck_assert_str_eq(backend->name, subject_backend_name());
}

/* ---- the misuses, each run in a child --------------------------------------- */

static tpark_parker P, Q;

static void init(tpark_parker *p) {
  if (tpark_init(p) != TPARK_OK) {
    fprintf(stderr, "checked_test: tpark_init failed\n");
    exit(1);
  }
}

/* The parker the child is about to misuse, for the parent to find in the
 * message (its address may differ from the parent's on Windows). */
static void announce(const tpark_parker *p) {
  fprintf(stderr, "checked_test: parker 0x%" PRIxPTR "\n", (uintptr_t)p);
  fflush(stderr);
}

static pthread_t start(void *(*fn)(void *)) {
  pthread_t t;
  if (pthread_create(&t, NULL, fn, NULL) != 0) exit(1);
  return t;
}

/* Table misuse 2: park without prepare_park (futex returned at once,
 * keyed_event hung). */
static void park_without_prepare(void) {
  init(&P);
  announce(&P);
  tpark_park(&P);
}

static void park_until_without_prepare(void) {
  init(&P);
  announce(&P);
  tpark_park_until(&P, TPARK_NEVER);
}

static void second_park_in_a_cycle(void) {
  init(&P);
  tpark_prepare_park(&P);
  if (tpark_park_until(&P, 0)) exit(1); /* no waker: times out */
  announce(&P);
  tpark_park(&P);
}

static void *park_p(void *arg) {
  (void)arg;
  tpark_park(&P);
  return NULL;
}

static void park_by_another_thread(void) {
  init(&P);
  tpark_prepare_park(&P);
  announce(&P);
  pthread_join(start(park_p), NULL);
}

static void *timed_out_p(void *arg) {
  (void)arg;
  tpark_timed_out(&P);
  return NULL;
}

static void timed_out_by_another_thread(void) {
  init(&P);
  tpark_prepare_park(&P);
  if (tpark_park_until(&P, 0)) exit(1);
  announce(&P);
  pthread_join(start(timed_out_p), NULL);
}

static void *unpark_p(void *arg) {
  (void)arg;
  tpark_unpark(tpark_unpark_lock(&P));
  return NULL;
}

static void timed_out_after_woken(void) {
  init(&P);
  tpark_prepare_park(&P);
  pthread_t t = start(unpark_p);
  tpark_park(&P);
  pthread_join(t, NULL);
  announce(&P);
  tpark_timed_out(&P);
}

/* Table misuse 1: one handle unparked twice (keyed_event: the second release
 * waited for a wait that never came). */
static void *unpark_p_twice(void *arg) {
  (void)arg;
  tpark_unpark_handle h = tpark_unpark_lock(&P);
  tpark_unpark(h);
  tpark_unpark(h);
  return NULL;
}

static void unpark_twice(void) {
  init(&P);
  tpark_prepare_park(&P);
  announce(&P);
  pthread_t t = start(unpark_p_twice);
  tpark_park(&P);
  pthread_join(t, NULL);
}

static void unpark_garbage_handle(void) {
  init(&P);
  tpark_unpark_handle h = tpark_unpark_lock(&P); /* not prepared: allowed */
  tpark_unpark_handle bad = h;
  bad.token_ = (void *)((uintptr_t)h.token_ + 0x1000); /* an index never handed out */
  tpark_unpark(h);
  tpark_unpark(bad);
}

/* Table misuse 3: the owner unparks its own prepared parker (keyed_event:
 * its unpark waited for itself). */
static void unpark_own_prepared(void) {
  init(&P);
  tpark_prepare_park(&P);
  announce(&P);
  tpark_unpark(tpark_unpark_lock(&P));
}

static void copy_of_a_parker(void) {
  init(&P);
  memcpy(&Q, &P, sizeof Q); /* never initialised at its own address */
  announce(&Q);
  tpark_prepare_park(&Q);
}

static void *prepare_and_park_p(void *arg) {
  (void)arg;
  tpark_prepare_park(&P);
  tpark_park(&P);
  return NULL;
}

/* Mock only: it knows for sure when the thread sleeps. */
static void reinit_while_parked(void) {
  init(&P);
  start(prepare_and_park_p);
  subject_wait_sleepers(1, 10000);
  announce(&P);
  init(&P);
}

static void prepare_while_parked(void) {
  init(&P);
  start(prepare_and_park_p);
  subject_wait_sleepers(1, 10000);
  announce(&P);
  tpark_prepare_park(&P);
}

static const struct child_case {
  const char *name;
  void (*fn)(void);
} cases[] = {
    {"park_without_prepare", park_without_prepare},
    {"park_until_without_prepare", park_until_without_prepare},
    {"second_park_in_a_cycle", second_park_in_a_cycle},
    {"park_by_another_thread", park_by_another_thread},
    {"timed_out_by_another_thread", timed_out_by_another_thread},
    {"timed_out_after_woken", timed_out_after_woken},
    {"unpark_twice", unpark_twice},
    {"unpark_garbage_handle", unpark_garbage_handle},
    {"unpark_own_prepared", unpark_own_prepared},
    {"copy_of_a_parker", copy_of_a_parker},
    {"reinit_while_parked", reinit_while_parked},
    {"prepare_while_parked", prepare_while_parked},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static const struct child_case *case_named(const char *name) {
  for (size_t i = 0; i < N_CASES; i++) {
    if (strcmp(cases[i].name, name) == 0) return &cases[i];
  }
  return NULL;
}

/* ---- running a child ------------------------------------------------------- */

#define CHILD_TIMEOUT_S 60 /* a hang is what checked mode must prevent */

/* The child of case name aborts, and its stderr has the violation line with
 * rule and call, on the announced parker (or "unknown") and the backend. */
static void expect_violation(const char *name, const char *rule, const char *call,
                             const char *detail) {
  const struct child_case *c = case_named(name);
  ck_assert_ptr_nonnull(c);
  child_result r = child_run(c->fn, setup, CHILD_TIMEOUT_S);
  const char *out = r.err;
  char what[64];
  ck_assert_msg(r.aborted, "%s: the child did not abort (%s); it said: %s", name,
                child_describe(&r, what, sizeof what), out);
  char parker[64] = "unknown";
  const char *a = strstr(out, "checked_test: parker ");
  if (a != NULL) sscanf(a + strlen("checked_test: parker "), "%40s", parker);
  char want[512];
  snprintf(want, sizeof want,
           "tpark checked: rule \"%s\" broken by %s(parker %s) on backend %s, thread ", rule, call,
           parker, subject_backend_name());
  ck_assert_msg(strstr(out, want) != NULL, "%s: no line \"%s...\" in: %s", name, want, out);
  ck_assert_msg(strstr(out, detail) != NULL, "%s: no \"%s\" in: %s", name, detail, out);
}

START_TEST(table_misuse_unpark_twice) {
  expect_violation("unpark_twice", "one unpark per handle", "tpark_unpark", "unparked already");
}
END_TEST

START_TEST(table_misuse_park_without_prepare) {
  expect_violation("park_without_prepare", "prepare before park", "tpark_park",
                   "call tpark_prepare_park first");
  expect_violation("park_until_without_prepare", "prepare before park", "tpark_park_until",
                   "never prepared");
}
END_TEST

START_TEST(table_misuse_unpark_own_prepared) {
  expect_violation("unpark_own_prepared", "no self-unpark", "tpark_unpark_lock",
                   "would wait for itself");
}
END_TEST

START_TEST(one_park_per_cycle) {
  expect_violation("second_park_in_a_cycle", "one park per cycle", "tpark_park",
                   "already returned");
}
END_TEST

START_TEST(owner_only) {
  expect_violation("park_by_another_thread", "owner only", "tpark_park", "prepared it");
  expect_violation("timed_out_by_another_thread", "owner only", "tpark_timed_out", "prepared it");
}
END_TEST

START_TEST(timed_out_after_a_timeout) {
  expect_violation("timed_out_after_woken", "timed_out after a timeout", "tpark_timed_out",
                   "woken");
}
END_TEST

START_TEST(garbage_handle) {
  expect_violation("unpark_garbage_handle", "one unpark per handle", "tpark_unpark",
                   "does not come from tpark_unpark_lock");
}
END_TEST

START_TEST(parker_initialised) {
  expect_violation("copy_of_a_parker", "parker initialised", "tpark_prepare_park",
                   "never initialised");
}
END_TEST

START_TEST(parked_parker_left_alone) {
  expect_violation("reinit_while_parked", "no re-init while parked", "tpark_init_with",
                   "is parked on it");
  expect_violation("prepare_while_parked", "one park per cycle", "tpark_prepare_park",
                   "is parked on it");
}
END_TEST

/* ---- no false reports ------------------------------------------------------ */

/* Parkers freed once their park returned, the memory reused by new ones, and
 * many more live parkers than the side table holds: nothing is reported, and
 * the table stays at its size. */
START_TEST(reuse_and_overflow_are_not_reported) {
  size_t n = 3 * tpark__checked_capacity();
  for (size_t i = 0; i < n; i++) {
    tpark_parker *p = malloc(sizeof *p);
    ck_assert_int_eq(tpark_init(p), TPARK_OK);
    tpark_prepare_park(p);
    ck_assert(!tpark_park_until(p, 0));
    ck_assert(tpark_timed_out(p));
    memset(p, 0xA5, sizeof *p);
    free(p);
  }
  tpark_parker *many = calloc(n, sizeof *many);
  for (size_t i = 0; i < n; i++) ck_assert_int_eq(tpark_init(&many[i]), TPARK_OK);
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < n; i++) {
      tpark_prepare_park(&many[i]);
      ck_assert(!tpark_park_until(&many[i], 0));
      ck_assert(tpark_timed_out(&many[i]));
      tpark_unpark(tpark_unpark_lock(&many[i])); /* idle again: allowed */
    }
  }
  ck_assert_uint_le(tpark__checked_tracked(), tpark__checked_capacity());
  free(many);
}
END_TEST

/* Every handle unparked once: no record is left outstanding. */
START_TEST(handles_are_released) {
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_OK);
  size_t before = tpark__checked_outstanding();
  tpark_unpark_handle h[100];
  for (int round = 0; round < 100; round++) {
    for (int i = 0; i < 100; i++) h[i] = tpark_unpark_lock(&p);
    for (int i = 0; i < 100; i++) tpark_unpark(h[i]);
  }
  ck_assert_uint_eq(tpark__checked_outstanding(), before);
  tpark_unpark_handle zero;
  memset(&zero, 0, sizeof zero);
  tpark_unpark(zero);
}
END_TEST

/* A prepare_park without a park (the owner changed its mind), then a cycle
 * with a waker: fine. */
START_TEST(prepare_without_park_is_allowed) {
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_OK);
  tpark_prepare_park(&p);
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, 0));
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, 0));
}
END_TEST

/* ---- the wrapper itself ---------------------------------------------------- */

START_TEST(wrapper_api) {
  const tpark_backend *inner = tpark_checked_inner(backend);
  ck_assert_ptr_nonnull(inner);
  ck_assert_ptr_null(tpark_checked_inner(inner));
  ck_assert_ptr_null(tpark_checked_inner(NULL));
  /* One wrapper per inner (backend itself may be a copy of it). */
  ck_assert_ptr_eq(tpark_checked_backend(inner), tpark_checked_backend(inner));
  ck_assert_ptr_eq(tpark_checked_inner(tpark_checked_backend(inner)), inner);
  ck_assert_ptr_eq(tpark_checked_backend(backend), backend);
  ck_assert_ptr_null(tpark_checked_backend(NULL));
  tpark_backend incomplete = *inner;
  incomplete.unpark = NULL;
  ck_assert_ptr_null(tpark_checked_backend(&incomplete));
  /* A copy of a checked backend is one. */
  tpark_backend copy = *backend;
  tpark_parker p;
  ck_assert_int_eq(tpark_init_with(&p, &copy), TPARK_OK);
  ck_assert_ptr_eq(tpark_checked_inner(&copy), inner);
  ck_assert_str_eq(tpark_backend_name(&p), subject_backend_name());
  tpark_prepare_park(&p);
  ck_assert(!tpark_park_until(&p, 0));
  ck_assert(tpark_timed_out(&p));
}
END_TEST

/* ---- TPARK_CHECKED's values (fake environment) ------------------------------ */

static void env_setup(void) {
  tpark__selection_reset();
  fake_os_install(0, FAKE_OS_LINUX);
}

static void env_teardown(void) {
  tpark__selection_reset();
  fake_os_remove();
}

START_TEST(env_values) {
  static const char *const off[] = {NULL, "", "0"};
  for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
    tpark__selection_reset();
    if (off[i] != NULL) fake_env_set("TPARK_CHECKED", off[i]);
    const tpark_backend *b = tpark_default_backend();
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(tpark_checked_inner(b));
    ck_assert_str_eq(b->name, "futex");
  }
  tpark__selection_reset();
  fake_env_set("TPARK_CHECKED", "1");
  const tpark_backend *b = tpark_default_backend();
  ck_assert_ptr_nonnull(tpark_checked_inner(b));
  ck_assert_str_eq(tpark_checked_inner(b)->name, "futex");
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_OK);
  ck_assert_ptr_eq(p.backend_, b);
  ck_assert_str_eq(tpark_backend_name(&p), "futex");
}
END_TEST

START_TEST(env_bad_values_are_einval) {
  static const char *const bad[] = {"yes", "2", "true", " 1", "1 ", "01", "on"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tpark__selection_reset();
    fake_env_set("TPARK_CHECKED", bad[i]);
    ck_assert_msg(tpark_default_backend() == NULL, "TPARK_CHECKED=\"%s\" accepted", bad[i]);
    tpark_parker p;
    ck_assert_int_eq(tpark_init(&p), TPARK_EINVAL);
  }
}
END_TEST

/* A set default is wrapped too (and refused with a bad value); what
 * tpark_set_default_backend returns is what was set. */
START_TEST(env_wraps_a_set_default) {
  const tpark_backend *futex;
  ck_assert_int_eq(tpark_select_backend("futex", &futex), TPARK_OK);
  fake_env_set("TPARK_CHECKED", "1");
  tpark_set_default_backend(futex);
  ck_assert_ptr_eq(tpark_checked_inner(tpark_default_backend()), futex);
  ck_assert_ptr_eq(tpark_set_default_backend(NULL), futex);
  tpark__selection_reset();
  fake_env_set("TPARK_CHECKED", "x");
  tpark_set_default_backend(futex);
  ck_assert_ptr_null(tpark_default_backend());
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_EINVAL);
}
END_TEST

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv) {
  if (argc != 2 || !subject_open(argv[1])) return 2;
  char name[64];
  snprintf(name, sizeof name, "checked[%s]", argv[1]);
  Suite *s = suite_create(name);
  TCase *tc = new_tcase("rules");
  tcase_add_checked_fixture(tc, setup, subject_teardown);
  tcase_add_test(tc, table_misuse_unpark_twice);
  tcase_add_test(tc, table_misuse_park_without_prepare);
  tcase_add_test(tc, table_misuse_unpark_own_prepared);
  tcase_add_test(tc, one_park_per_cycle);
  tcase_add_test(tc, owner_only);
  tcase_add_test(tc, timed_out_after_a_timeout);
  tcase_add_test(tc, garbage_handle);
  tcase_add_test(tc, parker_initialised);
  if (subject_fake_time()) tcase_add_test(tc, parked_parker_left_alone);
  tcase_add_test(tc, reuse_and_overflow_are_not_reported);
  tcase_add_test(tc, handles_are_released);
  tcase_add_test(tc, prepare_without_park_is_allowed);
  tcase_add_test(tc, wrapper_api);
  suite_add_tcase(s, tc);
  TCase *env = new_tcase("TPARK_CHECKED");
  tcase_add_checked_fixture(env, env_setup, env_teardown);
  tcase_add_test(env, env_values);
  tcase_add_test(env, env_bad_values_are_einval);
  tcase_add_test(env, env_wraps_a_set_default);
  suite_add_tcase(s, env);
  return run_suite(s);
}
