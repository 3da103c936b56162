/* Internal header (not installed): the built-in backends, as the selection
 * in core/select.c sees them. A new built-in backend: backends/<name>.c with
 * one accessor, tpark__<name>_builtin, and its name in TPARK__BUILTINS. */
#ifndef TPARK_BACKENDS_BUILTIN_H
#define TPARK_BACKENDS_BUILTIN_H

#include "tpark/backend.h"

/* Every built-in, in tpark's order of preference: X(name) for each. */
#define TPARK__BUILTINS(X) X(waitaddress) X(keyed_event) X(futex) X(condvar)

typedef struct tpark__builtin {
  const char *name;
  /* Fills *b with a ready backend, creating its OS objects (a handle, a
   * table of condition variables, ...). TPARK_ENOTSUP when this system
   * lacks what it needs, TPARK_ENOBACKEND when creating it failed. On error
   * nothing is left to release. May run in several threads at once. */
  tpark_status (*create)(tpark_backend *b);
  /* Releases what create made; no parker may use b any more. */
  void (*destroy)(tpark_backend *b);
} tpark__builtin;

/* const tpark__builtin *tpark__<name>_builtin(void), for each built-in. */
#define TPARK__DECLARE_BUILTIN(name) const tpark__builtin *tpark__##name##_builtin(void);
TPARK__BUILTINS(TPARK__DECLARE_BUILTIN)
#undef TPARK__DECLARE_BUILTIN

#endif /* TPARK_BACKENDS_BUILTIN_H */
