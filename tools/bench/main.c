/* parkbench: what tpark costs, next to the best plain use of the OS
 * primitives; the command line (this file) and the sections it runs
 * (section.h). BUILD.bazel lists the files and what each holds. */
#if defined(_WIN32)
#define __USE_MINGW_ANSI_STDIO 1 /* C99 printf formats with msvcrt */
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/bench/bench.h"
#include "tools/bench/measure.h"
#include "tools/bench/output.h"
#include "tools/bench/section.h"
#include "tools/bench/sys.h"

/* The sections, in the order they run and print (section.h), and those the
 * command line selected. */
#define SECTION_ADDRESS(name) &name##_section,
static const bench_section *const sections[] = {BENCH_SECTIONS(SECTION_ADDRESS)};
#undef SECTION_ADDRESS
#define N_SECTIONS (sizeof sections / sizeof sections[0])
static bool selected[N_SECTIONS];

/* tools/run --help prints the lines between the USAGE markers (the C string
 * contents), without building anything: keep one string per line. */
static void usage(FILE *f) {
  fputs(
      /* USAGE BEGIN */
      "usage: parkbench [--json | --csv] [--quick] [--sections LIST] [--backend NAME]\n"
      "                 [--rounds N] [--iters N] [--lock-rounds N] [--lock-ms N]\n"
      "\n"
      "Measures what tpark costs next to the best plain use of the OS primitives,\n"
      "in sections, each compared as paired ratios with the variants interleaved:\n"
      "  backends  every tpark backend available here against the primitive it\n"
      "            wraps (futex: a 3-state word; condvar: a mutex and condvar per\n"
      "            parker, signalled after unlocking; WaitOnAddress and keyed\n"
      "            events: the obvious loops): ping-pong round trip (threads free,\n"
      "            and both pinned to one CPU), unpark of an awake owner, park when\n"
      "            already unparked, timeout lateness (never early), footprint and\n"
      "            setup cost; then which backend to use, and when to force another\n"
      "  checked   the ping-pong through checked mode (TPARK_CHECKED=1) against\n"
      "            the plain backend\n"
      "  locks     tpark_mutex against the system's lock (pthread_mutex_t,\n"
      "            SRWLOCK): uncontended, throughput and worst wait at 2 to 16\n"
      "            threads; tpark_wait_on_address against the raw address wait\n"
      "            (futex, WaitOnAddress): wait/wake round trip\n"
      "  cond      tpark_cond + tpark_mutex against the system's condition variable\n"
      "            (pthread_cond_t, CONDITION_VARIABLE + SRWLOCK): ping-pong, a\n"
      "            bounded queue with 1 to 8 consumers, broadcast to 4 to 64 waiters\n"
      "  once      tpark_once against the system's (pthread_once,\n"
      "            InitOnceExecuteOnce): the done path, herds of 4 to 64 callers\n"
      "\n"
      "  --json            JSON on stdout instead of the tables, with every raw sample\n"
      "  --csv             CSV on stdout, one row per raw sample:\n"
      "                    section,subject,measurement,condition,variant,index,value,unit\n"
      "  --quick           a short run (seconds): fewer rounds and samples\n"
      "  --sections LIST   only these sections, e.g. backends,locks (default: all)\n"
      "  --locks           the same as --sections locks\n"
      "  --backend NAME    only this backend (waitaddress, keyed_event, futex, condvar)\n"
      "  --rounds N        ping-pong rounds recorded per placement (default 301, quick 41)\n"
      "  --iters N         round trips per variant per round (default 100, quick 50)\n"
      "  --lock-rounds N   rounds of the locks section (default 5, quick 3)\n"
      "  --lock-ms N       ms of each throughput run (default 300, quick 100)\n"
      "  --help            this text\n"
      "\n"
      "Progress, with the time left, goes to stderr once a run takes longer than\n"
      "2 s. Exit status: 0, or 2 for bad arguments, 1 when something failed.\n"
      /* USAGE END */
      ,
      f);
}

static void bad_args(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad_args(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("parkbench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\n(parkbench --help shows the options)\n", stderr);
  va_end(ap);
  exit(2);
}

static unsigned parse_count(const char *opt, const char *s, unsigned max) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > max) {
    bad_args("%s wants a whole number from 1 to %u, not \"%s\"", opt, max, s);
  }
  return (unsigned)v;
}

/* --sections' value: every name must be a section's. */
static void select_sections(const char *list) {
  for (size_t i = 0; i < N_SECTIONS; i++) selected[i] = false;
  for (const char *s = list;;) {
    size_t len = strcspn(s, ",");
    bool known = false;
    for (size_t i = 0; i < N_SECTIONS; i++) {
      if (strlen(sections[i]->name) == len && !strncmp(sections[i]->name, s, len)) {
        selected[i] = known = true;
      }
    }
    if (!known) {
      char names[128] = "";
      for (size_t i = 0; i < N_SECTIONS; i++) {
        size_t used = strlen(names);
        snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", sections[i]->name);
      }
      bad_args("--sections: no section \"%.*s\" (sections: %s)", (int)len, s, names);
    }
    if (s[len] == '\0') break;
    s += len + 1;
  }
}

