/* The public headers compile as strict C99 (see BUILD: -std=c99
 * -pedantic-errors) and include no OS header. */
#include "tpark/backend.h"
#include "tpark/checked.h"
#include "tpark/conformance.h"
#include "tpark/mock.h"
#include "tpark/tpark.h"

#if defined(_WINDOWS_) || defined(_PTHREAD_H) || defined(WINPTHREADS_H) || defined(_UNISTD_H)
#error "a public tpark header pulled in an OS header"
#endif

int main(void) {
  tpark_parker p;
  tpark_unpark_handle h = {0, 0};
  (void)p;
  (void)h;
  return sizeof(tpark_parker) <= 2 * sizeof(void *) ? 0 : 1;
}
