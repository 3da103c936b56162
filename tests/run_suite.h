/* Runs a Check suite and turns its result into the exit status. */
#ifndef TPARK_TESTS_RUN_SUITE_H
#define TPARK_TESTS_RUN_SUITE_H

#include <check.h>

static inline int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}

#endif /* TPARK_TESTS_RUN_SUITE_H */
