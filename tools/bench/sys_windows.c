/* parkbench's OS helpers on Windows (and under Wine). */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */

#include <fcntl.h>
#include <io.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "tools/bench/sys.h"

static int64_t qpc_frequency;

void sys_init(void) {
  LARGE_INTEGER f;
  QueryPerformanceFrequency(&f);
  qpc_frequency = f.QuadPart;
  _setmode(_fileno(stdout), _O_BINARY); /* \n, not \r\n */
}

/* QueryPerformanceCounter in ns, as the Windows backends compute it. */
uint64_t now_ns(void) {
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  uint64_t t = (uint64_t)c.QuadPart, f = (uint64_t)qpc_frequency;
  return t / f * NS_PER_SEC + t % f * NS_PER_SEC / f;
}

/* GetThreadTimes counts in scheduler ticks (~15 ms): too coarse. */
uint64_t thread_cpu_ns(void) { return now_ns(); }

void yield_cpu(void) { SwitchToThread(); }

void sleep_ms(unsigned ms) { Sleep(ms); }

bool stderr_is_tty(void) { return _isatty(_fileno(stderr)); }

int allowed_cpus(int *first) {
  DWORD_PTR process, system;
  *first = 0;
  if (!GetProcessAffinityMask(GetCurrentProcess(), &process, &system) || process == 0) return 1;
  int n = 0;
  for (int i = (int)sizeof process * 8 - 1; i >= 0; i--) {
    if (process >> i & 1) {
      n++;
      *first = i;
    }
  }
  return n;
}

void pin_self(int cpu) {
  if (SetThreadAffinityMask(GetCurrentThread(), (DWORD_PTR)1 << cpu) == 0) {
    die("SetThreadAffinityMask(CPU %d) failed: %lu", cpu, (unsigned long)GetLastError());
  }
}

/* Bytes in use on the C runtime heap (where tpark's malloc goes). */
int64_t heap_in_use(void) {
  _HEAPINFO hi;
  int64_t used = 0;
  int st;
  hi._pentry = NULL;
  while ((st = _heapwalk(&hi)) == _HEAPOK) {
    if (hi._useflag == _USEDENTRY) used += (int64_t)hi._size;
  }
  return st == _HEAPEND || st == _HEAPEMPTY ? used : -1;
}

long os_handles(void) {
  DWORD n;
  return GetProcessHandleCount(GetCurrentProcess(), &n) ? (long)n : -1;
}

const char *handles_what(void) { return "handles"; }

const char *os_name(void) { return "windows"; }

const char *wine_version(void) {
  typedef const char *(CDECL * wine_get_version_fn)(void);
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  FARPROC f = ntdll ? GetProcAddress(ntdll, "wine_get_version") : NULL;
  return f ? ((wine_get_version_fn)(void (*)(void))f)() : NULL;
}

void *aligned_zalloc(size_t size, size_t align) {
  void *p = _aligned_malloc(size, align);
  if (p == NULL) die("out of memory");
  memset(p, 0, size);
  return p;
}

void aligned_free(void *p) { _aligned_free(p); }

#endif /* _WIN32 */
