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

// ---------------------------------------------------------------------------------------------
// Hand-offs across DST changes in two zones, overrides across hand-offs, one-member layers.
//
// Every expected instant below was computed independently of tocsin's TimeZone, with Python 3.11's
// zoneinfo over the system tzdata, e.g.
//   datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo("America/New_York")).astimezone(timezone.utc)
//   -> 2026-03-08 07:30:00+00:00
// Python's default fold=0 gives the earlier instant of a repeated local time and reads a skipped
// one with the offset from before the gap (02:30 -> 03:30 EDT): the rule TimeZone::to_utc
// documents. 2026 changes: New York 03-08 (02:00 EST -> 03:00 EDT, 07:00Z) and 11-01 (02:00 EDT
// -> 01:00 EST, 06:00Z); Berlin 03-29 (01:00Z) and 10-25 (01:00Z).

config::Layer handing_off_at(config::Layer l, int hh, int mm) {
  l.handoff_time = hours(hh) + minutes(mm);
  return l;
}

config::LocalTime local(int y, unsigned m, unsigned d, int hh, int mm) {
  return std::chrono::local_days(day(y, m, d)) + hours(hh) + minutes(mm);
}

config::Override cover(std::string person, config::LocalTime from, config::LocalTime to) {
  return config::Override{std::move(person), from, to, {}};
}

std::vector<Shift> shifts_or_fail(const config::Schedule& s, std::string_view from, std::string_view to) {
  auto r = shifts(s, at(from), at(to));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? *r : std::vector<Shift>{};
}

CurrentShifts current(const config::Schedule& s, std::string_view t) {
  auto r = current_shifts(s, at(t));
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
  return r ? *r : CurrentShifts{};
}

TEST(OnCallDst, WeeklyMondayNineInNewYorkAndBerlinAcrossBothChanges) {
  // The same rotation in both zones. New York changes three weeks before Berlin in spring and a
  // week after it in autumn, so for those weeks the two hand-offs are 5 hours apart, not 6.
  const config::Schedule ny =
      schedule("America/New_York", {weekly(std::chrono::Monday, 9, day(2026, 3, 2), {"a", "b"})});
  EXPECT_EQ(shifts_or_fail(ny, "2026-03-02T00:00:00Z", "2026-03-17T00:00:00Z"),
            (std::vector<Shift>{
                {"a", at("2026-03-02T14:00:00Z"), at("2026-03-09T13:00:00Z"), "layer 1"},  // 167 h: spring
                {"b", at("2026-03-09T13:00:00Z"), at("2026-03-16T13:00:00Z"), "layer 1"},
                {"a", at("2026-03-16T13:00:00Z"), at("2026-03-17T00:00:00Z"), "layer 1"},
            }));
  // 2026-10-26 is shift 34 (a), 11-02 shift 35 (b).
  EXPECT_EQ(shifts_or_fail(ny, "2026-10-26T00:00:00Z", "2026-11-09T14:00:00Z"),
            (std::vector<Shift>{
                {"b", at("2026-10-26T00:00:00Z"), at("2026-10-26T13:00:00Z"), "layer 1"},
                {"a", at("2026-10-26T13:00:00Z"), at("2026-11-02T14:00:00Z"), "layer 1"},  // 169 h: autumn
                {"b", at("2026-11-02T14:00:00Z"), at("2026-11-09T14:00:00Z"), "layer 1"},
            }));
  EXPECT_EQ(who(ny, "2026-11-02T13:59:59Z"), People{"a"});  // 08:59:59 EST
  EXPECT_EQ(who(ny, "2026-11-02T14:00:00Z"), People{"b"});

  const config::Schedule berlin =
      schedule("Europe/Berlin", {weekly(std::chrono::Monday, 9, day(2026, 3, 23), {"a", "b"})});
  EXPECT_EQ(shifts_or_fail(berlin, "2026-03-16T00:00:00Z", "2026-04-06T07:00:00Z"),
            (std::vector<Shift>{
                {"a", at("2026-03-23T08:00:00Z"), at("2026-03-30T07:00:00Z"), "layer 1"},  // 167 h
                {"b", at("2026-03-30T07:00:00Z"), at("2026-04-06T07:00:00Z"), "layer 1"},
            }));
  // 2026-10-19 is shift 30 (a), 10-26 shift 31 (b).
  EXPECT_EQ(shifts_or_fail(berlin, "2026-10-19T07:00:00Z", "2026-11-02T08:00:00Z"),
            (std::vector<Shift>{
                {"a", at("2026-10-19T07:00:00Z"), at("2026-10-26T08:00:00Z"), "layer 1"},  // 169 h
                {"b", at("2026-10-26T08:00:00Z"), at("2026-11-02T08:00:00Z"), "layer 1"},
            }));

  // Monday 2026-03-16: New York is on EDT already, Berlin still on CET.
  const config::Schedule ny16 = schedule("America/New_York", {weekly(std::chrono::Monday, 9, day(2026, 3, 16), {"x"})});
  const config::Schedule be16 = schedule("Europe/Berlin", {weekly(std::chrono::Monday, 9, day(2026, 3, 16), {"x"})});
  EXPECT_EQ(current(ny16, "2026-03-16T13:00:00Z").on_call.at(0).start, at("2026-03-16T13:00:00Z"));
  EXPECT_EQ(current(be16, "2026-03-16T08:00:00Z").on_call.at(0).start, at("2026-03-16T08:00:00Z"));
  EXPECT_EQ(who(ny16, "2026-03-16T12:59:59Z"), People{});
  EXPECT_EQ(who(be16, "2026-03-16T07:59:59Z"), People{});
}

