#include <gtest/gtest.h>

#include "core/result.h"
#include "core/time.h"

namespace tocsin::core {
namespace {

TEST(Time, FormatsRfc3339) {
  EXPECT_EQ(format_rfc3339(from_unix_ms(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(from_unix_ms(1'796'402'400'250)), "2026-12-04T16:40:00.250Z");
}

TEST(Time, FormatsRfc3339LikeGo) {
  EXPECT_EQ(format_rfc3339_nano(from_unix_ms(1'796'402'400'000)), "2026-12-04T16:40:00Z");
  EXPECT_EQ(format_rfc3339_nano(from_unix_ms(1'796'402'400'250)), "2026-12-04T16:40:00.25Z");
  EXPECT_EQ(format_rfc3339_nano(from_unix_ms(1'796'402'400'007)), "2026-12-04T16:40:00.007Z");
  EXPECT_EQ(format_rfc3339_nano(from_unix_ms(-62'135'596'800'000)), "0001-01-01T00:00:00Z");  // Go's zero time
}

TEST(Time, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339("2026-12-04T16:40:00.250Z").value(), from_unix_ms(1'796'402'400'250));
  EXPECT_EQ(parse_rfc3339("2026-12-05T00:40:00+08:00").value(), from_unix_ms(1'796'402'400'000));
  EXPECT_EQ(parse_rfc3339("2026-12-04T16:40:00.123456789Z").value(), from_unix_ms(1'796'402'400'123));
  for (const char* bad : {"", "2026-12-04", "2026-13-04T00:00:00Z", "2026-02-30T00:00:00Z", "2026-12-04T16:40:00",
                          "2026-12-04T16:40:00Zjunk", "2026-12-04T25:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

// A leap second or an offset could carry a time past 9999 or before 0000, which format_rfc3339
// cannot write back (found by fuzz/duration_fuzz.cc).
TEST(Time, Rfc3339TimesStayInFourDigitYears) {
  for (const char* bad : {"9999-12-31T23:59:60.999999999Z", "9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+00:01"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
  for (const char* good : {"9999-12-31T23:59:59.999Z", "0000-01-01T00:00:00Z", "2016-12-31T23:59:60Z"}) {
    auto t = parse_rfc3339(good);
    ASSERT_TRUE(t.has_value()) << good;
    EXPECT_EQ(parse_rfc3339(format_rfc3339(*t)).value(), *t) << good;
  }
}

TEST(Error, FormatsPositionFieldAndMessage) {
  auto e = Error::invalid_argument("bad duration").at({"tocsin.yaml", 12, 3}).field("rules[0].for");
  EXPECT_EQ(e.to_string(), "tocsin.yaml:12: rules[0].for: bad duration");
  EXPECT_FALSE(e.retryable());
  EXPECT_TRUE(Error::unavailable("db down").retryable());
  EXPECT_EQ(Error::not_found("x").to_string(), "x");
}

Result<int> half(int x) {
  if (x % 2) return std::unexpected(Error::invalid_argument("odd"));
  return x / 2;
}
Result<int> quarter(int x) {
  const int h = TOCSIN_TRY(half(x));
  return TOCSIN_TRY(half(h));
}

TEST(Error, TryPropagates) {
  EXPECT_EQ(quarter(8).value(), 2);
  EXPECT_EQ(quarter(6).error().message(), "odd");
}

}  // namespace
}  // namespace tocsin::core
