#include "oncall/schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace tocsin::oncall {
namespace {

using namespace std::chrono_literals;
using std::chrono::hours;
using std::chrono::minutes;
using People = std::vector<std::string>;

core::Timestamp at(std::string_view rfc3339) { return core::parse_rfc3339(rfc3339).value(); }

std::chrono::local_days day(int y, unsigned m, unsigned d) {
  return std::chrono::local_days(std::chrono::year(y) / static_cast<int>(m) / static_cast<int>(d));
}

config::Layer weekly(std::chrono::weekday wd, int hh, std::chrono::local_days start, People members) {
  config::Layer l;
  l.rotation = config::Rotation::kWeekly;
  l.handoff_day = wd;
  l.handoff_time = hours(hh);
  l.start = start;
  l.members = std::move(members);
  return l;
}

config::Layer daily(int hh, std::chrono::local_days start, People members) {
  config::Layer l = weekly(std::chrono::Monday, hh, start, std::move(members));
  l.rotation = config::Rotation::kDaily;
  return l;
}

config::Layer custom(core::Duration every, int hh, std::chrono::local_days start, People members) {
  config::Layer l = daily(hh, start, std::move(members));
  l.rotation = config::Rotation::kCustom;
  l.shift_length = every;
  return l;
}

config::Schedule schedule(std::string tz, std::vector<config::Layer> layers) {
  config::Schedule s;
  s.id = "ops-primary";
  s.timezone = std::move(tz);
  s.layers = std::move(layers);
  return s;
}

People who(const config::Schedule& s, std::string_view t) {
  auto r = on_call(s, at(t));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? *r : People{"<error>"};
}

// The SPEC §4 example: weekly, "Mon 09:00", Asia/Shanghai, from Monday 2026-01-05.
config::Schedule ops_primary() {
  return schedule("Asia/Shanghai", {weekly(std::chrono::Monday, 9, day(2026, 1, 5), {"alice", "bob"})});
}

TEST(OnCall, WeeklyHandsOffAtLocalNineInShanghai) {
  const config::Schedule s = ops_primary();
  EXPECT_EQ(who(s, "2026-01-05T00:59:59Z"), People{});  // before the first shift
  EXPECT_EQ(who(s, "2026-01-05T01:00:00Z"), People{"alice"});
  EXPECT_EQ(who(s, "2026-01-12T00:59:59Z"), People{"alice"});
  EXPECT_EQ(who(s, "2026-01-12T01:00:00Z"), People{"bob"});
  EXPECT_EQ(who(s, "2026-01-19T01:00:00Z"), People{"alice"});
  EXPECT_EQ(who(s, "2026-01-26T01:00:00Z"), People{"bob"});
  // 2030-01-07 is Monday: 209 weeks in, an odd shift number.
  EXPECT_EQ(who(s, "2030-01-07T01:00:00Z"), People{"bob"});
  EXPECT_EQ(who(s, "2030-01-07T00:59:00Z"), People{"alice"});
}

TEST(OnCall, WeeklyStartsOnTheFirstHandoffDayAtOrAfterStart) {
  // 2026-01-07 is a Wednesday: the first shift starts Monday 2026-01-12 09:00.
  const config::Schedule s =
      schedule("Asia/Shanghai", {weekly(std::chrono::Monday, 9, day(2026, 1, 7), {"alice", "bob"})});
  EXPECT_EQ(who(s, "2026-01-10T00:00:00Z"), People{});
  EXPECT_EQ(who(s, "2026-01-12T01:00:00Z"), People{"alice"});
  EXPECT_EQ(who(s, "2026-01-19T01:00:00Z"), People{"bob"});
}

TEST(OnCall, DailyHandsOffAtLocalNineAcrossDst) {
  const config::Schedule s = schedule("Europe/Berlin", {daily(9, day(2026, 3, 27), {"a", "b", "c"})});
  EXPECT_EQ(who(s, "2026-03-27T07:59:59Z"), People{});
  EXPECT_EQ(who(s, "2026-03-27T08:00:00Z"), People{"a"});  // 09:00 CET
  EXPECT_EQ(who(s, "2026-03-28T08:00:00Z"), People{"b"});
  EXPECT_EQ(who(s, "2026-03-29T06:59:59Z"), People{"b"});
  EXPECT_EQ(who(s, "2026-03-29T07:00:00Z"), People{"c"});  // 09:00 CEST
  EXPECT_EQ(who(s, "2026-03-30T07:00:00Z"), People{"a"});

  // Around the autumn change: 09:00 CEST on the 24th, 09:00 CET on the 25th.
  auto r = shifts(s, at("2026-10-24T00:00:00Z"), at("2026-10-26T00:00:00Z"));
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].start, at("2026-10-24T07:00:00Z"));
  EXPECT_EQ((*r)[1].end, at("2026-10-25T08:00:00Z"));
  EXPECT_EQ((*r)[1].end - (*r)[1].start, 25h);

  auto spring = shifts(s, at("2026-03-28T08:00:00Z"), at("2026-03-29T07:00:00Z"));
  ASSERT_TRUE(spring.has_value());
  ASSERT_EQ(spring->size(), 1u);
  EXPECT_EQ((*spring)[0].end - (*spring)[0].start, 23h);
  EXPECT_EQ((*spring)[0].person, "b");
}

