/* The fixture the mock's suites share (tests/mock_test.c, tests/mock_run_test.c):
 * a fresh mock per test with one parker on it, and its event log as a string.
 * Header-only, as run_suite.h: each suite is one file, and each gets its own
 * copy of this state. */
#ifndef TPARK_TESTS_MOCK_FIXTURE_H
#define TPARK_TESTS_MOCK_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "tpark/checked.h"
#include "tpark/mock.h"
#include "tpark/tpark.h"

static tpark_mock *m;
static tpark_parker p;
static bool checked; /* argv[1] "checked": every mock in its checked wrapper */

static inline const tpark_backend *backend_of(tpark_mock *mock) {
  const tpark_backend *b = tpark_mock_backend(mock);
  return checked ? tpark_checked_backend(b) : b;
}

static inline void setup(void) {
  m = tpark_mock_new();
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(tpark_init_with(&p, backend_of(m)), TPARK_OK);
}

static inline void teardown(void) { tpark_mock_free(m); }

/* The events from index from on, as a string of op names. */
static inline const char *ops(size_t from) {
  static char buf[512];
  tpark_mock_event ev[32];
  size_t n = tpark_mock_events(m, ev, 32);
  buf[0] = '\0';
  for (size_t i = from; i < n && i < 32; i++) {
    if (i > from) strcat(buf, " ");
    strcat(buf, tpark_mock_op_name(ev[i].op));
  }
  return buf;
}

#endif /* TPARK_TESTS_MOCK_FIXTURE_H */
