/* "spin": a custom tpark backend of this workspace (a user's own, written
 * against tpark/backend.h only). A parked thread polls its parker's state,
 * giving the processor away between polls (sched_yield, SwitchToThread). It
 * burns CPU while parked, owns no OS object and works on Linux and Windows.
 *
 *   tpark_backend spin;
 *   spin_backend_create(&spin);
 *   tpark_init_with(&parker, &spin);
 */
#ifndef CONSUMER_SPIN_BACKEND_H
#define CONSUMER_SPIN_BACKEND_H

#include "tpark/backend.h"

/* Fills *b with the spin backend: TPARK_OK, or TPARK_EINVAL when b is NULL.
 * Nothing to destroy. */
tpark_status spin_backend_create(tpark_backend *b);

#endif /* CONSUMER_SPIN_BACKEND_H */
