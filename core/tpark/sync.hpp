// tpark sync: std-style locks for C++ over tpark's C locks, whose time the
// mock backend controls. Header only, C++11 and later (gcc, clang, mingw-w64).
//
//   tpark::mutex               tpark_mutex: one byte; Lockable, TimedLockable
//   tpark::recursive_mutex     tpark_recursive_mutex; Lockable, TimedLockable
//   tpark::shared_mutex        tpark_rwlock: one word; SharedTimedLockable
//   tpark::condition_variable  tpark_cond: one pointer; waits take
//                              std::unique_lock<tpark::mutex>&
//   tpark::once_flag           tpark_once: one byte; with tpark::call_once
//   tpark::clock               a std::chrono steady clock: tpark_lot_now()
//
// They work with std::lock_guard, std::unique_lock, std::shared_lock (C++14),
// std::scoped_lock (C++17) and std::lock, as their std namesakes do; what
// differs is below.
//
// Time. Every timed call waits on tpark::clock, which reads the process
// default backend's clock (tpark_lot_now(), ns): with the mock as the default
// (tpark_set_default_backend(tpark_mock_backend(m))) every wait_for,
// wait_until, try_lock_for and try_lock_until runs on the mock's fake clock,
// and a test of a 5 s timeout takes no real time. A duration
// (wait_for, try_lock_for) is converted once, at the call, to a deadline on
// tpark::clock, rounded up to whole ns (never early) and saturating: one of
// std::chrono::nanoseconds::max() or longer (the max() of every std
// duration) means no deadline at all; zero or negative, a deadline already
// past (the call still takes a free lock, or reports a timeout at once). A
// time_point of tpark::clock is a deadline as it is. A time_point of any other
// clock (system_clock, steady_clock, ...) is converted at the call into a
// duration from that clock's now(), and the wait then lasts that long on
// tpark::clock: if the other clock jumps during the wait (system_clock set
// forward or back), the wait does not follow it; under the mock, a
// steady_clock deadline 1 s away ends when the mock's clock has moved 1 s.
// tpark::clock is steady as long as the process default backend stays the
// same (a backend's clock never goes back; changing the default changes the
// clock, see tpark/lot.h).
//
// Exceptions. Nothing here throws: a contended lock parks the thread in the
// parking lot, where no user code runs. The one place where user code runs
// inside tpark's C code is call_once's callable: its exception is caught
// there and rethrown once the C call has returned (the flag stays unset, as
// std::call_once leaves it, and the next caller runs its own callable).
// Predicates of the waits run outside tpark's C code, with the mutex held.
//
// Differences from std: the types own no OS object and need no destruction
// (their destructors do nothing but tell checked mode, see forget_lock
// below); all are constant-initialised (constexpr constructors), so a
// namespace-scope one is usable from any static initialiser. No type may be
// copied or moved. condition_variable's waits have no spurious wake-ups
// (tpark/cond.h), and its predicate overloads need no loop of your own.
// Undefined in std and here: unlocking a mutex the caller does not hold, a
// wait whose lock does not own its mutex (here: a message on stderr and
// abort), locking a tpark::mutex the thread already holds (a deadlock; use
// recursive_mutex). native_handle() gives the C object, for the C API (e.g.
// tpark_mutex_unlock_fair, the rwlock's upgradable reads).
#ifndef TPARK_SYNC_HPP
#define TPARK_SYNC_HPP

#include <chrono>
#include <condition_variable>  // std::cv_status
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>  // std::mem_fn
#include <mutex>       // std::unique_lock
#include <ratio>
#include <type_traits>
#include <utility>

#include "tpark/checked.h"
#include "tpark/cond.h"
#include "tpark/lot.h"
#include "tpark/mutex.h"
#include "tpark/once.h"
#include "tpark/rwlock.h"
#include "tpark/tpark.h"

