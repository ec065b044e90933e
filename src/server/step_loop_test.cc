#include "server/step_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/simulated_clock.h"

namespace tocsin::server {
namespace {

using namespace std::chrono_literals;

// Waits (really) until pred() holds or 10 s pass.
template <typename Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(StepLoop, RunsOnceAtStartThenWhenWoken) {
  core::SimulatedClock clock(core::from_unix_ms(1'000'000));
  std::atomic<int> steps{0};
  StepLoop loop("test", clock, [&]() -> core::Result<std::optional<core::Timestamp>> {
    ++steps;
    return std::optional<core::Timestamp>();
  });
  ASSERT_TRUE(eventually([&] { return steps == 1; }));
  loop.wake();
  ASSERT_TRUE(eventually([&] { return steps == 2; }));
}

TEST(StepLoop, RunsAgainWhenTheTimeItAskedForComes) {
  core::SimulatedClock clock(core::from_unix_ms(1'000'000));
  std::atomic<int> steps{0};
  StepLoop loop("test", clock, [&]() -> core::Result<std::optional<core::Timestamp>> {
    ++steps;
    return std::optional<core::Timestamp>(clock.now() + 10s);
  });
  ASSERT_TRUE(eventually([&] { return steps == 1 && clock.next_timer().has_value(); }));
  clock.advance(9s);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(steps, 1) << "ran before its time";
  clock.advance(1s);
  EXPECT_TRUE(eventually([&] { return steps == 2; }));
}

TEST(StepLoop, WakesFromManyThreadsAtOnceAndRunsNothingAfterStop) {
  core::SimulatedClock clock(core::from_unix_ms(1'000'000));
  std::atomic<int> steps{0};
  StepLoop loop("test", clock, [&]() -> core::Result<std::optional<core::Timestamp>> {
    ++steps;
    return std::optional<core::Timestamp>();
  });
  // Wakes coalesce: had they all come before the first step took the start-up wake, one step
  // would be all there is (the CI's ASan run saw that). After the first step has begun, any wake
  // guarantees one more.
  ASSERT_TRUE(eventually([&] { return steps >= 1; }));
  std::vector<std::thread> wakers;
  for (int t = 0; t < 4; ++t) {
    wakers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) loop.wake();
    });
  }
  for (auto& w : wakers) w.join();
  ASSERT_TRUE(eventually([&] { return steps >= 2; }));
  loop.stop();
  const int after_stop = steps;
  loop.wake();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(steps, after_stop);
}

// Regression: SystemClock runs a timer's callback on its own thread outside its lock, so cancel()
// cannot stop one that has already been taken off the queue. The loop's timer used to call
// wake() on the StepLoop itself, which could be destroyed by then (heap-use-after-free under ASan,
// a race under TSan). The step asks to run again at once, so a timer is always firing when the
// loop is destroyed.
TEST(StepLoop, DestroyedWhileItsTimerFiresOnAnotherThread) {
  core::SystemClock clock;
  for (int round = 0; round < 300; ++round) {
    std::atomic<int> steps{0};
    auto loop = std::make_unique<StepLoop>("test", clock, [&]() -> core::Result<std::optional<core::Timestamp>> {
      ++steps;
      return std::optional<core::Timestamp>(clock.now());
    });
    ASSERT_TRUE(eventually([&] { return steps >= 3; })) << "round " << round;
    loop.reset();
  }
}

}  // namespace
}  // namespace tocsin::server
