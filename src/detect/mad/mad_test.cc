#include "detect/mad/mad.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include "detect/basic_test_util.h"

namespace tocsin::detect {
namespace {

using testing::at_s;
using testing::clone;
using testing::config_error;
using testing::make_spec;

std::unique_ptr<SeriesDetector> fed(const DetectorSpec& spec, std::initializer_list<double> values) {
  auto d = spec.make();
  int t = 0;
  for (double v : values) d->update(at_s(t++), v);
  return d;
}

TEST(Mad, RobustZOfKnownWindow) {
  // Window [1, 2, 3, 4, 100]: median 3, MAD = median(|x − 3|) = median(2,1,0,1,97) = 1
  // (statistics.median in Python). z = 0.6745·(x − 3)/1.
  auto spec = make_spec("mad", {{"window_samples", "5"}, {"min_samples", "5"}});
  auto d = fed(*spec, {1, 2, 3, 4, 100});
  // x = 8: z = 3.3725 ≤ 3.5 → quiet; x = 9: z = 4.047 → fires, r = 4.047/3.5, score 0.5721003713505095.
  EXPECT_FALSE(clone(*spec, *d)->update(at_s(9), 8).firing);
  const Decision nine = clone(*spec, *d)->update(at_s(9), 9);
  EXPECT_TRUE(nine.firing);
  EXPECT_NEAR(nine.score, 0.5721003713505095, 1e-12);
  EXPECT_TRUE(clone(*spec, *d)->update(at_s(9), -3).firing);
  ASSERT_TRUE(d->bounds().has_value());
  EXPECT_NEAR(d->bounds()->second, 3 + 3.5 / 0.6745, 1e-12);
  EXPECT_EQ(spec->describe(), "|robust z| > 3.5 (median and MAD of the last 5 samples)");
}

TEST(Mad, EvenWindowAveragesTheMiddles) {
  // [1, 2, 4, 10]: median 3; deviations 2, 1, 1, 7 → MAD = (1 + 2)/2 = 1.5.
  auto spec = make_spec("mad", {{"window_samples", "4"}, {"min_samples", "4"}, {"n", "2"}});
  auto d = fed(*spec, {10, 1, 4, 2});
  EXPECT_NEAR(d->bounds()->second, 3 + 2 * 1.5 / 0.6745, 1e-12);
}

TEST(Mad, WindowEvictsTheOldest) {
  auto spec = make_spec("mad", {{"window_samples", "5"}, {"min_samples", "5"}});
  auto d = fed(*spec, {100, 100, 100, 100, 100, 1, 2, 3, 4, 5});  // the window is now 1 … 5
  // median 3, MAD 1.
  EXPECT_NEAR(d->bounds()->first, 3 - 3.5 / 0.6745, 1e-12);
  EXPECT_NEAR(d->bounds()->second, 3 + 3.5 / 0.6745, 1e-12);
}

TEST(Mad, ZeroMadFallsBackToMeanAbsoluteDeviation) {
  // [5, 5, 5, 5, 9]: MAD 0; MeanAD about the median = 4/5 = 0.8; scale = 1.253314·0.8.
  auto spec = make_spec("mad", {{"window_samples", "5"}, {"min_samples", "5"}});
  auto d = fed(*spec, {5, 5, 5, 5, 9});
  EXPECT_NEAR(d->bounds()->second, 5 + 3.5 * 1.253314 * 0.8, 1e-12);
  EXPECT_FALSE(clone(*spec, *d)->update(at_s(9), 8).firing);  // z = 3/1.00265 = 2.99
  EXPECT_TRUE(clone(*spec, *d)->update(at_s(9), 9).firing);   // z = 3.989
  // A constant window: the same value is quiet, any other fires with score 1.
  auto flat = fed(*spec, {5, 5, 5, 5, 5});
  EXPECT_EQ(clone(*spec, *flat)->update(at_s(9), 5).score, 0);
  const Decision moved = clone(*spec, *flat)->update(at_s(9), 5.1);
  EXPECT_TRUE(moved.firing);
  EXPECT_EQ(moved.score, 1);
}

TEST(Mad, WarmUp) {
  auto spec = make_spec("mad", {});  // window 100, min_samples 10
  auto d = fed(*spec, {1, 2, 3, 4, 5, 6, 7, 8});
  const Decision early = d->update(at_s(8), 1e6);
  EXPECT_FALSE(early.firing);
  EXPECT_EQ(early.score, 0);
  EXPECT_TRUE(d->update(at_s(9), 1e6).firing == false);  // the 10th sample is judged by 9
  EXPECT_TRUE(d->bounds().has_value());
}

// The streaming median and MAD agree with sorting the window, over a long random-ish run with ties.
TEST(Mad, MatchesBruteForce) {
  auto spec = make_spec("mad", {{"window_samples", "31"}, {"min_samples", "3"}, {"n", "1"}});
  auto d = spec->make();
  std::deque<double> window;
  uint64_t state = 12345;
  for (int i = 0; i < 3000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double v = static_cast<double>((state >> 33) % 50) / 4;  // many ties
    d->update(at_s(i), v);
    window.push_back(v);
    if (window.size() > 31) window.pop_front();
    if (window.size() < 3) continue;
    std::vector<double> s(window.begin(), window.end());
    std::sort(s.begin(), s.end());
    const size_t n = s.size();
    const double med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    std::vector<double> dev;
    double sum = 0;
    for (double x : s) {
      dev.push_back(std::fabs(x - med));
      sum += std::fabs(x - med);
    }
    std::sort(dev.begin(), dev.end());
    const double mad = n % 2 ? dev[n / 2] : (dev[n / 2 - 1] + dev[n / 2]) / 2;
    const double scale = mad > 0 ? mad / 0.6745 : 1.253314 * sum / static_cast<double>(n);
    ASSERT_TRUE(d->bounds().has_value());
    ASSERT_NEAR(d->bounds()->second, med + scale, 1e-9) << i;
    ASSERT_NEAR(d->bounds()->first, med - scale, 1e-9) << i;
  }
}

TEST(Mad, SnapshotRestoreMakesTheSameDecisions) {
  auto spec = make_spec("mad", {{"window_samples", "20"}});
  auto d = spec->make();
  for (int i = 0; i < 30; ++i) d->update(at_s(i), std::sin(i) * 2);
  auto copy = clone(*spec, *d);
  for (int i = 30; i < 70; ++i) {
    const double v = i == 50 ? 25 : std::sin(i) * 2;
    const Decision a = d->update(at_s(i), v);
    const Decision b = copy->update(at_s(i), v);
    EXPECT_EQ(a.firing, b.firing);
    EXPECT_DOUBLE_EQ(a.score, b.score);
    if (i == 50) {
      EXPECT_TRUE(a.firing);
    }
  }
  testing::expect_rejects_garbage(*spec, *d, at_s(100), 1);
}

TEST(Mad, BadParams) {
  EXPECT_EQ(config_error("mad", {{"window_samples", "2"}}), "2: 2 is out of range: expected 3 to 100000");
  EXPECT_EQ(config_error("mad", {{"window_samples", "10"}, {"min_samples", "11"}}),
            "3: 11 is more than window_samples (10): the detector could never fire");
  EXPECT_EQ(config_error("mad", {{"n", "-1"}}), "2: -1 is out of range: expected a number > 0");
  EXPECT_EQ(config_error("mad", {{"window", "1h"}}),
            "2: unknown parameter for detector \"mad\": expected window_samples, n, direction, min_samples");
  EXPECT_EQ(config_error("mad", {{"window_samples", "5"}}), "no error");  // min_samples follows a small window
}

}  // namespace
}  // namespace tocsin::detect
