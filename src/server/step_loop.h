// Runs a step function on its own thread: whenever woken, and at the time the step says it next
// has work (armed as a core::Clock timer — the loop itself never sleeps on a real clock). The
// engine driver and the collector each run in one.
// Thread-safety: wake() and stop() may be called from any thread (stop() not from the step).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/log.h"

namespace tocsin::server {

class StepLoop {
 public:
  // `step` returns when it next wants to run; a failure is retried after `retry`, and logged
  // when it is the first since the step last worked.
  using Step = std::function<core::Result<std::optional<core::Timestamp>>()>;

  StepLoop(std::string name, core::Clock& clock, Step step, core::Duration retry = std::chrono::seconds(1))
      : name_(std::move(name)), clock_(clock), step_(std::move(step)), retry_(retry) {
    thread_ = std::thread([this] { run(); });
  }
  ~StepLoop() { stop(); }
  StepLoop(const StepLoop&) = delete;
  StepLoop& operator=(const StepLoop&) = delete;

  void wake() { signal_->wake(); }

  // Finishes the step in progress, then returns; no step runs afterwards.
  void stop() {
    {
      std::lock_guard lock(signal_->mu);
      if (signal_->stopping && !thread_.joinable()) return;
      signal_->stopping = true;
      if (timer_) clock_.cancel(*timer_);
    }
    signal_->cv.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  // What wakes the loop. Shared with the clock's timer callbacks, because a SystemClock runs a
  // callback on its own thread after taking it off its queue, so cancel() cannot stop one that is
  // already running: the callback holds a weak reference and finds nothing once the loop is gone
  // (it used to call wake() on a destroyed StepLoop).
  struct Signal {
    std::mutex mu;
    std::condition_variable cv;
    bool wake_pending = true;  // run once at start
    bool stopping = false;

    void wake() {
      {
        std::lock_guard lock(mu);
        wake_pending = true;
      }
      cv.notify_all();
    }
  };

  void run() {
    Signal& signal = *signal_;
    std::unique_lock lock(signal.mu);
    while (true) {
      signal.cv.wait(lock, [&] { return signal.wake_pending || signal.stopping; });
      if (signal.stopping) return;
      signal.wake_pending = false;
      lock.unlock();
      core::Result<std::optional<core::Timestamp>> next = std::unexpected(core::Error::internal("not run"));
      try {
        next = step_();
      } catch (const std::exception& e) {  // a bug must not stop the loop for good
        next = std::unexpected(core::Error::internal(e.what()));
      }
      if (!next) {
        // Once per streak of failures (a full disk fails every pass until it has room again).
        if (!failing_) core::log::error("step failed; retrying", {{"loop", name_}, {"error", next.error().to_string()}});
        failing_ = true;
        next = std::optional<core::Timestamp>(clock_.now() + retry_);
      } else if (failing_) {
        core::log::info("step works again", {{"loop", name_}});
        failing_ = false;
      }
      lock.lock();
      if (timer_) clock_.cancel(*timer_);
      timer_.reset();
      if (*next && !signal.stopping) {
        timer_ = clock_.schedule_at(**next, [weak = std::weak_ptr<Signal>(signal_)] {
          if (auto alive = weak.lock()) alive->wake();
        });
      }
    }
  }

  std::string name_;
  core::Clock& clock_;
  Step step_;
  core::Duration retry_;
  std::shared_ptr<Signal> signal_ = std::make_shared<Signal>();
  std::optional<core::TimerId> timer_;  // guarded by signal_->mu
  bool failing_ = false;                 // the last step failed (run()'s thread only)
  std::thread thread_;
};

}  // namespace tocsin::server
