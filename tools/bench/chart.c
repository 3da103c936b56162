/* parkbench's charts (chart.h): the rows grouped into figures, each figure
 * drawn as SVG by hand (text, lines, rectangles: no library). */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include "tools/bench/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/stats.h"
#include "tools/bench/sys.h"

/* ---- the figures: the rows of one OS, section, measurement and unit ------------- */

typedef enum { BY_THREADS, RATIO, BARS } figure_kind;

/* The samples of one point (a thread count of a series) or one bar. */
typedef struct cell {
  const char *subject, *condition, *variant;
  int threads;      /* BY_THREADS: T; else 0 */
  const char *rest; /* BY_THREADS: the condition after "T=<n> " ("" if none) */
  double *v;
  size_t n, cap;
  summary s;
} cell;

typedef struct figure {
  const char *os, *section, *measurement, *unit;
  figure_kind kind;
  cell *cells;
  size_t n_cells, cap_cells;
} figure;

/* "T=<n>" or "T=<n> <rest>": n, and *rest; 0 if the condition is not one. */
static int parse_threads(const char *condition, const char **rest) {
  if (strncmp(condition, "T=", 2) != 0) return 0;
  char *end;
  long t = strtol(condition + 2, &end, 10);
  if (end == condition + 2 || t < 1 || t > 1000000) return 0;
  if (*end == ' ') {
    *rest = end + 1;
  } else if (*end == '\0') {
    *rest = "";
  } else {
    return 0;
  }
  return (int)t;
}

static bool same(const char *a, const char *b) { return strcmp(a, b) == 0; }

static figure *find_figure(figure **figs, size_t *n, size_t *cap, const chart_row *r) {
  for (size_t i = 0; i < *n; i++) {
    figure *f = &(*figs)[i];
    if (same(f->os, r->os) && same(f->section, r->section) &&
        same(f->measurement, r->measurement) && same(f->unit, r->unit)) {
      return f;
    }
  }
  if (*n == *cap) {
    *cap = *cap ? 2 * *cap : 16;
    figure *bigger = xcalloc(*cap, sizeof *bigger);
    if (*n) memcpy(bigger, *figs, *n * sizeof *bigger);
    free(*figs);
    *figs = bigger;
  }
  figure *f = &(*figs)[(*n)++];
  memset(f, 0, sizeof *f);
  f->os = r->os;
  f->section = r->section;
  f->measurement = r->measurement;
  f->unit = r->unit;
  f->kind = BY_THREADS;
  return f;
}

static void add_sample(cell *c, double v) {
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 8;
    double *bigger = xcalloc(c->cap, sizeof *bigger);
    if (c->n) memcpy(bigger, c->v, c->n * sizeof *bigger);
    free(c->v);
    c->v = bigger;
  }
  c->v[c->n++] = v;
}

static void add_to_cell(figure *f, const chart_row *r) {
  for (size_t i = 0; i < f->n_cells; i++) {
    cell *c = &f->cells[i];
    if (same(c->subject, r->subject) && same(c->condition, r->condition) &&
        same(c->variant, r->variant)) {
      add_sample(c, r->value);
      return;
    }
  }
  if (f->n_cells == f->cap_cells) {
    f->cap_cells = f->cap_cells ? 2 * f->cap_cells : 16;
    cell *bigger = xcalloc(f->cap_cells, sizeof *bigger);
    if (f->n_cells) memcpy(bigger, f->cells, f->n_cells * sizeof *bigger);
    free(f->cells);
    f->cells = bigger;
  }
  cell *c = &f->cells[f->n_cells++];
  memset(c, 0, sizeof *c);
  c->subject = r->subject;
  c->condition = r->condition;
  c->variant = r->variant;
  add_sample(c, r->value);
}

/* The kind of a figure, once all its cells are in; false: not worth a chart
 * (one sample per bar: setup costs, byte counts). Samples that are not
 * numbers (an empty CSV value) do not count. */
