#include "api/compliance_json.h"

#include <nlohmann/json.hpp>

#include "api/drill_json.h"
#include "core/csv.h"
#include "core/duration.h"

namespace tocsin::api {

using nlohmann::json;

namespace {
json time_or_null(const std::optional<core::Timestamp>& t) {
  return t ? json(core::format_rfc3339(*t)) : json(nullptr);
}
}  // namespace

json audit_entry_json(const store::AuditEntry& e) {
  return {{"id", std::to_string(e.id)}, {"at", core::format_rfc3339(e.at)},
          {"actor", e.actor},           {"action", e.action},
          {"object", e.object},         {"detail", e.detail},
          {"source", e.source}};
}

json audit_json(const std::vector<store::AuditEntry>& entries, bool truncated) {
  json list = json::array();
  for (const auto& e : entries) list.push_back(audit_entry_json(e));
  return {{"entries", list}, {"count", entries.size()}, {"truncated", truncated}};
}

std::string audit_csv(const std::vector<store::AuditEntry>& entries) {
  std::string out = core::csv_record({"id", "at", "actor", "action", "object", "detail", "source"});
  for (const auto& e : entries) {
    out += core::csv_record({std::to_string(e.id), core::format_rfc3339(e.at), e.actor, e.action, e.object, e.detail, e.source});
  }
  return out;
}

json compliance_json(const engine::ComplianceReport& report) {
  json reviews = json::array();
  for (const auto& r : report.reviews) {
    reviews.push_back({{"plan", r.plan},
                       {"every", core::format_duration(r.every)},
                       {"reviewed", time_or_null(r.reviewed)},
                       {"due_at", r.reviewed ? json(core::format_rfc3339(r.due_at)) : json(nullptr)},
                       {"overdue", r.overdue},
                       {"due_soon", r.due_soon}});
  }
  json drills = json::array();
  for (const auto& d : report.drills) drills.push_back(drill_calendar_json(d, report.at));
  json clocks = json::array();
  for (const auto& c : report.clocks) {
    clocks.push_back({{"incident", std::to_string(c.incident_id)},
                      {"title", c.incident_title},
                      {"plan", c.plan},
                      {"clock", c.clock},
                      {"within", core::format_duration(c.within)},
                      {"started_at", core::format_rfc3339(c.started_at)},
                      {"deadline", core::format_rfc3339(c.deadline)},
                      {"satisfied_by", c.satisfied_by},
                      {"satisfied_at", time_or_null(c.satisfied_at)},
                      {"status", engine::to_string(c.outcome)},
                      {"time_left", c.time_left ? json(core::format_duration(*c.time_left)) : json(nullptr)}});
  }
  const auto& s = report.summary;
  return {{"at", core::format_rfc3339(report.at)},
          {"reviews", reviews},
          {"drills", drills},
          {"clocks", clocks},
          {"summary",
           {{"reviews_overdue", s.reviews_overdue},
            {"reviews_due_soon", s.reviews_due_soon},
            {"drills_overdue", s.drills_overdue},
            {"clocks_met", s.clocks_met},
            {"clocks_missed", s.clocks_missed},
            {"clocks_running", s.clocks_running}}}};
}

}  // namespace tocsin::api
