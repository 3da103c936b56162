/* What the two suites of checked mode for locks share: lock_misuse_test.c
 * (each rule of a lock's use broken once) and lock_checks_test.c (lock
 * order, forget, a correct program, deadlocks). argv[1] is the subject
 * (tests/subject.h), made the process default; BUILD runs both with
 * TPARK_CHECKED=1. A child announces the numbers its threads have in
 * messages ("lock_checks_test: T1=3") and the addresses it names, and the
 * parent fills them into the line it expects. */
#ifndef TPARK_TESTS_LOCK_CHECKS_H
#define TPARK_TESTS_LOCK_CHECKS_H

#include <pthread.h>
#include <stddef.h>

/* Makes the subject the process default (a child's setup). */
void lock_checks_setup(void);

/* Announces key=value on stderr, for the parent's fill. */
void announce(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* This thread's number in checked mode's messages, announced as key. */
void announce_thread(const char *key);

/* want with every {KEY} replaced by what the child announced as KEY. */
void fill(const char *err, const char *want, char *out, size_t cap);

/* fn aborts with exactly one line of checked mode, want (filled). */
void expect_line(void (*fn)(void), const char *want);

/* Threads of a child: start one (exits on failure), join it. */
pthread_t start(void *(*fn)(void *), void *arg);
void join(pthread_t t);

/* How far the threads of a child got: reach(s) says s, await(s) waits for
 * it. stay() never returns (the child ends while its thread waits). */
void reach(int s);
void await(int s);
void stay(void);

#endif /* TPARK_TESTS_LOCK_CHECKS_H */
