/* TPARK_EXPLORE_RUNS, _SEED and _REPLAY (set by BUILD) override the options;
 * a bad value is TPARK_EXPLORE_EINVAL with a message. argv[1] says which
 * case BUILD set up. Plain exit status. */
#include <stdio.h>
#include <string.h>

#include "tests/explore_bugs.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main(int argc, char **argv) {
  CHECK(argc == 2);
  tpark_explore_result r;
  tpark_explore_options o = {.runs = 1000, .seed = 99, .quiet = true, .result = &r};
  if (strcmp(argv[1], "runs") == 0) { /* TPARK_EXPLORE_RUNS=7 TPARK_EXPLORE_SEED=3 */
    CHECK(tpark_explore_run(&o, explore_bugs[0].correct, NULL) == TPARK_EXPLORE_PASSED);
    CHECK(r.runs == 7);
  } else if (strcmp(argv[1], "bad") == 0) { /* TPARK_EXPLORE_SEED=12abc */
    CHECK(tpark_explore_run(&o, explore_bugs[0].correct, NULL) == TPARK_EXPLORE_EINVAL);
    CHECK(r.runs == 0);
    CHECK(strstr(r.report, "TPARK_EXPLORE_SEED=\"12abc\" is not a number") != NULL);
  } else if (strcmp(argv[1], "replay") == 0) { /* TPARK_EXPLORE_REPLAY: a lost wake-up */
    CHECK(tpark_explore_run(&o, explore_bugs[0].buggy, NULL) == TPARK_EXPLORE_DEADLOCK);
    CHECK(r.runs == 1);
  } else {
    CHECK(!"a known case");
  }
  return 0;
}