namespace tpark {

// ---- internal: time conversions, the checked-mode hook (not an API) ----
namespace detail {

// Where every destructor tells checked mode for locks (tpark/checked.h) that
// the C lock at this address is gone, so that a new lock at the same address
// starts with a clean record (its lock order and label): tpark_checked_forget
// (outside checked mode it returns at once).
inline void forget_lock(const void *lock) noexcept { tpark_checked_forget(lock); }

// A nonnegative count of ns in a double, below which every conversion to
// std::chrono::nanoseconds is exact and cannot overflow (2^63 ns is about
// 9.22e18); at or above it a duration means "no deadline".
constexpr double huge_ns = 9.2e18;

// d in whole ns, rounded up (never early): 0 for zero, negative or NaN;
// UINT64_MAX (no deadline) for huge_ns or more, +infinity included.
template <class Rep, class Period>
inline std::uint64_t timeout_ns(const std::chrono::duration<Rep, Period> &d) {
  const double f = std::chrono::duration<double, std::nano>(d).count();
  if (!(f > 0.0)) return 0;
  if (f >= huge_ns) return UINT64_MAX;
  std::chrono::nanoseconds n = std::chrono::duration_cast<std::chrono::nanoseconds>(d);
  if (n < d) ++n;  // a finer or fractional d: round up
  return static_cast<std::uint64_t>(n.count());
}

// The deadline d from now on tpark::clock (tpark_lot_deadline saturates at
// TPARK_NEVER).
template <class Rep, class Period>
inline tpark_instant deadline_after(const std::chrono::duration<Rep, Period> &d) {
  const std::uint64_t ns = timeout_ns(d);
  return ns == UINT64_MAX ? TPARK_NEVER : tpark_lot_deadline(ns);
}

// Keeps tpark::clock's is_steady defined in every translation unit (a static
// constexpr member needs a definition of its own before C++17's inline
// variables; a template's may be in a header).
template <class Unused = void>
struct clock_traits {
  static constexpr bool is_steady = true;
};
#if __cplusplus < 201703L
template <class Unused>
constexpr bool clock_traits<Unused>::is_steady;
#endif

// Ends the process with a message: a wait with a lock that does not own its
// mutex (undefined in std; here never a silent crash).
[[noreturn]] inline void misuse(const char *what) noexcept {
  std::fprintf(stderr, "tpark: %s\n", what);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail

// ---- tpark::clock ----

// A std::chrono clock reading tpark_lot_now(), the process default backend's
// clock: CLOCK_MONOTONIC (Linux), QueryPerformanceCounter (Windows), the fake
// clock of a mock made the default. Its epoch is that clock's 0.
class clock : public detail::clock_traits<> {
 public:
  typedef std::chrono::nanoseconds duration;
  typedef duration::rep rep;
  typedef duration::period period;
  typedef std::chrono::time_point<clock, duration> time_point;

  // tpark_lot_now(); an instant past duration::max() (a mock started near
  // TPARK_NEVER) reads as time_point::max().
  static time_point now() noexcept {
    const tpark_instant t = tpark_lot_now();
    const std::uint64_t max = static_cast<std::uint64_t>(duration::max().count());
    return time_point(duration(static_cast<rep>(t < max ? t : max)));
  }
};

namespace detail {

// The deadline of a time_point of tpark::clock: itself, rounded up;
// time_point::max() (any duration's) is no deadline.
template <class Duration>
inline tpark_instant deadline_at(const std::chrono::time_point<clock, Duration> &t) {
  const std::uint64_t ns = timeout_ns(t.time_since_epoch());
  return ns == UINT64_MAX ? TPARK_NEVER : ns;
}

// The deadline of a time_point of another clock: how far it is from that
// clock's now(), from tpark::clock's now (see the header comment).
template <class Clock, class Duration>
inline tpark_instant deadline_at(const std::chrono::time_point<Clock, Duration> &t) {
  typedef std::chrono::duration<double, std::nano> fns;
  typedef typename std::common_type<Duration, typename Clock::duration>::type common;
  const typename Clock::time_point now = Clock::now();
  const double ft = fns(t.time_since_epoch()).count();
  const double fnow = fns(now.time_since_epoch()).count();
  // Exact (t - now in the time points' own units) while both are within
  // 2^62 ns of the epoch and those units are ns or coarser: then t - now
  // cannot overflow. Otherwise in double: a difference that large is no
  // deadline anyway, and a finer unit than ns is rounded up as usual.
  const double exact = 4.6e18;
  const bool coarse = std::ratio_greater_equal<typename common::period, std::nano>::value;
  if (coarse && ft > -exact && ft < exact && fnow > -exact && fnow < exact) {
    return deadline_after(t - now);
  }
  return deadline_after(fns(ft - fnow));
}

}  // namespace detail

// ---- tpark::mutex ----

// tpark_mutex (tpark/mutex.h): one byte, eventually fair, not recursive.
// Lockable and TimedLockable (std::timed_mutex's members).
class mutex {
 public:
  typedef tpark_mutex *native_handle_type;

  constexpr mutex() noexcept : m_() {}
  ~mutex() { detail::forget_lock(&m_); }
  mutex(const mutex &) = delete;
  mutex &operator=(const mutex &) = delete;

  void lock() noexcept { tpark_mutex_lock(&m_); }
  bool try_lock() noexcept { return tpark_mutex_trylock(&m_); }
  void unlock() noexcept { tpark_mutex_unlock(&m_); }

  // Lock, waiting at most d (tpark::clock; see the header comment).
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period> &d) {
    return tpark_mutex_lock_until(&m_, detail::deadline_after(d));
  }
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration> &t) {
    return tpark_mutex_lock_until(&m_, detail::deadline_at(t));
  }