static bool classify(figure *f) {
  bool threads = true, several = false;
  for (size_t i = 0; i < f->n_cells; i++) {
    cell *c = &f->cells[i];
    size_t kept = 0;
    for (size_t k = 0; k < c->n; k++) {
      if (isfinite(c->v[k])) c->v[kept++] = c->v[k];
    }
    c->n = kept;
    c->threads = parse_threads(c->condition, &c->rest);
    threads &= c->threads > 0;
    several |= c->n > 1;
    c->s = summarize(c->v, c->n);
  }
  if (threads) {
    f->kind = BY_THREADS;
  } else if (same(f->unit, "ratio")) {
    f->kind = RATIO;
  } else {
    f->kind = BARS;
    if (!several) return false;
  }
  return f->n_cells > 0;
}

/* ---- SVG ---------------------------------------------------------------------- */

#define WIDTH 880
#define HEIGHT 430
#define LEFT 78
#define RIGHT (WIDTH - 300) /* the legend is right of the plot */
#define TOP 66
#define BOTTOM (HEIGHT - 58)

static const char *const palette[] = {"#1f5fa8", "#e8710a", "#2a9d3a", "#c5283d", "#7b4fb0",
                                      "#8c564b", "#d45fb2", "#6b6b6b", "#9aa51a", "#17a2b8"};
#define N_COLORS (sizeof palette / sizeof palette[0])

static void text(FILE *o, double x, double y, const char *anchor, const char *style,
                 const char *s) {
  fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>", x, y, anchor, style);
  for (; *s; s++) {
    switch (*s) {
      case '&':
        fputs("&amp;", o);
        break;
      case '<':
        fputs("&lt;", o);
        break;
      case '>':
        fputs("&gt;", o);
        break;
      default:
        fputc(*s, o);
    }
  }
  fputs("</text>\n", o);
}

/* A y axis: linear from lo to hi, or logarithmic. */
typedef struct axis {
  double lo, hi;
  bool log;
} axis;

static double y_of(const axis *a, double v) {
  double t;
  if (a->log) {
    t = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
  } else {
    t = (v - a->lo) / (a->hi - a->lo);
  }
  if (t < -0.02) t = -0.02; /* clipped just below the axis */
  return BOTTOM - t * (BOTTOM - TOP);
}

/* 1, 2, 2.5 or 5 times a power of ten, at least x. */
static double nice_step(double x) {
  double p = pow(10, floor(log10(x))), m = x / p;
  return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10);
}

/* The axis for values in [lo, hi]; from_zero: linear axes start at 0 when
 * every value is positive. */
static axis make_axis(double lo, double hi, bool from_zero, bool allow_log) {
  axis a = {lo, hi, false};
  if (!(hi > lo)) {
    a.lo = lo - (lo != 0 ? fabs(lo) / 10 : 1);
    a.hi = hi + (hi != 0 ? fabs(hi) / 10 : 1);
  }
  if (allow_log && lo > 0 && hi / lo > 30) {
    a.log = true;
    a.lo = pow(10, floor(log10(lo)));
    a.hi = pow(10, ceil(log10(hi)));
    return a;
  }
  if (from_zero && a.lo > 0) a.lo = 0;
  double step = nice_step((a.hi - a.lo) / 5);
  a.lo = floor(a.lo / step) * step;
  a.hi = ceil(a.hi / step) * step;
  return a;
}

static void draw_y_axis(FILE *o, const axis *a, const char *unit) {
  char label[32];
  if (a->log) {
    for (double v = a->lo; v <= a->hi * 1.0001; v *= 10) {
      double y = y_of(a, v);
      fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT, y,
              RIGHT, y);
      snprintf(label, sizeof label, "%g", v);
      text(o, LEFT - 6, y + 4, "end", "font-size=\"11\"", label);
    }
  } else {
    double step = nice_step((a->hi - a->lo) / 5);
    for (double v = a->lo; v <= a->hi + step / 1000; v += step) {
      double y = y_of(a, v);
      fprintf(o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT, y,
              RIGHT, y);
      snprintf(label, sizeof label, "%g", fabs(v) < step / 1000 ? 0 : v);
      text(o, LEFT - 6, y + 4, "end", "font-size=\"11\"", label);
    }
  }
  fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", LEFT, TOP, LEFT,
          BOTTOM);
  snprintf(label, sizeof label, "%s%s", unit, a->log ? " (log scale)" : "");
  text(o, LEFT - 6, TOP - 12, "start", "font-size=\"11\" fill=\"#444\"", label);
}

