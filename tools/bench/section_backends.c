/* parkbench's "backends" section: every tpark backend available here against
 * the best plain use of the OS primitive it wraps (measure.c), reported as a
 * table per backend and a summary across them (report.c). */
#include "tools/bench/measure.h"
#include "tools/bench/report.h"
#include "tools/bench/section.h"

const bench_section backends_section = {
    .name = "backends",
    .prepare = measure_prepare,
    .estimate_s = measure_estimate_s,
    .run = measure_run,
    .table = report_backends_table,
    .json = report_backends_json,
    .csv = report_backends_csv,
};
