/* tests/child.h: a function in a child process; fork() on POSIX, this
 * program started again on Windows. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "tests/child.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#endif

const char *child_describe(const child_result *r, char *buf, size_t cap) {
  if (r->timed_out) {
    snprintf(buf, cap, "timed out after %u s", r->timeout_s);
  } else if (r->aborted) {
    snprintf(buf, cap, "aborted");
  } else if (r->exited) {
    snprintf(buf, cap, "exited with status %d", r->exit_code);
  } else {
    snprintf(buf, cap, "killed by signal %d", r->signal);
  }
  return buf;
}

void expect_abort(void (*fn)(void), void (*setup)(void), const char *const *want, size_t n) {
  child_result r = child_run(fn, setup, 60);
  char what[64];
  ck_assert_msg(r.aborted, "the child did not abort (%s); it said: %s",
                child_describe(&r, what, sizeof what), r.err);
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(strstr(r.err, want[i]) != NULL, "message \"%s\" lacks \"%s\"", r.err, want[i]);
  }
}

#if defined(_WIN32)

/* The functions travel as offsets from the program's load address: the same
 * in the parent and the child (the same .exe), wherever ASLR puts it. */
#define CHILD_ENV "TPARK_TEST_CHILD"

static uintptr_t base(void) { return (uintptr_t)GetModuleHandleA(NULL); }

/* In the child: setup and fn as one Check test, so that their assertions
 * work as in the parent. */
static void (*serve_setup)(void), (*serve_fn)(void);

START_TEST(child_test) {
  if (serve_setup != NULL) serve_setup();
  serve_fn();
}
END_TEST

void child_serve(void) {
  const char *env = getenv(CHILD_ENV);
  if (env == NULL || env[0] == '\0') return;
  unsigned long long fn_at, setup_at;
  if (sscanf(env, "%llx:%llx", &fn_at, &setup_at) != 2 || fn_at == 0) {
    fprintf(stderr, "child: bad %s=%s\n", CHILD_ENV, env);
    exit(2);
  }
  serve_fn = (void (*)(void))(base() + (uintptr_t)fn_at);
  serve_setup = setup_at != 0 ? (void (*)(void))(base() + (uintptr_t)setup_at) : NULL;
  Suite *s = suite_create("child");
  TCase *tc = tcase_create("child");
  tcase_add_test(tc, child_test);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run(sr, "child", "child", CK_SILENT); /* names given: CK_RUN_* do not apply */
  int failed = srunner_ntests_failed(sr);
  if (failed) { /* Check's report goes to stdout; the parent reads stderr */
    TestResult *tr = srunner_failures(sr)[0];
    fprintf(stderr, "child: %s:%d: %s\n", tr_lfile(tr), tr_lno(tr), tr_msg(tr));
  }
  fflush(NULL);
  exit(failed ? 1 : 0); /* as main's return: atexit handlers, then ExitProcess */
}

child_result child_run(void (*fn)(void), void (*setup)(void), unsigned timeout_s) {
  child_result r;
  memset(&r, 0, sizeof r);
  r.timeout_s = timeout_s;
  char dir[MAX_PATH], file[MAX_PATH];
  ck_assert_uint_gt(GetTempPathA(sizeof dir, dir), 0);
  ck_assert_uint_gt(GetTempFileNameA(dir, "tpk", 0, file), 0);
  SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
  HANDLE err = CreateFileA(file, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                           &inherit, CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, NULL);
  ck_assert_msg(err != INVALID_HANDLE_VALUE, "child: CreateFile(%s) failed: %lu", file,
                GetLastError());
  char value[64];
  snprintf(value, sizeof value, "%llx:%llx", (unsigned long long)((uintptr_t)fn - base()),
           setup != NULL ? (unsigned long long)((uintptr_t)setup - base()) : 0ull);
  static char exe[MAX_PATH];
  ck_assert_uint_gt(GetModuleFileNameA(NULL, exe, sizeof exe), 0);
  char *cmd = _strdup(GetCommandLineA()); /* CreateProcessA may write to it */
  ck_assert_ptr_nonnull(cmd);
  STARTUPINFOA si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
  si.hStdError = err;
  PROCESS_INFORMATION pi;
  fflush(NULL);
  ck_assert(SetEnvironmentVariableA(CHILD_ENV, value));
  /* Under Wine on a loaded machine, CreateProcess now and then fails at once
   * (ERROR_INTERNAL_ERROR, 1359) and works when tried again. */
  BOOL started = FALSE;
  DWORD start_error = 0;
  for (int attempt = 1; !started && attempt <= 5; attempt++) {
    started = CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    if (!started) {
      start_error = GetLastError();
      Sleep(100u * (DWORD)attempt);
    }
  }
  SetEnvironmentVariableA(CHILD_ENV, NULL);
  free(cmd);
  CloseHandle(err);
  ck_assert_msg(started, "child: CreateProcess failed: %lu", start_error);
  CloseHandle(pi.hThread);
  if (WaitForSingleObject(pi.hProcess, timeout_s * 1000u) == WAIT_TIMEOUT) {
    TerminateProcess(pi.hProcess, 99);
    WaitForSingleObject(pi.hProcess, INFINITE);
    r.timed_out = true;
  }
  DWORD code = 0;
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  if (!r.timed_out) {
    r.aborted = code == 3; /* the C runtime's abort() */
    r.exited = !r.aborted;
    r.exit_code = (int)code;
  }
  FILE *f = fopen(file, "rb");
  if (f != NULL) {
    size_t got = fread(r.err, 1, sizeof r.err - 1, f);
    r.err[got] = '\0';
    fclose(f);
  }
  DeleteFileA(file);
  return r;
}

#else /* POSIX */

void child_serve(void) {}

static double seconds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

child_result child_run(void (*fn)(void), void (*setup)(void), unsigned timeout_s) {
  (void)setup; /* the child is a copy of this process: set up already */
  child_result r;
  memset(&r, 0, sizeof r);
  r.timeout_s = timeout_s;
  char path[] = "/tmp/tpark_child_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_msg(fd >= 0, "child: mkstemp failed (errno %d)", errno);
  unlink(path);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_msg(pid >= 0, "child: fork failed (errno %d)", errno);
  if (pid == 0) {
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(NULL);
    _exit(0); /* not the parent's atexit handlers */
  }
  /* Polled, so that a child that hangs is killed after the timeout. */
  int status = 0;
  double deadline = seconds_now() + timeout_s;
  pid_t done;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 || (done < 0 && errno == EINTR)) {
    if (seconds_now() >= deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      r.timed_out = true;
      break;
    }
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  ck_assert_msg(r.timed_out || done == pid, "child: waitpid failed (errno %d)", errno);
  if (!r.timed_out) {
    r.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    r.exited = WIFEXITED(status);
    r.exit_code = r.exited ? WEXITSTATUS(status) : 0;
    r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  ssize_t got = pread(fd, r.err, sizeof r.err - 1, 0);
  r.err[got > 0 ? got : 0] = '\0';
  close(fd);
  return r;
}

#endif /* _WIN32 */
