/* Runs parkbench (the path in argv[1]) with only its cond, once and rw
 * sections (section_cond.c, section_once.c, section_rw.c) and checks the
 * structure of what it prints, never its timings:
 *   - `--json`: one JSON object (brackets and strings balanced) with a
 *     "cond" member (ping-pong, the queue at 1, 2, 4 and 8 consumers, the
 *     broadcast at 4, 16 and 64 waiters, each tpark, system and their ratio
 *     with a sample per round) and a "once" member (done path, herds of 4,
 *     16 and 64) and an "rw" member (T = 1, 2, 4, 8, 16 at W = 10 and 1000,
 *     each with ops/s, both worst waits and the fairness of every variant:
 *     tpark and the system's, two pthread_rwlock_t kinds on glibc, SRWLOCK
 *     on Windows);
 *   - `--csv`: a row per round, variant and case;
 *   - the table: the three sections, each naming the system's primitive.
 * Natively and as a Windows .exe under Wine (--config=mingw). */
#if defined(_WIN32)
#define popen _popen
#define pclose _pclose
#else
#include <sys/wait.h>
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 2
#define ARGS "--sections cond,once,rw --quick --lock-rounds 2 --lock-ms 5"

/* The rw section's system variants here. */
#if defined(_WIN32)
#define RW_SYSTEM 1 /* SRWLOCK */
#elif defined(__GLIBC__)
#define RW_SYSTEM 2 /* pthread_rwlock_t, default and writer-preferring */
#else
#define RW_SYSTEM 1
#endif
#define RW_VARIANTS (1 + RW_SYSTEM)
#define RW_CASES 10 /* T = 1, 2, 4, 8, 16; W = 10, 1000 */

static int failures;
static const char *bench;

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

/* bench's output for args (malloc'd); *status its exit status (-1: none).
 * Under an emulator (TPARK_TEST_EMULATOR, the ARM64 suite) it starts bench. */
static char *run(const char *args, int *status) {
  char cmd[1024];
  const char *emulator = getenv("TPARK_TEST_EMULATOR");
  snprintf(cmd, sizeof cmd, "%s%s%s %s", emulator && *emulator ? emulator : "",
           emulator && *emulator ? " " : "", bench, args);
  FILE *f = popen(cmd, "r");
  if (f == NULL) {
    perror("popen");
    exit(1);
  }
  size_t len = 0, cap = 1 << 16, got;
  char *out = malloc(cap);
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

/* Brackets balanced outside strings, one top-level object. */
static bool balanced(const char *s) {
  int depth = 0, objects = 0;
  bool in_string = false;
  for (; *s; s++) {
    if (in_string) {
      if (*s == '\\' && s[1]) {
        s++;
      } else if (*s == '"') {
        in_string = false;
      }
    } else if (*s == '"') {
      in_string = true;
    } else if (*s == '{' || *s == '[') {
      if (depth++ == 0) objects++;
    } else if (*s == '}' || *s == ']') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0 && !in_string && objects == 1;
}

static int count(const char *s, const char *what) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what)) n++;
  return n;
}

static void check_json(void) {
  int status;
  char *out = run(ARGS " --json", &status);
  if (status != 0) fail("--json: exit status %d", status);
  if (!balanced(out)) fail("--json: not one balanced JSON object");
  const char *cond = strstr(out, "\n  \"cond\": {\"default_backend\": ");
  const char *once = strstr(out, "\n  \"once\": {\"default_backend\": ");
  const char *rw = strstr(out, "\n  \"rw\": {\"default_backend\": ");
  if (cond == NULL || once == NULL || rw == NULL) {
    fail("--json: no \"cond\", \"once\" or \"rw\" member");
  } else {
    static const char *const cond_keys[] = {"\"pingpong_ns\": {\"tpark\": ",
                                            "\"consumers\": 1,",
                                            "\"consumers\": 8,",
                                            "\"waiters\": 4,",
                                            "\"waiters\": 64,",
                                            "\"system\": \""};
    for (size_t k = 0; k < sizeof cond_keys / sizeof cond_keys[0]; k++) {
      if (strstr(cond, cond_keys[k]) == NULL) fail("\"cond\" lacks %s", cond_keys[k]);
    }
    static const char *const once_keys[] = {"\"done_ns\": {\"tpark\": ", "\"threads\": 4,",
                                            "\"threads\": 64,", "\"herd_runs\": "};
    for (size_t k = 0; k < sizeof once_keys / sizeof once_keys[0]; k++) {
      if (strstr(once, once_keys[k]) == NULL) fail("\"once\" lacks %s", once_keys[k]);
    }
    /* Each comparison: a ratio and a sample array per variant. 1 + 4 + 3
     * comparisons in cond, 1 + 3 in once. */
    int ratios = count(out, "\"ratio\": {\"median\": ");
    if (ratios != 12) fail("--json: %d comparisons, want 12", ratios);
    int samples = count(out, "\"samples\": {\"tpark\": [");
    if (samples != 12 + 4 * RW_CASES) {
      fail("--json: %d sample sets, want %d", samples, 12 + 4 * RW_CASES);
    }
    static const char *const rw_keys[] = {
      "{\"threads\": 1, \"write_every\": 10,",
      "{\"threads\": 16, \"write_every\": 10,",
      "{\"threads\": 1, \"write_every\": 1000,",
      "{\"threads\": 16, \"write_every\": 1000,",
#if defined(_WIN32)
      "\"SRWLOCK\": \"SRWLOCK\"",
      "\"tpark/SRWLOCK\": {\"median\": ",
#else
      "\"pthread\": \"pthread_rwlock_t\"",
      "\"tpark/pthread\": {\"median\": ",
#endif
#if defined(__GLIBC__)
      "\"pthread_wp\": \"pthread_rwlock_t (PREFER_WRITER_NONRECURSIVE_NP)\"",
      "\"tpark/pthread_wp\": {\"median\": ",
#endif
    };
    for (size_t k = 0; k < sizeof rw_keys / sizeof rw_keys[0]; k++) {
      if (rw == NULL || strstr(rw, rw_keys[k]) == NULL) fail("\"rw\" lacks %s", rw_keys[k]);
    }
    static const char *const rw_measures[] = {
        "\"ops_per_s\": {\"tpark\": ", "\"writer_worst_wait\": {\"tpark\": ",
        "\"reader_worst_wait\": {\"tpark\": ", "\"fairness\": {\"tpark\": "};
    /* Each case: a summary per measure and variant, and one ratio per
     * system variant. rw is the last member: counting to the end is fine. */
    for (size_t k = 0; rw != NULL && k < 4; k++) {
      int n = count(rw, rw_measures[k]);
      if (n != RW_CASES) fail("\"rw\": %d cases with %s, want %d", n, rw_measures[k], RW_CASES);
    }
    int summaries = rw ? count(rw, "\": {\"median\": ") : 0;
    if (summaries != RW_CASES * (4 * RW_VARIANTS + RW_SYSTEM)) {
      fail("\"rw\": %d summaries, want %d", summaries, RW_CASES * (4 * RW_VARIANTS + RW_SYSTEM));
    }
  }
  printf("--json: cond, once and rw members\n");
  free(out);
}

