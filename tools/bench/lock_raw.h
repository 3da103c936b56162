/* parkbench's lock section: the baselines of this OS for tpark_mutex and
 * tpark_wait_on_address, written as a user who never heard of tpark would
 * (raw_posix.c, raw_windows.c). */
#ifndef PARKBENCH_LOCK_RAW_H
#define PARKBENCH_LOCK_RAW_H

#include <stdbool.h>
#include <stdint.h>

/* The system's own lock: pthread_mutex_t (default attributes) on POSIX, an
 * SRWLOCK taken exclusively on Windows. One lock per process. */
extern const char *const system_lock_name;
void system_lock_init(void);
void system_lock(void);
void system_unlock(void);

/* The system's recursive lock, for tpark_recursive_mutex: a pthread_mutex_t
 * of type PTHREAD_MUTEX_RECURSIVE on POSIX, a CRITICAL_SECTION (always
 * recursive; default spin count) on Windows. One per process. */
extern const char *const system_recursive_name;
void system_recursive_init(void);
void system_recursive_lock(void);
void system_recursive_unlock(void);

/* The raw address wait: futex(FUTEX_WAIT_PRIVATE) on Linux, WaitOnAddress on
 * Windows 8 and later. Its name, or NULL where this OS has none. */
const char *raw_wait_name(void);
/* Sleeps while *addr == value (or spuriously); no timeout. */
void raw_wait(uint32_t *addr, uint32_t value);
/* Wakes one thread waiting on addr. */
void raw_wake(uint32_t *addr);

#endif /* PARKBENCH_LOCK_RAW_H */
