#include "notify/lanes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace tocsin::notify {
namespace {

// A gate the jobs of a test wait at until it opens.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    --waiting_;
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Returns once `n` jobs wait here (false after 5 s).
  bool until_waiting(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return waiting_ >= n; });
  }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(Lanes, AHungLaneDoesNotHoldUpAnother) {
  Lanes lanes({.per_lane = 2, .queue = 4});
  Gate hung;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(lanes.submit("http://slow:80", [&] { hung.wait(); }));
  ASSERT_TRUE(hung.until_waiting(2));
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(lanes.submit("http://fine:80", [&] { ++done; }));
  for (int i = 0; i < 500 && done < 5; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(done.load(), 5) << "the healthy lane ran all its jobs while the other hung";
  EXPECT_EQ(lanes.state("http://slow:80").running, 2);
  EXPECT_EQ(lanes.state("http://slow:80").queued, 1u);
  hung.open();
  lanes.wait_idle();
  EXPECT_EQ(lanes.state("http://slow:80").running, 0);
}

TEST(Lanes, RunsAtMostPerLaneAtOnce) {
  Lanes lanes({.per_lane = 3, .queue = 10});
  Gate gate;
  std::atomic<int> running{0}, most{0};
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(lanes.submit("lane", [&] {
      const int now = ++running;
      for (int m = most.load(); now > m && !most.compare_exchange_weak(m, now);) {
      }
      gate.wait();
      --running;
    }));
  }
  ASSERT_TRUE(gate.until_waiting(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // room for a fourth, were it allowed
  EXPECT_EQ(gate.waiting(), 3);
  EXPECT_EQ(lanes.state("lane").queued, 5u);
  gate.open();
  lanes.wait_idle();
  EXPECT_EQ(most.load(), 3);
}

TEST(Lanes, AFullQueueRefusesWithoutRunningTheJob) {
  Lanes lanes({.per_lane = 1, .queue = 2});
  Gate gate;
  std::atomic<int> ran{0};
  ASSERT_TRUE(lanes.submit("lane", [&] { gate.wait(); ++ran; }));
  ASSERT_TRUE(gate.until_waiting(1));
  EXPECT_TRUE(lanes.submit("lane", [&] { ++ran; }));
  EXPECT_TRUE(lanes.submit("lane", [&] { ++ran; }));
  EXPECT_FALSE(lanes.submit("lane", [&] { ran += 100; })) << "one running and two waiting: full";
  EXPECT_TRUE(lanes.submit("other", [&] { ++ran; })) << "another lane has its own queue";
  gate.open();
  lanes.wait_idle();
  EXPECT_EQ(ran.load(), 4);
  EXPECT_TRUE(lanes.submit("lane", [&] { ++ran; })) << "room again once it drained";
  lanes.wait_idle();
  EXPECT_EQ(ran.load(), 5);
}

TEST(Lanes, DestroyingDropsWhatWaitsAndWaitsForWhatRuns) {
  std::atomic<int> ran{0};
  Gate gate;
  std::thread opener;
  {
    Lanes lanes({.per_lane = 1, .queue = 5});
    ASSERT_TRUE(lanes.submit("lane", [&] { gate.wait(); ++ran; }));
    ASSERT_TRUE(gate.until_waiting(1));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(lanes.submit("lane", [&] { ran += 10; }));
    opener = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      gate.open();
    });
  }
  opener.join();
  EXPECT_EQ(ran.load(), 1) << "the running job finished; the waiting ones were dropped";
}

}  // namespace
}  // namespace tocsin::notify
