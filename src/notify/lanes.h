// Delivery lanes: one per destination (the server a sender talks to: a webhook's scheme://host:port,
// an email channel's SMTP server), each with its own worker threads and a bounded queue, so a
// receiver that hangs, resets or answers slowly holds up only the sends to itself.
//
//   Lanes lanes({.per_lane = 1, .queue = 32});
//   if (!lanes.submit("https://hooks.example.com:443", job)) { /* full: try again later */ }
//
// A lane runs at most `per_lane` jobs at once, in the order submitted, and holds at most
// `per_lane + queue` (running or waiting).
// submit() never blocks: when the lane's queue is full it refuses, and the caller keeps the work
// where it came from (the deliverer leaves the notification pending in the store: back-pressure,
// nothing is lost). A lane's threads start with its first job and live as long as the Lanes.
// Thread-safety: every method may be called from any thread, except that a job must not call
// wait_idle() or destroy its Lanes. The destructor drops queued jobs and waits for running ones.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tocsin::notify {

class Lanes {
 public:
  struct Options {
    // Jobs running at once in one lane. 1 by default: a receiver gets its notifications in the
    // order they fell due (a "resolved" never overtakes its "firing"), one connection at a time.
    int per_lane = 1;
    size_t queue = 32;  // jobs waiting in one lane beyond those
  };
  using Job = std::function<void()>;

  explicit Lanes(Options options);
  ~Lanes();
  Lanes(const Lanes&) = delete;
  Lanes& operator=(const Lanes&) = delete;

  // Queues `job` on `lane`; false (and `job` not run) when the lane already holds
  // `per_lane + queue` jobs, running or waiting.
  bool submit(const std::string& lane, Job job);
  // Returns once no job is queued or running in any lane.
  void wait_idle();

  struct LaneState {
    size_t queued = 0;
    int running = 0;
  };
  LaneState state(const std::string& lane) const;

 private:
  struct Lane {
    std::deque<Job> queue;
    int running = 0;
    std::condition_variable work;
    std::vector<std::thread> threads;
  };
  void work(Lane& lane);

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::map<std::string, std::unique_ptr<Lane>> lanes_;
  size_t busy_ = 0;  // jobs queued or running, over all lanes
  bool stopping_ = false;
};

}  // namespace tocsin::notify
