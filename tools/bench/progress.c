/* parkbench: the progress line with the time left. */
#include <stdarg.h>
#include <stdio.h>

#include "tools/bench/bench.h"
#include "tools/bench/sys.h"

static struct {
  uint64_t start, last; /* ns: the run's start, the last line shown */
  bool tty, shown;
  double total_s; /* expected, all phases */
  double done_s;  /* expected seconds of the phases already finished */
  double phase_s; /* expected seconds of the current phase */
  double phase_frac;
  char phase[160];
} pr;

void progress_start(double expected_total_s) {
  pr.start = now_ns();
  pr.tty = stderr_is_tty();
  pr.total_s = expected_total_s;
}

/* Expected work left, scaled by how much slower or faster than expected the
 * work so far went. */
static double seconds_left(double elapsed) {
  double done = pr.done_s + pr.phase_frac * pr.phase_s;
  double left = pr.total_s - done;
  if (left < 0) left = 0;
  if (done > 0.5) left *= elapsed / done;
  return left;
}

static void show(bool new_phase) {
  uint64_t now = now_ns();
  double elapsed = (double)(now - pr.start) / 1e9;
  if (elapsed < 2) return;
  char step[48] = "";
  if (!new_phase && (!pr.tty || now - pr.last < 100000000)) return; /* 10 a second at most */
  pr.last = now;
  if (pr.tty && pr.phase_frac > 0) snprintf(step, sizeof step, " %3.0f%%", 100 * pr.phase_frac);
  fprintf(stderr, "%sparkbench [%4.0f s, about %.0f s left] %s%s%s", pr.tty ? "\r" : "", elapsed,
          seconds_left(elapsed), pr.phase, step, pr.tty ? "      " : "\n");
  fflush(stderr);
  pr.shown = true;
}

void progress_phase(double expected_s, const char *fmt, ...) {
  pr.done_s += pr.phase_s;
  pr.phase_s = expected_s;
  pr.phase_frac = 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pr.phase, sizeof pr.phase, fmt, ap);
  va_end(ap);
  show(true);
}

void progress_step(unsigned i, unsigned n) {
  pr.phase_frac = n ? (double)i / n : 0;
  show(false);
}

void progress_done(void) {
  if (pr.tty && pr.shown) fprintf(stderr, "\r%-110s\r", "");
}
