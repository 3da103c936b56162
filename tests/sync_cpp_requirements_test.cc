// tpark/sync.hpp against the standard's named requirements, at compile time:
// each type supports the expressions its requirements list, with the result
// types they demand, and instantiates the std lock wrappers it must work
// with. Built as C++11, 14, 17 and 20 (tests/BUILD.bazel), each with
// -pedantic-errors and the project's -Werror warnings; a missing or wrong
// member fails the build. main() runs a few of the expressions once.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <ratio>
#include <type_traits>
#include <utility>
#if __cplusplus >= 201402L
#include <shared_mutex>
#endif

#include "tpark/sync.hpp"

namespace {

using std::declval;

// A time_point of a clock of the test's own, with another period and rep.
struct centi_clock {
  typedef std::chrono::duration<std::int32_t, std::centi> duration;
  typedef duration::rep rep;
  typedef duration::period period;
  typedef std::chrono::time_point<centi_clock> time_point;
  static constexpr bool is_steady = false;
  static time_point now() { return time_point(duration(0)); }
};
static_assert(!centi_clock::is_steady, "a clock that may jump");

// ---- the standard's types: neither copyable nor movable, default-constructible ----

template <class T>
struct std_type {
  static_assert(std::is_default_constructible<T>::value, "DefaultConstructible");
  static_assert(std::is_nothrow_default_constructible<T>::value, "constructors do not throw");
  static_assert(std::is_destructible<T>::value, "Destructible");
  static_assert(!std::is_copy_constructible<T>::value, "not copyable");
  static_assert(!std::is_copy_assignable<T>::value, "not copy-assignable");
  static_assert(!std::is_move_constructible<T>::value, "not movable");
  static_assert(!std::is_move_assignable<T>::value, "not move-assignable");
  static constexpr bool ok = true;
};

// ---- BasicLockable, Lockable, TimedLockable ([thread.req.lockable]) ----

template <class M>
struct basic_lockable {
  static_assert(std::is_same<decltype(declval<M &>().lock()), void>::value, "m.lock()");
  static_assert(std::is_same<decltype(declval<M &>().unlock()), void>::value, "m.unlock()");
  static_assert(noexcept(declval<M &>().unlock()), "m.unlock() throws nothing");
  static constexpr bool ok = true;
};

template <class M>
struct lockable : basic_lockable<M> {
  static_assert(std::is_same<decltype(declval<M &>().try_lock()), bool>::value, "m.try_lock()");
  static constexpr bool ok = true;
};

template <class M, class Duration>
struct timed_for {
  static_assert(
      std::is_same<decltype(declval<M &>().try_lock_for(declval<const Duration &>())), bool>::value,
      "m.try_lock_for(rel_time)");
  static constexpr bool ok = true;
};

template <class M, class TimePoint>
struct timed_until {
  static_assert(std::is_same<decltype(declval<M &>().try_lock_until(declval<const TimePoint &>())),
                             bool>::value,
                "m.try_lock_until(abs_time)");
  static constexpr bool ok = true;
};

// Any duration and any clock's time_point (std's, tpark's, a user's).
template <class M>
struct timed_lockable : lockable<M> {
  static_assert(timed_for<M, std::chrono::nanoseconds>::ok &&
                    timed_for<M, std::chrono::hours>::ok &&
                    timed_for<M, std::chrono::duration<double>>::ok &&
                    timed_for<M, std::chrono::duration<std::int64_t, std::pico>>::ok,
                "try_lock_for");
  static_assert(timed_until<M, tpark::clock::time_point>::ok &&
                    timed_until<M, std::chrono::steady_clock::time_point>::ok &&
                    timed_until<M, std::chrono::system_clock::time_point>::ok &&
                    timed_until<M, centi_clock::time_point>::ok &&
                    timed_until<M, std::chrono::time_point<tpark::clock, std::chrono::hours>>::ok,
                "try_lock_until");
  static constexpr bool ok = true;
};

// ---- SharedLockable, SharedTimedLockable ([thread.req.lockable.shared], C++23's
// names for what std::shared_lock needs since C++14) ----

template <class M>
struct shared_timed_lockable : timed_lockable<M> {
  static_assert(std::is_same<decltype(declval<M &>().lock_shared()), void>::value,
                "m.lock_shared()");
  static_assert(std::is_same<decltype(declval<M &>().try_lock_shared()), bool>::value,
                "m.try_lock_shared()");
  static_assert(std::is_same<decltype(declval<M &>().unlock_shared()), void>::value,
                "m.unlock_shared()");
  static_assert(noexcept(declval<M &>().unlock_shared()), "m.unlock_shared() throws nothing");
  static_assert(
      std::is_same<decltype(declval<M &>().try_lock_shared_for(std::chrono::milliseconds(1))),
                   bool>::value,
      "m.try_lock_shared_for(rel_time)");
  static_assert(std::is_same<decltype(declval<M &>().try_lock_shared_for(
                                 std::chrono::duration<double, std::milli>(1))),
                             bool>::value,
                "m.try_lock_shared_for(rel_time), floating");
  static_assert(std::is_same<decltype(declval<M &>().try_lock_shared_until(tpark::clock::now())),
                             bool>::value,
                "m.try_lock_shared_until(abs_time)");
  static_assert(
      std::is_same<decltype(declval<M &>().try_lock_shared_until(std::chrono::system_clock::now())),
                   bool>::value,
      "m.try_lock_shared_until(abs_time), another clock");
  static constexpr bool ok = true;
};

// ---- the condition variable ([thread.condition.condvar]) ----

typedef std::unique_lock<tpark::mutex> lock_t;
struct pred_t {
  bool operator()() const { return true; }
};

template <class CV>
struct condition_variable_members {
  static_assert(std::is_same<decltype(declval<CV &>().notify_one()), void>::value &&noexcept(
                    declval<CV &>().notify_one()),
                "cv.notify_one() noexcept");
  static_assert(std::is_same<decltype(declval<CV &>().notify_all()), void>::value &&noexcept(
                    declval<CV &>().notify_all()),
                "cv.notify_all() noexcept");
  static_assert(std::is_same<decltype(declval<CV &>().wait(declval<lock_t &>())), void>::value
                    &&noexcept(declval<CV &>().wait(declval<lock_t &>())),
                "cv.wait(lock) noexcept (as std's since C++14)");
  static_assert(
      std::is_same<decltype(declval<CV &>().wait(declval<lock_t &>(), pred_t())), void>::value,
      "cv.wait(lock, pred)");
  static_assert(
      std::is_same<decltype(declval<CV &>().wait_for(declval<lock_t &>(), std::chrono::seconds(5))),
                   std::cv_status>::value,
      "cv.wait_for(lock, rel_time)");
  static_assert(std::is_same<decltype(declval<CV &>().wait_for(
                                 declval<lock_t &>(), std::chrono::duration<float>(5), pred_t())),
                             bool>::value,
                "cv.wait_for(lock, rel_time, pred)");
  static_assert(
      std::is_same<decltype(declval<CV &>().wait_until(declval<lock_t &>(), tpark::clock::now())),
                   std::cv_status>::value,
      "cv.wait_until(lock, abs_time)");
  static_assert(std::is_same<decltype(declval<CV &>().wait_until(declval<lock_t &>(),
                                                                 std::chrono::steady_clock::now())),
                             std::cv_status>::value,
                "cv.wait_until(lock, abs_time), another clock");
  static_assert(std::is_same<decltype(declval<CV &>().wait_until(declval<lock_t &>(),
                                                                 centi_clock::now(), pred_t())),
                             bool>::value,
                "cv.wait_until(lock, abs_time, pred)");
  static_assert(std::is_same<decltype(declval<CV &>().native_handle()), tpark_cond *>::value,
                "cv.native_handle()");
  static constexpr bool ok = true;
};

// ---- Clock and TrivialClock ([time.clock.req]) ----

template <class C>
struct trivial_clock {
  static_assert(std::is_arithmetic<typename C::rep>::value, "C::rep");
  static_assert(std::is_same<typename C::period, std::ratio<C::period::num, C::period::den>>::value,
                "C::period is a std::ratio");
  static_assert(std::is_same<typename C::duration,
                             std::chrono::duration<typename C::rep, typename C::period>>::value,
                "C::duration");
  static_assert(std::is_same<typename C::time_point::clock, C>::value &&
                    std::is_same<typename C::time_point::duration, typename C::duration>::value,
                "C::time_point");
  static_assert(std::is_same<decltype(C::is_steady), const bool>::value && C::is_steady,
                "C::is_steady, true");
  static_assert(
      std::is_same<decltype(C::now()), typename C::time_point>::value &&noexcept(C::now()),
      "C::now() throws nothing (TrivialClock)");
  static constexpr bool ok = true;
};

// ---- what each type must be ----

static_assert(std_type<tpark::mutex>::ok && timed_lockable<tpark::mutex>::ok, "tpark::mutex");
static_assert(std_type<tpark::recursive_mutex>::ok && timed_lockable<tpark::recursive_mutex>::ok,
              "tpark::recursive_mutex");
static_assert(std_type<tpark::shared_mutex>::ok && shared_timed_lockable<tpark::shared_mutex>::ok,
              "tpark::shared_mutex");
static_assert(std_type<tpark::condition_variable>::ok &&
                  condition_variable_members<tpark::condition_variable>::ok,
              "tpark::condition_variable");
static_assert(std_type<tpark::once_flag>::ok, "tpark::once_flag");
static_assert(trivial_clock<tpark::clock>::ok, "tpark::clock");
static_assert(std::is_same<tpark::clock::duration, std::chrono::nanoseconds>::value,
              "tpark::clock counts ns");

// One byte, as the C mutex; the others as their C types.
static_assert(sizeof(tpark::mutex) == 1, "tpark::mutex is one byte");
static_assert(sizeof(tpark::once_flag) == 1, "tpark::once_flag is one byte");
static_assert(sizeof(tpark::condition_variable) == sizeof(tpark_cond), "one pointer");
static_assert(sizeof(tpark::recursive_mutex) == sizeof(tpark_recursive_mutex), "as the C one");
static_assert(sizeof(tpark::shared_mutex) == sizeof(void *), "tpark::shared_mutex is one word");

#if __cplusplus >= 202002L
static_assert(std::chrono::is_clock_v<tpark::clock>, "std::chrono::is_clock (C++20)");
#endif

// call_once takes any callable and arguments, as std::call_once.
struct counter {
  int n = 0;
  void add(int k) { n += k; }
};
void add_to(int *n, int k) { *n += k; }

// Constant initialisation: usable before any dynamic initialiser runs
// (checked by C++20's constinit; before, the constexpr constructors).
#if defined(__cpp_constinit)
#define CONSTINIT constinit
#else
#define CONSTINIT
#endif
CONSTINIT tpark::mutex global_mutex;
CONSTINIT tpark::recursive_mutex global_recursive_mutex;
CONSTINIT tpark::shared_mutex global_shared_mutex;
CONSTINIT tpark::condition_variable global_cv;
CONSTINIT tpark::once_flag global_once;

}  // namespace