TEST(OnCallDst, HandOffInTheSpringForwardGapHappensAtTheShiftedInstant) {
  // 02:30 does not exist on the change day: the hand-off is at 03:30 daylight time.
  const config::Schedule ny =
      schedule("America/New_York", {handing_off_at(daily(0, day(2026, 3, 6), {"a", "b", "c"}), 2, 30)});
  EXPECT_EQ(shifts_or_fail(ny, "2026-03-06T07:30:00Z", "2026-03-10T00:00:00Z"),
            (std::vector<Shift>{
                {"a", at("2026-03-06T07:30:00Z"), at("2026-03-07T07:30:00Z"), "layer 1"},
                {"b", at("2026-03-07T07:30:00Z"), at("2026-03-08T07:30:00Z"), "layer 1"},  // to 03:30 EDT: 24 h
                {"c", at("2026-03-08T07:30:00Z"), at("2026-03-09T06:30:00Z"), "layer 1"},  // 23 h
                {"a", at("2026-03-09T06:30:00Z"), at("2026-03-10T00:00:00Z"), "layer 1"},
            }));
  EXPECT_EQ(who(ny, "2026-03-08T07:00:00Z"), People{"b"});  // 03:00 EDT, the first instant after the gap
  EXPECT_EQ(who(ny, "2026-03-08T07:29:59Z"), People{"b"});
  EXPECT_EQ(who(ny, "2026-03-08T07:30:00Z"), People{"c"});

  const config::Schedule berlin =
      schedule("Europe/Berlin", {handing_off_at(daily(0, day(2026, 3, 27), {"a", "b", "c"}), 2, 30)});
  EXPECT_EQ(shifts_or_fail(berlin, "2026-03-27T01:30:00Z", "2026-03-31T00:00:00Z"),
            (std::vector<Shift>{
                {"a", at("2026-03-27T01:30:00Z"), at("2026-03-28T01:30:00Z"), "layer 1"},
                {"b", at("2026-03-28T01:30:00Z"), at("2026-03-29T01:30:00Z"), "layer 1"},  // to 03:30 CEST
                {"c", at("2026-03-29T01:30:00Z"), at("2026-03-30T00:30:00Z"), "layer 1"},  // 23 h
                {"a", at("2026-03-30T00:30:00Z"), at("2026-03-31T00:00:00Z"), "layer 1"},
            }));
}

