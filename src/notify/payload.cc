#include "notify/payload.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

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

std::string alertmanager_v4(const PageContext& page, std::string_view receiver) {
  const auto& inc = page.incident;
  json alerts = json::array();
  bool any_firing = false;
  // commonLabels: the label pairs every alert shares.
  std::optional<core::Labels> common;
  for (const auto& a : inc.alerts) {
    const bool firing = a.status == store::AlertState::kFiring;
    any_firing |= firing;
    alerts.push_back({{"status", firing ? "firing" : "resolved"},
                      {"labels", labels_json(a.labels)},
                      {"annotations", json::object()},
                      {"startsAt", core::format_rfc3339(a.added_at)},
                      {"endsAt", "0001-01-01T00:00:00Z"},
                      {"generatorURL", incident_url(page.external_url, inc.id)},
                      {"fingerprint", core::fingerprint_hex(a.fingerprint)}});
    if (!common) {
      common = a.labels;
    } else {
      core::Labels shared;
      for (const auto& l : *common) {
        if (a.labels.get(l.name) == std::optional<std::string_view>(l.value)) shared.set(l.name, l.value);
      }
      common = shared;
    }
  }
  json body = {{"version", "4"},
               {"groupKey", inc.group_key},
               {"truncatedAlerts", 0},
               {"status", any_firing ? "firing" : "resolved"},
               {"receiver", receiver},
               {"groupLabels", json::object()},
               {"commonLabels", labels_json(common.value_or(core::Labels{}))},
               {"commonAnnotations", {{"summary", summary_line(page)}}},
               {"externalURL", std::string(page.external_url)},
               {"alerts", alerts}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string slack_text(const PageContext& page) { return json{{"text", summary_line(page)}}.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace tocsin::notify
