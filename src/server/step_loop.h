// Runs a step function on its own thread: whenever woken, and at the time the step says it next
// has work (armed as a core::Clock timer — the loop itself never sleeps on a real clock). The
// engine driver and the collector each run in one.
// Thread-safety: wake() and stop() may be called from any thread (stop() not from the step).
#pragma once

#include <condition_variable>
#include <functional>
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

  void wake() {
    {
      std::lock_guard lock(mu_);
      wake_ = true;
    }
    cv_.notify_all();
  }

  // Finishes the step in progress, then returns; no step runs afterwards.
  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
      if (timer_) clock_.cancel(*timer_);
    }
    cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return wake_ || stopping_; });
      if (stopping_) return;
      wake_ = false;
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
      if (*next && !stopping_) timer_ = clock_.schedule_at(**next, [this] { wake(); });
    }
  }

  std::string name_;
  core::Clock& clock_;
  Step step_;
  core::Duration retry_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = true;  // run once at start
  bool stopping_ = false;
  bool failing_ = false;  // the last step failed (run()'s thread only)
  std::optional<core::TimerId> timer_;
  std::thread thread_;
};

}  // namespace tocsin::server
