/* The known bugs of explore_bugs.h. */
#include "tests/explore_bugs.h"

#include <stddef.h>

#include "tpark/cond.h"
#include "tpark/lot.h"
#include "tpark/mutex.h"
#include "tpark/once.h"
#include "tpark/rwlock.h"

#define HOUR UINT64_C(3600000000000)

/* ---- a lost wake-up: a consumer checks for an item, drops the lock, then
 * waits without checking again: the item and its notify may come between.
 * Found as a deadlock (the consumer waits for good). */

typedef struct slot {
  tpark_mutex lock;
  tpark_cond ready;
  int items;
  bool correct;
} slot;

static void producer(void *arg) {
  slot *s = arg;
  tpark_mutex_lock(&s->lock);
  s->items++;
  tpark_cond_notify_one(&s->ready);
  tpark_mutex_unlock(&s->lock);
}

static void consumer(void *arg) {
  slot *s = arg;
  if (s->correct) {
    tpark_mutex_lock(&s->lock);
    while (s->items == 0) tpark_cond_wait(&s->ready, &s->lock);
  } else {
    tpark_mutex_lock(&s->lock);
    bool empty = s->items == 0;
    tpark_mutex_unlock(&s->lock);
    tpark_mutex_lock(&s->lock);
    if (empty) tpark_cond_wait(&s->ready, &s->lock);
  }
  s->items--;
  tpark_mutex_unlock(&s->lock);
}

static void lost_wakeup(bool correct) {
  slot s = {TPARK_MUTEX_INIT, TPARK_COND_INIT, 0, correct};
  tpark_explore_label(&s.lock, "lock");
  tpark_explore_label(&s.ready, "ready");
  tpark_explore_thread c = tpark_explore_spawn(consumer, &s);
  tpark_explore_label(NULL, "body");
  tpark_explore_thread p = tpark_explore_spawn(producer, &s);
  tpark_explore_join(c);
  tpark_explore_join(p);
  tpark_explore_check(s.items == 0, "the consumer took the item");
}

static void lost_wakeup_buggy(void *arg) {
  (void)arg;
  lost_wakeup(false);
}

static void lost_wakeup_correct(void *arg) {
  (void)arg;
  lost_wakeup(true);
}

/* ---- an unlock before the store it should publish: the writer counts the
 * item under the lock but stores it after unlocking. */

typedef struct box {
  tpark_mutex lock;
  int count, item;
  bool correct;
} box;

static void writer(void *arg) {
  box *b = arg;
  tpark_mutex_lock(&b->lock);
  b->count = 1;
  if (b->correct) b->item = 42;
  tpark_mutex_unlock(&b->lock);
  if (!b->correct) b->item = 42;
}

static void reader(void *arg) {
  box *b = arg;
  tpark_mutex_lock(&b->lock);
  if (b->count == 1) tpark_explore_check(b->item == 42, "a counted item is stored");
  tpark_mutex_unlock(&b->lock);
}

static void early_unlock(bool correct) {
  box b = {TPARK_MUTEX_INIT, 0, 0, correct};
  tpark_explore_thread w = tpark_explore_spawn(writer, &b);
  tpark_explore_thread r = tpark_explore_spawn(reader, &b);
  tpark_explore_join(w);
  tpark_explore_join(r);
}

static void early_unlock_buggy(void *arg) {
  (void)arg;
  early_unlock(false);
}

static void early_unlock_correct(void *arg) {
  (void)arg;
  early_unlock(true);
}

/* ---- a once whose fn reads state not yet written: the thread that writes
 * the setting calls the once after writing it, but the other thread may run
 * the once first. Correct: the once's fn writes the setting itself. */

typedef struct config {
  tpark_once once;
  int setting, seen;
  bool correct;
} config;

static void load(void *arg) {
  config *c = arg;
  if (c->correct) c->setting = 42;
  c->seen = c->setting;
}

static void configurer(void *arg) {
  config *c = arg;
  if (!c->correct) c->setting = 42;
  tpark_once_call(&c->once, load, c);
}

static void user(void *arg) {
  config *c = arg;
  tpark_once_call(&c->once, load, c);
  tpark_explore_check(c->seen == 42, "the once saw the setting");
}

