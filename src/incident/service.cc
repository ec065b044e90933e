#include "incident/service.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "core/duration.h"
#include "core/log.h"
#include "incident/lifecycle.h"
#include "oncall/schedule.h"

namespace tocsin::incident {

using store::AlertState;
using store::IncidentStatus;

namespace {

store::AlertRecord to_record(const detect::AlertEvent& e, AlertState state, core::Timestamp now) {
  store::AlertRecord r;
  r.fingerprint = e.fingerprint;
  r.rule = e.rule;
  r.labels = e.labels;
  r.annotations = e.annotations;
  r.state = state;
  r.value = e.value;
  r.active_at = e.active_at;
  r.updated_at = now;
  return r;
}

std::string describe_alert(const alerting::Alert& a) {
  if (a.rule.empty()) return fmt::format("{} {}", a.labels.get_or("alertname", "alert"), a.labels.to_string());
  return fmt::format("{} {} (value {})", a.rule, a.labels.to_string(), a.value);
}

}  // namespace

core::Status IncidentService::record_pending(store::Tx& tx, const std::vector<detect::AlertEvent>& events,
                                             core::Timestamp now) const {
  for (const auto& e : events) {
    if (e.to != detect::AlertPhase::kPending && e.to != detect::AlertPhase::kInactive) continue;
    auto existing = TOCSIN_TRY(tx.get_alert(e.fingerprint));
    // A record the pipeline holds as firing is left alone; the pipeline owns it.
    if (existing && existing->state == AlertState::kFiring) continue;
    store::AlertRecord r = to_record(e, e.to == detect::AlertPhase::kPending ? AlertState::kPending : AlertState::kResolved,
                                     now);
    if (e.to == detect::AlertPhase::kInactive) {
      // A pending alert that never fired: keep the record, marked resolved, for history.
      r.resolved_at = e.at;
      r.ends_at = e.at;
    }
    TOCSIN_RETURN_IF_ERROR(tx.upsert_alert(r));
  }
  return {};
}

core::Result<std::vector<int64_t>> IncidentService::link(store::Tx& tx, const std::vector<alerting::AlertChange>& changes,
                                                         alerting::Pipeline& pipeline, core::Timestamp now) const {
  std::vector<int64_t> opened;
  for (const auto& c : changes) {
    const alerting::Alert* a = pipeline.find(c.fingerprint);
    if (!a) continue;
    if (c.firing && !c.muted && c.plan && !a->incident_id) {
      // Another replica sharing the store may have linked this firing already (Prometheus sends
      // every alert to each): join what the store says rather than adding it again.
      if (auto stored = TOCSIN_TRY(tx.get_alert(c.fingerprint));
          stored && stored->incident_id && stored->state == store::AlertState::kFiring &&
          !alerting::resolved_at(*stored, now)) {
        pipeline.set_incident(c.fingerprint, *stored->incident_id);
        continue;
      }
      if (auto id = TOCSIN_TRY(on_firing(tx, *c.plan, *a, pipeline, now))) opened.push_back(*id);
    } else if (!c.firing && c.was_firing && a->incident_id) {
      TOCSIN_RETURN_IF_ERROR(on_resolved(tx, *a, now));
    }
  }
  return opened;
}

const config::Plan* IncidentService::plan_for(const core::Labels& labels) const {
  for (const auto& plan : config_->plans) {
    if (!plan.match.empty() && core::matches_all(plan.match, labels)) return &plan;
  }
  return nullptr;
}

std::string IncidentService::group_key(const config::Plan& plan, const core::Labels& labels) const {
  // Until the Alertmanager grouping stage exists, alerts group per plan by the root route's
  // group_by labels (or by alertname when no routes are configured).
  std::vector<std::string> by{"alertname"};
  if (config_->routes && !config_->routes->group_by_all && !config_->routes->group_by.empty()) {
    by = config_->routes->group_by;
  }
  std::string key = plan.id;
  for (const auto& name : by) key += fmt::format("|{}={}", name, labels.get_or(name, ""));
  // A drill's alerts never join a real incident, nor real alerts a drill's, whatever group_by says.
  if (auto drill = labels.get(store::kDrillLabel)) key += fmt::format("|{}={}", store::kDrillLabel, *drill);
  return key;
}

bool DrillScope::may_page(std::string_view person) const {
  return running && std::find(participants.begin(), participants.end(), person) != participants.end();
}

core::Result<DrillScope> IncidentService::drill_scope(store::Tx& tx, std::string_view drill) const {
  DrillScope scope;
  scope.drill = std::string(drill);
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(drill.data(), drill.data() + drill.size(), id);
  std::optional<store::LiveDrill> live;
  if (ec == std::errc() && ptr == drill.data() + drill.size() && id > 0) live = TOCSIN_TRY(tx.get_live_drill(id));
  if (!live) {
    scope.why_not = fmt::format("no live drill \"{}\" is registered", drill);
  } else if (live->finished_at) {
    scope.why_not = fmt::format("live drill {} finished at {}", id, core::format_rfc3339(*live->finished_at));
  } else {
    scope.running = true;
    scope.participants = std::move(live->participants);
  }
  return scope;
}

std::string IncidentService::resolve_person(const config::Target& target, core::Timestamp now) const {
  switch (target.kind) {
    case config::Target::Kind::kPerson: return target.id;
    case config::Target::Kind::kSchedule: {
      const config::Schedule* schedule = config_->schedule(target.id);
      if (!schedule) return "";
      auto people = oncall::on_call(*schedule, now);
      if (!people) {
        core::log::warn("on-call lookup failed", {{"schedule", target.id}, {"error", people.error().to_string()}});
        return "";
      }
      return people->empty() ? "" : people->front();
    }
    case config::Target::Kind::kChannel: return "";
  }
  return "";
}

core::Result<std::optional<int64_t>> IncidentService::on_firing(store::Tx& tx, const config::Plan& plan,
                                                                const alerting::Alert& a, alerting::Pipeline& pipeline,
                                                                core::Timestamp now) const {
  std::string key = group_key(plan, a.labels);
  std::optional<int64_t> opened;
  auto existing = TOCSIN_TRY(tx.find_open_incident(key));
  int64_t incident_id;
  if (existing) {
    incident_id = existing->id;
    TOCSIN_TRY(tx.append_timeline({0, incident_id, now, "alert_added", "tocsin", describe_alert(a)}));
  } else {
    incident_id = TOCSIN_TRY(open(tx, plan, a, std::move(key), now));
    opened = incident_id;
  }
  pipeline.set_incident(a.fingerprint, incident_id);
  TOCSIN_RETURN_IF_ERROR(tx.upsert_incident_alert(incident_id, {a.fingerprint, a.labels, AlertState::kFiring, now}));
  return opened;
}

core::Result<int64_t> IncidentService::open(store::Tx& tx, const config::Plan& plan, const alerting::Alert& e,
                                            std::string key, core::Timestamp now) const {
  store::Incident inc;
  auto summary = e.annotations.find("summary");
  inc.title = summary != e.annotations.end() && !summary->second.empty()
                  ? fmt::format("{}: {}", plan.title, summary->second)
                  : fmt::format("{}: {} {}", plan.title, e.labels.get_or("alertname", e.rule),
                                e.labels.get_or("instance", e.labels.get_or("service", "")));
  inc.drill = std::string(e.labels.get_or(store::kDrillLabel, ""));
  if (!inc.drill.empty()) inc.title = "[DRILL] " + inc.title;
  inc.plan = plan.id;
  inc.severity = plan.severity;
  inc.status = IncidentStatus::kTriggered;
  inc.group_key = std::move(key);
  inc.opened_at = now;
  inc.escalation_policy = plan.escalation;
  if (const auto* policy = config_->escalation_policy(plan.escalation); policy && !policy->levels.empty()) {
    inc.escalation_next_at = now + policy->levels.front().after;
  }
  const int64_t id = TOCSIN_TRY(tx.insert_incident(inc));
  inc.id = id;
  TOCSIN_RETURN_IF_ERROR(append_event(tx, inc, "opened", "tocsin",
                                      fmt::format("plan {} activated by {}; condition held since {}", plan.id,
                                                  describe_alert(e), core::format_rfc3339(e.active_at)),
                                      now));
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& step = plan.steps[i];
    store::Task task;
    task.step = step.id;
    task.ord = static_cast<int>(i);
    task.title = step.title;
    task.owner = step.owner;
    if (const config::Target* owner = plan.role_target(step.owner)) task.assignee = resolve_person(*owner, now);
    task.due_at = now + step.due;
    TOCSIN_RETURN_IF_ERROR(tx.insert_task(id, task));
  }
  for (const auto& [role, target] : plan.roles) {
    const std::string person = resolve_person(target, now);
    TOCSIN_TRY(tx.append_timeline({0, id, now, "role_assigned", "tocsin",
                                   fmt::format("{}: {} ({})", role, person.empty() ? "nobody" : person,
                                               target.to_string())}));
  }
  if (!inc.drill.empty()) {
    const DrillScope scope = TOCSIN_TRY(drill_scope(tx, inc.drill));
    std::string participants;
    for (const auto& p : scope.participants) participants += (participants.empty() ? "" : ", ") + p;
    TOCSIN_TRY(tx.append_timeline(
        {0, id, now, "drill", "tocsin",
         scope.running ? fmt::format("live drill {}: pages go only to its participants ({})", inc.drill, participants)
                       : fmt::format("{}: this drill incident pages nobody", scope.why_not)}));
  }
  for (const auto& step : plan.steps) {
    if (!step.action) continue;
    if (!inc.drill.empty()) {
      // A drill rehearses people and the plan; it must not fail over or block anything for real.
      TOCSIN_TRY(tx.append_timeline({0, id, now, "action_skipped", "tocsin",
                                     fmt::format("{}: automated actions do not run in a drill", step.id)}));
      continue;
    }
    TOCSIN_RETURN_IF_ERROR(create_action_run(tx, id, step, now));
  }
  core::log::info("incident opened",
                  {{"id", std::to_string(id)}, {"plan", plan.id}, {"alert", std::string(e.labels.get_or("alertname", e.rule))}});
  return id;
}

