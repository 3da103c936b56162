/* parkbench's charts: SVG pictures of the samples parkbench prints as CSV
 * (chart.c draws them; charts_main.c reads the CSV). They know nothing of
 * any section: a section gets charts by printing its samples with csv_row
 * (output.h), and the rows decide the kind of chart:
 *
 *   - a measurement whose conditions are all "T=<threads>" (optionally
 *     followed by a space and more words): a line chart by thread count, a
 *     line per subject and variant (and the more words);
 *   - a measurement in unit "ratio": dots with whiskers around 1.0 (no bars:
 *     their length from 0 would hide a 3% difference);
 *   - any other measurement with more than one sample per variant: bars.
 *
 * Every point is the median of its samples (the rounds); whiskers span the
 * middle half (q1 to q3). One SVG file per OS, section and measurement. */
#ifndef PARKBENCH_CHART_H
#define PARKBENCH_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One CSV row. Strings are owned by the caller and outlive the charts. */
typedef struct chart_row {
  const char *os; /* tools/run --csv's "os" column; "" for parkbench's own CSV */
  const char *section, *subject, *measurement, *condition, *variant, *unit;
  double value;
} chart_row;

/* The rows of a CSV, and the lines their strings point into. */
typedef struct chart_table {
  chart_row *rows;
  size_t n;
  char **lines;
  size_t n_lines;
} chart_table;

/* Reads parkbench's CSV (`parkbench --csv`, or `tools/run --csv` with its
 * leading "os" column) from f (name: for messages) into *t; rows without a
 * value are left out. False, after a message on stderr and with nothing
 * allocated, when f is not such a CSV. charts_free releases *t. */
bool charts_read_csv(FILE *f, const char *name, chart_table *t);
void charts_free(chart_table *t);

/* Writes the charts of rows[0..n-1] into dir (which must exist), one file
 * per OS, section and measurement, named <os>_<section>_<measurement>.svg
 * (without "<os>_" when os is ""), and prints each file's path on stdout.
 * note, if not NULL, is printed under every title (the machine, the date).
 * Returns the number of files written; -1 (after a message on stderr) when
 * one cannot be written. */
int charts_write(const chart_row *rows, size_t n, const char *dir, const char *note);

#endif /* PARKBENCH_CHART_H */
