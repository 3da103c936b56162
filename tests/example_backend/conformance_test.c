/* The conformance suite against the example backend: the whole test. */
#include "tpark/conformance.h"
#include "tests/example_backend/example_backend.h"

int main(int argc, char **argv) {
  tpark_conformance_subject s = {0};
  s.create = example_backend_create;
  s.destroy = example_backend_destroy;
  s.name = "example";
  return tpark_conformance_main(&s, argc, argv);
}
