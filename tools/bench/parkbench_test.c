/* Runs parkbench (the path in argv[1]) as a user would and checks the
 * structure of what it prints, never its timings:
 *   - `--json` exits 0 and prints one well-formed JSON value (RFC 8259) with a
 *     "backends" entry for each built-in backend that tpark_select_backend
 *     says is available here, each with its measurements and one raw sample
 *     per round, and a "summary" naming the default;
 *   - `--csv` prints the header and rows of 8 fields, with one round-trip
 *     sample per round, variant and placement for each available backend;
 *   - the table has a part per available backend and the summary, with the
 *     default marked;
 *   - the locks section is in each format (a "locks" member, CSV rows per
 *     round, its table), and alone with --locks;
 *   - bad arguments exit 2 with a message, --help exits 0.
 * Natively and as a Windows .exe under Wine (--config=mingw), where the child
 * runs in the same Wine session. */
#if defined(_WIN32)
#define popen _popen
#define pclose _pclose
#else
#include <sys/wait.h>
#endif

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tpark/backend.h"
#include "tpark/tpark.h"

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  failures++;
}

/* ---- running parkbench ------------------------------------------------------- */

static const char *bench;

/* Runs bench with args; returns its output (malloc'd) and *status its exit
 * status (-1 if it did not exit normally). Under an emulator (the ARM64 suite
 * under qemu-user, tools/qemu/run_test), TPARK_TEST_EMULATOR names it and it
 * starts bench too: the host cannot run an ARM64 program by itself. */
