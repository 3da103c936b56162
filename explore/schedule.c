/* The schedule explorer's strategies and tokens (explore/explore_internal.h).
 *
 * RANDOM takes one of a point's options uniformly, from a generator seeded
 * with the run's seed. PCT (Burckhardt et al., "A randomized scheduler with
 * probabilistic guarantees of finding bugs", ASPLOS 2010) gives every thread
 * and the clock a random priority above d, always runs the highest option,
 * and at d-1 random steps in [1, k] drops the thread at that step below
 * every other (to d-1, d-2, ...); k is the step count of the longest run
 * so far (the first run has no change points). BOUNDED is a depth-first
 * search of the tree of decisions, replaying a prefix of the last run and
 * taking the next option at its deepest decision that has one within the
 * preemption bound; each schedule is run once.
 *
 * A token names one run: "tx1." then
 *   r<seed>                 RANDOM: the run's seed
 *   p<seed>-<d>-<k>         PCT: the run's seed, d and k
 *   b<i>-<pick>_<i>-<pick>  BOUNDED: every decision whose pick was not the
 *                           default, as (distance from the previous listed
 *                           decision, option index)
 * (numbers in base 32, digits 0-9a-v), then "." and one check per step: a
 * 6-bit hash of what happened at that step (which thread, what operation on
 * which object, the options), in base64url. A replay compares each step's
 * check with the token's, so it stops at the first step where it does
 * something else (missing a difference with probability 1/64 per step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "explore/explore_internal.h"

static const char digits32[] = "0123456789abcdefghijklmnopqrstuv";
static const char checks64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- random numbers ----------------------------------------------------- */

