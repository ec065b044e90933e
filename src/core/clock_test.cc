#include <gtest/gtest.h>

#include <vector>

#include "core/simulated_clock.h"

namespace tocsin::core {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(SimulatedClock, MovesOnlyWhenAdvanced) {
  SimulatedClock clock(from_unix_ms(1000));
  EXPECT_EQ(clock.now(), from_unix_ms(1000));
  EXPECT_EQ(clock.now(), from_unix_ms(1000));
  clock.advance(seconds(5));
  EXPECT_EQ(clock.now(), from_unix_ms(6000));
  clock.advance_to(from_unix_ms(100));  // backwards is ignored
  EXPECT_EQ(clock.now(), from_unix_ms(6000));
}

TEST(SimulatedClock, FiresTimersInTimeThenSequenceOrder) {
  SimulatedClock clock(from_unix_ms(0));
  std::vector<std::string> fired;
  clock.schedule_at(from_unix_ms(300), [&] { fired.push_back("c@300"); });
  clock.schedule_at(from_unix_ms(100), [&] { fired.push_back("a@100"); });
  clock.schedule_at(from_unix_ms(200), [&] { fired.push_back("b1@200"); });
  clock.schedule_at(from_unix_ms(200), [&] { fired.push_back("b2@200"); });
  clock.schedule_at(from_unix_ms(900), [&] { fired.push_back("late"); });
  EXPECT_EQ(clock.advance_to(from_unix_ms(500)), 4);
  EXPECT_EQ(fired, (std::vector<std::string>{"a@100", "b1@200", "b2@200", "c@300"}));
  EXPECT_EQ(clock.now(), from_unix_ms(500));
  EXPECT_EQ(clock.next_timer(), from_unix_ms(900));
}

TEST(SimulatedClock, CallbackSeesItsOwnTimeAndCanScheduleMore) {
  SimulatedClock clock(from_unix_ms(0));
  std::vector<int64_t> seen;
  clock.schedule_at(from_unix_ms(100), [&] {
    seen.push_back(to_unix_ms(clock.now()));
    clock.schedule_after(Duration(50), [&] { seen.push_back(to_unix_ms(clock.now())); });
  });
  clock.advance(minutes(1));
  EXPECT_EQ(seen, (std::vector<int64_t>{100, 150}));
}

TEST(SimulatedClock, CancelledTimerDoesNotFire) {
  SimulatedClock clock;
  bool fired = false;
  const TimerId id = clock.schedule_after(seconds(1), [&] { fired = true; });
  EXPECT_TRUE(clock.cancel(id));
  EXPECT_FALSE(clock.cancel(id));
  clock.advance(seconds(2));
  EXPECT_FALSE(fired);
  EXPECT_FALSE(clock.next_timer().has_value());
}

TEST(SystemClock, FiresATimer) {
  SystemClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool fired = false;
  clock.schedule_after(Duration(1), [&] {
    std::lock_guard lock(mu);
    fired = true;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return fired; });
  EXPECT_TRUE(fired);
}

}  // namespace
}  // namespace tocsin::core