static char *run(const char *args, int *status) {
  char cmd[1024];
  const char *emulator = getenv("TPARK_TEST_EMULATOR");
  if (emulator != NULL && emulator[0] != '\0') {
    snprintf(cmd, sizeof cmd, "%s %s %s", emulator, bench, args);
  } else {
    snprintf(cmd, sizeof cmd, "%s %s", bench, args);
  }
  FILE *f = popen(cmd, "r");
  if (f == NULL) {
    perror("popen");
    exit(1);
  }
  size_t len = 0, cap = 1 << 16;
  char *out = malloc(cap);
  size_t got;
  while (out != NULL && (got = fread(out + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (cap - len < 1024) out = realloc(out, cap *= 2);
  }
  if (out == NULL) {
    fputs("out of memory\n", stderr);
    exit(1);
  }
  out[len] = '\0';
  int st = pclose(f);
#if defined(_WIN32)
  *status = st;
#else
  *status = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
#endif
  return out;
}

/* ---- a JSON checker that also collects the backend entries ----------------------- */

#define MAX_BACKENDS 8
#define KEYS_WANTED 7
static const char *const keys_wanted[KEYS_WANTED] = {
    "pingpong_ns", "ops_ns", "timeouts", "footprint", "setup", "bar", "default"};
/* The runs here ask for this many rounds: each raw-sample array of the
 * ping-pong must have that many numbers. */
#define ROUNDS 5
#define LOCK_ROUNDS 2
#define ROUNDS_ARG "--quick --rounds 5 --iters 5 --lock-rounds 2 --lock-ms 5"

typedef struct json {
  const char *s;
  const char *error; /* first error, NULL while well-formed */
  size_t at;
  int depth;
  char path[256]; /* where we are, e.g. ".backends[].name" */
  int n_backends;
  char names[MAX_BACKENDS][32];
  unsigned keys[MAX_BACKENDS];     /* bit i: keys_wanted[i] seen */
  int sample_arrays[MAX_BACKENDS]; /* ping-pong sample arrays of ROUNDS numbers */
  int bad_sample_arrays;           /* ... of another length */
  bool summary;                    /* a top-level "summary" member */
  char default_name[32];           /* its "default" */
} json;

static bool value(json *j);

static void ws(json *j) {
  while (j->s[j->at] == ' ' || j->s[j->at] == '\t' || j->s[j->at] == '\n' || j->s[j->at] == '\r') {
    j->at++;
  }
}

static bool error(json *j, const char *what) {
  if (j->error == NULL) j->error = what;
  return false;
}

/* A string; its first out_size-1 bytes (escapes decoded as '?') into out. */
static bool string(json *j, char *out, size_t out_size) {
  size_t n = 0;
  if (j->s[j->at] != '"') return error(j, "expected a string");
  j->at++;
  for (;;) {
    unsigned char c = (unsigned char)j->s[j->at++];
    if (c == '"') break;
    if (c < 0x20) return error(j, "control character or end of input in a string");
    if (c == '\\') {
      char e = j->s[j->at++];
      if (e == 'u') {
        for (int i = 0; i < 4; i++) {
          if (!isxdigit((unsigned char)j->s[j->at++])) return error(j, "bad \\u escape");
        }
      } else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
        return error(j, "bad escape in a string");
      }
      c = '?';
    }
    if (out && n + 1 < out_size) out[n++] = (char)c;
  }
  if (out) out[n] = '\0';
  return true;
}

static bool digits(json *j) {
  if (!isdigit((unsigned char)j->s[j->at])) return error(j, "expected a digit");
  while (isdigit((unsigned char)j->s[j->at])) j->at++;
  return true;
}

static bool number(json *j) {
  if (j->s[j->at] == '-') j->at++;
  if (j->s[j->at] == '0') {
    j->at++;
  } else if (!digits(j)) {
    return false;
  }
  if (j->s[j->at] == '.') {
    j->at++;
    if (!digits(j)) return false;
  }
  if (j->s[j->at] == 'e' || j->s[j->at] == 'E') {
    j->at++;
    if (j->s[j->at] == '+' || j->s[j->at] == '-') j->at++;
    if (!digits(j)) return false;
  }
  return true;
}

static bool literal(json *j, const char *word) {
  size_t n = strlen(word);
  if (strncmp(j->s + j->at, word, n) != 0) return error(j, "unexpected character");
  j->at += n;
  return true;
}

static bool object(json *j) {
  size_t mark = strlen(j->path);
  bool in_backend = !strcmp(j->path, ".backends[]");
  if (in_backend) {
    if (j->n_backends == MAX_BACKENDS) return error(j, "too many backends");
    j->n_backends++;
  }
  j->at++; /* { */
  ws(j);
  if (j->s[j->at] == '}') {
    j->at++;
    return true;
  }
  for (;;) {
    char key[64];
    ws(j);
    if (!string(j, key, sizeof key)) return false;
    ws(j);
    if (j->s[j->at++] != ':') return error(j, "expected ':' after a key");
    if (in_backend) {
      for (int i = 0; i < KEYS_WANTED; i++) {
        if (!strcmp(key, keys_wanted[i])) j->keys[j->n_backends - 1] |= 1u << i;
      }
    }
    snprintf(j->path + mark, sizeof j->path - mark, ".%s", key);
    if (!strcmp(j->path, ".summary")) j->summary = true;
    if (in_backend && !strcmp(key, "name")) {
      ws(j);
      if (!string(j, j->names[j->n_backends - 1], sizeof j->names[0])) return false;
    } else if (!strcmp(j->path, ".summary.default") && (ws(j), j->s[j->at] == '"')) {
      if (!string(j, j->default_name, sizeof j->default_name)) return false;
    } else if (!value(j)) {
      return false;
    }
    j->path[mark] = '\0';
    ws(j);
    char c = j->s[j->at++];
    if (c == '}') return true;
    if (c != ',') return error(j, "expected ',' or '}' in an object");
  }
}

/* A ping-pong sample array: .backends[].pingpong_ns.<placement>.samples.<variant>. */
static bool is_sample_array(const char *path) {
  static const char *const want[] = {
      ".backends[].pingpong_ns.free.samples.tpark", ".backends[].pingpong_ns.free.samples.raw",
      ".backends[].pingpong_ns.free.samples.ratio", ".backends[].pingpong_ns.pinned.samples.tpark",
      ".backends[].pingpong_ns.pinned.samples.raw", ".backends[].pingpong_ns.pinned.samples.ratio",
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    if (!strcmp(path, want[i])) return true;
  }
  return false;
}

static bool array(json *j) {
  size_t mark = strlen(j->path);
  bool samples = is_sample_array(j->path) && j->n_backends > 0;
  int n = 0;
  j->at++; /* [ */
  ws(j);
  if (j->s[j->at] == ']') {
    j->at++;
  } else {
    snprintf(j->path + mark, sizeof j->path - mark, "[]");
    for (;;) {
      if (samples) ws(j);
      if (samples && j->s[j->at] != '-' && !isdigit((unsigned char)j->s[j->at])) {
        return error(j, "a raw sample that is not a number");
      }
      if (!value(j)) return false;
      n++;
      ws(j);
      char c = j->s[j->at++];
      if (c == ']') break;
      if (c != ',') return error(j, "expected ',' or ']' in an array");
    }
    j->path[mark] = '\0';
  }
  if (samples) {
    if (n == ROUNDS) {
      j->sample_arrays[j->n_backends - 1]++;
    } else {
      j->bad_sample_arrays++;
    }
  }
  return true;
}

static bool value(json *j) {
  bool ok;
  ws(j);
  if (++j->depth > 64) return error(j, "nested too deeply");
  switch (j->s[j->at]) {
    case '{':
      ok = object(j);
      break;
    case '[':
      ok = array(j);
      break;
    case '"':
      ok = string(j, NULL, 0);
      break;
    case 't':
      ok = literal(j, "true");
      break;
    case 'f':
      ok = literal(j, "false");
      break;
    case 'n':
      ok = literal(j, "null");
      break;
    default:
      ok = j->s[j->at] == '-' || isdigit((unsigned char)j->s[j->at]) ? number(j)
                                                                     : error(j, "expected a value");
  }
  j->depth--;
  return ok;
}

static bool well_formed(json *j) {
  if (!value(j)) return false;
  ws(j);
  return j->s[j->at] == '\0' || error(j, "text after the JSON value");
}

/* ---- the checks ------------------------------------------------------------------ */

/* The built-ins available here, as tpark_select_backend says. */
static const char *const builtins[] = {"waitaddress", "keyed_event", "futex", "condvar"};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

static bool available(const char *name) {
  const tpark_backend *b;
  return tpark_select_backend(name, &b) == TPARK_OK;
}

static void check_json_run(void) {
  int status;
  char *out = run(ROUNDS_ARG " --json", &status);
  if (status != 0) fail("parkbench --json did not exit 0");
  json j;
  memset(&j, 0, sizeof j);
  j.s = out;
  if (!well_formed(&j)) {
    char where[80];
    snprintf(where, sizeof where, "%s at byte %zu", j.error, j.at);
    fail("output is not well-formed JSON: %s", where);
    fprintf(stderr, "--- output ---\n%s\n--------------\n", out);
    free(out);
    return;
  }
  int n_available = 0;
  for (size_t k = 0; k < N_BUILTINS; k++) {
    bool here = available(builtins[k]);
    int found = -1;
    for (int i = 0; i < j.n_backends; i++) {
      if (!strcmp(j.names[i], builtins[k])) found = i;
    }
    if (here) {
      n_available++;
      if (found < 0) {
        fail("no \"backends\" entry for available backend %s", builtins[k]);
      } else if (j.keys[found] != (1u << KEYS_WANTED) - 1) {
        fail("the entry for %s lacks a measurement", builtins[k]);
      } else if (j.sample_arrays[found] != 6) {
        fail("the entry for %s lacks raw ping-pong samples (6 arrays of one per round)",
             builtins[k]);
      }
    } else if (found >= 0) {
      fail("an entry for %s, which is not available here", builtins[k]);
    }
  }
  if (j.n_backends != n_available) fail("%s", "the number of backend entries is wrong");
  if (j.bad_sample_arrays) fail("%s", "a raw-sample array has not one number per round");
  if (!j.summary) fail("%s", "no \"summary\" across backends");
  const tpark_backend *def = tpark_default_backend();
  if (def == NULL || strcmp(j.default_name, def->name) != 0) {
    fail("the summary's default is \"%s\", not this process's default", j.default_name);
  }
  const char *locks = strstr(out, "\n  \"locks\": {\"default_backend\": ");
  if (locks == NULL) {
    fail("%s", "no \"locks\" member");
  } else {
    static const char *const keys[] = {"\"uncontended_ns\": {\"tpark\": ",
                                       "\"throughput_mops\": [",
                                       "\"threads\": 16",
                                       "\"wait_wake_ns\": {",
                                       "\"recursive\": {\"system_lock\": ",
                                       "\"pinned\": {\"tpark\": "};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
      if (strstr(locks, keys[k]) == NULL) fail("the \"locks\" member lacks %s", keys[k]);
    }
  }
  printf("parkbench --json: well-formed, %d backend(s):", j.n_backends);
  for (int i = 0; i < j.n_backends; i++) printf(" %s", j.names[i]);
  printf("\n");
  free(out);
}