static void legend(FILE *o, int i, const char *label) {
  double y = TOP + 8 + 20 * i;
  fprintf(o, "<rect x=\"%d\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>\n", RIGHT + 16,
          y - 9, palette[i % N_COLORS]);
  text(o, RIGHT + 36, y, "start", "font-size=\"12\"", label);
}

static void whisker(FILE *o, double x, double y1, double y2, const char *color) {
  fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, y1, x,
          y2, color);
  for (int k = 0; k < 2; k++) {
    double y = k ? y2 : y1;
    fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x - 3, y,
            x + 3, y, color);
  }
}

/* ---- labels: the parts of a cell's key that vary across the figure ---------- */

typedef struct labels {
  bool subject, condition, variant, rest; /* which parts vary */
} labels;

static labels varying(const figure *f) {
  labels l = {false, false, false, false};
  const cell *c0 = &f->cells[0];
  for (size_t i = 1; i < f->n_cells; i++) {
    const cell *c = &f->cells[i];
    l.subject |= !same(c->subject, c0->subject);
    l.condition |= !same(c->condition, c0->condition);
    l.variant |= !same(c->variant, c0->variant);
    l.rest |= f->kind == BY_THREADS && !same(c->rest, c0->rest);
  }
  return l;
}

static void join(char *buf, size_t cap, bool use, const char *part) {
  if (!use || part[0] == '\0') return;
  size_t used = strlen(buf);
  snprintf(buf + used, cap - used, "%s%s", used ? " " : "", part);
}

/* Distinct strings, in order of first appearance. */
typedef struct names {
  char **s;
  size_t n;
} names;

static size_t name_index(names *ns, const char *s) {
  for (size_t i = 0; i < ns->n; i++) {
    if (same(ns->s[i], s)) return i;
  }
  char **bigger = xcalloc(ns->n + 1, sizeof *bigger);
  if (ns->n) memcpy(bigger, ns->s, ns->n * sizeof *bigger);
  free(ns->s);
  ns->s = bigger;
  ns->s[ns->n] = xcalloc(strlen(s) + 1, 1);
  strcpy(ns->s[ns->n], s);
  return ns->n++;
}

static void names_free(names *ns) {
  for (size_t i = 0; i < ns->n; i++) free(ns->s[i]);
  free(ns->s);
}

/* ---- the two kinds of plot ------------------------------------------------------ */

static void plot_by_threads(FILE *o, const figure *f) {
  labels l = varying(f);
  names series = {0};
  size_t *series_of = xcalloc(f->n_cells, sizeof *series_of);
  int ts[64];
  size_t n_ts = 0;
  double lo = INFINITY, hi = -INFINITY;
  char key[256];
  for (size_t i = 0; i < f->n_cells; i++) {
    const cell *c = &f->cells[i];
    key[0] = '\0';
    join(key, sizeof key, l.subject, c->subject);
    join(key, sizeof key, true, c->variant);
    join(key, sizeof key, l.rest, c->rest);
    series_of[i] = name_index(&series, key); /* in order of first appearance */
    bool known = false;
    for (size_t k = 0; k < n_ts; k++) known |= ts[k] == c->threads;
    if (!known && n_ts < 64) ts[n_ts++] = c->threads;
    if (c->n == 0) continue;
    lo = fmin(lo, c->s.q1);
    hi = fmax(hi, c->s.q3);
  }
  for (size_t i = 1; i < n_ts; i++) { /* few values: insertion sort */
    for (size_t k = i; k > 0 && ts[k - 1] > ts[k]; k--) {
      int t = ts[k];
      ts[k] = ts[k - 1];
      ts[k - 1] = t;
    }
  }
  axis a = make_axis(lo, hi, true, true);
  draw_y_axis(o, &a, f->unit);
  /* Thread counts evenly spaced (they double), in increasing order. */
  double dx = n_ts > 1 ? (RIGHT - LEFT - 40.0) / (double)(n_ts - 1) : 0;
  for (size_t k = 0; k < n_ts; k++) {
    char label[16];
    snprintf(label, sizeof label, "%d", ts[k]);
    text(o, LEFT + 20 + dx * (double)k, BOTTOM + 18, "middle", "font-size=\"11\"", label);
  }
  text(o, (LEFT + RIGHT) / 2.0, BOTTOM + 38, "middle", "font-size=\"12\"", "threads");
  fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", LEFT, BOTTOM,
          RIGHT, BOTTOM);
  for (size_t s = 0; s < series.n; s++) {
    const char *color = palette[s % N_COLORS];
    /* A line through the medians, then each point with its whisker. */
    for (int pass = 0; pass < 2; pass++) {
      bool first = true;
      if (pass == 0) {
        fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
      }
      for (size_t k = 0; k < n_ts; k++) {
        for (size_t i = 0; i < f->n_cells; i++) {
          const cell *c = &f->cells[i];
          if (series_of[i] != s || c->threads != ts[k] || c->n == 0) continue;
          double x = LEFT + 20 + dx * (double)k, y = y_of(&a, c->s.median);
          if (pass == 0) {
            fprintf(o, "%s%.1f,%.1f", first ? "" : " ", x, y);
            first = false;
          } else {
            if (c->n > 1) whisker(o, x, y_of(&a, c->s.q1), y_of(&a, c->s.q3), color);
            fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", x, y, color);
          }
        }
      }
      if (pass == 0) fputs("\"/>\n", o);
    }
    legend(o, (int)s, series.s[s]);
  }
  free(series_of);
  names_free(&series);
}

