/* parkbench_charts: SVG charts of a parkbench run, from its CSV (chart.h
 * says which charts). Reads `parkbench --csv` or `tools/run --csv` (the same
 * with an "os" column first, so Linux and Wine get charts of their own):
 *
 *   tools/run --csv > run.csv
 *   bazel run //tools/bench:parkbench_charts -- --note "2 vCPUs, ..." "$PWD/run.csv" "$PWD/charts"
 *
 * Paths are taken as given (bazel run starts in its runfiles: give absolute
 * ones); the directory is created if missing. Exit status 0, 1 when the CSV
 * or a chart could not be read or written, 2 for bad arguments. */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "tools/bench/chart.h"

static void usage(FILE *f) {
  fputs(
      "usage: parkbench_charts [--note TEXT] CSV DIR\n"
      "  CSV   parkbench --csv or tools/run --csv output (- for stdin)\n"
      "  DIR   where the .svg files go (created if missing)\n"
      "  --note TEXT  a line under every title: the machine, the date\n",
      f);
}

static int make_dir(const char *dir) {
#if defined(_WIN32)
  int rc = mkdir(dir);
#else
  int rc = mkdir(dir, 0777);
#endif
  return rc == 0 || errno == EEXIST ? 0 : -1;
}

int main(int argc, char **argv) {
  const char *note = NULL, *csv = NULL, *dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--note") && i + 1 < argc) {
      note = argv[++i];
    } else if (csv == NULL) {
      csv = argv[i];
    } else if (dir == NULL) {
      dir = argv[i];
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (csv == NULL || dir == NULL) {
    usage(stderr);
    return 2;
  }
  FILE *in = strcmp(csv, "-") == 0 ? stdin : fopen(csv, "r");
  if (in == NULL) {
    fprintf(stderr, "parkbench_charts: cannot read %s\n", csv);
    return 1;
  }
  chart_table t;
  bool read = charts_read_csv(in, csv, &t);
  if (in != stdin) fclose(in);
  if (!read) return 1;
  if (make_dir(dir) != 0) {
    fprintf(stderr, "parkbench_charts: cannot create %s\n", dir);
    return 1;
  }
  int written = charts_write(t.rows, t.n, dir, note);
  size_t n = t.n;
  charts_free(&t);
  if (written < 0) return 1;
  fprintf(stderr, "parkbench_charts: %d charts from %zu samples\n", written, n);
  return 0;
}
