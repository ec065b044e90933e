#include "escalation/deadlines.h"

#include <fmt/format.h>

#include "core/duration.h"

namespace tocsin::escalation {

std::optional<config::Target> Deadlines::role_target(const store::Incident& inc, std::string_view role) const {
  const config::Plan* plan = config_->plan(inc.plan);
  const config::Target* target = plan ? plan->role_target(role) : nullptr;
  return target ? std::optional<config::Target>(*target) : std::nullopt;
}

core::Result<int> Deadlines::update(store::Tx& tx, core::Timestamp now) const {
  int fired = 0;
  for (auto& [incident_id, task] : TOCSIN_TRY(tx.overdue_tasks(now, 100))) {
    auto inc = TOCSIN_TRY(tx.get_incident(incident_id));
    if (!inc) continue;
    task.overdue_at = now;
    TOCSIN_RETURN_IF_ERROR(tx.update_task(incident_id, task));
    TOCSIN_TRY(tx.append_timeline({0, incident_id, now, "task_overdue", "tocsin",
                                   fmt::format("{}: {} (owner {}, due {})", task.step, task.title, task.owner,
                                               core::format_rfc3339(task.due_at))}));
    // The person it was assigned to; without one, whoever fills the owner role now.
    std::optional<config::Target> target;
    if (!task.assignee.empty()) {
      target = config::Target{config::Target::Kind::kPerson, task.assignee};
    } else {
      target = role_target(*inc, task.owner);
    }
    if (target) TOCSIN_TRY(escalator_.page(tx, *inc, *target, fmt::format("task {} is overdue", task.step), now));
    ++fired;
  }
  for (auto& clock : TOCSIN_TRY(tx.due_clocks(now, 100))) {
    auto inc = TOCSIN_TRY(tx.get_incident(clock.incident_id));
    const config::Plan* plan = inc ? config_->plan(inc->plan) : nullptr;
    const config::PlanClock* spec = nullptr;
    if (plan) {
      for (const auto& c : plan->clocks) {
        if (c.name == clock.name) spec = &c;
      }
    }
    if (!spec || !inc) {  // the plan or clock left the config: nothing to fire
      clock.next_at.reset();
      TOCSIN_RETURN_IF_ERROR(tx.upsert_clock(clock));
      continue;
    }
    const core::Timestamp due = *clock.next_at;
    ++clock.fired;
    std::string why;
    if (spec->within != core::Duration{}) {
      clock.next_at.reset();
      why = fmt::format("{}: the deadline of {} from {} passed at {}", spec->name, core::format_duration(spec->within),
                        spec->from, core::format_rfc3339(due));
      TOCSIN_TRY(tx.append_timeline({0, inc->id, now, "clock_expired", "tocsin", why}));
    } else {
      // Catch up after downtime without firing once per missed period.
      while (*clock.next_at <= now) *clock.next_at += spec->every;
      why = fmt::format("{}: due (every {}; #{})", spec->name, core::format_duration(spec->every), clock.fired);
      TOCSIN_TRY(tx.append_timeline({0, inc->id, now, "clock_reminder", "tocsin", why}));
    }
    TOCSIN_RETURN_IF_ERROR(tx.upsert_clock(clock));
    if (!spec->owner.empty()) {
      if (auto target = role_target(*inc, spec->owner)) TOCSIN_TRY(escalator_.page(tx, *inc, *target, why, now));
    }
    ++fired;
  }
  return fired;
}

}  // namespace tocsin::escalation
