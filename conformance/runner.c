/* The conformance suite (tpark/conformance.h): every promise of tpark/tpark.h
 * written once as a check (conformance_checks.c), and here a small runner
 * with no test framework.
 *
 * A check runs against a fresh backend from the subject's create. A failed
 * expectation ends the check with "<rule>: <what happened>". Each check runs
 * in a child process that sends its failure through a pipe, so a crash, a
 * hang or a sanitizer's exit status fails that check only:
 *  - POSIX: fork(), with alarm() as the check's timeout;
 *  - Windows: the same program started again (CreateProcess, same command
 *    line) with TPARK_CONFORMANCE_CHILD="<run>:<check>:<pipe handle>" in its
 *    environment: the <run>-th call of tpark_conformance_run in the child
 *    runs that one check and exits. The parent times it out.
 * With TPARK_CONFORMANCE_NO_FORK (or if no child can be made) the check runs
 * here: a failure in the check's own thread with none of its threads left
 * running jumps back to the runner (longjmp); any other failure, or the
 * watchdog's timeout, ends the run with the summary. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "tpark/conformance.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conformance/internal.h"
#include "tpark/tpark.h"

#if defined(__unix__) || defined(__APPLE__)
#define CONFORMANCE_FORK 1
#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#elif defined(_WIN32)
#define CONFORMANCE_SPAWN 1
#include <windows.h>
#define CHILD_ENV "TPARK_CONFORMANCE_CHILD"
#endif

#define DEFAULT_TIMEOUT_S 120u
#define MSG_CAP 512

/* ---- the run's state ------------------------------------------------------ */

/* Shared with the checks (conformance_internal.h says what each is). */
const tpark_conformance_subject *tpark__conformance_subject;
tpark_backend tpark__conformance_backend;
tpark_backend tpark__conformance_saved_backend;
int tpark__conformance_backend_scribbled;
const tpark_backend *tpark__conformance_active;
int tpark__conformance_live_threads;
static pthread_t check_thread;
static jmp_buf failure_jump;
static char failure[MSG_CAP];
static int in_child; /* this process runs one check for its parent */
#if defined(CONFORMANCE_FORK)
static int result_fd = -1; /* the child's end of the pipe */
#elif defined(CONFORMANCE_SPAWN)
static HANDLE result_handle; /* the child's end of the pipe */
#endif

