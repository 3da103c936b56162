/* TPARK_VERSION_MAJOR/MINOR/PATCH (tpark/tpark.h) are MODULE.bazel's version
 * (the file named by argv[1]): `version = "X.Y.Z"` inside module(...). Plain
 * exit status, as a user's test would be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpark/tpark.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH/TO/MODULE.bazel\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (f == NULL) {
    perror(argv[1]);
    return 2;
  }
  char text[8192];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  const char *module = strstr(text, "\nmodule(");
  const char *end = module ? strchr(module, ')') : NULL;
  const char *version = module ? strstr(module, "version = \"") : NULL;
  unsigned major, minor, patch;
  if (version == NULL || version > end ||
      sscanf(version, "version = \"%u.%u.%u\"", &major, &minor, &patch) != 3) {
    fprintf(stderr, "%s: no version = \"X.Y.Z\" in module(...)\n", argv[1]);
    return 1;
  }
  printf("MODULE.bazel: %u.%u.%u; tpark/tpark.h: %d.%d.%d\n", major, minor, patch,
         TPARK_VERSION_MAJOR, TPARK_VERSION_MINOR, TPARK_VERSION_PATCH);
  if (major != TPARK_VERSION_MAJOR || minor != TPARK_VERSION_MINOR ||
      patch != TPARK_VERSION_PATCH) {
    fprintf(stderr, "the versions differ: change TPARK_VERSION_* and MODULE.bazel together\n");
    return 1;
  }
  return 0;
}
