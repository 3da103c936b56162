#include "tests/subject.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backends/builtin.h"
#include "tests/example_backend/example_backend.h"
#include "tests/fake_os.h"
#include "tpark/checked.h"
#include "tpark/mock.h"

enum kind { REAL, DEFAULT, FAKE_OS, MOCK, EXAMPLE };

static struct {
  const char *name;         /* the subject */
  const char *backend_name; /* the built-in behind it */
  enum kind kind;
  fake_os_kind fake_os;
  tpark_mock *mock;
  tpark_backend example; /* for EXAMPLE */
  const tpark_backend *backend;
  bool checked; /* "checked:<subject>": its backend's checked wrapper */
} s;

bool subject_open(const char *name) {
  static const char checked[] = "checked:";
  if (name != NULL && strncmp(name, checked, sizeof checked - 1) == 0) {
    s.checked = true;
    name += sizeof checked - 1;
  }
  static const char prefix[] = "default:";
  if (name != NULL && strncmp(name, prefix, sizeof prefix - 1) == 0) {
    s.name = name;
    s.backend_name = name + sizeof prefix - 1;
    s.kind = DEFAULT;
    return true;
  }
  static const struct {
    const char *name, *backend_name;
    enum kind kind;
    fake_os_kind fake_os;
  } all[] = {
      {"futex", "futex", REAL, FAKE_OS_LINUX},
      {"condvar", "condvar", REAL, FAKE_OS_LINUX},
      {"waitaddress", "waitaddress", REAL, FAKE_OS_WINDOWS},
      {"keyed_event", "keyed_event", REAL, FAKE_OS_WINDOWS},
      {"mock", "mock", MOCK, FAKE_OS_LINUX},
      {"futex_fake", "futex", FAKE_OS, FAKE_OS_LINUX},
      {"waitaddress_fake", "waitaddress", FAKE_OS, FAKE_OS_WINDOWS},
      {"keyed_event_fake", "keyed_event", FAKE_OS, FAKE_OS_WINDOWS},
      {"example", "example", EXAMPLE, FAKE_OS_LINUX}, /* docs/backends.md */
  };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (name != NULL && strcmp(all[i].name, name) == 0) {
      s.name = all[i].name;
      s.backend_name = all[i].backend_name;
      s.kind = all[i].kind;
      s.fake_os = all[i].fake_os;
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
    if (s.checked) s.backend = tpark_checked_backend(s.backend);
    return;
  }
  if (s.kind == FAKE_OS) fake_os_install(UINT64_C(1000000000), s.fake_os);
  tpark_status st = TPARK_OK;
  if (s.kind == EXAMPLE) {
    st = example_backend_create(&s.example);
    s.backend = &s.example;
  } else if (s.kind == DEFAULT) {
    tpark_parker p;
    st = tpark_init(&p);
    s.backend = tpark_default_backend();
  } else {
    st = tpark_select_backend(s.backend_name, &s.backend);
  }
  if (st != TPARK_OK) {
    fprintf(stderr, "subject %s: %s\n", s.name, tpark_status_str(st));
    s.backend = NULL;
  }
  if (s.checked) s.backend = tpark_checked_backend(s.backend);
}

void subject_teardown(void) {
  if (s.kind == MOCK) {
    tpark_mock_free(s.mock);
    s.mock = NULL;
  }
  if (s.kind == EXAMPLE && s.backend != NULL) example_backend_destroy(&s.example);
  tpark__selection_reset();
  if (s.kind == FAKE_OS) fake_os_remove();
  s.backend = NULL;
}

const tpark_backend *subject_backend(void) { return s.backend; }
const char *subject_backend_name(void) { return s.backend_name; }
bool subject_fake_time(void) { return s.kind == FAKE_OS || s.kind == MOCK; }

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
