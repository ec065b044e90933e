#include "detect/seasonal/seasonal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "detect/basic_test_util.h"

namespace tocsin::detect {
namespace {

using testing::at_s;
using testing::config_error;
using testing::make_spec;

constexpr int64_t kStep = 300;             // 5-minute samples
constexpr int64_t kPerDay = 86400 / kStep;  // 288

// A daily sinusoid (amplitude 10 around 50) with N(0, 0.5) noise from a fixed seed.
double daily(int64_t i, std::mt19937& rng) {
  std::normal_distribution<double> noise(0, 0.5);
  return 50 + 10 * std::sin(2 * std::numbers::pi * static_cast<double>(i) / kPerDay) + noise(rng);
}

TEST(Seasonal, FiresAtASpikeAndNowhereElseAfterWarmup) {
  auto spec = make_spec("seasonal", {});
  auto d = spec->make();
  std::mt19937 rng(7);
  const int64_t spike = 8 * kPerDay + 100;
  for (int64_t i = 0; i < 10 * kPerDay; ++i) {
    // +8 is well inside the daily range (40..60) but far from the expected value at that time.
    const double v = daily(i, rng) + (i == spike ? 8 : 0);
    const Decision r = d->update(at_s(i * kStep), v);
    if (i == spike) {
      EXPECT_TRUE(r.firing) << "score " << r.score;
    } else if (i >= 2 * kPerDay) {
      EXPECT_FALSE(r.firing) << "sample " << i << " score " << r.score;
    }
  }
}

TEST(Seasonal, FlatLineNeverFires) {
  auto spec = make_spec("seasonal", {});
  auto d = spec->make();
  for (int64_t i = 0; i < 9 * kPerDay; ++i) {
    const Decision r = d->update(at_s(i * kStep), 42);
    EXPECT_FALSE(r.firing);
    EXPECT_EQ(r.score, 0);
  }
}

TEST(Seasonal, StepPatternIsLearnedExactly) {
  // A value that changes on the hour (like NAB's artificial series) must not fire at each step.
  auto spec = make_spec("seasonal", {{"threshold", "4"}});
  auto d = spec->make();
  for (int64_t i = 0; i < 9 * kPerDay; ++i) {
    const int64_t hour = (i % kPerDay) / 12;
    const double v = hour >= 8 && hour < 18 ? 80 : 20;
    const Decision r = d->update(at_s(i * kStep), v);
    if (i >= 3 * kPerDay) {
      EXPECT_FALSE(r.firing) << "sample " << i;
    }
  }
}

TEST(Seasonal, ScoreIsTheTwoSidedProbabilityOfTheDeviation) {
  SeasonalModel m(SeasonalOptions{});
  std::mt19937 rng(1);
  for (int64_t i = 0; i < 4 * kPerDay; ++i) {
    const auto ts = at_s(i * kStep);
    m.learn(ts, daily(i, rng), m.forecast(ts));
  }
  const auto f = m.forecast(at_s(4 * kPerDay * kStep + 3 * kStep));
  EXPECT_TRUE(f.ready);
  EXPECT_EQ(f.seasonal_weight, 1);
  // At 00:15 the sinusoid is 50 + 10·sin(2π·3/288) = 50.65.
  EXPECT_NEAR(f.expected, 50.65, 0.5);
  EXPECT_NEAR(f.sigma, 0.5, 0.25);
  EXPECT_LT(m.unexplained_ratio(), 0.1);
}

TEST(Seasonal, BucketsAreAllocatedAPeriodAtATimeAsSamplesFallInIt) {
  SeasonalModel m(SeasonalOptions{});  // 48 buckets a day, weekly: 384 in all
  EXPECT_EQ(m.allocated_buckets(), 0u);
  std::mt19937 rng(5);
  int64_t i = 0;
  auto learn_until = [&](int64_t end) {
    for (; i < end; ++i) {
      const auto ts = at_s(i * kStep);
      m.learn(ts, daily(i, rng), m.forecast(ts));
    }
  };
  learn_until(12);  // the first hour: the daily cycle and the first day of the week
  EXPECT_EQ(m.allocated_buckets(), 2 * 48u);
  learn_until(kPerDay + kPerDay / 2);  // into the second day
  EXPECT_EQ(m.allocated_buckets(), 3 * 48u);

  // A snapshot of the young model restores to the same state, without the untouched days.
  SeasonalModel copy(SeasonalOptions{});
  SnapshotWriter w("test", 1);
  m.write(w);
  const std::string bytes = std::move(w).finish();
  auto r = SnapshotReader::open(bytes, "test", 1);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(copy.read(*r));
  EXPECT_EQ(copy.allocated_buckets(), 3 * 48u);
  SnapshotWriter w2("test", 1);
  copy.write(w2);
  EXPECT_EQ(std::move(w2).finish(), bytes);
  for (int64_t k = 0; k < 3 * kPerDay; ++k, ++i) {
    const auto ts = at_s(i * kStep);
    const double v = daily(i, rng);
    const SeasonalForecast a = m.forecast(ts);
    const SeasonalForecast b = copy.forecast(ts);
    ASSERT_EQ(a.expected, b.expected) << k;
    ASSERT_EQ(a.sigma, b.sigma) << k;
    m.learn(ts, v, a);
    copy.learn(ts, v, b);
  }
  EXPECT_EQ(m.allocated_buckets(), 6 * 48u);
  learn_until(i + 7 * kPerDay);
  EXPECT_EQ(m.allocated_buckets(), 8 * 48u);  // the bound: every day of the week
}

// With `learn_every`, a series sampled every 15 s learns its buckets from the first sample of each
// 5 minutes: the samples a 5-minute series has, so it forecasts as that series does (here to the
// bit; in general the level model and the residual spreads, which see every sample, set the clip).
// Without it, each bucket of the fast series remembers only the last few samples of its hour, and
// its forecast strays from the pattern by five times as much.
TEST(Seasonal, WithLearnEveryAFastSeriesForecastsAsTheSameSeriesSampledThatOften) {
  // The same values at the same times in both: a daily swing plus noise drawn from the time.
  auto value = [](int64_t s) {
    std::mt19937 at(static_cast<uint32_t>(s));
    std::normal_distribution<double> noise(0, 0.5);
    return 50 + 10 * std::sin(2 * std::numbers::pi * static_cast<double>(s) / 86400) + noise(at);
  };
  // The largest gap between the fast and the slow series' forecasts over the next day, and the
  // largest error of the fast one's against the noiseless pattern.
  auto compare = [&](std::chrono::milliseconds every) {
    SeasonalOptions o;
    o.buckets = 24;
    o.learn_every = every;
    SeasonalModel fast(o);
    SeasonalModel slow(o);
    for (int64_t s = 0; s < 3 * 86400; s += 15) {
      const auto ts = at_s(s);
      fast.learn(ts, value(s), fast.forecast(ts));
      if (s % 300 == 0) slow.learn(ts, value(s), slow.forecast(ts));
    }
    double worst = 0;
    double err = 0;
    for (int64_t s = 3 * 86400; s < 4 * 86400; s += 300) {
      const double f = fast.forecast(at_s(s)).expected;
      worst = std::max(worst, std::fabs(f - slow.forecast(at_s(s)).expected));
      err = std::max(err, std::fabs(f - (50 + 10 * std::sin(2 * std::numbers::pi * static_cast<double>(s) / 86400))));
    }
    return std::pair{worst, err};
  };
  const auto [gap, error] = compare(std::chrono::minutes(5));
  EXPECT_EQ(gap, 0);
  EXPECT_LT(error, 0.6) << "about the noise (sd 0.5)";  // 0.49 measured
  const auto [gap_every_sample, error_every_sample] = compare(std::chrono::milliseconds(0));
  EXPECT_GT(gap_every_sample, 2);    // 2.32 measured
  EXPECT_GT(error_every_sample, 2);  // 2.54 measured
}

// With `learn_every`, a sample that will not be learned into the buckets gets its forecast from
// the one cycle and shape in use, not from all of them: the numbers must be the same. The same
// state restored into a model that learns every sample (so always looks at everything) is the
// reference, at several times within each 5-minute span of two days, for a smooth pattern (the
// interpolated shape) and one of hourly steps (the bucket means), with a weekend (the weekly
// cycle in use) and with the daily cycle alone.
TEST(Seasonal, AForecastBetweenLearnsIsTheOneOfAllViews) {
  auto smooth = [](int64_t s) { return 10 * std::sin(2 * std::numbers::pi * static_cast<double>(s) / 86400); };
  auto steps = [](int64_t s) { return static_cast<double>((s / 3600) % 24 % 5); };
  auto weekend = [](int64_t s) { return (s / 86400) % 7 >= 5 ? 15.0 : 0.0; };
  const std::vector<std::pair<std::function<double(int64_t)>, bool>> cases = {
      {smooth, false},
      {steps, false},
      {[&](int64_t s) { return smooth(s) + weekend(s); }, true},
      {[&](int64_t s) { return steps(s) + weekend(s); }, true}};
  for (const auto& [pattern, weekly] : cases) {
    std::mt19937 rng(11);
    std::normal_distribution<double> noise(0, 0.3);
    auto value = [&](int64_t s) { return 50 + pattern(s) + noise(rng); };
    SeasonalOptions o;
    o.buckets = 24;
    o.seasons = 1;
    o.weekly = weekly;
    o.learn_every = std::chrono::minutes(5);
    SeasonalModel model(o);
    SeasonalOptions every_sample = o;
    every_sample.learn_every = std::chrono::milliseconds(0);
    int compared = 0;
    // From the first sample on: through the first day (no prediction used yet), the first week
    // (the daily cycle's) and beyond (the weekly one's, when it is the better).
    for (int64_t s = 0; s < 11 * 86400; s += 300) {
      model.learn(at_s(s), value(s), model.forecast(at_s(s)));  // the first of its span: learned
      SnapshotWriter w("test", 1);
      model.write(w);
      const std::string bytes = std::move(w).finish();
      auto r = SnapshotReader::open(bytes, "test", 1);
      ASSERT_TRUE(r.has_value());
      SeasonalModel all(every_sample);
      ASSERT_TRUE(all.read(*r));
      for (const int64_t later : {1, 59, 150, 299}) {
        const SeasonalForecast a = model.forecast(at_s(s + later));
        const SeasonalForecast b = all.forecast(at_s(s + later));
        ASSERT_FALSE(a.learns) << "not learned, so not all views";
        ASSERT_TRUE(b.learns) << "all views";
        EXPECT_EQ(a.expected, b.expected) << "at " << s + later;
        EXPECT_EQ(a.sigma, b.sigma) << "at " << s + later;
        EXPECT_EQ(a.seasonal_weight, b.seasonal_weight);
        ++compared;
      }
    }
    EXPECT_EQ(compared, 4 * 11 * 288);
  }
}

TEST(Seasonal, SnapshotRestoreGivesTheSameNextDecisions) {
  auto spec = make_spec("seasonal", {});
  auto d = spec->make();
  std::mt19937 rng(3);
  int64_t i = 0;
  for (; i < 3 * kPerDay; ++i) d->update(at_s(i * kStep), daily(i, rng));
  auto copy = testing::clone(*spec, *d);
  for (int k = 0; k < 50; ++k, ++i) {
    const double v = daily(i, rng) + (k == 20 ? 9 : 0);
    const Decision a = d->update(at_s(i * kStep), v);
    const Decision b = copy->update(at_s(i * kStep), v);
    EXPECT_EQ(a.firing, b.firing);
    EXPECT_EQ(a.score, b.score);
  }
  testing::expect_rejects_garbage(*spec, *d, at_s(i * kStep), 50);
  // Another detector's (or another layout's) snapshot is not accepted.
  auto other = make_spec("seasonal", {{"buckets", "24"}})->make();
  other->update(at_s(0), 1);
  EXPECT_FALSE(d->restore(other->snapshot()).has_value());
  EXPECT_FALSE(d->restore(make_spec("changepoint", {})->make()->snapshot()).has_value());
}

// The bucket comes from the double-precision position, one 64-bit division cheaper than the
// integer quotient it must equal: at and next to every bucket boundary, for day and week cycles
// of the sizes the parameters allow.
TEST(Seasonal, LocatesTheBucketAsIntegerDivisionDoes) {
  constexpr int64_t kDay = 86'400'000;
  const std::vector<std::pair<int64_t, int64_t>> cycles = {
      {kDay, 24},      {kDay, 48},        {kDay, 1440},       {7 * kDay, 168},
      {7 * kDay, 336}, {7 * kDay, 10080}, {366 * kDay, 1440}, {7 * 366 * kDay, 10080},
      {60'000, 2},     {7 * 60'000, 14}};
  std::mt19937_64 rng(11);
  for (const auto& [length, n] : cycles) {
    std::vector<int64_t> at = {0, length - 1};
    for (int64_t k = 1; k < n; ++k) {
      const int64_t boundary = (k * length + n - 1) / n;  // the first ms of bucket k
      for (int64_t d = -2; d <= 2; ++d) at.push_back(boundary + d);
    }
    for (int i = 0; i < 20'000; ++i) at.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(length)));
    for (const int64_t in_cycle : at) {
      if (in_cycle < 0 || in_cycle >= length) continue;
      seasonal_detail::Slot slot;
      seasonal_detail::locate(in_cycle, n, length, slot);
      ASSERT_EQ(slot.bucket, static_cast<size_t>(in_cycle * n / length)) << in_cycle << " of " << length << " in " << n;
      ASSERT_LT(slot.lo, static_cast<size_t>(n));
      ASSERT_LT(slot.hi, static_cast<size_t>(n));
      ASSERT_GE(slot.frac, 0);
      ASSERT_LT(slot.frac, 1);
    }
  }
}

// A timestamp's place in the day and the week does not depend on the week it is in, before 1970
// too: the same samples whole weeks earlier score exactly alike.
TEST(Seasonal, TheSameSamplesWholeWeeksEarlierScoreAlike) {
  auto spec = make_spec("seasonal", {});
  auto now = spec->make();
  auto earlier = spec->make();
  constexpr int64_t kWeek = 7 * 86400;
  const int64_t shift = 3000 * kWeek;  // about 57 years: before 1970
  std::mt19937 rng(5);
  for (int64_t i = 0; i < 16 * kPerDay; ++i) {
    const double v = daily(i, rng) + (i % 1000 == 999 ? 6 : 0);
    const Decision a = now->update(at_s(i * kStep + 1000), v);
    const Decision b = earlier->update(at_s(i * kStep + 1000 - shift), v);
    ASSERT_EQ(a.score, b.score) << "sample " << i;
    ASSERT_EQ(a.firing, b.firing) << "sample " << i;
  }
}

TEST(Seasonal, BadParamsAreRejectedAtTheirLine) {
  EXPECT_EQ(config_error("seasonal", {{"buckets", "1"}}), "2: `buckets` must be a whole number within [2, 1440]");
  EXPECT_EQ(config_error("seasonal", {{"buckets", "2.5"}}), "2: `buckets` must be a whole number within [2, 1440]");
  EXPECT_EQ(config_error("seasonal", {{"period", "10"}}),
            "2: `period` is in seconds and must be within [60, 31622400]");
  EXPECT_EQ(config_error("seasonal", {{"period", "60"}, {"buckets", "120"}}), "3: a bucket must span at least one second");
  EXPECT_EQ(config_error("seasonal", {{"weekly", "2"}}), "2: `weekly` must be 0 or 1");
  EXPECT_EQ(config_error("seasonal", {{"alpha", "0"}}), "2: `alpha` must be in (0, 1]");
  EXPECT_EQ(config_error("seasonal", {{"threshold", "x"}}), "2: expected a number, got \"x\"");
  EXPECT_NE(config_error("seasonal", {{"window", "5"}}).find("unknown parameter"), std::string::npos);
  EXPECT_EQ(config_error("seasonal", {{"period", "3600"}, {"buckets", "12"}, {"weekly", "0"}}), "no error");
}

}  // namespace
}  // namespace tocsin::detect
