// The public headers compile as C++11 (see BUILD: -std=c++11 -pedantic-errors),
// and std::call_once's contract can be built on tpark_once_try_call.
#include <exception>
#include <stdexcept>

#include "tpark/backend.h"
#include "tpark/checked.h"
#include "tpark/cond.h"
#include "tpark/conformance.h"
#include "tpark/lot.h"
#include "tpark/mock.h"
#include "tpark/mutex.h"
#include "tpark/observed.h"
#include "tpark/once.h"
#include "tpark/rwlock.h"
#include "tpark/sync.hpp"
#include "tpark/tpark.h"
#include "tpark/wait.h"

static_assert(sizeof(tpark_parker) <= 2 * sizeof(void *), "a parker is two words");
static_assert(sizeof(tpark_mutex) == 1, "a mutex is one byte");
static_assert(sizeof(tpark_cond) <= sizeof(void *), "a condition variable is a pointer");
static_assert(sizeof(tpark_once) == 1, "a once is one byte");
static_assert(sizeof(tpark_rwlock) == sizeof(void *), "a rwlock is one word");
static_assert(sizeof(tpark_unpark_handle) <= 2 * sizeof(void *), "a handle is two words");

static void set_flag(void *arg) { *static_cast<int *>(arg) = 1; }

// std::call_once's contract over tpark_once_try_call, as tpark/once.h says a
// C++ wrapper does it: the exception is caught inside fn (none unwinds
// through tpark's C code), the run reports failure, and it is rethrown.
struct throwing_run {
  int *calls;
  std::exception_ptr error;
};

static bool run_or_catch(void *arg) {
  throwing_run *r = static_cast<throwing_run *>(arg);
  try {
    if (++*r->calls == 1) throw std::runtime_error("first run fails");
    return true;
  } catch (...) {
    r->error = std::current_exception();
    return false;
  }
}

static void call_once_or_throw(tpark_once *o, int *calls) {
  throwing_run r = {calls, nullptr};
  if (!tpark_once_try_call(o, run_or_catch, &r)) std::rethrow_exception(r.error);
}

int main() {
  tpark_unpark_handle h = tpark_unpark_handle();
  tpark_unpark(h);  // a zero handle does nothing
  tpark_mutex m = TPARK_MUTEX_INIT;
  if (!tpark_mutex_trylock(&m)) return 1;
  tpark_mutex_unlock(&m);
  tpark_recursive_mutex r = TPARK_RECURSIVE_MUTEX_INIT;
  if (!tpark_recursive_mutex_trylock(&r) || !tpark_recursive_mutex_lock_until(&r, 0)) return 1;
  tpark_recursive_mutex_unlock(&r);
  tpark_recursive_mutex_unlock(&r);
  tpark_cond c = TPARK_COND_INIT;
  tpark_once o = TPARK_ONCE_INIT;
  int flag = 0;
  if (tpark_cond_notify_all(&c) != 0) return 1;
  tpark_once_call(&o, set_flag, &flag);
  if (!flag || !tpark_once_done(&o)) return 1;
  tpark_once fallible = TPARK_ONCE_INIT;
  int calls = 0;
  bool thrown = false;
  try {
    call_once_or_throw(&fallible, &calls);
  } catch (const std::runtime_error &) {
    thrown = true;
  }
  if (!thrown || tpark_once_done(&fallible)) return 1;  // the flag stays unset
  call_once_or_throw(&fallible, &calls);                // the next call runs
  call_once_or_throw(&fallible, &calls);                // done: not again
  if (calls != 2 || !tpark_once_done(&fallible)) return 1;
  tpark_rwlock l = TPARK_RWLOCK_INIT;
  tpark_rwlock_read_lock(&l);
  tpark_rwlock_read_unlock(&l);
  tpark_rwlock_write_lock(&l);
  tpark_rwlock_write_unlock(&l);
  if (l.state_ != 0) return 1;
  return tpark_status_str(TPARK_OK) != nullptr ? 0 : 1;
}
