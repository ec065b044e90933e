#include "notify/lanes.h"

#include <algorithm>

namespace tocsin::notify {

Lanes::Lanes(Options options) : options_{std::max(options.per_lane, 1), options.queue} {}

Lanes::~Lanes() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [name, lane] : lanes_) {
      busy_ -= lane->queue.size();
      lane->queue.clear();
      lane->work.notify_all();
      for (auto& t : lane->threads) threads.push_back(std::move(t));
    }
  }
  for (auto& t : threads) t.join();
}

bool Lanes::submit(const std::string& name, Job job) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  auto& slot = lanes_[name];
  if (!slot) slot = std::make_unique<Lane>();
  Lane& lane = *slot;
  // Counted with those running, so that what fits does not depend on whether a worker has picked
  // up the previous job yet.
  if (lane.queue.size() + static_cast<size_t>(lane.running) >= options_.queue + static_cast<size_t>(options_.per_lane)) {
    return false;
  }
  lane.queue.push_back(std::move(job));
  ++busy_;
  // Threads start with the lane's first jobs: a destination that is never paged costs none.
  if (lane.threads.size() < static_cast<size_t>(options_.per_lane) &&
      lane.threads.size() < lane.queue.size() + static_cast<size_t>(lane.running)) {
    lane.threads.emplace_back([this, &lane] { work(lane); });
  }
  lane.work.notify_one();
  return true;
}

void Lanes::work(Lane& lane) {
  std::unique_lock lock(mu_);
  for (;;) {
    lane.work.wait(lock, [&] { return stopping_ || !lane.queue.empty(); });
    if (stopping_) return;
    Job job = std::move(lane.queue.front());
    lane.queue.pop_front();
    ++lane.running;
    lock.unlock();
    job();
    job = nullptr;  // whatever the job holds goes before the lane says it is done
    lock.lock();
    --lane.running;
    --busy_;
    if (busy_ == 0) idle_.notify_all();
  }
}

void Lanes::wait_idle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return busy_ == 0; });
}

Lanes::LaneState Lanes::state(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = lanes_.find(name);
  if (it == lanes_.end()) return {};
  return {it->second->queue.size(), it->second->running};
}

}  // namespace tocsin::notify