TEST(OnCallDst, HandOffInTheRepeatedHourHappensOnceAtTheFirstPass) {
  const config::Schedule ny =
      schedule("America/New_York", {handing_off_at(daily(0, day(2026, 10, 30), {"a", "b", "c"}), 1, 30)});
  EXPECT_EQ(shifts_or_fail(ny, "2026-10-30T05:30:00Z", "2026-11-03T00:00:00Z"),
            (std::vector<Shift>{
                {"a", at("2026-10-30T05:30:00Z"), at("2026-10-31T05:30:00Z"), "layer 1"},
                {"b", at("2026-10-31T05:30:00Z"), at("2026-11-01T05:30:00Z"), "layer 1"},  // to 01:30 EDT
                {"c", at("2026-11-01T05:30:00Z"), at("2026-11-02T06:30:00Z"), "layer 1"},  // 25 h
                {"a", at("2026-11-02T06:30:00Z"), at("2026-11-03T00:00:00Z"), "layer 1"},
            }));
  // The second 01:30 (EST, 06:30Z) is no hand-off: c stays on through the repeated hour.
  EXPECT_EQ(who(ny, "2026-11-01T06:00:00Z"), People{"c"});  // 01:00 EST, local time before 01:30 again
  EXPECT_EQ(who(ny, "2026-11-01T06:30:00Z"), People{"c"});
  EXPECT_EQ(current(ny, "2026-11-01T06:30:00Z").on_call,
            (std::vector<Shift>{{"c", at("2026-11-01T05:30:00Z"), at("2026-11-02T06:30:00Z"), "layer 1"}}));

  const config::Schedule berlin =
      schedule("Europe/Berlin", {handing_off_at(daily(0, day(2026, 10, 23), {"a", "b", "c"}), 2, 30)});
  EXPECT_EQ(shifts_or_fail(berlin, "2026-10-23T00:30:00Z", "2026-10-27T00:00:00Z"),
            (std::vector<Shift>{
                {"a", at("2026-10-23T00:30:00Z"), at("2026-10-24T00:30:00Z"), "layer 1"},
                {"b", at("2026-10-24T00:30:00Z"), at("2026-10-25T00:30:00Z"), "layer 1"},  // to 02:30 CEST
                {"c", at("2026-10-25T00:30:00Z"), at("2026-10-26T01:30:00Z"), "layer 1"},  // 25 h
                {"a", at("2026-10-26T01:30:00Z"), at("2026-10-27T00:00:00Z"), "layer 1"},
            }));
  EXPECT_EQ(who(berlin, "2026-10-25T01:30:00Z"), People{"c"});  // the second 02:30, CET
}

TEST(OnCallDst, TwelveHourShiftsAreElapsedTimeInNewYork) {
  // 09:00 EST on 03-07 = 14:00Z, then every 12 elapsed hours whatever the wall clock says.
  const config::Schedule s =
      schedule("America/New_York", {custom(12h, 9, day(2026, 3, 7), {"day", "night"})});
  EXPECT_EQ(shifts_or_fail(s, "2026-03-07T14:00:00Z", "2026-03-09T02:00:00Z"),
            (std::vector<Shift>{
                {"day", at("2026-03-07T14:00:00Z"), at("2026-03-08T02:00:00Z"), "layer 1"},
                {"night", at("2026-03-08T02:00:00Z"), at("2026-03-08T14:00:00Z"), "layer 1"},
                {"day", at("2026-03-08T14:00:00Z"), at("2026-03-09T02:00:00Z"), "layer 1"},  // 10:00 EDT
            }));
}

