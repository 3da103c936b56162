/* tpark_checked_deadlocks (tpark/checked.h): a cycle of threads each
 * waiting, without a deadline, for a lock that the next one holds.
 *
 * The records (sync/lock_checks.h) are copied one by one, each consistent
 * on its own (its seqlock); a cycle among the copies is then confirmed by
 * reading each of its threads' versions again: unchanged, each thread's
 * state lasted from its copy to that second read, and every copy was made
 * before the first second read, so there was one instant at which all of
 * them held at once, and at that instant the threads were deadlocked (what
 * a record says it holds it holds, and what it waits for it cannot have
 * taken while another thread holds it). A thread stuck in such a cycle
 * never changes its record again, so a real deadlock is always confirmed. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sync/lock_checks.h"
#include "tpark/checked.h"

typedef struct snapshot {
  tpark__checked_record **rec;
  tpark__record_copy *copy;
  size_t n;
} snapshot;

static void take(snapshot *s) {
  size_t cap = 0;
  for (tpark__checked_record *r = tpark__checked_records(); r != NULL; r = r->next) cap++;
  s->n = 0;
  s->rec = malloc((cap + 1) * sizeof *s->rec);
  s->copy = malloc((cap + 1) * sizeof *s->copy);
  if (s->rec == NULL || s->copy == NULL) tpark__fatal("tpark checked: out of memory");
  for (tpark__checked_record *r = tpark__checked_records(); r != NULL && s->n < cap; r = r->next) {
    for (int attempt = 0; attempt < 1000; attempt++) {
      if (tpark__checked_copy(r, &s->copy[s->n])) {
        s->rec[s->n++] = r;
        break;
      }
      if (!__atomic_load_n(&r->in_use, __ATOMIC_ACQUIRE)) break;
    }
  }
}

static void drop(snapshot *s) {
  free(s->rec);
  free(s->copy);
}

/* Does holder hold lock in a way that keeps a waiter in mode out? */
static bool blocks(const tpark__record_copy *holder, const void *lock, uint8_t mode) {
  for (size_t i = 0; i < holder->n_held; i++) {
    const tpark__held *h = &holder->held[i];
    if (h->lock != lock) continue;
    /* Readers do not keep out a reader (an upgradable reader keeps out
     * another upgradable one and writers only). */
    if (mode == TPARK__MODE_SHARED && h->mode != TPARK__MODE_EXCLUSIVE) continue;
    if (mode == TPARK__MODE_UPGRADABLE && h->mode == TPARK__MODE_SHARED) continue;
    return true;
  }
  return false;
}

/* A cycle in "waits for a lock that the other holds": its threads' indices
 * in order into cycle[], their count returned (0: none). */
static size_t find_cycle(const snapshot *s, size_t *cycle) {
  size_t n = s->n;
  if (n == 0) return 0;
  /* Depth-first from each thread; state 0 unvisited, 1 on the path, 2 done. */
  unsigned char *state = calloc(n, 1);
  size_t *path = malloc(n * sizeof *path), *next = malloc(n * sizeof *next);
  if (state == NULL || path == NULL || next == NULL) tpark__fatal("tpark checked: out of memory");
  size_t found = 0;
  for (size_t start = 0; start < n && found == 0; start++) {
    if (state[start] != 0) continue;
    size_t depth = 0;
    path[depth] = start;
    next[depth] = 0;
    state[start] = 1;
    while (depth != (size_t)-1 && found == 0) {
      size_t t = path[depth];
      const tpark__record_copy *w = &s->copy[t];
      size_t j = next[depth]++;
      if (w->waiting == NULL || j >= n) {
        state[t] = 2;
        depth--;
        continue;
      }
      if (j == t || !blocks(&s->copy[j], w->waiting, w->waiting_mode)) continue;
      if (state[j] == 1) { /* back on the path: the cycle is path[k..depth] */
        size_t k = 0;
        while (path[k] != j) k++;
        for (size_t i = k; i <= depth; i++) cycle[found++] = path[i];
      } else if (state[j] == 0) {
        state[j] = 1;
        path[++depth] = j;
        next[depth] = 0;
      }
    }
  }
  free(state);
  free(path);
  free(next);
  return found;
}

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(*len < cap ? buf + *len : NULL, *len < cap ? cap - *len : 0, fmt, ap);
  va_end(ap);
  if (w > 0) *len += (size_t)w;
}

size_t tpark_checked_deadlocks(char *buf, size_t cap) {
  if (buf == NULL) cap = 0;
  if (cap > 0) buf[0] = '\0';
  for (int attempt = 0; attempt < 10; attempt++) {
    snapshot s;
    take(&s);
    size_t *cycle = malloc((s.n + 1) * sizeof *cycle);
    if (cycle == NULL) tpark__fatal("tpark checked: out of memory");
    size_t n = find_cycle(&s, cycle);
    bool confirmed = n > 0;
    for (size_t i = 0; i < n && confirmed; i++) {
      confirmed = tpark__checked_seq(s.rec[cycle[i]]) == s.copy[cycle[i]].seq;
    }
    size_t len = 0;
    if (confirmed) {
      append(buf, cap, &len, "deadlock of %lu threads: ", (unsigned long)n);
      for (size_t i = 0; i < n; i++) {
        const tpark__record_copy *w = &s.copy[cycle[i]], *h = &s.copy[cycle[(i + 1) % n]];
        char lock[96];
        append(buf, cap, &len, "%sthread %" PRIu64 " waits for %s, which thread %" PRIu64 " %s",
               i == 0 ? "" : "; ", w->thread,
               tpark__checked_describe(w->waiting, (tpark__lock_kind)w->waiting_kind, lock,
                                       sizeof lock),
               h->thread, w->waiting_kind == TPARK__LOCK_ONCE ? "is running" : "holds");
      }
    }
    free(cycle);
    drop(&s);
    if (confirmed) return len;
    if (n == 0) return 0;
  }
  return 0; /* a cycle every time, never twice the same: threads are moving */
}
