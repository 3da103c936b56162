/* parkbench's cond and once sections: the system's own condition variable
 * and once, used as a user who never heard of tpark would use them
 * (sync_raw_posix.c, sync_raw_windows.c).
 *
 *   POSIX    pthread_mutex_t (default attributes) + pthread_cond_t
 *            (CLOCK_MONOTONIC), pthread_once
 *   Windows  an SRWLOCK taken exclusively + CONDITION_VARIABLE
 *            (SleepConditionVariableSRW), InitOnceExecuteOnce */
#ifndef PARKBENCH_SYNC_RAW_H
#define PARKBENCH_SYNC_RAW_H

typedef struct sys_mutex sys_mutex;
typedef struct sys_cond sys_cond;
typedef struct sys_once sys_once;

/* "pthread_cond_t", "CONDITION_VARIABLE"; "pthread_once", "InitOnceExecuteOnce". */
extern const char *const system_cond_name;
extern const char *const system_once_name;

/* Each object in memory of its own (a cache line), ready to use. */
sys_mutex *sys_mutex_new(void);
void sys_mutex_free(sys_mutex *m);
void sys_mutex_lock(sys_mutex *m);
void sys_mutex_unlock(sys_mutex *m);

sys_cond *sys_cond_new(void);
void sys_cond_free(sys_cond *c);
void sys_cond_wait(sys_cond *c, sys_mutex *m);
void sys_cond_signal(sys_cond *c);
void sys_cond_broadcast(sys_cond *c);

/* A once not run yet. */
sys_once *sys_once_new(void);
void sys_once_free(sys_once *o);
void sys_once_call(sys_once *o, void (*fn)(void));
/* sys_once_call(o, fn) n times in a loop (the done path, measured). */
void sys_once_repeat(sys_once *o, void (*fn)(void), unsigned n);

#endif /* PARKBENCH_SYNC_RAW_H */
