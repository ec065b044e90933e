#include "detect/sigma/sigma.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>

#include "detect/basic_test_util.h"

namespace tocsin::detect {
namespace {

using testing::at_s;
using testing::clone;
using testing::config_error;
using testing::make_spec;

// The SPEC's example. Expected numbers from Python:
//   statistics.mean([.1,.2,.3,.4,.5]) = 0.3, statistics.pstdev(...) = 0.1414213562373095,
//   0.3 + 2*0.1414213562373095 = 0.5828427124746189.
TEST(Sigma, PopulationSigmaBoundOfTheSpecExample) {
  auto spec = make_spec("sigma", {{"n", "2"}, {"min_samples", "5"}});
  auto d = spec->make();
  int t = 0;
  for (double v : {0.1, 0.2, 0.3, 0.4, 0.5}) EXPECT_FALSE(d->update(at_s(t++), v).firing);
  ASSERT_TRUE(d->bounds().has_value());
  EXPECT_NEAR(d->bounds()->second, 0.3 + 2 * 0.1414213562373095, 1e-12);  // 0.5828427124746189
  EXPECT_NEAR(d->bounds()->first, 0.3 - 2 * 0.1414213562373095, 1e-12);

  // Each candidate is judged against the same baseline (a sample is not in its own baseline).
  const Decision below = clone(*spec, *d)->update(at_s(t), 0.58);
  EXPECT_FALSE(below.firing);
  // r = 0.28/(2·0.14142…) = 0.98995; score = r²/(1+r²) = 0.49494949494949486 (Python).
  EXPECT_NEAR(below.score, 0.49494949494949486, 1e-12);
  const Decision above = clone(*spec, *d)->update(at_s(t), 0.59);
  EXPECT_TRUE(above.firing);
  EXPECT_NEAR(above.score, 0.5124923826934796, 1e-12);
  // The lower bound is 0.3 − 0.28284… = 0.01715728752538.
  EXPECT_FALSE(clone(*spec, *d)->update(at_s(t), 0.02).firing);
  EXPECT_TRUE(clone(*spec, *d)->update(at_s(t), 0.01).firing);
  EXPECT_EQ(spec->describe(), "value outside μ ± 2σ (1h window, population σ)");
}

TEST(Sigma, SampleSigmaOnRequest) {
  // statistics.stdev([.1,.2,.3,.4,.5]) = 0.15811388300841897 → bound 0.6162277660168379.
  auto spec = make_spec("sigma", {{"n", "2"}, {"min_samples", "5"}, {"sample", "true"}});
  auto d = spec->make();
  int t = 0;
  for (double v : {0.1, 0.2, 0.3, 0.4, 0.5}) d->update(at_s(t++), v);
  EXPECT_NEAR(d->bounds()->second, 0.6162277660168379, 1e-12);
  EXPECT_FALSE(clone(*spec, *d)->update(at_s(t), 0.61).firing);
  EXPECT_TRUE(clone(*spec, *d)->update(at_s(t), 0.62).firing);
}

TEST(Sigma, Direction) {
  auto up = make_spec("sigma", {{"n", "2"}, {"min_samples", "5"}, {"direction", "up"}});
  auto down = make_spec("sigma", {{"n", "2"}, {"min_samples", "5"}, {"direction", "down"}});
  auto u = up->make(), dn = down->make();
  int t = 0;
  for (double v : {0.1, 0.2, 0.3, 0.4, 0.5}) {
    u->update(at_s(t), v);
    dn->update(at_s(t++), v);
  }
  EXPECT_EQ(u->bounds()->first, -HUGE_VAL);
  EXPECT_EQ(dn->bounds()->second, HUGE_VAL);
  EXPECT_TRUE(clone(*up, *u)->update(at_s(t), 0.59).firing);
  const Decision low_for_up = clone(*up, *u)->update(at_s(t), -5);
  EXPECT_FALSE(low_for_up.firing);
  EXPECT_EQ(low_for_up.score, 0);
  EXPECT_FALSE(clone(*down, *dn)->update(at_s(t), 5).firing);
  EXPECT_TRUE(clone(*down, *dn)->update(at_s(t), -5).firing);
  EXPECT_EQ(up->describe(), "value > μ + 2σ (1h window, population σ)");
}

TEST(Sigma, WarmUpNeedsMinSamples) {
  auto d = make_spec("sigma", {{"n", "2"}})->make();  // min_samples defaults to 10
  for (int i = 0; i < 9; ++i) d->update(at_s(i), i % 2);
  EXPECT_FALSE(d->bounds().has_value());
  const Decision early = d->update(at_s(9), 1000);  // 9 samples in the baseline: still warming up
  EXPECT_FALSE(early.firing);
  EXPECT_EQ(early.score, 0);
  EXPECT_TRUE(d->bounds().has_value());
}

TEST(Sigma, OldSamplesLeaveTheTimeWindow) {
  // window 55s: at t = 60s the sample at t = 0 (≤ 60 − 55) is evicted, leaving 0.1 … 0.5.
  auto spec = make_spec("sigma", {{"n", "2"}, {"min_samples", "5"}, {"window", "55s"}});
  auto d = spec->make();
  d->update(at_s(0), 1000);
  int t = 10;
  for (double v : {0.1, 0.2, 0.3, 0.4, 0.5}) {
    d->update(at_s(t), v);
    t += 10;
  }
  EXPECT_FALSE(clone(*spec, *d)->update(at_s(60), 0.58).firing);
  EXPECT_TRUE(clone(*spec, *d)->update(at_s(60), 0.59).firing);
  // Much later everything has left the window: warming up again.
  const Decision later = d->update(at_s(1000), 1e9);
  EXPECT_FALSE(later.firing);
  EXPECT_FALSE(d->bounds().has_value());
}

TEST(Sigma, MaxSamplesEvictsTheOldest) {
  auto spec = make_spec("sigma", {{"n", "2"}, {"min_samples", "5"}, {"max_samples", "5"}});
  auto d = spec->make();
  int t = 0;
  for (double v : {1000.0, 0.1, 0.2, 0.3, 0.4, 0.5}) d->update(at_s(t++), v);
  EXPECT_NEAR(d->bounds()->second, 0.5828427124746189, 1e-12);
}

TEST(Sigma, AllHistoryBaselineWithWindowZero) {
  auto spec = make_spec("sigma", {{"n", "2"}, {"min_samples", "5"}, {"window", "0"}});
  auto d = spec->make();
  for (int i = 0; i < 5; ++i) d->update(at_s(i * 86400), 0.1 * (i + 1));  // days apart: nothing is forgotten
  EXPECT_NEAR(d->bounds()->second, 0.5828427124746189, 1e-12);
  EXPECT_EQ(spec->describe(), "value outside μ ± 2σ (all history, population σ)");
  auto copy = clone(*spec, *d);
  EXPECT_NEAR(copy->bounds()->second, 0.5828427124746189, 1e-12);
  testing::expect_rejects_garbage(*spec, *d, at_s(10 * 86400), 0.59);
}

TEST(Sigma, RunningSumsDoNotDrift) {
  // A large offset and a long run: the window's moments must match a two-pass computation.
  auto d = make_spec("sigma", {{"n", "3"}, {"max_samples", "100"}})->make();
  std::deque<double> last;
  for (int i = 0; i < 200000; ++i) {
    const double v = 1e9 + (i % 7) * 0.5 + (i % 13) * 0.01;
    d->update(at_s(i), v);
    last.push_back(v);
    if (last.size() > 100) last.pop_front();
  }
  double mean = 0;
  for (double v : last) mean += v;
  mean /= static_cast<double>(last.size());
  double m2 = 0;
  for (double v : last) m2 += (v - mean) * (v - mean);
  const double sigma = std::sqrt(m2 / static_cast<double>(last.size()));
  ASSERT_TRUE(d->bounds().has_value());
  EXPECT_NEAR(d->bounds()->second, mean + 3 * sigma, 1e-6);
  EXPECT_NEAR((d->bounds()->second - d->bounds()->first) / 6, sigma, 1e-6);
}

TEST(Sigma, FlatBaselineFiresOnAnyChange) {
  auto d = make_spec("sigma", {{"min_samples", "3"}})->make();
  for (int i = 0; i < 5; ++i) d->update(at_s(i), 0.1);
  EXPECT_FALSE(testing::clone(*make_spec("sigma", {{"min_samples", "3"}}), *d)->update(at_s(5), 0.1).firing);
  const Decision jump = d->update(at_s(5), 0.2);
  EXPECT_TRUE(jump.firing);
  EXPECT_EQ(jump.score, 1);
}

TEST(Sigma, SnapshotRestoreMakesTheSameDecisions) {
  auto spec = make_spec("sigma", {{"n", "2.5"}, {"window", "10m"}});
  auto d = spec->make();
  for (int i = 0; i < 50; ++i) d->update(at_s(i * 15), std::sin(i * 0.7) * 3 + 10);
  auto copy = clone(*spec, *d);
  for (int i = 50; i < 120; ++i) {
    const double v = i == 90 ? 40 : std::sin(i * 0.7) * 3 + 10;
    const Decision a = d->update(at_s(i * 15), v);
    const Decision b = copy->update(at_s(i * 15), v);
    EXPECT_EQ(a.firing, b.firing) << i;
    EXPECT_NEAR(a.score, b.score, 1e-9) << i;
    if (i == 90) {
      EXPECT_TRUE(a.firing);
    }
  }
  testing::expect_rejects_garbage(*spec, *d, at_s(2000), 11);
  // A snapshot of another mode or detector is refused.
  auto all_history = make_spec("sigma", {{"window", "0"}})->make();
  EXPECT_FALSE(all_history->restore(d->snapshot()).has_value());
  EXPECT_FALSE(make_spec("ewma", {})->make()->restore(d->snapshot()).has_value());
}

TEST(Sigma, BadParams) {
  EXPECT_EQ(config_error("sigma", {{"n", "three"}}), "2: expected a number, got \"three\"");
  EXPECT_EQ(config_error("sigma", {{"n", "0"}}), "2: 0 is out of range: expected a number > 0");
  EXPECT_EQ(config_error("sigma", {{"window", "1 hour"}}),
            "2: expected a duration such as 30s, 5m or 1h, got \"1 hour\"");
  EXPECT_EQ(config_error("sigma", {{"direction", "sideways"}}), "2: bad value \"sideways\": expected one of up, down, both");
  EXPECT_EQ(config_error("sigma", {{"sample", "yes"}}), "2: expected true or false, got \"yes\"");
  EXPECT_EQ(config_error("sigma", {{"min_samples", "1"}}), "2: 1 is out of range: expected 2 to 10000000");
  EXPECT_EQ(config_error("sigma", {{"max_samples", "2.5"}}), "2: expected a whole number, got 2.5");
  EXPECT_EQ(config_error("sigma", {{"max_samples", "5"}, {"min_samples", "6"}}),
            "3: 6 is more than max_samples (5): the detector could never fire");
  EXPECT_EQ(config_error("sigma", {{"n", "3"}, {"windw", "1h"}}),
            "3: unknown parameter for detector \"sigma\": expected n, direction, window, max_samples, min_samples, sample");
  EXPECT_EQ(config_error("sigma", {{"n", "3"}, {"window", "1h"}}), "no error");
}

}  // namespace
}  // namespace tocsin::detect
