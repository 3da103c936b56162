/* parkbench's charts: reading parkbench's CSV (chart.h). */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/chart.h"
#include "tools/bench/sys.h"

#define HEADER "section,subject,measurement,condition,variant,index,value,unit"

/* The next line of f without its end of line, or NULL at the end. */
static char *read_line(FILE *f) {
  size_t cap = 256, n = 0;
  char *s = xcalloc(cap, 1);
  int ch;
  while ((ch = fgetc(f)) != EOF && ch != '\n') {
    if (n + 1 == cap) {
      char *bigger = xcalloc(2 * cap, 1);
      memcpy(bigger, s, n);
      free(s);
      s = bigger;
      cap *= 2;
    }
    s[n++] = (char)ch;
  }
  if (ch == EOF && n == 0) {
    free(s);
    return NULL;
  }
  if (n > 0 && s[n - 1] == '\r') n--;
  s[n] = '\0';
  return s;
}

/* Splits line at commas in place; the number of fields (at most max). */
static int split(char *line, char **field, int max) {
  int n = 0;
  for (char *p = line;; p++) {
    if (n < max) field[n] = p;
    n++;
    p = strchr(p, ',');
    if (p == NULL) break;
    *p = '\0';
  }
  return n;
}

void charts_free(chart_table *t) {
  for (size_t i = 0; i < t->n_lines; i++) free(t->lines[i]);
  free(t->lines);
  free(t->rows);
  *t = (chart_table){NULL, 0, NULL, 0};
}

/* Keeps line (rows point into it) in t. */
static void keep_line(chart_table *t, char *line, size_t *cap) {
  if (t->n_lines == *cap) {
    *cap = *cap ? 2 * *cap : 1024;
    char **bigger = xcalloc(*cap, sizeof *bigger);
    if (t->n_lines) memcpy(bigger, t->lines, t->n_lines * sizeof *bigger);
    free(t->lines);
    t->lines = bigger;
  }
  t->lines[t->n_lines++] = line;
}

bool charts_read_csv(FILE *f, const char *name, chart_table *t) {
  *t = (chart_table){NULL, 0, NULL, 0};
  char *header = read_line(f);
  int skip; /* leading columns before parkbench's own: 1 with tools/run's "os" */
  if (header != NULL && strcmp(header, HEADER) == 0) {
    skip = 0;
  } else if (header != NULL && strcmp(header, "os," HEADER) == 0) {
    skip = 1;
  } else {
    fprintf(stderr, "parkbench_charts: %s does not start with parkbench's CSV header\n", name);
    free(header);
    return false;
  }
  free(header);
  size_t cap = 1024, line_cap = 0, line_no = 1;
  t->rows = xcalloc(cap, sizeof *t->rows);
  char *line;
  while ((line = read_line(f)) != NULL) {
    line_no++;
    keep_line(t, line, &line_cap);
    char *field[9];
    if (line[0] == '\0') continue;
    if (split(line, field, 9) != 8 + skip) {
      fprintf(stderr, "parkbench_charts: %s:%zu: not %d fields\n", name, line_no, 8 + skip);
      charts_free(t);
      return false;
    }
    char **g = field + skip, *end;
    if (g[6][0] == '\0') continue; /* no value (not a number) */
    double value = strtod(g[6], &end);
    if (*end != '\0') {
      fprintf(stderr, "parkbench_charts: %s:%zu: value \"%s\" is not a number\n", name, line_no,
              g[6]);
      charts_free(t);
      return false;
    }
    if (t->n == cap) {
      chart_row *bigger = xcalloc(2 * cap, sizeof *bigger);
      memcpy(bigger, t->rows, t->n * sizeof *bigger);
      free(t->rows);
      t->rows = bigger;
      cap *= 2;
    }
    t->rows[t->n++] = (chart_row){skip ? field[0] : "", g[0], g[1], g[2], g[3], g[4], g[7], value};
  }
  return true;
}
