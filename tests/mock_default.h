/* The fixture of the suites of the parking lot and the locks on it
 * (lot_test.c, mutex_test.c, ...): a fresh mock made the process default
 * backend, so that the lot, and every lock built on it, runs on the mock's
 * fake clock. Header-only, as mock_fixture.h: each suite gets its own copy. */
#ifndef TPARK_TESTS_MOCK_DEFAULT_H
#define TPARK_TESTS_MOCK_DEFAULT_H

#include <check.h>
#include <stdint.h>

#include "tpark/mock.h"
#include "tpark/tpark.h"

#define MS UINT64_C(1000000)

static tpark_mock *mock;

static inline void setup(void) {
  mock = tpark_mock_new();
  ck_assert_ptr_nonnull(mock);
  tpark_set_default_backend(tpark_mock_backend(mock));
}

static inline void teardown(void) {
  tpark_set_default_backend(NULL);
  tpark_mock_free(mock);
  mock = NULL;
}

#endif /* TPARK_TESTS_MOCK_DEFAULT_H */
