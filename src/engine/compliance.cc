#include "engine/compliance.h"

#include <fmt/format.h>

#include <algorithm>

namespace tocsin::engine {

std::string_view to_string(ClockOutcome o) {
  switch (o) {
    case ClockOutcome::kMet:
      return "met";
    case ClockOutcome::kMissed:
      return "missed";
    case ClockOutcome::kRunning:
      return "running";
    case ClockOutcome::kStopped:
      return "stopped";
  }
  return "running";
}

std::vector<ReviewStatus> review_statuses(const config::Config& config, core::Timestamp now) {
  std::vector<ReviewStatus> out;
  for (const auto& plan : config.plans) {
    const auto due = config::review_due(plan);
    if (!due) continue;
    ReviewStatus r;
    r.plan = plan.id;
    r.every = plan.review_every;
    if (plan.reviewed) {
      r.reviewed = std::chrono::time_point_cast<core::Duration>(std::chrono::sys_time<core::Duration>(*plan.reviewed));
    }
    r.due_at = *due;
    r.overdue = *due <= now;
    r.due_soon = !r.overdue && *due - now <= kReviewDueSoon;
    out.push_back(std::move(r));
  }
  return out;
}

ClockStatus clock_status(const config::PlanClock& spec, const store::Incident& incident,
                         const store::IncidentClock& clock, core::Timestamp now) {
  ClockStatus s;
  s.incident_id = incident.id;
  s.incident_title = incident.title;
  s.plan = incident.plan;
  s.clock = spec.name;
  s.within = spec.within;
  s.started_at = clock.started_at;
  s.deadline = clock.started_at + spec.within;
  // What stops the clock is what satisfies it (incident/service.cc, append_event): the first such
  // event since it started.
  auto first_event = [&](std::string_view kind) -> std::optional<core::Timestamp> {
    for (const auto& e : incident.timeline) {
      if (e.kind == kind && e.at >= clock.started_at) return e.at;
    }
    return std::nullopt;
  };
  if (spec.until.empty()) {
    s.satisfied_by = "resolved";
    s.satisfied_at = first_event("resolved");
  } else if (spec.until.starts_with("task_done:")) {
    s.satisfied_by = spec.until;
    const std::string_view step = std::string_view(spec.until).substr(10);
    for (const auto& t : incident.tasks) {
      if (t.step == step && t.status == store::TaskStatus::kDone && t.done_at && *t.done_at >= clock.started_at) {
        s.satisfied_at = t.done_at;
      }
    }
  } else {
    s.satisfied_by = spec.until;
    s.satisfied_at = first_event(spec.until);
  }
  if (s.satisfied_at && *s.satisfied_at <= s.deadline) {
    s.outcome = ClockOutcome::kMet;
  } else if (s.deadline <= now) {
    s.outcome = ClockOutcome::kMissed;
  } else {
    s.outcome = clock.next_at ? ClockOutcome::kRunning : ClockOutcome::kStopped;
    s.time_left = s.deadline - now;
  }
  return s;
}

core::Result<ComplianceReport> compliance_report(store::Tx& tx, const config::Config& config, core::Timestamp now) {
  ComplianceReport report;
  report.at = now;
  report.reviews = review_statuses(config, now);
  report.drills = drill_calendar(config, TOCSIN_TRY(tx.last_drill_runs()), now);
  std::optional<store::Incident> incident;
  for (const auto& clock : TOCSIN_TRY(tx.list_clocks())) {  // by incident, then name
    if (!incident || incident->id != clock.incident_id) incident = TOCSIN_TRY(tx.get_incident(clock.incident_id));
    if (!incident) continue;
    const config::Plan* plan = config.plan(incident->plan);
    if (!plan) continue;  // the plan left the config: its clocks have no deadline to judge by
    auto spec = std::find_if(plan->clocks.begin(), plan->clocks.end(),
                             [&](const config::PlanClock& c) { return c.name == clock.name; });
    if (spec == plan->clocks.end() || spec->within == core::Duration{}) continue;  // reminders have no deadline
    report.clocks.push_back(clock_status(*spec, *incident, clock, now));
  }
  for (const auto& r : report.reviews) {
    report.summary.reviews_overdue += r.overdue ? 1 : 0;
    report.summary.reviews_due_soon += r.due_soon ? 1 : 0;
  }
  for (const auto& d : report.drills) report.summary.drills_overdue += d.overdue ? 1 : 0;
  for (const auto& c : report.clocks) {
    report.summary.clocks_met += c.outcome == ClockOutcome::kMet ? 1 : 0;
    report.summary.clocks_missed += c.outcome == ClockOutcome::kMissed ? 1 : 0;
    report.summary.clocks_running += c.outcome == ClockOutcome::kRunning ? 1 : 0;
  }
  return report;
}

std::string render_compliance_summary(const ComplianceSummary& summary) {
  std::string out;
  auto gauge = [&](std::string_view name, std::string_view help, int value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, value);
  };
  gauge("tocsin_compliance_reviews_overdue", "Plans past their review date (GET /api/v1/compliance).",
        summary.reviews_overdue);
  gauge("tocsin_compliance_drills_overdue", "Plans whose next drill is due.", summary.drills_overdue);
  gauge("tocsin_compliance_clocks_missed", "Plan clocks whose deadline passed without the event that satisfies them.",
        summary.clocks_missed);
  gauge("tocsin_compliance_clocks_running", "Plan clocks with a deadline still ahead and not yet satisfied.",
        summary.clocks_running);
  return out;
}

}  // namespace tocsin::engine
