#include "alerting/time_intervals.h"

#include <gtest/gtest.h>

#include "alerting/test_util.h"

namespace tocsin::alerting {
namespace {

using testing::load;

core::Timestamp at(const char* rfc3339) { return core::parse_rfc3339(rfc3339).value(); }

TEST(TimeIntervals, BusinessHoursInBerlinFollowDaylightSaving) {
  auto cfg = load(R"(
time_intervals:
  - name: office
    time_intervals:
      - times: [{start_time: "09:00", end_time: "17:00"}]
        weekdays: ['monday:friday']
        location: Europe/Berlin
)");
  auto intervals = TimeIntervals::create(cfg->time_intervals).value();
  // Winter (CET, UTC+1): 08:30 UTC is 09:30 in Berlin.
  EXPECT_TRUE(intervals.contains("office", at("2026-01-05T08:30:00Z")));
  EXPECT_FALSE(intervals.contains("office", at("2026-01-05T07:30:00Z")));
  // Summer (CEST, UTC+2): 07:30 UTC is 09:30.
  EXPECT_TRUE(intervals.contains("office", at("2026-07-06T07:30:00Z")));
  EXPECT_FALSE(intervals.contains("office", at("2026-07-06T15:00:00Z")));  // 17:00: the end is exclusive
  EXPECT_FALSE(intervals.contains("office", at("2026-07-04T10:00:00Z")));  // a Saturday
  EXPECT_FALSE(intervals.contains("unknown", at("2026-07-06T07:30:00Z")));
}

TEST(TimeIntervals, DaysOfMonthCountBackFromTheEnd) {
  auto cfg = load(R"(
time_intervals:
  - name: month-end
    time_intervals:
      - days_of_month: ['-2:-1']
  - name: whole-month-of-march
    time_intervals:
      - {days_of_month: ['1:-1'], months: ['march'], years: ['2026']}
)");
  auto intervals = TimeIntervals::create(cfg->time_intervals).value();
  EXPECT_TRUE(intervals.contains("month-end", at("2026-02-27T12:00:00Z")));   // 28-day February
  EXPECT_TRUE(intervals.contains("month-end", at("2026-02-28T12:00:00Z")));
  EXPECT_FALSE(intervals.contains("month-end", at("2026-02-26T12:00:00Z")));
  EXPECT_TRUE(intervals.contains("month-end", at("2026-03-30T12:00:00Z")));   // 31-day March
  EXPECT_FALSE(intervals.contains("month-end", at("2026-03-29T12:00:00Z")));
  EXPECT_TRUE(intervals.contains("whole-month-of-march", at("2026-03-31T23:59:00Z")));
  EXPECT_FALSE(intervals.contains("whole-month-of-march", at("2027-03-15T00:00:00Z")));
}

TEST(TimeIntervals, RoutesAreMutedInMuteIntervalsAndOutsideActiveOnes) {
  auto cfg = load(R"(
channels:
  - {name: hook, type: webhook, url: "http://127.0.0.1:9/h"}
time_intervals:
  - name: weekend
    time_intervals: [{weekdays: ['saturday', 'sunday']}]
  - name: nights
    time_intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]
routes:
  receiver: hook
  routes:
    - {matchers: ['a="1"'], mute_time_intervals: [weekend]}
    - {matchers: ['a="2"'], active_time_intervals: [nights]}
)");
  auto intervals = TimeIntervals::create(cfg->time_intervals).value();
  const auto& muted_on_weekends = cfg->routes->routes[0];
  const auto& only_at_night = cfg->routes->routes[1];
  EXPECT_TRUE(intervals.route_muted(muted_on_weekends, at("2026-03-07T12:00:00Z")));   // Saturday
  EXPECT_FALSE(intervals.route_muted(muted_on_weekends, at("2026-03-09T12:00:00Z")));  // Monday
  EXPECT_FALSE(intervals.route_muted(only_at_night, at("2026-03-09T03:00:00Z")));
  EXPECT_TRUE(intervals.route_muted(only_at_night, at("2026-03-09T12:00:00Z")));
  EXPECT_FALSE(intervals.route_muted(*cfg->routes, at("2026-03-07T12:00:00Z")));
}

}  // namespace
}  // namespace tocsin::alerting
