#include "alerting/time_intervals.h"

#include <fmt/format.h>

#include <algorithm>

namespace tocsin::alerting {

namespace {

bool in_any(const std::vector<config::IntRange>& ranges, int value) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const auto& r) { return r.first <= value && value <= r.last; });
}

}  // namespace

bool contains(const config::TimeInterval& interval, const oncall::TimeZone& zone, core::Timestamp t) {
  using namespace std::chrono;
  const local_seconds local = zone.to_local_seconds(t);
  const local_days day = floor<days>(local);
  const year_month_day ymd{day};
  if (!interval.times.empty()) {
    const int minute = static_cast<int>(duration_cast<minutes>(local - day).count());
    const bool in = std::any_of(interval.times.begin(), interval.times.end(), [&](const auto& r) {
      return r.start_minute <= minute && minute < r.end_minute;
    });
    if (!in) return false;
  }
  if (!interval.weekdays.empty() && !in_any(interval.weekdays, static_cast<int>(weekday{day}.c_encoding()))) {
    return false;
  }
  if (!interval.days_of_month.empty()) {
    const int mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
    const int month_end = static_cast<int>(static_cast<unsigned>(year_month_day_last{ymd.year() / ymd.month() / std::chrono::last}.day()));
    // Negative days count back from the month's end: -1 is the last day. Ranges are clamped to
    // the month, as Alertmanager does.
    const bool in = std::any_of(interval.days_of_month.begin(), interval.days_of_month.end(), [&](const auto& r) {
      const int first = r.first < 0 ? month_end + 1 + r.first : r.first;
      const int end = r.last < 0 ? month_end + 1 + r.last : r.last;
      return std::max(first, 1) <= mday && mday <= std::min(end, month_end);
    });
    if (!in) return false;
  }
  if (!interval.months.empty() && !in_any(interval.months, static_cast<int>(static_cast<unsigned>(ymd.month())))) {
    return false;
  }
  if (!interval.years.empty() && !in_any(interval.years, static_cast<int>(ymd.year()))) return false;
  return true;
}

core::Result<TimeIntervals> TimeIntervals::create(const std::vector<config::NamedTimeInterval>& intervals) {
  TimeIntervals out;
  for (const auto& named : intervals) {
    std::vector<Part> parts;
    for (const auto& interval : named.intervals) {
      const std::string zone_name = interval.location == "Local" ? "UTC" : interval.location;
      auto zone = oncall::TimeZone::load(zone_name);
      if (!zone) {
        return std::unexpected(core::Error::invalid_argument(
            fmt::format("time interval {}: {}", named.name, zone.error().message())));
      }
      parts.push_back({interval, std::move(*zone)});
    }
    out.by_name_.insert_or_assign(named.name, std::move(parts));
  }
  return out;
}

bool TimeIntervals::contains(std::string_view name, core::Timestamp t) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const Part& p) { return alerting::contains(p.interval, p.zone, t); });
}

bool TimeIntervals::route_muted(const config::Route& route, core::Timestamp t) const {
  for (const auto& name : route.mute_time_intervals) {
    if (contains(name, t)) return true;
  }
  if (route.active_time_intervals.empty()) return false;
  return std::none_of(route.active_time_intervals.begin(), route.active_time_intervals.end(),
                      [&](const auto& name) { return contains(name, t); });
}

}  // namespace tocsin::alerting
