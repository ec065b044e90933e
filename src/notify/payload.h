// The bodies tocsin sends. Two webhook formats (SPEC §1 channel):
//  - tocsin JSON: {"version": "1", "event": "incident.page", "incident": {...}, "target": ..., "alerts": [...]}
//  - Alertmanager webhook v4: what Alertmanager itself posts, so existing receivers work unchanged.
// And Slack incoming-webhook JSON ({"text": ...}).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "store/store.h"

namespace tocsin::notify {

struct PageContext {
  const store::Incident& incident;  // with alerts
  std::string target;               // "person:alice"
  std::string recipient;            // person id, or channel name
  std::string external_url;         // base URL for links
  int level = 0;                    // 1-based escalation level
  int pass = 0;                     // 1-based pass
};

std::string incident_url(std::string_view external_url, int64_t id);
std::string tocsin_json(const PageContext& page);
std::string alertmanager_v4(const PageContext& page, std::string_view receiver);
std::string slack_text(const PageContext& page);

}  // namespace tocsin::notify
