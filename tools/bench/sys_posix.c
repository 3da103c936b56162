/* parkbench's OS helpers on POSIX (Linux in full; other systems without
 * affinity, heap and fd counts). */
#if !defined(_WIN32)
#if defined(__linux__)
#define _GNU_SOURCE /* pthread_setaffinity_np, sched_getaffinity */
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <dirent.h>
#include <malloc.h>
#endif

#include "tools/bench/sys.h"

void sys_init(void) {
#if defined(__linux__)
  mallopt(M_ARENA_MAX, 1); /* every thread on the arena mallinfo2 reports */
#endif
}

uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t thread_cpu_ns(void) {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) {
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
  }
#endif
  return now_ns();
}

void yield_cpu(void) { sched_yield(); }

void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

bool stderr_is_tty(void) { return isatty(STDERR_FILENO); }

#if defined(__linux__)
int allowed_cpus(int *first) {
  cpu_set_t set;
  *first = 0;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return (int)sysconf(_SC_NPROCESSORS_ONLN);
  for (int i = CPU_SETSIZE - 1; i >= 0; i--) {
    if (CPU_ISSET(i, &set)) *first = i;
  }
  return CPU_COUNT(&set);
}

void pin_self(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (err != 0) die("pthread_setaffinity_np(CPU %d) failed: %s", cpu, strerror(err));
}

/* Bytes in use on the malloc heap. sys_init limits glibc to one arena, which
 * mallinfo2 covers (it reports only the main arena). */
int64_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return (int64_t)(mi.uordblks + mi.hblkhd);
}

/* Open file descriptors: the OS objects a POSIX parker could hold. */
long os_handles(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return -1;
  long n = 0;
  while (readdir(d) != NULL) n++;
  closedir(d);
  return n;
}
#else
int allowed_cpus(int *first) {
  *first = 0;
  return (int)sysconf(_SC_NPROCESSORS_ONLN);
}
void pin_self(int cpu) { (void)cpu; } /* no portable affinity call */
int64_t heap_in_use(void) { return -1; }
long os_handles(void) { return -1; }
#endif /* __linux__ */

const char *handles_what(void) { return "fds"; }

const char *os_name(void) {
#if defined(__linux__)
  return "linux";
#else
  return "posix";
#endif
}

const char *wine_version(void) { return NULL; }

void *aligned_zalloc(size_t size, size_t align) {
  void *p = NULL;
  if (posix_memalign(&p, align, size) != 0 || p == NULL) die("out of memory");
  memset(p, 0, size);
  return p;
}

void aligned_free(void *p) { free(p); }

#endif /* !_WIN32 */