/* Groups along x, a bar (or, for ratios, a dot) per legend entry in each. */
static void plot_groups(FILE *o, const figure *f) {
  labels l = varying(f);
  /* Group by subject if it varies, else by condition; the rest tells the
   * bars apart. */
  bool group_subject = l.subject, group_condition = !l.subject && l.condition;
  names groups = {0}, bars = {0};
  char g[256], b[256];
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < f->n_cells; i++) {
    const cell *c = &f->cells[i];
    g[0] = b[0] = '\0';
    join(g, sizeof g, group_subject, c->subject);
    join(g, sizeof g, group_condition, c->condition);
    join(b, sizeof b, !group_condition && l.condition, c->condition);
    join(b, sizeof b, true, c->variant);
    name_index(&groups, g);
    name_index(&bars, b);
    if (c->n == 0) continue;
    lo = fmin(lo, c->s.q1);
    hi = fmax(hi, c->s.q3);
  }
  bool ratio = f->kind == RATIO;
  if (ratio) { /* around 1.0, which is always shown */
    lo = fmin(lo, 1.0);
    hi = fmax(hi, 1.0);
    double pad = (hi - lo) * 0.15 + 0.01;
    lo -= pad;
    hi += pad;
  }
  axis a = make_axis(lo, hi, !ratio, !ratio);
  draw_y_axis(o, &a, f->unit);
  if (ratio) {
    double y = y_of(&a, 1.0);
    fprintf(o,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#444\" "
            "stroke-dasharray=\"5,4\"/>\n",
            LEFT, y, RIGHT, y);
  }
  fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", LEFT, BOTTOM,
          RIGHT, BOTTOM);
  double group_w = (RIGHT - LEFT) / (double)groups.n, bar_w = group_w * 0.8 / (double)bars.n;
  double base = a.log ? BOTTOM : y_of(&a, a.lo > 0 ? a.lo : 0 < a.hi ? 0 : a.hi);
  for (size_t i = 0; i < f->n_cells; i++) {
    const cell *c = &f->cells[i];
    if (c->n == 0) continue;
    g[0] = b[0] = '\0';
    join(g, sizeof g, group_subject, c->subject);
    join(g, sizeof g, group_condition, c->condition);
    join(b, sizeof b, !group_condition && l.condition, c->condition);
    join(b, sizeof b, true, c->variant);
    size_t gi = name_index(&groups, g), bi = name_index(&bars, b);
    const char *color = palette[bi % N_COLORS];
    double x0 = LEFT + group_w * (double)gi + group_w * 0.1 + bar_w * (double)bi;
    double x = x0 + bar_w / 2, y = y_of(&a, c->s.median);
    if (ratio) {
      fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x, y, color);
    } else {
      double top = y < base ? y : base, h = fabs(base - y);
      fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
              x0 + bar_w * 0.1, top, bar_w * 0.8, h, color);
    }
    if (c->n > 1) whisker(o, x, y_of(&a, c->s.q1), y_of(&a, c->s.q3), ratio ? color : "#222");
  }
  for (size_t gi = 0; gi < groups.n; gi++) {
    text(o, LEFT + group_w * ((double)gi + 0.5), BOTTOM + 18, "middle", "font-size=\"11\"",
         groups.s[gi]);
  }
  for (size_t bi = 0; bi < bars.n; bi++) legend(o, (int)bi, bars.s[bi]);
  names_free(&groups);
  names_free(&bars);
}