static void early_once(bool correct) {
  config c = {TPARK_ONCE_INIT, 0, 0, correct};
  tpark_explore_thread a = tpark_explore_spawn(configurer, &c);
  tpark_explore_thread b = tpark_explore_spawn(user, &c);
  tpark_explore_join(a);
  tpark_explore_join(b);
}

static void early_once_buggy(void *arg) {
  (void)arg;
  early_once(false);
}

static void early_once_correct(void *arg) {
  (void)arg;
  early_once(true);
}

/* ---- two upgraders that deadlock: each holds a read lock while it waits to
 * become the upgrader, and the upgrade waits for that reader to leave.
 * Correct: take the upgradable lock without holding a read lock. */

typedef struct counter {
  tpark_rwlock lock;
  int value;
  bool correct;
} counter;

static void upgrader(void *arg) {
  counter *c = arg;
  if (!c->correct) tpark_rwlock_read_lock(&c->lock);
  tpark_rwlock_upgradable_lock(&c->lock);
  if (!c->correct) tpark_rwlock_read_unlock(&c->lock);
  tpark_rwlock_upgrade(&c->lock);
  c->value++;
  tpark_rwlock_write_unlock(&c->lock);
}

static void upgraders(bool correct) {
  counter c = {TPARK_RWLOCK_INIT, 0, correct};
  tpark_explore_label(&c.lock, "rwlock");
  tpark_explore_thread a = tpark_explore_spawn(upgrader, &c);
  tpark_explore_thread b = tpark_explore_spawn(upgrader, &c);
  tpark_explore_join(a);
  tpark_explore_join(b);
  tpark_explore_check(c.value == 2, "both upgraders wrote");
}

static void upgraders_buggy(void *arg) {
  (void)arg;
  upgraders(false);
}

static void upgraders_correct(void *arg) {
  (void)arg;
  upgraders(true);
}

/* ---- a timeout that races a notify: the waiter trusts the wait's result,
 * but the flag may have been set between the timeout and the relock.
 * Correct: decide on the flag. */

typedef struct signal_ {
  tpark_mutex lock;
  tpark_cond set;
  bool flag, correct;
} signal_;

static void setter(void *arg) {
  signal_ *s = arg;
  tpark_mutex_lock(&s->lock);
  s->flag = true;
  tpark_cond_notify_one(&s->set);
  tpark_mutex_unlock(&s->lock);
}

static void waiter(void *arg) {
  signal_ *s = arg;
  tpark_instant deadline = tpark_lot_deadline(HOUR);
  tpark_mutex_lock(&s->lock);
  bool woken = true;
  while (!s->flag && woken) woken = tpark_cond_wait_until(&s->set, &s->lock, deadline);
  bool got = s->correct ? s->flag : woken;
  tpark_explore_check(got == s->flag, "the waiter reports what the flag says");
  tpark_mutex_unlock(&s->lock);
}

static void timeout_race(bool correct) {
  signal_ s = {TPARK_MUTEX_INIT, TPARK_COND_INIT, false, correct};
  tpark_explore_thread w = tpark_explore_spawn(waiter, &s);
  tpark_explore_thread t = tpark_explore_spawn(setter, &s);
  tpark_explore_join(w);
  tpark_explore_join(t);
}

static void timeout_race_buggy(void *arg) {
  (void)arg;
  timeout_race(false);
}

static void timeout_race_correct(void *arg) {
  (void)arg;
  timeout_race(true);
}

const explore_bug explore_bugs[] = {
    {"lost wake-up", lost_wakeup_buggy, lost_wakeup_correct, TPARK_EXPLORE_DEADLOCK},
    {"unlock before store", early_unlock_buggy, early_unlock_correct, TPARK_EXPLORE_CHECK},
    {"once reads unwritten", early_once_buggy, early_once_correct, TPARK_EXPLORE_CHECK},
    {"upgraders deadlock", upgraders_buggy, upgraders_correct, TPARK_EXPLORE_DEADLOCK},
    {"timeout races notify", timeout_race_buggy, timeout_race_correct, TPARK_EXPLORE_CHECK},
};

const unsigned n_explore_bugs = sizeof explore_bugs / sizeof explore_bugs[0];
