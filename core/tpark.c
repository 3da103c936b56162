/* The public API: checks at setup, then straight dispatch to the parker's
 * backend. The process default (tpark_init, tpark_thread_yield) is
 * core/select.c's. */
#include "tpark/tpark.h"

#include <stddef.h>

#include "core/checked_internal.h"
#include "core/internal.h"
#include "tpark/backend.h"

tpark_status tpark_init_with(tpark_parker *p, const tpark_backend *b) {
  if (p == NULL || b == NULL || !tpark__backend_complete(b)) return TPARK_EINVAL;
  if (b->prepare_park == tpark__checked_prepare_park) tpark__checked_init(b, p);
  p->backend_ = b;
  p->state_.word = 0;
  return TPARK_OK;
}

void tpark_prepare_park(tpark_parker *p) { p->backend_->prepare_park(p->backend_, p); }

void tpark_park(tpark_parker *p) { p->backend_->park(p->backend_, p); }

bool tpark_park_until(tpark_parker *p, tpark_instant deadline) {
  return p->backend_->park_until(p->backend_, p, deadline);
}

bool tpark_timed_out(tpark_parker *p) { return p->backend_->timed_out(p->backend_, p); }

tpark_unpark_handle tpark_unpark_lock(tpark_parker *p) {
  tpark_unpark_handle h;
  h.backend_ = p->backend_;
  h.token_ = p->backend_->unpark_lock(p->backend_, p);
  return h;
}

void tpark_unpark(tpark_unpark_handle h) {
  if (h.backend_ != NULL) h.backend_->unpark(h.backend_, h.token_);
}

tpark_instant tpark_now(const tpark_parker *p) { return p->backend_->now(p->backend_); }

tpark_instant tpark_deadline(const tpark_parker *p, uint64_t timeout_ns) {
  return tpark__add_sat(tpark_now(p), timeout_ns);
}

const char *tpark_backend_name(const tpark_parker *p) { return p->backend_->name; }

const char *tpark_status_str(tpark_status s) {
  switch (s) {
    case TPARK_OK:
      return "success";
    case TPARK_ENOBACKEND:
      return "no usable tpark backend on this system (tried waitaddress: "
             "WaitOnAddress, Windows 8+; keyed_event: NtCreateKeyedEvent, "
             "Windows XP+; futex: Linux; condvar: POSIX threads)";
    case TPARK_EINVAL:
      return "invalid argument: a NULL pointer, an unknown backend name "
             "(TPARK_BACKEND?), a bad TPARK_CHECKED value or an incomplete backend vtable";
    case TPARK_ENOTSUP:
      return "this system cannot provide the requested tpark backend";
  }
  return "unknown tpark status code";
}