TEST(OverrideAcrossHandoff, HidesTheHandoffAndTheRotationGoesOnUnderneath) {
  config::Schedule s = ops_primary();  // Shanghai, weekly Mon 09:00, alice then bob from 2026-01-05
  // Sunday 18:00 to Tuesday 09:00 local: across Monday 2026-01-12 09:00 (01:00Z), alice -> bob.
  s.overrides.push_back(cover("carol", local(2026, 1, 11, 18, 0), local(2026, 1, 13, 9, 0)));
  EXPECT_EQ(who(s, "2026-01-11T09:59:59Z"), People{"alice"});
  EXPECT_EQ(who(s, "2026-01-11T10:00:00Z"), People{"carol"});
  EXPECT_EQ(who(s, "2026-01-12T01:00:00Z"), People{"carol"});  // the hand-off instant
  EXPECT_EQ(who(s, "2026-01-13T00:59:59Z"), People{"carol"});
  EXPECT_EQ(who(s, "2026-01-13T01:00:00Z"), People{"bob"});  // not alice: the rotation went on
  EXPECT_EQ(shifts_or_fail(s, "2026-01-05T01:00:00Z", "2026-01-19T01:00:00Z"),
            (std::vector<Shift>{
                {"alice", at("2026-01-05T01:00:00Z"), at("2026-01-11T10:00:00Z"), "layer 1"},
                {"carol", at("2026-01-11T10:00:00Z"), at("2026-01-13T01:00:00Z"), "override"},
                {"bob", at("2026-01-13T01:00:00Z"), at("2026-01-19T01:00:00Z"), "layer 1"},
            }));

  // Before the override: alice's whole layer shift, and the next change is the override's start,
  // before her shift's end.
  const CurrentShifts before = current(s, "2026-01-10T00:00:00Z");
  EXPECT_EQ(before.on_call,
            (std::vector<Shift>{{"alice", at("2026-01-05T01:00:00Z"), at("2026-01-12T01:00:00Z"), "layer 1"}}));
  EXPECT_EQ(before.next_handoff, at("2026-01-11T10:00:00Z"));
  // During it: the override's bounds; the next change is its end, not the hidden hand-off.
  const CurrentShifts during = current(s, "2026-01-12T01:00:00Z");
  EXPECT_EQ(during.on_call,
            (std::vector<Shift>{{"carol", at("2026-01-11T10:00:00Z"), at("2026-01-13T01:00:00Z"), "override"}}));
  EXPECT_EQ(during.next_handoff, at("2026-01-13T01:00:00Z"));
  const CurrentShifts after = current(s, "2026-01-13T01:00:00Z");
  EXPECT_EQ(after.on_call,
            (std::vector<Shift>{{"bob", at("2026-01-12T01:00:00Z"), at("2026-01-19T01:00:00Z"), "layer 1"}}));
  EXPECT_EQ(after.next_handoff, at("2026-01-19T01:00:00Z"));
}

TEST(OverrideAcrossHandoff, OverrideAcrossTheSpringChangeInNewYork) {
  config::Schedule s =
      schedule("America/New_York", {handing_off_at(daily(0, day(2026, 3, 6), {"a", "b", "c"}), 2, 30)});
  // 20:00 EST on 03-07 to 12:00 EDT on 03-08: 16 hours on the wall clock, 15 elapsed, across the
  // 03:30 EDT hand-off b -> c.
  s.overrides.push_back(cover("dave", local(2026, 3, 7, 20, 0), local(2026, 3, 8, 12, 0)));
  EXPECT_EQ(shifts_or_fail(s, "2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z"),
            (std::vector<Shift>{
                {"b", at("2026-03-07T07:30:00Z"), at("2026-03-08T01:00:00Z"), "layer 1"},
                {"dave", at("2026-03-08T01:00:00Z"), at("2026-03-08T16:00:00Z"), "override"},
                {"c", at("2026-03-08T16:00:00Z"), at("2026-03-09T06:30:00Z"), "layer 1"},
            }));
  const CurrentShifts now = current(s, "2026-03-08T07:30:00Z");
  ASSERT_EQ(now.on_call.size(), 1u);
  EXPECT_EQ(now.on_call[0].end - now.on_call[0].start, 15h);
  EXPECT_EQ(now.next_handoff, at("2026-03-08T16:00:00Z"));
}

TEST(OverrideAcrossHandoff, OverrideAcrossTheAutumnChangeInBerlin) {
  config::Schedule s =
      schedule("Europe/Berlin", {weekly(std::chrono::Monday, 9, day(2026, 3, 23), {"a", "b"})});
  // Saturday 18:00 CEST to Monday 12:00 CET: 42 wall-clock hours, 43 elapsed, across the
  // 2026-10-26 09:00 CET (08:00Z) hand-off a -> b.
  s.overrides.push_back(cover("carol", local(2026, 10, 24, 18, 0), local(2026, 10, 26, 12, 0)));
  EXPECT_EQ(shifts_or_fail(s, "2026-10-19T07:00:00Z", "2026-11-02T08:00:00Z"),
            (std::vector<Shift>{
                {"a", at("2026-10-19T07:00:00Z"), at("2026-10-24T16:00:00Z"), "layer 1"},
                {"carol", at("2026-10-24T16:00:00Z"), at("2026-10-26T11:00:00Z"), "override"},
                {"b", at("2026-10-26T11:00:00Z"), at("2026-11-02T08:00:00Z"), "layer 1"},
            }));
  EXPECT_EQ(who(s, "2026-10-26T08:00:00Z"), People{"carol"});
}

