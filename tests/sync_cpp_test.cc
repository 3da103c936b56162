// tpark/sync.hpp on one subject backend (the program's argument) made the
// process default, as the C suites run (cond_test.c, once_test.c,
// mutex_test.c): exactly-once delivery through a bounded queue with many
// producers and consumers, timeouts of every timed call (on a fake clock:
// exactly at the deadline, not 1 ns early; for real: never early), huge
// durations that mean no deadline, another clock's time_point, call_once
// with throwing attempts, shared/exclusive exclusion of shared_mutex,
// std::lock of several mutexes at once and std::scoped_lock (C++17). After each scenario the lock
// words are zero. A plain program (no test framework): it stops at the first failed CHECK.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tpark/sync.hpp"
extern "C" {
#include "tests/subject.h"
}

#define CHECK(c)                                                                 \
  do {                                                                           \
    if (!(c)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
      std::exit(1);                                                              \
    }                                                                            \
  } while (0)

namespace {

using std::chrono::nanoseconds;
typedef std::unique_lock<tpark::mutex> lock_t;

const std::uint64_t MS = 1000000;

// The lock words (tpark/mutex.h, tpark/cond.h): zero when free and unwaited.
bool idle(tpark::mutex &m) {
  return __atomic_load_n(&m.native_handle()->state_, __ATOMIC_SEQ_CST) == 0;
}
bool idle(tpark::shared_mutex &l) {
  return __atomic_load_n(&l.native_handle()->state_, __ATOMIC_SEQ_CST) == 0;
}
bool idle(tpark::condition_variable &c) {
  return __atomic_load_n(&c.native_handle()->mutex_, __ATOMIC_SEQ_CST) == nullptr;
}

// One scenario on a fresh backend of the subject, made the process default.
template <class F>
void scenario(const char *name, F body) {
  subject_setup();
  CHECK(subject_backend() != nullptr);
  tpark_set_default_backend(subject_backend());
  body();
  tpark_set_default_backend(nullptr);
  subject_teardown();
  std::printf("ok %s\n", name);
  std::fflush(stdout);
}

// ---- timeouts ----

// Waits (real time, generous) until done: a call that should have returned
// but did not fails the test here rather than hang it.
void returns(const std::atomic<bool> &done) {
  for (int i = 0; i < 20000 && !done; i++) test_sleep_ms(1);
  CHECK(done);
}

// Runs wait() (a timed call that must time out after d) in a thread and
// checks when it returned: on a fake clock exactly d after the call (the
// clock is moved d - 1 ns first, and the call must still wait); for real,
// not before d. wait() returns false when it timed out.
template <class Wait>
void times_out_after(std::uint64_t d, Wait wait) {
  std::atomic<bool> done(false);
  bool result = true;
  tpark::clock::time_point start = tpark::clock::now(), end;
  std::thread t([&] {
    result = wait();
    end = tpark::clock::now();
    done = true;
  });
  if (subject_fake_time()) {
    subject_wait_sleepers(1, 10000);
    subject_advance(d - 1);
    test_sleep_ms(20);  // time to return, if it was woken (a pause, not a bound)
    CHECK(!done);       // 1 ns early: still waiting
    subject_advance(1);
    returns(done);
  }
  t.join();
  CHECK(!result);
  if (subject_fake_time()) {
    CHECK(end - start == nanoseconds(d));
  } else {
    CHECK(end - start >= nanoseconds(d));
  }
}

void mutex_timeouts() {
  tpark::mutex m;
  tpark::recursive_mutex r;
  m.lock();
  r.lock();
  times_out_after(5 * MS, [&] { return m.try_lock_for(std::chrono::milliseconds(5)); });
  times_out_after(5 * MS, [&] { return r.try_lock_for(std::chrono::microseconds(5000)); });
  // A fractional duration rounds up to the next ns (never early); whole ms,
  // for the Windows backends' ms timeouts.
  times_out_after(2 * MS, [&] {
    return m.try_lock_for(std::chrono::duration<double, std::nano>(2 * MS - 0.5));
  });
  times_out_after(
      2 * MS, [&] { return m.try_lock_until(tpark::clock::now() + std::chrono::milliseconds(2)); });
  times_out_after(
      2 * MS, [&] { return r.try_lock_until(tpark::clock::now() + std::chrono::milliseconds(2)); });
  // Zero and negative: no wait, no park.
  std::atomic<bool> done(false);
  std::thread t([&] {
    CHECK(!m.try_lock_for(nanoseconds(0)));
    CHECK(!m.try_lock_for(std::chrono::seconds(-1)));
    CHECK(!m.try_lock_until(tpark::clock::time_point::min()));
    CHECK(!m.try_lock_until(std::chrono::system_clock::now() - std::chrono::hours(1)));
    CHECK(!r.try_lock_for(nanoseconds(0)));
    done = true;
  });
  returns(done);
  t.join();
  r.unlock();
  m.unlock();
  CHECK(idle(m));

  // shared_mutex: exclusive and shared, each against a writer inside, and
  // exclusive against a reader inside.
  tpark::shared_mutex l;
  l.lock();
  times_out_after(5 * MS, [&] { return l.try_lock_for(std::chrono::milliseconds(5)); });
  times_out_after(5 * MS, [&] { return l.try_lock_shared_for(std::chrono::milliseconds(5)); });
  times_out_after(3 * MS, [&] {
    return l.try_lock_shared_until(tpark::clock::now() + std::chrono::milliseconds(3));
  });
  l.unlock();
  l.lock_shared();
  times_out_after(
      3 * MS, [&] { return l.try_lock_until(tpark::clock::now() + std::chrono::milliseconds(3)); });
  l.unlock_shared();
  CHECK(idle(l));
  // A free mutex is taken even with a deadline already past.
  CHECK(m.try_lock_for(nanoseconds(-1)));
  m.unlock();
  CHECK(idle(m));
}

void cv_timeouts() {
  tpark::mutex m;
  tpark::condition_variable c;
  bool flag = false;
  times_out_after(5 * MS, [&] {
    lock_t l(m);
    return c.wait_for(l, std::chrono::milliseconds(5)) == std::cv_status::no_timeout;
  });
  times_out_after(5 * MS, [&] {
    lock_t l(m);
    bool r = c.wait_for(l, std::chrono::milliseconds(5), [&] { return flag; });
    CHECK(l.owns_lock());
    return r;
  });
  times_out_after(4 * MS, [&] {
    lock_t l(m);
    return c.wait_until(l, tpark::clock::now() + std::chrono::milliseconds(4)) ==
           std::cv_status::no_timeout;
  });
  times_out_after(4 * MS, [&] {
    lock_t l(m);
    return c.wait_until(l, tpark::clock::now() + std::chrono::milliseconds(4),
                        [&] { return flag; });
  });
  // Another clock's time_point: its distance from that clock's now, at the
  // call, on tpark::clock. Real time passes between the caller's now() and
  // the call's, so the wait is that much shorter: on a fake clock it still
  // waits at half the distance and has ended at the whole.
  for (int clock = 0; clock < 2; clock++) {
    const std::chrono::seconds d(3);
    std::atomic<bool> done(false);
    std::cv_status st = std::cv_status::no_timeout;
    tpark::clock::time_point start = tpark::clock::now(), end;
    std::thread t([&] {
      lock_t l(m);
      st = clock ? c.wait_until(l, std::chrono::system_clock::now() + d)
                 : c.wait_until(l, std::chrono::steady_clock::now() + d);
      end = tpark::clock::now();
      done = true;
    });
    if (subject_fake_time()) {
      subject_wait_sleepers(1, 10000);
      subject_advance(1500 * MS);
      test_sleep_ms(20);
      CHECK(!done);
      subject_advance(1500 * MS);
      returns(done);
    }
    t.join();
    CHECK(st == std::cv_status::timeout);
    CHECK(end - start > d / 2);
    if (subject_fake_time()) CHECK(end - start <= d);
  }
  CHECK(idle(m) && idle(c));
}

// A duration too large for a deadline is no deadline: on a fake clock, a
// jump of 2^62 ns does not end the wait; a notify does.
template <class Duration>
void no_deadline(Duration d) {
  if (!subject_fake_time()) return;  // real time cannot show "never"
  tpark::mutex m;
  tpark::condition_variable c;
  bool flag = false, result = false;
  std::atomic<bool> done(false);
  std::thread t([&] {
    lock_t l(m);
    result = c.wait_for(l, d, [&] { return flag; });
    done = true;
  });
  subject_wait_sleepers(1, 10000);
  subject_advance(UINT64_C(1) << 62);
  test_sleep_ms(20);
  CHECK(!done);
  {
    lock_t l(m);
    flag = true;
  }
  c.notify_one();
  returns(done);
  t.join();
  CHECK(result);
  CHECK(idle(m) && idle(c));
}

void huge_durations() {
  no_deadline(nanoseconds::max());
  no_deadline(std::chrono::hours::max());
  no_deadline(std::chrono::duration<double>(std::numeric_limits<double>::infinity()));
  no_deadline(std::chrono::duration<std::int64_t, std::ratio<1000000000>>(1000000000));
}

// ---- a bounded queue: exactly once ----

class queue {
 public:
  explicit queue(size_t capacity) : capacity_(capacity) {}
  void push(int v) {
    lock_t l(m_);
    not_full_.wait(l, [&] { return items_.size() < capacity_; });
    items_.push_back(v);
    l.unlock();
    not_empty_.notify_one();
  }
  int pop() {
    lock_t l(m_);
    not_empty_.wait(l, [&] { return !items_.empty(); });
    int v = items_.front();
    items_.pop_front();
    l.unlock();
    not_full_.notify_one();
    return v;
  }
  bool idle() { return ::idle(m_) && ::idle(not_full_) && ::idle(not_empty_); }