static void parse_args(int argc, char **argv, bench_options *o) {
  long rounds = -1, iters = -1, lock_rounds = -1, lock_ms = -1;
  bool json = false, csv = false;
  *o = (bench_options){0};
  for (size_t i = 0; i < N_SECTIONS; i++) selected[i] = true;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i], *value = NULL;
    char name[32];
    /* --opt=value or --opt value, for the options that take one. */
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, arg, len);
    name[len] = '\0';
    bool takes_value = !strcmp(name, "--backend") || !strcmp(name, "--rounds") ||
                       !strcmp(name, "--iters") || !strcmp(name, "--sections") ||
                       !strcmp(name, "--lock-rounds") || !strcmp(name, "--lock-ms");
    if (takes_value) {
      if (eq) {
        value = eq + 1;
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        bad_args("%s needs a value", name);
      }
    } else if (eq) {
      bad_args("%s takes no value", name);
    }
    if (!strcmp(name, "--json")) {
      json = true;
    } else if (!strcmp(name, "--csv")) {
      csv = true;
    } else if (!strcmp(name, "--quick")) {
      o->quick = true;
    } else if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(name, "--backend")) {
      bool known = false;
      for (size_t k = 0; k < n_builtin_names; k++) known |= !strcmp(builtin_names[k], value);
      if (!known) {
        bad_args("unknown backend \"%s\" (built-in: waitaddress, keyed_event, futex, condvar)",
                 value);
      }
      o->backend = value;
    } else if (!strcmp(name, "--rounds")) {
      rounds = parse_count("--rounds", value, 100000);
    } else if (!strcmp(name, "--iters")) {
      iters = parse_count("--iters", value, 10000000);
    } else if (!strcmp(name, "--sections")) {
      select_sections(value);
    } else if (!strcmp(name, "--locks")) {
      select_sections("locks");
    } else if (!strcmp(name, "--lock-rounds")) {
      lock_rounds = parse_count("--lock-rounds", value, 1000);
    } else if (!strcmp(name, "--lock-ms")) {
      lock_ms = parse_count("--lock-ms", value, 100000);
    } else {
      bad_args("unknown argument \"%s\"", arg);
    }
  }
  if (json && csv) bad_args("--json and --csv exclude each other");
  o->format = json ? FORMAT_JSON : csv ? FORMAT_CSV : FORMAT_TABLE;
  /* Short blocks and many rounds: on a 2-CPU VM free threads switch between
   * sharing a CPU (~2 us a round trip) and not (~60 us) every few ms, and a
   * pair of blocks should see the same placement. */
  o->rounds = rounds > 0 ? (unsigned)rounds : o->quick ? 41 : 301;
  o->iters = iters > 0 ? (unsigned)iters : o->quick ? 50 : 100;
  o->op_reps = o->quick ? 11 : 51;
  o->setup_reps = o->quick ? 20 : 200;
  o->footprint_pairs = o->quick ? 200 : 1000;
  o->timeout_budget_s = o->quick ? 0.01 : 0.4;
  o->timeout_cap = o->quick ? 30 : 200;
  o->lock_rounds = lock_rounds > 0 ? (unsigned)lock_rounds : o->quick ? 3 : 5;
  o->lock_ms = lock_ms > 0 ? (unsigned)lock_ms : o->quick ? 100 : 300;
  o->lock_ops = o->quick ? 200000 : 5000000;
  o->lock_trips = o->quick ? 2000 : 20000;
}

static void print_json_head(const bench_options *o) {
  printf("{\n  \"tool\": \"parkbench\",\n  \"format\": 2,\n");
  printf("  \"machine\": {\"os\": ");
  json_str(os_name());
  printf(", \"cpus\": %d, \"wine\": ", o->cpus);
  json_str(wine_version());
  printf(", \"pinned_cpu\": %d},\n", o->cpu);
  printf(
      "  \"config\": {\"quick\": %s, \"rounds\": %u, \"iters\": %u, \"op_batch\": %u, "
      "\"op_reps\": %u, \"ratio_bar\": %.2f},\n",
      o->quick ? "true" : "false", o->rounds, o->iters, OPS_BATCH, o->op_reps, RATIO_BAR);
  printf("  \"sizeof_parker\": %u", (unsigned)sizeof(tpark_parker));
}

int main(int argc, char **argv) {
  sys_init();
  bench_options o;
  parse_args(argc, argv, &o);
  o.cpus = allowed_cpus(&o.cpu);

  double expected = 0;
  for (size_t i = 0; i < N_SECTIONS; i++) {
    if (!selected[i]) continue;
    if (!sections[i]->prepare(&o)) {
      fputs("(parkbench --help shows the options)\n", stderr);
      return 2;
    }
    expected += sections[i]->estimate_s(&o);
  }
  progress_start(expected);
  for (size_t i = 0; i < N_SECTIONS; i++) {
    if (selected[i]) sections[i]->run(&o);
  }
  progress_done();

  switch (o.format) {
    case FORMAT_JSON:
      print_json_head(&o);
      for (size_t i = 0; i < N_SECTIONS; i++) {
        if (selected[i]) sections[i]->json(&o);
      }
      printf("\n}\n");
      break;
    case FORMAT_CSV:
      csv_header();
      for (size_t i = 0; i < N_SECTIONS; i++) {
        if (selected[i]) sections[i]->csv(&o);
      }
      break;
    case FORMAT_TABLE:
      for (size_t i = 0, shown = 0; i < N_SECTIONS; i++) {
        if (!selected[i]) continue;
        if (shown++) printf("\n");
        sections[i]->table(&o);
      }
      break;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
