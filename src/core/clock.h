// core::Clock is the one seam for time. Engine code asks a Clock for wall time, monotonic time and
// timers; it never reads std::chrono clocks itself. SystemClock is the real thing; SimulatedClock
// (simulated_clock.h) moves only when told, so drills and tests run days in milliseconds.
//
// Thread-safety: all methods of both implementations may be called from any thread. Timer
// callbacks of SystemClock run on its private timer thread; those of SimulatedClock run inside
// advance()/advance_to() on the caller's thread. A callback may schedule or cancel timers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "core/time.h"

namespace tocsin::core {

using MonoTime = std::chrono::time_point<std::chrono::steady_clock, std::chrono::nanoseconds>;
using TimerId = uint64_t;
using TimerCallback = std::function<void()>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;      // wall time
  virtual MonoTime mono_now() const = 0;  // for measuring elapsed time; never goes back
  // Runs `fn` once at or after wall time `at`. Timers due at the same time fire in the order they
  // were scheduled.
  virtual TimerId schedule_at(Timestamp at, TimerCallback fn) = 0;
  TimerId schedule_after(Duration d, TimerCallback fn) { return schedule_at(now() + d, std::move(fn)); }
  // Cancelling a timer that already fired or never existed is a no-op. Returns whether it was pending.
  virtual bool cancel(TimerId id) = 0;
};

// Timers kept in (time, sequence) order; shared by both clocks.
class TimerQueue {
 public:
  TimerId add(Timestamp at, TimerCallback fn);
  bool cancel(TimerId id);
  struct Due {
    Timestamp at;
    TimerCallback fn;
  };
  // Removes and returns the earliest timer due at or before `limit`, if any.
  std::optional<Due> pop_due(Timestamp limit);
  std::optional<Timestamp> next() const;

 private:
  // Key (time, id): ids grow monotonically, so ties fire in scheduling order.
  std::map<std::pair<Timestamp, TimerId>, TimerCallback> timers_;
  std::map<TimerId, Timestamp> due_by_id_;
  TimerId next_id_ = 1;
};

// The real clock. Timers run on one background thread, started lazily at the first schedule.
class SystemClock final : public Clock {
 public:
  SystemClock() = default;
  ~SystemClock() override;
  SystemClock(const SystemClock&) = delete;
  SystemClock& operator=(const SystemClock&) = delete;

  Timestamp now() const override;
  MonoTime mono_now() const override;
  TimerId schedule_at(Timestamp at, TimerCallback fn) override;
  bool cancel(TimerId id) override;

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  TimerQueue queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tocsin::core
