/* The fake OS of tests/fake_os.h. */
#include "tests/fake_os.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "platform/os.h"

#define MAX_SCRIPT 64
#define FUTEX_CMD_MASK 127 /* without FUTEX_PRIVATE_FLAG */
#define FUTEX_CMD_WAKE 1
#define FUTEX_CMD_WAIT_BITSET 9

struct waiter {
  const void *addr;
  bool woken;
  struct waiter *next;
};

static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fk_changed = PTHREAD_COND_INITIALIZER; /* broadcast on
                                      every clock move, wake and sleep */
static struct {
  uint64_t now;
  struct waiter *waiters;
  size_t sleepers;
  unsigned count[FAKE_N_CALLS];
  fake_answer script[FAKE_N_CALLS][MAX_SCRIPT];
  size_t script_len[FAKE_N_CALLS], script_pos[FAKE_N_CALLS];
  unsigned fail_at[FAKE_N_CALLS]; /* a value of count; 0: none */
  int fail_err[FAKE_N_CALLS];
  const char *env_name, *env_value;
} fk;

static void lock(void) { pthread_mutex_lock(&fk_lock); }
static void unlock(void) { pthread_mutex_unlock(&fk_lock); }

/* Counts a call of c and finds its scripted answer, if any. Locked. */
static bool take_answer(fake_call c, fake_answer *a) {
  unsigned n = ++fk.count[c];
  if (fk.fail_at[c] == n) {
    memset(a, 0, sizeof *a);
    a->err = fk.fail_err[c];
    return true;
  }
  if (fk.script_pos[c] < fk.script_len[c]) {
    *a = fk.script[c][fk.script_pos[c]++];
    return true;
  }
  return false;
}

/* Carries out a scripted answer and returns its errno (0: success). Locked
 * on entry and exit; the hook runs unlocked. */
static int apply(const fake_answer *a) {
  if (a->hook != NULL) {
    unlock();
    a->hook(a->arg);
    lock();
  }
  if (a->clock_to > fk.now) {
    fk.now = a->clock_to;
    pthread_cond_broadcast(&fk_changed);
  }
  return a->err;
}

/* Blocks until woken or the clock reaches deadline; 0 or ETIMEDOUT. Locked. */
static int block(const void *addr, uint64_t deadline) {
  struct waiter w = {addr, false, fk.waiters};
  fk.waiters = &w;
  fk.sleepers++;
  pthread_cond_broadcast(&fk_changed);
  while (!w.woken && fk.now < deadline) pthread_cond_wait(&fk_changed, &fk_lock);
  struct waiter **pp = &fk.waiters;
  while (*pp != &w) pp = &(*pp)->next;
  *pp = w.next;
  fk.sleepers--;
  return w.woken ? 0 : ETIMEDOUT;
}

/* Wakes at most n waiters on addr; returns how many. Locked. */
static long wake(const void *addr, long n) {
  long woken = 0;
  for (struct waiter *w = fk.waiters; w != NULL && woken < n; w = w->next) {
    if (w->addr == addr && !w->woken) {
      w->woken = true;
      woken++;
    }
  }
  pthread_cond_broadcast(&fk_changed);
  return woken;
}

static int fake_clock_gettime(int clock_id, struct timespec *ts) {
  fake_answer a;
  (void)clock_id;
  lock();
  int err = take_answer(FAKE_CLOCK, &a) ? apply(&a) : 0;
  uint64_t now = fk.now;
  unlock();
  if (err != 0) {
    errno = err;
    return -1;
  }
  ts->tv_sec = (time_t)(now / 1000000000u);
  ts->tv_nsec = (long)(now % 1000000000u);
  return 0;
}

static long fake_futex(uint32_t *uaddr, int op, uint32_t val,
                       const struct timespec *timeout, uint32_t val3) {
  fake_answer a;
  long ret = 0;
  int err = 0;
  (void)val3;
  lock();
  switch (op & FUTEX_CMD_MASK) {
    case FUTEX_CMD_WAIT_BITSET:
      if (take_answer(FAKE_FUTEX_WAIT, &a)) {
        err = apply(&a);
      } else if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val) {
        err = EAGAIN;
      } else {
        uint64_t deadline = timeout == NULL ? UINT64_MAX
                                            : (uint64_t)timeout->tv_sec * 1000000000u +
                                                  (uint64_t)timeout->tv_nsec;
        err = block(uaddr, deadline);
      }
      break;
    case FUTEX_CMD_WAKE:
      if (take_answer(FAKE_FUTEX_WAKE, &a)) {
        err = apply(&a);
      } else {
        ret = wake(uaddr, (long)val);
      }
      break;
    default:
      err = ENOSYS;
  }
  unlock();
  if (err != 0) {
    errno = err;
    return -1;
  }
  return ret;
}

static char *fake_getenv(const char *name) {
  lock();
  char *value = fk.env_name != NULL && strcmp(fk.env_name, name) == 0
                    ? (char *)fk.env_value
                    : NULL;
  unlock();
  return value;
}

void fake_os_install(uint64_t start_ns) {
  lock();
  fk.now = start_ns;
  fk.waiters = NULL;
  fk.sleepers = 0;
  memset(fk.count, 0, sizeof fk.count);
  memset(fk.script_len, 0, sizeof fk.script_len);
  memset(fk.script_pos, 0, sizeof fk.script_pos);
  memset(fk.fail_at, 0, sizeof fk.fail_at);
  fk.env_name = fk.env_value = NULL;
  unlock();
  tpark_os_restore_all();
  tpark_os_set("clock_gettime", (tpark_os_fn)fake_clock_gettime);
  tpark_os_set("futex", (tpark_os_fn)fake_futex);
  tpark_os_set("getenv", (tpark_os_fn)fake_getenv);
}

void fake_os_remove(void) { tpark_os_restore_all(); }

uint64_t fake_clock_now(void) {
  lock();
  uint64_t now = fk.now;
  unlock();
  return now;
}

void fake_clock_advance(uint64_t ns) {
  lock();
  fk.now = ns > UINT64_MAX - fk.now ? UINT64_MAX : fk.now + ns;
  pthread_cond_broadcast(&fk_changed);
  unlock();
}

void fake_env_set(const char *name, const char *value) {
  lock();
  fk.env_name = name;
  fk.env_value = value;
  unlock();
}

void fake_script(fake_call c, const fake_answer *answers, size_t n) {
  lock();
  if (n > MAX_SCRIPT) n = MAX_SCRIPT;
  memcpy(fk.script[c], answers, n * sizeof *answers);
  fk.script_len[c] = n;
  fk.script_pos[c] = 0;
  unlock();
}

void fake_fail_nth(fake_call c, unsigned n, int err) {
  lock();
  fk.fail_at[c] = fk.count[c] + n;
  fk.fail_err[c] = err;
  unlock();
}

unsigned fake_count(fake_call c) {
  lock();
  unsigned n = fk.count[c];
  unlock();
  return n;
}

size_t fake_sleepers(void) {
  lock();
  size_t n = fk.sleepers;
  unlock();
  return n;
}

bool fake_wait_sleepers(size_t n, unsigned timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  lock();
  while (fk.sleepers < n &&
         pthread_cond_timedwait(&fk_changed, &fk_lock, &until) != ETIMEDOUT) {
  }
  bool reached = fk.sleepers >= n;
  unlock();
  return reached;
}