/* Fields of a CSV line (no quoting: parkbench writes none). */
static int split_csv(char *line, char **field, int max) {
  int n = 0;
  for (char *p = line;; p++) {
    if (n < max) field[n] = p;
    n++;
    p = strchr(p, ',');
    if (p == NULL) break;
    *p = '\0';
  }
  return n;
}

static bool is_number(const char *s) {
  char *end;
  if (*s == '\0') return false;
  strtod(s, &end);
  return *end == '\0';
}

static void check_csv_run(void) {
  int status;
  char *out = run(ROUNDS_ARG " --csv", &status);
  if (status != 0) fail("parkbench --csv did not exit 0");
  int rows[N_BUILTINS] = {0}, lines = 0, lock_rows = 0, recursive_rows = 0;
  for (char *line = out, *next; *line; line = next) {
    next = strchr(line, '\n');
    if (next == NULL) {
      next = line + strlen(line);
    } else {
      *next++ = '\0';
    }
    if (lines++ == 0) {
      if (strcmp(line, "section,subject,measurement,condition,variant,index,value,unit") != 0) {
        fail("CSV header is \"%s\"", line);
      }
      continue;
    }
    char *f[8];
    if (split_csv(line, f, 8) != 8) {
      fail("CSV line %s has not 8 fields", f[0]);
      continue;
    }
    if (!is_number(f[5]) || !is_number(f[6]))
      fail("CSV line of %s: index or value not a number", f[1]);
    if (!strcmp(f[0], "locks") && !strcmp(f[1], "mutex") && !strcmp(f[2], "throughput")) {
      lock_rows++;
    }
    if (!strcmp(f[0], "locks") && !strcmp(f[1], "recursive") && !strcmp(f[2], "throughput")) {
      recursive_rows++;
    }
    for (size_t k = 0; k < N_BUILTINS; k++) {
      if (!strcmp(f[0], "backends") && !strcmp(f[1], builtins[k]) && !strcmp(f[2], "round_trip") &&
          (!strcmp(f[3], "free") || !strcmp(f[3], "pinned")) &&
          (!strcmp(f[4], "tpark") || !strcmp(f[4], "raw"))) {
        rows[k]++;
      }
    }
  }
  for (size_t k = 0; k < N_BUILTINS; k++) {
    int want = available(builtins[k]) ? 4 * ROUNDS : 0;
    if (rows[k] != want) fail("CSV: wrong number of round-trip samples for %s", builtins[k]);
  }
  /* 4 thread counts, 2 locks, a row per round. */
  if (lock_rows != 4 * 2 * LOCK_ROUNDS)
    fail("CSV: %d lock throughput rows, want %d", lock_rows, 4 * 2 * LOCK_ROUNDS);
  if (recursive_rows != 4 * 2 * LOCK_ROUNDS)
    fail("CSV: %d recursive lock throughput rows, want %d", recursive_rows, 4 * 2 * LOCK_ROUNDS);
  printf("parkbench --csv: %d lines, header and fields as documented\n", lines);
  free(out);
}