core::Status IncidentService::create_action_run(store::Tx& tx, int64_t incident_id, const config::Step& step,
                                                core::Timestamp now) const {
  // The action layer runs it from here (action/runner.h): at once, or once a person approves.
  store::ActionRun run;
  run.incident_id = incident_id;
  run.step = step.id;
  run.type = step.action->type == config::StepAction::Type::kWebhook ? "webhook" : "command";
  run.state = step.action->approve ? store::ActionState::kAwaitingApproval : store::ActionState::kPending;
  run.created_at = now;
  run.next_attempt_at = now;
  TOCSIN_RETURN_IF_ERROR(tx.insert_action_run(run));
  if (step.action->approve) {
    TOCSIN_TRY(tx.append_timeline({0, incident_id, now, "action_awaiting_approval", "tocsin",
                                   fmt::format("{}: the {} action waits for approval", step.id, run.type)}));
  }
  return {};
}

core::Status IncidentService::on_resolved(store::Tx& tx, const alerting::Alert& a, core::Timestamp now) const {
  auto inc = TOCSIN_TRY(tx.get_incident(*a.incident_id));
  if (!inc) return {};
  core::Timestamp added = now;
  for (const auto& ia : inc->alerts) {
    if (ia.fingerprint == a.fingerprint) added = ia.added_at;
  }
  TOCSIN_RETURN_IF_ERROR(tx.upsert_incident_alert(inc->id, {a.fingerprint, a.labels, AlertState::kResolved, added}));
  TOCSIN_TRY(tx.append_timeline({0, inc->id, now, "alert_resolved", "tocsin", describe_alert(a)}));
  return {};
}

