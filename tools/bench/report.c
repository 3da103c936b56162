/* parkbench: the backends section's report: a table per backend, then one
 * summary across backends (which backend, and is it fast enough), or the
 * same as JSON or CSV with every raw sample (output.h's helpers). */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include "tools/bench/report.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tools/bench/measure.h"
#include "tools/bench/output.h"
#include "tools/bench/sys.h"

/* ---- the backends section: table --------------------------------------------------- */

static const char *const placement_name[2] = {"free", "pinned"};
static const char *const variant_name[2] = {"tpark", "raw"};

static const char *fmt_timeout(uint64_t ns) {
  switch (ns) {
    case 100000:
      return "0.1 ms";
    case 1000000:
      return "1 ms";
    default:
      return "10 ms";
  }
}

/* "median (min-max)"; bimodal samples as "2 modes: low | high (share of high)". */
static const char *fmt_times(char *buf, size_t size, summary s, modes m) {
  if (m.bimodal) {
    snprintf(buf, size, "2 modes: %.0f | %.0f (%.0f%%)", m.low, m.high, 100 * m.high_share);
  } else {
    snprintf(buf, size, "%.0f (%.0f-%.0f)", s.median, s.min, s.max);
  }
  return buf;
}

/* A time in ns in a unit that suits it. */
static const char *fmt_ns(char *buf, size_t size, double ns) {
  if (!isfinite(ns)) {
    snprintf(buf, size, "-");
  } else if (ns < 1e3) {
    snprintf(buf, size, "%.1f ns", ns);
  } else if (ns < 1e6) {
    snprintf(buf, size, "%.1f us", ns / 1e3);
  } else {
    snprintf(buf, size, "%.2f ms", ns / 1e6);
  }
  return buf;
}

static void print_backend(const backend_result *r, const bench_options *o) {
  char a[64], b[64];
  printf("\n== %s%s ==   raw: %s\n", r->t->name, r->is_default ? " (default)" : "", r->t->raw);
  printf("%-26s %-30s %-30s %s\n", "ping-pong round trip, ns", "tpark: median (min-max)",
         "raw: median (min-max)", "tpark/raw: median (middle half)");
  for (int pl = 0; pl < 2; pl++) {
    const pingpong_result *pp = &r->pp[pl];
    char label[40], ratio[48];
    if (pl == 0) {
      snprintf(label, sizeof label, "  threads free");
    } else {
      snprintf(label, sizeof label, "  both pinned to CPU %d", o->cpu);
    }
    snprintf(ratio, sizeof ratio, "%.3f (%.3f-%.3f)%s", pp->ratio_s.median, pp->ratio_s.q1,
             pp->ratio_s.q3, pp->mixed ? "*" : "");
    printf("%-26s %-30s %-30s %-24s %s\n", label, fmt_times(a, sizeof a, pp->s[0], pp->modes[0]),
           fmt_times(b, sizeof b, pp->s[1], pp->modes[1]), ratio,
           pingpong_ok(r, pl) ? "ok" : "OVER 1.05");
  }
  bool two_modes = false;
  for (int pl = 0; pl < 2; pl++)
    two_modes |= r->pp[pl].modes[0].bimodal || r->pp[pl].modes[1].bimodal;
  if (two_modes) {
    printf(
        "  2 modes (fast | slow, share of slow): in some rounds the two threads shared a CPU\n"
        "  and in others not, or another process took the CPU; one median would mislead.\n");
  }
  for (int pl = 0; pl < 2; pl++) {
    if (r->pp[pl].mixed) {
      printf("  *%s: the ratio over the %u of %u rounds whose two blocks fell in the same mode\n",
             placement_name[pl], r->pp[pl].n - r->pp[pl].mixed, r->pp[pl].n);
    }
  }

  printf("%-52s %10s %10s\n", "ns per operation (median; threads on one CPU)", "tpark", "raw");
  if (r->ops.measured) {
    printf("%-52s %10.1f %10.1f\n", "  unpark_lock+unpark, owner prepared but awake",
           r->ops.unpark[0].median, r->ops.unpark[1].median);
    printf("%-52s %10.1f %10.1f\n", "  park, already unparked", r->ops.park[0].median,
           r->ops.park[1].median);
  } else {
    printf("  not measured: a keyed-event unpark waits until the owner waits (by design)\n");
  }

  printf("%-22s %-37s %-37s\n", "timeout lateness, us", "tpark: median    p99    max  early",
         "raw: median    p99    max  early");
  for (size_t k = 0; k < N_TIMEOUTS; k++) {
    const lateness *t = &r->to[k].l[0], *w = &r->to[k].l[1];
    char label[40];
    snprintf(label, sizeof label, "  %s (n=%u)", fmt_timeout(r->to[k].timeout_ns), t->n);
    printf("%-22s %13.1f %6.1f %6.1f %6u %11.1f %6.1f %6.1f %6u\n", label, t->median_ns / 1e3,
           t->p99_ns / 1e3, t->max_ns / 1e3, t->early, w->median_ns / 1e3, w->p99_ns / 1e3,
           w->max_ns / 1e3, w->early);
  }
#if defined(_WIN32)
  if (strcmp(r->t->name, "waitaddress") == 0) {
    printf("  (raw WaitOnAddress takes whole ms: its 0.1 ms wait asks for 1 ms)\n");
  }
#endif

  printf("footprint: %u B per parker; OS objects per parker: ", (unsigned)sizeof(tpark_parker));
  if (r->fp.heap_delta == INT64_MIN) {
    printf("heap not measurable here");
  } else {
    printf("%.1f B (heap %+" PRId64 " B", (double)r->fp.heap_delta / r->fp.parkers,
           r->fp.heap_delta);
  }
  if (r->fp.handles_delta != LONG_MIN) printf(", %+ld %s", r->fp.handles_delta, handles_what());
  printf(" over %u fresh parkers, each used once)\n", r->fp.parkers);
  printf("setup: first tpark_select_backend(\"%s\") %.1f us", r->t->name, r->setup.first_ns / 1e3);
  printf("; create alone, in a fresh state: median %.1f us (n=%u)\n", r->setup.fresh.median / 1e3,
         r->setup.n);
  printf("bar (tpark/raw <= %.2f free and pinned, 0 early, 0 B per parker): %s\n", RATIO_BAR,
         bar_met(r) ? "met" : "MISSED");
}

