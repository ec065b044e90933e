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
                     {"done_at", time_or_null(t.done_at)},
                     {"done_by", t.done_by.empty() ? json(nullptr) : json(t.done_by)},
                     {"overdue", t.overdue_at.has_value()}});
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
          {"alerts", alerts},
          {"tasks", tasks},
          {"related", related},
          {"clocks", clocks},
          {"timeline", timeline}};
}

}  // namespace tocsin::api
