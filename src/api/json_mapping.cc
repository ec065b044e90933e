#include "api/json_mapping.h"

#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "notify/payload.h"
#include "notify/template.h"

namespace tocsin::api {

using nlohmann::json;

namespace {

json time_or_null(const std::optional<core::Timestamp>& t) {
  return t ? json(core::format_rfc3339(*t)) : json(nullptr);
}

// A task's automated action, or null when its step has none.
json action_json(const store::Incident& inc, std::string_view step) {
  for (const auto& a : inc.actions) {
    if (a.step != step) continue;
    return {{"type", a.type},
            {"state", store::to_string(a.state)},
            {"attempts", a.attempts},
            {"approved_by", a.approved_by.empty() ? json(nullptr) : json(a.approved_by)},
            {"approved_at", time_or_null(a.approved_at)},
            {"last_result", a.last_result},
            {"last_output", a.last_output},
            {"next_attempt_at",
             a.state == store::ActionState::kPending ? json(core::format_rfc3339(a.next_attempt_at)) : json(nullptr)},
            {"finished_at", time_or_null(a.finished_at)}};
  }
  return nullptr;
}

}  // namespace

json incident_json(const store::Incident& inc) {
  json alerts = json::array();
  for (const auto& a : inc.alerts) {
    json labels = json::object();
    for (const auto& l : a.labels) labels[l.name] = l.value;
    alerts.push_back({{"fingerprint", core::fingerprint_hex(a.fingerprint)},
                      {"labels", labels},
                      {"status", store::to_string(a.status)}});
  }
  json tasks = json::array();
  for (const auto& t : inc.tasks) {
    tasks.push_back({{"step", t.step},
                     {"title", t.title},
                     {"owner", t.owner},
                     {"assignee", t.assignee},
                     {"due_at", core::format_rfc3339(t.due_at)},
                     {"status", store::to_string(t.status)},
                     {"done_at", time_or_null(t.done_at)},
                     {"done_by", t.done_by.empty() ? json(nullptr) : json(t.done_by)},
                     {"overdue", t.overdue_at.has_value()},

                     {"action", action_json(inc, t.step)}});
  }
  json timeline = json::array();
  for (const auto& e : inc.timeline) {
    timeline.push_back({{"at", core::format_rfc3339(e.at)}, {"kind", e.kind}, {"actor", e.actor}, {"detail", e.detail}});
  }
  json related = json::array();
  for (int64_t r : inc.related) related.push_back(std::to_string(r));
  json clocks = json::array();
  for (const auto& c : inc.clocks) {
    clocks.push_back({{"name", c.name},
                      {"started_at", core::format_rfc3339(c.started_at)},
                      {"next_at", time_or_null(c.next_at)},
                      {"fired", c.fired}});
  }
  return {{"id", std::to_string(inc.id)},
          {"title", inc.title},
          {"plan", inc.plan},
          {"severity", inc.severity},
          {"status", store::to_string(inc.status)},
          {"opened_at", core::format_rfc3339(inc.opened_at)},
          {"acknowledged_at", time_or_null(inc.acknowledged_at)},
          {"mitigated_at", time_or_null(inc.mitigated_at)},
          {"resolved_at", time_or_null(inc.resolved_at)},
          {"closed_at", time_or_null(inc.closed_at)},
          {"drill", inc.drill.empty() ? json(nullptr) : json(inc.drill)},
          {"alerts", alerts},
          {"tasks", tasks},
          {"related", related},
          {"clocks", clocks},
          {"timeline", timeline}};
}

json communications_json(const config::Plan& plan, const store::Incident& inc, std::string_view external_url) {
  notify::TemplateValue::Map data;
  // Labels every alert of the incident has, with the same value.
  std::map<std::string, std::string> common;
  for (size_t i = 0; i < inc.alerts.size(); ++i) {
    std::map<std::string, std::string> here;
    for (const auto& l : inc.alerts[i].labels) here[l.name] = l.value;
    if (i == 0) {
      common = std::move(here);
    } else {
      std::erase_if(common, [&](const auto& kv) {
        auto it = here.find(kv.first);
        return it == here.end() || it->second != kv.second;
      });
    }
  }
  for (const auto& [k, v] : common) data.emplace(k, notify::TemplateValue(v));
  data.emplace("Incident", notify::TemplateValue(notify::TemplateValue::Map{
                               {"ID", notify::TemplateValue(std::to_string(inc.id))},
                               {"Title", notify::TemplateValue(inc.title)},
                               {"Plan", notify::TemplateValue(inc.plan)},
                               {"Severity", notify::TemplateValue(inc.severity)},
                               {"Status", notify::TemplateValue(std::string(store::to_string(inc.status)))},
                               {"URL", notify::TemplateValue(notify::incident_url(external_url, inc.id))}}));
  const notify::TemplateValue root(std::move(data));
  json out = json::object();
  for (const auto& [name, text] : plan.communications) {
    auto t = notify::Template::parse(text);
    if (!t) {
      out[name] = "(template error: " + t.error().message() + ")";
      continue;
    }
    auto rendered = t->render(root);
    out[name] = rendered ? *rendered : "(template error: " + rendered.error().message() + ")";
  }
  return out;
}

json plan_json(const config::Plan& plan, core::Timestamp now,
               const std::function<std::string(const config::Target&)>& who_fills) {
  auto duration = [](core::Duration d) { return core::format_duration(d); };
  json match = json::array();
  for (const auto& m : plan.match) match.push_back(m.to_string());
  json roles = json::array();
  for (const auto& [name, target] : plan.roles) {
    const std::string person = who_fills(target);
    roles.push_back({{"role", name}, {"target", target.to_string()}, {"now", person.empty() ? json(nullptr) : json(person)}});
  }
  json steps = json::array();
  for (const auto& step : plan.steps) {
    json s = {{"id", step.id},      {"title", step.title},         {"owner", step.owner},
              {"due", duration(step.due)}, {"checklist", step.checklist}, {"action", nullptr}};
    if (step.action) {
      s["action"] = {{"type", step.action->type == config::StepAction::Type::kWebhook ? "webhook" : "command"},
                     {"approve", step.action->approve},
                     {"timeout", duration(step.action->timeout)}};
    }
    steps.push_back(std::move(s));
  }
  json resources = json::array();
  for (const auto& r : plan.resources) resources.push_back({{"name", r.name}, {"kind", r.kind}, {"ref", r.ref}});
  json clocks = json::array();
  for (const auto& c : plan.clocks) {
    json clock = {{"name", c.name}, {"from", c.from}, {"owner", c.owner}};
    if (c.within != core::Duration{}) clock["within"] = duration(c.within);
    if (c.every != core::Duration{}) clock["every"] = duration(c.every);
    if (!c.until.empty()) clock["until"] = c.until;
    clocks.push_back(std::move(clock));
  }
  const auto due = config::review_due(plan);
  json review = {{"every", plan.review_every == core::Duration{} ? json(nullptr) : json(duration(plan.review_every))},
                 {"reviewed", plan.reviewed ? json(core::format_rfc3339(std::chrono::time_point_cast<core::Duration>(
                                                                            std::chrono::sys_time<core::Duration>(*plan.reviewed)))
                                                                            .substr(0, 10))
                                            : json(nullptr)},
                 {"due_at", due && plan.reviewed ? json(core::format_rfc3339(*due)) : json(nullptr)},
                 {"overdue", due.has_value() && *due <= now}};
  return {{"id", plan.id},
          {"title", plan.title},
          {"file", plan.file},
          {"severity", plan.severity},
          {"escalation", plan.escalation},
          {"match", match},
          {"roles", roles},
          {"steps", steps},
          {"resources", resources},
          {"communications", plan.communications},
          {"clocks", clocks},
          {"review", review}};
}

json schedule_on_call_json(const config::Schedule& schedule, const oncall::CurrentShifts& current,
                           const config::Config& config) {
  json on_call = json::array();
  for (const oncall::Shift& shift : current.on_call) {
    const config::Person* person = config.person(shift.person);
    on_call.push_back({{"person", shift.person},
                       {"name", person && !person->name.empty() ? person->name : shift.person},
                       {"from", core::format_rfc3339(shift.start)},
                       {"until", core::format_rfc3339(shift.end)},
                       {"source", shift.source}});
  }
  return {{"id", schedule.id},
          {"timezone", schedule.timezone},
          {"on_call", on_call},
          {"next_handoff", time_or_null(current.next_handoff)}};
}

json people_json(const config::Config& config) {
  json people = json::array();
  for (const config::Person& p : config.people) {
    people.push_back({{"id", p.id}, {"name", p.name.empty() ? p.id : p.name}, {"timezone", p.timezone}});
  }
  return {{"people", people}};
}

}  // namespace tocsin::api