static const backend_result *default_backend(void) {
  for (size_t i = 0; i < n_backends; i++) {
    if (backends[i].is_default) return &backends[i];
  }
  return NULL;
}

/* Why a built-in that is not the default exists: when to force it. */
static const char *fallback_reason(const char *name) {
  if (!strcmp(name, "condvar")) {
    return "for kernels without futex(2), sandboxes that filter it, and POSIX systems other "
           "than Linux";
  }
  if (!strcmp(name, "keyed_event")) return "for Windows before 8, which lacks WaitOnAddress";
  if (!strcmp(name, "futex")) return "the fastest on Linux";
  if (!strcmp(name, "waitaddress")) return "the fastest on Windows 8 and later";
  return "another OS primitive";
}

/* A round trip as the summary compares it: the fast mode when there are two
 * (the slow one is the machine's noise), else the median. */
static double typical_ns(const pingpong_result *pp) {
  return pp->modes[0].bimodal ? pp->modes[0].low : pp->s[0].median;
}

/* The advice line: keep the default unless another is faster here. */
static void print_advice(void) {
  const backend_result *d = default_backend();
  if (d == NULL) {
    printf("No measured backend is this process's default (TPARK_BACKEND or --backend).\n");
    return;
  }
  printf(
      "Keep the default (%s) unless you have a reason below; force another with "
      "TPARK_BACKEND=<name> (or tpark_set_default_backend).\n",
      d->t->name);
  for (size_t i = 0; i < n_backends; i++) {
    const backend_result *r = &backends[i];
    if (r == d) continue;
    /* Backends ran one after the other, not interleaved: compare the lower
     * quartiles, the rounds least disturbed by other work. */
    double x = r->pp[1].s[0].q1 / d->pp[1].s[0].q1;
    printf("  %s: %s; its pinned round trip (lower quartile) is %.2fx %s's here%s.\n", r->t->name,
           fallback_reason(r->t->name), x, d->t->name,
           x < 0.8 ? " (clearly faster: worth forcing where it exists)" : "");
  }
}

