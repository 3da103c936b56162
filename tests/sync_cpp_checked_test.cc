// tpark/sync.hpp under checked mode for locks (BUILD sets TPARK_CHECKED=1):
// a destructor forgets its lock (tpark_checked_forget), so a lock built
// later at the same address inherits no lock order. Here the second lock
// at that address is taken in the other order relative to b: had the first
// one's order "x then b" survived, "b then x" would end the process with a
// "lock order" report. Also a correct use of every type reports nothing.
// Plain exit codes (0: passed).
#include <cstdio>
#include <mutex>
#include <new>

#include "tpark/checked.h"
#include "tpark/sync.hpp"

namespace {

tpark::mutex b;

template <class Lock>
void reuse_one_address() {
  alignas(Lock) unsigned char storage[sizeof(Lock)];
  Lock *x = new (storage) Lock;
  x->lock();  // x then b
  b.lock();
  b.unlock();
  x->unlock();
  x->~Lock();
  Lock *y = new (storage) Lock;  // the same address
  b.lock();                      // b then y: fine, y is a new lock
  y->lock();
  y->unlock();
  b.unlock();
  y->~Lock();
}

}  // namespace

int main() {
  reuse_one_address<tpark::mutex>();
  reuse_one_address<tpark::recursive_mutex>();
  reuse_one_address<tpark::shared_mutex>();
  {
    tpark::shared_mutex s;
    s.lock_shared();
    s.unlock_shared();
    std::unique_lock<tpark::mutex> guard(b);
    tpark::condition_variable cv;
    bool ready = true;
    cv.wait(guard, [&] { return ready; });
    cv.notify_all();
  }
  char buf[64];
  if (tpark_checked_deadlocks(buf, sizeof buf) != 0) {
    std::fprintf(stderr, "sync_cpp_checked_test: a deadlock reported: %s\n", buf);
    return 1;
  }
  std::printf("sync_cpp_checked_test: passed\n");
  return 0;
}
