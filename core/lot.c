/* The parking lot (tpark/lot.h), after parking_lot_core's parking_lot.rs.
 *
 * A global hash table of buckets, found through one atomic pointer. Each
 * bucket has a word lock and an intrusive FIFO of the parked threads' data
 * (tpark__thread) whose keys hash to it. The table grows (never shrinks) so
 * that there are at least LOAD_FACTOR buckets per live thread: the grower
 * locks every bucket of the current table, moves every queued thread to the
 * new table, publishes it and unlocks; an operation that locked a bucket of
 * a table that is no longer current unlocks it and starts again. Old tables
 * are never freed (a thread may still be reading one), so each growth leaks
 * the old table by design: at most log2(threads) of them, bounded by the
 * peak number of threads.
 *
 * Bucket locks are word locks (after parking_lot_core's word_lock.rs): one
 * word holding a LOCKED bit, a QUEUE_LOCKED bit and a pointer to a queue of
 * waiting threads, which spin a little and then park on a parker of their
 * own. They need no lot, hence no recursion.
 *
 * Nothing here touches the OS directly: threads sleep on tpark parkers of the
 * default backend; spinning yields through the OS table. */
#include "tpark/lot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/lot_internal.h"
#include "tpark/backend.h"

const tpark_backend *tpark__lot_backend(void) {
  const tpark_backend *b = tpark_default_backend();
  if (b == NULL) {
    tpark__fatal(
        "tpark: parking lot: there is no default backend (see the message above, or "
        "TPARK_BACKEND)");
  }
  return b;
}

void tpark__lot_bind(tpark_parker *p, const tpark_backend *b) {
  if (tpark_init_with(p, b) != TPARK_OK) {
    tpark__fatal(
        "tpark: parking lot: the default backend is not a complete vtable "
        "(tpark_set_default_backend)");
  }
}

tpark_instant tpark_lot_now(void) {
  const tpark_backend *b = tpark__lot_backend();
  return b->now(b);
}

tpark_instant tpark_lot_deadline(uint64_t timeout_ns) {
  return tpark__add_sat(tpark_lot_now(), timeout_ns);
}

/* ---- word lock ---------------------------------------------------------- */

#define WL_LOCKED ((uintptr_t)1)
#define WL_QUEUE_LOCKED ((uintptr_t)2)
#define WL_QUEUE_MASK (~(uintptr_t)3)

typedef struct word_lock {
  uintptr_t state; /* atomic: bits above, | the newest waiter's tpark__thread */
} word_lock;

