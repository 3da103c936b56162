/* Internal header (not installed): what the three files of checked mode for
 * locks share. sync/lock_checks.c watches every lock operation (an observer
 * of sync/observe.h) and keeps one record per thread: the locks it holds and
 * the one it waits for; sync/lock_order.c keeps the labels and the graph of
 * lock order ("held A, then took B"); sync/lock_deadlocks.c reads the
 * records for tpark_checked_deadlocks.
 *
 * A record is written only by its own thread. Other threads (the deadlock
 * scan, a message naming the holder of a lock) read it as a seqlock: seq is
 * odd while its thread changes the record, and every field they read is
 * accessed atomically. Records are never freed: a thread's record goes back
 * to the pool at its exit and a later thread takes it, so a reader never
 * touches freed memory. */
#ifndef TPARK_SYNC_LOCK_CHECKS_H
#define TPARK_SYNC_LOCK_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/observe.h"

/* Locks one thread can hold at once with every check on; beyond that the
 * further ones are counted, not tracked, and the unlocks the record cannot
 * match are trusted (never a false report). */
#define TPARK__CHECKED_MAX_HELD 64

typedef struct tpark__held {
  const void *lock; /* atomic */
  uint8_t kind;     /* atomic: tpark__lock_kind */
  uint8_t mode;     /* atomic: tpark__lock_mode */
  uint32_t count;   /* a recursive mutex's locks; an rwlock's read locks */
} tpark__held;

/* Remembered pairs "held A, then took B" already in the graph: repeated
 * nested acquisitions skip the graph's lock. */
#define TPARK__CHECKED_EDGE_CACHE 64

typedef struct tpark__checked_record {
  struct tpark__checked_record *next; /* the list of all records; never changes once linked */
  bool in_use;                        /* atomic: a thread owns the record */
  uint64_t thread;                    /* atomic: its number in messages (tpark__checked_thread) */
  unsigned seq;                       /* atomic: odd while the owner changes the fields below */
  const void *waiting;                /* atomic: the lock it waits for without deadline */
  uint8_t waiting_kind;               /* atomic */
  uint8_t waiting_mode;               /* atomic */
  size_t n_held;                      /* atomic */
  size_t untracked;                   /* locks held beyond the table (owner only) */
  tpark__held held[TPARK__CHECKED_MAX_HELD];
  struct {
    const void *from, *to;
    unsigned epoch;
  } edges[TPARK__CHECKED_EDGE_CACHE]; /* owner only */
} tpark__checked_record;

/* The first record of the list of all records (each one's next), for
 * readers. */
tpark__checked_record *tpark__checked_records(void);

/* A consistent copy of r's fields that others read (false: r changed
 * meanwhile or is unused; try again). seq gets the version copied. */
typedef struct tpark__record_copy {
  unsigned seq;
  uint64_t thread;
  const void *waiting;
  uint8_t waiting_kind, waiting_mode;
  size_t n_held;
  tpark__held held[TPARK__CHECKED_MAX_HELD];
} tpark__record_copy;
bool tpark__checked_copy(tpark__checked_record *r, tpark__record_copy *out);

/* The record's version now (compare with a copy's seq). */
unsigned tpark__checked_seq(tpark__checked_record *r);

/* "mutex \"queue\"" (its label) or "mutex 0x55d0c0ffee10" into buf. */
const char *tpark__checked_describe(const void *lock, tpark__lock_kind kind, char *buf, size_t cap);

/* The graph's epoch: tpark_checked_forget bumps it, which empties every
 * thread's cache of edges. */
unsigned tpark__checked_epoch(void);

/* Adds "held from, then took to" by thread, unless present. False when that
 * edge closes a cycle: then the edge is not added and why[] holds the
 * earlier orders that it inverts, in words for the report. */
bool tpark__checked_add_edge(const void *from, tpark__lock_kind from_kind, const void *to,
                             tpark__lock_kind to_kind, uint64_t thread, char *why, size_t cap);

#endif /* TPARK_SYNC_LOCK_CHECKS_H */
