#include "detect/ewma/ewma.h"

#include <gtest/gtest.h>

#include <cmath>

#include "detect/basic_test_util.h"

namespace tocsin::detect {
namespace {

using testing::at_s;
using testing::clone;
using testing::config_error;
using testing::make_spec;

// Expected numbers from a Python loop over [1, 2, 3, 4] with a = 0.5:
//   mu = x (first); then d = x − mu; mu += a·d; var = (1 − a)·(var + a·d²)
//   → mu = 3.125, var = 1.109375, sigma = 1.0532687216470449.
constexpr double kMean = 3.125;
constexpr double kSigma = 1.0532687216470449;

TEST(Ewma, KnownMeanVarianceAndDecision) {
  auto spec = make_spec("ewma", {{"alpha", "0.5"}, {"min_samples", "4"}});
  auto d = spec->make();
  int t = 0;
  for (double v : {1.0, 2.0, 3.0, 4.0}) EXPECT_FALSE(d->update(at_s(t++), v).firing);
  ASSERT_TRUE(d->bounds().has_value());
  EXPECT_NEAR(d->bounds()->first, kMean - 3 * kSigma, 1e-12);
  EXPECT_NEAR(d->bounds()->second, kMean + 3 * kSigma, 1e-12);
  const Decision spike = clone(*spec, *d)->update(at_s(t), 10);
  EXPECT_TRUE(spike.firing);
  // r = 6.875/(3·1.0532687…) = 2.1758; r²/(1+r²) = 0.8256004366812227 (Python).
  EXPECT_NEAR(spike.score, 0.8256004366812227, 1e-12);
  EXPECT_FALSE(clone(*spec, *d)->update(at_s(t), 6).firing);
  EXPECT_EQ(spec->describe(), "value outside μ ± 3σ (EWMA, α = 0.5)");
}

TEST(Ewma, HalflifeInTime) {
  // Samples 10s apart with a 10s half-life: α = 1 − 2^(−1) = 0.5, the same numbers as above.
  auto spec = make_spec("ewma", {{"halflife", "10s"}, {"min_samples", "4"}});
  auto d = spec->make();
  int t = 0;
  for (double v : {1.0, 2.0, 3.0, 4.0}) {
    d->update(at_s(t), v);
    t += 10;
  }
  EXPECT_NEAR(d->bounds()->second, kMean + 3 * kSigma, 1e-12);
  EXPECT_EQ(spec->describe(), "value outside μ ± 3σ (EWMA, half-life 10s)");
}

TEST(Ewma, WarmUp) {
  auto d = make_spec("ewma", {{"alpha", "0.5"}, {"min_samples", "4"}})->make();
  d->update(at_s(0), 1);
  d->update(at_s(1), 2);
  const Decision early = d->update(at_s(2), 1000);
  EXPECT_FALSE(early.firing);
  EXPECT_EQ(early.score, 0);
  EXPECT_FALSE(d->bounds().has_value());
}

TEST(Ewma, DirectionAndFlatStart) {
  auto spec = make_spec("ewma", {{"min_samples", "3"}, {"direction", "down"}});
  auto d = spec->make();
  for (int i = 0; i < 5; ++i) d->update(at_s(i), 7);
  EXPECT_FALSE(clone(*spec, *d)->update(at_s(5), 8).firing);
  const Decision drop = d->update(at_s(5), 6);
  EXPECT_TRUE(drop.firing);
  EXPECT_EQ(drop.score, 1);
}

TEST(Ewma, SnapshotRestoreMakesTheSameDecisions) {
  auto spec = make_spec("ewma", {{"halflife", "5m"}, {"n", "3"}});
  auto d = spec->make();
  for (int i = 0; i < 40; ++i) d->update(at_s(i * 60), std::cos(i) + 5);
  auto copy = clone(*spec, *d);
  for (int i = 40; i < 80; ++i) {
    const double v = i == 60 ? 30 : std::cos(i) + 5;
    const Decision a = d->update(at_s(i * 60), v);
    const Decision b = copy->update(at_s(i * 60), v);
    EXPECT_EQ(a.firing, b.firing);
    EXPECT_DOUBLE_EQ(a.score, b.score);
    if (i == 60) {
      EXPECT_TRUE(a.firing);
    }
  }
  testing::expect_rejects_garbage(*spec, *d, at_s(9000), 5);
}

TEST(Ewma, BadParams) {
  EXPECT_EQ(config_error("ewma", {{"alpha", "0"}}), "2: 0 is out of range: expected 0 < alpha ≤ 1");
  EXPECT_EQ(config_error("ewma", {{"alpha", "1.5"}}), "2: 1.5 is out of range: expected 0 < alpha ≤ 1");
  EXPECT_EQ(config_error("ewma", {{"alpha", "0.1"}, {"halflife", "1h"}}), "3: give `alpha` or `halflife`, not both");
  EXPECT_EQ(config_error("ewma", {{"halflife", "0"}}), "2: expected a duration > 0");
  EXPECT_EQ(config_error("ewma", {{"halflife", "soon"}}), "2: expected a duration such as 30s, 5m or 1h, got \"soon\"");
  EXPECT_EQ(config_error("ewma", {{"min_samples", "x"}}), "2: expected a number, got \"x\"");
  EXPECT_EQ(config_error("ewma", {{"span", "3"}}),
            "2: unknown parameter for detector \"ewma\": expected alpha, halflife, n, direction, min_samples");
}

}  // namespace
}  // namespace tocsin::detect
