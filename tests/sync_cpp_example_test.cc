// README's C++ example (tools/test checks that README shows this file): a
// 5 s timeout of tpark::condition_variable::wait_for, tested on the mock's
// fake clock in milliseconds of real time.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "tpark/mock.h"
#include "tpark/sync.hpp"

#define CHECK(c)                                                    \
  do {                                                              \
    if (!(c)) {                                                     \
      fprintf(stderr, "line %d: CHECK(%s) failed\n", __LINE__, #c); \
      exit(1);                                                      \
    }                                                               \
  } while (0)

using namespace std::chrono_literals;

// ---- The code under test: a value that one thread sets and others await. ----
class reply {
 public:
  void set(int v) {
    {
      std::lock_guard<tpark::mutex> hold(lock_);
      value_ = v;
      ready_ = true;
    }
    ready_cv_.notify_all();
  }

  // The value, if it is set within 5 s.
  bool get(int *out) {
    std::unique_lock<tpark::mutex> hold(lock_);
    if (!ready_cv_.wait_for(hold, 5s, [this] { return ready_; })) return false;
    *out = value_;
    return true;
  }

 private:
  tpark::mutex lock_;
  tpark::condition_variable ready_cv_;
  bool ready_ = false;
  int value_ = 0;
};

// ---- The test: two 5 s waits, no real waiting. ----
int main() {
  tpark_mock *mock = tpark_mock_new();
  tpark_set_default_backend(tpark_mock_backend(mock));  // tpark::clock is its clock now
  const auto real_start = std::chrono::steady_clock::now();

  // Nobody answers: the wait ends when the fake clock has moved exactly 5 s.
  reply never;
  bool got = true;
  int value = 0;
  tpark_mock_set_threads(mock, 1);
  std::thread waiter([&] {
    got = never.get(&value);
    tpark_mock_thread_exit(mock);
  });
  CHECK(tpark_mock_run_until_idle(mock, TPARK_NEVER, 10000) == TPARK_MOCK_IDLE);
  waiter.join();
  CHECK(!got);
  CHECK(tpark_mock_now(mock) == 5000000000u);  // 5 s of fake time, to the ns

  // An answer after 2 s wakes the waiter then, not at its deadline.
  reply answered;
  std::thread asker([&] { got = answered.get(&value); });
  CHECK(tpark_mock_wait_sleepers(mock, 1, 10000));  // it waits (a real-time bound)
  tpark_mock_advance(mock, 2000000000u);
  answered.set(42);
  asker.join();
  CHECK(got && value == 42);
  CHECK(tpark_mock_now(mock) == 7000000000u);

  const auto real = std::chrono::steady_clock::now() - real_start;
  CHECK(real < 5s);  // 7 s of fake time, not of real time
  printf("7 s of fake time in %lld ms of real time\n",
         (long long)std::chrono::duration_cast<std::chrono::milliseconds>(real).count());
  tpark_set_default_backend(nullptr);
  tpark_mock_free(mock);
  return 0;
}
