/* What the two fake-Windows suites (windows_fake_test.c, keyed_event_fake_test.c)
 * share: Windows status codes, the parker under test, the fixture that
 * installs the fake Windows and checks that no handle is left open. */
#ifndef TPARK_TESTS_WINDOWS_FAKE_H
#define TPARK_TESTS_WINDOWS_FAKE_H

#include <check.h>

#include "core/testing.h"
#include "tests/fake_os.h"
#include "tpark/tpark.h"

#define START UINT64_C(1000000000)
#define MS UINT64_C(1000000)
#define STATUS_NO_MEMORY ((int)0xC0000017)
#define STATUS_ACCESS_VIOLATION ((int)0xC0000005)
#define ERROR_TIMEOUT 1460
#define ERROR_INVALID_PARAMETER 87
#define STATUS_ACCESS_DENIED ((int)0xC0000022)
#define STATUS_INVALID_PARAMETER_1 ((int)0xC00000EF)
#define GENERIC_READ 0x80000000u
#define GENERIC_WRITE 0x40000000u

static tpark_parker p;

static inline void setup(void) {
  tpark__selection_reset();
  fake_os_install(START, FAKE_OS_WINDOWS);
}

static inline void teardown(void) {
  tpark__selection_reset();
  ck_assert_int_eq(fake_open_handles(), 0);
  fake_os_remove();
}

static inline void init_backend(const char *name) {
  const tpark_backend *b;
  ck_assert_int_eq(tpark_select_backend(name, &b), TPARK_OK);
  ck_assert_int_eq(tpark_init_with(&p, b), TPARK_OK);
}

#endif /* TPARK_TESTS_WINDOWS_FAKE_H */
