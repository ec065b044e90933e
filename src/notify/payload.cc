#include "notify/payload.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "notify/group_message.h"

namespace tocsin::notify {

using nlohmann::json;

namespace {

json labels_json(const core::Labels& labels) {
  json out = json::object();
  for (const auto& l : labels) out[l.name] = l.value;
  return out;
}

std::string summary_line(const PageContext& page) {
  return fmt::format("[{}] Incident #{}: {} ({}, {})", page.incident.severity, page.incident.id, page.incident.title,
                     store::to_string(page.incident.status), incident_url(page.external_url, page.incident.id));
}

}  // namespace

std::string incident_url(std::string_view external_url, int64_t id) {
  std::string base(external_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return fmt::format("{}/#/incidents/{}", base, id);
}

std::string tocsin_json(const PageContext& page) {
  const auto& inc = page.incident;
  json alerts = json::array();
  for (const auto& a : inc.alerts) {
    alerts.push_back({{"fingerprint", core::fingerprint_hex(a.fingerprint)},
                      {"labels", labels_json(a.labels)},
                      {"status", store::to_string(a.status)}});
  }
  json body = {{"version", "1"},
               {"event", "incident.page"},
               {"summary", summary_line(page)},
               {"incident",
                {{"id", std::to_string(inc.id)},
                 {"title", inc.title},
                 {"plan", inc.plan},
                 {"severity", inc.severity},
                 {"status", store::to_string(inc.status)},
                 {"opened_at", core::format_rfc3339(inc.opened_at)},
                 {"url", incident_url(page.external_url, inc.id)}}},
               {"target", page.target},
               {"recipient", page.recipient},
               {"escalation", {{"level", page.level}, {"pass", page.pass}}},
               {"alerts", alerts}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The incident's alerts as one Alertmanager group, so the body is the same as a notify-only
// route's (group_message.h); each alert carries the page's summary, which makes it the group's
// commonAnnotations.summary.
std::string alertmanager_v4(const PageContext& page, std::string_view receiver) {
  const auto& inc = page.incident;
  GroupMessage m;
  m.receiver = std::string(receiver);
  m.group_key = inc.group_key;
  m.external_url = page.external_url;
  const std::string summary = summary_line(page);
  for (const auto& a : inc.alerts) {
    m.alerts.push_back({.fingerprint = a.fingerprint,
                        .labels = a.labels,
                        .annotations = {{"summary", summary}},
                        .firing = a.status == store::AlertState::kFiring,
                        .starts_at = a.added_at,
                        .ends_at = std::nullopt,
                        .generator_url = incident_url(page.external_url, inc.id)});
  }
  return alertmanager_v4_group(m);
}

std::string slack_text(const PageContext& page) { return json{{"text", summary_line(page)}}.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace tocsin::notify
