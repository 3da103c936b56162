#include "tests/subject.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backends/builtin.h"
#include "tests/fake_os.h"
#include "tpark/mock.h"

enum kind { REAL, FAKE_OS, MOCK };

static struct {
  const char *name;         /* the subject */
  const char *backend_name; /* the built-in behind it */
  enum kind kind;
  tpark_mock *mock;
  const tpark_backend *backend;
} s;

bool subject_open(const char *name) {
  static const struct { const char *name, *backend_name; enum kind kind; } all[] = {
      {"futex", "futex", REAL},
      {"condvar", "condvar", REAL},
      {"mock", "mock", MOCK},
      {"futex_fake", "futex", FAKE_OS},
  };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (name != NULL && strcmp(all[i].name, name) == 0) {
      s.name = all[i].name;
      s.backend_name = all[i].backend_name;
      s.kind = all[i].kind;
      return true;
    }
  }
  fprintf(stderr, "unknown subject %s\n", name ? name : "(none)");
  return false;
}

void subject_setup(void) {
  tpark__selection_reset();
  if (s.kind == MOCK) {
    s.mock = tpark_mock_new();
    s.backend = tpark_mock_backend(s.mock);
    return;
  }
  if (s.kind == FAKE_OS) fake_os_install(UINT64_C(1000000000));
  tpark_status st = tpark_select_backend(s.backend_name, &s.backend);
  if (st != TPARK_OK) {
    fprintf(stderr, "subject %s: %s\n", s.name, tpark_status_str(st));
    s.backend = NULL;
  }
}

void subject_teardown(void) {
  if (s.kind == MOCK) {
    tpark_mock_free(s.mock);
    s.mock = NULL;
  }
  tpark__selection_reset();
  if (s.kind == FAKE_OS) fake_os_remove();
  s.backend = NULL;
}

const tpark_backend *subject_backend(void) { return s.backend; }
const char *subject_backend_name(void) { return s.backend_name; }
bool subject_fake_time(void) { return s.kind != REAL; }

void subject_advance(uint64_t ns) {
  if (s.kind == MOCK) tpark_mock_advance(s.mock, ns);
  if (s.kind == FAKE_OS) fake_clock_advance(ns);
}

void subject_wait_sleepers(size_t n, unsigned timeout_ms) {
  if (s.kind == MOCK) {
    tpark_mock_wait_sleepers(s.mock, n, timeout_ms);
  } else if (s.kind == FAKE_OS) {
    fake_wait_sleepers(n, timeout_ms);
  } else {
    test_sleep_ms(1);
  }
}

void test_sleep_ms(unsigned ms) {
  struct timespec pause = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
  nanosleep(&pause, NULL);
}