static void print_summary(const bench_options *o) {
  const char *wine = wine_version();
  printf("\n== summary: which backend? (%s%s%s, %d CPUs; tpark's own numbers, medians) ==\n",
         os_name(), wine ? " under Wine " : "", wine ? wine : "", o->cpus);
  printf("%-14s %-24s %-10s %-12s %-12s %-10s %-13s %s\n", "backend", "round trip free", "pinned",
         "idle unpark", "late (1 ms)", "setup", "tpark/raw f/p", "bar");
  for (size_t i = 0; i < n_backends; i++) {
    const backend_result *r = &backends[i];
    char name[32], free_rt[48], pinned[24], idle[24], late[24], setup[24], ratios[32];
    snprintf(name, sizeof name, "%s%s", r->t->name, r->is_default ? " *" : "");
    const modes *m = &r->pp[0].modes[0];
    if (m->bimodal) {
      char lo[16], hi[16];
      snprintf(free_rt, sizeof free_rt, "%s | %s (%.0f%%)", fmt_ns(lo, sizeof lo, m->low),
               fmt_ns(hi, sizeof hi, m->high), 100 * m->high_share);
    } else {
      fmt_ns(free_rt, sizeof free_rt, r->pp[0].s[0].median);
    }
    fmt_ns(pinned, sizeof pinned, typical_ns(&r->pp[1]));
    if (r->ops.measured) {
      fmt_ns(idle, sizeof idle, r->ops.unpark[0].median);
    } else {
      snprintf(idle, sizeof idle, "blocks");
    }
    fmt_ns(late, sizeof late, r->to[1].l[0].median_ns);
    fmt_ns(setup, sizeof setup, r->setup.first_ns);
    snprintf(ratios, sizeof ratios, "%.3f/%.3f", r->pp[0].ratio_s.median, r->pp[1].ratio_s.median);
    printf("%-14s %-24s %-10s %-12s %-12s %-10s %-13s %s\n", name, free_rt, pinned, idle, late,
           setup, ratios, bar_met(r) ? "met" : "MISSED");
  }
  printf(
      "* the default: what tpark_init picks in this process.\n"
      "round trip free: two modes (fast | slow, share of slow) when the threads sometimes\n"
      "shared a CPU; pinned: the median, or the fast mode when there are two; idle unpark:\n"
      "unpark of a prepared owner that is awake; late: how long after a 1 ms deadline\n"
      "park_until returned; setup: the first tpark_select_backend.\n");
  print_advice();
}

void report_backends_table(const bench_options *o) {
  const char *wine = wine_version();
  printf(
      "parkbench: tpark vs the best plain use of each backend's OS primitive (%s%s%s, %d CPUs)\n",
      os_name(), wine ? " under Wine " : "", wine ? wine : "", o->cpus);
  printf(
      "ping-pong: %u rounds x %u round trips per variant, tpark and raw interleaved; "
      "sizeof(tpark_parker) = %u B\n",
      o->rounds, o->iters, (unsigned)sizeof(tpark_parker));
  if (o->quick) {
    printf("--quick: a smoke run; too few rounds for the verdicts against the bar to mean much.\n");
  }
  for (size_t i = 0; i < n_backends; i++) print_backend(&backends[i], o);
  print_summary(o);
}

/* ---- the backends section: JSON ------------------------------------------------------ */

static void json_lateness(const lateness *l) {
  printf("{\"median_ns\": ");
  json_num(l->median_ns, 0);
  printf(", \"p99_ns\": ");
  json_num(l->p99_ns, 0);
  printf(", \"max_ns\": ");
  json_num(l->max_ns, 0);
  printf(", \"early\": %u, \"not_timed_out\": %u}", l->early, l->not_timed);
}