/* In a child: sends the failure to the parent and ends the process. */
static void child_fail(const char *msg) __attribute__((noreturn));
static void child_fail(const char *msg) {
  /* One write below PIPE_BUF: atomic even if two threads fail at once. */
#if defined(CONFORMANCE_FORK)
  ssize_t w = write(result_fd, msg, strlen(msg));
  (void)w;
#elif defined(CONFORMANCE_SPAWN)
  DWORD w;
  WriteFile(result_handle, msg, (DWORD)strlen(msg), &w, NULL);
#endif
  fflush(stderr);
  _Exit(1);
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...) {
  char line[MSG_CAP + 128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (tpark__conformance_subject != NULL && tpark__conformance_subject->report != NULL) {
    tpark__conformance_subject->report(tpark__conformance_subject->report_arg, line);
  } else {
    printf("%s\n", line);
    fflush(stdout);
  }
}

/* Set by the runner so that a failure that must end the run can still print
 * the summary. */
static const char *current_check;
static int run_passed, run_failed, run_errors;

static void summary(void) {
  int total = run_passed + run_failed + run_errors;
  report("%d%%: Checks: %d, Failures: %d, Errors: %d", total ? run_passed * 100 / total : 100,
         total, run_failed, run_errors);
}

void tpark__conformance_fail(const char *rule, const char *fmt, ...) {
  char msg[MSG_CAP];
  int n = snprintf(msg, sizeof msg, "%s: ", rule);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  if (in_child) child_fail(msg);
  if (pthread_equal(pthread_self(), check_thread) &&
      __atomic_load_n(&tpark__conformance_live_threads, __ATOMIC_ACQUIRE) == 0) {
    memcpy(failure, msg, sizeof failure);
    longjmp(failure_jump, 1);
  }
  /* A thread of the check may still use the backend: nothing is safe to do
   * but to stop here. */
  report("FAIL %s: %s", __atomic_load_n(&current_check, __ATOMIC_ACQUIRE), msg);
  report("(a thread of the check is still running: the run ends here)");
  run_failed++;
  summary();
  _Exit(1);
}

/* ---- the runner ------------------------------------------------------------ */

static unsigned timeout_s(void) {
  return tpark__conformance_subject->timeout_s ? tpark__conformance_subject->timeout_s
                                               : DEFAULT_TIMEOUT_S;
}

/* Runs c here: create, the check, destroy. 0 when it passed; else 1 and
 * the failure in msg. */
static int run_here(const struct tpark__conformance_check *c, char *msg) {
  static volatile int result; /* static: survives the longjmp */
  check_thread = pthread_self();
  __atomic_store_n(&tpark__conformance_live_threads, 0, __ATOMIC_RELEASE);
  memset(&tpark__conformance_backend, 0, sizeof tpark__conformance_backend);
  tpark_status st = tpark__conformance_subject->create(&tpark__conformance_backend);
  if (st != TPARK_OK) {
    snprintf(msg, MSG_CAP, SETUP ": create failed: %s", tpark_status_str(st));
    return 1;
  }
  tpark__conformance_active = &tpark__conformance_backend;
  result = 0;
  if (setjmp(failure_jump) == 0) {
    c->fn();
  } else {
    memcpy(msg, failure, MSG_CAP);
    result = 1;
  }
  if (tpark__conformance_backend_scribbled) {
    tpark__conformance_backend = tpark__conformance_saved_backend;
    tpark__conformance_backend_scribbled = 0;
  }
  tpark__conformance_active = &tpark__conformance_backend;
  if (tpark__conformance_subject->destroy != NULL) {
    tpark__conformance_subject->destroy(&tpark__conformance_backend);
  }
  return result;
}

/* The watchdog of a run without fork: ends the process when a check takes
 * longer than its timeout. */
static struct {
  int stop;
  long started; /* time(NULL) when the running check started; 0: none */
  const char *hang;
} watchdog;

static void *watchdog_main(void *arg) {
  (void)arg;
  while (!__atomic_load_n(&watchdog.stop, __ATOMIC_ACQUIRE)) {
    long started = __atomic_load_n(&watchdog.started, __ATOMIC_ACQUIRE);
    if (started != 0 && (long)time(NULL) - started > (long)timeout_s()) {
      report("ERROR %s: %s: no result after %u s (timeout)",
             __atomic_load_n(&current_check, __ATOMIC_ACQUIRE),
             __atomic_load_n(&watchdog.hang, __ATOMIC_ACQUIRE), timeout_s());
      run_errors++;
      summary();
      _Exit(1);
    }
    tpark__conformance_pause_ms(50);
  }
  return NULL;
}

enum outcome { PASSED, FAILED, ERRED };

#if defined(CONFORMANCE_FORK)
static enum outcome run_forked(const struct tpark__conformance_check *c, char *msg) {
  int fds[2];
  if (pipe(fds) != 0) {
    snprintf(msg, MSG_CAP, SETUP ": pipe failed (errno %d)", errno);
    return ERRED;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(msg, MSG_CAP, SETUP ": fork failed (errno %d)", errno);
    close(fds[0]);
    close(fds[1]);
    return ERRED;
  }
  if (pid == 0) {
    close(fds[0]);
    in_child = 1;
    result_fd = fds[1];
    alarm(timeout_s());
    if (run_here(c, msg) != 0) child_fail(msg);
    exit(0); /* exit, not _Exit: sanitizers report (leaks, races) at exit */
  }
  close(fds[1]);
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fds[0], msg + len, MSG_CAP - 1 - len);
    if (r > 0) {
      len += (size_t)r;
      if (len == MSG_CAP - 1) break;
    } else if (r == 0 || errno != EINTR) {
      break;
    }
  }
  msg[len] = '\0';
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      snprintf(msg, MSG_CAP, SETUP ": waitpid failed (errno %d)", errno);
      return ERRED;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && len == 0) return PASSED;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && len > 0) return FAILED;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    snprintf(msg, MSG_CAP, "%s: no result after %u s (timeout)", c->hang, timeout_s());
  } else if (WIFSIGNALED(status)) {
    snprintf(msg, MSG_CAP, "crashed: signal %d (%s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
  } else {
    snprintf(msg, MSG_CAP,
             "exited with status %d, no failure reported (a sanitizer's report on stderr?)",
             WEXITSTATUS(status));
  }
  return ERRED;
}
#endif /* CONFORMANCE_FORK */

#if defined(CONFORMANCE_SPAWN)
static unsigned run_count; /* calls of tpark_conformance_run in this process */

