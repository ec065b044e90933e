// Alertmanager time intervals (timeinterval/timeinterval.go): whether a moment falls in a named
// interval, evaluated in each interval's time zone. Routes use them to mute notifications
// (`mute_time_intervals`) or to send only inside them (`active_time_intervals`).
// Thread-safety: immutable after construction.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "oncall/timezone.h"

namespace tocsin::alerting {

// One interval: every non-empty field must match the moment, in `zone`.
bool contains(const config::TimeInterval& interval, const oncall::TimeZone& zone, core::Timestamp t);

class TimeIntervals {
 public:
  // Loads the zones once; an unknown zone is an error naming the interval.
  static core::Result<TimeIntervals> create(const std::vector<config::NamedTimeInterval>& intervals);

  // Whether `t` is in the named interval (any of its parts). Unknown names are never in.
  bool contains(std::string_view name, core::Timestamp t) const;

  // Alertmanager's rules for a route: muted when in any mute interval, or when it has active
  // intervals and is in none of them.
  bool route_muted(const config::Route& route, core::Timestamp t) const;

 private:
  struct Part {
    config::TimeInterval interval;
    oncall::TimeZone zone;
  };
  std::map<std::string, std::vector<Part>, std::less<>> by_name_;
};

}  // namespace tocsin::alerting
