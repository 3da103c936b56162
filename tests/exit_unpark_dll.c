/* A DLL that unparks a parked worker while the process exits: the case of a
 * library whose DllMain(DLL_PROCESS_DETACH) or static destructor wakes its
 * worker threads. By then ExitProcess has ended every other thread, so the
 * worker can never take a keyed-event release. Used by exit_unpark_test.c;
 * Windows only. It links its own copy of tpark, as a real DLL would. */
#include <windows.h>

#include "tpark/tpark.h"

static tpark_parker parker;
static char marker_path[MAX_PATH];
static LONG from_destructor; /* which of the two does the unpark */
static LONG started;

static DWORD WINAPI worker_main(void *arg) {
  HANDLE prepared = arg;
  tpark_prepare_park(&parker);
  SetEvent(prepared);
  tpark_park(&parker); /* until the process ends: nobody unparks it before */
  return 0;
}

/* Writes "unparked <backend>" to the marker file: the unpark returned. Win32
 * calls only (the C runtime may be half shut down at this point). */
static void unpark_worker(void) {
  if (!InterlockedCompareExchange(&started, 0, 0)) return;
  tpark_unpark(tpark_unpark_lock(&parker));
  HANDLE f =
      CreateFileA(marker_path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (f == INVALID_HANDLE_VALUE) return;
  char text[64] = "unparked ";
  lstrcatA(text, tpark_backend_name(&parker));
  DWORD written;
  WriteFile(f, text, (DWORD)lstrlenA(text), &written, NULL);
  CloseHandle(f);
}

/* The DLL's entry points (what a header would declare). */
__declspec(dllexport) const char *exit_unpark_start(const char *marker, int destructor);
BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved);

/* Starts the worker and returns once it is prepared (and about to park).
 * marker: the file to write after the unpark; destructor: unpark from a
 * static destructor instead of DllMain. Returns the backend's name, or NULL
 * if tpark or the thread could not be set up. */
__declspec(dllexport) const char *exit_unpark_start(const char *marker, int destructor) {
  if (lstrlenA(marker) >= MAX_PATH) return NULL;
  lstrcpyA(marker_path, marker);
  if (tpark_init(&parker) != TPARK_OK) return NULL;
  HANDLE prepared = CreateEventA(NULL, TRUE, FALSE, NULL);
  if (prepared == NULL) return NULL;
  HANDLE worker = CreateThread(NULL, 0, worker_main, prepared, 0, NULL);
  if (worker == NULL) return NULL;
  WaitForSingleObject(prepared, INFINITE);
  CloseHandle(prepared);
  CloseHandle(worker);
  /* Give the worker time to enter its wait; the exit must not hang either
   * way (a release with no waiter blocks just the same). */
  Sleep(50);
  InterlockedExchange(&from_destructor, destructor != 0);
  InterlockedExchange(&started, 1);
  return tpark_backend_name(&parker);
}

__attribute__((destructor)) static void exit_unpark_destructor(void) {
  if (InterlockedCompareExchange(&from_destructor, 0, 0)) unpark_worker();
}

BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, LPVOID reserved) {
  (void)dll;
  /* reserved != NULL: the process is exiting (not a FreeLibrary). */
  if (reason == DLL_PROCESS_DETACH && reserved != NULL &&
      !InterlockedCompareExchange(&from_destructor, 0, 0)) {
    unpark_worker();
  }
  return TRUE;
}
