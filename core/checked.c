/* Checked mode (tpark/checked.h): a wrapper backend that checks the cycle
 * rules, with its bookkeeping in two process-wide tables:
 *
 * - the side table: per parker address, the cycle's state and the thread
 *   that prepared it. Fixed size, one lock per bucket; when a bucket is full
 *   its least recently used entry whose owner is not parked is forgotten, and
 *   a bit of the bucket's "forgotten" filter marks that address (and the few
 *   others that share the bit) as unknown: a missing entry with that bit set
 *   is trusted, one without it is a parker nobody initialised.
 * - the unpark records: one per tpark_unpark_lock until its tpark_unpark. A
 *   handle is a value that can be copied and used twice, so its token is the
 *   record's index and generation; an unpark frees the record and bumps the
 *   generation, and a second unpark with the same token no longer matches.
 *
 * Every check happens before the call is forwarded, so a misuse aborts
 * before the wrapped backend can hang on it. */
#include "tpark/checked.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked_internal.h"
#include "core/internal.h"
#include "core/testing.h"
#include "platform/os.h"

/* ---- the wrappers -------------------------------------------------------- */

typedef struct checked {
  tpark_backend backend; /* what users get; its context points here */
  const tpark_backend *inner;
  struct checked *next; /* the registry: one wrapper per inner address */
} checked;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static checked *registry; /* never freed: wrappers live as long as the process */

static const tpark_backend *inner_of(const tpark_backend *self) {
  return ((const checked *)self->context)->inner;
}

/* ---- threads ------------------------------------------------------------- */

/* Small numbers, never reused (unlike thread handles), for the messages. */
static uint64_t last_thread_id; /* atomic */
static __thread uint64_t thread_id;

static uint64_t me(void) {
  if (thread_id == 0) thread_id = __atomic_add_fetch(&last_thread_id, 1, __ATOMIC_RELAXED);
  return thread_id;
}

/* ---- violations ---------------------------------------------------------- */

/* One line, then abort. parker 0: not known (a stale handle). */
static void violation(const char *rule, const char *call, uintptr_t parker,
                      const tpark_backend *self, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 5, 6)));