static void wl_lock_slow(word_lock *l) {
  tpark__spin spin = {0};
  tpark__thread spare, *me = NULL; /* got once it has to queue */
  uintptr_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
  for (;;) {
    /* Take it when free, even past queued threads (they are woken one at a
     * time and race like everyone else: throughput over order, as the
     * critical sections here are a few instructions). */
    if (!(s & WL_LOCKED)) {
      if (__atomic_compare_exchange_n(&l->state, &s, s | WL_LOCKED, true, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED)) {
        if (me != NULL) tpark__thread_done(me); /* out of the queue: done with it */
        return;
      }
      continue;
    }
    if ((s & WL_QUEUE_MASK) == 0 && tpark__spin_once(&spin)) {
      s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
      continue;
    }
    /* Push ourselves at the head; the tail is the next to be woken. Only the
     * first node knows the tail; unlockers fill in the prev links. */
    if (me == NULL) me = tpark__thread_get(&spare);
    tpark__lot_bind(&me->lock_parker, tpark__lot_backend());
    tpark_prepare_park(&me->lock_parker);
    tpark__thread *head = (tpark__thread *)(s & WL_QUEUE_MASK);
    me->lock_prev = NULL;
    if (head == NULL) {
      me->lock_queue_tail = me;
      me->lock_next = NULL;
    } else {
      me->lock_queue_tail = NULL;
      me->lock_next = head;
    }
    if (!__atomic_compare_exchange_n(&l->state, &s, (s & ~WL_QUEUE_MASK) | (uintptr_t)me, true,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      continue; /* not published: nobody will unpark it; next round prepares again */
    }
    tpark_park(&me->lock_parker);
    spin.counter = 0;
    s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
  }
}

static void wl_unlock_slow(word_lock *l) {
  uintptr_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
  for (;;) {
    /* Someone else is already waking a thread, or there is none to wake. */
    if ((s & WL_QUEUE_LOCKED) || (s & WL_QUEUE_MASK) == 0) return;
    if (__atomic_compare_exchange_n(&l->state, &s, s | WL_QUEUE_LOCKED, true, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      break;
    }
  }
  for (;;) {
    /* Find the tail, linking prev pointers on the way. */
    tpark__thread *head = (tpark__thread *)(s & WL_QUEUE_MASK);
    tpark__thread *cur = head, *tail;
    while ((tail = cur->lock_queue_tail) == NULL) {
      tpark__thread *next = cur->lock_next;
      next->lock_prev = cur;
      cur = next;
    }
    head->lock_queue_tail = tail;

    /* Locked again meanwhile: leave the waking to its unlock. */
    if (s & WL_LOCKED) {
      if (__atomic_compare_exchange_n(&l->state, &s, s & ~WL_QUEUE_LOCKED, true, __ATOMIC_RELEASE,
                                      __ATOMIC_ACQUIRE)) {
        return;
      }
      continue;
    }

    tpark__thread *new_tail = tail->lock_prev;
    if (new_tail == NULL) {
      /* The tail is the only waiter: empty the queue and unlock it. If the
       * word changed meanwhile (a push, a lock), decide again. */
      if (!__atomic_compare_exchange_n(&l->state, &s, s & WL_LOCKED, false, __ATOMIC_RELEASE,
                                       __ATOMIC_ACQUIRE)) {
        continue;
      }
    } else {
      head->lock_queue_tail = new_tail;
      __atomic_fetch_and(&l->state, ~WL_QUEUE_LOCKED, __ATOMIC_RELEASE);
    }
    /* The tail is out of the queue and still parked: its data is valid until
     * unpark_lock, after which we do not touch it. */
    tpark_unpark(tpark_unpark_lock(&tail->lock_parker));
    return;
  }
}

static inline void wl_lock(word_lock *l) {
  uintptr_t expected = 0;
  if (!__atomic_compare_exchange_n(&l->state, &expected, WL_LOCKED, true, __ATOMIC_ACQUIRE,
                                   __ATOMIC_RELAXED)) {
    wl_lock_slow(l);
  }
}

static inline void wl_unlock(word_lock *l) {
  uintptr_t s = __atomic_fetch_sub(&l->state, WL_LOCKED, __ATOMIC_RELEASE);
  if ((s & WL_QUEUE_LOCKED) || (s & WL_QUEUE_MASK) == 0) return;
  wl_unlock_slow(l);
}

/* ---- the table ---------------------------------------------------------- */

/* The calling thread while it runs its own before_sleep (tpark_lot_park),
 * else NULL; its data's in_before_sleep is set then too. An unpark there
 * may pick that very thread (a cond's waiter moved onto the mutex it is
 * releasing): it must not unpark its own prepared parker (tpark/tpark.h:
 * keyed_event would wait for ever), so wake_lock tells it to skip its park
 * instead. wake_lock reads this thread-local only for a picked thread that
 * is in a before_sleep (rare), not on every unpark. */
static __thread tpark__thread *in_before_sleep;

#define LOAD_FACTOR 3
#define NS_PER_MS UINT64_C(1000000)

typedef struct bucket {
  word_lock lock;
  tpark__thread *head, *tail; /* FIFO of parked threads (all keys) */
  /* The fair timer: be_fair is set by the first unpark after `fair_at`
   * passes, then fair_at moves 0 to 1 ms ahead (xorshift). */
  tpark_instant fair_at;
  uint32_t seed;
} bucket;

/* A cache line per bucket, so that two locks (and the queues they guard)
 * never share one: padded to a line and aligned to one, the allocation too
 * (new_table). */
#define CACHE_LINE 64

typedef union padded_bucket {
  bucket b;
  char pad[CACHE_LINE];
} __attribute__((aligned(CACHE_LINE))) padded_bucket;

_Static_assert(sizeof(padded_bucket) == CACHE_LINE, "a bucket is one cache line");

typedef struct table {
  padded_bucket *entries; /* CACHE_LINE-aligned, inside memory */
  void *memory;           /* what calloc returned */
  size_t n;               /* a power of two */
  unsigned bits;
  struct table *prev; /* the table it replaced (never freed) */
} table;

static table *current_table; /* atomic */

static size_t hash(const void *key, unsigned bits) {
  /* Fibonacci hashing: the top bits of key * 2^64 / phi. */
  return (size_t)(((uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits));
}

static table *new_table(size_t threads, table *prev) {
  size_t want = threads * LOAD_FACTOR, n = 16;
  unsigned bits = 4;
  while (n < want) {
    n <<= 1;
    bits++;
  }
  table *t = malloc(sizeof *t);
  /* malloc and calloc align to 16 bytes at most (8 on 32-bit Windows), and
   * aligned_alloc is not in every C library tpark builds with (msvcrt):
   * allocate a line more and start at the first line boundary inside. */
  if (n > (SIZE_MAX - (CACHE_LINE - 1)) / sizeof(padded_bucket))
    tpark__fatal("tpark: parking lot: the hash table is too big");
  char *memory = calloc(1, n * sizeof(padded_bucket) + (CACHE_LINE - 1));
  if (t == NULL || memory == NULL)
    tpark__fatal("tpark: parking lot: out of memory for the hash table");
  uintptr_t start = ((uintptr_t)memory + (CACHE_LINE - 1)) & ~(uintptr_t)(CACHE_LINE - 1);
  padded_bucket *e = (padded_bucket *)(memory + (start - (uintptr_t)memory));
  for (size_t i = 0; i < n; i++) e[i].b.seed = (uint32_t)i + 1; /* xorshift needs != 0 */
  t->entries = e;
  t->memory = memory;
  t->n = n;
  t->bits = bits;
  t->prev = prev;
  return t;
}

static table *get_table(void) {
  table *t = __atomic_load_n(&current_table, __ATOMIC_ACQUIRE);
  if (t != NULL) return t;
  table *fresh = new_table(LOAD_FACTOR, NULL);
  if (__atomic_compare_exchange_n(&current_table, &t, fresh, false, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE)) {
    return fresh;
  }
  free(fresh->memory); /* another thread published first; t is its table */
  free(fresh);
  return t;
}

static void append(bucket *b, tpark__thread *t) {
  t->next_in_queue = NULL;
  if (b->tail != NULL) {
    b->tail->next_in_queue = t;
  } else {
    b->head = t;
  }
  b->tail = t;
}

static const void *key_of(tpark__thread *t) { return __atomic_load_n(&t->key, __ATOMIC_RELAXED); }

/* Grows the table for `threads` live threads, if it is too small. */
static void grow(size_t threads) {
  table *old;
  for (;;) {
    old = get_table();
    if (old->n >= LOAD_FACTOR * threads) return;
    for (size_t i = 0; i < old->n; i++) wl_lock(&old->entries[i].b.lock);
    if (__atomic_load_n(&current_table, __ATOMIC_ACQUIRE) == old) break;
    for (size_t i = 0; i < old->n; i++) wl_unlock(&old->entries[i].b.lock);
  }
  table *t = new_table(threads, old);
  /* Moving each old queue in order keeps every key's FIFO order: one key's
   * threads are all in one old bucket and all go to one new bucket. */
  for (size_t i = 0; i < old->n; i++) {
    tpark__thread *cur = old->entries[i].b.head;
    while (cur != NULL) {
      tpark__thread *next = cur->next_in_queue;
      append(&t->entries[hash(key_of(cur), t->bits)].b, cur);
      cur = next;
    }
    old->entries[i].b.head = old->entries[i].b.tail = NULL;
  }
  __atomic_store_n(&current_table, t, __ATOMIC_RELEASE);
  for (size_t i = 0; i < old->n; i++) wl_unlock(&old->entries[i].b.lock);
}

size_t tpark__lot_table_size(void) {
  table *t = __atomic_load_n(&current_table, __ATOMIC_ACQUIRE);
  return t != NULL ? t->n : 0;
}

/* The calling thread's data (or *spare, see tpark__thread_get), after
 * growing the table for it if it is new. Called before any bucket lock is
 * taken (growing takes them all). */
static tpark__thread *enter(tpark__thread *spare) {
  tpark__thread *me = tpark__thread_get(spare);
  if (me->grow_pending) {
    me->grow_pending = false;
    grow(tpark__thread_live());
  }
  return me;
}

/* Locks key's bucket in the current table. */
static bucket *lock_bucket(const void *key) {
  for (;;) {
    table *t = get_table();
    bucket *b = &t->entries[hash(key, t->bits)].b;
    wl_lock(&b->lock);
    if (__atomic_load_n(&current_table, __ATOMIC_RELAXED) == t) return b;
    wl_unlock(&b->lock); /* the table grew meanwhile */
  }
}

/* Locks the bucket of the key t is parked on, which a requeue may change
 * until we hold the bucket lock; *key is that key. */
static bucket *lock_bucket_of(tpark__thread *t, const void **key) {
  for (;;) {
    const void *k = key_of(t);
    table *tb = get_table();
    bucket *b = &tb->entries[hash(k, tb->bits)].b;
    wl_lock(&b->lock);
    if (__atomic_load_n(&current_table, __ATOMIC_RELAXED) == tb && key_of(t) == k) {
      *key = k;
      return b;
    }
    wl_unlock(&b->lock);
  }
}

/* Locks the buckets of two keys, in index order; *b1 may equal *b2. */
static void lock_bucket_pair(const void *k1, const void *k2, bucket **b1, bucket **b2) {
  for (;;) {
    table *t = get_table();
    size_t h1 = hash(k1, t->bits), h2 = hash(k2, t->bits);
    bucket *first = &t->entries[h1 <= h2 ? h1 : h2].b;
    wl_lock(&first->lock);
    if (__atomic_load_n(&current_table, __ATOMIC_RELAXED) != t) {
      wl_unlock(&first->lock);
      continue;
    }
    if (h1 == h2) {
      *b1 = *b2 = first;
    } else {
      bucket *second = &t->entries[h1 <= h2 ? h2 : h1].b;
      wl_lock(&second->lock); /* the table cannot change while we hold first */
      *b1 = h1 < h2 ? first : second;
      *b2 = h1 < h2 ? second : first;
    }
    return;
  }
}

static void unlock_bucket_pair(bucket *b1, bucket *b2) {
  wl_unlock(&b1->lock);
  if (b2 != b1) wl_unlock(&b2->lock);
}

size_t tpark__lot_queued(const void *key) {
  bucket *b = lock_bucket(key);
  size_t n = 0;
  for (tpark__thread *cur = b->head; cur != NULL; cur = cur->next_in_queue) {
    if (key_of(cur) == key) n++;
  }
  wl_unlock(&b->lock);
  return n;
}

/* Removes cur from b's queue; prev is the node before it (NULL: head). */
static void unlink_after(bucket *b, tpark__thread *prev, tpark__thread *cur) {
  tpark__thread *next = cur->next_in_queue;
  if (prev != NULL) {
    prev->next_in_queue = next;
  } else {
    b->head = next;
  }
  if (b->tail == cur) b->tail = prev;
}

void tpark__lot_leave(void) {
  in_before_sleep = NULL; /* it may be leaving from inside one */
  tpark__thread spare, *me = tpark__thread_get(&spare);
  me->woke_itself = false;
  __atomic_store_n(&me->in_before_sleep, false, __ATOMIC_RELAXED);
  const void *key;
  bucket *b = lock_bucket_of(me, &key);
  tpark__thread *prev = NULL;
  for (tpark__thread *cur = b->head; cur != NULL; prev = cur, cur = cur->next_in_queue) {
    if (cur == me) {
      unlink_after(b, prev, cur);
      break;
    }
  }
  wl_unlock(&b->lock);
  tpark__thread_done(me);
}

static bool any_with_key(tpark__thread *from, const void *key) {
  for (; from != NULL; from = from->next_in_queue) {
    if (key_of(from) == key) return true;
  }
  return false;
}

static bool fair_timer_off; /* atomic */

void tpark__lot_set_fair_timer(bool on) {
  __atomic_store_n(&fair_timer_off, !on, __ATOMIC_RELAXED);
}

/* The fair timer of b, read on the clock of the parker being woken. */
static bool fair_timer_fires(bucket *b, const tpark_parker *woken) {
  if (__atomic_load_n(&fair_timer_off, __ATOMIC_RELAXED)) return false;
  tpark_instant now = tpark_now(woken);
  /* A legitimate fair_at is at most 1 ms past now; one further ahead was set
   * on another clock (the default backend changed): treat it as expired. */
  if (now > b->fair_at || b->fair_at - now > NS_PER_MS) {
    uint32_t x = b->seed;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b->seed = x;
    b->fair_at = tpark__add_sat(now, x % NS_PER_MS);
    return true;
  }
  return false;
}

/* Unpark handles collected under a bucket lock, used after unlocking it
 * (tpark_unpark may block until the woken thread waits, and a timed-out
 * thread may be waiting for this very lock). */
typedef struct handles {
  tpark_unpark_handle *h;
  size_t n, cap;
  tpark_unpark_handle local[8];
} handles;

static void handles_init(handles *hs) {
  hs->h = hs->local;
  hs->n = 0;
  hs->cap = sizeof hs->local / sizeof hs->local[0];
}

static void handles_push(handles *hs, tpark_unpark_handle h) {
  if (hs->n == hs->cap) {
    tpark_unpark_handle *bigger = malloc(2 * hs->cap * sizeof *bigger);
    if (bigger == NULL) tpark__fatal("tpark: parking lot: out of memory for unpark handles");
    memcpy(bigger, hs->h, hs->n * sizeof *bigger);
    if (hs->h != hs->local) free(hs->h);
    hs->h = bigger;
    hs->cap *= 2;
  }
  hs->h[hs->n++] = h;
}

static void handles_unpark(handles *hs) {
  for (size_t i = 0; i < hs->n; i++) tpark_unpark(hs->h[i]);
  if (hs->h != hs->local) free(hs->h);
}

/* The unpark_lock of a thread taken out of its queue (its token set), to be
 * followed by tpark_unpark after the bucket lock is released; the zero
 * handle, which does nothing, for the caller itself. */
static tpark_unpark_handle wake_lock(tpark__thread *t) {
  /* Set only by t itself: when the caller is t, it reads its own store. */
  if (__atomic_load_n(&t->in_before_sleep, __ATOMIC_RELAXED) && t == in_before_sleep) {
    t->woke_itself = true;
    tpark_unpark_handle none = {NULL, NULL};
    return none;
  }
  return tpark_unpark_lock(&t->parker);
}

/* ---- the operations ----------------------------------------------------- */

tpark_lot_park_result tpark_lot_park(const void *key, bool (*validate)(void *ctx),
                                     void (*before_sleep)(void *ctx),
                                     void (*timed_out)(void *ctx, const void *key, bool was_last),
                                     void *ctx, uintptr_t park_token, tpark_instant deadline) {
  tpark_lot_park_result r = {TPARK_LOT_UNPARKED, TPARK_LOT_DEFAULT_UNPARK_TOKEN};
  tpark__thread spare, *me = enter(&spare);
  tpark__lot_bind(&me->parker, tpark__lot_backend());

  bucket *b = lock_bucket(key);
  if (validate != NULL && !validate(ctx)) {
    wl_unlock(&b->lock);
    tpark__thread_done(me);
    r.status = TPARK_LOT_INVALID;
    return r;
  }
  __atomic_store_n(&me->key, key, __ATOMIC_RELAXED);
  me->park_token = park_token;
  me->unpark_token = TPARK_LOT_DEFAULT_UNPARK_TOKEN;
  tpark_prepare_park(&me->parker);
  append(b, me);
  wl_unlock(&b->lock);

  if (before_sleep != NULL) {
    in_before_sleep = me;
    __atomic_store_n(&me->in_before_sleep, true, __ATOMIC_RELAXED);
    before_sleep(ctx);
    __atomic_store_n(&me->in_before_sleep, false, __ATOMIC_RELAXED);
    in_before_sleep = NULL;
    if (me->woke_itself) { /* out of the queue already, token set */
      me->woke_itself = false;
      r.unpark_token = me->unpark_token;
      tpark__thread_done(me);
      return r;
    }
  }

  bool unparked = true;
  if (deadline == TPARK_NEVER) {
    tpark_park(&me->parker);
  } else {
    unparked = tpark_park_until(&me->parker, deadline);
  }
  if (!unparked) {
    const void *k;
    b = lock_bucket_of(me, &k);
    if (tpark_timed_out(&me->parker)) {
      /* Still queued: leave, and tell whether k has waiters left. */
      bool was_last = true;
      tpark__thread *prev = NULL;
      for (tpark__thread *cur = b->head; cur != me; prev = cur, cur = cur->next_in_queue) {
        if (key_of(cur) == k) was_last = false;
      }
      if (was_last && any_with_key(me->next_in_queue, k)) was_last = false;
      unlink_after(b, prev, me);
      if (timed_out != NULL) timed_out(ctx, k, was_last);
      wl_unlock(&b->lock);
      tpark__thread_done(me);
      r.status = TPARK_LOT_TIMED_OUT;
      return r;
    }
    /* An unpark won the race: it took us out of the queue and set the token. */
    wl_unlock(&b->lock);
  }
  r.unpark_token = me->unpark_token;
  tpark__thread_done(me);
  return r;
}

tpark_lot_unpark_result tpark_lot_unpark_one(
    const void *key, uintptr_t (*callback)(void *ctx, tpark_lot_unpark_result result), void *ctx) {
  tpark_lot_unpark_result r = {0, 0, false, false};
  bucket *b = lock_bucket(key);
  tpark__thread *prev = NULL, *cur = b->head;
  while (cur != NULL && key_of(cur) != key) {
    prev = cur;
    cur = cur->next_in_queue;
  }
  if (cur == NULL) {
    if (callback != NULL) callback(ctx, r);
    wl_unlock(&b->lock);
    return r;
  }
  unlink_after(b, prev, cur);
  r.unparked_threads = 1;
  r.have_more_threads = any_with_key(cur->next_in_queue, key);
  r.be_fair = fair_timer_fires(b, &cur->parker);
  cur->unpark_token = callback != NULL ? callback(ctx, r) : TPARK_LOT_DEFAULT_UNPARK_TOKEN;
  tpark_unpark_handle h = wake_lock(cur);
  wl_unlock(&b->lock);
  tpark_unpark(h);
  return r;
}

size_t tpark_lot_unpark_all(const void *key, uintptr_t unpark_token) {
  handles hs;
  handles_init(&hs);
  bucket *b = lock_bucket(key);
  tpark__thread *prev = NULL, *cur = b->head;
  while (cur != NULL) {
    tpark__thread *next = cur->next_in_queue;
    if (key_of(cur) == key) {
      unlink_after(b, prev, cur);
      cur->unpark_token = unpark_token;
      handles_push(&hs, wake_lock(cur));
    } else {
      prev = cur;
    }
    cur = next;
  }
  wl_unlock(&b->lock);
  size_t n = hs.n;
  handles_unpark(&hs);
  return n;
}

tpark_lot_unpark_result tpark_lot_unpark_requeue(
    const void *from, const void *to, tpark_lot_requeue_op (*validate)(void *ctx),
    uintptr_t (*callback)(void *ctx, tpark_lot_requeue_op op, tpark_lot_unpark_result result),
    void *ctx) {
  tpark_lot_unpark_result r = {0, 0, false, false};
  bucket *bf, *bt;
  lock_bucket_pair(from, to, &bf, &bt);
  tpark_lot_requeue_op op = validate != NULL ? validate(ctx) : TPARK_LOT_REQUEUE_ALL;
  if (op == TPARK_LOT_REQUEUE_ABORT) {
    unlock_bucket_pair(bf, bt);
    return r;
  }
  bool wake_one = op == TPARK_LOT_UNPARK_ONE_REQUEUE_REST || op == TPARK_LOT_UNPARK_ONE;
  bool just_one = op == TPARK_LOT_UNPARK_ONE || op == TPARK_LOT_REQUEUE_ONE;
  tpark__thread *woken = NULL, *moved_head = NULL, *moved_tail = NULL;
  tpark__thread *prev = NULL, *cur = bf->head;
  while (cur != NULL) {
    tpark__thread *next = cur->next_in_queue;
    if (key_of(cur) != from) {
      prev = cur;
      cur = next;
      continue;
    }
    unlink_after(bf, prev, cur);
    if (wake_one && woken == NULL) {
      woken = cur;
      r.unparked_threads = 1;
    } else {
      /* Collected aside and appended to `to`'s bucket at the end, so that a
       * same-bucket requeue does not visit them again. */
      __atomic_store_n(&cur->key, to, __ATOMIC_RELAXED);
      cur->next_in_queue = NULL;
      if (moved_tail != NULL) {
        moved_tail->next_in_queue = cur;
      } else {
        moved_head = cur;
      }
      moved_tail = cur;
      r.requeued_threads++;
    }
    if (just_one) {
      r.have_more_threads = any_with_key(next, from);
      break;
    }
    cur = next;
  }
  if (moved_head != NULL) {
    if (bt->tail != NULL) {
      bt->tail->next_in_queue = moved_head;
    } else {
      bt->head = moved_head;
    }
    bt->tail = moved_tail;
  }
  if (woken != NULL) r.be_fair = fair_timer_fires(bf, &woken->parker);
  uintptr_t token = callback != NULL ? callback(ctx, op, r) : TPARK_LOT_DEFAULT_UNPARK_TOKEN;
  if (woken != NULL) {
    woken->unpark_token = token;
    tpark_unpark_handle h = wake_lock(woken);
    unlock_bucket_pair(bf, bt);
    tpark_unpark(h);
  } else {
    unlock_bucket_pair(bf, bt);
  }
  return r;
}

tpark_lot_unpark_result tpark_lot_unpark_filter(
    const void *key, tpark_lot_filter_op (*filter)(void *ctx, uintptr_t park_token),
    uintptr_t (*callback)(void *ctx, tpark_lot_unpark_result result), void *ctx) {
  tpark_lot_unpark_result r = {0, 0, false, false};
  bucket *b = lock_bucket(key);
  /* The chosen threads, unlinked and chained through next_in_queue; they
   * stay parked (and their data valid) until their unpark_lock below. */
  tpark__thread *chosen = NULL, *chosen_tail = NULL;
  tpark__thread *prev = NULL, *cur = b->head;
  while (cur != NULL) {
    tpark__thread *next = cur->next_in_queue;
    if (key_of(cur) == key) {
      tpark_lot_filter_op op =
          filter != NULL ? filter(ctx, cur->park_token) : TPARK_LOT_FILTER_UNPARK;
      if (op == TPARK_LOT_FILTER_UNPARK) {
        unlink_after(b, prev, cur);
        cur->next_in_queue = NULL;
        if (chosen_tail != NULL) {
          chosen_tail->next_in_queue = cur;
        } else {
          chosen = cur;
        }
        chosen_tail = cur;
        r.unparked_threads++;
        cur = next;
        continue;
      }
      r.have_more_threads = true;
      if (op == TPARK_LOT_FILTER_STOP) break;
    }
    prev = cur;
    cur = next;
  }
  if (chosen != NULL) r.be_fair = fair_timer_fires(b, &chosen->parker);
  uintptr_t token = callback != NULL ? callback(ctx, r) : TPARK_LOT_DEFAULT_UNPARK_TOKEN;
  handles hs;
  handles_init(&hs);
  for (cur = chosen; cur != NULL;) {
    tpark__thread *next = cur->next_in_queue; /* read before it may wake */
    cur->unpark_token = token;
    handles_push(&hs, wake_lock(cur));
    cur = next;
  }
  wl_unlock(&b->lock);
  handles_unpark(&hs);
  return r;
}
