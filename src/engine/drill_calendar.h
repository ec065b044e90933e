// The drill calendar (issue 7): per plan with a `drill:` cadence, its last drill run (any mode,
// by the wall time it was recorded), when the next is due and whether that is past. Overdue
// drills are reported like overdue plan reviews: GET /api/v1/plans, GET /api/v1/drills and
// /metrics. A pure function of the config, the history's last runs and `now`.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace tocsin::engine {

struct DrillCalendarEntry {
  std::string plan;
  core::Duration every{};
  std::string scenario;  // the scenario file
  std::optional<core::Timestamp> last_run;  // ran_at of the newest run; empty = never drilled
  core::Timestamp next_due{};  // last_run + every; the epoch when never drilled ("now")
  bool overdue = false;        // next_due <= now
};

// In config order; plans without `drill:` are left out.
std::vector<DrillCalendarEntry> drill_calendar(const config::Config& config,
                                               const std::map<std::string, core::Timestamp>& last_runs,
                                               core::Timestamp now);

// Prometheus text: tocsin_plan_drill_overdue{plan} and tocsin_plan_drill_due_timestamp_seconds{plan}
// (0 when never drilled); empty when no plan has a cadence.
std::string render_drill_calendar(const std::vector<DrillCalendarEntry>& calendar);

}  // namespace tocsin::engine