static void json_backend(const backend_result *r) {
  printf("\n    {\n      \"name\": ");
  json_str(r->t->name);
  printf(",\n      \"raw\": ");
  json_str(r->t->raw);
  printf(",\n      \"default\": ");
  json_bool(r->is_default);
  printf(",\n      \"pingpong_ns\": {");
  for (int pl = 0; pl < 2; pl++) {
    const pingpong_result *pp = &r->pp[pl];
    printf("%s\n        \"%s\": {\"tpark\": ", pl ? "," : "", placement_name[pl]);
    json_summary(pp->s[0], 1);
    printf(", \"raw\": ");
    json_summary(pp->s[1], 1);
    printf(", \"ratio\": ");
    json_summary(pp->ratio_s, 4);
    printf(", \"mixed_rounds\": %u", pp->mixed);
    printf(",\n          \"modes\": {\"tpark\": ");
    json_modes(pp->modes[0]);
    printf(", \"raw\": ");
    json_modes(pp->modes[1]);
    printf("},\n          \"samples\": {\"tpark\": ");
    json_doubles(pp->ns[0], pp->n, 1);
    printf(",\n            \"raw\": ");
    json_doubles(pp->ns[1], pp->n, 1);
    printf(",\n            \"ratio\": ");
    json_doubles(pp->ratio, pp->n, 4);
    printf("}}");
  }
  printf("\n      },\n      \"ops_ns\": ");
  if (r->ops.measured) {
    printf("{\"batches\": %u, \"unpark_awake\": {\"tpark\": ", r->ops.n);
    json_num(r->ops.unpark[0].median, 2);
    printf(", \"raw\": ");
    json_num(r->ops.unpark[1].median, 2);
    printf(", \"samples\": {\"tpark\": ");
    json_doubles(r->ops.unpark_ns[0], r->ops.n, 2);
    printf(", \"raw\": ");
    json_doubles(r->ops.unpark_ns[1], r->ops.n, 2);
    printf("}},\n        \"park_unparked\": {\"tpark\": ");
    json_num(r->ops.park[0].median, 2);
    printf(", \"raw\": ");
    json_num(r->ops.park[1].median, 2);
    printf(", \"samples\": {\"tpark\": ");
    json_doubles(r->ops.park_ns[0], r->ops.n, 2);
    printf(", \"raw\": ");
    json_doubles(r->ops.park_ns[1], r->ops.n, 2);
    printf("}}}");
  } else {
    printf("null");
  }
  printf(",\n      \"timeouts\": [");
  for (size_t k = 0; k < N_TIMEOUTS; k++) {
    const timeout_result *t = &r->to[k];
    printf("%s\n        {\"timeout_ns\": %" PRIu64 ", \"samples\": %u, \"tpark\": ", k ? "," : "",
           t->timeout_ns, t->n);
    json_lateness(&t->l[0]);
    printf(", \"raw\": ");
    json_lateness(&t->l[1]);
    printf(",\n         \"late_ns\": {\"tpark\": ");
    json_int64s(t->late[0], t->n);
    printf(", \"raw\": ");
    json_int64s(t->late[1], t->n);
    printf("}}");
  }
  printf(
      "\n      ],\n      \"footprint\": {\"sizeof_parker\": %u, \"parkers\": %u, "
      "\"heap_bytes_delta\": ",
      (unsigned)sizeof(tpark_parker), r->fp.parkers);
  if (r->fp.heap_delta == INT64_MIN) {
    printf("null, \"os_bytes_per_parker\": null");
  } else {
    printf("%" PRId64 ", \"os_bytes_per_parker\": ", r->fp.heap_delta);
    json_num((double)r->fp.heap_delta / r->fp.parkers, 2);
  }
  printf(", \"%s_delta\": ", handles_what());
  if (r->fp.handles_delta == LONG_MIN) {
    printf("null},\n");
  } else {
    printf("%ld},\n", r->fp.handles_delta);
  }
  printf("      \"setup\": {\"first_call_ns\": ");
  json_num(r->setup.first_ns, 0);
  printf(", \"fresh_median_ns\": ");
  json_num(r->setup.fresh.median, 0);
  printf(", \"fresh_samples\": %u, \"fresh_ns\": ", r->setup.n);
  json_doubles(r->setup.fresh_ns, r->setup.n, 0);
  printf("},\n      \"bar\": {\"pingpong_free\": ");
  json_bool(pingpong_ok(r, 0));
  printf(", \"pingpong_pinned\": ");
  json_bool(pingpong_ok(r, 1));
  printf(", \"early_returns\": %u, \"footprint\": ", early_returns(r));
  json_bool(footprint_ok(r));
  printf(", \"met\": ");
  json_bool(bar_met(r));
  printf("}\n    }");
}