TEST(OverrideAcrossHandoff, OverrideOnTopOfTwoLayersAcrossTheTopLayersHandoff) {
  config::Schedule s = ops_primary();
  // 20:00 Shanghai = 12:00Z; 2026-01-10 12:00Z starts shift 9 (n2).
  s.layers.push_back(daily(20, day(2026, 1, 1), {"n1", "n2"}));
  s.overrides.push_back(cover("carol", local(2026, 1, 10, 19, 0), local(2026, 1, 10, 21, 0)));
  EXPECT_EQ(shifts_or_fail(s, "2026-01-10T10:00:00Z", "2026-01-10T14:00:00Z"),
            (std::vector<Shift>{
                {"n1", at("2026-01-10T10:00:00Z"), at("2026-01-10T11:00:00Z"), "layer 2"},
                {"carol", at("2026-01-10T11:00:00Z"), at("2026-01-10T13:00:00Z"), "override"},
                {"n2", at("2026-01-10T13:00:00Z"), at("2026-01-10T14:00:00Z"), "layer 2"},
            }));
}

TEST(OneMemberLayer, IsOnCallThroughEveryHandoffAndDstChange) {
  const config::Schedule s = schedule("Europe/Berlin", {weekly(std::chrono::Monday, 9, day(2026, 3, 23), {"solo"})});
  EXPECT_EQ(who(s, "2026-03-23T07:59:59Z"), People{});
  EXPECT_EQ(who(s, "2026-03-23T08:00:00Z"), People{"solo"});
  EXPECT_EQ(who(s, "2026-03-30T06:59:59Z"), People{"solo"});
  EXPECT_EQ(who(s, "2026-03-30T07:00:00Z"), People{"solo"});
  EXPECT_EQ(who(s, "2026-10-26T08:00:00Z"), People{"solo"});
  EXPECT_EQ(who(s, "2031-07-01T00:00:00Z"), People{"solo"});
  // One shift for the whole year: consecutive shifts of the same person merge.
  EXPECT_EQ(shifts_or_fail(s, "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z"),
            (std::vector<Shift>{{"solo", at("2026-03-23T08:00:00Z"), at("2027-01-01T00:00:00Z"), "layer 1"}}));

  // The current shift is the layer's week (2026-06-01 is a Monday; 00:00Z is 02:00 CEST, before
  // the 09:00 hand-off), but nobody else ever takes over.
  const CurrentShifts now = current(s, "2026-06-01T00:00:00Z");
  EXPECT_EQ(now.on_call,
            (std::vector<Shift>{{"solo", at("2026-05-25T07:00:00Z"), at("2026-06-01T07:00:00Z"), "layer 1"}}));
  EXPECT_EQ(now.next_handoff, std::nullopt);
  // Before the first shift: nobody, and the next change is the first shift.
  const CurrentShifts early = current(s, "2026-03-01T00:00:00Z");
  EXPECT_TRUE(early.on_call.empty());
  EXPECT_EQ(early.next_handoff, at("2026-03-23T08:00:00Z"));
}

