#include "detect/auto/auto.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <numbers>
#include <random>
#include <vector>

#include "detect/auto/test_scenario.h"
#include "detect/basic_test_util.h"
#include "detect/snapshot_codec.h"

namespace tocsin::detect {
namespace {

using auto_test::seasonal_flag;
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

// At 5-minute steps, the pace `auto` counts its samples in: after 2,500 samples (8.7 days) of
// history. (A 1-minute series with 2,500 samples has 42 hours of it, too young to alert on 3σ.)
TEST(Auto, LevelShiftIsCaughtWithinAFewSamples) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(4);
  std::normal_distribution<double> noise(0, 1);
  int64_t first_fire = -1;
  for (int64_t i = 0; i < 3000; ++i) {
    const double v = 100 + noise(rng) + (i >= 2500 ? 3 : 0);  // 3σ: within the noise's range
    const Decision r = d->update(at_s(i * kStep), v);
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

// The same series alerts alike at any sample interval: a daily swing for 10 days, then a day
// without it (a holiday), then the swing again, sampled every 5 minutes, every minute and every
// 15 s. Each memory, window and the threshold count k = 5 minutes / interval samples as one, so
// the three see the same: no alert in the 10 normal days, one for the holiday, and the daily
// model kept through it. Counted per sample as before, the 1-minute series had 6 false alerts and
// the 15 s one 30, and the 15 s one dropped the daily model 3 hours into the holiday
// (bench/auto_rates.cc prints the same table).
TEST(Auto, TheSamePatternAlertsAlikeAtAnySampleInterval) {
  auto spec = make_spec("auto", {});
  for (const int64_t step : {300, 60, 15}) {
    SCOPED_TRACE(step);
    const auto run = auto_test::run_holiday(*spec, step);
    EXPECT_EQ(run.normal_alerts, 0);
    ASSERT_TRUE(run.daily_before);
    EXPECT_EQ(run.holiday_alerts, 1);
    EXPECT_EQ(run.dropped_at, -1) << "the daily model dropped during the holiday";
  }
}

// A day unlike the others (a holiday: the daily swing is gone) is an incident to detect, not a
// reason to stop using the daily pattern. The model choice remembers weeks, so one odd day does
// not switch it (the one-day comparison used before did, mid-incident, and the switch restarted
// the surprise histories: nyc_taxi's holidays went undetected).
TEST(Auto, ADayLongIncidentDoesNotSwitchOffTheDailyModel) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.5);
  const int64_t holiday = 10 * kPerDay;
  int64_t i = 0;
  for (; i < holiday; ++i) d->update(at_s(i * kStep), daily(i, rng));
  ASSERT_EQ(seasonal_flag(d->snapshot()), 1);  // the daily pattern is in use before the holiday
  bool fired = false;
  for (; i < holiday + 2 * kPerDay; ++i) {
    const double v = i < holiday + kPerDay ? 50 + noise(rng) : daily(i, rng);
    fired = d->update(at_s(i * kStep), v).firing || fired;
    EXPECT_EQ(seasonal_flag(d->snapshot()), 1) << "sample " << i;
  }
  EXPECT_TRUE(fired);
}

// Within `quiet`, a re-alert needs clearly more evidence (x1.1 in -log10 p), not just a new high:
// a shift that grows slowly raises the score a little with most samples, and each small rise used
// to alert again (NAB counts every such sample outside an anomaly window as a false positive).
TEST(Auto, AnIncidentCreepingUpAlertsOncePerQuietPeriod) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(6);
  std::normal_distribution<double> noise(0, 1);
  std::vector<int64_t> fires;
  for (int64_t i = 0; i < 3000; ++i) {
    const double v = noise(rng) + (i >= 2500 ? 0.02 * static_cast<double>(i - 2500) : 0);  // +1σ per 50 samples
    if (d->update(at_s(i * kStep), v).firing) fires.push_back(i);
  }
  ASSERT_FALSE(fires.empty());
  EXPECT_GE(fires.front(), 2500);
  for (size_t k = 1; k < fires.size(); ++k) {
    EXPECT_GT(fires[k] - fires[k - 1], 100) << "alerts at " << fires[k - 1] << " and " << fires[k];
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

// At a 15 s step the seasonal buckets learn one sample per 5 minutes. A detector restored in the
// middle of such a span learns the same samples as the one that was not restarted: where the span
// began is derived from the last sample's time, which the snapshot holds.
TEST(Auto, ARestoreInTheMiddleOfALearningSpanLearnsTheSameSamples) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(3);
  constexpr int64_t kFast = 15;
  constexpr int64_t kFastPerDay = 86400 / kFast;
  auto value = [&](int64_t i) {
    return 50 + 10 * std::sin(2 * std::numbers::pi * static_cast<double>(i) / kFastPerDay) +
           std::normal_distribution<double>(0, 0.5)(rng);
  };
  int64_t i = 0;
  for (; i < 3 * kFastPerDay + 7; ++i) d->update(at_s(i * kFast), value(i));  // 7 samples into a span
  auto copy = testing::clone(*spec, *d);
  for (int k = 0; k < 400; ++k, ++i) {
    const double v = value(i);
    const Decision a = d->update(at_s(i * kFast), v);
    const Decision b = copy->update(at_s(i * kFast), v);
    ASSERT_EQ(a.score, b.score) << k;
  }
  EXPECT_EQ(copy->snapshot(), d->snapshot());
}

#include "detect/auto/auto_snapshot_v1_golden.inc"

std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

// A version 1 snapshot (before the model choice; written by the double-state build, whose
// histogram weight after 400,000 samples is beyond the float range, so it is rescaled on load)
// still loads. The model choice starts from that build's own ratio, so the detector keeps the
// model it used, and the next 40 decisions are that build's, scores within float rounding (none
// of them is a re-alert within `quiet`, the other change since).
TEST(Auto, RestoresASnapshotOfTheDoubleStateBuild) {
  const std::string bytes = from_hex(kAutoV1DoubleStateSnapshotHex);
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
  EXPECT_EQ(seasonal_flag(d->snapshot()), 1);
  // It also round-trips through the current build's own snapshot (version 3).
  auto copy = testing::clone(*spec, *d);
  EXPECT_EQ(copy->snapshot(), d->snapshot());
  EXPECT_EQ(static_cast<uint8_t>(d->snapshot()[4]), 3);
  EXPECT_EQ(d->snapshot().size(), bytes.size() + 3 * 8);  // 7057 bytes: the model choice's 3 doubles more
}

#include "detect/auto/auto_snapshot_v2_golden.inc"

// A version 2 snapshot (what every state file written since the model choice holds), written by
// the build of 2ab9d62, loads, and the next 40 decisions are that build's: a restart, or an
// upgrade, continues where the series was. The scores agree to float rounding, not to the bit:
// version 3 holds the histograms as suffix sums in floats, which a version 2 snapshot's counts are
// summed into. A detector of this build fed the same 10 days itself catches the same spike.
TEST(Auto, RestoresAVersion2SnapshotAndDecidesAsTheBuildThatWroteIt) {
  const std::string bytes = from_hex(kAutoV2SnapshotHex);
  ASSERT_EQ(static_cast<uint8_t>(bytes[4]), 2);
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  ASSERT_TRUE(d->restore(bytes).has_value());
  EXPECT_EQ(seasonal_flag(d->snapshot()), 1) << "the daily model it had learned";
  EXPECT_EQ(static_cast<uint8_t>(d->snapshot()[4]), 3);
  EXPECT_EQ(d->snapshot().size(), bytes.size()) << "the same fields";
  EXPECT_EQ(testing::clone(*spec, *d)->snapshot(), d->snapshot()) << "version 3 round-trips exactly";
  auto fresh = spec->make();
  std::mt19937 rng(13);
  int64_t i = 0;
  for (; i < 10 * kPerDay; ++i) fresh->update(at_s(i * kStep), daily(i, rng));
  bool fresh_fired = false;
  for (size_t k = 0; k < kAutoV2NextDecisions.size(); ++k, ++i) {
    const double v = daily(i, rng) + (k == 20 ? 15 : 0);
    const Decision got = d->update(at_s(i * kStep), v);
    EXPECT_EQ(got.firing, kAutoV2NextDecisions[k].second) << k;
    EXPECT_NEAR(got.score, kAutoV2NextDecisions[k].first, 1e-7) << k;  // 4.7e-9 at most, as measured
    fresh_fired |= fresh->update(at_s(i * kStep), v).firing;
  }
  EXPECT_TRUE(kAutoV2NextDecisions[20].second) << "the spike fired";
  EXPECT_TRUE(fresh_fired);
}

// The histograms of a version 3 snapshot are suffix sums sharing one total: a snapshot whose
// histograms disagree on the total, or whose sums grow towards the high bins, is not one this
// detector wrote, and is refused with the state kept.
TEST(Auto, RefusesHistogramsThatAreNotSuffixSumsOfOneTotal) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(5);
  for (int64_t i = 0; i < 2 * kPerDay; ++i) d->update(at_s(i * kStep), daily(i, rng));
  const std::string good = d->snapshot();
  ASSERT_EQ(static_cast<uint8_t>(good[4]), 3);
  // Each histogram is its total, weight and 64 bins.
  constexpr size_t kHistogram = auto_test::kHistogramBytes;
  const size_t tails = good.size() - auto_test::kTrailerBytes - auto_test::kHistogramsBytes;
  auto double_at = [&](const std::string& s, size_t at) {
    double v = 0;
    std::memcpy(&v, s.data() + at, sizeof v);
    return v;
  };
  // The body with one double replaced, under a fresh checksum.
  auto with = [&](size_t at, double v) {
    std::string body = good.substr(5, good.size() - 9);
    std::memcpy(body.data() + at - 5, &v, sizeof v);
    SnapshotWriter w("auto", 3);
    for (const char c : body) w.u8(static_cast<uint8_t>(c));
    return std::move(w).finish();
  };
  ASSERT_TRUE(d->restore(with(tails, double_at(good, tails))).has_value()) << "an unchanged body loads";
  const double total = double_at(good, tails + kHistogram);
  EXPECT_FALSE(d->restore(with(tails + kHistogram, total * 1.5)).has_value()) << "a second total";
  const size_t bin1 = tails + 2 * 8 + 8;
  EXPECT_FALSE(d->restore(with(bin1, double_at(good, bin1 - 8) * 2 + 1)).has_value()) << "bin 1 above bin 0";
  EXPECT_EQ(d->snapshot(), good) << "state kept";
}

