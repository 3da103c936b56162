/* The conformance suite on Windows, which has no fork(): each check runs in
 * this program started again (CreateProcess, the same command line) with
 * TPARK_CONFORMANCE_CHILD="<run>:<check>:<pipe handle>" in its environment.
 * In the child, the <run>-th call of tpark_conformance_run runs that one
 * check, sends its failure through the inherited pipe and ends the process;
 * the earlier calls return at once. The parent times the child out. */
#if defined(_WIN32)

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "conformance/internal.h"

#define MSG_CAP TPARK__CONFORMANCE_MSG_CAP
#define CHILD_ENV "TPARK_CONFORMANCE_CHILD"

static unsigned run_count;   /* calls of tpark_conformance_run in this process */
static HANDLE result_handle; /* in a child: its end of the pipe */

static void send_to_parent(const char *msg) __attribute__((noreturn));
static void send_to_parent(const char *msg) {
  /* One write: atomic even if two threads fail at once. */
  DWORD w;
  WriteFile(result_handle, msg, (DWORD)strlen(msg), &w, NULL);
  fflush(stderr);
  _Exit(1);
}

enum tpark__conformance_outcome tpark__conformance_run_in_child(
    const struct tpark__conformance_check *c, char *msg) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE rd, wr;
  if (!CreatePipe(&rd, &wr, &sa, 0)) {
    snprintf(msg, MSG_CAP, SETUP ": CreatePipe failed (%lu)", (unsigned long)GetLastError());
    return TPARK__CONFORMANCE_ERRED;
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
            SetEnvironmentVariableA(CHILD_ENV, value);
  DWORD err = GetLastError();
  /* Under Wine on a loaded machine, CreateProcess now and then fails at once
   * (ERROR_INTERNAL_ERROR, 1359) and works when tried again. */
  for (int attempt = 1; ok && attempt <= 5; attempt++) {
    if (CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) break;
    err = GetLastError();
    if (attempt == 5) ok = FALSE;
    Sleep(100u * (DWORD)attempt);
  }
  SetEnvironmentVariableA(CHILD_ENV, NULL);
  free(cmd);
  CloseHandle(wr);
  if (!ok) {
    CloseHandle(rd);
    snprintf(msg, MSG_CAP, SETUP ": cannot start a child process (%lu)", (unsigned long)err);
    return TPARK__CONFORMANCE_ERRED;
  }
  CloseHandle(pi.hThread);
  enum tpark__conformance_outcome o = TPARK__CONFORMANCE_ERRED;
  unsigned timeout_s = tpark__conformance_timeout_s();
  if (WaitForSingleObject(pi.hProcess, timeout_s * 1000u) == WAIT_TIMEOUT) {
    TerminateProcess(pi.hProcess, 3);
    WaitForSingleObject(pi.hProcess, INFINITE);
    snprintf(msg, MSG_CAP, "%s: no result after %u s (timeout)", c->hang, timeout_s);
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
      o = TPARK__CONFORMANCE_PASSED;
    } else if (code == 1 && len > 0) {
      o = TPARK__CONFORMANCE_FAILED;
    } else {
      snprintf(msg, MSG_CAP, "%s with code 0x%lx, no failure reported",
               code >= 0xC0000000u ? "crashed" : "exited", (unsigned long)code);
    }
  }
  CloseHandle(pi.hProcess);
  CloseHandle(rd);
  return o;
}

bool tpark__conformance_child_entry(void) {
  run_count++;
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
  result_handle = (HANDLE)(uintptr_t)handle;
  tpark__conformance_become_child(send_to_parent);
  for (size_t i = 0; i < tpark__conformance_n_checks; i++) {
    if (strcmp(tpark__conformance_checks[i].name, name) == 0) {
      char msg[MSG_CAP] = "";
      if (tpark__conformance_run_here(&tpark__conformance_checks[i], msg) != 0) {
        send_to_parent(msg);
      }
      exit(0);
    }
  }
  send_to_parent(SETUP ": the parent asked for an unknown check");
}

#endif /* _WIN32 */