static void violation(const char *rule, const char *call, uintptr_t parker,
                      const tpark_backend *self, const char *fmt, ...) {
  char detail[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  char where[32] = "unknown";
  if (parker != 0) snprintf(where, sizeof where, "0x%" PRIxPTR, parker);
  tpark__fatal("tpark checked: rule \"%s\" broken by %s(parker %s) on backend %s, thread %" PRIu64
               ": %s",
               rule, call, where, inner_of(self)->name, me(), detail);
}

/* ---- the side table ------------------------------------------------------ */

enum state {
  FREE = 0, /* slot unused */
  UNKNOWN,  /* forgotten earlier: the next call is trusted */
  IDLE,     /* initialised, never prepared */
  PREPARED, /* owner: the thread that prepared */
  PARKING,  /* the owner is in park/park_until */
  WOKEN,    /* the cycle's park returned true */
  TIMED_OUT /* the cycle's park_until returned false */
};

static const char *const state_names[] = {"free",
                                          "unknown",
                                          "initialised and never prepared",
                                          "prepared",
                                          "parked",
                                          "woken: its park returned true",
                                          "timed out: its park_until returned false"};

#define N_BUCKETS 256u
#define N_SLOTS 8u

typedef struct slot {
  uintptr_t parker;
  uint64_t owner; /* thread id; 0 none */
  uint32_t used;  /* the bucket's clock at the last use */
  uint8_t state;
} slot;

typedef struct bucket {
  pthread_mutex_t lock;
  uint32_t clock;
  uint64_t forgotten[4]; /* 256 bits */
  slot slots[N_SLOTS];
} bucket;

static bucket *table; /* N_BUCKETS, made once by setup() */

static uint64_t mix(uintptr_t parker) {
  return ((uint64_t)parker >> 3) * UINT64_C(0x9E3779B97F4A7C15);
}

static bucket *bucket_of(uintptr_t parker) { return &table[(mix(parker) >> 40) % N_BUCKETS]; }

static unsigned filter_bit(uintptr_t parker) { return (unsigned)(mix(parker) >> 52) & 255u; }

static bool is_forgotten(const bucket *b, uintptr_t parker) {
  unsigned bit = filter_bit(parker);
  return (b->forgotten[bit / 64] >> (bit % 64)) & 1u;
}

static void forget(bucket *b, uintptr_t parker) {
  unsigned bit = filter_bit(parker);
  b->forgotten[bit / 64] |= UINT64_C(1) << (bit % 64);
}

/* Locks p's bucket; the caller unlocks it (unlock()). */
static bucket *lock(uintptr_t parker) {
  bucket *b = bucket_of(parker);
  if (pthread_mutex_lock(&b->lock) != 0) tpark__fatal("tpark checked: pthread_mutex_lock failed");
  b->clock++;
  return b;
}

static void unlock(bucket *b) {
  if (pthread_mutex_unlock(&b->lock) != 0)
    tpark__fatal("tpark checked: pthread_mutex_unlock failed");
}

static slot *find(bucket *b, uintptr_t parker) {
  for (unsigned i = 0; i < N_SLOTS; i++) {
    if (b->slots[i].state != FREE && b->slots[i].parker == parker) {
      b->slots[i].used = b->clock;
      return &b->slots[i];
    }
  }
  return NULL;
}

/* A slot for parker (not in b): a free one, else the least recently used one
 * whose owner is not parked (forgotten). NULL when every slot is parked: then
 * parker itself is left unknown. */
static slot *insert(bucket *b, uintptr_t parker, enum state state) {
  slot *victim = NULL;
  for (unsigned i = 0; i < N_SLOTS; i++) {
    slot *s = &b->slots[i];
    if (s->state == FREE) {
      victim = s;
      break;
    }
    if (s->state != PARKING &&
        (victim == NULL || (uint32_t)(b->clock - s->used) > (uint32_t)(b->clock - victim->used))) {
      victim = s;
    }
  }
  if (victim == NULL) {
    forget(b, parker);
    return NULL;
  }
  if (victim->state != FREE) forget(b, victim->parker);
  victim->parker = parker;
  victim->owner = 0;
  victim->used = b->clock;
  victim->state = (uint8_t)state;
  return victim;
}

/* The entry of p for a call, with p's bucket locked: NULL when the table
 * cannot hold it (trusted); state UNKNOWN when it was forgotten (trusted once);
 * a parker with no entry that was never forgotten was not initialised. */
static slot *entry(const tpark_backend *self, bucket *b, uintptr_t parker, const char *call) {
  slot *s = find(b, parker);
  if (s != NULL) return s;
  if (!is_forgotten(b, parker)) {
    unlock(b);
    violation("parker initialised", call, parker, self,
              "tpark_init/tpark_init_with never initialised a parker at this address with a "
              "checked backend (a copy of a parker, or garbage)");
  }
  return insert(b, parker, UNKNOWN);
}

/* ---- the unpark records ---------------------------------------------------- */

/* Token = generation << INDEX_BITS | index; generations start at 1, so a
 * token is never NULL. */
#define INDEX_BITS (sizeof(uintptr_t) >= 8 ? 24u : 12u)
#define INDEX_MASK (((uintptr_t)1 << INDEX_BITS) - 1)
#define MAX_GENERATION ((~(uintptr_t)0) >> INDEX_BITS)

typedef struct record {
  uintptr_t parker;
  void *token; /* the wrapped backend's */
  uintptr_t generation;
  size_t next_free;
  bool live;
} record;

static struct {
  pthread_mutex_t lock;
  record *v;
  size_t n, cap;
  size_t free_head; /* index + 1; 0: none */
  size_t outstanding;
} records = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0};

/* ---- setup --------------------------------------------------------------- */

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static void setup(void) {
  bucket *t = calloc(N_BUCKETS, sizeof *t);
  if (t == NULL) return;
  for (unsigned i = 0; i < N_BUCKETS; i++) {
    if (pthread_mutex_init(&t[i].lock, NULL) != 0) {
      free(t);
      return;
    }
  }
  table = t;
}

