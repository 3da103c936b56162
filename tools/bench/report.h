/* parkbench: the backends section's report (report.c). */
#ifndef PARKBENCH_REPORT_H
#define PARKBENCH_REPORT_H

#include "tools/bench/bench.h"

/* The backends section's output (the results in measure.h). */
void report_backends_table(const bench_options *o);
void report_backends_json(const bench_options *o);
void report_backends_csv(const bench_options *o);

#endif /* PARKBENCH_REPORT_H */