static uint64_t splitmix(uint64_t x) {
  x += UINT64_C(0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

static uint64_t next(ex_schedule *s) {
  s->rng = splitmix(s->rng);
  return s->rng;
}

/* Uniform in [0, n), n > 0 (the bias of the multiply is < n / 2^32). */
static uint64_t below(ex_schedule *s, uint64_t n) {
  return n <= UINT32_MAX ? ((next(s) >> 32) * n) >> 32 : next(s) % n;
}

/* ---- tokens: numbers ---------------------------------------------------- */

static void put_number(char *buf, size_t cap, size_t *len, uint64_t v) {
  char tmp[16];
  size_t n = 0;
  do {
    tmp[n++] = digits32[v % 32];
    v /= 32;
  } while (v != 0);
  while (n > 0) {
    if (*len + 1 < cap) buf[*len] = tmp[n - 1];
    (*len)++;
    n--;
  }
}

static void put_char(char *buf, size_t cap, size_t *len, char c) {
  if (*len + 1 < cap) buf[*len] = c;
  (*len)++;
}

/* Reads a base-32 number at *p; false when there is none or it overflows. */
static bool get_number(const char **p, uint64_t *out) {
  uint64_t v = 0;
  const char *start = *p;
  for (const char *d; **p != '\0' && (d = strchr(digits32, **p)) != NULL; (*p)++) {
    if (v > (UINT64_MAX - 31) / 32) return false;
    v = v * 32 + (uint64_t)(d - digits32);
  }
  *out = v;
  return *p != start;
}

/* Steps over c at *p; false (not moving: never past the end) when it is not there. */
static bool skip(const char **p, char c) {
  if (**p != c) return false;
  (*p)++;
  return true;
}

/* ---- setup ---------------------------------------------------------------- */

static void push_decision(ex_schedule *s, struct ex_decision d) {
  if (s->n_decisions == s->cap_decisions) {
    size_t cap = s->cap_decisions ? 2 * s->cap_decisions : 64;
    struct ex_decision *grown = realloc(s->decisions, cap * sizeof *grown);
    if (grown == NULL) tpark__fatal("tpark explore: out of memory for the decisions of a run");
    s->decisions = grown;
    s->cap_decisions = cap;
  }
  s->decisions[s->n_decisions++] = d;
}

static bool parse_token(ex_schedule *s, const char *token, char *err, size_t cap) {
  const char *p = token;
  uint64_t a, b, c;
  if (strncmp(p, "tx1.", 4) != 0) {
    snprintf(err, cap, "it does not start with \"tx1.\"");
    return false;
  }
  p += 4;
  char kind = *p;
  if (kind != '\0') p++;
  if (kind == 'r' && get_number(&p, &a)) {
    s->strategy = TPARK_EXPLORE_RANDOM;
    s->run_seed = a;
  } else if (kind == 'p' && get_number(&p, &a) && skip(&p, '-') && get_number(&p, &b) &&
             skip(&p, '-') && get_number(&p, &c) && b >= 1 && b <= EX_MAX_PCT_DEPTH) {
    s->strategy = TPARK_EXPLORE_PCT;
    s->run_seed = a;
    s->depth = (unsigned)b;
    s->k = c;
  } else if (kind == 'b') {
    s->strategy = TPARK_EXPLORE_BOUNDED;
    uint64_t at = 0;
    for (bool first = true; *p != '.' && *p != '\0'; first = false) {
      if ((!first && !skip(&p, '_')) || !get_number(&p, &a) || !skip(&p, '-') ||
          !get_number(&p, &b) || b == 0 || b >= UINT16_MAX || (!first && a == 0) ||
          a > ((uint64_t)1 << 24)) {
        snprintf(err, cap, "its list of decisions is malformed near \"%.12s\"", p);
        return false;
      }
      at = first ? a : at + a;
      if (at > ((uint64_t)1 << 24)) {
        snprintf(err, cap, "its list of decisions goes beyond 2^24 decisions");
        return false;
      }
      /* The decisions in between took the default (UINT16_MAX: options unknown). */
      while (s->n_decisions < at)
        push_decision(s, (struct ex_decision){UINT16_MAX, 0, false, false, 0});
      push_decision(s, (struct ex_decision){UINT16_MAX, (uint16_t)b, false, false, 0});
    }
    s->prefix = s->n_decisions;
  } else {
    snprintf(err, cap, "its schedule \"%.16s\" is none of r<seed>, p<seed>-<d>-<k>, b<list>",
             token + 4);
    return false;
  }
  if (!skip(&p, '.')) {
    snprintf(err, cap, "\".\" expected before the checks, at \"%.12s\"", p);
    return false;
  }
  for (const char *q = p; *q != '\0'; q++) {
    if (strchr(checks64, *q) == NULL) {
      snprintf(err, cap, "its checks hold '%c', not a base64url digit", *q);
      return false;
    }
  }
  s->expect = p;
  s->n_expect = strlen(p);
  return true;
}

bool tpark__ex_schedule_init(ex_schedule *s, const tpark_explore_options *opts, const char *replay,
                             char *err, size_t cap) {
  memset(s, 0, sizeof *s);
  s->strategy = opts->strategy;
  s->seed = opts->seed;
  s->depth = opts->depth;
  if (s->depth == 0) s->depth = s->strategy == TPARK_EXPLORE_PCT ? 3 : 2;
  if (replay == NULL) return true;
  s->replaying = true;
  return parse_token(s, replay, err, cap);
}

void tpark__ex_schedule_free(ex_schedule *s) {
  free(s->decisions);
  free(s->checks);
}

/* ---- runs ----------------------------------------------------------------- */

bool tpark__ex_schedule_begin(ex_schedule *s, uint64_t run) {
  s->n_checks = 0;
  s->n_decisions = 0;
  s->preemptions = 0;
  s->diverged = false;
  if (!s->replaying) s->run_seed = splitmix(s->seed ^ splitmix(run));
  s->rng = s->run_seed;
  s->k_of_run = s->k;
  switch (s->strategy) {
    case TPARK_EXPLORE_RANDOM:
      break;
    case TPARK_EXPLORE_PCT:
      s->priority[EX_TICK] = s->depth + (next(s) >> 8);
      s->n_changes = s->depth - 1;
      for (unsigned i = 0; i < s->n_changes; i++) {
        s->change_at[i] = s->k > 0 ? 1 + below(s, s->k) : 0;
      }
      break;
    case TPARK_EXPLORE_BOUNDED:
      if (s->exhausted) return false;
      break;
  }
  return true;
}

void tpark__ex_schedule_spawned(ex_schedule *s, unsigned id) {
  /* Above d - 1, the highest that a change point gives. */
  if (s->strategy == TPARK_EXPLORE_PCT) s->priority[id] = s->depth + (next(s) >> 8);
}

static size_t pct_choose(ex_schedule *s, const ex_point *p) {
  for (unsigned i = 0; i < s->n_changes; i++) {
    if (s->change_at[i] == p->step) s->priority[p->current] = s->depth - 1 - i;
  }
  size_t best = 0;
  for (size_t i = 1; i < p->n; i++) {
    if (s->priority[p->options[i]] > s->priority[p->options[best]]) best = i;
  }
  /* A clock that always came first would time a retrying waiter out for
   * ever: after each move it keeps a high priority with probability 1/2,
   * else it drops below every thread (0) and moves only when no thread can
   * go on. */
  if (p->options[best] == EX_TICK)
    s->priority[EX_TICK] = next(s) % 2 ? s->depth + (next(s) >> 8) : 0;
  return best;
}

/* Whether taking option `pick` of a decision is a preemption: another
 * thread while the current one could go on, or the clock while any thread
 * could (time passing while a thread is ready means that thread is slow). */
static bool preempts(const struct ex_decision *d, uint16_t pick) {
  if (pick == 0) return false;
  return d->costly || (d->tick && pick == d->n - 1);
}

static size_t bounded_choose(ex_schedule *s, const ex_point *p) {
  if (p->n == 1) return 0;
  size_t at = s->n_decisions;
  bool costly = p->kind == EX_PREEMPT, tick = p->options[p->n - 1] == EX_TICK;
  uint16_t pick = 0;
  if (at < s->prefix) {
    pick = s->decisions[at].pick;
    uint16_t n = s->decisions[at].n;
    if (pick >= p->n || (n != UINT16_MAX && n != p->n)) {
      s->diverged = true;
      pick = 0;
    }
    s->decisions[at] = (struct ex_decision){(uint16_t)p->n, pick, costly, tick, s->preemptions};
    s->n_decisions++;
  } else {
    push_decision(s, (struct ex_decision){(uint16_t)p->n, 0, costly, tick, s->preemptions});
  }
  if (preempts(&s->decisions[at], pick)) s->preemptions++;
  return pick;
}

size_t tpark__ex_schedule_choose(ex_schedule *s, const ex_point *p) {
  switch (s->strategy) {
    case TPARK_EXPLORE_RANDOM:
      return p->n == 1 ? 0 : (size_t)below(s, p->n);
    case TPARK_EXPLORE_PCT:
      return pct_choose(s, p);
    case TPARK_EXPLORE_BOUNDED:
      return bounded_choose(s, p);
  }
  return 0;
}

bool tpark__ex_schedule_check(ex_schedule *s, uint64_t step, uint32_t hash) {
  if (s->n_checks == s->cap_checks) {
    size_t cap = s->cap_checks ? 2 * s->cap_checks : 256;
    char *grown = realloc(s->checks, cap);
    if (grown == NULL) tpark__fatal("tpark explore: out of memory for the checks of a run");
    s->checks = grown;
    s->cap_checks = cap;
  }
  char c = checks64[(hash ^ (hash >> 6) ^ (hash >> 12) ^ (hash >> 18) ^ (hash >> 24)) & 63];
  s->checks[s->n_checks++] = c;
  if (!s->replaying) return true;
  return step <= s->n_expect && s->expect[step - 1] == c;
}

void tpark__ex_schedule_end(ex_schedule *s, uint64_t steps) {
  if (s->strategy == TPARK_EXPLORE_PCT && steps > s->k) s->k = steps;
  if (s->strategy != TPARK_EXPLORE_BOUNDED || s->replaying) return;
  /* The deepest decision with an option left within the bound. */
  for (size_t i = s->n_decisions; i-- > 0;) {
    struct ex_decision *d = &s->decisions[i];
    for (uint16_t pick = d->pick + 1; pick < d->n; pick++) {
      if (d->spent + (preempts(d, pick) ? 1u : 0u) <= s->depth) {
        d->pick = pick;
        s->prefix = i + 1;
        return;
      }
    }
  }
  s->exhausted = true;
}

size_t tpark__ex_schedule_token(const ex_schedule *s, char *buf, size_t cap) {
  size_t len = 0;
  const char *head = "tx1.";
  for (const char *h = head; *h; h++) put_char(buf, cap, &len, *h);
  switch (s->strategy) {
    case TPARK_EXPLORE_RANDOM:
      put_char(buf, cap, &len, 'r');
      put_number(buf, cap, &len, s->run_seed);
      break;
    case TPARK_EXPLORE_PCT:
      put_char(buf, cap, &len, 'p');
      put_number(buf, cap, &len, s->run_seed);
      put_char(buf, cap, &len, '-');
      put_number(buf, cap, &len, s->depth);
      put_char(buf, cap, &len, '-');
      /* The k this run used (end() may have raised it since). */
      put_number(buf, cap, &len, s->k_of_run);
      break;
    case TPARK_EXPLORE_BOUNDED: {
      put_char(buf, cap, &len, 'b');
      size_t last = 0;
      bool first = true;
      for (size_t i = 0; i < s->n_decisions; i++) {
        if (s->decisions[i].pick == 0) continue;
        if (!first) put_char(buf, cap, &len, '_');
        put_number(buf, cap, &len, first ? i : i - last);
        put_char(buf, cap, &len, '-');
        put_number(buf, cap, &len, s->decisions[i].pick);
        last = i;
        first = false;
      }
      break;
    }
  }
  put_char(buf, cap, &len, '.');
  for (size_t i = 0; i < s->n_checks; i++) put_char(buf, cap, &len, s->checks[i]);
  if (cap > 0) buf[len < cap ? len : cap - 1] = '\0';
  return len;
}
