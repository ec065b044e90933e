#include "api/json_mapping.h"

#include <nlohmann/json.hpp>

namespace tocsin::api {

using nlohmann::json;

namespace {

json time_or_null(const std::optional<core::Timestamp>& t) {
  return t ? json(core::format_rfc3339(*t)) : json(nullptr);
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
                     {"done_at", time_or_null(t.done_at)}});
  }
  json timeline = json::array();
  for (const auto& e : inc.timeline) {
    timeline.push_back({{"at", core::format_rfc3339(e.at)}, {"kind", e.kind}, {"actor", e.actor}, {"detail", e.detail}});
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
          {"alerts", alerts},
          {"tasks", tasks},
          {"timeline", timeline}};
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

}  // namespace tocsin::api
