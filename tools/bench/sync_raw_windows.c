/* parkbench: the system's condition variable and once on Windows
 * (sync_raw.h). */
#if defined(_WIN32)

#include <windows.h>

#include "tools/bench/sync_raw.h"
#include "tools/bench/sys.h"

const char *const system_cond_name = "CONDITION_VARIABLE";
const char *const system_once_name = "InitOnceExecuteOnce";

struct sys_mutex {
  SRWLOCK l;
};
struct sys_cond {
  CONDITION_VARIABLE c;
};
struct sys_once {
  INIT_ONCE o;
};

sys_mutex *sys_mutex_new(void) {
  sys_mutex *m = aligned_zalloc(64, 64);
  InitializeSRWLock(&m->l);
  return m;
}

void sys_mutex_free(sys_mutex *m) { aligned_free(m); }
void sys_mutex_lock(sys_mutex *m) { AcquireSRWLockExclusive(&m->l); }
void sys_mutex_unlock(sys_mutex *m) { ReleaseSRWLockExclusive(&m->l); }

sys_cond *sys_cond_new(void) {
  sys_cond *c = aligned_zalloc(64, 64);
  InitializeConditionVariable(&c->c);
  return c;
}

void sys_cond_free(sys_cond *c) { aligned_free(c); }

void sys_cond_wait(sys_cond *c, sys_mutex *m) {
  if (!SleepConditionVariableSRW(&c->c, &m->l, INFINITE, 0)) {
    die("SleepConditionVariableSRW failed: %lu", (unsigned long)GetLastError());
  }
}

void sys_cond_signal(sys_cond *c) { WakeConditionVariable(&c->c); }
void sys_cond_broadcast(sys_cond *c) { WakeAllConditionVariable(&c->c); }

sys_once *sys_once_new(void) {
  sys_once *o = aligned_zalloc(64, 64);
  InitOnceInitialize(&o->o);
  return o;
}

void sys_once_free(sys_once *o) { aligned_free(o); }

/* InitOnceExecuteOnce's callback shape around a void (*)(void). */
typedef struct once_fn {
  void (*fn)(void);
} once_fn;

static BOOL CALLBACK run_fn(PINIT_ONCE once, PVOID parameter, PVOID *context) {
  (void)once;
  (void)context;
  ((const once_fn *)parameter)->fn();
  return TRUE;
}

void sys_once_call(sys_once *o, void (*fn)(void)) {
  once_fn f = {fn};
  if (!InitOnceExecuteOnce(&o->o, run_fn, &f, NULL)) die("InitOnceExecuteOnce failed");
}

void sys_once_repeat(sys_once *o, void (*fn)(void), unsigned n) {
  once_fn f = {fn};
  for (unsigned i = 0; i < n; i++) InitOnceExecuteOnce(&o->o, run_fn, &f, NULL);
}

#endif /* _WIN32 */