core::Result<store::Incident> IncidentService::move(store::Tx& tx, int64_t id, IncidentStatus to, std::string_view actor,
                                                    core::Timestamp now) const {
  auto inc = TOCSIN_TRY(tx.get_incident(id));
  if (!inc) return std::unexpected(core::Error::not_found(fmt::format("no incident {}", id)));
  auto allowed = check_transition(inc->status, to);
  if (!allowed) {
    return std::unexpected(core::Error::failed_precondition(fmt::format("incident {}: {}", id, allowed.error().message())));
  }
  inc->status = to;
  switch (to) {
    case IncidentStatus::kAcknowledged: inc->acknowledged_at = now; break;
    case IncidentStatus::kMitigated: inc->mitigated_at = now; break;
    case IncidentStatus::kResolved: inc->resolved_at = now; break;
    case IncidentStatus::kClosed: inc->closed_at = now; break;
    case IncidentStatus::kTriggered: break;
  }
  if (to == IncidentStatus::kTriggered) {
    // Reopened: the ladder starts again, as for a new incident.
    inc->escalation_pass = 0;
    inc->escalation_next_level = 0;
    inc->escalation_next_at.reset();
    if (const auto* policy = config_->escalation_policy(inc->escalation_policy); policy && !policy->levels.empty()) {
      inc->escalation_next_at = now + policy->levels.front().after;
    }
  } else {
    // Acknowledging (or anything past it) stops the escalation ladder.
    inc->escalation_next_at.reset();
  }
  TOCSIN_RETURN_IF_ERROR(tx.update_incident(*inc));
  if (to == IncidentStatus::kResolved || to == IncidentStatus::kClosed) TOCSIN_RETURN_IF_ERROR(stop_clocks(tx, *inc));
  TOCSIN_RETURN_IF_ERROR(
      append_event(tx, *inc, to == IncidentStatus::kTriggered ? "reopened" : std::string(store::to_string(to)), actor,
                   "", now));
  return TOCSIN_TRY(tx.get_incident(id)).value();
}

