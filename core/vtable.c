/* The rules of a backend vtable (tpark/backend.h), in one place: what
 * tpark_init_with accepts and what tpark_checked_backend agrees to wrap. */
#include <stddef.h>

#include "core/internal.h"
#include "tpark/backend.h"

bool tpark__backend_complete(const tpark_backend *b) {
  /* A version-1 struct may end at `context`: read nothing beyond it. */
  if (b->abi_version < 1 || b->abi_version > TPARK_BACKEND_ABI_VERSION) return false;
  if (b->abi_version >= 2 && (b->wait_on_address == NULL) != (b->wake_by_address == NULL)) {
    return false; /* a native address wait needs both halves */
  }
  return b->name != NULL && b->prepare_park != NULL && b->park != NULL && b->park_until != NULL &&
         b->timed_out != NULL && b->unpark_lock != NULL && b->unpark != NULL && b->now != NULL &&
         b->thread_yield != NULL;
}
