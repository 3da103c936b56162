// The public headers compile as C++11 (see BUILD: -std=c++11 -pedantic-errors).
#include "tpark/backend.h"
#include "tpark/checked.h"
#include "tpark/conformance.h"
#include "tpark/lot.h"
#include "tpark/mock.h"
#include "tpark/mutex.h"
#include "tpark/observed.h"
#include "tpark/rwlock.h"
#include "tpark/tpark.h"
#include "tpark/wait.h"

static_assert(sizeof(tpark_parker) <= 2 * sizeof(void *), "a parker is two words");
static_assert(sizeof(tpark_mutex) == 1, "a mutex is one byte");
static_assert(sizeof(tpark_rwlock) == sizeof(void *), "a rwlock is one word");
static_assert(sizeof(tpark_unpark_handle) <= 2 * sizeof(void *), "a handle is two words");

int main() {
  tpark_unpark_handle h = tpark_unpark_handle();
  tpark_unpark(h);  // a zero handle does nothing
  tpark_mutex m = TPARK_MUTEX_INIT;
  if (!tpark_mutex_trylock(&m)) return 1;
  tpark_mutex_unlock(&m);
  tpark_rwlock l = TPARK_RWLOCK_INIT;
  tpark_rwlock_read_lock(&l);
  tpark_rwlock_read_unlock(&l);
  tpark_rwlock_write_lock(&l);
  tpark_rwlock_write_unlock(&l);
  if (l.state_ != 0) return 1;
  return tpark_status_str(TPARK_OK) != nullptr ? 0 : 1;
}