/* ---- files ------------------------------------------------------------------------ */

/* Letters, digits, '-' and '_' as they are; anything else as '_'. */
static void append_safe(char *buf, size_t cap, const char *s) {
  size_t used = strlen(buf);
  for (; *s && used + 1 < cap; s++) {
    char ch = *s;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_';
    buf[used++] = ok ? ch : '_';
  }
  buf[used] = '\0';
}

/* with_unit: another figure has the same OS, section and measurement (in
 * another unit, e.g. round trips in ns and their ratios): the file name
 * ends in the unit too. */
static int write_figure(const figure *f, bool with_unit, const char *dir, const char *note) {
  char path[1024];
  snprintf(path, sizeof path, "%s/", dir);
  if (f->os[0]) {
    append_safe(path, sizeof path, f->os);
    strncat(path, "_", sizeof path - strlen(path) - 1);
  }
  append_safe(path, sizeof path, f->section);
  strncat(path, "_", sizeof path - strlen(path) - 1);
  append_safe(path, sizeof path, f->measurement);
  if (with_unit) {
    strncat(path, "_", sizeof path - strlen(path) - 1);
    append_safe(path, sizeof path, f->unit);
  }
  strncat(path, ".svg", sizeof path - strlen(path) - 1);
  FILE *o = fopen(path, "wb"); /* "\n", not "\r\n", on Windows too */
  if (o == NULL) {
    fprintf(stderr, "charts: cannot write %s\n", path);
    return -1;
  }
  fprintf(o,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n",
          WIDTH, HEIGHT, WIDTH, HEIGHT);
  fprintf(o, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", WIDTH, HEIGHT);
  char title[256];
  snprintf(title, sizeof title, "%s%s%s: %s (%s)", f->os, f->os[0] ? ", " : "", f->section,
           f->measurement, f->unit);
  text(o, 16, 24, "start", "font-size=\"16\" font-weight=\"bold\"", title);
  char sub[512];
  snprintf(sub, sizeof sub, "%s%s%s",
           f->kind == BY_THREADS ? "median of the rounds by thread count; whiskers: middle half"
           : f->kind == RATIO    ? "median of the per-round ratios; whiskers: middle half"
                                 : "median of the samples; whiskers: middle half",
           note ? "; " : "", note ? note : "");
  text(o, 16, 44, "start", "font-size=\"11\" fill=\"#555\"", sub);
  if (f->kind == BY_THREADS) {
    plot_by_threads(o, f);
  } else {
    plot_groups(o, f);
  }
  fputs("</svg>\n", o);
  if (fclose(o) != 0) {
    fprintf(stderr, "charts: cannot write %s\n", path);
    return -1;
  }
  printf("%s\n", path);
  return 0;
}

int charts_write(const chart_row *rows, size_t n, const char *dir, const char *note) {
  figure *figs = NULL;
  size_t n_figs = 0, cap = 0;
  for (size_t i = 0; i < n; i++) add_to_cell(find_figure(&figs, &n_figs, &cap, &rows[i]), &rows[i]);
  bool *drawn = xcalloc(n_figs, sizeof *drawn);
  for (size_t i = 0; i < n_figs; i++) drawn[i] = classify(&figs[i]);
  int written = 0;
  for (size_t i = 0; i < n_figs && written >= 0; i++) {
    if (!drawn[i]) continue;
    bool with_unit = false;
    for (size_t k = 0; k < n_figs; k++) {
      with_unit |= k != i && drawn[k] && same(figs[k].os, figs[i].os) &&
                   same(figs[k].section, figs[i].section) &&
                   same(figs[k].measurement, figs[i].measurement);
    }
    if (write_figure(&figs[i], with_unit, dir, note) != 0) {
      written = -1;
    } else {
      written++;
    }
  }
  free(drawn);
  for (size_t i = 0; i < n_figs; i++) {
    for (size_t k = 0; k < figs[i].n_cells; k++) free(figs[i].cells[k].v);
    free(figs[i].cells);
  }
  free(figs);
  return written;
}
