#include "engine/drill_calendar.h"

#include <fmt/format.h>

#include "core/labels.h"

namespace tocsin::engine {

std::vector<DrillCalendarEntry> drill_calendar(const config::Config& config,
                                               const std::map<std::string, core::Timestamp>& last_runs,
                                               core::Timestamp now) {
  std::vector<DrillCalendarEntry> out;
  for (const auto& plan : config.plans) {
    if (!plan.drill) continue;
    DrillCalendarEntry e;
    e.plan = plan.id;
    e.every = plan.drill->every;
    e.scenario = plan.drill->scenario;
    if (auto it = last_runs.find(plan.id); it != last_runs.end()) e.last_run = it->second;
    e.next_due = *config::drill_due(plan, e.last_run);
    e.overdue = e.next_due <= now;
    out.push_back(std::move(e));
  }
  return out;
}

std::string render_drill_calendar(const std::vector<DrillCalendarEntry>& calendar) {
  if (calendar.empty()) return "";
  std::string overdue;
  std::string due_at;
  for (const auto& e : calendar) {
    const std::string label = core::escape_label_value(e.plan);
    overdue += fmt::format("tocsin_plan_drill_overdue{{plan=\"{}\"}} {}\n", label, e.overdue ? 1 : 0);
    due_at += fmt::format("tocsin_plan_drill_due_timestamp_seconds{{plan=\"{}\"}} {}\n", label,
                          e.last_run ? static_cast<double>(core::to_unix_ms(e.next_due)) / 1000.0 : 0.0);
  }
  return "# HELP tocsin_plan_drill_overdue 1 when the plan's next drill is due (last drill + drill.every, or never "
         "drilled).\n"
         "# TYPE tocsin_plan_drill_overdue gauge\n" +
         overdue +
         "# HELP tocsin_plan_drill_due_timestamp_seconds When the plan's next drill is due (0: never drilled).\n"
         "# TYPE tocsin_plan_drill_due_timestamp_seconds gauge\n" +
         due_at;
}

}  // namespace tocsin::engine