/* Runs check c in a new process of this program (see the top). */
static enum outcome run_spawned(const struct tpark__conformance_check *c, char *msg) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE rd, wr;
  if (!CreatePipe(&rd, &wr, &sa, 0)) {
    snprintf(msg, MSG_CAP, SETUP ": CreatePipe failed (%lu)", (unsigned long)GetLastError());
    return ERRED;
  }
  SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
  char value[200];
  snprintf(value, sizeof value, "%u:%s:%llu", run_count, c->name,
           (unsigned long long)(uintptr_t)wr);
  static wchar_t exe[32768];
  DWORD n = GetModuleFileNameW(NULL, exe, sizeof exe / sizeof exe[0]);
  wchar_t *cmd = _wcsdup(GetCommandLineW()); /* CreateProcessW may write to it */
  STARTUPINFOW si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  PROCESS_INFORMATION pi;
  fflush(stdout);
  fflush(stderr);
  BOOL ok = n > 0 && n < sizeof exe / sizeof exe[0] && cmd != NULL &&
            SetEnvironmentVariableA(CHILD_ENV, value) &&
            CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
  DWORD err = GetLastError();
  SetEnvironmentVariableA(CHILD_ENV, NULL);
  free(cmd);
  CloseHandle(wr);
  if (!ok) {
    CloseHandle(rd);
    snprintf(msg, MSG_CAP, SETUP ": cannot start a child process (%lu)", (unsigned long)err);
    return ERRED;
  }
  CloseHandle(pi.hThread);
  enum outcome o = ERRED;
  if (WaitForSingleObject(pi.hProcess, timeout_s() * 1000u) == WAIT_TIMEOUT) {
    TerminateProcess(pi.hProcess, 3);
    WaitForSingleObject(pi.hProcess, INFINITE);
    snprintf(msg, MSG_CAP, "%s: no result after %u s (timeout)", c->hang, timeout_s());
  } else {
    /* The child is gone: its message (if any) is in the pipe. */
    DWORD code = 0, got;
    GetExitCodeProcess(pi.hProcess, &code);
    size_t len = 0;
    while (len < MSG_CAP - 1 && ReadFile(rd, msg + len, (DWORD)(MSG_CAP - 1 - len), &got, NULL) &&
           got > 0) {
      len += got;
    }
    msg[len] = '\0';
    if (code == 0 && len == 0) {
      o = PASSED;
    } else if (code == 1 && len > 0) {
      o = FAILED;
    } else {
      snprintf(msg, MSG_CAP, "%s with code 0x%lx, no failure reported",
               code >= 0xC0000000u ? "crashed" : "exited", (unsigned long)code);
    }
  }
  CloseHandle(pi.hProcess);
  CloseHandle(rd);
  return o;
}

/* In a child (CHILD_ENV set): runs the check named there when this is the
 * run it names, then exits; true for another run of the child (to be
 * skipped: it is its parent's). False in a parent. */
static bool maybe_child(void) {
  const char *env = getenv(CHILD_ENV);
  if (env == NULL || *env == '\0') return false;
  unsigned run;
  unsigned long long handle;
  char name[128];
  if (sscanf(env, "%u:%127[^:]:%llu", &run, name, &handle) != 3) {
    fprintf(stderr, "tpark conformance: bad %s=%s\n", CHILD_ENV, env);
    _Exit(2);
  }
  if (run != run_count) return true;
  in_child = 1;
  result_handle = (HANDLE)(uintptr_t)handle;
  for (size_t i = 0; i < tpark__conformance_n_checks; i++) {
    if (strcmp(tpark__conformance_checks[i].name, name) == 0) {
      char msg[MSG_CAP] = "";
      if (run_here(&tpark__conformance_checks[i], msg) != 0) child_fail(msg);
      exit(0);
    }
  }
  child_fail(SETUP ": the parent asked for an unknown check");
}
#endif /* CONFORMANCE_SPAWN */

static bool selected(const char *only, const char *name) {
  if (only == NULL) return true;
  size_t n = strlen(name);
  for (const char *s = only; *s != '\0';) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len == n && strncmp(s, name, n) == 0) return true;
    s += len + (end != NULL);
  }
  return false;
}

/* An error message if only names a check that does not exist. */
static bool only_is_valid(const char *only) {
  if (only == NULL) return true;
  for (const char *s = only; *s != '\0';) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    bool known = false;
    for (size_t i = 0; i < tpark__conformance_n_checks; i++) {
      const char *name = tpark__conformance_checks[i].name;
      if (strlen(name) == len && strncmp(name, s, len) == 0) known = true;
    }
    if (!known) {
      fprintf(stderr, "tpark conformance: no check named \"%.*s\" (--list shows them)\n", (int)len,
              s);
      return false;
    }
    s += len + (end != NULL);
  }
  return true;
}

