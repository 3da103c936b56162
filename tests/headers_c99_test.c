/* The public headers compile as strict C99 (see BUILD: -std=c99
 * -pedantic-errors) and include no OS header. */
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
#include "tpark/tpark.h"
#include "tpark/wait.h"

#if defined(_WINDOWS_) || defined(_PTHREAD_H) || defined(WINPTHREADS_H) || defined(_UNISTD_H)
#error "a public tpark header pulled in an OS header"
#endif

static void set_flag(void *arg) { *(int *)arg = 1; }

int main(void) {
  tpark_parker p;
  tpark_unpark_handle h = {0, 0};
  tpark_mutex m = TPARK_MUTEX_INIT;
  if (sizeof m != 1 || !tpark_mutex_trylock(&m)) return 1;
  tpark_mutex_unlock(&m);
  tpark_recursive_mutex r = TPARK_RECURSIVE_MUTEX_INIT;
  if (!tpark_recursive_mutex_trylock(&r) || !tpark_recursive_mutex_lock_until(&r, 0)) return 1;
  tpark_recursive_mutex_unlock(&r);
  tpark_recursive_mutex_unlock(&r);
  tpark_cond c = TPARK_COND_INIT;
  tpark_once o = TPARK_ONCE_INIT;
  int flag = 0;
  if (sizeof c > sizeof(void *) || sizeof o != 1 || tpark_cond_notify_one(&c)) return 1;
  tpark_once_call(&o, set_flag, &flag);
  if (!flag || !tpark_once_done(&o)) return 1;
  tpark_rwlock l = TPARK_RWLOCK_INIT;
  if (sizeof l != sizeof(void *)) return 1;
  tpark_rwlock_read_lock(&l);
  tpark_rwlock_read_unlock(&l);
  tpark_rwlock_write_lock(&l);
  tpark_rwlock_write_unlock(&l);
  if (l.state_ != 0) return 1;
  (void)p;
  (void)h;
  return sizeof(tpark_parker) <= 2 * sizeof(void *) ? 0 : 1;
}
