/* Backend selection: the built-ins, one instance of each per process, and
 * the process default. Lock-free: a thread that loses a publication race
 * releases what it created (e.g. its keyed-event handle). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/builtin.h"
#include "core/checked_internal.h"
#include "core/internal.h"
#include "core/testing.h"
#include "platform/os.h"
#include "tpark/tpark.h"

/* The built-ins, in order of preference (backends/builtin.h); each reports
 * TPARK_ENOTSUP where it cannot exist, so one list serves every OS. */
#define TPARK__ACCESSOR(name) tpark__##name##_builtin,
static const tpark__builtin *(*const builtins[])(void) = {TPARK__BUILTINS(TPARK__ACCESSOR)};
#undef TPARK__ACCESSOR
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

static tpark_backend *instances[N_BUILTINS]; /* atomic; created on demand */
static const tpark_backend *set_default;     /* atomic; tpark_set_default_backend */

/* The automatic choice, atomic, made once: 0 while not made, else either a
 * backend pointer (even) or a failure status s encoded as (-s << 1) | 1. */
static uintptr_t auto_choice;

static tpark_status instance(size_t i, const tpark_backend **out) {
  tpark_backend *b = __atomic_load_n(&instances[i], __ATOMIC_ACQUIRE);
  if (b == NULL) {
    tpark_backend *fresh = malloc(sizeof *fresh);
    if (fresh == NULL) return TPARK_ENOBACKEND;
    tpark_status s = builtins[i]()->create(fresh);
    if (s != TPARK_OK) {
      free(fresh);
      return s;
    }
    if (__atomic_compare_exchange_n(&instances[i], &b, fresh, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      b = fresh;
    } else { /* another thread published first: b is its instance */
      builtins[i]()->destroy(fresh);
      free(fresh);
    }
  }
  *out = b;
  return TPARK_OK;
}

tpark_status tpark_select_backend(const char *name, const tpark_backend **out) {
  if (out != NULL) *out = NULL;
  if (name == NULL || out == NULL) return TPARK_EINVAL;
  for (size_t i = 0; i < N_BUILTINS; i++) {
    if (strcmp(builtins[i]()->name, name) == 0) return instance(i, out);
  }
  return TPARK_EINVAL;
}

/* TPARK_BACKEND's backend if set (its value in *forced), else the first
 * built-in that works. */
static tpark_status choose(const tpark_backend **out, const char **forced) {
  *forced = tpark_os(getenv)("TPARK_BACKEND");
  if (*forced != NULL && (*forced)[0] != '\0') return tpark_select_backend(*forced, out);
  for (size_t i = 0; i < N_BUILTINS; i++) {
    if (instance(i, out) == TPARK_OK) return TPARK_OK;
  }
  return TPARK_ENOBACKEND;
}

static tpark_status decode(uintptr_t choice, const tpark_backend **out) {
  if (choice & 1) {
    *out = NULL;
    return (tpark_status) - (int)(choice >> 1);
  }
  *out = (const tpark_backend *)choice;
  return TPARK_OK;
}

/* Says on stderr, in one write, why there is no default: the reason
 * tpark_init fails. When TPARK_BACKEND forced a backend, only that one was
 * tried, and the message says so. */
static void report_no_default(tpark_status s, const char *forced) {
  if (forced == NULL || forced[0] == '\0') {
    fprintf(stderr, "tpark: no default backend (TPARK_BACKEND unset): %s\n", tpark_status_str(s));
    return;
  }
  if (s == TPARK_EINVAL) {
    char names[128] = "";
    for (size_t i = 0; i < N_BUILTINS; i++) {
      size_t used = strlen(names);
      snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", builtins[i]()->name);
    }
    fprintf(stderr,
            "tpark: TPARK_BACKEND=\"%s\" names no built-in backend (%s); "
            "no other backend was tried\n",
            forced, names);
    return;
  }
  fprintf(stderr,
          "tpark: TPARK_BACKEND=\"%s\" forces the %s backend and it cannot be set up: %s; "
          "no other backend was tried\n",
          forced, forced,
          s == TPARK_ENOTSUP
              ? "this system lacks the OS functions it needs (TPARK_ENOTSUP)"
              : "an OS call of its setup failed or memory ran out (TPARK_ENOBACKEND)");
}

static tpark_status automatic_default(const tpark_backend **out) {
  uintptr_t choice = __atomic_load_n(&auto_choice, __ATOMIC_ACQUIRE);
  if (choice == 0) {
    const tpark_backend *b;
    const char *forced;
    tpark_status s = choose(&b, &forced);
    if (s == TPARK_OK) s = tpark__checked_default(&b); /* TPARK_CHECKED */
    uintptr_t mine = s == TPARK_OK ? (uintptr_t)b : ((uintptr_t)-s << 1) | 1;
    if (__atomic_compare_exchange_n(&auto_choice, &choice, mine, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
      choice = mine;
      if (s != TPARK_OK) report_no_default(s, forced); /* once per process */
    }
  }
  return decode(choice, out);
}

/* The default and, when there is none, why (tpark_init's status). */
static tpark_status default_backend(const tpark_backend **out) {
  *out = __atomic_load_n(&set_default, __ATOMIC_ACQUIRE);
  return *out != NULL ? tpark__checked_default(out) : automatic_default(out);
}

const tpark_backend *tpark_default_backend(void) {
  const tpark_backend *b;
  default_backend(&b);
  return b;
}

tpark_status tpark_init(tpark_parker *p) {
  const tpark_backend *b;
  if (p == NULL) return TPARK_EINVAL;
  tpark_status s = default_backend(&b);
  return s == TPARK_OK ? tpark_init_with(p, b) : s;
}

/* The process default if it is set or already chosen, else NULL; unlike
 * tpark_default_backend, never makes the choice. */
static const tpark_backend *default_if_chosen(void) {
  const tpark_backend *b = __atomic_load_n(&set_default, __ATOMIC_ACQUIRE);
  if (b == NULL) decode(__atomic_load_n(&auto_choice, __ATOMIC_ACQUIRE), &b);
  return b;
}

void tpark_thread_yield(void) {
  /* Never the first choice of the default: a yield must not create a
   * keyed-event handle or report a failed choice on stderr. */
  const tpark_backend *b = default_if_chosen();
  if (b != NULL) {
    b->thread_yield(b);
  } else {
    tpark__os_yield();
  }
}

const tpark_backend *tpark__exchange_set_default(const tpark_backend *b) {
  return __atomic_exchange_n(&set_default, b, __ATOMIC_ACQ_REL);
}

const tpark_backend *tpark_set_default_backend(const tpark_backend *b) {
  const tpark_backend *previous = tpark__exchange_set_default(b);
  if (previous == NULL) decode(__atomic_load_n(&auto_choice, __ATOMIC_ACQUIRE), &previous);
  return previous;
}

void tpark__selection_reset(void) {
  for (size_t i = 0; i < N_BUILTINS; i++) {
    if (instances[i] != NULL) {
      builtins[i]()->destroy(instances[i]);
      free(instances[i]);
      instances[i] = NULL;
    }
  }
  set_default = NULL;
  auto_choice = 0;
  tpark__checked_mode_reset();
}
