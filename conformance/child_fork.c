/* The conformance suite on POSIX: each check in a fork()ed child, which
 * sends its failure through a pipe; alarm() is the check's timeout. A crash,
 * a hang or a sanitizer's exit status fails that check only. */
#if !defined(_WIN32)
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance/internal.h"

#define MSG_CAP TPARK__CONFORMANCE_MSG_CAP

static int result_fd = -1; /* in a child: its end of the pipe */

static void send_to_parent(const char *msg) __attribute__((noreturn));
static void send_to_parent(const char *msg) {
  /* One write below PIPE_BUF: atomic even if two threads fail at once. */
  ssize_t w = write(result_fd, msg, strlen(msg));
  (void)w;
  fflush(stderr);
  _Exit(1);
}

bool tpark__conformance_child_entry(void) { return false; }

enum tpark__conformance_outcome tpark__conformance_run_in_child(
    const struct tpark__conformance_check *c, char *msg) {
  int fds[2];
  if (pipe(fds) != 0) {
    snprintf(msg, MSG_CAP, SETUP ": pipe failed (errno %d)", errno);
    return TPARK__CONFORMANCE_ERRED;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(msg, MSG_CAP, SETUP ": fork failed (errno %d)", errno);
    close(fds[0]);
    close(fds[1]);
    return TPARK__CONFORMANCE_ERRED;
  }
  if (pid == 0) {
    close(fds[0]);
    result_fd = fds[1];
    tpark__conformance_become_child(send_to_parent);
    alarm(tpark__conformance_timeout_s());
    if (tpark__conformance_run_here(c, msg) != 0) send_to_parent(msg);
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
      return TPARK__CONFORMANCE_ERRED;
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && len == 0) return TPARK__CONFORMANCE_PASSED;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && len > 0) return TPARK__CONFORMANCE_FAILED;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    snprintf(msg, MSG_CAP, "%s: no result after %u s (timeout)", c->hang,
             tpark__conformance_timeout_s());
  } else if (WIFSIGNALED(status)) {
    snprintf(msg, MSG_CAP, "crashed: signal %d (%s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
  } else {
    snprintf(msg, MSG_CAP,
             "exited with status %d, no failure reported (a sanitizer's report on stderr?)",
             WEXITSTATUS(status));
  }
  return TPARK__CONFORMANCE_ERRED;
}

#endif /* !_WIN32 */
