#include "tsdb/functions.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "tsdb/expr.h"

namespace tocsin::tsdb {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

core::Timestamp sec(double s) { return core::from_unix_ms(static_cast<int64_t>(s * 1000)); }

std::vector<Point> points(std::initializer_list<std::pair<double, double>> ts_values) {
  std::vector<Point> out;
  for (const auto& [t, v] : ts_values) out.push_back({sec(t), v});
  return out;
}

TEST(FunctionsTest, RateAndIncreaseCorrectCounterResets) {
  // 10 20 30 | reset | 5 15: the increase is 20 (10→30) + 5 (0→5) + 10 (5→15) = 35.
  // Samples sit on both range boundaries, so nothing is extrapolated.
  const auto w = points({{0, 10}, {15, 20}, {30, 30}, {45, 5}, {60, 15}});
  EXPECT_DOUBLE_EQ(*increase(w, sec(60), seconds(60)), 35);
  EXPECT_DOUBLE_EQ(*rate(w, sec(60), seconds(60)), 35.0 / 60);
}

TEST(FunctionsTest, ExtrapolatesToTheBoundariesWhenSamplesAreClose) {
  // +1/s sampled at 5..50 s in the window [0, 60]: 45 observed over 45 s; 5 s to the start and
  // 10 s to the end are both under 1.1 × 15 s, so it extrapolates over all 60 s: 60.
  const auto w = points({{5, 100}, {20, 115}, {35, 130}, {50, 145}});
  EXPECT_DOUBLE_EQ(*increase(w, sec(60), seconds(60)), 60);
  EXPECT_DOUBLE_EQ(*rate(w, sec(60), seconds(60)), 1);
}

TEST(FunctionsTest, ExtrapolatesHalfAnIntervalWhenTheSeriesStartsInsideTheRange) {
  // First sample 30 s after the range start (> 1.1 × 15 s): only 7.5 s are added at the start.
  // 30 over 30 s → 30 × 37.5 / 30 = 37.5.
  const auto w = points({{30, 100}, {45, 115}, {60, 130}});
  EXPECT_DOUBLE_EQ(*increase(w, sec(60), seconds(60)), 37.5);
}

TEST(FunctionsTest, DoesNotExtrapolateBelowZero) {
  // The counter was 1 at 30 s and grows 1/s: it was zero at 29 s. Extrapolating to 30 s before
  // would imply negative values, so the start is clamped to the zero point: 30 × 31 / 30 = 31.
  const auto w = points({{30, 1}, {45, 16}, {60, 31}});
  EXPECT_DOUBLE_EQ(*increase(w, sec(60), seconds(60)), 31);
  EXPECT_DOUBLE_EQ(*rate(w, sec(60), seconds(60)), 31.0 / 60);
}

TEST(FunctionsTest, RateNeedsTwoSamples) {
  EXPECT_FALSE(rate(points({{10, 1}}), sec(60), seconds(60)).has_value());
  EXPECT_FALSE(increase({}, sec(60), seconds(60)).has_value());
}

TEST(FunctionsTest, QuantileInterpolatesBetweenClosestRanks) {
  const auto w = points({{1, 10}, {2, 1}, {3, 4}, {4, 2}, {5, 3}});  // sorted: 1 2 3 4 10
  EXPECT_DOUBLE_EQ(*quantile_over_time(0.9, w), 7.6);                // rank 3.6: 4 × 0.4 + 10 × 0.6
  EXPECT_DOUBLE_EQ(*quantile_over_time(0.5, w), 3);
  EXPECT_DOUBLE_EQ(*quantile_over_time(0, w), 1);
  EXPECT_DOUBLE_EQ(*quantile_over_time(1, w), 10);
  EXPECT_DOUBLE_EQ(*quantile_over_time(0.25, points({{1, 1}, {2, 2}, {3, 3}, {4, 4}})), 1.75);
  EXPECT_EQ(*quantile_over_time(-0.1, w), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(*quantile_over_time(1.1, w), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(*quantile_over_time(std::nan(""), w)));
  EXPECT_FALSE(quantile_over_time(0.5, {}).has_value());
}

TEST(FunctionsTest, AggregatesOverTime) {
  const auto w = points({{1, 1}, {2, 4}, {3, 2}, {4, 3}});
  EXPECT_DOUBLE_EQ(*avg_over_time(w), 2.5);
  EXPECT_DOUBLE_EQ(*sum_over_time(w), 10);
  EXPECT_DOUBLE_EQ(*max_over_time(w), 4);
  EXPECT_DOUBLE_EQ(*min_over_time(w), 1);
  EXPECT_DOUBLE_EQ(*count_over_time(w), 4);
  EXPECT_DOUBLE_EQ(*last_over_time(w), 3);
  for (auto f : {avg_over_time, max_over_time, min_over_time, sum_over_time, count_over_time, last_over_time}) {
    EXPECT_FALSE(f({}).has_value());
  }
}

TEST(FunctionsTest, NaNInfinityAndPrecision) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double big = std::numeric_limits<double>::max();
  // max/min skip NaN unless every sample is NaN, as Prometheus.
  EXPECT_DOUBLE_EQ(*max_over_time(points({{1, nan}, {2, 1}, {3, 3}})), 3);
  EXPECT_DOUBLE_EQ(*min_over_time(points({{1, 1}, {2, nan}, {3, 0.5}})), 0.5);
  EXPECT_TRUE(std::isnan(*max_over_time(points({{1, nan}, {2, nan}}))));
  // Compensated summation: naive summation gives 0.
  EXPECT_DOUBLE_EQ(*sum_over_time(points({{1, 1e16}, {2, 1}, {3, -1e16}})), 1);
  // An overflowing sum still has a finite mean.
  EXPECT_DOUBLE_EQ(*avg_over_time(points({{1, big}, {2, big}})), big);
  EXPECT_EQ(*sum_over_time(points({{1, big}, {2, big}})), std::numeric_limits<double>::infinity());
  EXPECT_EQ(*avg_over_time(points({{1, 1}, {2, std::numeric_limits<double>::infinity()}})),
            std::numeric_limits<double>::infinity());
}

TEST(FunctionsTest, EvaluateReadsTheWindowFromTheStore) {
  core::MetricsRegistry registry;
  SeriesStore store({}, registry);
  const auto ref = *store.get_or_create({{"__name__", "requests_total"}});
  // A counter +2 per 15 s scrape for 10 minutes, with a reset at 5 minutes.
  double v = 0;
  for (int i = 0; i <= 40; ++i) {
    v = i == 20 ? 0 : v + 2;
    store.append(ref, sec(i * 15), v);
  }
  std::vector<Point> scratch;
  auto eval = [&](std::string_view text, double t) {
    auto expr = parse_select_expr(text);
    EXPECT_TRUE(expr.has_value()) << text;
    return evaluate(store, ref, *expr, sec(t), scratch);
  };
  // [540 s, 600 s] holds 5 samples on both boundaries, 2 per 15 s: 8 over 60 s.
  EXPECT_DOUBLE_EQ(*eval("increase(requests_total[1m])", 600), 8);
  EXPECT_DOUBLE_EQ(*eval("rate(requests_total[1m])", 600), 8.0 / 60);
  // Over the reset, samples at 240..360 s: 32 34 36 38 | 0 2 4 6 8. 32→38 is +6, the drop to 0
  // counts as a reset from 0 (+0), 0→8 is +8: 14, samples on both boundaries (Prometheus: last −
  // first + every value before a drop = 8 − 32 + 38).
  EXPECT_DOUBLE_EQ(*eval("increase(requests_total[2m])", 360), 14);
  EXPECT_DOUBLE_EQ(*eval("count_over_time(requests_total[1m])", 600), 5);
  EXPECT_DOUBLE_EQ(*eval("requests_total", 600), v);
  EXPECT_DOUBLE_EQ(*eval("requests_total", 700), v);            // within the 5 m lookback
  EXPECT_FALSE(eval("requests_total", 601 + 300).has_value());  // beyond it
  EXPECT_DOUBLE_EQ(*eval("requests_total", 7.5), 2);            // in the past: the sample at 0 s
  EXPECT_FALSE(eval("max_over_time(requests_total[10s])", 1000).has_value());
  // A staleness marker ends the series for instant selectors and is skipped in ranges.
  store.append(ref, sec(615), std::bit_cast<double>(kStaleNaNBits));
  EXPECT_FALSE(eval("requests_total", 620).has_value());
  EXPECT_DOUBLE_EQ(*eval("last_over_time(requests_total[1m])", 620), v);
  EXPECT_FALSE(evaluate(store, SeriesRef{999}, *parse_select_expr("x"), sec(0), scratch).has_value());
}

}  // namespace
}  // namespace tocsin::tsdb
