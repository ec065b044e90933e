// The bodies tocsin sends. Two webhook formats (SPEC §1 channel):
//  - tocsin JSON: {"version": "1", "event": "incident.page", "incident": {...}, "target": ..., "alerts": [...]}
//  - Alertmanager webhook v4: what Alertmanager itself posts, so existing receivers work unchanged.
// And Slack incoming-webhook JSON (blocks with an Acknowledge button), and email: a JSON object
// {"subject", "text", "html"} that the email sender turns into a MIME message.
// Every page carries the incident's acknowledge link when the PageContext has one (ack_link.h).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "store/store.h"

namespace tocsin::notify {

struct PageContext {
  const store::Incident& incident;  // with alerts
  std::string target;               // "person:alice"
  std::string recipient;            // person id, or channel name
  std::string external_url;         // base URL for links
  int level = 0;                    // 1-based escalation level
  int pass = 0;                     // 1-based pass
  std::string ack_url;              // signed acknowledge link (ack_link.h); empty = none
};

std::string incident_url(std::string_view external_url, int64_t id);
// The incident as pages and action requests describe it: id, title, plan, severity, status,
// opened_at, url.
nlohmann::json incident_summary_json(const store::Incident& inc, std::string_view external_url);
std::string tocsin_json(const PageContext& page);
std::string alertmanager_v4(const PageContext& page, std::string_view receiver);
// {"text": the one-line summary (the notification fallback), "blocks": a section with the
// incident, its alerts, and actions: an "Acknowledge" button (the ack link) and "Open in tocsin"}.
std::string slack_page(const PageContext& page);
// {"subject", "text", "html"} for the email sender; both bodies hold the ack link and the
// incident's link.
std::string email_page(const PageContext& page);

// Escapes & < > " ' for HTML text and attribute values.
std::string html_escape(std::string_view text);

}  // namespace tocsin::notify
