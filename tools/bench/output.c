/* parkbench: output helpers every section uses (output.h). */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include "tools/bench/output.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

/* ---- JSON ------------------------------------------------------------------------ */

void json_member(const char *key) {
  printf(",\n  ");
  json_str(key);
  printf(": ");
}

void json_str(const char *s) {
  if (s == NULL) {
    printf("null");
    return;
  }
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      printf("\\%c", c);
    } else if (c < 0x20) {
      printf("\\u%04x", c);
    } else {
      putchar(c);
    }
  }
  putchar('"');
}

void json_num(double x, int decimals) {
  if (isfinite(x)) {
    printf("%.*f", decimals, x);
  } else {
    printf("null");
  }
}

void json_bool(bool b) { printf(b ? "true" : "false"); }

void json_summary(summary s, int decimals) {
  printf("{\"median\": ");
  json_num(s.median, decimals);
  printf(", \"min\": ");
  json_num(s.min, decimals);
  printf(", \"max\": ");
  json_num(s.max, decimals);
  printf(", \"q1\": ");
  json_num(s.q1, decimals);
  printf(", \"q3\": ");
  json_num(s.q3, decimals);
  printf("}");
}

void json_modes(modes m) {
  printf("{\"bimodal\": ");
  json_bool(m.bimodal);
  printf(", \"low\": ");
  json_num(m.low, 1);
  printf(", \"high\": ");
  json_num(m.high, 1);
  printf(", \"high_share\": ");
  json_num(m.high_share, 3);
  printf("}");
}

void json_doubles(const double *v, size_t n, int decimals) {
  putchar('[');
  for (size_t i = 0; i < n; i++) {
    if (i) printf(", ");
    json_num(v[i], decimals);
  }
  putchar(']');
}

void json_int64s(const int64_t *v, size_t n) {
  putchar('[');
  for (size_t i = 0; i < n; i++) printf("%s%" PRId64, i ? ", " : "", v[i]);
  putchar(']');
}

/* ---- CSV ------------------------------------------------------------------------- */

void csv_header(void) {
  printf("section,subject,measurement,condition,variant,index,value,unit\n");
}

void csv_row(const char *section, const char *subject, const char *measurement,
             const char *condition, const char *variant_name, size_t index, double value,
             const char *unit) {
  printf("%s,%s,%s,%s,%s,%zu,", section, subject, measurement, condition, variant_name, index);
  if (isfinite(value)) printf("%.10g", value);
  printf(",%s\n", unit);
}
