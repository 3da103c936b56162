/* The real POSIX (and Linux) functions of the OS table. */
#if !defined(_WIN32)

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "platform/os.h"

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

char *tpark__real_getenv(const char *name) { return getenv(name); }

int tpark__real_clock_gettime(int clock_id, struct timespec *ts) {
  return clock_gettime((clockid_t)clock_id, ts);
}

int tpark__real_sched_yield(void) { return sched_yield(); }

#if defined(__linux__)
long tpark__real_futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *timeout,
                       uint32_t val3) {
  return syscall(SYS_futex, uaddr, op, val, timeout, NULL, val3);
}
#endif /* __linux__ */

/* A condition variable whose timed waits use CLOCK_MONOTONIC, the clock of
 * the condvar backend's deadlines. */
int tpark__real_pthread_cond_init_monotonic(pthread_cond_t *cond) {
  pthread_condattr_t attr;
  int err = pthread_condattr_init(&attr);
  if (err != 0) return err;
  err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (err == 0) err = pthread_cond_init(cond, &attr);
  pthread_condattr_destroy(&attr);
  return err;
}

int tpark__real_pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex) {
  return pthread_cond_wait(cond, mutex);
}

int tpark__real_pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                       const struct timespec *abstime) {
  return pthread_cond_timedwait(cond, mutex, abstime);
}

int tpark__real_pthread_cond_broadcast(pthread_cond_t *cond) {
  return pthread_cond_broadcast(cond);
}

int tpark__real_pthread_mutex_lock(pthread_mutex_t *mutex) { return pthread_mutex_lock(mutex); }

int tpark__real_pthread_mutex_unlock(pthread_mutex_t *mutex) { return pthread_mutex_unlock(mutex); }

#endif /* !_WIN32 */