core::Result<store::Incident> IncidentService::acknowledge(store::Tx& tx, int64_t id, std::string_view actor,
                                                           core::Timestamp now) const {
  return move(tx, id, IncidentStatus::kAcknowledged, actor, now);
}

core::Result<store::Incident> IncidentService::resolve(store::Tx& tx, int64_t id, std::string_view actor,
                                                       core::Timestamp now) const {
  return move(tx, id, IncidentStatus::kResolved, actor, now);
}

core::Result<store::Incident> IncidentService::add_note(store::Tx& tx, int64_t id, std::string_view actor,
                                                        std::string_view text, core::Timestamp now) const {
  TOCSIN_TRY(load(tx, id));  // not_found when there is no such incident
  TOCSIN_TRY(tx.append_timeline({0, id, now, "note", std::string(actor), std::string(text)}));
  return load(tx, id);
}

core::Result<store::Incident> IncidentService::load(store::Tx& tx, int64_t id) const {
  auto inc = TOCSIN_TRY(tx.get_incident(id));
  if (!inc) return std::unexpected(core::Error::not_found(fmt::format("no incident {}", id)));
  return std::move(*inc);
}

core::Result<store::Incident> IncidentService::mitigate(store::Tx& tx, int64_t id, std::string_view actor,
                                                        core::Timestamp now) const {
  return move(tx, id, IncidentStatus::kMitigated, actor, now);
}

core::Result<store::Incident> IncidentService::close(store::Tx& tx, int64_t id, std::string_view actor,
                                                     core::Timestamp now) const {
  return complete_postmortem(tx, id, actor, now);
}

core::Result<store::Incident> IncidentService::reopen(store::Tx& tx, int64_t id, std::string_view actor,
                                                      core::Timestamp now) const {
  return move(tx, id, IncidentStatus::kTriggered, actor, now);
}

core::Result<store::Incident> IncidentService::set_severity(store::Tx& tx, int64_t id, std::string_view severity,
                                                            std::string_view actor, core::Timestamp now) const {
  if (!config::is_valid_severity(severity)) {
    return std::unexpected(core::Error::invalid_argument(fmt::format(
        "unknown severity \"{}\": expected critical, major, minor, warning or info", severity)).field("severity"));
  }
  store::Incident inc = TOCSIN_TRY(load(tx, id));
  if (inc.severity == severity) {
    return std::unexpected(
        core::Error::failed_precondition(fmt::format("incident {} is already {}", id, severity)));
  }
  const std::string detail = fmt::format("{} → {}", inc.severity, severity);
  inc.severity = std::string(severity);
  TOCSIN_RETURN_IF_ERROR(tx.update_incident(inc));
  TOCSIN_RETURN_IF_ERROR(append_event(tx, inc, "severity_changed", actor, detail, now));
  return load(tx, id);
}

