/* parkbench: what it needs from the OS, apart from the primitives under test
 * (clock, yield, affinity, heap and handle counts). sys_posix.c and
 * sys_windows.c implement it; every other file is OS-neutral. */
#ifndef PARKBENCH_SYS_H
#define PARKBENCH_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000ull

/* Once, first thing in main: clock frequency, stdout mode, malloc arenas. */
void sys_init(void);

/* The clock of the tpark backends of this OS (CLOCK_MONOTONIC, QPC), in ns. */
uint64_t now_ns(void);
/* The calling thread's CPU time in ns where the OS keeps a precise one
 * (POSIX: CLOCK_THREAD_CPUTIME_ID); else now_ns(). A loaded machine preempts
 * a loop: CPU time does not count that. */
uint64_t thread_cpu_ns(void);
void yield_cpu(void);
void sleep_ms(unsigned ms);
bool stderr_is_tty(void);

/* The CPUs this process may use: their number, and in *first the lowest (the
 * one the pinned measurements use). */
int allowed_cpus(int *first);
/* Pins the calling thread to cpu; dies if the OS refuses. */
void pin_self(int cpu);

/* Bytes in use on the heap tpark's malloc uses; -1 if unknown. */
int64_t heap_in_use(void);
/* Open OS handles (Windows) or file descriptors (POSIX); -1 if unknown. */
long os_handles(void);
const char *handles_what(void); /* "handles" or "fds" */

const char *os_name(void);      /* "linux", "windows", "posix" */
const char *wine_version(void); /* "8.0" under Wine, else NULL */

/* Zeroed memory aligned to align (a power of two); dies when out of memory. */
void *aligned_zalloc(size_t size, size_t align);
void aligned_free(void *p);

/* "parkbench: <message>" on stderr, exit status 1 (die.c). */
void die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
void *xcalloc(size_t n, size_t size);

#endif /* PARKBENCH_SYS_H */
