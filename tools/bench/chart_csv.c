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

chart_row *charts_read_csv(FILE *f, const char *name, size_t *n_rows) {
  char *header = read_line(f);
  int skip; /* leading columns before parkbench's own: 1 with tools/run's "os" */
  if (header != NULL && strcmp(header, HEADER) == 0) {
    skip = 0;
  } else if (header != NULL && strcmp(header, "os," HEADER) == 0) {
    skip = 1;
  } else {
    fprintf(stderr, "parkbench_charts: %s does not start with parkbench's CSV header\n", name);
    free(header);
    return NULL;
  }
  free(header);
  size_t n = 0, cap = 1024, line_no = 1;
  chart_row *rows = xcalloc(cap, sizeof *rows);
  char *line;
  while ((line = read_line(f)) != NULL) { /* lines are kept: rows point into them */
    line_no++;
    char *field[9];
    if (line[0] == '\0') continue;
    if (split(line, field, 9) != 8 + skip) {
      fprintf(stderr, "parkbench_charts: %s:%zu: not %d fields\n", name, line_no, 8 + skip);
      free(rows);
      return NULL;
    }
    char **g = field + skip, *end;
    if (g[6][0] == '\0') continue; /* no value (not a number) */
    double value = strtod(g[6], &end);
    if (*end != '\0') {
      fprintf(stderr, "parkbench_charts: %s:%zu: value \"%s\" is not a number\n", name, line_no,
              g[6]);
      free(rows);
      return NULL;
    }
    if (n == cap) {
      chart_row *bigger = xcalloc(2 * cap, sizeof *bigger);
      memcpy(bigger, rows, n * sizeof *rows);
      free(rows);
      rows = bigger;
      cap *= 2;
    }
    rows[n++] = (chart_row){skip ? field[0] : "", g[0], g[1], g[2], g[3], g[4], g[7], value};
  }
  *n_rows = n;
  return rows;
}