/* ---- the backend's members ----------------------------------------------- */

void tpark__checked_prepare_park(const tpark_backend *self, tpark_parker *p) {
  uintptr_t a = (uintptr_t)p;
  bucket *b = lock(a);
  slot *s = entry(self, b, a, "tpark_prepare_park");
  if (s != NULL) {
    if (s->state == PARKING) {
      uint64_t owner = s->owner;
      unlock(b);
      violation("one park per cycle", "tpark_prepare_park", a, self,
                "thread %" PRIu64 " is parked on it; prepare again once its park returned", owner);
    }
    s->state = PREPARED;
    s->owner = me();
  }
  unlock(b);
  inner_of(self)->prepare_park(inner_of(self), p);
}

/* The checks before a park; the entry then says PARKING. */
static void begin_park(const tpark_backend *self, uintptr_t a, const char *call) {
  bucket *b = lock(a);
  slot *s = entry(self, b, a, call);
  if (s != NULL) {
    enum state st = (enum state)s->state;
    uint64_t owner = s->owner;
    if (st == IDLE) {
      unlock(b);
      violation("prepare before park", call, a, self,
                "the parker is %s; call tpark_prepare_park first", state_names[st]);
    }
    if ((st == WOKEN || st == TIMED_OUT) && owner == me()) {
      unlock(b);
      violation("one park per cycle", call, a, self,
                "the park of this cycle already returned (%s); call tpark_prepare_park again",
                state_names[st]);
    }
    if (st == WOKEN || st == TIMED_OUT) {
      unlock(b);
      violation("prepare before park", call, a, self,
                "the parker is %s (in thread %" PRIu64 "); call tpark_prepare_park first",
                state_names[st], owner);
    }
    if (st == PARKING || (st == PREPARED && owner != me())) {
      unlock(b);
      violation("owner only", call, a, self,
                "thread %" PRIu64 " prepared it%s; only that thread may park on it", owner,
                st == PARKING ? " and is parked on it" : "");
    }
    s->state = PARKING;
    s->owner = me();
  }
  unlock(b);
}

static void end_park(uintptr_t a, bool unparked) {
  bucket *b = lock(a);
  slot *s = find(b, a); /* a PARKING entry is never forgotten */
  if (s != NULL) s->state = unparked ? WOKEN : TIMED_OUT;
  unlock(b);
}

static void checked_park(const tpark_backend *self, tpark_parker *p) {
  begin_park(self, (uintptr_t)p, "tpark_park");
  inner_of(self)->park(inner_of(self), p);
  end_park((uintptr_t)p, true);
}

static bool checked_park_until(const tpark_backend *self, tpark_parker *p, tpark_instant deadline) {
  begin_park(self, (uintptr_t)p, "tpark_park_until");
  bool unparked = inner_of(self)->park_until(inner_of(self), p, deadline);
  end_park((uintptr_t)p, unparked);
  return unparked;
}

static bool checked_timed_out(const tpark_backend *self, tpark_parker *p) {
  uintptr_t a = (uintptr_t)p;
  bucket *b = lock(a);
  slot *s = entry(self, b, a, "tpark_timed_out");
  if (s != NULL && s->state != UNKNOWN) {
    enum state st = (enum state)s->state;
    uint64_t owner = s->owner;
    if (st != TIMED_OUT) {
      unlock(b);
      violation("timed_out after a timeout", "tpark_timed_out", a, self,
                "the parker is %s; tpark_timed_out is only for after a tpark_park_until "
                "that returned false",
                state_names[st]);
    }
    if (owner != me()) {
      unlock(b);
      violation("owner only", "tpark_timed_out", a, self,
                "thread %" PRIu64 " prepared it; only that thread may call tpark_timed_out", owner);
    }
  }
  unlock(b);
  return inner_of(self)->timed_out(inner_of(self), p);
}