static void check_table_run(void) {
  int status;
  char *out = run(ROUNDS_ARG, &status);
  if (status != 0) fail("parkbench (table) did not exit 0");
  for (size_t k = 0; k < N_BUILTINS; k++) {
    char head[64];
    snprintf(head, sizeof head, "\n== %s", builtins[k]);
    if ((strstr(out, head) != NULL) != available(builtins[k])) {
      fail("the table's part for %s is missing or should not be there", builtins[k]);
    }
  }
  const char *summary = strstr(out, "\n== summary");
  if (summary == NULL) {
    fail("%s", "the table has no summary across backends");
  } else {
    char marked[64];
    const tpark_backend *def = tpark_default_backend();
    snprintf(marked, sizeof marked, "\n%s *", def ? def->name : "?");
    if (strstr(summary, marked) == NULL)
      fail("the summary does not mark the default %s", marked + 1);
    if (strstr(summary, "Keep the default") == NULL) fail("%s", "the summary gives no advice");
  }
  if (strstr(out, "\n== locks: ") == NULL) fail("%s", "the table has no locks section");
  printf("parkbench (table): a part per backend, the summary, the locks\n");
  free(out);
  /* --locks: that section alone. */
  out = run("--locks --quick --lock-rounds 1 --lock-ms 5", &status);
  if (status != 0) fail("parkbench --locks did not exit 0");
  if (strncmp(out, "== locks: ", 10) != 0 || strstr(out, "== summary") != NULL) {
    fail("parkbench --locks printed more or less than the locks section: %.80s", out);
  }
  free(out);
}

static void check_exit(const char *args, int want, const char *want_text) {
  int status;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "%s 2>&1", args);
  char *out = run(cmd, &status);
  if (status != want) {
    char msg[300];
    snprintf(msg, sizeof msg, "parkbench %s: exit status %d, want %d", args, status, want);
    fail("%s", msg);
  }
  if (strstr(out, want_text) == NULL) {
    fail("parkbench %s: output lacks the expected text", args);
    fprintf(stderr, "--- output ---\n%s\n--------------\n", out);
  }
  free(out);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: parkbench_test PATH/TO/parkbench\n");
    return 2;
  }
  static char path[512];
  snprintf(path, sizeof path, "%s", argv[1]);
#if defined(_WIN32)
  /* cmd.exe, which runs _popen's command, wants backslashes. */
  for (char *c = path; *c; c++) {
    if (*c == '/') *c = '\\';
  }
#endif
  bench = path;

  check_json_run();
  check_csv_run();
  check_table_run();
  check_exit("--json --csv", 2, "exclude");
  check_exit("--help", 0, "usage: parkbench");
  check_exit("--rounds 0", 2, "--rounds");
  check_exit("--iters x", 2, "--iters");
  check_exit("--frobnicate", 2, "unknown argument");
  check_exit("--backend mock", 2, "unknown backend");
  check_exit("--backend", 2, "needs a value");
  check_exit("--sections backends,nope", 2, "no section \"nope\"");
  check_exit("--lock-ms 0", 2, "--lock-ms");
#if defined(_WIN32)
  check_exit("--backend futex", 2, "not available");
#else
  check_exit("--backend keyed_event", 2, "not available");
#endif
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
