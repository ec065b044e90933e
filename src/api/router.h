// The HTTP API of SPEC §3 (the parts built so far): maps requests to engine calls and engine
// results to the JSON shapes of SPEC §4. Bad input gets a 4xx JSON error naming what was wrong
// and changes nothing; a 2xx on a write is returned only after the engine committed it.
// Thread-safety: handle() may be called from several threads at once (the engine serialises).
#pragma once

#include <functional>

#include <nlohmann/json_fwd.hpp>

#include "api/alertmanager_api.h"
#include "api/intake_limits.h"
#include "api/sessions.h"
#include "auth/route_policy.h"
#include "auth/tokens.h"
#include "core/metrics.h"
#include "core/rate_limiter.h"
#include "engine/engine.h"
#include "http/http.h"
#include "ingest/events.h"

namespace tocsin::api {

// A clock the API may move: what `tocsin serve --simulated-clock` hands the router so tests and
// drills can fast-forward the real binary. The server implements it; the router only calls it.
// Thread-safety: both methods may be called from any HTTP thread.
class ClockControl {
 public:
  virtual ~ClockControl() = default;
  virtual core::Timestamp now() const = 0;
  // Moves the clock to `to` (not before now()), running everything that falls due on the way, each
  // at its own time; returns once it has all run. Returns the new now().
  virtual core::Result<core::Timestamp> advance_to(core::Timestamp to) = 0;
};

class Router {
 public:
  // `ready` reports whether the server is ready to take traffic (GET /readyz). With a
  // `clock_control`, GET /api/v1/clock and POST /api/v1/clock/advance work; without one (the
  // normal case) they answer 404. `ack_key` verifies acknowledge links (notify/ack_link.h);
  // empty = /api/v1/ack/ answers 404.
  Router(engine::Engine& engine, core::MetricsRegistry& metrics, core::Clock& clock, std::function<bool()> ready,
         ClockControl* clock_control = nullptr, std::string ack_key = {});

  http::Response handle(const http::Request& request);

  // Who an unauthenticated request counts against for limits.rate (every method but GET). The
  // default is the peer's IP address (Request::remote without the port). An authenticated
  // request counts against its token's name ("token:ops-cli"), wherever it comes from.
  using ClientKey = std::function<std::string(const http::Request&)>;
  void set_client_key(ClientKey key) { client_key_ = std::move(key); }

  // Turns auth on when `tokens` has any (docs/security.md): every request is checked against
  // auth::route_table() before dispatch. Web UI sessions (POST /api/v1/session) are kept in
  // `session_store`; without one, logging in answers 503. Call before the router takes requests.
  void set_auth(auth::TokenTable tokens, store::Store* session_store);