TEST(OneMemberLayer, AnOverrideSplitsItsOneLongShift) {
  config::Schedule s = schedule("Europe/Berlin", {weekly(std::chrono::Monday, 9, day(2026, 3, 23), {"solo"})});
  s.overrides.push_back(cover("carol", local(2026, 10, 24, 18, 0), local(2026, 10, 26, 12, 0)));
  EXPECT_EQ(shifts_or_fail(s, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"),
            (std::vector<Shift>{
                {"solo", at("2026-10-01T00:00:00Z"), at("2026-10-24T16:00:00Z"), "layer 1"},
                {"carol", at("2026-10-24T16:00:00Z"), at("2026-10-26T11:00:00Z"), "override"},
                {"solo", at("2026-10-26T11:00:00Z"), at("2026-11-01T00:00:00Z"), "layer 1"},
            }));
  EXPECT_EQ(current(s, "2026-06-01T00:00:00Z").next_handoff, at("2026-10-24T16:00:00Z"));
  EXPECT_EQ(current(s, "2026-10-25T00:00:00Z").next_handoff, at("2026-10-26T11:00:00Z"));
  EXPECT_EQ(current(s, "2026-10-26T11:00:00Z").next_handoff, std::nullopt);
}

TEST(OneMemberLayer, OnTopOfARotationCoversItFromItsStart) {
  config::Schedule s = ops_primary();
  s.layers.push_back(custom(12h, 8, day(2026, 2, 2), {"lead"}));  // 08:00 Shanghai = 00:00Z
  EXPECT_EQ(current(s, "2026-01-20T00:00:00Z").next_handoff, at("2026-01-26T01:00:00Z"));  // layer 1, alice -> bob
  EXPECT_EQ(current(s, "2026-01-30T00:00:00Z").next_handoff, at("2026-02-02T00:00:00Z"));  // lead starts
  EXPECT_EQ(who(s, "2026-02-02T00:00:00Z"), People{"lead"});
  EXPECT_EQ(who(s, "2026-02-09T01:00:00Z"), People{"lead"});  // layer 1's hand-off changes nothing
  const CurrentShifts now = current(s, "2026-02-09T01:00:00Z");
  EXPECT_EQ(now.on_call,
            (std::vector<Shift>{{"lead", at("2026-02-09T00:00:00Z"), at("2026-02-09T12:00:00Z"), "layer 2"}}));
  EXPECT_EQ(now.next_handoff, std::nullopt);
  EXPECT_EQ(shifts_or_fail(s, "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
            (std::vector<Shift>{
                {"bob", at("2026-02-01T00:00:00Z"), at("2026-02-02T00:00:00Z"), "layer 1"},
                {"lead", at("2026-02-02T00:00:00Z"), at("2026-03-01T00:00:00Z"), "layer 2"},
            }));
}

TEST(OneMemberLayer, TheSamePersonListedTwiceNeverHandsOff) {
  const config::Schedule s = schedule("America/New_York", {custom(1min, 0, day(2026, 1, 1), {"a", "a"})});
  const CurrentShifts now = current(s, "2026-06-01T00:00:30Z");
  EXPECT_EQ(now.on_call, (std::vector<Shift>{{"a", at("2026-06-01T00:00:00Z"), at("2026-06-01T00:01:00Z"), "layer 1"}}));
  EXPECT_EQ(now.next_handoff, std::nullopt);
}

TEST(CurrentShifts, OverlappingOverridesListEveryoneWithTheirOwnWindow) {
  config::Schedule s = ops_primary();
  s.overrides.push_back(cover("carol", local(2026, 12, 24, 0, 0), local(2026, 12, 26, 0, 0)));
  s.overrides.push_back(cover("erin", local(2026, 12, 25, 0, 0), local(2026, 12, 27, 0, 0)));
  const CurrentShifts both = current(s, "2026-12-25T00:00:00Z");
  EXPECT_EQ(both.on_call, (std::vector<Shift>{
                              {"carol", at("2026-12-23T16:00:00Z"), at("2026-12-25T16:00:00Z"), "override"},
                              {"erin", at("2026-12-24T16:00:00Z"), at("2026-12-26T16:00:00Z"), "override"},
                          }));
  EXPECT_EQ(both.next_handoff, at("2026-12-25T16:00:00Z"));  // carol leaves, erin stays
  // Nobody anywhere: no layers.
  const config::Schedule empty = schedule("UTC", {});
  const CurrentShifts none = current(empty, "2026-01-01T00:00:00Z");
  EXPECT_TRUE(none.on_call.empty());
  EXPECT_EQ(none.next_handoff, std::nullopt);
  EXPECT_FALSE(current_shifts(schedule("Nowhere/City", {}), at("2026-01-01T00:00:00Z")).has_value());
}

}  // namespace
}  // namespace tocsin::oncall
