/* The public API around the backends: argument checks, vtable validation,
 * dispatch to the right member, status strings, sizes. */
#include <check.h>
#include <stddef.h>
#include <string.h>

#include "tests/run_suite.h"
#include "tpark/backend.h"
#include "tpark/tpark.h"

/* A recording backend: every member notes that it was called, and how. */
static struct {
  int prepare, park, park_until, timed_out, unpark_lock, unpark, now, yield;
  const tpark_backend *self;
  tpark_parker *parker;
  tpark_instant deadline;
  void *token;
  tpark_instant clock;
} rec;

static int token_target;

static void r_prepare(const tpark_backend *b, tpark_parker *p) {
  rec.prepare++;
  rec.self = b;
  rec.parker = p;
}
static void r_park(const tpark_backend *b, tpark_parker *p) {
  rec.park++;
  rec.self = b;
  rec.parker = p;
}
static bool r_park_until(const tpark_backend *b, tpark_parker *p, tpark_instant d) {
  rec.park_until++;
  rec.self = b;
  rec.parker = p;
  rec.deadline = d;
  return d == 42;
}
static bool r_timed_out(const tpark_backend *b, tpark_parker *p) {
  rec.timed_out++;
  rec.self = b;
  rec.parker = p;
  return true;
}
static void *r_unpark_lock(const tpark_backend *b, tpark_parker *p) {
  rec.unpark_lock++;
  rec.self = b;
  rec.parker = p;
  return &token_target;
}
static void r_unpark(const tpark_backend *b, void *token) {
  rec.unpark++;
  rec.self = b;
  rec.token = token;
}
static tpark_instant r_now(const tpark_backend *b) {
  rec.now++;
  rec.self = b;
  return rec.clock;
}
static void r_yield(const tpark_backend *b) {
  rec.yield++;
  rec.self = b;
}

static const tpark_backend recorder = {
    TPARK_BACKEND_ABI_VERSION,
    "recorder",
    r_prepare,
    r_park,
    r_park_until,
    r_timed_out,
    r_unpark_lock,
    r_unpark,
    r_now,
    r_yield,
    NULL,
    NULL,
    NULL,
};

static void reset(void) { memset(&rec, 0, sizeof rec); }

START_TEST(init_rejects_null) {
  tpark_parker p;
  ck_assert_int_eq(tpark_init(NULL), TPARK_EINVAL);
  ck_assert_int_eq(tpark_init_with(NULL, &recorder), TPARK_EINVAL);
  ck_assert_int_eq(tpark_init_with(&p, NULL), TPARK_EINVAL);
}
END_TEST

START_TEST(init_rejects_incomplete_vtables) {
  tpark_parker p;
  tpark_backend b = recorder;
  b.abi_version = 0;
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_EINVAL);
  b.abi_version = TPARK_BACKEND_ABI_VERSION + 1;
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_EINVAL);
  b = recorder;
  b.name = NULL;
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_EINVAL);
  /* Each function member in turn. */
#define CHECK_NULL_MEMBER(member) \
  b = recorder;                   \
  b.member = NULL;                \
  ck_assert_msg(tpark_init_with(&p, &b) == TPARK_EINVAL, "NULL " #member " accepted");
  CHECK_NULL_MEMBER(prepare_park)
  CHECK_NULL_MEMBER(park)
  CHECK_NULL_MEMBER(park_until)
  CHECK_NULL_MEMBER(timed_out)
  CHECK_NULL_MEMBER(unpark_lock)
  CHECK_NULL_MEMBER(unpark)
  CHECK_NULL_MEMBER(now)
  CHECK_NULL_MEMBER(thread_yield)
#undef CHECK_NULL_MEMBER
  b = recorder;
  ck_assert_int_eq(tpark_init_with(&p, &b), TPARK_OK);
}
END_TEST

