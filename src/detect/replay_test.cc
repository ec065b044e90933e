#include "detect/replay.h"

#include <gtest/gtest.h>

#include <cmath>

#include "config/config.h"
#include "tsdb/expr.h"

namespace tocsin::detect {
namespace {

std::unique_ptr<DetectorSpec> spec(std::string kind, std::map<std::string, double> params) {
  config::DetectorConfig c;
  c.kind = std::move(kind);
  for (const auto& [k, v] : params) c.params[k] = config::DetectorParam{std::to_string(v), v, {}};
  return DetectorRegistry::builtin().create(c).value();
}

std::vector<tsdb::Point> points(std::vector<double> values, int64_t step_ms = 10'000) {
  std::vector<tsdb::Point> out;
  for (size_t i = 0; i < values.size(); ++i) {
    out.push_back({core::from_unix_ms(1'000'000 + static_cast<int64_t>(i) * step_ms), values[i]});
  }
  return out;
}

TEST(Replay, ThresholdBoundsScoresAndDecisions) {
  const auto threshold = spec("threshold", {{"above", 0.9}});
  const auto expr = tsdb::parse_select_expr("load").value();
  const auto window = points({0.5, 0.95, NAN, 0.2});
  const auto out = replay(*threshold, expr, window);
  ASSERT_EQ(out.size(), 3u);  // the NaN gives no point
  EXPECT_FALSE(out[0].crossing);
  EXPECT_TRUE(out[1].crossing);
  EXPECT_FALSE(out[2].crossing);
  EXPECT_EQ(out[1].ts, window[1].ts);
  ASSERT_TRUE(out[0].bounds);
  EXPECT_TRUE(std::isinf(out[0].bounds->first) && out[0].bounds->first < 0);
  EXPECT_DOUBLE_EQ(out[0].bounds->second, 0.9);
  EXPECT_GT(out[1].score, out[0].score);
}

TEST(Replay, SigmaWarmsUpWithoutBounds) {
  const auto sigma = spec("sigma", {{"n", 3}});
  std::vector<double> values(200, 10.0);
  for (size_t i = 0; i < values.size(); ++i) values[i] += (i % 2 ? 1 : -1);
  values.push_back(40);
  const auto out = replay(*sigma, tsdb::parse_select_expr("x").value(), points(values));
  ASSERT_EQ(out.size(), values.size());
  EXPECT_FALSE(out.front().bounds);  // nothing learned yet
  ASSERT_TRUE(out.back().bounds);
  EXPECT_NEAR(out.back().bounds->second, 13, 0.1);  // μ + 3σ with μ = 10, σ = 1
  EXPECT_TRUE(out.back().crossing);
}

TEST(Replay, OverTimeRuleJudgesTheFunction) {
  const auto threshold = spec("threshold", {{"above", 0.5}});
  const auto expr = tsdb::parse_select_expr("rate(requests_total[1m])").value();
  // A counter growing 1 per 10 s (rate 0.1/s), then 10 per 10 s (rate 1/s).
  std::vector<double> values;
  double c = 0;
  for (int i = 0; i < 30; ++i) values.push_back(c += i < 20 ? 1 : 10);
  const auto out = replay(*threshold, expr, points(values));
  ASSERT_EQ(out.size(), 29u);  // rate needs two samples: the first gives none
  EXPECT_NEAR(out[10].value, 0.1, 1e-9);
  EXPECT_FALSE(out[10].crossing);
  EXPECT_NEAR(out.back().value, 1.0, 1e-9);
  EXPECT_TRUE(out.back().crossing);
}

TEST(AlertLabels, AsTheRuleEngineMakesThem) {
  config::Rule rule;
  rule.name = "HighLoad";
  rule.severity = "major";
  rule.labels = {{"team", "ops"}};
  const core::Labels series{{"__name__", "load"}, {"instance", "a"}};
  EXPECT_EQ(alert_labels(rule, series),
            (core::Labels{{"alertname", "HighLoad"}, {"instance", "a"}, {"severity", "major"}, {"team", "ops"}}));
}

}  // namespace
}  // namespace tocsin::detect
