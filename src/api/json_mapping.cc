#include "api/json_mapping.h"

#include <nlohmann/json.hpp>

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
                     {"action", action_json(inc, t.step)}});
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

}  // namespace tocsin::api
