#include "detect/threshold/threshold.h"

#include <gtest/gtest.h>

#include <cmath>

#include "detect/basic_test_util.h"

namespace tocsin::detect {
namespace {

using testing::at_s;
using testing::config_error;
using testing::make_spec;

TEST(Threshold, AboveFiresStrictlyPastTheThreshold) {
  auto spec = make_spec("threshold", {{"above", "0.9"}});
  auto d = spec->make();
  EXPECT_FALSE(d->update(at_s(1), 0.9).firing);
  EXPECT_DOUBLE_EQ(d->update(at_s(2), 0.9).score, 0.5);  // at the threshold: 0.5, not firing
  const Decision past = d->update(at_s(3), 0.99);
  EXPECT_TRUE(past.firing);
  // m = (0.99 − 0.9)/0.09 = 1 (scale = 10% of the threshold): 1 − ½e⁻¹.
  EXPECT_NEAR(past.score, 1 - 0.5 * std::exp(-1.0), 1e-12);
  EXPECT_EQ(spec->describe(), "value > 0.9");
}

TEST(Threshold, BelowAndBoth) {
  auto d = make_spec("threshold", {{"above", "10"}, {"below", "2"}})->make();
  EXPECT_TRUE(d->update(at_s(1), 1).firing);
  EXPECT_FALSE(d->update(at_s(2), 5).firing);
  EXPECT_TRUE(d->update(at_s(3), 11).firing);
  EXPECT_EQ(d->bounds(), std::pair(2.0, 10.0));
}

TEST(Threshold, HysteresisHoldsUntilBackPastTheMargin) {
  auto spec = make_spec("threshold", {{"above", "90"}, {"hysteresis", "5"}});
  auto d = spec->make();
  EXPECT_FALSE(d->update(at_s(1), 89).firing);
  EXPECT_TRUE(d->update(at_s(2), 91).firing);
  EXPECT_TRUE(d->update(at_s(3), 88).firing);   // back under 90 but not under 85: still firing
  EXPECT_EQ(d->bounds(), std::pair(-HUGE_VAL, 85.0));
  const Decision held = d->update(at_s(4), 85.5);
  EXPECT_TRUE(held.firing);
  EXPECT_DOUBLE_EQ(held.score, 0.5);  // firing inside the band scores the minimum firing score
  const Decision cleared = d->update(at_s(5), 85);
  EXPECT_FALSE(cleared.firing);
  // scale = hysteresis = 5, m = (85 − 90)/5 = −1: ½e⁻¹ = 0.18393972058572117.
  EXPECT_NEAR(cleared.score, 0.18393972058572117, 1e-15);
  EXPECT_FALSE(d->update(at_s(6), 89).firing);  // re-arming needs > 90 again
  const Decision again = d->update(at_s(7), 95);
  EXPECT_TRUE(again.firing);
  EXPECT_NEAR(again.score, 0.8160602794142788, 1e-15);  // 1 − ½e⁻¹
  EXPECT_EQ(spec->describe(), "value > 90 (hysteresis 5)");
}

TEST(Threshold, HysteresisBelow) {
  auto d = make_spec("threshold", {{"below", "10"}, {"hysteresis", "2"}})->make();
  EXPECT_TRUE(d->update(at_s(1), 9).firing);
  EXPECT_TRUE(d->update(at_s(2), 11.9).firing);
  EXPECT_FALSE(d->update(at_s(3), 12).firing);
}

TEST(Threshold, ScoreIsMonotoneAndContinuous) {
  auto d = make_spec("threshold", {{"above", "0"}, {"scale", "2"}})->make();
  double last = -1;
  for (double v = -10; v <= 10; v += 0.25) {
    const Decision dec = d->update(at_s(1), v);
    EXPECT_GE(dec.score, last) << v;
    EXPECT_EQ(dec.firing, dec.score > 0.5) << v;
    last = dec.score;
  }
  EXPECT_NEAR(d->update(at_s(2), -2).score, 0.5 * std::exp(-1.0), 1e-15);
}

TEST(Threshold, SnapshotKeepsTheHysteresisState) {
  auto spec = make_spec("threshold", {{"above", "90"}, {"hysteresis", "5"}});
  auto d = spec->make();
  d->update(at_s(1), 95);
  auto copy = testing::clone(*spec, *d);
  EXPECT_TRUE(copy->update(at_s(2), 88).firing);  // a fresh detector would not fire at 88
  EXPECT_FALSE(spec->make()->update(at_s(2), 88).firing);
  testing::expect_rejects_garbage(*spec, *d, at_s(3), 87);
}

TEST(Threshold, BadParams) {
  EXPECT_EQ(config_error("threshold", {}), "1: threshold detector needs `above`, `below` or both");
  EXPECT_EQ(config_error("threshold", {{"above", "high"}}), "2: expected a number, got \"high\"");
  EXPECT_EQ(config_error("threshold", {{"above", "1"}, {"below", "2"}}),
            "3: `below` must be less than `above` (the detector would always fire)");
  EXPECT_EQ(config_error("threshold", {{"above", "1"}, {"hysteresis", "-1"}}), "3: -1 is out of range: expected a number ≥ 0");
  EXPECT_EQ(config_error("threshold", {{"above", "1"}, {"scale", "0"}}), "3: 0 is out of range: expected a number > 0");
  EXPECT_EQ(config_error("threshold", {{"above", "1"}, {"abov", "2"}}),
            "3: unknown parameter for detector \"threshold\": expected above, below, hysteresis, scale");
}

}  // namespace
}  // namespace tocsin::detect
