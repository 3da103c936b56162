#include "tests/expect_abort.h"

#if defined(TPARK_HAVE_EXPECT_ABORT)
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void expect_abort(void (*fn)(void), const char *const *want, size_t n) {
  char path[] = "/tmp/tpark_abort_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  unlink(path);
  fflush(stderr);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(fd, 2);
    fn();
    _exit(0); /* not reached when fn aborts */
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  char msg[512] = {0};
  ck_assert_int_ge(pread(fd, msg, sizeof msg - 1, 0), 0);
  close(fd);
  ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                "the child did not abort (status %d); it said: %s", status, msg);
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(strstr(msg, want[i]) != NULL, "message \"%s\" lacks \"%s\"", msg, want[i]);
  }
}
#endif /* TPARK_HAVE_EXPECT_ABORT */
