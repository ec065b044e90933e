#include "oncall/timezone.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/time.h"

namespace tocsin::oncall {
namespace {

using namespace std::chrono_literals;
using std::chrono::hours;
using std::chrono::minutes;

core::Timestamp at(std::string_view rfc3339) { return core::parse_rfc3339(rfc3339).value(); }

config::LocalTime local(int y, unsigned m, unsigned d, int hh, int mm) {
  return std::chrono::local_days(std::chrono::year(y) / static_cast<int>(m) / static_cast<int>(d)) + hours(hh) +
         minutes(mm);
}

TimeZone load_ok(std::string_view name) {
  auto tz = TimeZone::load(name);
  EXPECT_TRUE(tz.has_value()) << name << ": " << (tz ? "" : tz.error().to_string());
  return tz ? *tz : TimeZone::utc();
}

TEST(TimeZone, UtcNeedsNoFiles) {
  const TimeZone tz = TimeZone::load("UTC").value();
  EXPECT_EQ(tz.name(), "UTC");
  EXPECT_EQ(tz.offset_at(at("2026-06-01T12:00:00Z")), 0s);
  EXPECT_EQ(tz.to_local(at("2026-06-01T12:34:56Z")), local(2026, 6, 1, 12, 34));
  EXPECT_EQ(tz.to_utc(local(2026, 6, 1, 12, 34)), at("2026-06-01T12:34:00Z"));
  EXPECT_EQ(TimeZone::load("UTC", "/nonexistent").value().offset_at(at("2040-01-01T00:00:00Z")), 0s);
}

TEST(TimeZone, ShanghaiIsPlusEightAllYear) {
  const TimeZone tz = load_ok("Asia/Shanghai");
  for (auto t : {at("2026-01-05T01:00:00Z"), at("2026-07-01T00:00:00Z"), at("2040-12-31T23:59:59Z")}) {
    EXPECT_EQ(tz.offset_at(t), 8h) << core::format_rfc3339(t);
  }
  EXPECT_EQ(tz.to_local(at("2026-01-05T01:00:00Z")), local(2026, 1, 5, 9, 0));
  EXPECT_EQ(tz.to_utc(local(2026, 1, 5, 9, 0)), at("2026-01-05T01:00:00Z"));
  EXPECT_EQ(tz.to_local_seconds(at("2026-01-05T01:00:07.900Z")),
            std::chrono::local_seconds(local(2026, 1, 5, 9, 0)) + 7s);
}

TEST(TimeZone, BerlinSpringForward2026) {
  const TimeZone tz = load_ok("Europe/Berlin");
  EXPECT_EQ(tz.offset_at(at("2026-03-29T00:59:59.999Z")), 1h);
  EXPECT_EQ(tz.offset_at(at("2026-03-29T01:00:00Z")), 2h);
  EXPECT_EQ(tz.to_local(at("2026-03-29T00:59:00Z")), local(2026, 3, 29, 1, 59));
  EXPECT_EQ(tz.to_local(at("2026-03-29T01:00:00Z")), local(2026, 3, 29, 3, 0));
  EXPECT_EQ(tz.to_utc(local(2026, 3, 29, 1, 59)), at("2026-03-29T00:59:00Z"));
  EXPECT_EQ(tz.to_utc(local(2026, 3, 29, 3, 0)), at("2026-03-29T01:00:00Z"));
  // 02:00-02:59 does not exist: shifted forward by the one-hour gap.
  EXPECT_EQ(tz.to_utc(local(2026, 3, 29, 2, 0)), at("2026-03-29T01:00:00Z"));
  EXPECT_EQ(tz.to_utc(local(2026, 3, 29, 2, 30)), at("2026-03-29T01:30:00Z"));
  EXPECT_EQ(tz.to_local(tz.to_utc(local(2026, 3, 29, 2, 30))), local(2026, 3, 29, 3, 30));
}

TEST(TimeZone, BerlinFallBack2026) {
  const TimeZone tz = load_ok("Europe/Berlin");
  EXPECT_EQ(tz.offset_at(at("2026-10-25T00:59:59Z")), 2h);
  EXPECT_EQ(tz.offset_at(at("2026-10-25T01:00:00Z")), 1h);
  // 02:30 happens twice (CEST, then CET): the earlier instant wins.
  EXPECT_EQ(tz.to_utc(local(2026, 10, 25, 2, 30)), at("2026-10-25T00:30:00Z"));
  EXPECT_EQ(tz.to_local(at("2026-10-25T00:30:00Z")), local(2026, 10, 25, 2, 30));
  EXPECT_EQ(tz.to_local(at("2026-10-25T01:30:00Z")), local(2026, 10, 25, 2, 30));
  EXPECT_EQ(tz.to_utc(local(2026, 10, 25, 1, 59)), at("2026-10-24T23:59:00Z"));
  EXPECT_EQ(tz.to_utc(local(2026, 10, 25, 3, 0)), at("2026-10-25T02:00:00Z"));
}

TEST(TimeZone, NewYork2026) {
  const TimeZone tz = load_ok("America/New_York");
  EXPECT_EQ(tz.offset_at(at("2026-01-15T12:00:00Z")), -5h);
  EXPECT_EQ(tz.offset_at(at("2026-03-08T06:59:59Z")), -5h);
  EXPECT_EQ(tz.offset_at(at("2026-03-08T07:00:00Z")), -4h);
  EXPECT_EQ(tz.offset_at(at("2026-11-01T05:59:59Z")), -4h);
  EXPECT_EQ(tz.offset_at(at("2026-11-01T06:00:00Z")), -5h);
  EXPECT_EQ(tz.to_utc(local(2026, 7, 4, 9, 0)), at("2026-07-04T13:00:00Z"));
  EXPECT_EQ(tz.to_utc(local(2026, 11, 1, 1, 30)), at("2026-11-01T05:30:00Z"));  // the EDT one
  EXPECT_EQ(tz.to_utc(local(2026, 3, 8, 2, 15)), at("2026-03-08T07:15:00Z"));   // 03:15 EDT
  EXPECT_EQ(tz.to_local(at("2026-01-01T04:59:00Z")), local(2025, 12, 31, 23, 59));
}

TEST(TimeZone, FarFutureUsesTheFooterRule) {
  const TimeZone berlin = load_ok("Europe/Berlin");
  EXPECT_EQ(berlin.offset_at(at("2040-03-25T00:59:59Z")), 1h);
  EXPECT_EQ(berlin.offset_at(at("2040-03-25T01:00:00Z")), 2h);
  EXPECT_EQ(berlin.offset_at(at("2040-10-28T00:59:59Z")), 2h);
  EXPECT_EQ(berlin.offset_at(at("2040-10-28T01:00:00Z")), 1h);
  EXPECT_EQ(berlin.to_utc(local(2040, 7, 1, 9, 0)), at("2040-07-01T07:00:00Z"));
  const TimeZone ny = load_ok("America/New_York");
  EXPECT_EQ(ny.offset_at(at("2040-03-11T06:59:59Z")), -5h);
  EXPECT_EQ(ny.offset_at(at("2040-03-11T07:00:00Z")), -4h);
  EXPECT_EQ(ny.offset_at(at("2099-07-01T00:00:00Z")), -4h);
}

TEST(TimeZone, UnknownZoneIsAnErrorNamingIt) {
  auto tz = TimeZone::load("Mars/Olympus_Mons");
  ASSERT_FALSE(tz.has_value());
  EXPECT_EQ(tz.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(tz.error().message().find("Mars/Olympus_Mons"), std::string::npos);
  for (std::string_view bad : {"", "../etc/passwd", "/etc/passwd", "Europe/../../etc/passwd", "Europe", "Europe/"}) {
    EXPECT_FALSE(TimeZone::load(bad).has_value()) << bad;
  }
}

TEST(TimeZone, LoadsAreCachedAndThreadSafe) {
  std::vector<std::thread> threads;
  std::vector<int64_t> offsets(8);
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    threads.emplace_back([&offsets, i] {
      auto tz = TimeZone::load(i % 2 ? "Europe/Berlin" : "Asia/Shanghai");
      offsets[i] = tz ? tz->offset_at(at("2026-07-01T00:00:00Z")).count() : -1;
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(offsets[i], i % 2 ? 7200 : 28800);
}

TEST(TimeZone, PosixRules) {
  const TimeZone sydney = TimeZone::from_posix("Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3").value();
  EXPECT_EQ(sydney.offset_at(at("2026-01-15T00:00:00Z")), 11h);
  EXPECT_EQ(sydney.offset_at(at("2026-04-04T15:59:59Z")), 11h);
  EXPECT_EQ(sydney.offset_at(at("2026-04-04T16:00:00Z")), 10h);
  EXPECT_EQ(sydney.offset_at(at("2026-10-03T15:59:59Z")), 10h);
  EXPECT_EQ(sydney.offset_at(at("2026-10-03T16:00:00Z")), 11h);

  const TimeZone tehran = TimeZone::from_posix("fixed", "<+0330>-3:30").value();
  EXPECT_EQ(tehran.offset_at(at("2030-06-01T00:00:00Z")), 3h + 30min);

  // Julian-day forms: DST from day 60 (Mar 1, never Feb 29) to zero-based day 300.
  const TimeZone julian = TimeZone::from_posix("julian", "XST0XDT,J60/0,300/0").value();
  EXPECT_EQ(julian.offset_at(at("2028-02-29T12:00:00Z")), 0s);
  EXPECT_EQ(julian.offset_at(at("2028-03-01T00:00:00Z")), 1h);
  EXPECT_EQ(julian.offset_at(at("2028-10-26T22:59:59Z")), 1h);  // day 300 of 2028 is Oct 27
  EXPECT_EQ(julian.offset_at(at("2028-10-26T23:00:00Z")), 0s);

  for (std::string_view bad : {"", "CE-1", "CET", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0", "CET-1x"}) {
    EXPECT_FALSE(TimeZone::from_posix("bad", bad).has_value()) << bad;
  }
}

// A minimal v2 TZif file: one transition at the epoch from LMT (+00:53:28) to CET, then the footer.
std::string slim_tzif() {
  std::string out;
  auto be = [&out](uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto header = [&](uint32_t timecnt, uint32_t typecnt, uint32_t charcnt) {
    out += "TZif2";
    out.append(15, '\0');
    for (uint32_t c : {0u, 0u, 0u, timecnt, typecnt, charcnt}) be(c, 4);
  };
  header(0, 1, 4);  // v1 block: a placeholder type
  be(0, 4);
  be(0, 2);
  out.append("UTC", 4);
  header(1, 2, 8);
  be(0, 8);  // transition at 1970-01-01T00:00:00Z
  be(1, 1);  //   to type 1
  be(3208, 4);
  be(0, 2);
  be(3600, 4);
  be(4, 2);
  out.append("LMT\0CET", 8);
  out += "\nCET-1CEST,M3.5.0,M10.5.0/3\n";
  return out;
}

TEST(TimeZone, ParsesSlimTzifWithFooter) {
  const TimeZone tz = TimeZone::from_tzif("Slim/Berlin", slim_tzif()).value();
  EXPECT_EQ(tz.offset_at(at("1969-12-31T23:59:59Z")), 3208s);
  EXPECT_EQ(tz.offset_at(at("1970-01-01T00:00:00Z")), 1h);
  EXPECT_EQ(tz.offset_at(at("2026-03-29T00:59:59Z")), 1h);
  EXPECT_EQ(tz.offset_at(at("2026-03-29T01:00:00Z")), 2h);
  EXPECT_EQ(tz.offset_at(at("2026-10-25T01:00:00Z")), 1h);
  EXPECT_EQ(tz.to_utc(local(2026, 10, 25, 2, 30)), at("2026-10-25T00:30:00Z"));

  const std::string good = slim_tzif();
  for (const std::string& bad : {std::string("garbage"), good.substr(0, 60), good.substr(0, good.size() - 1),
                                 std::string("TZif2") + std::string(100, '\0')}) {
    auto parsed = TimeZone::from_tzif("Slim/Bad", bad);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_NE(parsed.error().message().find("Slim/Bad"), std::string::npos);
  }
}

TEST(TimeZone, LoadsFromAnotherRoot) {
  const auto root = std::filesystem::temp_directory_path() / ("tocsin_tz_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "Test");
  {
    std::ofstream f(root / "Test" / "Slim", std::ios::binary);
    f << slim_tzif();
  }
  auto tz = TimeZone::load("Test/Slim", root);
  ASSERT_TRUE(tz.has_value()) << tz.error().to_string();
  EXPECT_EQ(tz->name(), "Test/Slim");
  EXPECT_EQ(tz->offset_at(at("2026-07-01T00:00:00Z")), 2h);
  EXPECT_FALSE(TimeZone::load("Test", root).has_value());  // a directory
  EXPECT_FALSE(TimeZone::load("Test/Missing", root).has_value());
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace tocsin::oncall