// The std wrappers, every member instantiated.
template class std::lock_guard<tpark::mutex>;
template class std::lock_guard<tpark::recursive_mutex>;
template class std::unique_lock<tpark::mutex>;
template class std::unique_lock<tpark::recursive_mutex>;
template class std::lock_guard<tpark::shared_mutex>;
template class std::unique_lock<tpark::shared_mutex>;
#if __cplusplus >= 201402L
template class std::shared_lock<tpark::shared_mutex>;
#endif

#if __cplusplus >= 201703L
template class std::scoped_lock<tpark::mutex>;
template class std::scoped_lock<tpark::mutex, tpark::recursive_mutex, tpark::shared_mutex>;
#endif

int main() {
  counter c;
  int n = 0;
  tpark::once_flag f1, f2, f3, f4;
  tpark::call_once(f1, &counter::add, c, 1);   // a member function, object by reference
  tpark::call_once(f2, &counter::add, &c, 2);  // through a pointer
  tpark::call_once(f3, add_to, &n, 3);         // a function
  tpark::call_once(
      f4, [&n](int k) { n += k; }, 4);  // a lambda
  tpark::call_once(
      f4, [&n](int k) { n += k; }, 5);  // done: not again
  tpark::call_once(global_once, [] {});
  if (c.n != 3 || n != 7) return 1;

  // std::lock of several, then the unique_locks release them.
  std::unique_lock<tpark::mutex> a(global_mutex, std::defer_lock);
  std::unique_lock<tpark::recursive_mutex> b(global_recursive_mutex, std::defer_lock);
  std::lock(a, b);
  if (!a.owns_lock() || !b.owns_lock()) return 1;
  if (global_cv.wait_for(a, std::chrono::seconds(0)) != std::cv_status::timeout) return 1;
#if __cplusplus >= 201402L
  {
    std::shared_lock<tpark::shared_mutex> r1(global_shared_mutex), r2(global_shared_mutex);
    if (global_shared_mutex.try_lock()) return 1;  // readers inside
  }
#endif
  {
    std::unique_lock<tpark::shared_mutex> w(global_shared_mutex);
    if (global_shared_mutex.try_lock_shared_for(std::chrono::seconds(0))) return 1;
  }
  return a.owns_lock() ? 0 : 1;
}
