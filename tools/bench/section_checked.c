/* parkbench's "checked" section: what checked mode (tpark/checked.h, what
 * TPARK_CHECKED=1 gives) costs. A row per backend and placement: ping-pong
 * through tpark on the checked wrapper against tpark on the plain backend,
 * interleaved and paired as in the backends section (measure_pingpong). */
#include <stdio.h>
#include <string.h>

#include "tools/bench/measure.h"
#include "tools/bench/output.h"
#include "tools/bench/section.h"
#include "tools/bench/sys.h"
#include "tpark/checked.h"

/* The checked variant: the public API on the backend's checked wrapper. */
static void tc_init(slot *s, const tpark_backend *b) {
  const tpark_backend *checked = tpark_checked_backend(b);
  if (checked == NULL) die("tpark_checked_backend failed");
  if (tpark_init_with(&s->parker, checked) != TPARK_OK) die("tpark_init_with failed");
}
static inline void tc_prepare(slot *s) { tpark_prepare_park(&s->parker); }
static inline void tc_park(slot *s) { tpark_park(&s->parker); }
static inline void tc_wake(slot *s) { tpark_unpark(tpark_unpark_lock(&s->parker)); }
static bool tc_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  tpark_prepare_park(&s->parker);
  tpark_instant deadline = tpark_deadline(&s->parker, timeout_ns);
  bool unparked = tpark_park_until(&s->parker, deadline);
  *late = (int64_t)(tpark_now(&s->parker) - deadline);
  return !unparked;
}
DEFINE_LOOPS(tc)
static const variant checked_variant = VARIANT(tc);

/* The backends available here (--backend: that one only). */
static const tpark_backend **inner;
static size_t n_inner;
static pingpong_result (*rows)[2]; /* per backend: [0] free, [1] pinned; [0] checked, [1] tpark */
static const char *const placement_name[2] = {"free", "pinned"};

static bool checked_prepare(const bench_options *o) {
  inner = xcalloc(n_builtin_names, sizeof *inner);
  for (size_t k = 0; k < n_builtin_names; k++) {
    if (o->backend && strcmp(o->backend, builtin_names[k])) continue;
    const tpark_backend *b;
    if (tpark_select_backend(builtin_names[k], &b) == TPARK_OK) inner[n_inner++] = b;
  }
  if (n_inner == 0) {
    fprintf(stderr, "parkbench: checked: no backend to measure here\n");
    return false;
  }
  return true;
}

static double checked_estimate_s(const bench_options *o) {
  return (double)n_inner * 2 * pingpong_estimate_s(o);
}

static void checked_run(const bench_options *o) {
  rows = xcalloc(n_inner, sizeof *rows);
  for (size_t i = 0; i < n_inner; i++) {
    for (int pl = 0; pl < 2; pl++) {
      progress_phase(pingpong_estimate_s(o), "%s: checked mode, %s", inner[i]->name,
                     pl ? "pinned" : "threads free");
      rows[i][pl] =
          measure_pingpong(&checked_variant, &tpark_variant, inner[i], o, pl ? o->cpu : -1);
    }
  }
}

static void checked_table(const bench_options *o) {
  (void)o;
  printf("== checked mode (TPARK_CHECKED=1): ping-pong through the checked wrapper ==\n");
  printf("%-30s %-12s %-12s %s\n", "round trip, ns (medians)", "checked", "tpark",
         "checked/tpark: median (middle half)");
  bool mixed = false;
  for (size_t i = 0; i < n_inner; i++) {
    for (int pl = 0; pl < 2; pl++) {
      const pingpong_result *r = &rows[i][pl];
      char label[48];
      mixed |= r->mixed != 0;
      snprintf(label, sizeof label, "  %s, %s", inner[i]->name, pl ? "pinned" : "threads free");
      printf("%-30s %-12.0f %-12.0f %.3f (%.3f-%.3f)%s\n", label, r->s[0].median, r->s[1].median,
             r->ratio_s.median, r->ratio_s.q1, r->ratio_s.q3, r->mixed ? "*" : "");
    }
  }
  if (mixed) printf("* over the rounds whose two blocks fell in the same mode (two modes)\n");
}

static void checked_json(const bench_options *o) {
  (void)o;
  json_member("checked");
  printf("[");
  for (size_t i = 0; i < n_inner; i++) {
    for (int pl = 0; pl < 2; pl++) {
      const pingpong_result *r = &rows[i][pl];
      printf("%s\n    {\"backend\": ", i || pl ? "," : "");
      json_str(inner[i]->name);
      printf(", \"placement\": \"%s\", \"checked_ns\": ", placement_name[pl]);
      json_summary(r->s[0], 1);
      printf(", \"tpark_ns\": ");
      json_summary(r->s[1], 1);
      printf(", \"ratio\": ");
      json_summary(r->ratio_s, 4);
      printf(", \"mixed_rounds\": %u,\n     \"samples\": {\"checked\": ", r->mixed);
      json_doubles(r->ns[0], r->n, 1);
      printf(", \"tpark\": ");
      json_doubles(r->ns[1], r->n, 1);
      printf(", \"ratio\": ");
      json_doubles(r->ratio, r->n, 4);
      printf("}}");
    }
  }
  printf("\n  ]");
}

static void checked_csv(const bench_options *o) {
  (void)o;
  static const char *const variant_name[2] = {"checked", "tpark"};
  for (size_t i = 0; i < n_inner; i++) {
    for (int pl = 0; pl < 2; pl++) {
      const pingpong_result *r = &rows[i][pl];
      for (int v = 0; v < 2; v++) {
        for (unsigned k = 0; k < r->n; k++) {
          csv_row("checked", inner[i]->name, "round_trip", placement_name[pl], variant_name[v], k,
                  r->ns[v][k], "ns");
        }
      }
      for (unsigned k = 0; k < r->n; k++) {
        csv_row("checked", inner[i]->name, "round_trip", placement_name[pl], "checked/tpark", k,
                r->ratio[k], "ratio");
      }
    }
  }
}

const bench_section checked_section = {
    .name = "checked",
    .prepare = checked_prepare,
    .estimate_s = checked_estimate_s,
    .run = checked_run,
    .table = checked_table,
    .json = checked_json,
    .csv = checked_csv,
};
