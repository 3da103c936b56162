/* Checked mode for locks: the labels (tpark_checked_label) and the graph of
 * lock order. A node per lock address that was labelled or took part in a
 * nested acquisition; an edge A -> B when a thread took B while holding A,
 * with the first thread that did. Before an edge is added, a search from B
 * looks for a path back to A: one means that some threads take these locks
 * in orders that together can deadlock, and the new edge is the inversion
 * (checked mode reports it; the edge is not added).
 *
 * Everything is under one lock (a tpark_mutex taken without reports), taken only for a label, a
 * forget, a report, or an edge that the acquiring thread has not seen before (each thread caches
 * the edges it added: sync/lock_checks.c). New edges are rare after a program's first moments, so a
 * plain depth-first search per new edge is enough (Abseil's graphcycles keeps a topological order
 * to make it incremental, for graphs far larger than a test's).
 *
 * A lock's memory freed and reused for another lock would inherit the old
 * one's edges: tpark_checked_forget(lock) removes the node, its edges both
 * ways and its label, and bumps the epoch that invalidates every thread's
 * cache. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked_internal.h"
#include "core/internal.h"
#include "sync/lock_checks.h"
#include "sync/mutex_internal.h"
#include "tpark/checked.h"

#define LABEL_MAX 48
#define N_CHAINS 1024u
#define NONE UINT32_MAX

typedef struct edge {
  uint32_t to;
  uint64_t thread; /* the first thread that took them in this order */
} edge;

typedef struct node {
  const void *lock; /* NULL: free */
  uint8_t kind;
  bool kind_known;
  char label[LABEL_MAX]; /* "" when none */
  uint32_t next;         /* in its hash chain, or in the free list */
  edge *edges;
  uint32_t n_edges, cap_edges;
  uint32_t mark; /* the search that last visited it */
  uint32_t from; /* during a search: the node it was reached from */
  uint64_t via;  /* during a search: the thread of that edge */
} node;

/* A tpark_mutex that reports nothing (sync/ uses no OS lock of its own). */
static tpark_mutex graph_lock = TPARK_MUTEX_INIT;
static node *nodes; /* grows; only under graph_lock */
static uint32_t n_nodes, cap_nodes, free_nodes = NONE, search_mark;
static uint32_t chains[N_CHAINS]; /* first node of each chain, NONE when empty */
static bool chains_ready;
static unsigned epoch; /* atomic */

static void lock_graph(void) {
  tpark__mutex_acquire(&graph_lock, TPARK_NEVER);
  if (!chains_ready) {
    for (uint32_t i = 0; i < N_CHAINS; i++) chains[i] = NONE;
    chains_ready = true;
  }
}

static void unlock_graph(void) { tpark__mutex_release(&graph_lock); }

static uint32_t chain_of(const void *lock) {
  return (uint32_t)((((uint64_t)(uintptr_t)lock >> 3) * UINT64_C(0x9E3779B97F4A7C15)) >> 40) %
         N_CHAINS;
}

static uint32_t find(const void *lock) {
  for (uint32_t i = chains[chain_of(lock)]; i != NONE; i = nodes[i].next) {
    if (nodes[i].lock == lock) return i;
  }
  return NONE;
}

static uint32_t find_or_add(const void *lock) {
  uint32_t i = find(lock);
  if (i != NONE) return i;
  if (free_nodes != NONE) {
    i = free_nodes;
    free_nodes = nodes[i].next;
  } else {
    if (n_nodes == cap_nodes) {
      uint32_t cap = cap_nodes != 0 ? cap_nodes * 2 : 64;
      node *grown = realloc(nodes, (size_t)cap * sizeof *grown);
      if (grown == NULL) tpark__fatal("tpark checked: out of memory for the lock-order graph");
      nodes = grown;
      cap_nodes = cap;
    }
    i = n_nodes++;
    nodes[i].edges = NULL;
    nodes[i].cap_edges = 0;
  }
  node *n = &nodes[i];
  n->lock = lock;
  n->kind = 0;
  n->kind_known = false;
  n->label[0] = '\0';
  n->n_edges = 0;
  n->mark = 0;
  n->next = chains[chain_of(lock)];
  chains[chain_of(lock)] = i;
  return i;
}

static void set_kind(uint32_t i, tpark__lock_kind kind) {
  nodes[i].kind = (uint8_t)kind;
  nodes[i].kind_known = true;
}

/* Under graph_lock. */
static const char *describe_locked(const void *lock, tpark__lock_kind kind, char *buf, size_t cap) {
  uint32_t i = find(lock);
  if (i != NONE && nodes[i].label[0] != '\0') {
    snprintf(buf, cap, "%s \"%s\"", tpark__lock_kind_name(kind), nodes[i].label);
  } else {
    snprintf(buf, cap, "%s 0x%" PRIxPTR, tpark__lock_kind_name(kind), (uintptr_t)lock);
  }
  return buf;
}

const char *tpark__checked_describe(const void *lock, tpark__lock_kind kind, char *buf,
                                    size_t cap) {
  lock_graph();
  describe_locked(lock, kind, buf, cap);
  unlock_graph();
  return buf;
}