static void *checked_unpark_lock(const tpark_backend *self, tpark_parker *p) {
  uintptr_t a = (uintptr_t)p;
  bucket *b = lock(a);
  slot *s = entry(self, b, a, "tpark_unpark_lock");
  if (s != NULL && s->state == PREPARED && s->owner == me()) {
    unlock(b);
    violation("no self-unpark", "tpark_unpark_lock", a, self,
              "this thread prepared the parker and would wait for itself in tpark_unpark "
              "(keyed_event); only other threads unpark a prepared parker");
  }
  unlock(b);
  void *token = inner_of(self)->unpark_lock(inner_of(self), p);

  if (pthread_mutex_lock(&records.lock) != 0)
    tpark__fatal("tpark checked: pthread_mutex_lock failed");
  size_t i;
  if (records.free_head != 0) {
    i = records.free_head - 1;
    records.free_head = records.v[i].next_free;
  } else {
    if (records.n == records.cap) {
      size_t cap = records.cap ? 2 * records.cap : 64;
      record *v = cap <= INDEX_MASK + 1 ? realloc(records.v, cap * sizeof *v) : NULL;
      if (v == NULL) {
        pthread_mutex_unlock(&records.lock);
        violation("one unpark per handle", "tpark_unpark_lock", a, self,
                  "no room for another unpark record (%lu outstanding): does every "
                  "tpark_unpark_lock get its tpark_unpark?",
                  (unsigned long)records.outstanding);
      }
      records.v = v;
      records.cap = cap;
    }
    i = records.n++;
    records.v[i].generation = 1;
  }
  record *r = &records.v[i];
  r->parker = a;
  r->token = token;
  r->live = true;
  records.outstanding++;
  uintptr_t handle = r->generation << INDEX_BITS | i;
  pthread_mutex_unlock(&records.lock);
  return (void *)handle;
}

static void checked_unpark(const tpark_backend *self, void *token) {
  uintptr_t handle = (uintptr_t)token;
  size_t i = (size_t)(handle & INDEX_MASK);
  uintptr_t generation = handle >> INDEX_BITS;
  if (pthread_mutex_lock(&records.lock) != 0)
    tpark__fatal("tpark checked: pthread_mutex_lock failed");
  if (i >= records.n || !records.v[i].live || records.v[i].generation != generation) {
    bool stale = i < records.n && generation != 0 && generation < records.v[i].generation;
    /* The parker is known while the record was not reused since. */
    uintptr_t parker = stale && !records.v[i].live && generation + 1 == records.v[i].generation
                           ? records.v[i].parker
                           : 0;
    pthread_mutex_unlock(&records.lock);
    violation("one unpark per handle", "tpark_unpark", parker, self, "%s",
              stale ? "this handle was unparked already; each tpark_unpark_lock gets exactly "
                      "one tpark_unpark"
                    : "this handle does not come from tpark_unpark_lock (garbage?)");
  }
  record *r = &records.v[i];
  void *inner_token = r->token;
  r->live = false;
  r->generation = r->generation == MAX_GENERATION ? 1 : r->generation + 1;
  r->next_free = records.free_head;
  records.free_head = i + 1;
  records.outstanding--;
  pthread_mutex_unlock(&records.lock);
  inner_of(self)->unpark(inner_of(self), inner_token);
}

static tpark_instant checked_now(const tpark_backend *self) {
  return inner_of(self)->now(inner_of(self));
}

static void checked_thread_yield(const tpark_backend *self) {
  inner_of(self)->thread_yield(inner_of(self));
}

void tpark__checked_init(const tpark_backend *self, tpark_parker *p) {
  uintptr_t a = (uintptr_t)p;
  bucket *b = lock(a);
  slot *s = find(b, a);
  if (s != NULL && s->state == PARKING) {
    uint64_t owner = s->owner;
    unlock(b);
    violation("no re-init while parked", "tpark_init_with", a, self,
              "thread %" PRIu64 " is parked on it", owner);
  }
  if (s == NULL) s = insert(b, a, IDLE);
  if (s != NULL) {
    s->state = IDLE;
    s->owner = 0;
  }
  unlock(b);
}

void tpark__checked_abandon_park(tpark_parker *p) {
  if (table == NULL) return; /* checked mode never set up: nothing to forget */
  uintptr_t a = (uintptr_t)p;
  bucket *b = lock(a);
  slot *s = find(b, a);
  if (s != NULL && s->state == PARKING) s->state = IDLE;
  unlock(b);
}

