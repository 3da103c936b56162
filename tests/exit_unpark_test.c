/* The process-exit case of the keyed_event backend, for real (Windows, or
 * Wine): a DLL (exit_unpark_dll.c) unparks a parked worker from
 * DllMain(DLL_PROCESS_DETACH) or from a static destructor while the process
 * exits. The worker thread is already gone then, so a keyed-event release
 * would wait for ever; tpark must skip it and the process must exit.
 *
 * Each case runs in a child process (tests/child.h) with TPARK_BACKEND set,
 * under a watchdog: a child still alive after it is killed and the case
 * fails (the hang), instead of hanging the test. The child's marker file
 * proves that the unpark ran and returned. Windows only. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "tests/child.h"
#include "tests/run_suite.h"

/* Generous: an exit takes well under a second, even under a loaded Wine. */
#define WATCHDOG_S 30

static char dll_path[MAX_PATH];

typedef const char *(*start_fn)(const char *marker, int destructor);

/* Where the child writes that its unpark returned. */
static void marker_path(char *out, size_t cap, const char *backend, const char *mode) {
  char temp[MAX_PATH];
  ck_assert_uint_ne(GetTempPathA(sizeof temp, temp), 0);
  snprintf(out, cap, "%stpark_exit_%s_%s.txt", temp, backend, mode);
}

/* The child (tests/child.h): loads the DLL, whose worker parks, and returns:
 * the child then exits (exit -> ExitProcess: the worker dies, then the DLL
 * detaches and unparks it). Backend and mode come from the environment. */
static void child_main(void) {
  const char *backend = getenv("TPARK_BACKEND"), *mode = getenv("EXIT_UNPARK_MODE");
  if (backend == NULL || mode == NULL) exit(6);
  char marker[MAX_PATH];
  marker_path(marker, sizeof marker, backend, mode);
  HMODULE m = LoadLibraryA(dll_path);
  if (m == NULL) {
    fprintf(stderr, "child: LoadLibrary(%s) failed: %lu\n", dll_path, GetLastError());
    exit(3);
  }
  start_fn start = (start_fn)(void (*)(void))GetProcAddress(m, "exit_unpark_start");
  if (start == NULL) exit(4);
  const char *name = start(marker, strcmp(mode, "destructor") == 0);
  if (name == NULL) exit(5);
  fprintf(stderr, "child: worker parked on %s; exiting\n", name);
}

/* Runs one child with TPARK_BACKEND=backend; fails unless it exits with 0
 * within the watchdog and its marker says "unparked <backend>". */
static void run_child(const char *backend, const char *mode) {
  char marker[MAX_PATH];
  marker_path(marker, sizeof marker, backend, mode);
  DeleteFileA(marker);
  ck_assert(SetEnvironmentVariableA("TPARK_BACKEND", backend));
  ck_assert(SetEnvironmentVariableA("EXIT_UNPARK_MODE", mode));
  DWORD t0 = GetTickCount();
  child_result r = child_run(child_main, NULL, WATCHDOG_S);
  SetEnvironmentVariableA("TPARK_BACKEND", NULL);
  SetEnvironmentVariableA("EXIT_UNPARK_MODE", NULL);
  char what[64];
  printf("%s/%s: child %s after %lu ms\n", backend, mode, child_describe(&r, what, sizeof what),
         GetTickCount() - t0);
  ck_assert_msg(!r.timed_out,
                "%s, unpark from %s: the process did not exit within %d s (hang at exit)", backend,
                mode, WATCHDOG_S);
  ck_assert_msg(r.exited && r.exit_code == 0, "%s/%s: child %s; it said: %s", backend, mode, what,
                r.err);
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
