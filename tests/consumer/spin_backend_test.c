/* The spin backend against tpark's conformance suite: the whole test. */
#include "spin_backend.h"
#include "tpark/conformance.h"

int main(int argc, char **argv) {
  tpark_conformance_subject s = {0};
  s.create = spin_backend_create;
  s.name = "spin";
  return tpark_conformance_main(&s, argc, argv);
}
