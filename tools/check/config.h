/*
 * config.h for building Check 0.15.2 with mingw-w64 (x86_64-w64-mingw32-gcc-posix
 * and i686-w64-mingw32-gcc-posix, winpthreads), written for tpark in place of
 * what Check's ./configure would generate. Every value holds for both. Used only by the Windows
 * build of Check (tools/check/check_src.BUILD); on Linux the system's libcheck is used.
 *
 * Values are for Debian 12's mingw-w64 10 headers; "0"/absent means "missing
 * on mingw, use Check's lib/ replacement". With this file Check's own 601
 * self-tests (check_check) pass under Wine 8.
 */
#ifndef TPARK_CHECK_MINGW_CONFIG_H
#define TPARK_CHECK_MINGW_CONFIG_H

/* C99 printf family (%jd, %zu, %lld) instead of msvcrt's: Check formats its
 * assertion messages (ck_assert_int_eq uses %jd) with vsnprintf. Must come
 * before any system header; every Check source includes this file first. */
#ifndef __USE_MINGW_ANSI_STDIO
#define __USE_MINGW_ANSI_STDIO 1
#endif

/* No fork() on Windows: Check runs every test in CK_NOFORK mode (no crash
 * isolation, no per-test timeout). Must match @HAVE_FORK@ in check.h. */
#define HAVE_FORK 0
#define ENABLE_SUBUNIT 0

/* Headers present in mingw-w64. */
#define HAVE_STDARG_H 1
#define HAVE_STDINT_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_UNISTD_H 1
/* winpthreads: pthread mutexes for Check's message pipe. Link -lpthread. */
#define HAVE_PTHREAD 1

/* Functions present in mingw-w64 / msvcrt. */
#define HAVE_GETPID 1
#define HAVE_GETTIMEOFDAY 1
#define HAVE_MALLOC 1
#define HAVE_REALLOC 1
#define HAVE_MKSTEMP 1 /* temporary files under %TEMP% */
#define HAVE_SNPRINTF 1
#define HAVE_VSNPRINTF 1
#define HAVE_DECL_STRDUP 1

/* Replacements from Check's lib/ (compiled by check_src.BUILD). */
#define HAVE_GETLINE 0        /* lib/getline.c */
#define HAVE_DECL_STRSIGNAL 0 /* lib/strsignal.c */
/* lib/localtime_r.c (mingw only has it inline under _POSIX_THREAD_SAFE_FUNCTIONS) */
#define HAVE_DECL_LOCALTIME_R 0

/* alarm() does not exist on Windows, but it is only used by the fork-mode
 * timeout code (lib/timer_settime.c), which is not built: claim it is declared
 * so that libcompat.h does not declare a replacement nobody defines. */
#define HAVE_DECL_ALARM 1

/* No librt: libcompat.h then declares clock_gettime() and the POSIX timer
 * functions. clock_gettime() comes from winpthreads (real clocks); the timers
 * are only used with fork and are not built. Deliberately NOT built:
 * lib/clock_gettime.c, whose stub returns 0 and would shadow winpthreads'
 * clock_gettime() for every test linked with Check. */
#undef HAVE_LIBRT

/* struct timespec (time.h) and struct itimerspec (sys/types.h) both exist. */
/* POSIX timer handle type, absent from mingw-w64 (Check's CMake uses int). */
#define timer_t int

#endif /* TPARK_CHECK_MINGW_CONFIG_H */
