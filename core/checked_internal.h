/* Internal header (not installed): what the core needs of checked mode
 * (core/checked.c): the init hook and TPARK_CHECKED. (Its counters for
 * tests are in core/testing.h.) */
#ifndef TPARK_CORE_CHECKED_INTERNAL_H
#define TPARK_CORE_CHECKED_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tpark/backend.h"

/* The checked backends' prepare_park: tpark_init_with compares with it to
 * know a checked backend (copies of one included) without a call. */
void tpark__checked_prepare_park(const tpark_backend *self, tpark_parker *p);

/* tpark_init_with of p with a checked backend b, before p is written: the
 * side table's entry for p's address starts afresh. */
void tpark__checked_init(const tpark_backend *b, tpark_parker *p);

/* A park on p that will never return (the schedule explorer unwound its
 * thread out of it): p is no longer parked, so that a later init of its
 * memory is no "re-init while parked". */
void tpark__checked_abandon_park(tpark_parker *p);

/* The process default as TPARK_CHECKED wants it: *b unchanged when it is
 * unset, empty or "0"; its checked wrapper when "1"; any other value gives
 * TPARK_EINVAL (*b NULL; one line on stderr, once). TPARK_ENOBACKEND when
 * the wrapper cannot be made. Read once (through the OS table's getenv) until
 * tpark__checked_mode_reset. */
tpark_status tpark__checked_default(const tpark_backend **b);
void tpark__checked_mode_reset(void);

/* True when TPARK_CHECKED is "1" (read as tpark__checked_default reads it):
 * checked mode for locks (sync/lock_checks.c) asks once, at load. */
bool tpark__checked_mode_on(void);

/* The calling thread's number in checked mode's messages: 1, 2, ... in the
 * order threads first needed one, never reused. */
uint64_t tpark__checked_thread(void);

#endif /* TPARK_CORE_CHECKED_INTERNAL_H */
