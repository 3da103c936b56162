#include "tests/subject.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/testing.h"
#include "tests/fake_os.h"
#include "tpark/checked.h"
#include "tpark/mock.h"

enum kind { REAL, DEFAULT, FAKE_OS, MOCK };

static struct {
  const char *backend_name; /* the built-in behind the subject */
  enum kind kind;
  fake_os_kind fake_os;
  tpark_mock *mock; /* MOCK: the current check's */
  bool checked;     /* "checked:<subject>": its backend's checked wrapper */
} s;

/* The backend a check gets: inner, or its checked wrapper. */
static tpark_status hand_over(const tpark_backend *inner, tpark_backend *b) {
  const tpark_backend *given = s.checked ? tpark_checked_backend(inner) : inner;
  if (given == NULL) return TPARK_ENOBACKEND;
  *b = *given; /* a copy of a backend is a backend */
  return TPARK_OK;
}

/* A fresh backend per check (the suite calls it in the check's process). */
static tpark_status hook_create(tpark_backend *b) {
  tpark__selection_reset();
  if (s.kind == MOCK) {
    s.mock = tpark_mock_new();
    if (s.mock == NULL) return TPARK_ENOBACKEND;
    return hand_over(tpark_mock_backend(s.mock), b);
  }
  if (s.kind == FAKE_OS) fake_os_install(UINT64_C(1000000000), s.fake_os);
  const tpark_backend *found = NULL;
  tpark_status st;
  if (s.kind == DEFAULT) {
    tpark_parker p;
    st = tpark_init(&p);
    found = tpark_default_backend();
  } else {
    st = tpark_select_backend(s.backend_name, &found);
  }
  return st == TPARK_OK ? hand_over(found, b) : st;
}

static void hook_destroy(tpark_backend *b) {
  (void)b;
  if (s.kind == MOCK) {
    tpark_mock_free(s.mock);
    s.mock = NULL;
  }
  tpark__selection_reset();
  if (s.kind == FAKE_OS) fake_os_remove();
}

static void hook_advance(const tpark_backend *b, uint64_t ns) {
  (void)b;
  if (s.kind == MOCK) tpark_mock_advance(s.mock, ns);
  if (s.kind == FAKE_OS) fake_clock_advance(ns);
}

static bool hook_wait_sleepers(const tpark_backend *b, size_t n, unsigned timeout_ms) {
  (void)b;
  if (s.kind == MOCK) return tpark_mock_wait_sleepers(s.mock, n, timeout_ms);
  return fake_wait_sleepers(n, timeout_ms);
}

const tpark_conformance_subject *subject_open(const char *name) {
  static tpark_conformance_subject subject;
  static const char prefix[] = "default:";
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
  };
  bool found = false;
  const char *label = name;
  static const char checked[] = "checked:";
  s.checked = name != NULL && strncmp(name, checked, sizeof checked - 1) == 0;
  if (s.checked) name += sizeof checked - 1;
  if (name != NULL && strncmp(name, prefix, sizeof prefix - 1) == 0) {
    s.backend_name = name + sizeof prefix - 1;
    s.kind = DEFAULT;
    found = true;
  }
  for (size_t i = 0; !found && name != NULL && i < sizeof all / sizeof all[0]; i++) {
    if (strcmp(all[i].name, name) == 0) {
      s.backend_name = all[i].backend_name;
      s.kind = all[i].kind;
      s.fake_os = all[i].fake_os;
      found = true;
    }
  }
  if (!found) {
    fprintf(stderr, "unknown subject %s\n", name ? name : "(none)");
    return NULL;
  }
  memset(&subject, 0, sizeof subject);
  subject.create = hook_create;
  subject.destroy = hook_destroy;
  subject.name = s.backend_name;
  subject.label = label;
  if (s.kind == MOCK || s.kind == FAKE_OS) {
    subject.advance = hook_advance;
    subject.wait_sleepers = hook_wait_sleepers;
  }
  /* A keyed-event release waits for its waiter (tpark/tpark.h). */
  if (strcmp(s.backend_name, "keyed_event") == 0) {
    subject.flags |= TPARK_CONFORMANCE_UNPARK_MAY_BLOCK;
  }
  return &subject;
}

/* ---- one backend per test, for the other suites ---------------------------- */

static tpark_backend per_test; /* the current test's backend */
static bool per_test_ok;

void subject_setup(void) {
  tpark_status st = hook_create(&per_test);
  per_test_ok = st == TPARK_OK;
  if (!per_test_ok) fprintf(stderr, "subject %s: %s\n", s.backend_name, tpark_status_str(st));
}

void subject_teardown(void) {
  hook_destroy(&per_test);
  per_test_ok = false;
}

const tpark_backend *subject_backend(void) { return per_test_ok ? &per_test : NULL; }
const char *subject_backend_name(void) { return s.backend_name; }
bool subject_fake_time(void) { return s.kind == MOCK || s.kind == FAKE_OS; }

void subject_advance(uint64_t ns) { hook_advance(&per_test, ns); }

void subject_wait_sleepers(size_t n, unsigned timeout_ms) {
  if (subject_fake_time()) {
    hook_wait_sleepers(&per_test, n, timeout_ms);
  } else {
    test_sleep_ms(1);
  }
}

void test_sleep_ms(unsigned ms) {
  struct timespec pause = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
  nanosleep(&pause, NULL);
}