int tpark_conformance_run(const tpark_conformance_subject *s) {
  if (s == NULL || s->create == NULL) {
    fprintf(stderr, "tpark_conformance_run: %s\n",
            s == NULL ? "no subject (NULL)" : "the subject has no create function");
    return -1;
  }
  if (!only_is_valid(s->only)) return -1;
  tpark__conformance_subject = s;
  run_passed = run_failed = run_errors = 0;
  bool use_fork = false;
#if defined(CONFORMANCE_FORK)
  use_fork = !(s->flags & TPARK_CONFORMANCE_NO_FORK);
#elif defined(CONFORMANCE_SPAWN)
  run_count++;
  if (maybe_child()) {
    tpark__conformance_subject = NULL;
    return 0;
  }
  use_fork = !(s->flags & TPARK_CONFORMANCE_NO_FORK);
#endif
  const char *label = s->label ? s->label : s->name ? s->name : "backend";
  report("conformance[%s]: %s, timeout %u s each", label,
         use_fork ? "each check in a child process" : "checks in this process", timeout_s());
  pthread_t wd;
  bool wd_started = false;
  if (!use_fork) {
    __atomic_store_n(&watchdog.stop, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&watchdog.started, 0, __ATOMIC_RELEASE);
    wd_started = pthread_create(&wd, NULL, watchdog_main, NULL) == 0;
    if (!wd_started) report("(no watchdog thread: a hang is not timed out)");
  }
  for (size_t i = 0; i < tpark__conformance_n_checks; i++) {
    const struct tpark__conformance_check *c = &tpark__conformance_checks[i];
    if (!selected(s->only, c->name)) continue;
    if (s->flags & c->skip_if) {
      report("SKIP %s (unpark may block: TPARK_CONFORMANCE_UNPARK_MAY_BLOCK)", c->name);
      continue;
    }
    __atomic_store_n(&current_check, c->name, __ATOMIC_RELEASE);
    char msg[MSG_CAP] = "";
    enum outcome o;
#if defined(CONFORMANCE_FORK)
    if (use_fork) {
      o = run_forked(c, msg);
    } else
#elif defined(CONFORMANCE_SPAWN)
    if (use_fork) {
      o = run_spawned(c, msg);
    } else
#endif
    {
      __atomic_store_n(&watchdog.hang, c->hang, __ATOMIC_RELEASE);
      __atomic_store_n(&watchdog.started, (long)time(NULL), __ATOMIC_RELEASE);
      o = run_here(c, msg) == 0 ? PASSED : FAILED;
      __atomic_store_n(&watchdog.started, 0, __ATOMIC_RELEASE);
    }
    if (o == PASSED) {
      run_passed++;
      report("PASS %s", c->name);
    } else if (o == FAILED) {
      run_failed++;
      report("FAIL %s: %s", c->name, msg);
    } else {
      run_errors++;
      report("ERROR %s: %s", c->name, msg);
    }
  }
  if (wd_started) {
    __atomic_store_n(&watchdog.stop, 1, __ATOMIC_RELEASE);
    pthread_join(wd, NULL);
  }
  summary();
  tpark__conformance_subject = NULL;
  return run_failed + run_errors;
}

int tpark_conformance_main(const tpark_conformance_subject *s, int argc, char **argv) {
  if (s == NULL) {
    fprintf(stderr, "tpark_conformance_main: no subject (NULL)\n");
    return 2;
  }
  tpark_conformance_subject copy = *s;
  size_t cap = 1;
  for (int i = 1; i < argc; i++) cap += strlen(argv[i]) + 1;
  char *only = calloc(1, cap);
  if (only == NULL) {
    fprintf(stderr, "tpark_conformance_main: out of memory\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--list") == 0) {
      for (size_t c = 0; c < tpark__conformance_n_checks; c++) {
        printf("%s\n", tpark__conformance_checks[c].name);
      }
      free(only);
      return 0;
    } else if (strcmp(argv[i], "--no-fork") == 0) {
      copy.flags |= TPARK_CONFORMANCE_NO_FORK;
    } else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: %s [--list] [--no-fork] [CHECK...]\n", argv[0]);
      free(only);
      return 2;
    } else {
      if (only[0] != '\0') strcat(only, ",");
      strcat(only, argv[i]);
    }
  }
  if (only[0] != '\0') copy.only = only;
  int r = tpark_conformance_run(&copy);
  free(only);
  return r < 0 ? 2 : r > 0 ? 1 : 0;
}