 private:
  tpark::mutex m_;
  tpark::condition_variable not_full_, not_empty_;
  std::deque<int> items_;
  size_t capacity_;
};

void queue_exactly_once() {
  const int producers = 4, consumers = 4, each = 2000, total = producers * each;
  queue q(3);
  std::vector<std::atomic<int>> seen(total);
  for (auto &s : seen) s = 0;
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; p++) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < each; i++) q.push(p * each + i);
    });
  }
  for (int c = 0; c < consumers; c++) {
    threads.emplace_back([&] {
      for (int i = 0; i < total / consumers; i++) seen[q.pop()]++;
    });
  }
  for (auto &t : threads) t.join();
  for (auto &s : seen) CHECK(s == 1);
  CHECK(q.idle());
}

// ---- call_once ----

struct failed_attempt : std::runtime_error {
  failed_attempt() : std::runtime_error("attempt failed") {}
};

void call_once_throwing() {
  // One thread: the exception reaches the caller, the flag stays unset.
  tpark::once_flag flag;
  int runs = 0;
  bool threw = false;
  try {
    tpark::call_once(flag, [&] {
      runs++;
      throw failed_attempt();
    });
  } catch (const failed_attempt &) {
    threw = true;
  }
  CHECK(threw && runs == 1);
  tpark::call_once(flag, [&] { runs++; });
  CHECK(runs == 2);
  tpark::call_once(flag, [&] { runs++; });
  CHECK(runs == 2);

  // Many threads, the first three attempts throw: four runs in all, one
  // success, every thread that did not throw sees its writes.
  tpark::once_flag flag2;
  std::atomic<int> attempts(0), thrown(0), saw(0);
  int value = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; i++) {
    threads.emplace_back([&] {
      try {
        tpark::call_once(flag2, [&] {
          if (attempts++ < 3) throw failed_attempt();
          value = 42;
        });
        if (value == 42) saw++;
      } catch (const failed_attempt &) {
        thrown++;
      }
    });
  }
  for (auto &t : threads) t.join();
  CHECK(attempts == 4 && thrown == 3 && saw == 5);
}