core::Result<store::Incident> IncidentService::relate(store::Tx& tx, int64_t id, int64_t other, std::string_view actor,
                                                      core::Timestamp now) const {
  if (id == other) {
    return std::unexpected(core::Error::invalid_argument("an incident cannot be related to itself").field("incident"));
  }
  store::Incident inc = TOCSIN_TRY(load(tx, id));
  auto found = TOCSIN_TRY(tx.get_incident(other));
  if (!found) return std::unexpected(core::Error::not_found(fmt::format("no incident {}", other)).field("incident"));
  // Related incidents form trees: walk everything already reachable from `id`.
  std::vector<int64_t> seen{id};
  std::map<int64_t, int64_t> via;
  for (size_t i = 0; i < seen.size(); ++i) {
    auto cur = TOCSIN_TRY(tx.get_incident(seen[i]));
    if (!cur) continue;
    for (int64_t next : cur->related) {
      if (std::find(seen.begin(), seen.end(), next) != seen.end()) continue;
      via[next] = seen[i];
      seen.push_back(next);
    }
  }
  if (std::find(inc.related.begin(), inc.related.end(), other) != inc.related.end()) {
    return std::unexpected(
        core::Error::failed_precondition(fmt::format("incidents {} and {} are already related", id, other)));
  }
  if (std::find(seen.begin(), seen.end(), other) != seen.end()) {
    std::string chain = std::to_string(other);
    for (int64_t at = other; via.contains(at);) {
      at = via[at];
      chain = std::to_string(at) + " → " + chain;
    }
    return std::unexpected(core::Error::failed_precondition(
        fmt::format("relating {} to {} would make a cycle: they are already related through {}", id, other, chain)));
  }
  TOCSIN_RETURN_IF_ERROR(tx.insert_link(id, other, now));
  TOCSIN_RETURN_IF_ERROR(append_event(tx, inc, "related", actor, fmt::format("related to incident {}", other), now));
  TOCSIN_RETURN_IF_ERROR(append_event(tx, *found, "related", actor, fmt::format("related to incident {}", id), now));
  return load(tx, id);
}

