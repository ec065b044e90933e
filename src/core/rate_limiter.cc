#include "core/rate_limiter.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace tocsin::core {

RateLimiter::RateLimiter(RateLimiterOptions options) : options_(options) {
  assert(options_.rate > 0 && "a rate limiter needs a positive rate");
  options_.burst = std::max(options_.burst, 1.0);
  options_.max_clients = std::max<size_t>(options_.max_clients, 1);
}

double RateLimiter::refilled(const Bucket& b, MonoTime now) const {
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  return std::min(options_.burst, b.tokens + std::max(elapsed, 0.0) * options_.rate);
}

void RateLimiter::make_room(MonoTime now) {
  const size_t before = buckets_.size();
  std::erase_if(buckets_, [&](const auto& entry) { return refilled(entry.second, now) >= options_.burst; });
  if (buckets_.size() >= options_.max_clients) {
    auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                   [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
    buckets_.erase(oldest);
  }
  evicted_ += before - buckets_.size();
}

RateDecision RateLimiter::take(std::string_view key, MonoTime now) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_clients) make_room(now);
    it = buckets_.emplace(std::string(key), Bucket{options_.burst, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = refilled(b, now);
  b.updated = std::max(b.updated, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  const double wait = (1.0 - b.tokens) / options_.rate;
  return {false, std::chrono::seconds(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait))))};
}

size_t RateLimiter::tracked() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

size_t RateLimiter::evicted() const {
  std::lock_guard lock(mu_);
  return evicted_;
}

}  // namespace tocsin::core