void report_backends_json(const bench_options *o) {
  (void)o;
  json_member("backends");
  printf("[");
  for (size_t i = 0; i < n_backends; i++) {
    if (i) printf(",");
    json_backend(&backends[i]);
  }
  printf("\n  ]");

  /* The summary across backends: tpark's own medians. */
  const backend_result *d = default_backend();
  json_member("summary");
  printf("{\"default\": ");
  json_str(d ? d->t->name : NULL);
  printf(", \"rows\": [");
  for (size_t i = 0; i < n_backends; i++) {
    const backend_result *r = &backends[i];
    printf("%s\n    {\"name\": ", i ? "," : "");
    json_str(r->t->name);
    printf(", \"default\": ");
    json_bool(r->is_default);
    printf(", \"roundtrip_free_ns\": ");
    json_num(r->pp[0].s[0].median, 1);
    printf(", \"roundtrip_free_modes\": ");
    json_modes(r->pp[0].modes[0]);
    printf(", \"roundtrip_pinned_ns\": ");
    json_num(r->pp[1].s[0].median, 1);
    printf(", \"idle_unpark_ns\": ");
    json_num(r->ops.measured ? r->ops.unpark[0].median : NAN, 2);
    printf(", \"late_1ms_ns\": ");
    json_num(r->to[1].l[0].median_ns, 0);
    printf(", \"setup_first_ns\": ");
    json_num(r->setup.first_ns, 0);
    printf(", \"ratio_free\": ");
    json_num(r->pp[0].ratio_s.median, 4);
    printf(", \"ratio_pinned\": ");
    json_num(r->pp[1].ratio_s.median, 4);
    printf(", \"bar_met\": ");
    json_bool(bar_met(r));
    printf("}");
  }
  printf("\n  ]}");
}

/* ---- the backends section: CSV -------------------------------------------------------- */

void report_backends_csv(const bench_options *o) {
  (void)o;
  for (size_t i = 0; i < n_backends; i++) {
    const backend_result *r = &backends[i];
    const char *name = r->t->name;
    for (int pl = 0; pl < 2; pl++) {
      const pingpong_result *pp = &r->pp[pl];
      for (int v = 0; v < 2; v++) {
        for (unsigned k = 0; k < pp->n; k++) {
          csv_row("backends", name, "round_trip", placement_name[pl], variant_name[v], k,
                  pp->ns[v][k], "ns");
        }
      }
      for (unsigned k = 0; k < pp->n; k++) {
        csv_row("backends", name, "round_trip", placement_name[pl], "tpark/raw", k, pp->ratio[k],
                "ratio");
      }
    }
    if (r->ops.measured) {
      for (int v = 0; v < 2; v++) {
        for (unsigned k = 0; k < r->ops.n; k++) {
          csv_row("backends", name, "unpark_awake", "pinned", variant_name[v], k,
                  r->ops.unpark_ns[v][k], "ns");
        }
        for (unsigned k = 0; k < r->ops.n; k++) {
          csv_row("backends", name, "park_unparked", "pinned", variant_name[v], k,
                  r->ops.park_ns[v][k], "ns");
        }
      }
    }
    for (size_t t = 0; t < N_TIMEOUTS; t++) {
      const timeout_result *to = &r->to[t];
      char cond[24];
      snprintf(cond, sizeof cond, "%" PRIu64 "ns", to->timeout_ns);
      for (int v = 0; v < 2; v++) {
        for (unsigned k = 0; k < to->n; k++) {
          csv_row("backends", name, "timeout_lateness", cond, variant_name[v], k,
                  (double)to->late[v][k], "ns");
        }
      }
    }
    if (r->fp.heap_delta != INT64_MIN) {
      csv_row("backends", name, "heap_delta", "fresh_parkers", "tpark", 0, (double)r->fp.heap_delta,
              "bytes");
    }
    if (r->fp.handles_delta != LONG_MIN) {
      csv_row("backends", name, "handles_delta", "fresh_parkers", "tpark", 0,
              (double)r->fp.handles_delta, handles_what());
    }
    csv_row("backends", name, "setup", "first_call", "tpark", 0, r->setup.first_ns, "ns");
    for (unsigned k = 0; k < r->setup.n; k++) {
      csv_row("backends", name, "setup", "fresh_state", "tpark", k, r->setup.fresh_ns[k], "ns");
    }
  }
}
