/* Runs a Check suite and turns its result into the exit status. */
#ifndef TPARK_TESTS_RUN_SUITE_H
#define TPARK_TESTS_RUN_SUITE_H

#include <check.h>

#include "tests/child.h"

/* A test case with a timeout generous enough for sanitizer builds on a
 * loaded 2-core machine (Check's default is 4 s). A hang still fails. */
static inline TCase *new_tcase(const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 120);
  return tc;
}

static inline int run_suite(Suite *s) {
  child_serve(); /* in a child process of tests/child.h (Windows): its function instead */
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}

#endif /* TPARK_TESTS_RUN_SUITE_H */
