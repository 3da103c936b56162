/* The example backend of docs/backends.md: a tpark backend written against
 * tpark's public headers only, over C11 <threads.h> (mtx_t, cnd_t).
 *
 *   tpark_backend example;
 *   if (example_backend_create(&example) == TPARK_OK) {
 *     tpark_init_with(&parker, &example);  // or tpark_set_default_backend
 *     ...
 *     example_backend_destroy(&example);   // once no parker uses it
 *   }
 */
#ifndef TPARK_EXAMPLE_BACKEND_H
#define TPARK_EXAMPLE_BACKEND_H

#include "tpark/backend.h"

/* Fills *b with a new backend called "example". TPARK_ENOTSUP where C11
 * threads are missing (e.g. mingw-w64), TPARK_ENOBACKEND when out of memory
 * or a mutex or condition variable cannot be created. */
tpark_status example_backend_create(tpark_backend *b);

/* Releases what example_backend_create made; no parker may use b (or a copy
 * of it) any more. */
void example_backend_destroy(tpark_backend *b);

#endif /* TPARK_EXAMPLE_BACKEND_H */
