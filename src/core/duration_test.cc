#include <gtest/gtest.h>

#include "core/duration.h"

namespace tocsin::core {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(Duration, ParsesPrometheusSyntax) {
  EXPECT_EQ(parse_duration("30s").value(), seconds(30));
  EXPECT_EQ(parse_duration("5m").value(), minutes(5));
  EXPECT_EQ(parse_duration("72h").value(), hours(72));
  EXPECT_EQ(parse_duration("90d").value(), hours(90 * 24));
  EXPECT_EQ(parse_duration("1h30m").value(), minutes(90));
  EXPECT_EQ(parse_duration("1y2w3d4h5m6s7ms").value(),
            hours(365 * 24 + 14 * 24 + 3 * 24 + 4) + minutes(5) + seconds(6) + Duration(7));
  EXPECT_EQ(parse_duration("0").value(), Duration(0));
  EXPECT_EQ(parse_duration("0s").value(), Duration(0));
  EXPECT_EQ(parse_duration("250ms").value(), Duration(250));
}

TEST(Duration, RejectsBadInputWithAClearMessage) {
  for (const char* bad : {"", "5", "5x", "m", "1m1h", "1h1h", "-5m", "1.5h", "5 m", "99999999999999999999y"}) {
    auto r = parse_duration(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("expected Prometheus syntax"), std::string::npos) << r.error().message();
  }
  EXPECT_NE(parse_duration("1m1h").error().message().find("out of order"), std::string::npos);
  EXPECT_NE(parse_duration("5x").error().message().find("unknown unit \"x\""), std::string::npos);
}

TEST(Duration, FormatsCanonically) {
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(minutes(90)), "1h30m");
  EXPECT_EQ(format_duration(hours(72)), "3d");
  EXPECT_EQ(format_duration(hours(24 * 7)), "1w");
  EXPECT_EQ(format_duration(Duration(1500)), "1s500ms");
}

TEST(Duration, RoundTrips) {
  for (int64_t ms : {0LL, 1LL, 999LL, 1000LL, 61'000LL, 3'600'000LL, 86'400'000LL, 90'061'001LL,
                     31'536'000'000LL + 7LL, 123'456'789'012LL}) {
    const Duration d(ms);
    auto parsed = parse_duration(format_duration(d));
    ASSERT_TRUE(parsed.has_value()) << format_duration(d);
    EXPECT_EQ(*parsed, d) << format_duration(d);
  }
  for (const char* text : {"1h30m", "5m", "1w2d", "1y", "3s250ms"}) {
    EXPECT_EQ(format_duration(parse_duration(text).value()), text);
  }
}

TEST(Duration, TimeOrAgo) {
  const Timestamp now = parse_rfc3339("2026-12-04T10:00:00Z").value();
  EXPECT_EQ(parse_time_or_ago("2026-12-01T00:00:00+01:00", now), parse_rfc3339("2026-11-30T23:00:00Z").value());
  EXPECT_EQ(parse_time_or_ago("24h", now), parse_rfc3339("2026-12-03T10:00:00Z").value());
  EXPECT_EQ(parse_time_or_ago("0s", now), now);
  EXPECT_FALSE(parse_time_or_ago("yesterday", now));
  EXPECT_FALSE(parse_time_or_ago("", now));
}

}  // namespace
}  // namespace tocsin::core