/* ---- public -------------------------------------------------------------- */

const tpark_backend *tpark_checked_inner(const tpark_backend *b) {
  return b != NULL && b->prepare_park == tpark__checked_prepare_park ? inner_of(b) : NULL;
}

const tpark_backend *tpark_checked_backend(const tpark_backend *inner) {
  if (inner == NULL || !tpark__backend_complete(inner)) return NULL;
  if (tpark_checked_inner(inner) != NULL) return inner;
  if (pthread_once(&setup_once, setup) != 0 || table == NULL) return NULL;
  if (pthread_mutex_lock(&registry_lock) != 0) return NULL;
  checked *c = registry;
  while (c != NULL && c->inner != inner) c = c->next;
  if (c == NULL && (c = malloc(sizeof *c)) != NULL) {
    c->backend = (tpark_backend){
        .abi_version = TPARK_BACKEND_ABI_VERSION,
        .name = inner->name,
        .prepare_park = tpark__checked_prepare_park,
        .park = checked_park,
        .park_until = checked_park_until,
        .timed_out = checked_timed_out,
        .unpark_lock = checked_unpark_lock,
        .unpark = checked_unpark,
        .now = checked_now,
        .thread_yield = checked_thread_yield,
        .context = c,
    };
    c->inner = inner;
    c->next = registry;
    registry = c;
  }
  pthread_mutex_unlock(&registry_lock);
  return c != NULL ? &c->backend : NULL;
}

/* ---- TPARK_CHECKED --------------------------------------------------------- */

enum { MODE_UNREAD = 0, MODE_OFF, MODE_ON, MODE_BAD };
static int mode; /* atomic */

static int checked_mode(void) {
  int m = __atomic_load_n(&mode, __ATOMIC_ACQUIRE);
  if (m != MODE_UNREAD) return m;
  const char *v = tpark_os(getenv)("TPARK_CHECKED");
  m = v == NULL || v[0] == '\0' || strcmp(v, "0") == 0 ? MODE_OFF
      : strcmp(v, "1") == 0                            ? MODE_ON
                                                       : MODE_BAD;
  int unread = MODE_UNREAD;
  if (__atomic_compare_exchange_n(&mode, &unread, m, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    if (m == MODE_BAD) {
      fprintf(stderr,
              "tpark: TPARK_CHECKED=\"%s\" is not valid: 1 turns checked mode on; unset, "
              "empty or 0 leave it off\n",
              v);
    }
    return m;
  }
  return unread; /* another thread read it first */
}

tpark_status tpark__checked_default(const tpark_backend **b) {
  switch (checked_mode()) {
    case MODE_OFF:
      return TPARK_OK;
    case MODE_ON:
      *b = tpark_checked_backend(*b);
      return *b != NULL ? TPARK_OK : TPARK_ENOBACKEND;
    default:
      *b = NULL;
      return TPARK_EINVAL;
  }
}

void tpark__checked_mode_reset(void) { __atomic_store_n(&mode, MODE_UNREAD, __ATOMIC_RELEASE); }

bool tpark__checked_mode_on(void) { return checked_mode() == MODE_ON; }

uint64_t tpark__checked_thread(void) { return me(); }

/* ---- counters for tests ---------------------------------------------------- */

size_t tpark__checked_tracked(void) {
  size_t n = 0;
  if (pthread_once(&setup_once, setup) != 0 || table == NULL) return 0;
  for (unsigned i = 0; i < N_BUCKETS; i++) {
    pthread_mutex_lock(&table[i].lock);
    for (unsigned j = 0; j < N_SLOTS; j++) n += table[i].slots[j].state != FREE;
    pthread_mutex_unlock(&table[i].lock);
  }
  return n;
}

size_t tpark__checked_capacity(void) { return N_BUCKETS * N_SLOTS; }

size_t tpark__checked_outstanding(void) {
  pthread_mutex_lock(&records.lock);
  size_t n = records.outstanding;
  pthread_mutex_unlock(&records.lock);
  return n;
}