// ---- shared_mutex: shared and exclusive ----

// Readers share it (two inside at once, and a writer kept out meanwhile);
// a writer is alone. Many readers and writers through std::shared_lock and
// std::unique_lock: no reader ever sees a writer inside, no writer sees
// anyone, and the writers' increments all land.
void shared_exclusive() {
  tpark::shared_mutex l;
  {
    std::shared_lock<tpark::shared_mutex> r1(l);
    std::atomic<bool> done(false);
    std::thread t([&] {
      std::shared_lock<tpark::shared_mutex> r2(l, std::try_to_lock);
      CHECK(r2.owns_lock());  // readers share it
      CHECK(!l.try_lock());   // a writer does not get in
      done = true;
    });
    returns(done);
    t.join();
  }
  CHECK(idle(l));

  std::atomic<int> readers(0), writers(0), bad(0);
  long value = 0;
  const int n = 2000;
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; w++) {
    threads.emplace_back([&] {
      for (int i = 0; i < n; i++) {
        std::unique_lock<tpark::shared_mutex> hold(l);
        if (writers++ != 0 || readers != 0) bad++;
        value++;
        writers--;
      }
    });
  }
  for (int r = 0; r < 3; r++) {
    threads.emplace_back([&] {
      for (int i = 0; i < n; i++) {
        std::shared_lock<tpark::shared_mutex> hold(l);
        readers++;
        if (writers != 0 || value < 0) bad++;
        readers--;
      }
    });
  }
  for (auto &t : threads) t.join();
  CHECK(bad == 0 && value == 2 * n);
  CHECK(idle(l));
}

