/* parkbench's charts (chart.h), in process: a CSV in parkbench's long form
 * (and in tools/run's, with the "os" column) is read back, and the charts
 * drawn from it are the ones chart.h promises: a line chart by thread count
 * with a line per variant and a point per thread count, a ratio chart with
 * its 1.0 line, bars for other measurements with several samples, nothing
 * for single samples; file names by OS, section and measurement (and unit
 * when two units share a measurement). Section names are invented: the
 * charts must not know any. */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1
#include <windows.h>
#else
#include <unistd.h>
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/chart.h"

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  failures++;
}

static char dir[512];

static void make_temp_dir(void) {
#if defined(_WIN32)
  char base[MAX_PATH];
  if (GetTempPathA(sizeof base, base) == 0) exit(2);
  snprintf(dir, sizeof dir, "%scharts_test_%lu", base, (unsigned long)GetCurrentProcessId());
  CreateDirectoryA(dir, NULL);
#else
  const char *base = getenv("TEST_TMPDIR");
  snprintf(dir, sizeof dir, "%s/charts_XXXXXX", base ? base : "/tmp");
  if (mkdtemp(dir) == NULL) exit(2);
#endif
}

/* The whole file (malloc'd), or NULL when it does not exist. */
static char *slurp(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 1 << 16, len = 0, got;
  char *s = malloc(cap);
  while (s != NULL && (got = fread(s + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (cap - len < 1024) s = realloc(s, cap *= 2);
  }
  fclose(f);
  if (s == NULL) exit(2);
  s[len] = '\0';
  return s;
}

static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what)) n++;
  return n;
}

static void write_file(const char *name, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) exit(2);
}

static bool read_csv(const char *name, chart_table *t) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) exit(2);
  bool ok = charts_read_csv(f, name, t);
  fclose(f);
  return ok;
}

/* Whether the file exists (and releases what slurp read). */
static bool exists(const char *name) {
  char *s = slurp(name);
  bool found = s != NULL;
  free(s);
  return found;
}

/* Two rounds of an invented section: throughput of two variants at T=2 and
 * T=8, ratios per subject and placement, a time with two samples, a time
 * with one sample (no chart), a value missing (left out). */
static const char *const csv =
    "section,subject,measurement,condition,variant,index,value,unit\n"
    "zz,lk,rate,T=2,mine,0,10,Mops\n"
    "zz,lk,rate,T=2,mine,1,12,Mops\n"
    "zz,lk,rate,T=8,mine,0,11,Mops\n"
    "zz,lk,rate,T=8,mine,1,11,Mops\n"
    "zz,lk,rate,T=2,theirs,0,5,Mops\n"
    "zz,lk,rate,T=2,theirs,1,5,Mops\n"
    "zz,lk,rate,T=8,theirs,0,4,Mops\n"
    "zz,lk,rate,T=8,theirs,1,,Mops\n"
    "zz,a,trip,free,mine/theirs,0,1.02,ratio\n"
    "zz,a,trip,free,mine/theirs,1,1.04,ratio\n"
    "zz,b,trip,pinned,mine/theirs,0,0.98,ratio\n"
    "zz,a,trip,free,mine,0,700,ns\n"
    "zz,a,trip,free,mine,1,710,ns\n"
    "zz,a,setup,first,mine,0,1500,ns\n";

int main(void) {
  make_temp_dir();
  write_file("run.csv", csv);
  chart_table t;
  if (!read_csv("run.csv", &t)) {
    fail("the CSV was not read");
    return 1;
  }
  if (t.n != 13)
    fail("%lu rows read, want 13 (the one without a value left out)", (unsigned long)t.n);
  int written = charts_write(t.rows, t.n, dir, "a note");
  charts_free(&t);
  if (written != 3) fail("%d charts written, want 3 (rate, trip in ratio and in ns)", written);

  char *rate = slurp("zz_rate.svg");
  if (rate == NULL) {
    fail("no zz_rate.svg");
  } else {
    if (strncmp(rate, "<svg ", 5) != 0 || strstr(rate, "</svg>\n") == NULL) fail("not an SVG");
    if (count(rate, "<polyline") != 2) fail("rate: not a line per variant");
    if (count(rate, "<circle") != 4) fail("rate: not a point per variant and thread count");
    if (!strstr(rate, ">mine</text>") || !strstr(rate, ">theirs</text>")) fail("rate: legend");
    if (!strstr(rate, ">threads</text>") || !strstr(rate, ">8</text>")) fail("rate: x axis");
    if (!strstr(rate, "a note")) fail("rate: the note is missing");
    /* mine at T=2: the median of 10 and 12 is 11, the same as at T=8: a
     * flat line (equal y in its two points). */
    const char *line = strstr(rate, "points=\"");
    double x1, y1, x2, y2;
    if (line == NULL || sscanf(line, "points=\"%lf,%lf %lf,%lf", &x1, &y1, &x2, &y2) != 4 ||
        y1 != y2 || x1 >= x2) {
      fail("rate: mine's line is not flat from T=2 to T=8");
    }
  }
  char *ratio = slurp("zz_trip_ratio.svg");
  if (ratio == NULL) {
    fail("no zz_trip_ratio.svg");
  } else {
    if (count(ratio, "stroke-dasharray") != 1) fail("ratio: no 1.0 line");
    if (count(ratio, "<circle") != 2) fail("ratio: not a dot per subject and placement");
    if (count(ratio, "<rect x=") != 2) fail("ratio: not a legend entry per placement");
  }
  char *bars = slurp("zz_trip_ns.svg");
  if (bars == NULL) {
    fail("no zz_trip_ns.svg");
  } else if (count(bars, "<rect x=") != 2) { /* the bar and its legend entry */
    fail("bars: not one bar");
  }
  free(rate);
  free(ratio);
  free(bars);
  if (exists("zz_setup.svg")) fail("a chart of single samples (zz_setup.svg)");

  /* tools/run's form: a chart per OS. */
  write_file("two.csv",
             "os,section,subject,measurement,condition,variant,index,value,unit\n"
             "linux,zz,lk,rate,T=1,mine,0,1,Mops\n"
             "windows,zz,lk,rate,T=1,mine,0,2,Mops\n");
  if (!read_csv("two.csv", &t) || t.n != 2 || charts_write(t.rows, t.n, dir, NULL) != 2) {
    fail("tools/run's CSV: not a chart per OS");
  } else if (!exists("linux_zz_rate.svg") || !exists("windows_zz_rate.svg")) {
    fail("no linux_zz_rate.svg and windows_zz_rate.svg");
  }
  charts_free(&t);
  /* Not parkbench's CSV: refused. */
  write_file("bad.csv", "a,b\n1,2\n");
  if (read_csv("bad.csv", &t)) fail("a CSV with another header was read");
  write_file("short.csv", "section,subject,measurement,condition,variant,index,value,unit\nzz,1\n");
  if (read_csv("short.csv", &t)) fail("a row of 2 fields was read");

  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed (charts in %s)\n", dir);
  return 0;
}