  // Unlocks and hands the mutex to the longest waiter, if any
  // (tpark_mutex_unlock_fair).
  void unlock_fair() noexcept { tpark_mutex_unlock_fair(&m_); }

  native_handle_type native_handle() noexcept { return &m_; }

 private:
  tpark_mutex m_;
};

// ---- tpark::recursive_mutex ----

// tpark_recursive_mutex (tpark/mutex.h): the holder may lock it again; it is
// released when the unlocks match the locks. Lockable and TimedLockable
// (std::recursive_timed_mutex's members).
class recursive_mutex {
 public:
  typedef tpark_recursive_mutex *native_handle_type;

  constexpr recursive_mutex() noexcept : r_() {}
  ~recursive_mutex() { detail::forget_lock(&r_); }
  recursive_mutex(const recursive_mutex &) = delete;
  recursive_mutex &operator=(const recursive_mutex &) = delete;

  void lock() noexcept { tpark_recursive_mutex_lock(&r_); }
  bool try_lock() noexcept { return tpark_recursive_mutex_trylock(&r_); }
  void unlock() noexcept { tpark_recursive_mutex_unlock(&r_); }

  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period> &d) {
    return tpark_recursive_mutex_lock_until(&r_, detail::deadline_after(d));
  }
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration> &t) {
    return tpark_recursive_mutex_lock_until(&r_, detail::deadline_at(t));
  }

  native_handle_type native_handle() noexcept { return &r_; }

 private:
  tpark_recursive_mutex r_;
};

// ---- tpark::shared_mutex ----

// tpark_rwlock (tpark/rwlock.h): one word, task-fair (a writer waits only
// for the readers it found inside; readers that come after it wait behind
// it). SharedTimedLockable: std::shared_timed_mutex's members, so
// std::shared_lock (C++14) and std::unique_lock work with it. Not
// recursive in any way: a thread must not take a shared lock it already
// holds (a writer arriving in between makes that a deadlock). The rwlock's
// upgradable reads are in the C API (native_handle()).
class shared_mutex {
 public:
  typedef tpark_rwlock *native_handle_type;

  constexpr shared_mutex() noexcept : l_() {}
  ~shared_mutex() { detail::forget_lock(&l_); }
  shared_mutex(const shared_mutex &) = delete;
  shared_mutex &operator=(const shared_mutex &) = delete;

  // Exclusive.
  void lock() noexcept { tpark_rwlock_write_lock(&l_); }
  bool try_lock() noexcept { return tpark_rwlock_write_trylock(&l_); }
  void unlock() noexcept { tpark_rwlock_write_unlock(&l_); }
  template <class Rep, class Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period> &d) {
    return tpark_rwlock_write_lock_until(&l_, detail::deadline_after(d));
  }
  template <class Clock, class Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration> &t) {
    return tpark_rwlock_write_lock_until(&l_, detail::deadline_at(t));
  }

  // Shared.
  void lock_shared() noexcept { tpark_rwlock_read_lock(&l_); }
  bool try_lock_shared() noexcept { return tpark_rwlock_read_trylock(&l_); }
  void unlock_shared() noexcept { tpark_rwlock_read_unlock(&l_); }
  template <class Rep, class Period>
  bool try_lock_shared_for(const std::chrono::duration<Rep, Period> &d) {
    return tpark_rwlock_read_lock_until(&l_, detail::deadline_after(d));
  }
  template <class Clock, class Duration>
  bool try_lock_shared_until(const std::chrono::time_point<Clock, Duration> &t) {
    return tpark_rwlock_read_lock_until(&l_, detail::deadline_at(t));
  }

  native_handle_type native_handle() noexcept { return &l_; }

 private:
  tpark_rwlock l_;
};

// ---- tpark::condition_variable ----

// tpark_cond (tpark/cond.h): one pointer, for tpark::mutex. No spurious
// wake-ups: a wait returns when a notify chose it or its deadline passed.
// Every wait takes a std::unique_lock that owns its mutex, and owns it again
// on return. All the waiters of one condition_variable use the same mutex
// at a time (a second one while the first one's waiters remain: a message
// and abort, tpark/cond.h).
class condition_variable {
 public:
  typedef tpark_cond *native_handle_type;

  constexpr condition_variable() noexcept : c_() {}
  ~condition_variable() { detail::forget_lock(&c_); }
  condition_variable(const condition_variable &) = delete;
  condition_variable &operator=(const condition_variable &) = delete;

  void notify_one() noexcept { tpark_cond_notify_one(&c_); }
  void notify_all() noexcept { tpark_cond_notify_all(&c_); }

  void wait(std::unique_lock<mutex> &lock) noexcept { tpark_cond_wait(&c_, held(lock)); }

