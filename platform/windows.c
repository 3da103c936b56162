/* The real Windows functions of the OS table. Only kernel32 functions that
 * every Windows has are linked; the rest is looked up by name at run time. */
#if defined(_WIN32)

#include <stdlib.h>
#include <windows.h>

#include "platform/os.h"

char *tpark__real_getenv(const char *name) { return getenv(name); }

void *TPARK__WINAPI tpark__real_GetModuleHandleA(const char *module) {
  return (void *)GetModuleHandleA(module);
}

tpark_os_fn TPARK__WINAPI tpark__real_GetProcAddress(void *module, const char *proc) {
  return (tpark_os_fn)GetProcAddress((HMODULE)module, proc);
}

int TPARK__WINAPI tpark__real_CloseHandle(void *handle) { return CloseHandle((HANDLE)handle); }

uint32_t TPARK__WINAPI tpark__real_GetLastError(void) { return GetLastError(); }

int TPARK__WINAPI tpark__real_QueryPerformanceCounter(int64_t *count) {
  LARGE_INTEGER li;
  BOOL ok = QueryPerformanceCounter(&li);
  *count = li.QuadPart;
  return ok;
}

int TPARK__WINAPI tpark__real_QueryPerformanceFrequency(int64_t *frequency) {
  LARGE_INTEGER li;
  BOOL ok = QueryPerformanceFrequency(&li);
  *frequency = li.QuadPart;
  return ok;
}

void TPARK__WINAPI tpark__real_Sleep(uint32_t ms) { Sleep(ms); }

#endif /* _WIN32 */
