/* parkbench: the sections, in the order they run and print. A new section:
 * a file defining `const bench_section <name>_section` (bench.h), and its
 * name in this list. Each section is independent of the others. */
#ifndef PARKBENCH_SECTION_H
#define PARKBENCH_SECTION_H

#include "tools/bench/bench.h"

#define BENCH_SECTIONS(X)                                                     \
  X(backends) /* section_backends.c: each backend against its raw baseline */ \
  X(checked)  /* section_checked.c: what checked mode costs */                \
  X(locks)    /* section_locks.c: tpark_mutex and wait on address */          \
  X(cond)     /* section_cond.c: tpark_cond against the system's */           \
  X(once)     /* section_once.c: tpark_once against the system's */           \
  X(rw)       /* section_rw.c: tpark_rwlock against the system's */

#define BENCH_DECLARE_SECTION(name) extern const bench_section name##_section;
BENCH_SECTIONS(BENCH_DECLARE_SECTION)
#undef BENCH_DECLARE_SECTION

#endif /* PARKBENCH_SECTION_H */
