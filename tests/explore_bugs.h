/* Small known bugs built on tpark, each with its correct version: the
 * schedule explorer's test suite (explore_test.c) and its measurement
 * (explore_measure.c) run them. Each body sets up its objects afresh, as a
 * body must. */
#ifndef TPARK_TESTS_EXPLORE_BUGS_H
#define TPARK_TESTS_EXPLORE_BUGS_H

#include "tpark/explore.h"

typedef struct explore_bug {
  const char *name;
  void (*buggy)(void *arg);
  void (*correct)(void *arg);
  tpark_explore_outcome found_as; /* how a run of the buggy body fails */
} explore_bug;

extern const explore_bug explore_bugs[];
extern const unsigned n_explore_bugs;

#endif /* TPARK_TESTS_EXPLORE_BUGS_H */