static void check_csv(void) {
  int status;
  char *out = run(ARGS " --csv", &status);
  if (status != 0) fail("--csv: exit status %d", status);
  /* A row per round and variant: cond 1 + 4 + 3 cases, once 1 + 3. */
  struct {
    const char *prefix;
    int want;
  } rows[] = {
      {"\ncond,cond,pingpong,round_trip,", 2 * ROUNDS},
      {"\ncond,cond,queue,C=", 4 * 2 * ROUNDS},
      {"\ncond,cond,broadcast,W=", 3 * 2 * ROUNDS},
      {"\nonce,once,done_path,pinned,", 2 * ROUNDS},
      {"\nonce,once,herd,T=", 3 * 2 * ROUNDS},
      {"\nrw,rwlock,ops_per_s,T=", RW_CASES * RW_VARIANTS * ROUNDS},
      {"\nrw,rwlock,ops_per_s,T=16 W=1000,tpark,1,", 1},
  };
  if (strncmp(out, "section,subject,measurement,condition,variant,index,value,unit\n", 63) != 0) {
    fail("--csv: no header");
  }
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    int n = count(out, rows[k].prefix);
    if (n != rows[k].want)
      fail("--csv: %d rows %s..., want %d", n, rows[k].prefix + 1, rows[k].want);
  }
  /* The rw section's other measures: a row for each value a run could
   * take (a worst wait needs a lock of that kind, in a 5 ms run maybe none). */
  static const char *const rw_rows[] = {
      "\nrw,rwlock,writer_worst_wait,T=", "\nrw,rwlock,reader_worst_wait,T=",
      "\nrw,rwlock,fairness,T="};
  for (size_t k = 0; k < sizeof rw_rows / sizeof rw_rows[0]; k++) {
    int n = count(out, rw_rows[k]), most = RW_CASES * RW_VARIANTS * ROUNDS;
    if (n < most / 2 || n > most) {
      fail("--csv: %d rows %s..., want %d (at least half)", n, rw_rows[k] + 1, most);
    }
  }
  printf("--csv: a row per round, variant and case\n");
  free(out);
}

static void check_table(void) {
  int status;
  char *out = run(ARGS, &status);
  if (status != 0) fail("table: exit status %d", status);
  if (strncmp(out, "== cond: tpark_cond + tpark_mutex against ", 42) != 0) {
    fail("table: does not start with the cond section: %.60s", out);
  }
  if (strstr(out, "\n== once: tpark_once against ") == NULL) fail("table: no once section");
  const char *rw = strstr(out, "\n== rw: tpark_rwlock against the system's ");
  if (rw == NULL) {
    fail("table: no rw section");
  } else {
#if defined(_WIN32)
    const char *system = "   SRWLOCK: SRWLOCK\n";
#else
    const char *system = "   pthread: pthread_rwlock_t\n";
#endif
    if (strstr(rw, system) == NULL) fail("table: the rw section does not name %s", system);
    if (count(rw, "\n  T=16 W=1000 ") != 4) fail("table: rw lacks a row of T=16 W=1000");
  }
  if (strstr(out, "== locks") != NULL || strstr(out, "== summary") != NULL) {
    fail("table: more than the three sections");
  }
  printf("table: the cond, once and rw sections\n");
  free(out);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: sync_sections_test PATH/TO/parkbench\n");
    return 2;
  }
  static char path[512];
  snprintf(path, sizeof path, "%s", argv[1]);
#if defined(_WIN32)
  for (char *c = path; *c; c++) { /* cmd.exe, which runs _popen's command, wants backslashes */
    if (*c == '/') *c = '\\';
  }
#endif
  bench = path;
  check_json();
  check_csv();
  check_table();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("all checks passed\n");
  return 0;
}