namespace {

// Kinds the service writes itself; a responder's milestone may not pretend to be one of them.
bool is_reserved_kind(std::string_view kind) {
  static constexpr std::string_view kReserved[] = {
      "opened", "acknowledged", "mitigated", "resolved", "closed", "reopened", "note", "alert_added",
      "alert_resolved", "role_assigned", "escalated", "notified", "notify_failed", "severity_changed", "related",
      "task_done", "task_skipped", "task_overdue", "clock_expired", "clock_reminder", "paged", "drill",
      "drill_page_skipped", "postmortem_edited", "postmortem_completed"};
  return std::find(std::begin(kReserved), std::end(kReserved), kind) != std::end(kReserved) ||
         kind.starts_with("action_");  // action_… covers action_item_added / _done / _reopened too
}

bool is_event_kind(std::string_view kind) {
  return !kind.empty() && kind.size() <= 64 && kind[0] >= 'a' && kind[0] <= 'z' &&
         std::all_of(kind.begin(), kind.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

}  // namespace

core::Result<store::Incident> IncidentService::record_event(store::Tx& tx, int64_t id, std::string_view kind,
                                                            std::string_view detail, std::string_view actor,
                                                            core::Timestamp now) const {
  if (!is_event_kind(kind)) {
    return std::unexpected(core::Error::invalid_argument(fmt::format(
        "bad event kind \"{}\": expected [a-z][a-z0-9_]* (e.g. breach_confirmed)", kind)).field("kind"));
  }
  if (is_reserved_kind(kind)) {
    return std::unexpected(core::Error::invalid_argument(fmt::format(
        "\"{}\" is written by tocsin itself; record a milestone of your own (e.g. breach_confirmed)", kind)).field("kind"));
  }
  store::Incident inc = TOCSIN_TRY(load(tx, id));
  if (inc.status == IncidentStatus::kClosed) {
    return std::unexpected(core::Error::failed_precondition(fmt::format("incident {} is closed", id)));
  }
  TOCSIN_RETURN_IF_ERROR(append_event(tx, inc, std::string(kind), actor, std::string(detail), now));
  return load(tx, id);
}

core::Result<store::Incident> IncidentService::complete_task(store::Tx& tx, int64_t id, std::string_view step,
                                                             bool skipped, std::string_view actor,
                                                             core::Timestamp now) const {
  store::Incident inc = TOCSIN_TRY(load(tx, id));
  auto task = std::find_if(inc.tasks.begin(), inc.tasks.end(), [&](const store::Task& t) { return t.step == step; });
  if (task == inc.tasks.end()) {
    return std::unexpected(core::Error::not_found(fmt::format("incident {} has no task \"{}\"", id, step)).field("step"));
  }
  if (task->status != store::TaskStatus::kOpen) {
    return std::unexpected(core::Error::failed_precondition(
        fmt::format("task \"{}\" is already {}", step, store::to_string(task->status))));
  }
  if (inc.status == IncidentStatus::kClosed) {
    return std::unexpected(core::Error::failed_precondition(fmt::format("incident {} is closed", id)));
  }
  task->status = skipped ? store::TaskStatus::kSkipped : store::TaskStatus::kDone;
  task->done_at = now;
  task->done_by = std::string(actor);
  TOCSIN_RETURN_IF_ERROR(tx.update_task(id, *task));
  const bool late = now > task->due_at;
  TOCSIN_RETURN_IF_ERROR(append_event(tx, inc, skipped ? "task_skipped" : "task_done", actor,
                                      fmt::format("{}: {}{}", step, task->title, late ? " (after its due time)" : ""),
                                      now, fmt::format("task_done:{}", step)));
  return load(tx, id);
}

core::Status IncidentService::append_event(store::Tx& tx, const store::Incident& inc, std::string kind,
                                           std::string_view actor, std::string detail, core::Timestamp now,
                                           std::string_view clock_key) const {
  TOCSIN_TRY(tx.append_timeline({0, inc.id, now, kind, std::string(actor), std::move(detail)}));
  const config::Plan* plan = config_->plan(inc.plan);
  if (!plan || plan->clocks.empty()) return {};
  // Skipped tasks don't count as done for clocks.
  const std::string_view key = kind == "task_skipped" ? std::string_view{} : (clock_key.empty() ? kind : clock_key);
  if (key.empty()) return {};
  for (const auto& clock : plan->clocks) {
    auto existing = std::find_if(inc.clocks.begin(), inc.clocks.end(),
                                 [&](const store::IncidentClock& c) { return c.name == clock.name; });
    if (clock.until == key && existing != inc.clocks.end() && existing->next_at) {
      store::IncidentClock stopped = *existing;
      stopped.next_at.reset();
      TOCSIN_RETURN_IF_ERROR(tx.upsert_clock(stopped));
      TOCSIN_TRY(tx.append_timeline({0, inc.id, now, "clock_stopped", "tocsin",
                                     fmt::format("{}: stopped by {}", clock.name, key)}));
    }
    // A clock starts once, at the first event of its kind.
    if (clock.from == key && existing == inc.clocks.end()) {
      const core::Duration first = clock.within != core::Duration{} ? clock.within : clock.every;
      TOCSIN_RETURN_IF_ERROR(tx.upsert_clock({inc.id, clock.name, now, now + first, 0}));
      TOCSIN_TRY(tx.append_timeline(
          {0, inc.id, now, "clock_started", "tocsin",
           clock.within != core::Duration{}
               ? fmt::format("{}: due within {} (by {})", clock.name, core::format_duration(clock.within),
                             core::format_rfc3339(now + first))
               : fmt::format("{}: every {}", clock.name, core::format_duration(clock.every))}));
    }
  }
  return {};
}

core::Status IncidentService::stop_clocks(store::Tx& tx, const store::Incident& inc) const {
  for (auto c : inc.clocks) {
    if (!c.next_at) continue;
    c.next_at.reset();
    TOCSIN_RETURN_IF_ERROR(tx.upsert_clock(c));
  }
  return {};
}

}  // namespace tocsin::incident
