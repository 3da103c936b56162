/* Internal header (not installed): the built-in backends, as seen by the
 * selection in core/select.c. Adding a backend: write backends/<name>.c with
 * one tpark__<name>_builtin accessor, declare it here and add it to the list
 * in core/select.c. */
#ifndef TPARK_BACKENDS_BUILTIN_H
#define TPARK_BACKENDS_BUILTIN_H

#include "tpark/backend.h"

typedef struct tpark_builtin {
  const char *name;
  /* Fills *b with a ready backend, creating its OS objects (a handle, a
   * table of condition variables, ...). TPARK_ENOTSUP when this system
   * lacks what it needs, TPARK_ENOBACKEND when creating it failed. On error
   * nothing is left to release. May run in several threads at once. */
  tpark_status (*create)(tpark_backend *b);
  /* Releases what create made; no parker may use b any more. */
  void (*destroy)(tpark_backend *b);
} tpark_builtin;

const tpark_builtin *tpark__waitaddress_builtin(void);
const tpark_builtin *tpark__keyed_event_builtin(void);
const tpark_builtin *tpark__futex_builtin(void);
const tpark_builtin *tpark__condvar_builtin(void);

/* The process default if it is set or already chosen, else NULL; unlike
 * tpark_default_backend, never makes the choice. */
const tpark_backend *tpark__default_if_chosen(void);

/* For tests: forgets the default and every created built-in, releasing what
 * they hold, as if no selection had happened. No thread may use them. */
void tpark__selection_reset(void);

#endif /* TPARK_BACKENDS_BUILTIN_H */
