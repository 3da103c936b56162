/* The process-exit case of the keyed_event backend, for real (Windows, or
 * Wine): a DLL (exit_unpark_dll.c) unparks a parked worker from
 * DllMain(DLL_PROCESS_DETACH) or from a static destructor while the process
 * exits. The worker thread is already gone then, so a keyed-event release
 * would wait for ever; tpark must skip it and the process must exit.
 *
 * Each case runs this program again as a child ("child DLL MARKER MODE")
 * with TPARK_BACKEND set, and waits for it with a watchdog: a child still
 * alive after the watchdog is killed and the case fails (the hang), instead
 * of hanging the test. The child's marker file proves that the unpark ran
 * and returned. Windows only. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "tests/run_suite.h"

/* Generous: an exit takes well under a second, even under a loaded Wine. */
#define WATCHDOG_MS 30000

static char dll_path[MAX_PATH];

typedef const char *(*start_fn)(const char *marker, int destructor);

static int child_main(const char *dll, const char *marker, const char *mode) {
  HMODULE m = LoadLibraryA(dll);
  if (m == NULL) {
    fprintf(stderr, "child: LoadLibrary(%s) failed: %lu\n", dll, GetLastError());
    return 3;
  }
  start_fn start = (start_fn)(void (*)(void))GetProcAddress(m, "exit_unpark_start");
  if (start == NULL) return 4;
  const char *name = start(marker, strcmp(mode, "destructor") == 0);
  if (name == NULL) return 5;
  printf("child: worker parked on %s; exiting\n", name);
  fflush(stdout);
  return 0; /* exit -> ExitProcess: the worker dies, then the DLL detaches */
}

/* Runs one child with TPARK_BACKEND=backend; fails unless it exits with 0
 * within the watchdog and its marker says "unparked <backend>". */
static void run_child(const char *backend, const char *mode) {
  char self[MAX_PATH], marker[MAX_PATH], cmd[4 * MAX_PATH];
  ck_assert_uint_ne(GetModuleFileNameA(NULL, self, sizeof self), 0);
  char temp[MAX_PATH];
  ck_assert_uint_ne(GetTempPathA(sizeof temp, temp), 0);
  snprintf(marker, sizeof marker, "%stpark_exit_%s_%s.txt", temp, backend, mode);
  DeleteFileA(marker);
  snprintf(cmd, sizeof cmd, "\"%s\" child \"%s\" \"%s\" %s", self, dll_path, marker, mode);
  ck_assert(SetEnvironmentVariableA("TPARK_BACKEND", backend));
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  DWORD t0 = GetTickCount();
  ck_assert_msg(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi),
                "CreateProcess failed: %lu", GetLastError());
  SetEnvironmentVariableA("TPARK_BACKEND", NULL);
  CloseHandle(pi.hThread);
  DWORD waited = WaitForSingleObject(pi.hProcess, WATCHDOG_MS);
  if (waited == WAIT_TIMEOUT) TerminateProcess(pi.hProcess, 99);
  DWORD code = 0;
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  printf("%s/%s: child exited with %lu after %lu ms\n", backend, mode, code, GetTickCount() - t0);
  ck_assert_msg(waited == WAIT_OBJECT_0,
                "%s, unpark from %s: the process did not exit within %d s (hang at exit)", backend,
                mode, WATCHDOG_MS / 1000);
  ck_assert_msg(code == 0, "%s/%s: child exit code %lu", backend, mode, code);
  char text[64] = "";
  FILE *f = fopen(marker, "r");
  ck_assert_msg(f != NULL, "%s/%s: no marker: the unpark at exit never returned", backend, mode);
  ck_assert_ptr_nonnull(fgets(text, sizeof text, f));
  fclose(f);
  DeleteFileA(marker);
  char want[64];
  snprintf(want, sizeof want, "unparked %s", backend);
  ck_assert_str_eq(text, want);
}

START_TEST(keyed_event_unpark_from_dllmain_exits) { run_child("keyed_event", "dllmain"); }
END_TEST

START_TEST(keyed_event_unpark_from_destructor_exits) { run_child("keyed_event", "destructor"); }
END_TEST

START_TEST(waitaddress_unpark_from_dllmain_exits) { run_child("waitaddress", "dllmain"); }
END_TEST

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "child") == 0) return child_main(argv[2], argv[3], argv[4]);
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH_OF_exit_unpark.dll\n", argv[0]);
    return 2;
  }
  /* The runfiles path, relative to the working directory, as a full path. */
  if (GetFullPathNameA(argv[1], sizeof dll_path, dll_path, NULL) == 0) {
    fprintf(stderr, "GetFullPathName(%s) failed: %lu\n", argv[1], GetLastError());
    return 2;
  }
  for (char *c = dll_path; *c != '\0'; c++) {
    if (*c == '/') *c = '\\';
  }
  Suite *s = suite_create("exit_unpark");
  TCase *tc = new_tcase("process_exit");
  tcase_add_test(tc, keyed_event_unpark_from_dllmain_exits);
  tcase_add_test(tc, keyed_event_unpark_from_destructor_exits);
  tcase_add_test(tc, waitaddress_unpark_from_dllmain_exits);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
