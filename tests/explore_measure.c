/* Measures the schedule explorer (a program that prints numbers, not a
 * test): for each known bug of explore_bugs.c and each strategy, the runs
 * needed to find it, median and worst over 21 seeds; then the scheduling
 * decisions per second over the correct versions and a 16-thread body; and
 * the BOUNDED token of each bug (what explore_test.c replays on every OS).
 *   bazel run -c opt //tests:explore_measure */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/explore_bugs.h"
#include "tpark/cond.h"
#include "tpark/mutex.h"

#define SEEDS 21

static tpark_explore_result explore(tpark_explore_strategy strategy, uint64_t seed, uint64_t runs,
                                    void (*body)(void *)) {
  tpark_explore_result r;
  tpark_explore_options o = {0};
  o.strategy = strategy;
  o.seed = seed;
  o.runs = runs;
  o.quiet = true;
  o.result = &r;
  tpark_explore_run(&o, body, NULL);
  return r;
}

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tpark_mutex crowd_lock;
static int crowd_count;

static void crowd_member(void *arg) {
  (void)arg;
  for (int i = 0; i < 4; i++) {
    tpark_mutex_lock(&crowd_lock);
    crowd_count++;
    tpark_mutex_unlock(&crowd_lock);
  }
}

static void crowd(void *arg) {
  (void)arg;
  crowd_lock = (tpark_mutex)TPARK_MUTEX_INIT;
  crowd_count = 0;
  tpark_explore_thread t[15];
  for (int i = 0; i < 15; i++) t[i] = tpark_explore_spawn(crowd_member, NULL);
  for (int i = 0; i < 15; i++) tpark_explore_join(t[i]);
}

int main(void) {
  static const tpark_explore_strategy strategies[] = {TPARK_EXPLORE_RANDOM, TPARK_EXPLORE_PCT};
  printf("runs to find each known bug (%d seeds: median / worst; not found within 10000: -)\n",
         SEEDS);
  printf("%-22s %16s %16s %16s\n", "bug", "random", "pct (d=3)", "bounded (P=2)");
  for (unsigned b = 0; b < n_explore_bugs; b++) {
    printf("%-22s", explore_bugs[b].name);
    for (size_t s = 0; s < 2; s++) {
      uint64_t runs[SEEDS];
      for (int seed = 0; seed < SEEDS; seed++) {
        tpark_explore_result r =
            explore(strategies[s], (uint64_t)seed, 10000, explore_bugs[b].buggy);
        runs[seed] = r.outcome == explore_bugs[b].found_as ? r.runs : UINT64_MAX;
      }
      qsort(runs, SEEDS, sizeof runs[0], by_value);
      char cell[40];
      snprintf(cell, sizeof cell, "%llu / %llu", (unsigned long long)runs[SEEDS / 2],
               (unsigned long long)runs[SEEDS - 1]);
      printf(" %16s", runs[SEEDS - 1] == UINT64_MAX ? "-" : cell);
    }
    tpark_explore_result r = explore(TPARK_EXPLORE_BOUNDED, 0, 0, explore_bugs[b].buggy);
    printf(" %16llu\n", (unsigned long long)r.runs);
  }
  printf("\nscheduling decisions per second\n");
  struct {
    const char *name;
    tpark_explore_strategy strategy;
    void (*body)(void *);
    uint64_t runs;
  } loads[] = {
      {"correct queue slot, bounded P=2", TPARK_EXPLORE_BOUNDED, explore_bugs[0].correct, 0},
      {"correct upgraders, random", TPARK_EXPLORE_RANDOM, explore_bugs[3].correct, 3000},
      {"16 threads x 4 locks, random", TPARK_EXPLORE_RANDOM, crowd, 300},
      {"16 threads x 4 locks, pct", TPARK_EXPLORE_PCT, crowd, 300},
  };
  for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
    double start = seconds();
    tpark_explore_result r = explore(loads[i].strategy, 1, loads[i].runs, loads[i].body);
    double took = seconds() - start;
    printf("%-34s %6llu runs %9llu steps %9llu decisions %7.3f s %9.0f decisions/s %9.0f steps/s\n",
           loads[i].name, (unsigned long long)r.runs, (unsigned long long)r.steps,
           (unsigned long long)r.decisions, took, (double)r.decisions / took,
           (double)r.steps / took);
  }
  printf("\nBOUNDED tokens\n");
  for (unsigned b = 0; b < n_explore_bugs; b++) {
    tpark_explore_result r = explore(TPARK_EXPLORE_BOUNDED, 0, 0, explore_bugs[b].buggy);
    printf("%-22s %s\n", explore_bugs[b].name, r.token);
  }
  return 0;
}