/* Each public function calls its member with the parker's backend. */
START_TEST(dispatch) {
  tpark_backend copy = recorder; /* a copy of a valid backend is valid */
  tpark_parker p;
  memset(&p, 0xFF, sizeof p);
  ck_assert_int_eq(tpark_init_with(&p, &copy), TPARK_OK);
  ck_assert_uint_eq(p.state_.word, 0); /* init leaves it not prepared */
  reset();
  tpark_prepare_park(&p);
  ck_assert_int_eq(rec.prepare, 1);
  ck_assert_ptr_eq(rec.self, &copy);
  ck_assert_ptr_eq(rec.parker, &p);
  tpark_park(&p);
  ck_assert_int_eq(rec.park, 1);
  ck_assert(tpark_park_until(&p, 42));
  ck_assert(!tpark_park_until(&p, 43));
  ck_assert_int_eq(rec.park_until, 2);
  ck_assert_uint_eq(rec.deadline, 43);
  ck_assert(tpark_timed_out(&p));
  ck_assert_int_eq(rec.timed_out, 1);
  tpark_unpark_handle h = tpark_unpark_lock(&p);
  ck_assert_int_eq(rec.unpark_lock, 1);
  ck_assert_int_eq(rec.unpark, 0);
  tpark_unpark(h);
  ck_assert_int_eq(rec.unpark, 1);
  ck_assert_ptr_eq(rec.token, &token_target);
  ck_assert_ptr_eq(rec.self, &copy);
  ck_assert_str_eq(tpark_backend_name(&p), "recorder");
}
END_TEST

START_TEST(clock_and_deadline) {
  tpark_parker p;
  ck_assert_int_eq(tpark_init_with(&p, &recorder), TPARK_OK);
  reset();
  rec.clock = 1000;
  ck_assert_uint_eq(tpark_now(&p), 1000);
  ck_assert_uint_eq(tpark_deadline(&p, 0), 1000);
  ck_assert_uint_eq(tpark_deadline(&p, 234), 1234);
  ck_assert_uint_eq(tpark_deadline(&p, UINT64_MAX - 1000), TPARK_NEVER);
  ck_assert_uint_eq(tpark_deadline(&p, UINT64_MAX - 999), TPARK_NEVER);
  ck_assert_uint_eq(tpark_deadline(&p, UINT64_MAX - 1001), UINT64_MAX - 1);
  rec.clock = TPARK_NEVER - 1;
  ck_assert_uint_eq(tpark_deadline(&p, 5), TPARK_NEVER);
}
END_TEST

START_TEST(zero_handle_does_nothing) {
  tpark_unpark_handle h;
  memset(&h, 0, sizeof h);
  reset();
  tpark_unpark(h);
  ck_assert_int_eq(rec.unpark, 0);
}
END_TEST

START_TEST(yield_uses_default_backend) {
  const tpark_backend *previous = tpark_set_default_backend(&recorder);
  reset();
  tpark_thread_yield();
  ck_assert_int_eq(rec.yield, 1);
  tpark_parker p;
  ck_assert_int_eq(tpark_init(&p), TPARK_OK);
  ck_assert_str_eq(tpark_backend_name(&p), "recorder");
  ck_assert_ptr_eq(tpark_set_default_backend(previous), &recorder);
}
END_TEST

START_TEST(status_strings) {
  static const tpark_status all[] = {TPARK_OK, TPARK_ENOBACKEND, TPARK_EINVAL, TPARK_ENOTSUP,
                                     (tpark_status)77};
  for (size_t i = 0; i < 5; i++) {
    ck_assert_ptr_nonnull(tpark_status_str(all[i]));
    ck_assert_uint_gt(strlen(tpark_status_str(all[i])), 5);
    for (size_t j = 0; j < i; j++) {
      ck_assert_str_ne(tpark_status_str(all[i]), tpark_status_str(all[j]));
    }
  }
}
END_TEST

START_TEST(sizes) {
  ck_assert_uint_le(sizeof(tpark_parker), 2 * sizeof(void *));
  ck_assert_uint_le(sizeof(tpark_unpark_handle), 2 * sizeof(void *));
  ck_assert_uint_eq(offsetof(tpark_backend, abi_version), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("api");
  TCase *tc = new_tcase("api");
  tcase_add_test(tc, init_rejects_null);
  tcase_add_test(tc, init_rejects_incomplete_vtables);
  tcase_add_test(tc, dispatch);
  tcase_add_test(tc, clock_and_deadline);
  tcase_add_test(tc, zero_handle_does_nothing);
  tcase_add_test(tc, yield_uses_default_backend);
  tcase_add_test(tc, status_strings);
  tcase_add_test(tc, sizes);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
