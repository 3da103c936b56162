/* Wait on address (tpark/wait.h): the default backend's native address wait
 * when it has one, else the parking lot keyed by the address. Reported to
 * the observers of sync/observe.h (the schedule explorer's synchronisation
 * points) when there are any. */
#include "tpark/wait.h"

#include <string.h>

#include "core/internal.h"
#include "core/lot_internal.h"
#include "sync/observe.h"
#include "tpark/backend.h"

static void report(tpark__lock_op op, volatile void *addr, tpark_instant deadline, bool all,
                   const char *call) {
  tpark__lock_event e = {
      .op = op,
      .kind = TPARK__LOCK_ADDRESS,
      .mode = TPARK__MODE_EXCLUSIVE,
      .flags =
          (deadline != TPARK_NEVER ? TPARK__OBSERVE_TIMED : 0u) | (all ? TPARK__OBSERVE_ALL : 0u),
      .lock = (const void *)addr,
      .deadline = deadline,
      .call = call,
  };
  tpark__observe(&e);
}

static const tpark_backend *native(const tpark_backend *b) {
  return b->abi_version >= 2 && b->wait_on_address != NULL ? b : NULL;
}

/* A call that breaks tpark/wait.h's rules. */
#define BAD_CALL(what, size)                                                       \
  tpark__fatal("tpark_wait_on_address: %s (size %lu; sizes are 1, 2, 4, 8)", what, \
               (unsigned long)(size))

struct wait_ctx {
  volatile void *addr;
  const void *compare;
  size_t size;
};

/* Still the compared value? (On entry, then under the bucket lock.) */
static bool still_equal(void *c) {
  const struct wait_ctx *w = c;
  switch (w->size) {
    case 1: {
      uint8_t want;
      memcpy(&want, w->compare, 1);
      return __atomic_load_n((volatile uint8_t *)w->addr, __ATOMIC_ACQUIRE) == want;
    }
    case 2: {
      uint16_t want;
      memcpy(&want, w->compare, 2);
      return __atomic_load_n((volatile uint16_t *)w->addr, __ATOMIC_ACQUIRE) == want;
    }
    case 4: {
      uint32_t want;
      memcpy(&want, w->compare, 4);
      return __atomic_load_n((volatile uint32_t *)w->addr, __ATOMIC_ACQUIRE) == want;
    }
    default: {
      uint64_t want;
      memcpy(&want, w->compare, 8);
      return __atomic_load_n((volatile uint64_t *)w->addr, __ATOMIC_ACQUIRE) == want;
    }
  }
}

bool tpark_wait_on_address(volatile void *addr, const void *compare, size_t size,
                           tpark_instant deadline) {
  if (size != 1 && size != 2 && size != 4 && size != 8) BAD_CALL("bad size", size);
  if (addr == NULL || compare == NULL) BAD_CALL("NULL address or compare value", size);
  if ((uintptr_t)addr % size != 0) BAD_CALL("address not aligned to size", size);
  if (tpark__observed())
    report(TPARK__OP_ADDRESS_WAIT, addr, deadline, false, "tpark_wait_on_address");
  struct wait_ctx w = {addr, compare, size};
  /* Already different: one load, and no bucket lock, thread data or backend
   * call. */
  if (!still_equal(&w)) return true;
  const tpark_backend *b = native(tpark__lot_backend());
  if (b != NULL) return b->wait_on_address(b, addr, compare, size, deadline);
  tpark_lot_park_result r = tpark_lot_park((const void *)addr, still_equal, NULL, NULL, &w,
                                           TPARK_LOT_DEFAULT_PARK_TOKEN, deadline);
  return r.status != TPARK_LOT_TIMED_OUT;
}

void tpark_wake_by_address_single(void *addr) {
  if (addr == NULL) return;
  if (tpark__observed()) {
    report(TPARK__OP_ADDRESS_WAKE, addr, TPARK_NEVER, false, "tpark_wake_by_address_single");
  }
  const tpark_backend *b = native(tpark__lot_backend());
  if (b != NULL) {
    b->wake_by_address(b, addr, false);
  } else {
    tpark_lot_unpark_one(addr, NULL, NULL);
  }
}

void tpark_wake_by_address_all(void *addr) {
  if (addr == NULL) return;
  if (tpark__observed()) {
    report(TPARK__OP_ADDRESS_WAKE, addr, TPARK_NEVER, true, "tpark_wake_by_address_all");
  }
  const tpark_backend *b = native(tpark__lot_backend());
  if (b != NULL) {
    b->wake_by_address(b, addr, true);
  } else {
    tpark_lot_unpark_all(addr, TPARK_LOT_DEFAULT_UNPARK_TOKEN);
  }
}
