/* Each thread's lot data (core/lot_internal.h), in a pthread key: created on
 * the thread's first need, freed by the key's destructor when the thread
 * exits, so a thread that parks and exits leaves nothing behind. On Windows
 * the key is winpthreads', whose TLS callback runs the destructors at thread
 * exit, also for threads not created with pthread_create.
 *
 * The key is created when the program (or the library holding tpark) is
 * loaded, not on the first lot call: that call may come from another
 * library's key destructor, and winpthreads runs destructors holding its key
 * lock for reading, which pthread_key_create takes for writing: the exiting
 * thread would wait for itself, and every later pthread_key_create with it.
 * (FlsAlloc with a callback would avoid winpthreads' lock too, but Windows
 * and Wine run FLS callbacks at thread exit before the DLL_THREAD_DETACH
 * notifications, among them winpthreads' TLS callback that runs the key
 * destructors: lot calls from those would find their data released all the
 * same. One mechanism on every OS is simpler.) pthread_once stays on the
 * path for code that uses the lot from an earlier constructor.
 *
 * Lot calls after the key's destructor ran (from other keys' destructors, in
 * that round or a later one): as parking_lot does while thread-local storage
 * is torn down, such a call gets data of its own on the caller's stack
 * (tpark__thread_get's spare), counted as live for the length of the call.
 * Re-creating the data in the key instead leaked it (and its count, which
 * sizes the lot's table) whenever that happened in the last destructor
 * round. Knowing that the thread is exiting takes a flag that the key's
 * destructor sets in storage living as long as the thread: a __thread
 * variable; on Windows a Win32 TLS slot, because mingw's __thread is emulated
 * with a pthread key of its own, torn down at exit like ours.
 *
 * What remains: a thread whose very first lot call comes from a destructor
 * in the last round (possible only if another library sets its key again
 * for PTHREAD_DESTRUCTOR_ITERATIONS rounds) creates data that no destructor
 * frees: nothing in pthreads runs after that round to tell. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/lot_internal.h"

#if defined(_WIN32)
#include <windows.h>
#endif

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_error;
static size_t live; /* atomic */

/* Set by the key's destructor: the calling thread is exiting. */
#if defined(_WIN32)
static DWORD exiting_slot = TLS_OUT_OF_INDEXES;

static bool exiting(void) {
  DWORD saved = GetLastError(); /* TlsGetValue clears it; keep the caller's */
  bool yes = TlsGetValue(exiting_slot) != NULL;
  SetLastError(saved);
  return yes;
}

static void set_exiting(void) {
  if (!TlsSetValue(exiting_slot, (void *)1)) tpark__fatal("tpark: parking lot: TlsSetValue failed");
}
#else
static __thread bool exiting_flag;

static bool exiting(void) { return exiting_flag; }

static void set_exiting(void) { exiting_flag = true; }
#endif

static bool (*exit_hook)(tpark__thread *t, unsigned round); /* atomic */

void tpark__thread_set_exit_hook(bool (*hook)(tpark__thread *t, unsigned round)) {
  __atomic_store_n(&exit_hook, hook, __ATOMIC_RELEASE);
}

/* At thread exit. Nothing can reference t: a thread exits only when it is
 * not parked, and a woken thread is out of every queue. Kept for another
 * round when the exit hook asks (the key set again: the implementation calls
 * this destructor again in its next round). */
static void release(void *p) {
  tpark__thread *t = p;
  bool (*hook)(tpark__thread *, unsigned) = __atomic_load_n(&exit_hook, __ATOMIC_ACQUIRE);
  if (hook != NULL && hook(t, ++t->exit_rounds) && pthread_setspecific(key, t) == 0) return;
  free(t);
  __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
  set_exiting();
}

static void create_key(void) {
  key_error = pthread_key_create(&key, release);
#if defined(_WIN32)
  if (key_error == 0) {
    exiting_slot = TlsAlloc();
    if (exiting_slot == TLS_OUT_OF_INDEXES) key_error = -1;
  }
#endif
}

__attribute__((constructor)) static void create_key_at_load(void) {
  pthread_once(&key_once, create_key);
}

tpark__thread *tpark__thread_get(tpark__thread *spare) {
  pthread_once(&key_once, create_key);
  if (key_error != 0) tpark__fatal("tpark: parking lot: pthread_key_create (or TlsAlloc) failed");
  tpark__thread *t = pthread_getspecific(key);
  if (t != NULL) return t;
  if (exiting()) {
    memset(spare, 0, sizeof *spare);
    t = spare;
    t->temporary = true;
  } else {
    t = calloc(1, sizeof *t);
    if (t == NULL) tpark__fatal("tpark: parking lot: out of memory for a thread's data");
    if (pthread_setspecific(key, t) != 0)
      tpark__fatal("tpark: parking lot: pthread_setspecific failed");
  }
  t->grow_pending = true;
  __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
  return t;
}

void tpark__thread_uncount(void) { __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED); }

size_t tpark__thread_live(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }
