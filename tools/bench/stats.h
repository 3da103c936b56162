/* parkbench: statistics over samples (medians, quartiles, two modes). */
#ifndef PARKBENCH_STATS_H
#define PARKBENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct summary {
  double median, min, max;
  double q1, q3; /* quartiles: the middle half lies between them */
} summary;

/* Of n samples (v is not changed); NAN everywhere when n == 0. */
summary summarize(const double *v, size_t n);

/* Two clusters of samples, e.g. free threads that sometimes share a CPU
 * (~3 us a round trip) and sometimes do not (~60 us). bimodal only when the
 * split is clear: each side holds at least 10% of the samples (and 3), the
 * medians differ by 3x or more, and the sides are well apart (Ashman's D >= 3
 * in log space). Then the single median means little; print both modes. */
typedef struct modes {
  bool bimodal;
  double low, high;  /* the two sides' medians */
  double high_share; /* the high side's fraction of the samples */
} modes;

modes find_modes(const double *v, size_t n);

/* Timeout lateness samples in ns (negative: early). */
typedef struct lateness {
  unsigned n;
  double median_ns, p99_ns, max_ns;
  unsigned early;     /* returns before the deadline */
  unsigned not_timed; /* raw only: the call returned without reporting a timeout */
} lateness;

lateness summarize_late(const int64_t *late, unsigned n, unsigned not_timed);

#endif /* PARKBENCH_STATS_H */