TEST(OnCall, CustomRotationEveryThreeDays) {
  const config::Schedule s = schedule("UTC", {custom(72h, 8, day(2026, 1, 1), {"a", "b"})});
  EXPECT_EQ(who(s, "2026-01-01T07:59:59Z"), People{});
  EXPECT_EQ(who(s, "2026-01-01T08:00:00Z"), People{"a"});
  EXPECT_EQ(who(s, "2026-01-04T07:59:59Z"), People{"a"});
  EXPECT_EQ(who(s, "2026-01-04T08:00:00Z"), People{"b"});
  EXPECT_EQ(who(s, "2026-01-07T08:00:00Z"), People{"a"});
  EXPECT_EQ(who(s, "2026-12-31T12:00:00Z"), People{"b"});  // shift 121 started 12-30 08:00
}

TEST(OnCall, CustomWholeDaysFollowWallClockOtherLengthsElapsedTime) {
  const config::Schedule days3 = schedule("Europe/Berlin", {custom(72h, 9, day(2026, 3, 27), {"a", "b"})});
  EXPECT_EQ(who(days3, "2026-03-30T06:59:59Z"), People{"a"});
  EXPECT_EQ(who(days3, "2026-03-30T07:00:00Z"), People{"b"});  // 09:00 CEST

  const config::Schedule twelve = schedule("Europe/Berlin", {custom(12h, 9, day(2026, 3, 28), {"a", "b"})});
  // 09:00 CET = 08:00Z, then every 12 elapsed hours: the 4th hand-off is 03-30 08:00Z = 10:00 CEST.
  EXPECT_EQ(who(twelve, "2026-03-30T07:59:59Z"), People{"b"});
  EXPECT_EQ(who(twelve, "2026-03-30T08:00:00Z"), People{"a"});
}

TEST(OnCall, OverrideWinsInsideItsWindowOnly) {
  config::Schedule s = ops_primary();
  // The SPEC example: local Shanghai times, 2026-12-24T00:00 to 2026-12-26T00:00.
  s.overrides.push_back({"carol", std::chrono::local_days(day(2026, 12, 24)), std::chrono::local_days(day(2026, 12, 26)), {}});
  // 2026-12-21 is a Monday, shift 50: alice.
  EXPECT_EQ(who(s, "2026-12-23T15:59:59Z"), People{"alice"});
  EXPECT_EQ(who(s, "2026-12-23T16:00:00Z"), People{"carol"});
  EXPECT_EQ(who(s, "2026-12-25T15:59:59Z"), People{"carol"});
  EXPECT_EQ(who(s, "2026-12-25T16:00:00Z"), People{"alice"});
  // An override before the rotation starts still counts; overlapping overrides list everyone once.
  s.overrides.push_back({"dave", std::chrono::local_days(day(2025, 12, 1)), std::chrono::local_days(day(2025, 12, 2)), {}});
  s.overrides.push_back({"erin", std::chrono::local_days(day(2026, 12, 25)), std::chrono::local_days(day(2026, 12, 27)), {}});
  s.overrides.push_back({"carol", std::chrono::local_days(day(2026, 12, 25)), std::chrono::local_days(day(2026, 12, 26)), {}});
  EXPECT_EQ(who(s, "2025-12-01T00:00:00Z"), People{"dave"});
  EXPECT_EQ(who(s, "2026-12-25T00:00:00Z"), (People{"carol", "erin"}));
  EXPECT_EQ(who(s, "2026-12-26T00:00:00Z"), People{"erin"});
}

