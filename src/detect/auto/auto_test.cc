#include "detect/auto/auto.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <numbers>
#include <random>

#include "detect/basic_test_util.h"

namespace tocsin::detect {
namespace {

using testing::at_s;
using testing::config_error;
using testing::make_spec;

constexpr int64_t kStep = 300;
constexpr int64_t kPerDay = 86400 / kStep;

double daily(int64_t i, std::mt19937& rng) {
  std::normal_distribution<double> noise(0, 0.5);
  return 50 + 10 * std::sin(2 * std::numbers::pi * static_cast<double>(i) / kPerDay) + noise(rng);
}

TEST(Auto, FiresAtASpikeOnADailyPatternAndNowhereElseAfterWarmup) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(7);
  const int64_t spike = 8 * kPerDay + 100;
  for (int64_t i = 0; i < 10 * kPerDay; ++i) {
    const double v = daily(i, rng) + (i == spike ? 8 : 0);  // inside the daily range
    const Decision r = d->update(at_s(i * kStep), v);
    if (i == spike) {
      EXPECT_TRUE(r.firing) << "score " << r.score;
    } else if (i >= 3 * kPerDay) {
      EXPECT_FALSE(r.firing) << "sample " << i << " score " << r.score;
    }
  }
}

TEST(Auto, LevelShiftIsCaughtWithinAFewSamples) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(4);
  std::normal_distribution<double> noise(0, 1);
  int64_t first_fire = -1;
  for (int64_t i = 0; i < 3000; ++i) {
    const double v = 100 + noise(rng) + (i >= 2500 ? 3 : 0);  // 3σ: within the noise's range
    const Decision r = d->update(at_s(i * 60), v);
    if (r.firing && i >= 2500 && first_fire < 0) first_fire = i;
  }
  ASSERT_GE(first_fire, 2500);
  EXPECT_LE(first_fire - 2500, 10);
}

TEST(Auto, FlatLineNeverFires) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  for (int64_t i = 0; i < 3 * kPerDay; ++i) {
    const Decision r = d->update(at_s(i * kStep), 7.25);
    EXPECT_FALSE(r.firing);
    EXPECT_EQ(r.score, 0);
  }
}

TEST(Auto, OneIncidentGivesOneAlert) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0, 1);
  int fires = 0;
  for (int64_t i = 0; i < 2600; ++i) {
    const double v = noise(rng) + (i >= 2500 ? 20 : 0);  // a big, lasting shift
    if (d->update(at_s(i * 60), v).firing && i >= 2000) ++fires;
  }
  EXPECT_EQ(fires, 1);
}

TEST(Auto, SnapshotRestoreGivesTheSameNextDecisions) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(3);
  int64_t i = 0;
  for (; i < 3 * kPerDay; ++i) d->update(at_s(i * kStep), daily(i, rng));
  auto copy = testing::clone(*spec, *d);
  for (int k = 0; k < 80; ++k, ++i) {
    const double v = daily(i, rng) + (k == 30 ? 9 : 0);
    const Decision a = d->update(at_s(i * kStep), v);
    const Decision b = copy->update(at_s(i * kStep), v);
    EXPECT_EQ(a.firing, b.firing);
    EXPECT_EQ(a.score, b.score);
  }
  testing::expect_rejects_garbage(*spec, *d, at_s(i * kStep), 50);
  EXPECT_FALSE(d->restore(make_spec("seasonal", {})->make()->snapshot()).has_value());
}

#include "detect/auto/auto_snapshot_v1_golden.inc"

// The snapshot format did not change when the state became floats (histogram counts, seasonal
// spreads): a snapshot written by the double-state build loads — here one whose histogram weight
// (after 400,000 samples) is beyond the float range, so it is rescaled on load — and the next
// decisions are that build's, scores within float rounding.
TEST(Auto, RestoresASnapshotOfTheDoubleStateBuild) {
  std::string bytes;
  for (size_t i = 0; i + 1 < kAutoV1DoubleStateSnapshotHex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(kAutoV1DoubleStateSnapshotHex.substr(i, 2)), nullptr, 16)));
  }
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  ASSERT_TRUE(d->restore(bytes).has_value());
  std::mt19937 rng(11);
  int64_t i = 0;
  for (; i < 400'000; ++i) daily(i, rng);  // the same values as the build that wrote it
  for (size_t k = 0; k < kAutoV1NextDecisions.size(); ++k, ++i) {
    const double v = daily(i, rng) + (k == 20 ? 15 : 0);
    const Decision got = d->update(at_s(i * kStep), v);
    EXPECT_EQ(got.firing, kAutoV1NextDecisions[k].second) << k;
    EXPECT_NEAR(got.score, kAutoV1NextDecisions[k].first, 1e-5) << k;
  }
  // It also round-trips through the current build's own snapshot.
  auto copy = testing::clone(*spec, *d);
  EXPECT_EQ(copy->snapshot(), d->snapshot());
}

TEST(Auto, BadParamsAreRejectedAtTheirLine) {
  EXPECT_EQ(config_error("auto", {{"threshold", "0"}}), "2: `threshold` (a score) must be in (0, 1]");
  EXPECT_EQ(config_error("auto", {{"threshold", "1.5"}}), "2: `threshold` (a score) must be in (0, 1]");
  EXPECT_EQ(config_error("auto", {{"quiet", "-1"}}),
            "2: `quiet` (samples) must be a whole number within [0, 1000000]");
  EXPECT_NE(config_error("auto", {{"sigma", "3"}}).find("unknown parameter"), std::string::npos);
  EXPECT_EQ(config_error("auto", {{"threshold", "0.6"}, {"quiet", "20"}}), "no error");
}

}  // namespace
}  // namespace tocsin::detect
