/* parkbench: statistics over samples. */
#include "tools/bench/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/sys.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double *sorted_copy(const double *v, size_t n) {
  double *s = xcalloc(n, sizeof *s);
  if (n) memcpy(s, v, n * sizeof *s);
  qsort(s, n, sizeof *s, cmp_double);
  return s;
}

static double median_of_sorted(const double *s, size_t n) {
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

summary summarize(const double *v, size_t n) {
  summary r = {NAN, NAN, NAN, NAN, NAN};
  if (n == 0) return r;
  double *s = sorted_copy(v, n);
  r.median = median_of_sorted(s, n);
  r.min = s[0];
  r.max = s[n - 1];
  r.q1 = s[n / 4];
  r.q3 = s[(3 * n) / 4 < n ? (3 * n) / 4 : n - 1];
  free(s);
  return r;
}

/* The split of the sorted log-samples into a low and a high side with the
 * least within-side variance (Otsu's method, in one pass with prefix sums). */
modes find_modes(const double *v, size_t n) {
  modes m = {false, NAN, NAN, 0};
  size_t min_side = n / 10 > 3 ? n / 10 : 3;
  if (n < 2 * min_side) return m;
  double *s = sorted_copy(v, n);
  if (s[0] <= 0) {
    free(s);
    return m;
  }
  double *lg = xcalloc(n, sizeof *lg), *sum = xcalloc(n + 1, sizeof *sum),
         *sum2 = xcalloc(n + 1, sizeof *sum2);
  for (size_t i = 0; i < n; i++) {
    lg[i] = log(s[i]);
    sum[i + 1] = sum[i] + lg[i];
    sum2[i + 1] = sum2[i] + lg[i] * lg[i];
  }
  size_t best = 0;
  double best_sse = INFINITY;
  for (size_t k = min_side; k + min_side <= n; k++) { /* low side: [0, k) */
    double sl = sum[k], sh = sum[n] - sum[k];
    double sse = (sum2[k] - sl * sl / (double)k) + (sum2[n] - sum2[k] - sh * sh / (double)(n - k));
    if (sse < best_sse) {
      best_sse = sse;
      best = k;
    }
  }
  size_t k = best, nh = n - k;
  double ml = sum[k] / (double)k, mh = (sum[n] - sum[k]) / (double)nh;
  double vl = sum2[k] / (double)k - ml * ml, vh = (sum2[n] - sum2[k]) / (double)nh - mh * mh;
  if (vl < 0) vl = 0;
  if (vh < 0) vh = 0;
  double d = vl + vh > 0 ? sqrt(2.0) * (mh - ml) / sqrt(vl + vh) : INFINITY;
  m.low = median_of_sorted(s, k);
  m.high = median_of_sorted(s + k, nh);
  m.high_share = (double)nh / (double)n;
  m.bimodal = m.high >= 3 * m.low && d >= 3;
  free(lg);
  free(sum);
  free(sum2);
  free(s);
  return m;
}

lateness summarize_late(const int64_t *late, unsigned n, unsigned not_timed) {
  lateness l = {n, NAN, NAN, NAN, 0, not_timed};
  if (n == 0) return l;
  double *v = xcalloc(n, sizeof(double));
  for (unsigned i = 0; i < n; i++) {
    v[i] = (double)late[i];
    if (late[i] < 0) l.early++;
  }
  summary s = summarize(v, n);
  l.median_ns = s.median;
  l.max_ns = s.max;
  double *sorted = sorted_copy(v, n);
  unsigned rank = (unsigned)ceil(0.99 * n); /* nearest rank */
  l.p99_ns = sorted[rank > 0 ? rank - 1 : 0];
  free(sorted);
  free(v);
  return l;
}