TEST(OnCall, LaterLayerWinsWhereItHasSomeone) {
  config::Schedule s = ops_primary();
  s.layers.push_back(daily(20, day(2026, 2, 1), {"night"}));
  EXPECT_EQ(who(s, "2026-01-13T00:00:00Z"), People{"bob"});  // layer 2 not started yet
  EXPECT_EQ(who(s, "2026-02-01T11:59:59Z"), People{"bob"});
  EXPECT_EQ(who(s, "2026-02-01T12:00:00Z"), People{"night"});  // 20:00 in Shanghai
  EXPECT_EQ(who(s, "2026-03-01T00:00:00Z"), People{"night"});

  // A layer without members never covers anyone.
  s.layers.push_back(daily(0, day(2026, 1, 1), {}));
  EXPECT_EQ(who(s, "2026-03-01T00:00:00Z"), People{"night"});
}

TEST(Shifts, TwoWeeksOfWeeklyRotation) {
  const config::Schedule s = ops_primary();
  auto r = shifts(s, at("2026-01-05T01:00:00Z"), at("2026-01-19T01:00:00Z"));
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(*r, (std::vector<Shift>{
                    {"alice", at("2026-01-05T01:00:00Z"), at("2026-01-12T01:00:00Z"), "layer 1"},
                    {"bob", at("2026-01-12T01:00:00Z"), at("2026-01-19T01:00:00Z"), "layer 1"},
                }));

  // A window that starts before the rotation and ends mid-shift is clipped.
  auto clipped = shifts(s, at("2026-01-01T00:00:00Z"), at("2026-01-15T00:00:00Z"));
  ASSERT_TRUE(clipped.has_value());
  EXPECT_EQ(*clipped, (std::vector<Shift>{
                          {"alice", at("2026-01-05T01:00:00Z"), at("2026-01-12T01:00:00Z"), "layer 1"},
                          {"bob", at("2026-01-12T01:00:00Z"), at("2026-01-15T00:00:00Z"), "layer 1"},
                      }));
}

TEST(Shifts, OverridesSplitShiftsAndOneMemberRotationsMerge) {
  config::Schedule s = ops_primary();
  s.overrides.push_back({"carol", std::chrono::local_days(day(2026, 1, 7)), std::chrono::local_days(day(2026, 1, 8)), {}});
  auto r = shifts(s, at("2026-01-05T01:00:00Z"), at("2026-01-19T01:00:00Z"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (std::vector<Shift>{
                    {"alice", at("2026-01-05T01:00:00Z"), at("2026-01-06T16:00:00Z"), "layer 1"},
                    {"carol", at("2026-01-06T16:00:00Z"), at("2026-01-07T16:00:00Z"), "override"},
                    {"alice", at("2026-01-07T16:00:00Z"), at("2026-01-12T01:00:00Z"), "layer 1"},
                    {"bob", at("2026-01-12T01:00:00Z"), at("2026-01-19T01:00:00Z"), "layer 1"},
                }));

  const config::Schedule solo = schedule("UTC", {daily(9, day(2026, 1, 1), {"alice"})});
  auto merged = shifts(solo, at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z"));
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ(*merged, (std::vector<Shift>{{"alice", at("2026-01-01T09:00:00Z"), at("2026-02-01T00:00:00Z"), "layer 1"}}));

  auto empty = shifts(solo, at("2026-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(Shifts, RejectsBadWindows) {
  const config::Schedule s = ops_primary();
  EXPECT_EQ(shifts(s, at("2026-02-01T00:00:00Z"), at("2026-01-01T00:00:00Z")).error().code(),
            core::ErrorCode::kInvalidArgument);
  const config::Schedule minutely = schedule("UTC", {custom(1min, 0, day(2026, 1, 1), {"a", "b"})});
  EXPECT_FALSE(shifts(minutely, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z")).has_value());
  EXPECT_TRUE(shifts(minutely, at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z")).has_value());
}

TEST(OnCall, ConfigErrorsAreReported) {
  config::Schedule s = ops_primary();
  s.timezone = "Nowhere/City";
  auto r = on_call(s, at("2026-01-05T01:00:00Z"));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("Nowhere/City"), std::string::npos);
  EXPECT_NE(r.error().message().find("ops-primary"), std::string::npos);

  const config::Schedule zero = schedule("UTC", {custom(0ms, 8, day(2026, 1, 1), {"a"})});
  EXPECT_EQ(on_call(zero, at("2026-01-05T01:00:00Z")).error().code(), core::ErrorCode::kInvalidArgument);
}

TEST(OnCall, WorksWithAPreloadedZone) {
  const TimeZone tz = TimeZone::from_posix("CET", "CET-1CEST,M3.5.0,M10.5.0/3").value();
  config::Schedule s = schedule("ignored", {daily(9, day(2026, 3, 27), {"a", "b", "c"})});
  auto r = on_call(s, tz, at("2026-03-29T07:00:00Z"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, People{"c"});
}

}  // namespace
}  // namespace tocsin::oncall
