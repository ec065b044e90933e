#include "detect/changepoint/changepoint.h"

#include <gtest/gtest.h>

#include <random>

#include "detect/basic_test_util.h"

namespace tocsin::detect {
namespace {

using testing::at_s;
using testing::config_error;
using testing::make_spec;

TEST(Changepoint, LevelShiftIsCaughtWithinAFewSamplesAndOnlyOnce) {
  auto spec = make_spec("changepoint", {});
  auto d = spec->make();
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0, 1);
  int fired_before = 0;
  int64_t first_fire = -1;
  int fires_after = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    const double v = 10 + noise(rng) + (i >= 600 ? 4 : 0);
    const Decision r = d->update(at_s(i), v);
    if (i < 600 && r.firing) ++fired_before;
    if (i >= 600 && r.firing) {
      if (first_fire < 0) first_fire = i;
      ++fires_after;
    }
  }
  EXPECT_EQ(fired_before, 0);
  ASSERT_GE(first_fire, 600);
  EXPECT_LE(first_fire - 600, 5);  // a 4σ shift: h / (3 − k) ≈ 3.2 samples at full clipped steps
  EXPECT_EQ(fires_after, 1);       // re-armed on the new level, which is then normal
}

TEST(Changepoint, ALoneSpikeIsNotAShift) {
  auto spec = make_spec("changepoint", {});
  auto d = spec->make();
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, 1);
  for (int64_t i = 0; i < 600; ++i) {
    const Decision r = d->update(at_s(i), noise(rng) + (i == 400 ? 50 : 0));
    EXPECT_FALSE(r.firing) << i;
  }
}

TEST(Changepoint, VarianceIncreaseIsDetected) {
  auto spec = make_spec("changepoint", {});
  auto d = spec->make();
  std::mt19937 rng(2);
  std::normal_distribution<double> noise(0, 1);
  int64_t first_fire = -1;
  for (int64_t i = 0; i < 800 && first_fire < 0; ++i) {
    const double v = noise(rng) * (i >= 500 ? 4 : 1);
    if (d->update(at_s(i), v).firing) first_fire = i;
  }
  ASSERT_GE(first_fire, 500);
  EXPECT_LE(first_fire - 500, 15);
}

TEST(Changepoint, FlatLineNeverFiresAndAStepOnItDoes) {
  auto spec = make_spec("changepoint", {});
  auto d = spec->make();
  for (int64_t i = 0; i < 500; ++i) EXPECT_FALSE(d->update(at_s(i), 3).firing);
  int64_t first_fire = -1;
  for (int64_t i = 500; i < 520 && first_fire < 0; ++i) {
    if (d->update(at_s(i), 3.5).firing) first_fire = i;
  }
  EXPECT_EQ(first_fire, 502);  // three full clipped steps of 3 − 0.5 cross h = 8
}

TEST(Changepoint, ScoreIsHalfAtTheDecisionInterval) {
  ChangepointOptions o;
  o.variance = false;
  ShiftDetector s(o);
  for (int i = 0; i < 100; ++i) s.update(i % 2 == 0 ? 1 : -1);  // mean 0, σ 1
  const ShiftResult r = s.update(1 + o.drift + o.threshold);      // clipped to 3σ: one step of 2.5
  EXPECT_FALSE(r.detected);
  EXPECT_NEAR(r.strength, 2.5 / 8, 0.05);
}

TEST(Changepoint, SnapshotRestoreGivesTheSameNextDecisions) {
  auto spec = make_spec("changepoint", {});
  auto d = spec->make();
  std::mt19937 rng(9);
  std::normal_distribution<double> noise(0, 1);
  int64_t i = 0;
  for (; i < 300; ++i) d->update(at_s(i), noise(rng));
  auto copy = testing::clone(*spec, *d);
  for (int k = 0; k < 40; ++k, ++i) {
    const double v = noise(rng) + (k >= 10 ? 5 : 0);
    const Decision a = d->update(at_s(i), v);
    const Decision b = copy->update(at_s(i), v);
    EXPECT_EQ(a.firing, b.firing);
    EXPECT_EQ(a.score, b.score);
  }
  testing::expect_rejects_garbage(*spec, *d, at_s(i), 5);
  EXPECT_FALSE(d->restore(make_spec("seasonal", {})->make()->snapshot()).has_value());
}

TEST(Changepoint, BadParamsAreRejectedAtTheirLine) {
  EXPECT_EQ(config_error("changepoint", {{"window", "1"}}), "2: `window` (samples) must be within [2, 1000000]");
  EXPECT_EQ(config_error("changepoint", {{"drift", "-1"}}), "2: `drift` must be within [0, 10]");
  EXPECT_EQ(config_error("changepoint", {{"threshold", "0"}}), "2: `threshold` must be in (0, 1000]");
  EXPECT_EQ(config_error("changepoint", {{"variance", "yes"}}), "2: expected a number, got \"yes\"");
  EXPECT_EQ(config_error("changepoint", {{"min_samples", "1"}}), "2: `min_samples` must be within [2, 1000000]");
  EXPECT_NE(config_error("changepoint", {{"period", "5"}}).find("unknown parameter"), std::string::npos);
  EXPECT_EQ(config_error("changepoint", {{"window", "50"}, {"variance", "0"}}), "no error");
}

}  // namespace
}  // namespace tocsin::detect
