/* parkbench: output helpers every section uses (output.c): JSON members and
 * values, CSV rows. */
#ifndef PARKBENCH_OUTPUT_H
#define PARKBENCH_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/bench/stats.h"

/* JSON. The document is one object; main.c prints its first members, then
 * each section prints its own with json_member, which writes the separator
 * and the key at the top level. */
void json_member(const char *key);
void json_str(const char *s);          /* a string, escaped; null for NULL */
void json_num(double x, int decimals); /* null when not finite */
void json_bool(bool b);
void json_summary(summary s, int decimals);
void json_modes(modes m);
void json_doubles(const double *v, size_t n, int decimals);
void json_int64s(const int64_t *v, size_t n);

/* CSV: one row per sample, in the long form
 *   section,subject,measurement,condition,variant,index,value,unit
 * (csv_header prints that line; main.c calls it once). Text fields must not
 * contain commas or quotes. parkbench_charts (chart.h) draws every section
 * from these rows alone: a condition "T=<threads>" (or "T=<threads> more
 * words") puts the measurement on a chart by thread count, unit "ratio" on
 * a ratio chart; name variants as a reader of the legend would (the lock's
 * own name, e.g. "pthread_mutex_t"). */
void csv_header(void);
void csv_row(const char *section, const char *subject, const char *measurement,
             const char *condition, const char *variant_name, size_t index, double value,
             const char *unit);

#endif /* PARKBENCH_OUTPUT_H */
