// The compliance status (issue 8, docs/compliance.md): plan reviews overdue or due soon, drills
// overdue (the drill calendar), and every plan clock with a `within` deadline — met, missed or
// still running. Read by GET /api/v1/compliance, `tocsin report compliance` and /metrics, so all
// three say the same. `clock_status` is a pure function of one incident and its clock;
// `compliance_report` reads the store inside the caller's read transaction.
// Thread-safety: pure functions (compliance_report uses only the Tx it is given).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/drill_calendar.h"
#include "store/store.h"

namespace tocsin::engine {

// A plan's review is "due soon" this long before it is due.
inline constexpr core::Duration kReviewDueSoon = std::chrono::hours(24 * 30);

struct ReviewStatus {
  std::string plan;
  core::Duration every{};
  std::optional<core::Timestamp> reviewed;  // the last review (`reviewed:`); empty = never
  core::Timestamp due_at{};                 // reviewed + every; the epoch when never reviewed
  bool overdue = false;                     // due_at <= now
  bool due_soon = false;                    // not overdue, due within kReviewDueSoon
};

enum class ClockOutcome { kMet, kMissed, kRunning, kStopped };
std::string_view to_string(ClockOutcome o);

// One `within` clock of one incident.
struct ClockStatus {
  int64_t incident_id = 0;
  std::string incident_title;
  std::string plan;
  std::string clock;  // the plan clock's name
  core::Duration within{};
  core::Timestamp started_at{};  // the event that started it
  core::Timestamp deadline{};    // started_at + within
  // The event that satisfies it: the clock's `until` event (`task_done:STEP`: that task done), or,
  // without `until`, the incident resolved. Empty when it has not happened.
  std::string satisfied_by;  // what satisfies it, e.g. "task_done:notify_regulator"
  std::optional<core::Timestamp> satisfied_at;
  // met: satisfied at or before the deadline. missed: the deadline passed without it (also when it
  // came later). running: before the deadline, not yet satisfied, the clock still armed.
  // stopped: before the deadline, not satisfied, but the clock was stopped (the incident was
  // resolved or closed first); it turns into missed when the deadline passes.
  ClockOutcome outcome = ClockOutcome::kRunning;
  std::optional<core::Duration> time_left;  // running or stopped: deadline - now
};

struct ComplianceSummary {
  int reviews_overdue = 0;
  int reviews_due_soon = 0;
  int drills_overdue = 0;
  int clocks_met = 0;
  int clocks_missed = 0;
  int clocks_running = 0;
};

struct ComplianceReport {
  core::Timestamp at{};
  std::vector<ReviewStatus> reviews;       // plans with review_every, in config order
  std::vector<DrillCalendarEntry> drills;  // plans with drill:, in config order
  std::vector<ClockStatus> clocks;         // by incident, then clock name
  ComplianceSummary summary;
};

// The review status of every plan with `review_every` (config::review_due says when).
std::vector<ReviewStatus> review_statuses(const config::Config& config, core::Timestamp now);

// The status of one `within` clock: `incident` with its timeline and tasks (get_incident).
ClockStatus clock_status(const config::PlanClock& spec, const store::Incident& incident,
                         const store::IncidentClock& clock, core::Timestamp now);

// The whole report at `now`: the config's reviews and drill calendar, and the clocks the store
// holds whose plan clock (still in the config) has a `within` deadline.
core::Result<ComplianceReport> compliance_report(store::Tx& tx, const config::Config& config, core::Timestamp now);

// Prometheus text: tocsin_compliance_{reviews_overdue,drills_overdue,clocks_missed,clocks_running}.
std::string render_compliance_summary(const ComplianceSummary& summary);

}  // namespace tocsin::engine