// The first sample has no level to be judged against (its residual is 0), so the change of
// residual at the second sample is that of a series that has not moved: 0, not minus the first
// value. Before, the change model started at -1000 here, and its spread took thousands of
// samples to forget that, so every jump of a series at a high level looked small for hours.
// The average surprise starts with the first sample judged, as an average of what it has seen:
// the warm-up's surprises (the spreads rest on a handful of samples, S up to 300) used to go into
// it, and at a 1 s step (an average over 1,800 samples) it still stood at 17 after 2,000 samples
// of plain noise, whose own surprises average about 0.5.
TEST(Auto, TheWarmUpsSurprisesDoNotLingerInTheAverages) {
  for (const int64_t step_s : {1, 300}) {
    auto d = make_spec("auto", {})->make();
    std::mt19937 rng(5);
    std::normal_distribution<double> noise(0, 1);
    for (int64_t i = 0; i < 2000; ++i) d->update(at_s(i * step_s), 100 + noise(rng));
    const double average = auto_test::state_at(d->snapshot(), auto_test::kAverageSurprise);
    EXPECT_GT(average, 0.2) << "step " << step_s;
    EXPECT_LT(average, 1.2) << "step " << step_s;
  }
}

TEST(Auto, TheChangeModelStartsFromAStandingSeries) {
  auto spec = make_spec("auto", {});
  auto d = spec->make();
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, 1);
  for (int64_t i = 0; i < 200; ++i) d->update(at_s(i * kStep), 1000 + noise(rng));
  // The change model (a RobustEw: centre, mean absolute deviation, count) is the last of the three
  // before the histograms.
  const std::string s = d->snapshot();
  const size_t after = auto_test::kHistogramsBytes + auto_test::kTrailerBytes;
  double change[3];
  std::memcpy(change, s.data() + s.size() - after - sizeof change, sizeof change);
  EXPECT_EQ(change[2], 199) << "the change model learned every change after the first sample";
  EXPECT_LT(std::fabs(change[0]), 0.5) << "centre";
  // The change of iid noise of σ 1 has σ √2: a mean absolute deviation of √2·√(2/π) ≈ 1.13.
  EXPECT_NEAR(change[1], 1.13, 0.3) << "spread";
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
