/* The suite must catch a broken backend: the spin backend with a park_until
 * that gives up 1 ms before its deadline. Passes only when the never_early
 * check fails and its report names the rule. */
#include <stdio.h>
#include <string.h>

#include "spin_backend.h"
#include "tpark/conformance.h"

#define MS UINT64_C(1000000)

static bool (*spin_park_until)(const tpark_backend *, tpark_parker *, tpark_instant);

static bool early_park_until(const tpark_backend *self, tpark_parker *p, tpark_instant deadline) {
  if (deadline != TPARK_NEVER) deadline = deadline > MS ? deadline - MS : 0;
  return spin_park_until(self, p, deadline);
}

static tpark_status early_create(tpark_backend *b) {
  tpark_status st = spin_backend_create(b);
  spin_park_until = b->park_until;
  b->park_until = early_park_until;
  return st;
}

static const char expected[] = "FAIL never_early: never early: park_until returned false ";
static int seen;

static void report(void *arg, const char *line) {
  (void)arg;
  printf("  | %s\n", line);
  if (strncmp(line, expected, sizeof expected - 1) == 0) seen++;
}

int main(void) {
  tpark_conformance_subject s = {0};
  s.create = early_create;
  s.label = "spin, 1 ms early";
  s.only = "never_early,past_deadline_times_out_at_once";
  s.report = report;
  int failed = tpark_conformance_run(&s);
  if (failed != 1 || seen != 1) {
    printf(
        "spin_early_test: expected exactly never_early to fail with \"%s...\"; "
        "%d check(s) failed, %d such line(s)\n",
        expected, failed, seen);
    return 1;
  }
  printf("spin_early_test: the suite caught the early timeout\n");
  return 0;
}