 private:
  // limits.rate: nullopt when the request may go on, else the 429 with Retry-After.
  std::optional<http::Response> rate_limit(const http::Request& request, const std::string& key);
  // The request's credentials: a bearer token, or the password of HTTP Basic auth.
  struct Credentials {
    std::optional<auth::Principal> principal;
    bool presented = false;                // some credentials came, valid or not
    std::optional<store::Session> session;  // when they came as a session cookie
    std::string session_id;                 // the cookie's value
  };
  Credentials authenticate(const http::Request& request) const;
  // nullopt when `credentials` may call a route needing `access`, else the 401 or 403 (counted).
  std::optional<http::Response> authorize(const Credentials& credentials, auth::Access access);
  // Everything handle() does inside its timing: auth, limits, dispatch.
  http::Response route(const http::Request& request);
  http::Response dispatch(const http::Request& request);
  // /api/v1/session: log in (POST), who am I (GET), log out (DELETE).
  http::Response session_route(const http::Request& request, const Credentials& credentials);
  // 400 {"error", "field", "limit"} for a request over a limit; counted.
  http::Response over_limit(const LimitViolation& v);
  http::Response push(const http::Request& request);
  http::Response remote_write(const http::Request& request);
  http::Response import_prometheus(const http::Request& request);
  http::Response events(const http::Request& request);
  // Drops samples whose value is not finite (NaN stale markers, ±Inf), counting them: the
  // detectors' baselines would never recover from one, and /api/v1/push rejects them likewise.
  std::vector<core::Sample> finite_only(std::vector<core::Sample> samples);
  http::Response list_incidents(const http::Request& request);
  http::Response list_rules();
  http::Response list_plans();
  // /api/v1/drills[/ID | /live[/ID[/finish]]] (docs/drills.md).
  http::Response drills_route(const http::Request& request, std::string_view rest);
  http::Response list_drills(const http::Request& request);
  http::Response live_drills_route(const http::Request& request, std::string_view rest);
  // POST /api/v1/drills/run (drill_run_route.cc): a plan's simulated drill, run and recorded.
  http::Response run_simulated_drill(const http::Request& request);
  // GET /api/v1/series[/chart.svg] and /api/v1/rules/{name}/series|chart.svg (series_route.cc).
  http::Response series_route(const http::Request& request, std::string_view rest);
  http::Response rule_series_route(const http::Request& request, std::string_view rest);
  // GET /api/v1/drills/chart.svg (series_route.cc): drill scores per day, a trend chart.
  http::Response drills_chart(const http::Request& request);
  http::Response risk_list();
  http::Response risk_heatmap();
  http::Response incident_route(const http::Request& request, std::string_view rest);
  http::Response on_call(const http::Request& request);
  http::Response clock_route(const http::Request& request, std::string_view rest);
  // /api/v1/incidents/{id}/postmortem[/…] and /api/v1/action-items (postmortem_route.cc).
  http::Response postmortem_route(const http::Request& request, int64_t id, std::string_view rest);
  http::Response postmortem_document(const http::Request& request, int64_t id);
  http::Response list_action_items(const http::Request& request);
  // The postmortem's JSON (docs/api.md): fields, action items, completion, the rendered draft.
  core::Result<nlohmann::json> postmortem_json(int64_t id);
  // GET /api/v1/audit and GET /api/v1/compliance (docs/compliance.md).
  http::Response audit(const http::Request& request);
  http::Response compliance(const http::Request& request);
  http::Response cluster(const http::Request& request);
  http::Response approve_action(const http::Request& request, int64_t id, std::string_view rest);
  // GET /api/v1/ack/TOKEN: a small HTML page naming the incident, with a button that POSTs back;
  // POST acknowledges the incident as the link's actor. The signed token is the credential (no
  // bearer token needed); a bad or expired one is a 403. HTML, or JSON when the client asks
  // for it (Accept: application/json).
  http::Response ack_link(const http::Request& request, std::string_view token);

  engine::Engine& engine_;
  core::MetricsRegistry& metrics_;
  core::Clock& clock_;
  std::function<bool()> ready_;
  ClockControl* clock_control_;  // null unless the clock is simulated
  std::string ack_key_;
  core::Counter& requests_;
  core::Counter& bad_requests_;
  core::Histogram& request_seconds_;
  core::Counter& dropped_non_finite_;
  core::Counter& rate_limited_;
  IntakeLimits limits_;
  std::unique_ptr<core::RateLimiter> rate_limiter_;  // null when limits.rate is off
  core::Counter& auth_missing_;  // tocsin_http_auth_failures_total by reason
  core::Counter& auth_invalid_;
  core::Counter& auth_forbidden_;
  core::Counter& auth_csrf_;
  ClientKey client_key_;
  auth::TokenTable tokens_;             // empty: auth is off
  std::unique_ptr<Sessions> sessions_;  // null without a session store
  ingest::EventCounters event_counters_;
  AlertmanagerApi alertmanager_;
};

// The client IP of "ip:port" or "[v6]:port" (the default ClientKey).
std::string peer_ip(std::string_view remote);

// Maps an error code to its HTTP status: invalid_argument 400, not_found 404,
// failed_precondition 409, unavailable 503, internal 500.
int http_status(const core::Error& error);

}  // namespace tocsin::api
