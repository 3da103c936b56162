/* parkbench: the sections main.c runs, in order. A new section is a file
 * defining a bench_section (bench.h), a declaration here, and a line in
 * main.c's sections[]. */
#ifndef PARKBENCH_SECTION_H
#define PARKBENCH_SECTION_H

#include "tools/bench/bench.h"

extern const bench_section backends_section; /* section_backends.c */
extern const bench_section checked_section;  /* section_checked.c; after backends */

#endif /* PARKBENCH_SECTION_H */
