/* Internal header (not installed), for tests (//core:testing, testonly):
 * hooks into the core's process-wide state. */
#ifndef TPARK_CORE_TESTING_H
#define TPARK_CORE_TESTING_H

#include <stddef.h>

/* Forgets the default and every created built-in, releasing what they hold,
 * and TPARK_CHECKED's value, as if no selection had happened
 * (core/select.c). No thread may use them. */
void tpark__selection_reset(void);

/* Checked mode's bookkeeping (core/checked.c): parkers its side table tracks
 * now, the table's capacity, and unpark records now outstanding. */
size_t tpark__checked_tracked(void);
size_t tpark__checked_capacity(void);
size_t tpark__checked_outstanding(void);

#endif /* TPARK_CORE_TESTING_H */
