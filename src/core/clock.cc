#include "core/clock.h"

#include "core/simulated_clock.h"

namespace tocsin::core {

TimerId TimerQueue::add(Timestamp at, TimerCallback fn) {
  const TimerId id = next_id_++;
  timers_.emplace(std::make_pair(at, id), std::move(fn));
  due_by_id_.emplace(id, at);
  return id;
}

bool TimerQueue::cancel(TimerId id) {
  auto it = due_by_id_.find(id);
  if (it == due_by_id_.end()) return false;
  timers_.erase({it->second, id});
  due_by_id_.erase(it);
  return true;
}

std::optional<TimerQueue::Due> TimerQueue::pop_due(Timestamp limit) {
  if (timers_.empty() || timers_.begin()->first.first > limit) return std::nullopt;
  auto node = timers_.extract(timers_.begin());
  due_by_id_.erase(node.key().second);
  return Due{node.key().first, std::move(node.mapped())};
}

std::optional<Timestamp> TimerQueue::next() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first.first;
}

// ---- SystemClock: the only place that reads the real clocks.

SystemClock::~SystemClock() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Timestamp SystemClock::now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

MonoTime SystemClock::mono_now() const { return std::chrono::steady_clock::now(); }

TimerId SystemClock::schedule_at(Timestamp at, TimerCallback fn) {
  TimerId id;
  {
    std::lock_guard lock(mu_);
    id = queue_.add(at, std::move(fn));
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  cv_.notify_all();
  return id;
}

bool SystemClock::cancel(TimerId id) {
  std::lock_guard lock(mu_);
  return queue_.cancel(id);
}

void SystemClock::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (auto due = queue_.pop_due(now())) {
      lock.unlock();
      due->fn();
      lock.lock();
      continue;
    }
    if (auto at = queue_.next()) {
      // Wall time can jump; waiting on system_clock re-evaluates against the wall clock.
      cv_.wait_until(lock, std::chrono::system_clock::time_point(at->time_since_epoch()));
    } else {
      cv_.wait(lock);
    }
  }
}

// ---- SimulatedClock

Timestamp SimulatedClock::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

MonoTime SimulatedClock::mono_now() const {
  std::lock_guard lock(mu_);
  return MonoTime(std::chrono::duration_cast<std::chrono::nanoseconds>(now_.time_since_epoch()));
}

TimerId SimulatedClock::schedule_at(Timestamp at, TimerCallback fn) {
  std::lock_guard lock(mu_);
  return queue_.add(at, std::move(fn));
}

bool SimulatedClock::cancel(TimerId id) {
  std::lock_guard lock(mu_);
  return queue_.cancel(id);
}

int SimulatedClock::advance_to(Timestamp t) {
  int fired = 0;
  std::unique_lock lock(mu_);
  while (auto due = queue_.pop_due(t)) {
    if (due->at > now_) now_ = due->at;
    lock.unlock();
    due->fn();
    ++fired;
    lock.lock();
  }
  if (t > now_) now_ = t;
  return fired;
}

std::optional<Timestamp> SimulatedClock::next_timer() const {
  std::lock_guard lock(mu_);
  return queue_.next();
}

}  // namespace tocsin::core
