// Token buckets per client key: the per-client request rate limit of limits.rate
// (docs/configuration.md#limits). Each key has a bucket of `burst` tokens that refills at
// `rate` tokens per second; a request takes one token, or is refused with the time until one
// is available (the Retry-After the API answers with).
//
// Memory is bounded: at most `max_clients` buckets. When a new key arrives and the table is
// full, buckets that have refilled completely are dropped first (a full bucket is exactly what a
// new client gets, so dropping it forgets nothing); if none has, the least recently used is.
// That sweep is O(max_clients) and runs only when the table is full.
//
// Time is an input (a monotonic instant per call), so tests drive refill without sleeping.
// Thread-safety: take() and tracked() may be called from any thread (one internal mutex).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"

namespace tocsin::core {

struct RateLimiterOptions {
  double rate = 0;              // tokens per second, > 0
  double burst = 1;             // bucket size, >= 1
  size_t max_clients = 10'000;  // buckets kept, >= 1
};

struct RateDecision {
  bool allowed = true;
  // When refused: how long until a token is available, rounded up to whole seconds (>= 1 s),
  // the value of Retry-After.
  std::chrono::seconds retry_after{0};
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimiterOptions options);

  RateDecision take(std::string_view key, MonoTime now);
  size_t tracked() const;
  size_t evicted() const;  // buckets dropped to stay within max_clients, since start

 private:
  struct Bucket {
    double tokens = 0;
    MonoTime updated{};
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  double refilled(const Bucket& b, MonoTime now) const;
  void make_room(MonoTime now);

  RateLimiterOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets_;
  size_t evicted_ = 0;
};

}  // namespace tocsin::core