static const char *describe_node(uint32_t i, char *buf, size_t cap) {
  return describe_locked(nodes[i].lock,
                         nodes[i].kind_known ? (tpark__lock_kind)nodes[i].kind : TPARK__LOCK_MUTEX,
                         buf, cap);
}

unsigned tpark__checked_epoch(void) { return __atomic_load_n(&epoch, __ATOMIC_ACQUIRE); }

/* A path from start to goal along the edges: true when found, each node on
 * it knowing its predecessor (from) and that edge's thread (via). */
static bool search(uint32_t start, uint32_t goal) {
  if (++search_mark == 0) { /* wrapped: no node may keep a mark */
    for (uint32_t i = 0; i < n_nodes; i++) nodes[i].mark = 0;
    search_mark = 1;
  }
  uint32_t *stack = malloc((size_t)n_nodes * sizeof *stack);
  if (stack == NULL) tpark__fatal("tpark checked: out of memory for the lock-order graph");
  size_t top = 0;
  stack[top++] = start;
  nodes[start].mark = search_mark;
  bool found = false;
  while (top > 0 && !found) {
    uint32_t i = stack[--top];
    for (uint32_t k = 0; k < nodes[i].n_edges; k++) {
      uint32_t j = nodes[i].edges[k].to;
      if (nodes[j].mark == search_mark) continue;
      nodes[j].mark = search_mark;
      nodes[j].from = i;
      nodes[j].via = nodes[i].edges[k].thread;
      if (j == goal) {
        found = true;
        break;
      }
      stack[top++] = j;
    }
  }
  free(stack);
  return found;
}

/* The path start -> ... -> goal that search found, as the orders that took
 * it: "thread 1 took mutex "B" while holding mutex "A", ...". */
static void describe_path(uint32_t start, uint32_t goal, char *why, size_t cap) {
  uint32_t path[16];
  size_t n = 0;
  for (uint32_t j = goal; j != start && n < 16; j = nodes[j].from) path[n++] = j;
  size_t used = 0;
  why[0] = '\0';
  for (size_t k = n; k-- > 0 && used < cap;) {
    char a[80], b[80];
    uint32_t j = path[k];
    int w = snprintf(why + used, cap - used, "%sthread %" PRIu64 " took %s while holding %s",
                     k + 1 == n ? "" : ", ", nodes[j].via, describe_node(j, b, sizeof b),
                     describe_node(nodes[j].from, a, sizeof a));
    if (w < 0) break;
    used += (size_t)w;
  }
  if (n == 16 && used < cap) snprintf(why + used, cap - used, ", ...");
}

bool tpark__checked_add_edge(const void *from, tpark__lock_kind from_kind, const void *to,
                             tpark__lock_kind to_kind, uint64_t thread, char *why, size_t cap) {
  lock_graph();
  uint32_t a = find_or_add(from), b = find_or_add(to);
  set_kind(a, from_kind);
  set_kind(b, to_kind);
  for (uint32_t k = 0; k < nodes[a].n_edges; k++) {
    if (nodes[a].edges[k].to == b) {
      unlock_graph();
      return true;
    }
  }
  if (search(b, a)) {
    describe_path(b, a, why, cap);
    unlock_graph();
    return false;
  }
  node *n = &nodes[a];
  if (n->n_edges == n->cap_edges) {
    uint32_t c = n->cap_edges != 0 ? n->cap_edges * 2 : 4;
    edge *grown = realloc(n->edges, (size_t)c * sizeof *grown);
    if (grown == NULL) tpark__fatal("tpark checked: out of memory for the lock-order graph");
    n->edges = grown;
    n->cap_edges = c;
  }
  n->edges[n->n_edges++] = (edge){b, thread};
  unlock_graph();
  return true;
}

void tpark_checked_label(const void *lock, const char *name) {
  if (lock == NULL || !tpark__checked_mode_on()) return;
  lock_graph();
  uint32_t i = name != NULL ? find_or_add(lock) : find(lock);
  if (i != NONE) {
    if (name == NULL) {
      nodes[i].label[0] = '\0';
    } else {
      snprintf(nodes[i].label, sizeof nodes[i].label, "%s", name);
    }
  }
  unlock_graph();
}

void tpark_checked_forget(const void *lock) {
  if (lock == NULL || !tpark__checked_mode_on()) return;
  lock_graph();
  uint32_t i = find(lock);
  if (i != NONE) {
    /* Out of its chain, its edges into it out of every node, then free. */
    uint32_t *link = &chains[chain_of(lock)];
    while (*link != i) link = &nodes[*link].next;
    *link = nodes[i].next;
    for (uint32_t j = 0; j < n_nodes; j++) {
      node *n = &nodes[j];
      if (n->lock == NULL) continue;
      uint32_t kept = 0;
      for (uint32_t k = 0; k < n->n_edges; k++) {
        if (n->edges[k].to != i) n->edges[kept++] = n->edges[k];
      }
      n->n_edges = kept;
    }
    nodes[i].lock = NULL;
    nodes[i].n_edges = 0;
    nodes[i].next = free_nodes;
    free_nodes = i;
    __atomic_add_fetch(&epoch, 1, __ATOMIC_ACQ_REL);
  }
  unlock_graph();
}
