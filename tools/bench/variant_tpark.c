/* parkbench: the tpark variant, through the public API (and so through the
 * parker's backend, as a user's code calls it). */
#include "tools/bench/sys.h"
#include "tools/bench/variant.h"

static void tp_init(slot *s, const tpark_backend *b) {
  if (tpark_init_with(&s->parker, b) != TPARK_OK) die("tpark_init_with failed");
}
static inline void tp_prepare(slot *s) { tpark_prepare_park(&s->parker); }
static inline void tp_park(slot *s) { tpark_park(&s->parker); }
static inline void tp_wake(slot *s) { tpark_unpark(tpark_unpark_lock(&s->parker)); }
/* Lateness on the backend's own clock. */
static bool tp_timed_wait(slot *s, uint64_t timeout_ns, int64_t *late) {
  tpark_prepare_park(&s->parker);
  tpark_instant deadline = tpark_deadline(&s->parker, timeout_ns);
  bool unparked = tpark_park_until(&s->parker, deadline);
  *late = (int64_t)(tpark_now(&s->parker) - deadline);
  return !unparked;
}

DEFINE_LOOPS(tp)
const variant tpark_variant = VARIANT(tp);

slot *new_slots(size_t n) { return aligned_zalloc(n * sizeof(slot), alignof(slot)); }

/* Raw condvar slots need no destroy: glibc's mutex and condvar hold no
 * resources. */
void free_slots(slot *s) { aligned_free(s); }
