#include "ingest/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace tocsin::ingest {
namespace {

const core::Timestamp kNow = core::from_unix_ms(1'000'000);

TEST(Exposition, ParsesTheFormat) {
  const char* text = R"(# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# A free comment with { and } and "quotes"
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="+Inf"} 144320
)";
  auto r = parse_exposition(text, kNow);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 8u);
  EXPECT_EQ((*r)[0].labels,
            (core::Labels{{"__name__", "http_requests_total"}, {"method", "post"}, {"code", "200"}}));
  EXPECT_DOUBLE_EQ((*r)[0].value, 1027);
  EXPECT_EQ((*r)[0].ts, core::from_unix_ms(1395066363000));
  EXPECT_DOUBLE_EQ((*r)[1].value, 3);
  EXPECT_EQ((*r)[2].labels.get_or("path", ""), "C:\\DIR\\FILE.TXT");
  EXPECT_EQ((*r)[2].labels.get_or("error", ""), "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_DOUBLE_EQ((*r)[2].value, 1.458255915e9);
  EXPECT_EQ((*r)[2].ts, kNow);
  EXPECT_EQ((*r)[3].labels, (core::Labels{{"__name__", "metric_without_timestamp_and_labels"}}));
  EXPECT_TRUE(std::isinf((*r)[4].value) && (*r)[4].value > 0);
  EXPECT_EQ((*r)[4].ts, core::from_unix_ms(-3982045));
  EXPECT_EQ((*r)[5].labels.get_or("quantile", ""), "0.5");
  EXPECT_EQ((*r)[6].labels.get_or("__name__", ""), "rpc_duration_seconds_sum");
  EXPECT_EQ((*r)[7].labels.get_or("le", ""), "+Inf");
}

TEST(Exposition, EdgeCases) {
  struct Case {
    const char* text;
    double value;
    core::Labels labels;
  };
  const Case cases[] = {
      {"a NaN", NAN, {{"__name__", "a"}}},
      {"a -Inf", -INFINITY, {{"__name__", "a"}}},
      {"a +inf", INFINITY, {{"__name__", "a"}}},
      {"a +1.5", 1.5, {{"__name__", "a"}}},
      {"a -0", 0, {{"__name__", "a"}}},
      {"a 1e-3", 0.001, {{"__name__", "a"}}},
      {"ns:sub:rate5m 2", 2, {{"__name__", "ns:sub:rate5m"}}},
      {"a{} 1", 1, {{"__name__", "a"}}},
      {"a {b=\"c\"} 1", 1, {{"__name__", "a"}, {"b", "c"}}},
      {"a{ b = \"c\" , d=\"e\", } 1", 1, {{"__name__", "a"}, {"b", "c"}, {"d", "e"}}},
      {"a{b=\"\"} 1", 1, {{"__name__", "a"}}},  // an empty value is an absent label
      {"a{b=\"}{,=\"}1", 1, {{"__name__", "a"}, {"b", "}{,="}}},
      {"a{b=\"ünïcødé ✓\"} 1", 1, {{"__name__", "a"}, {"b", "ünïcødé ✓"}}},
      {"\t  a\t1\t", 1, {{"__name__", "a"}}},
      {"a 1\r", 1, {{"__name__", "a"}}},
  };
  for (const auto& c : cases) {
    auto r = parse_exposition(c.text, kNow);
    ASSERT_TRUE(r.has_value()) << c.text << " -> " << r.error().to_string();
    ASSERT_EQ(r->size(), 1u) << c.text;
    if (std::isnan(c.value)) {
      EXPECT_TRUE(std::isnan((*r)[0].value)) << c.text;
    } else {
      EXPECT_EQ((*r)[0].value, c.value) << c.text;
    }
    EXPECT_EQ((*r)[0].labels, c.labels) << c.text;
  }
  auto empty = parse_exposition("", kNow);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  auto comments = parse_exposition("# just a comment\n\n#\n   \n# HELP x\n# HELP x help with \\n escapes\n", kNow);
  ASSERT_TRUE(comments.has_value()) << comments.error().to_string();
  EXPECT_TRUE(comments->empty());
  auto no_newline = parse_exposition("a 1\nb 2", kNow);
  ASSERT_TRUE(no_newline.has_value());
  EXPECT_EQ(no_newline->size(), 2u);
}

TEST(Exposition, RejectsBadInputNamingTheLine) {
  struct Case {
    std::string text;
    const char* message;
  };
  const Case cases[] = {
      {"a 1\nb", "line 2: expected a value after the metric name"},
      {"ok 1\n\n# c\nx{a=\"b\"}", "line 4: expected a value after the labels"},
      {"x{a=\"b\"}   \n", "line 1: expected a value after the labels"},
      {"1abc 1", "line 1: expected a metric name, got \"1abc\""},
      {"{a=\"b\"} 1", "line 1: expected a metric name"},
      {"a-b 1", "line 1: bad value \"-b\""},
      {"a 1 2 3", "line 1: unexpected text \"3\" after the timestamp"},
      {"a one", "line 1: bad value \"one\": expected a number, NaN, +Inf or -Inf"},
      {"a 1,5", "line 1: bad value \"1,5\""},
      {"a +-1", "line 1: bad value \"+-1\""},
      {"a 0x10", "line 1: bad value \"0x10\""},
      {"a 1e999", "line 1: value \"1e999\" is out of range"},
      {"a 1 1.5", "line 1: bad timestamp \"1.5\": expected an integer"},
      {"a 1 99999999999999999999", "line 1: bad timestamp"},
      {"a{b} 1", "line 1: expected '=' after label name \"b\""},
      {"a{b=c} 1", "line 1: expected '\"' to start the value of label \"b\""},
      {"a{b=\"c} 1", "line 1: unterminated value of label \"b\""},
      {"a{b=\"c\\", "line 1: unterminated value of label \"b\""},
      {"a{b=\"c\\t\"} 1", "line 1: invalid escape \"\\t\" in the value of label \"b\""},
      {"a{b=\"c\" d=\"e\"} 1", "line 1: expected ',' or '}' after the value of label \"b\""},
      {"a{b=\"c\"", "line 1: expected ',' or '}' after the value of label \"b\""},
      {"a{b=\"c\",", "line 1: expected a label name or '}', got the end of the line"},
      {"a{1b=\"c\"} 1", "line 1: expected a label name or '}', got \"1b=\"c\"}\""},
      {"a{b-c=\"d\"} 1", "line 1: expected '=' after label name \"b\""},
      {"a{b=\"1\",b=\"2\"} 1", "line 1: duplicate label \"b\""},
      {"a{__name__=\"b\"} 1", "line 1: label name \"__name__\" is reserved"},
      {"a{b=\"\xff\"} 1", "line 1: value of label \"b\" is not valid UTF-8"},
      {"# TYPE a gauge\n# TYPE b countr\n", "line 2: unknown metric type \"countr\""},
      {"# TYPE a\n", "line 1: unknown metric type \"\""},
      {"# TYPE a gauge extra\n", "line 1: unexpected text \"extra\" after the metric type"},
      {"# TYPE\n", "line 1: expected a metric name after TYPE"},
      {"# HELP 1a text\n", "line 1: bad metric name \"1a\" after HELP"},
      {"\xff\xfe 1", "line 1: expected a metric name, got <not UTF-8>"},
  };
  for (const auto& c : cases) {
    auto r = parse_exposition(c.text, kNow);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_NE(r.error().message().find(c.message), std::string::npos) << c.text << " -> " << r.error().message();
    EXPECT_EQ(r.error().code(), core::ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace tocsin::ingest