// ---- several mutexes at once ----

void lock_several() {
  tpark::mutex a, b, c;
  long in_ab = 0, in_bc = 0;
  const int rounds = 3000;
  std::thread t1([&] {
    for (int i = 0; i < rounds; i++) {
      std::lock(a, b, c);
      in_ab++;
      in_bc++;
      a.unlock();
      b.unlock();
      c.unlock();
    }
  });
  std::thread t2([&] {
    for (int i = 0; i < rounds; i++) {
      lock_t lc(c, std::defer_lock), lb(b, std::defer_lock), la(a, std::defer_lock);
      std::lock(lc, lb, la);  // the other order
      in_ab++;
      in_bc++;
    }
  });
  std::thread t3([&] {
    for (int i = 0; i < rounds; i++) {
#if __cplusplus >= 201703L
      std::scoped_lock both(b, c);
#else
      std::lock(b, c);
      std::lock_guard<tpark::mutex> gb(b, std::adopt_lock), gc(c, std::adopt_lock);
#endif
      in_bc++;
    }
  });
  t1.join();
  t2.join();
  t3.join();
  CHECK(in_ab == 2 * rounds && in_bc == 3 * rounds);
  CHECK(idle(a) && idle(b) && idle(c));
}

void recursive() {
  tpark::recursive_mutex r;
  r.lock();
  CHECK(r.try_lock());
  std::thread([&] { CHECK(!r.try_lock()); }).join();
  r.unlock();
  std::thread([&] { CHECK(!r.try_lock()); }).join();
  r.unlock();
  std::thread([&] {
    CHECK(r.try_lock());
    r.unlock();
  }).join();
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 2 || subject_open(argv[1]) == nullptr) {
    std::fprintf(stderr, "usage: sync_cpp_test SUBJECT\n");
    return 2;
  }
  scenario("mutex timeouts", mutex_timeouts);
  scenario("condition_variable timeouts", cv_timeouts);
  scenario("huge durations are no deadline", huge_durations);
  scenario("queue: exactly once", queue_exactly_once);
  scenario("call_once: throwing attempts", call_once_throwing);
  scenario("shared_mutex: shared and exclusive", shared_exclusive);
  scenario("std::lock, std::scoped_lock", lock_several);
  scenario("recursive_mutex", recursive);
  std::printf("all passed on %s (C++ %ld)\n", argv[1], (long)__cplusplus);
  return 0;
}