  template <class Predicate>
  void wait(std::unique_lock<mutex> &lock, Predicate stop_waiting) {
    while (!stop_waiting()) wait(lock);
  }

  // Waits at most d (tpark::clock; the header comment says how d converts).
  template <class Rep, class Period>
  std::cv_status wait_for(std::unique_lock<mutex> &lock,
                          const std::chrono::duration<Rep, Period> &d) {
    return wait_until_instant(lock, detail::deadline_after(d));
  }

  // Until stop_waiting() or the deadline d from now: stop_waiting()'s last
  // value (false: timed out).
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::unique_lock<mutex> &lock, const std::chrono::duration<Rep, Period> &d,
                Predicate stop_waiting) {
    return wait_until_instant(lock, detail::deadline_after(d), stop_waiting);
  }

  template <class Clock, class Duration>
  std::cv_status wait_until(std::unique_lock<mutex> &lock,
                            const std::chrono::time_point<Clock, Duration> &t) {
    return wait_until_instant(lock, detail::deadline_at(t));
  }

  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::unique_lock<mutex> &lock, const std::chrono::time_point<Clock, Duration> &t,
                  Predicate stop_waiting) {
    return wait_until_instant(lock, detail::deadline_at(t), stop_waiting);
  }

  native_handle_type native_handle() noexcept { return &c_; }

 private:
  static tpark_mutex *held(std::unique_lock<mutex> &lock) noexcept {
    if (!lock.owns_lock()) {
      detail::misuse(
          "tpark::condition_variable: a wait with a std::unique_lock that does not own its mutex");
    }
    return lock.mutex()->native_handle();
  }

  std::cv_status wait_until_instant(std::unique_lock<mutex> &lock,
                                    tpark_instant deadline) noexcept {
    return tpark_cond_wait_until(&c_, held(lock), deadline) ? std::cv_status::no_timeout
                                                            : std::cv_status::timeout;
  }

  template <class Predicate>
  bool wait_until_instant(std::unique_lock<mutex> &lock, tpark_instant deadline,
                          Predicate &stop_waiting) {
    while (!stop_waiting()) {
      if (!tpark_cond_wait_until(&c_, held(lock), deadline)) return stop_waiting();
    }
    return true;
  }

  tpark_cond c_;
};

// ---- tpark::once_flag, tpark::call_once ----

// tpark_once (tpark/once.h): one byte.
class once_flag {
 public:
  constexpr once_flag() noexcept : o_() {}
  once_flag(const once_flag &) = delete;
  once_flag &operator=(const once_flag &) = delete;

 private:
  template <class Callable, class... Args>
  friend void call_once(once_flag &flag, Callable &&f, Args &&...args);
  tpark_once o_;
};

namespace detail {

// INVOKE(f, args...) of C++11's [func.require]: a pointer to member through
// std::mem_fn, anything else called.
template <class F, class... Args>
inline void invoke(std::true_type /* member pointer */, F &&f, Args &&...args) {
  std::mem_fn(f)(std::forward<Args>(args)...);
}
template <class F, class... Args>
inline void invoke(std::false_type, F &&f, Args &&...args) {
  std::forward<F>(f)(std::forward<Args>(args)...);
}

// The run that tpark_once_try_call calls, from C: the callable, and the
// exception it threw, if any.
template <class Run>
struct once_run {
  Run *run;
  std::exception_ptr error;
};

template <class Run>
bool once_thunk(void *arg) noexcept {
  once_run<Run> *r = static_cast<once_run<Run> *>(arg);
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  try {
    (*r->run)();
    return true;
  } catch (...) {  // no exception may unwind through tpark's C frames
    r->error = std::current_exception();
    return false;
  }
#else
  (*r->run)();
  return true;
#endif
}

}  // namespace detail

// As std::call_once: calls INVOKE(f, args...) if no call on flag has
// completed one, and returns once one has (this thread's or another's),
// its writes visible. If f throws, the exception reaches this caller, the
// flag stays unset, and another caller (the longest waiting, or the next to
// come) runs its own f. f must not call call_once on the same flag (a
// deadlock, as with std::call_once).
template <class Callable, class... Args>
void call_once(once_flag &flag, Callable &&f, Args &&...args) {
  auto run = [&] {
    detail::invoke(std::is_member_pointer<typename std::decay<Callable>::type>(),
                   std::forward<Callable>(f), std::forward<Args>(args)...);
  };
  detail::once_run<decltype(run)> r = {&run, nullptr};
  if (!tpark_once_try_call(&flag.o_, detail::once_thunk<decltype(run)>, &r)) {
    std::rethrow_exception(r.error);  // only this caller's own f fails it
  }
}

}  // namespace tpark

#endif  // TPARK_SYNC_HPP
