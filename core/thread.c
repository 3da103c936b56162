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
 * path for code that uses the lot from an earlier constructor. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/lot_internal.h"

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_error;
static size_t live; /* atomic */

static void fail(const char *what) {
  fprintf(stderr, "tpark: parking lot: %s\n", what);
  fflush(stderr);
  abort();
}

/* At thread exit. Nothing can reference t: a thread exits only when it is
 * not parked, and a woken thread is out of every queue. If a later key
 * destructor uses the lot again, the data is created afresh and this
 * destructor runs once more. */
static void release(void *t) {
  free(t);
  __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
}

static void create_key(void) { key_error = pthread_key_create(&key, release); }

__attribute__((constructor)) static void create_key_at_load(void) {
  pthread_once(&key_once, create_key);
}

tpark__thread *tpark__thread_current(void) {
  pthread_once(&key_once, create_key);
  if (key_error != 0) fail("pthread_key_create failed");
  tpark__thread *t = pthread_getspecific(key);
  if (t != NULL) return t;
  t = calloc(1, sizeof *t);
  if (t == NULL) fail("out of memory for a thread's data");
  if (pthread_setspecific(key, t) != 0) fail("pthread_setspecific failed");
  t->grow_pending = true;
  __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
  return t;
}

size_t tpark__thread_live(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }
