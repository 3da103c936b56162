/* parkbench: the system's condition variable and once on POSIX
 * (sync_raw.h). */
#if !defined(_WIN32)

#include <pthread.h>
#include <time.h>

#include "tools/bench/sync_raw.h"
#include "tools/bench/sys.h"

const char *const system_cond_name = "pthread_cond_t";
const char *const system_once_name = "pthread_once";

struct sys_mutex {
  pthread_mutex_t m;
};
struct sys_cond {
  pthread_cond_t c;
};
struct sys_once {
  pthread_once_t o;
};

sys_mutex *sys_mutex_new(void) {
  sys_mutex *m = aligned_zalloc(sizeof *m < 64 ? 64 : sizeof *m, 64);
  if (pthread_mutex_init(&m->m, NULL) != 0) die("pthread_mutex_init failed");
  return m;
}

void sys_mutex_free(sys_mutex *m) {
  pthread_mutex_destroy(&m->m);
  aligned_free(m);
}

void sys_mutex_lock(sys_mutex *m) { pthread_mutex_lock(&m->m); }
void sys_mutex_unlock(sys_mutex *m) { pthread_mutex_unlock(&m->m); }

sys_cond *sys_cond_new(void) {
  sys_cond *c = aligned_zalloc(sizeof *c < 64 ? 64 : sizeof *c, 64);
  pthread_condattr_t a;
  pthread_condattr_init(&a);
#if defined(CLOCK_MONOTONIC) && !defined(__APPLE__)
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC); /* as a timed wait would want */
#endif
  if (pthread_cond_init(&c->c, &a) != 0) die("pthread_cond_init failed");
  pthread_condattr_destroy(&a);
  return c;
}

void sys_cond_free(sys_cond *c) {
  pthread_cond_destroy(&c->c);
  aligned_free(c);
}

void sys_cond_wait(sys_cond *c, sys_mutex *m) { pthread_cond_wait(&c->c, &m->m); }
void sys_cond_signal(sys_cond *c) { pthread_cond_signal(&c->c); }
void sys_cond_broadcast(sys_cond *c) { pthread_cond_broadcast(&c->c); }

sys_once *sys_once_new(void) {
  static const pthread_once_t init = PTHREAD_ONCE_INIT;
  sys_once *o = aligned_zalloc(sizeof *o < 64 ? 64 : sizeof *o, 64);
  o->o = init;
  return o;
}

void sys_once_free(sys_once *o) { aligned_free(o); }
void sys_once_call(sys_once *o, void (*fn)(void)) { pthread_once(&o->o, fn); }

void sys_once_repeat(sys_once *o, void (*fn)(void), unsigned n) {
  for (unsigned i = 0; i < n; i++) pthread_once(&o->o, fn);
}

#endif /* !_WIN32 */
