/* What the suites of checked mode for locks share (tests/lock_checks.h). */
#include "tests/lock_checks.h"

#include <check.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked_internal.h"
#include "tests/child.h"
#include "tests/subject.h"
#include "tpark/tpark.h"

void lock_checks_setup(void) {
  subject_setup();
  ck_assert_ptr_nonnull(subject_backend());
  tpark_set_default_backend(subject_backend());
}

/* ---- announcing, and the line expected --------------------------------------- */

void announce(const char *key, const char *fmt, ...) {
  char value[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(value, sizeof value, fmt, ap);
  va_end(ap);
  fprintf(stderr, "lock_checks_test: %s=%s\n", key, value);
  fflush(stderr);
}

/* This thread's number in checked mode's messages, announced as key. */
void announce_thread(const char *key) { announce(key, "%" PRIu64, tpark__checked_thread()); }

/* want with every {KEY} replaced by what the child announced as KEY. */
void fill(const char *err, const char *want, char *out, size_t cap) {
  size_t n = 0;
  for (const char *p = want; *p != '\0' && n + 1 < cap;) {
    const char *close = *p == '{' ? strchr(p, '}') : NULL;
    if (close == NULL) {
      out[n++] = *p++;
      continue;
    }
    char key[64];
    snprintf(key, sizeof key, "lock_checks_test: %.*s=", (int)(close - p - 1), p + 1);
    const char *at = strstr(err, key);
    ck_assert_msg(at != NULL, "the child did not announce %s; it said: %s", key, err);
    at += strlen(key);
    while (*at != '\n' && *at != '\r' && *at != '\0' && n + 1 < cap) out[n++] = *at++;
    p = close + 1;
  }
  out[n] = '\0';
}

static size_t count(const char *s, const char *what) {
  size_t n = 0;
  for (const char *p = strstr(s, what); p != NULL; p = strstr(p + 1, what)) n++;
  return n;
}

/* fn aborts with exactly one line of checked mode, want (filled). */
void expect_line(void (*fn)(void), const char *want) {
  child_result r = child_run(fn, lock_checks_setup, 60);
  char what[64], line[1024], full[1040];
  ck_assert_msg(r.aborted, "the child did not abort (%s); it said: %s",
                child_describe(&r, what, sizeof what), r.err);
  fill(r.err, want, line, sizeof line);
  /* A whole line (Windows ends it with \r\n). */
  snprintf(full, sizeof full, "\n%s", line);
  const char *at = strstr(r.err, full);
  ck_assert_msg(at != NULL && (at[strlen(full)] == '\n' || at[strlen(full)] == '\r'),
                "expected the line\n%s\nthe child said:\n%s", line, r.err);
  ck_assert_msg(count(r.err, "tpark checked:") == 1, "more than one report: %s", r.err);
}

/* ---- threads ----------------------------------------------------------------------- */

pthread_t start(void *(*fn)(void *), void *arg) {
  pthread_t t;
  if (pthread_create(&t, NULL, fn, arg) != 0) {
    fprintf(stderr, "lock_checks_test: pthread_create failed\n");
    exit(1);
  }
  return t;
}

void join(pthread_t t) { pthread_join(t, NULL); }

static int step; /* atomic: how far the threads of a child got */

void reach(int s) { __atomic_store_n(&step, s, __ATOMIC_RELEASE); }

void await(int s) {
  while (__atomic_load_n(&step, __ATOMIC_ACQUIRE) < s) sched_yield();
}

/* A thread that stays (the child ends while it waits). */
void stay(void) {
  for (;;) sched_yield();
}
