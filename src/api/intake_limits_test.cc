#include "api/intake_limits.h"

#include <gtest/gtest.h>

namespace tocsin::api {
namespace {

config::LimitsConfig small() {
  config::LimitsConfig l;
  l.max_labels_per_series = 3;
  l.max_label_name_bytes = 8;
  l.max_label_value_bytes = 10;
  l.max_series_per_request = 2;
  l.max_alerts_per_request = 4;
  l.max_events_per_request = 5;
  l.max_silence_matchers = 1;
  return l;
}

core::Labels with_n_labels(size_t n) {
  core::Labels labels;
  for (size_t i = 0; i < n; ++i) labels.set("l" + std::to_string(i), "v");
  return labels;
}

TEST(IntakeLimits, LabelsPerSeriesAtTheLimitPassOneOverFails) {
  core::MetricsRegistry metrics;
  IntakeLimits limits(small(), metrics);
  EXPECT_FALSE(limits.labels(with_n_labels(3), {"series", ""}, 0));
  auto v = limits.labels(with_n_labels(4), {"series", "timeseries"}, 7);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->limit, "max_labels_per_series");
  EXPECT_EQ(v->message, "series 7 has 4 labels: limits.max_labels_per_series is 3");
  EXPECT_EQ(v->field, "timeseries[7].labels");
  // Labels the server adds count too (an event series' kind and __name__).
  EXPECT_FALSE(limits.labels(with_n_labels(1), {"event", ""}, 0, 2));
  ASSERT_TRUE(limits.labels(with_n_labels(2), {"event", ""}, 0, 2));
}

TEST(IntakeLimits, LabelNameAndValueLength) {
  core::MetricsRegistry metrics;
  IntakeLimits limits(small(), metrics);
  EXPECT_FALSE(limits.labels(core::Labels{{"abcdefgh", "0123456789"}}, {"series", ""}, 0));
  auto name = limits.labels(core::Labels{{"abcdefghi", "v"}}, {"series", ""}, 1);
  ASSERT_TRUE(name);
  EXPECT_EQ(name->limit, "max_label_name_bytes");
  EXPECT_EQ(name->message, "series 1: label name \"abcdefghi\" is 9 bytes long: limits.max_label_name_bytes is 8");
  EXPECT_EQ(name->field, "[1].labels");
  auto value = limits.labels(core::Labels{{"job", "01234567890"}}, {"alert", "alerts"}, 2);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->limit, "max_label_value_bytes");
  EXPECT_EQ(value->message, "alert 2: the value of label \"job\" is 11 bytes long: limits.max_label_value_bytes is 10");
  EXPECT_EQ(value->field, "alerts[2].labels.job");
  EXPECT_FALSE(limits.label_value("kind", "0123456789", {"event", ""}, 0));
  auto kind = limits.label_value("kind", "01234567890", {"event", ""}, 3);
  ASSERT_TRUE(kind);
  EXPECT_EQ(kind->field, "[3].kind");
}

TEST(IntakeLimits, AHugeNameIsCutInTheMessage) {
  core::MetricsRegistry metrics;
  IntakeLimits limits(small(), metrics);
  auto v = limits.labels(core::Labels{{std::string(100'000, 'a'), "v"}}, {"series", ""}, 0);
  ASSERT_TRUE(v);
  EXPECT_LT(v->message.size(), 200u);
  EXPECT_NE(v->message.find("100000 bytes"), std::string::npos);
}

TEST(IntakeLimits, CountsPerRequest) {
  core::MetricsRegistry metrics;
  IntakeLimits limits(small(), metrics);
  EXPECT_FALSE(limits.count("max_series_per_request", 2, "series in one request", ""));
  auto v = limits.count("max_series_per_request", 3, "series in one request", "timeseries");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->message, "3 series in one request: limits.max_series_per_request is 2; the request was refused whole");
  EXPECT_EQ(v->field, "timeseries");
  EXPECT_FALSE(limits.count("max_alerts_per_request", 4, "alerts", ""));
  EXPECT_TRUE(limits.count("max_alerts_per_request", 5, "alerts", ""));
  EXPECT_FALSE(limits.count("max_events_per_request", 5, "events", ""));
  EXPECT_TRUE(limits.count("max_events_per_request", 6, "events", ""));
  EXPECT_FALSE(limits.count("max_silence_matchers", 1, "matchers", ""));
  EXPECT_TRUE(limits.count("max_silence_matchers", 2, "matchers", ""));
}

TEST(IntakeLimits, RejectionsAreCountedByLimit) {
  core::MetricsRegistry metrics;
  IntakeLimits limits(small(), metrics);
  limits.reject(*limits.labels(with_n_labels(4), {"series", ""}, 0));
  limits.reject(*limits.labels(with_n_labels(4), {"series", ""}, 0));
  const std::string text = metrics.render();
  EXPECT_NE(text.find("tocsin_limits_rejected_total{limit=\"max_labels_per_series\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("tocsin_limits_rejected_total{limit=\"max_alerts_per_request\"} 0"), std::string::npos) << text;
}

}  // namespace
}  // namespace tocsin::api
