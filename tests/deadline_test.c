/* Deadline arithmetic (core/internal.h): saturation and the rounding of
 * every OS unit. Rounding is always up: a wait never ends early by it. */
#include <check.h>

#include "core/internal.h"
#include "tests/run_suite.h"

#define MS UINT64_C(1000000)

START_TEST(add_saturates) {
  ck_assert_uint_eq(tpark__add_sat(0, 0), 0);
  ck_assert_uint_eq(tpark__add_sat(5, 7), 12);
  ck_assert_uint_eq(tpark__add_sat(TPARK_NEVER - 1, 1), TPARK_NEVER);
  ck_assert_uint_eq(tpark__add_sat(TPARK_NEVER - 1, 2), TPARK_NEVER);
  ck_assert_uint_eq(tpark__add_sat(1, UINT64_MAX), TPARK_NEVER);
  ck_assert_uint_eq(tpark__add_sat(UINT64_MAX, UINT64_MAX), TPARK_NEVER);
}
END_TEST

START_TEST(div_ceil_is_exact) {
  ck_assert_uint_eq(tpark__div_ceil(0, 100), 0);
  ck_assert_uint_eq(tpark__div_ceil(1, 100), 1);
  ck_assert_uint_eq(tpark__div_ceil(100, 100), 1);
  ck_assert_uint_eq(tpark__div_ceil(101, 100), 2);
  /* No overflow near the top (a naive n + unit - 1 would wrap). */
  ck_assert_uint_eq(tpark__div_ceil(UINT64_MAX, 2), UINT64_C(0x8000000000000000));
  ck_assert_uint_eq(tpark__div_ceil(UINT64_MAX, 1), UINT64_MAX);
}
END_TEST

START_TEST(wait_ms_rounds_up_and_never_infinite) {
  ck_assert_uint_eq(tpark__wait_ms(0), 0);
  ck_assert_uint_eq(tpark__wait_ms(1), 1);
  ck_assert_uint_eq(tpark__wait_ms(MS - 1), 1);
  ck_assert_uint_eq(tpark__wait_ms(MS), 1);
  ck_assert_uint_eq(tpark__wait_ms(MS + 1), 2);
  /* 49.7 days: the largest finite DWORD wait, and everything beyond it. */
  ck_assert_uint_eq(tpark__wait_ms(UINT64_C(0xFFFFFFFD) * MS), 0xFFFFFFFDu);
  ck_assert_uint_eq(tpark__wait_ms(UINT64_C(0xFFFFFFFE) * MS), 0xFFFFFFFEu);
  ck_assert_uint_eq(tpark__wait_ms(UINT64_C(0xFFFFFFFE) * MS + 1), 0xFFFFFFFEu);
  ck_assert_uint_eq(tpark__wait_ms(UINT64_C(0xFFFFFFFF) * MS), 0xFFFFFFFEu);
  ck_assert_uint_eq(tpark__wait_ms(UINT64_MAX), 0xFFFFFFFEu);
}
END_TEST

START_TEST(nt_timeout_is_negative_100ns_rounded_up) {
  ck_assert_int_eq(tpark__nt_relative_timeout(0), 0);
  ck_assert_int_eq(tpark__nt_relative_timeout(1), -1);
  ck_assert_int_eq(tpark__nt_relative_timeout(99), -1);
  ck_assert_int_eq(tpark__nt_relative_timeout(100), -1);
  ck_assert_int_eq(tpark__nt_relative_timeout(101), -2);
  ck_assert_int_eq(tpark__nt_relative_timeout(999999), -10000);
  ck_assert_int_eq(tpark__nt_relative_timeout(MS), -10000);
  ck_assert_int_eq(tpark__nt_relative_timeout(UINT64_MAX), -INT64_C(184467440737095517));
}
END_TEST

/* A 32-bit time_t (32-bit Windows' msvcrt) holds INT32_MAX s (68 years):
 * instants beyond it become INT32_MAX s, a wait that ends early and that the
 * backend's loop repeats. A 64-bit time_t holds every instant. */
#define MAX_TIMESPEC_SEC (sizeof(time_t) < 8 ? (uint64_t)INT32_MAX : UINT64_MAX)

START_TEST(timespec_round_trip) {
  static const uint64_t values[] = {0,
                                    1,
                                    999999999,
                                    1000000000,
                                    1234567890123,
                                    (uint64_t)INT32_MAX * 1000000000u + 999999999u,
                                    ((uint64_t)INT32_MAX + 1) * 1000000000u,
                                    UINT64_C(9000000000000000000)};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    struct timespec ts = tpark__timespec(values[i]);
    ck_assert_int_ge(ts.tv_nsec, 0);
    ck_assert_int_lt(ts.tv_nsec, 1000000000);
    if (values[i] / 1000000000u <= MAX_TIMESPEC_SEC) {
      ck_assert_uint_eq(tpark__from_timespec(&ts), values[i]);
    } else {
      ck_assert_int_eq(ts.tv_sec, INT32_MAX); /* clamped, never negative */
    }
  }
  struct timespec never = tpark__timespec(TPARK_NEVER);
  if (sizeof(time_t) < 8) {
    ck_assert_int_eq(never.tv_sec, INT32_MAX);
  } else {
    ck_assert_uint_eq((uint64_t)never.tv_sec, UINT64_MAX / 1000000000u);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("deadline");
  TCase *tc = new_tcase("arithmetic");
  tcase_add_test(tc, add_saturates);
  tcase_add_test(tc, div_ceil_is_exact);
  tcase_add_test(tc, wait_ms_rounds_up_and_never_infinite);
  tcase_add_test(tc, nt_timeout_is_negative_100ns_rounded_up);
  tcase_add_test(tc, timespec_round_trip);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
