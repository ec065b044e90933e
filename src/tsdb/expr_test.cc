#include "tsdb/expr.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace tocsin::tsdb {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(ExprTest, ParsesTheSupportedForms) {
  struct Case {
    std::string_view text;
    Function function;
    core::Duration range;
    double phi;
    size_t matchers;
    std::string_view canonical;
  };
  const Case cases[] = {
      {"up", Function::kNone, {}, 0, 1, "up"},
      {R"(  node_load1{instance="a:9100", job=~"node.*"} )",
       Function::kNone,
       {},
       0,
       3,
       R"(node_load1{instance="a:9100", job=~"node.*"})"},
      {R"({__name__=~"http_.+", code!="200",})", Function::kNone, {}, 0, 2, R"({__name__=~"http_.+", code!="200"})"},
      {R"(rate(http_requests_total{job="api"}[5m]))", Function::kRate, minutes(5), 0, 2,
       R"(rate(http_requests_total{job="api"}[5m]))"},
      {"increase( errors_total [1h30m] )", Function::kIncrease, minutes(90), 0, 1, "increase(errors_total[1h30m])"},
      {"avg_over_time(x[30s])", Function::kAvgOverTime, seconds(30), 0, 1, "avg_over_time(x[30s])"},
      {"max_over_time(x[1m])", Function::kMaxOverTime, minutes(1), 0, 1, "max_over_time(x[1m])"},
      {"min_over_time(x[1m])", Function::kMinOverTime, minutes(1), 0, 1, "min_over_time(x[1m])"},
      {"sum_over_time(x[1m])", Function::kSumOverTime, minutes(1), 0, 1, "sum_over_time(x[1m])"},
      {"count_over_time(x[1m])", Function::kCountOverTime, minutes(1), 0, 1, "count_over_time(x[1m])"},
      {"last_over_time(x[1m])", Function::kLastOverTime, minutes(1), 0, 1, "last_over_time(x[1m])"},
      {R"(quantile_over_time(0.9, latency_seconds{route!~'/health.*'}[5m]))", Function::kQuantileOverTime, minutes(5),
       0.9, 2, R"(quantile_over_time(0.9, latency_seconds{route!~"/health.*"}[5m]))"},
      {"quantile_over_time(1,x[1m])", Function::kQuantileOverTime, minutes(1), 1, 1, "quantile_over_time(1, x[1m])"},
      {"x{a=`raw\\d`}", Function::kNone, {}, 0, 2, R"(x{a="raw\\d"})"},
      {"job:errors:rate5m", Function::kNone, {}, 0, 1, "job:errors:rate5m"},
      // A __name__ that is no metric name stays a matcher (fuzz/selector_fuzz.cc found x.*{…}).
      {R"({__name__="x.*",a!="b"})", Function::kNone, {}, 0, 2, R"({__name__="x.*", a!="b"})"},
      {R"(rate({__name__="1x"}[5m]))", Function::kRate, minutes(5), 0, 1, R"(rate({__name__="1x"}[5m]))"},
  };
  for (const auto& c : cases) {
    auto e = parse_select_expr(c.text);
    ASSERT_TRUE(e.has_value()) << c.text << ": " << e.error().message();
    EXPECT_EQ(e->function, c.function) << c.text;
    EXPECT_EQ(e->range, c.range) << c.text;
    EXPECT_DOUBLE_EQ(e->phi, c.phi) << c.text;
    EXPECT_EQ(e->matchers.size(), c.matchers) << c.text;
    EXPECT_EQ(e->to_string(), c.canonical) << c.text;
    // The canonical form parses back to itself.
    auto again = parse_select_expr(e->to_string());
    ASSERT_TRUE(again.has_value()) << e->to_string();
    EXPECT_EQ(again->to_string(), c.canonical);
  }
}

TEST(ExprTest, MatchersBehaveAsPromQL) {
  auto e = parse_select_expr(R"(rate(http_requests_total{code=~"5..", job!="batch"}[5m]))");
  ASSERT_TRUE(e.has_value());
  const core::Labels hit{{"__name__", "http_requests_total"}, {"code", "503"}, {"job", "api"}};
  const core::Labels miss{{"__name__", "http_requests_total"}, {"code", "5030"}, {"job", "api"}};
  EXPECT_TRUE(core::matches_all(e->matchers, hit));
  EXPECT_FALSE(core::matches_all(e->matchers, miss));  // regexes are anchored
}

TEST(ExprTest, ErrorsNameTheOffset) {
  struct Case {
    std::string_view text;
    size_t offset;
    std::string_view why;
  };
  const Case cases[] = {
      {"", 0, "expected a metric name or {"},
      {"rate(x)", 6, "expected a range"},
      {"x[5m]", 1, "needs a function"},
      {"irate(x[5m])", 0, "unknown function \"irate\""},
      {"rate(x[5m]", 10, "expected \")\""},
      {"rate(x[0s])", 7, "must be positive"},
      {"rate(x[5 minutes])", 9, "expected \"]\""},
      {"rate(x[5q])", 7, "bad range"},
      {"x{a=\"b\"", 7, "expected \",\" or \"}\""},
      {"x{a=b}", 4, "expected a quoted label value"},
      {"x{a~\"b\"}", 3, "expected one of"},
      {"x{1a=\"b\"}", 2, "expected a label name"},
      {"x{a=\"b\" c=\"d\"}", 8, "expected \",\" or \"}\""},
      {"x{a=\"unterminated}", 4, "unterminated string"},
      {"x{a=~\"(\"}", 2, "bad regex"},
      {"{a=\"\"}", 0, "must not match the empty string"},
      {"{}", 0, "matches every series"},
      {"x{__name__=\"y\"}", 2, "set twice"},
      {"quantile_over_time(x[5m])", 19, "expected a number"},
      {"quantile_over_time(1.5, x[5m])", 19, "outside [0, 1]"},
      {"quantile_over_time(0.5 x[5m])", 23, "expected \",\""},
      {"rate(x[5m]) > 1", 12, "unexpected text"},
      {"x offset 5m", 2, "unexpected text"},
  };
  for (const auto& c : cases) {
    auto e = parse_select_expr(c.text);
    ASSERT_FALSE(e.has_value()) << c.text;
    EXPECT_EQ(e.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_NE(e.error().message().find(fmt::format("at offset {}:", c.offset)), std::string::npos)
        << c.text << " → " << e.error().message();
    EXPECT_NE(e.error().message().find(c.why), std::string::npos) << c.text << " → " << e.error().message();
    EXPECT_EQ(e.error().position().column, static_cast<int>(c.offset) + 1);
  }
}

}  // namespace
}  // namespace tocsin::tsdb
