/* tpark's own conformance tests: the public suite (tpark/conformance.h, the
 * one every custom backend uses too) against the subject named by argv[1]
 * (tests/subject.h: futex, condvar, mock, futex_fake, default:futex, ...).
 * Further arguments go to the suite: [--list] [--no-fork] [CHECK...]. */
#include <stdio.h>

#include "tests/subject.h"
#include "tpark/conformance.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SUBJECT [--list] [--no-fork] [CHECK...]\n", argv[0]);
    return 2;
  }
  const tpark_conformance_subject *s = subject_open(argv[1]);
  if (s == NULL) return 2;
  return tpark_conformance_main(s, argc - 1, argv + 1);
}
