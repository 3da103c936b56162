/* tpark__fatal (core/internal.h): the one place that ends the process. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/internal.h"

static void (*fatal_hook)(void); /* atomic */

void tpark__set_fatal_hook(void (*hook)(void)) {
  __atomic_store_n(&fatal_hook, hook, __ATOMIC_RELEASE);
}

void tpark__fatal(const char *fmt, ...) {
  /* One write of the whole line, so that lines of two threads do not mix. */
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  size_t len = n < 0 ? 0 : (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
  line[len] = '\n';
  fwrite(line, 1, len + 1, stderr);
  fflush(stderr);
  void (*hook)(void) = __atomic_load_n(&fatal_hook, __ATOMIC_ACQUIRE);
  if (hook != NULL) hook();
  abort();
}
