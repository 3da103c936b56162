/* parkbench: ending with a message (sys.h's die, and xcalloc, which dies
 * when memory runs out). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/bench/sys.h"

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("parkbench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL) die("out of memory");
  return p;
}
