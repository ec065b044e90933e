// The Alertmanager-compatible HTTP surface (SPEC §3): API v2 — the parts Prometheus and amtool
// use — and the Alertmanager webhook intake, mapped onto the engine's alerting pipeline.
//   POST/GET /api/v2/alerts, GET /api/v2/alerts/groups, GET/POST /api/v2/silences,
//   GET/DELETE /api/v2/silence/{id}, GET /api/v2/status, GET /api/v2/receivers,
//   POST /api/v1/alertmanager/webhook (Alertmanager webhook version 4).
// Shapes follow Alertmanager 0.25's OpenAPI spec, errors included: a 4xx body is a JSON string
// ("[1].labels.0bad: invalid label name …"), which is what amtool parses. Unlike Alertmanager, a
// batch with one bad alert is refused whole and changes nothing.
// Thread-safety: handle() may be called from several threads at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/alert.h"
#include "api/alert_list_scanner.h"
#include "api/intake_limits.h"
#include "core/clock.h"
#include "engine/engine.h"
#include "http/http.h"
#include "store/store.h"

namespace tocsin::api {

// The request bodies the handlers read, parsed and checked as they are before anything reaches
// the engine (a bad body is an invalid_argument error naming its field: the handler's 400).
// Pure functions; also what fuzz/alertmanager_fuzz.cc drives.
//   POST /api/v2/alerts (the general reader; scan_alert_list is the fast one):
core::Result<std::vector<alerting::Alert>> parse_alerts_body(std::string_view body, core::Timestamp now,
                                                             std::optional<core::Duration> resolve_timeout);
//   POST /api/v2/silences:
core::Result<store::Silence> parse_silence_body(std::string_view body, core::Timestamp now);
//   POST /api/v1/alertmanager/webhook (version 4):
core::Result<std::vector<alerting::Alert>> parse_webhook_body(std::string_view body, core::Timestamp now);

class AlertmanagerApi {
 public:
  // `limits` (limits.max_alerts_per_request, label limits, max_silence_matchers) must outlive it.
  AlertmanagerApi(engine::Engine& engine, core::Clock& clock, const IntakeLimits& limits);

  // The response for a request under /api/v2/ or the webhook path; nullopt for other paths.
  std::optional<http::Response> handle(const http::Request& request);

 private:
  http::Response post_alerts(const http::Request& request);
  http::Response get_alerts(const http::Request& request);
  http::Response get_groups(const http::Request& request);
  http::Response get_silences(const http::Request& request);
  http::Response post_silence(const http::Request& request);
  http::Response silence_route(const http::Request& request, std::string_view id);
  http::Response status();
  http::Response receivers();
  http::Response webhook(const http::Request& request);
  // The alerts of one request against the per-request limits; "alerts" is the webhook's path.
  std::optional<http::Response> check_alerts(const std::vector<alerting::Alert>& alerts, std::string_view path);
  // The same for alerts read in place: true when check_alerts would find nothing.
  bool within_limits(const ScannedAlerts& scanned) const;
  std::optional<http::Response> check_silence(const store::Silence& silence);

  engine::Engine& engine_;
  core::Clock& clock_;
  const IntakeLimits& limits_;
  core::Timestamp started_at_;
  std::string config_text_;  // the config file as read at start, for /api/v2/status
};

}  // namespace tocsin::api
