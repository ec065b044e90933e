#include "core/rate_limiter.h"

#include <gtest/gtest.h>

namespace tocsin::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MonoTime kT0 = MonoTime(seconds(1000));

TEST(RateLimiter, BurstThenRefusedWithRetryAfter) {
  RateLimiter limiter({.rate = 2, .burst = 3, .max_clients = 10});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.take("10.0.0.1", kT0).allowed) << i;
  const RateDecision refused = limiter.take("10.0.0.1", kT0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, seconds(1));  // 0.5 s to the next token, rounded up
  // Another client has its own bucket.
  EXPECT_TRUE(limiter.take("10.0.0.2", kT0).allowed);
}

TEST(RateLimiter, RefillsAtTheRateOnTheInjectedClock) {
  RateLimiter limiter({.rate = 1, .burst = 2, .max_clients = 10});
  EXPECT_TRUE(limiter.take("a", kT0).allowed);
  EXPECT_TRUE(limiter.take("a", kT0).allowed);
  EXPECT_FALSE(limiter.take("a", kT0).allowed);
  EXPECT_FALSE(limiter.take("a", kT0 + milliseconds(499)).allowed);  // 0.499 tokens
  EXPECT_TRUE(limiter.take("a", kT0 + milliseconds(1000)).allowed);  // refused takes cost nothing
  EXPECT_FALSE(limiter.take("a", kT0 + milliseconds(1000)).allowed);
  // A long pause refills to the burst, not beyond.
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(limiter.take("a", kT0 + seconds(3600)).allowed);
  EXPECT_FALSE(limiter.take("a", kT0 + seconds(3600)).allowed);
}

TEST(RateLimiter, RetryAfterIsTheWaitForOneTokenInWholeSeconds) {
  RateLimiter slow({.rate = 0.1, .burst = 1, .max_clients = 10});  // one per 10 s
  EXPECT_TRUE(slow.take("a", kT0).allowed);
  EXPECT_EQ(slow.take("a", kT0).retry_after, seconds(10));
  EXPECT_EQ(slow.take("a", kT0 + milliseconds(2500)).retry_after, seconds(8));  // 7.5 s left
  EXPECT_TRUE(slow.take("a", kT0 + seconds(10)).allowed);
}

TEST(RateLimiter, TableIsBoundedRefilledBucketsGoFirst) {
  RateLimiter limiter({.rate = 1, .burst = 1, .max_clients = 3});
  EXPECT_TRUE(limiter.take("a", kT0).allowed);
  EXPECT_TRUE(limiter.take("b", kT0 + seconds(5)).allowed);
  EXPECT_TRUE(limiter.take("c", kT0 + seconds(5)).allowed);
  EXPECT_EQ(limiter.tracked(), 3u);
  // At kT0+5.5 s only a's bucket has refilled: it is dropped, b and c keep their empty buckets.
  EXPECT_TRUE(limiter.take("d", kT0 + milliseconds(5500)).allowed);
  EXPECT_EQ(limiter.tracked(), 3u);
  EXPECT_EQ(limiter.evicted(), 1u);
  EXPECT_FALSE(limiter.take("b", kT0 + milliseconds(5500)).allowed);
  EXPECT_FALSE(limiter.take("c", kT0 + milliseconds(5500)).allowed);
}

TEST(RateLimiter, FullOfBusyClientsEvictsTheLeastRecentlyUsed) {
  RateLimiter limiter({.rate = 1, .burst = 1, .max_clients = 2});
  EXPECT_TRUE(limiter.take("a", kT0).allowed);
  EXPECT_TRUE(limiter.take("b", kT0 + milliseconds(100)).allowed);
  EXPECT_TRUE(limiter.take("c", kT0 + milliseconds(200)).allowed);  // a (least recent) goes
  EXPECT_EQ(limiter.tracked(), 2u);
  EXPECT_FALSE(limiter.take("b", kT0 + milliseconds(200)).allowed);  // b is still tracked
  EXPECT_FALSE(limiter.take("c", kT0 + milliseconds(200)).allowed);
}

}  // namespace
}  // namespace tocsin::core
