#include "api/router.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "api/compliance_json.h"
#include "api/drill_json.h"
#include "api/json_mapping.h"
#include "api/kpi_route.h"
#include "api/request_principal.h"
#include "api/risk_json.h"
#include "api/risk_models.h"
#include "core/duration.h"
#include "core/ip_address.h"
#include "core/log.h"
#include "drill/live_score.h"
#include "ingest/exposition.h"
#include "ingest/push.h"
#include "ingest/remote_write.h"
#include "notify/ack_link.h"
#include "notify/payload.h"
#include "oncall/schedule.h"
#include "report/postmortem.h"
#include "risk_register/heatmap.h"
#include "risk_register/register.h"
#include "web/ui_route.h"

namespace tocsin::api {

using http::Request;
using http::Response;
using nlohmann::json;

int http_status(const core::Error& error) {
  switch (error.code()) {
    case core::ErrorCode::kInvalidArgument: return 400;
    case core::ErrorCode::kNotFound: return 404;
    case core::ErrorCode::kFailedPrecondition: return 409;
    case core::ErrorCode::kUnavailable: return 503;
    case core::ErrorCode::kInternal: return 500;
  }
  return 500;
}

namespace {

Response from_error(const core::Error& e) { return Response::error(http_status(e), e.message(), e.field()); }

// ?since= (or ?until=, named by `field`): an RFC 3339 time, or a duration back from now ("24h").
core::Result<core::Timestamp> parse_since(std::string_view value, core::Timestamp now,
                                          std::string_view field = "since") {
  if (auto t = core::parse_time_or_ago(value, now)) return *t;
  return std::unexpected(
      core::Error::invalid_argument(
          fmt::format("bad {} \"{}\": expected an RFC 3339 time or a duration like 24h", field, value))
          .field(std::string(field)));
}

// ?limit=: an integer from 1 to 10000.
core::Result<int> parse_limit(std::string_view value) {
  int limit = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
  if (ec != std::errc() || ptr != value.data() + value.size() || limit <= 0 || limit > 10000) {
    return std::unexpected(
        core::Error::invalid_argument("bad limit: expected an integer from 1 to 10000").field("limit"));
  }
  return limit;
}

Response ok_json(const json& body) { return Response::json(200, body.dump(-1, ' ', false, json::error_handler_t::replace)); }

// Reads an optional JSON object body; an empty body is an empty object.
core::Result<json> object_body(const Request& request) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json doc = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::unexpected(core::Error::invalid_argument("malformed JSON"));
  if (!doc.is_object()) return std::unexpected(core::Error::invalid_argument("expected a JSON object"));
  return doc;
}

// A string member; absent gives `fallback`, present but not a string is an error.
core::Result<std::string> string_member(const json& body, const char* name, std::string fallback, bool required) {
  auto it = body.find(name);
  if (it == body.end()) {
    if (required) return std::unexpected(core::Error::invalid_argument("missing: expected a string").field(name));
    return fallback;
  }
  if (!it->is_string()) return std::unexpected(core::Error::invalid_argument("expected a string").field(name));
  return it->get<std::string>();
}

core::Status only_members(const json& body, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return std::unexpected(core::Error::invalid_argument(fmt::format("unknown key: expected {}", list)).field(key));
    }
  }
  return {};
}

core::Result<int64_t> parse_id(std::string_view text) {
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("bad incident id \"{}\": expected a positive integer", text)).field("id"));
  }
  return id;
}

// A small self-contained HTML page for acknowledge links. It must not be framed (the POST
// button would be clickjackable), cached, or leak the link in a Referer.
Response ack_page(int status, std::string_view heading, std::string_view body_html) {
  Response r = Response::text(status,
                              fmt::format("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                                          "<meta name=\"viewport\" content=\"width=device-width\">"
                                          "<title>{0} · tocsin</title></head>\n"
                                          "<body style=\"font-family: sans-serif; max-width: 40em; margin: 2em auto\">\n"
                                          "<h1>{0}</h1>\n{1}</body></html>\n",
                                          notify::html_escape(heading), body_html),
                              "text/html; charset=utf-8");
  r.headers = {{"Cache-Control", "no-store"},
               {"Referrer-Policy", "no-referrer"},
               {"X-Frame-Options", "DENY"},
               {"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}};
  return r;
}

bool wants_json(const Request& request) {
  return request.header("accept").find("application/json") != std::string::npos ||
         request.header("content-type").find("application/json") != std::string::npos;
}

// "acknowledged by bob at 2026-…" from the incident's timeline, when it has that event.
std::string acknowledged_by(const store::Incident& inc) {
  for (auto it = inc.timeline.rbegin(); it != inc.timeline.rend(); ++it) {
    if (it->kind == "acknowledged") return fmt::format(" by {} at {}", it->actor, core::format_rfc3339(it->at));
  }
  return "";
}

}  // namespace

Router::Router(engine::Engine& engine, core::MetricsRegistry& metrics, core::Clock& clock, std::function<bool()> ready,
               ClockControl* clock_control, std::string ack_key)
    : engine_(engine),
      metrics_(metrics),
      clock_(clock),
      ready_(std::move(ready)),
      clock_control_(clock_control),
      ack_key_(std::move(ack_key)),
      requests_(metrics.counter("tocsin_http_requests_total", "HTTP requests handled.")),
      bad_requests_(metrics.counter("tocsin_http_bad_requests_total", "Requests rejected with a 4xx.")),
      request_seconds_(metrics.histogram("tocsin_http_request_seconds", "Time to handle an HTTP request.")),
      dropped_non_finite_(metrics.counter("tocsin_ingest_samples_dropped_total",
                                          "Samples dropped at ingestion, by reason.", {{"reason", "non_finite"}})),
      rate_limited_(metrics.counter("tocsin_http_rate_limited_total",
                                    "Requests answered 429 because their client was over limits.rate.")),
      limits_(engine.config().limits, metrics),
      auth_missing_(metrics.counter("tocsin_http_auth_failures_total", "Requests refused by authentication or roles.",
                                    {{"reason", "missing_credentials"}})),
      auth_invalid_(metrics.counter("tocsin_http_auth_failures_total", "Requests refused by authentication or roles.",
                                    {{"reason", "invalid_credentials"}})),
      auth_forbidden_(metrics.counter("tocsin_http_auth_failures_total",
                                      "Requests refused by authentication or roles.", {{"reason", "forbidden"}})),
      auth_csrf_(metrics.counter("tocsin_http_auth_failures_total", "Requests refused by authentication or roles.",
                                 {{"reason", "csrf"}})),
      client_key_([this](const Request& r) {
        return core::client_ip(peer_ip(r.remote), r.header("x-forwarded-for"), engine_.config().server.trusted_proxies);
      }),
      alertmanager_(engine, clock, limits_) {
  const auto& rate = engine.config().limits.rate;
  if (rate.requests_per_second > 0) {
    rate_limiter_ = std::make_unique<core::RateLimiter>(core::RateLimiterOptions{
        .rate = rate.requests_per_second,
        .burst = rate.burst > 0 ? static_cast<double>(rate.burst) : std::max(1.0, rate.requests_per_second),
        .max_clients = static_cast<size_t>(rate.max_clients)});
  }
}

std::string peer_ip(std::string_view remote) {
  if (remote.starts_with('[')) return std::string(remote.substr(1, remote.find(']') - 1));
  return std::string(remote.substr(0, remote.rfind(':')));
}

std::optional<Response> Router::rate_limit(const Request& request, const std::string& key) {
  if (!rate_limiter_ || request.method == "GET") return std::nullopt;
  const core::RateDecision decision = rate_limiter_->take(key, clock_.mono_now());
  if (decision.allowed) return std::nullopt;
  rate_limited_.inc();
  const auto& rate = engine_.config().limits.rate;
  const json body = {{"error", fmt::format("too many requests from {}: limits.rate allows {} per second (burst {}); "
                                           "retry after {} s",
                                           key, rate.requests_per_second,
                                           rate.burst > 0 ? static_cast<double>(rate.burst)
                                                          : std::max(1.0, rate.requests_per_second),
                                           decision.retry_after.count())},
                     {"limit", "rate"}};
  Response r = Response::json(429, body.dump(-1, ' ', false, json::error_handler_t::replace));
  r.headers.emplace_back("Retry-After", std::to_string(decision.retry_after.count()));
  return r;
}

Response Router::over_limit(const LimitViolation& v) {
  limits_.reject(v);
  json body = {{"error", v.message}, {"limit", v.limit}};
  if (!v.field.empty()) body["field"] = v.field;
  return Response::json(400, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

Response Router::handle(const Request& request) {
  const auto started = clock_.mono_now();
  Response response = route(request);
  requests_.inc();
  if (response.status >= 400 && response.status < 500) bad_requests_.inc();
  request_seconds_.observe(std::chrono::duration<double>(clock_.mono_now() - started).count());
  return response;
}

namespace {

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether `header` starts with the auth scheme `scheme` (case-insensitive) and a blank.
bool has_scheme(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size() || (header[scheme.size()] != ' ' && header[scheme.size()] != '\t')) return false;
  for (size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return false;
  }
  return true;
}

Response unauthorized(std::string_view message) {
  Response r = Response::error(401, message);
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tocsin\"");
  return r;
}

}  // namespace

void Router::set_auth(auth::TokenTable tokens, store::Store* session_store) {
  tokens_ = std::move(tokens);
  sessions_ = session_store ? std::make_unique<Sessions>(*session_store, clock_, tokens_) : nullptr;
}

namespace {

}  // namespace

Router::Credentials Router::authenticate(const Request& request) const {
  Credentials out;
  const std::string header = request.header("authorization");
  if (header.empty()) {
    // A browser's session: only when no Authorization header came (a bearer token wins).
    const std::string id = cookie_value(request.header("cookie"), Sessions::kCookieName);
    if (id.empty() || !sessions_) return out;
    out.presented = true;
    auto session = sessions_->find(id);
    if (!session) {
      core::log::error("reading a session failed", {{"error", session.error().to_string()}});
      return out;
    }
    if (!*session) return out;
    const auth::TokenTable::Entry* entry = tokens_.by_name((*session)->token_name);
    out.principal = auth::Principal{auth::Principal::Kind::kSession, entry->name, entry->role};
    out.session = std::move(*session);
    out.session_id = id;
    return out;
  }
  out.presented = true;
  if (has_scheme(header, "bearer")) {
    out.principal = tokens_.find(trim_blanks(std::string_view(header).substr(6)));
  } else if (has_scheme(header, "basic")) {
    // Prometheus' and Alertmanager's basic_auth: the secret is the password, the user is ignored.
    if (auto password = auth::basic_auth_password(trim_blanks(std::string_view(header).substr(5)))) {
      out.principal = tokens_.find(*password);
    }
  }
  return out;
}

std::optional<Response> Router::authorize(const Credentials& credentials, auth::Access access) {
  if (auth::allowed(credentials.principal, access)) return std::nullopt;
  if (!credentials.principal) {
    if (credentials.presented) {
      auth_invalid_.inc();
      return unauthorized("invalid credentials: expected Authorization: Bearer <token> with a token of auth.tokens");
    }
    auth_missing_.inc();
    return unauthorized("authentication required: send Authorization: Bearer <token>");
  }
  auth_forbidden_.inc();
  const auth::Principal& p = *credentials.principal;
  const std::string_view needed = auth::role_name(auth::role_needed(access));
  if (p.kind == auth::Principal::Kind::kIntake) {
    return Response::error(
        403, fmt::format("the intake secret grants only the intake routes; this route needs the {} role", needed));
  }
  return Response::error(
      403, fmt::format("this route needs the {} role; token {} has the {} role", needed, p.name, auth::role_name(p.role)));
}

Response Router::route(const Request& request) {
  const auth::RoutePolicy policy =
      auth::route_policy(request.method, request.path, engine_.config().auth.metrics_public);
  Credentials credentials;
  if (tokens_.enabled()) credentials = authenticate(request);
  const std::string client =
      credentials.principal ? "token:" + credentials.principal->name : client_key_(request);
  if (auto limited = rate_limit(request, client)) return std::move(*limited);
  if (tokens_.enabled()) {
    if (auto refused = authorize(credentials, policy.access)) return std::move(*refused);
    // A browser sends the cookie with any request to this origin, also one another site makes
    // it send: a write from a session must echo the session's CSRF token (docs/api.md).
    if (credentials.session && request.method != "GET" && policy.access != auth::Access::kPublic &&
        !auth::constant_time_equal(request.header("x-csrf-token"), credentials.session->csrf_token)) {
      auth_csrf_.inc();
      return Response::error(403, "CSRF token missing or wrong: send the session's csrf_token in X-CSRF-Token");
    }
  }
  // The table lists every path the router serves: one missing from it is not reachable.
  if (!policy.known_path) return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
  const PrincipalScope scope(credentials.principal ? &*credentials.principal : nullptr);
  if (request.path == "/api/v1/session") return session_route(request, credentials);
  return dispatch(request);
}

Response Router::session_route(const Request& request, const Credentials& credentials) {
  if (!tokens_.enabled()) {
    // The UI asks, and skips its login page.
    if (request.method == "GET") return ok_json({{"auth", false}});
    return Response::error(404, "auth is off (no auth.tokens): there is nothing to log in to");
  }
  if (request.method == "GET") {
    const auth::Principal& p = *credentials.principal;  // the route needs a viewer: authenticated
    json out = {{"auth", true}, {"name", p.name}, {"role", auth::role_name(p.role)}};
    if (credentials.session) {
      out["csrf_token"] = credentials.session->csrf_token;
      out["expires_at"] = core::format_rfc3339(credentials.session->expires_at);
    }
    return ok_json(out);
  }
  if (request.method == "DELETE") {
    if (!credentials.session) {
      return Response::error(400, "this request is authenticated by a bearer token, not a session: nothing to log out");
    }
    auto removed = sessions_->remove(credentials.session_id);
    if (!removed) return from_error(removed.error());
    Response r = ok_json({{"logged_out", true}});
    r.headers.emplace_back("Set-Cookie", fmt::format("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
                                                     Sessions::kCookieName, request.tls ? "; Secure" : ""));
    return r;
  }
  // POST: log in with {"token": "..."}.
  if (!sessions_) return Response::error(503, "sessions are not available on this server");
  auto body = object_body(request);
  if (!body) return from_error(body.error());
  if (auto known = only_members(*body, {"token"}); !known) return from_error(known.error());
  auto token = string_member(*body, "token", "", true);
  if (!token) return from_error(token.error());
  const auto principal = tokens_.find(*token);
  if (!principal || principal->kind != auth::Principal::Kind::kToken) {
    auth_invalid_.inc();
    return Response::error(401, "invalid token: expected a token of auth.tokens", "token");
  }
  auto created = sessions_->create(*principal);
  if (!created) return from_error(created.error());
  Response r = ok_json({{"name", principal->name},
                        {"role", auth::role_name(principal->role)},
                        {"csrf_token", created->session.csrf_token},
                        {"expires_at", core::format_rfc3339(created->session.expires_at)}});
  r.headers.emplace_back("Set-Cookie", fmt::format("{}={}; HttpOnly; SameSite=Strict; Path=/{}", Sessions::kCookieName,
                                                   created->id, request.tls ? "; Secure" : ""));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Router::dispatch(const Request& request) {
  const std::string_view path = request.path;
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  if (path == "/healthz") return get ? ok_json({{"status", "ok"}}) : Response::error(405, "use GET");
  if (path == "/readyz") {
    if (!get) return Response::error(405, "use GET");
    return ready_() ? ok_json({{"status", "ready"}}) : Response::error(503, "not ready");
  }
  if (path == "/metrics") {
    return get ? Response::text(200, metrics_.render(), "text/plain; version=0.0.4; charset=utf-8")
               : Response::error(405, "use GET");
  }
  if (path == "/api/v1/push") return post ? push(request) : Response::error(405, "use POST");
  if (path == "/api/v1/write") return post ? remote_write(request) : Response::error(405, "use POST");
  if (path == "/api/v1/import/prometheus") return post ? import_prometheus(request) : Response::error(405, "use POST");
  if (path == "/api/v1/events") return post ? events(request) : Response::error(405, "use POST");
  if (path == "/api/v1/incidents") return get ? list_incidents(request) : Response::error(405, "use GET");
  if (path == "/api/v1/rules") return get ? list_rules() : Response::error(405, "use GET");
  if (path.starts_with("/api/v1/rules/")) return rule_series_route(request, path.substr(14));
  if (path == "/api/v1/series" || path.starts_with("/api/v1/series/")) return series_route(request, path.substr(14));
  if (path == "/api/v1/plans") return get ? list_plans() : Response::error(405, "use GET");
  if (path == "/api/v1/drills" || path.starts_with("/api/v1/drills/")) return drills_route(request, path.substr(14));
  if (path == "/api/v1/risk") return get ? risk_list() : Response::error(405, "use GET");
  if (path == "/api/v1/risk/heatmap.svg") return get ? risk_heatmap() : Response::error(405, "use GET");
  if (path == "/api/v1/risk/models" || path.starts_with("/api/v1/risk/models/")) {
    return risk_models_route(engine_.config(), request, path.substr(19));
  }
  if (path.starts_with("/api/v1/incidents/")) return incident_route(request, path.substr(18));
  if (path == "/api/v1/action-items") return list_action_items(request);
  if (path == "/api/v1/oncall") return get ? on_call(request) : Response::error(405, "use GET");
  if (path == "/api/v1/kpi") return kpi_route(engine_, request);
  if (path == "/api/v1/kpi/chart.svg") return kpi_chart_route(engine_, request);
  if (path == "/api/v1/clock" || path.starts_with("/api/v1/clock/")) return clock_route(request, path.substr(13));
  if (path == "/api/v1/audit") return get ? audit(request) : Response::error(405, "use GET");
  if (path == "/api/v1/compliance") return get ? compliance(request) : Response::error(405, "use GET");
  if (path == "/api/v1/cluster") return get ? cluster(request) : Response::error(405, "use GET");
  if (path.starts_with("/api/v1/ack/")) return ack_link(request, path.substr(12));
  if (path == "/api/v1/people") return get ? ok_json(people_json(engine_.config())) : Response::error(405, "use GET");
  if (auto ui = web::serve_ui(request)) return std::move(*ui);
  if (auto r = alertmanager_.handle(request)) return std::move(*r);
  return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
}

namespace {

// The per-request limits of a batch of samples or series: how many, then each one's labels.
template <class Batch>
std::optional<LimitViolation> check_batch(const IntakeLimits& limits, const Batch& batch, std::string_view what,
                                          Element element) {
  if (auto v = limits.count("max_series_per_request", batch.size(), what, element.path)) return v;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (auto v = limits.labels(batch[i].labels, element, i)) return v;
  }
  return std::nullopt;
}

}  // namespace

Response Router::push(const Request& request) {
  auto samples = ingest::parse_push_json(request.body, clock_.now());
  if (!samples) return from_error(samples.error());
  if (auto v = check_batch(limits_, *samples, "samples in one request", {"sample", ""})) return over_limit(*v);
  auto result = engine_.ingest(*samples);
  if (!result) return from_error(result.error());
  json opened = json::array();
  for (int64_t id : result->incidents_opened) opened.push_back(std::to_string(id));
  return ok_json({{"accepted", result->accepted},
                  {"alert_transitions", result->alert_transitions},
                  {"incidents_opened", opened}});
}

namespace {

json ingest_json(const engine::IngestResult& result, size_t dropped) {
  json opened = json::array();
  for (int64_t id : result.incidents_opened) opened.push_back(std::to_string(id));
  return {{"accepted", result.accepted},
          {"dropped", dropped},
          {"alert_transitions", result.alert_transitions},
          {"incidents_opened", opened}};
}

// Lower-cased, without parameters or blanks: "Application/X-Protobuf; proto=…" -> "application/x-protobuf".
std::string media_type(std::string_view header) {
  std::string out;
  for (char c : header.substr(0, header.find(';'))) {
    if (c != ' ' && c != '\t') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::vector<core::Sample> Router::finite_only(std::vector<core::Sample> samples) {
  const size_t dropped = std::erase_if(samples, [](const core::Sample& s) { return !std::isfinite(s.value); });
  if (dropped > 0) dropped_non_finite_.inc(static_cast<double>(dropped));
  return samples;
}

// Prometheus remote_write 1.0. Like Prometheus, answers 204 on success (200 with counts to a
// replica forwarding samples, X-Tocsin-Forwarded-From); any decoding error is a
// 400, which a sender does not retry. Remote write 2.0 bodies are refused with 415 so a sender
// that negotiates falls back to 1.0.
Response Router::remote_write(const Request& request) {
  const std::string encoding = media_type(request.header("content-encoding"));
  if (!encoding.empty() && encoding != "snappy") {
    return Response::error(415, fmt::format("unsupported Content-Encoding \"{}\": expected snappy", encoding));
  }
  const std::string content_type = request.header("content-type");
  if (content_type.find("io.prometheus.write.v2") != std::string::npos) {
    return Response::error(415, "remote write 2.0 is not supported: send prometheus.WriteRequest (remote write 1.0)");
  }
  const std::string media = media_type(content_type);
  if (!media.empty() && media != "application/x-protobuf") {
    return Response::error(415, fmt::format("unsupported Content-Type \"{}\": expected application/x-protobuf", media));
  }
  // One decoder per HTTP thread, so that decoding a steady stream of requests allocates nothing.
  // The series stay in it until the engine is done with them; should this handler ever run again
  // on this thread meanwhile, that call decodes into a decoder of its own.
  thread_local ingest::RemoteWriteDecoder per_thread;
  thread_local bool per_thread_busy = false;
  struct Claim {
    bool& busy;
    const bool taken = !busy;
    explicit Claim(bool& b) : busy(b) { busy = true; }
    ~Claim() {
      if (taken) busy = false;
    }
  } claim(per_thread_busy);
  ingest::RemoteWriteDecoder own;  // empty: costs nothing unless used
  ingest::RemoteWriteDecoder& decoder = claim.taken ? per_thread : own;
  auto decoded = decoder.decode(request.body);
  if (!decoded) return from_error(decoded.error());
  std::vector<ingest::Series>& series = **decoded;
  if (auto v = check_batch(limits_, series, "series in one request", {"series", "timeseries"})) return over_limit(*v);
  size_t non_finite = 0;
  for (auto& s : series) {
    non_finite += std::erase_if(s.points, [](const ingest::Point& p) { return !std::isfinite(p.value); });
  }
  if (non_finite > 0) dropped_non_finite_.inc(static_cast<double>(non_finite));
  // Samples another replica forwarded to this one as their series' owner (docs/high-availability.md,
  // "Detection across replicas"): ingested here whatever this replica's view says — never sent on,
  // so two views that disagree for a moment cannot bounce a batch — and answered with the counts,
  // which the sender merges into its own answer.
  if (!request.header("x-tocsin-forwarded-from").empty()) {
    auto result = engine_.ingest_local(series);
    if (!result) return from_error(result.error());
    return ok_json(ingest_json(*result, result->dropped + non_finite));
  }
  auto result = engine_.ingest(series);
  if (!result) return from_error(result.error());
  Response r;
  r.status = 204;
  return r;
}

Response Router::import_prometheus(const Request& request) {
  auto samples = ingest::parse_exposition(request.body, clock_.now());
  if (!samples) return from_error(samples.error());
  if (auto v = check_batch(limits_, *samples, "samples in one request", {"sample", "samples"})) return over_limit(*v);
  const size_t parsed = samples->size();
  const std::vector<core::Sample> finite = finite_only(std::move(*samples));
  engine::IngestResult result;
  if (!finite.empty()) {
    auto ingested = engine_.ingest(finite);
    if (!ingested) return from_error(ingested.error());
    result = std::move(*ingested);
  }
  return ok_json(ingest_json(result, parsed - finite.size()));
}

Response Router::events(const Request& request) {
  auto parsed = ingest::parse_events_json(request.body, clock_.now());
  if (!parsed) return from_error(parsed.error());
  if (auto v = limits_.count("max_events_per_request", parsed->size(), "events in one request", "")) {
    return over_limit(*v);
  }
  for (size_t i = 0; i < parsed->size(); ++i) {
    const ingest::Event& e = (*parsed)[i];
    // The event series carries the event's labels plus kind and __name__.
    if (auto v = limits_.labels(e.labels, {"event", ""}, i, 2)) return over_limit(*v);
    if (auto v = limits_.label_value("kind", e.kind, {"event", ""}, i)) return over_limit(*v);
  }
  engine::IngestResult result;
  auto samples = event_counters_.record(*parsed, [&](const std::vector<core::Sample>& s) -> core::Status {
    if (s.empty()) return {};
    auto ingested = engine_.ingest(s);
    if (!ingested) return std::unexpected(ingested.error());
    result = std::move(*ingested);
    return {};
  });
  if (!samples) return from_error(samples.error());
  json body = ingest_json(result, 0);
  body.erase("dropped");
  body["events"] = parsed->size();
  return ok_json(body);
}

Response Router::list_rules() {
  const auto health = engine_.rule_health();
  const auto& rules = engine_.config().rules;
  json list = json::array();
  for (size_t i = 0; i < rules.size() && i < health.size(); ++i) {
    const auto& r = rules[i];
    const auto& h = health[i];
    json params = json::object();
    for (const auto& [name, p] : r.detector.params) {
      params[name] = p.number ? json(*p.number) : json(p.text);
    }
    json labels = json::object();
    for (const auto& [k, v] : r.labels) labels[k] = v;
    list.push_back({{"name", r.name},
                    {"select", r.select},
                    {"detector", {{"kind", r.detector.kind}, {"params", params}}},
                    {"condition", h.condition},
                    {"for", core::format_duration(r.for_duration)},
                    {"keep_firing_for", core::format_duration(r.keep_firing_for)},
                    {"flap_window", core::format_duration(r.flap_window)},
                    {"severity", r.severity},
                    {"labels", labels},
                    {"health", h.last_error.empty() ? "ok" : "error"},
                    {"last_error", h.last_error},
                    {"evaluations", h.evaluations},
                    {"evaluation_seconds_avg", h.evaluation_seconds_avg},
                    {"last_evaluation", h.last_evaluation ? json(core::format_rfc3339(*h.last_evaluation)) : json(nullptr)},
                    {"series", h.series},
                    {"alerts", {{"pending", h.pending}, {"firing", h.firing}, {"flapping", h.flapping}}}});
  }
  return ok_json({{"rules", list}});
}

Response Router::list_incidents(const Request& request) {
  store::IncidentFilter filter;
  filter.with_details = true;
  for (const auto& [key, value] : request.query) {
    if (key == "status") {
      auto status = store::parse_incident_status(value);
      if (!status) return Response::error(400, status.error().message(), "status");
      filter.status = *status;
    } else if (key == "plan") {
      filter.plan = value;
    } else if (key == "since") {
      auto since = parse_since(value, clock_.now());
      if (!since) return from_error(since.error());
      filter.since = *since;
    } else if (key == "limit") {
      auto limit = parse_limit(value);
      if (!limit) return from_error(limit.error());
      filter.limit = *limit;
    } else {
      return Response::error(400, fmt::format("unknown query parameter \"{}\": expected status, plan, since, limit", key),
                             key);
    }
  }
  auto incidents = engine_.list_incidents(filter);
  if (!incidents) return from_error(incidents.error());
  json list = json::array();
  for (const auto& inc : *incidents) list.push_back(incident_json(inc));
  return ok_json({{"incidents", list}});
}

Response Router::list_plans() {
  const core::Timestamp now = engine_.now();
  auto calendar = engine_.drill_calendar();
  if (!calendar) return from_error(calendar.error());
  json plans = json::array();
  int overdue = 0;
  int drill_overdue = 0;
  for (const auto& plan : engine_.config().plans) {
    plans.push_back(plan_json(plan, now, [&](const config::Target& t) { return engine_.who_fills(t); }));
    overdue += plans.back()["review"]["overdue"].get<bool>() ? 1 : 0;
    // Drill status beside the review status: the plan's calendar entry, or null without `drill:`.
    json drill = nullptr;
    for (const auto& entry : *calendar) {
      if (entry.plan != plan.id) continue;
      drill = drill_calendar_json(entry, now);
      drill.erase("plan");
      drill_overdue += entry.overdue ? 1 : 0;
    }
    plans.back()["drill"] = std::move(drill);
  }
  return ok_json({{"plans", plans}, {"review_overdue", overdue}, {"drill_overdue", drill_overdue}});
}

namespace {

// A positive integer id from a path segment; `what` names it in the error.
core::Result<int64_t> path_id(std::string_view text, std::string_view what) {
  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("bad {} id \"{}\": expected a positive integer", what, text))
            .field("id"));
  }
  return id;
}

}  // namespace

Response Router::drills_route(const Request& request, std::string_view rest) {
  if (rest.empty()) {
    if (request.method == "GET") return list_drills(request);
    if (request.method != "POST") return Response::error(405, "use GET or POST");
    json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return Response::error(400, "malformed JSON");
    auto run = drill_run_from_json(body);
    if (!run) return from_error(run.error());
    auto actor = string_member(body, "actor", "api", false);
    if (!actor) return from_error(actor.error());
    auto stored = engine_.record_drill_run(std::move(*run), engine::Actor(audit_actor(*actor), request.remote));
    if (!stored) return from_error(stored.error());
    return Response::json(201, drill_run_json(*stored, true).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (rest == "/chart.svg") return drills_chart(request);
  if (rest == "/run") return request.method == "POST" ? run_simulated_drill(request) : Response::error(405, "use POST");
  if (rest == "/live" || rest.starts_with("/live/")) return live_drills_route(request, rest.substr(5));
  if (request.method != "GET") return Response::error(405, "use GET");
  auto id = path_id(rest.substr(1), "drill run");
  if (!id) return from_error(id.error());
  auto run = engine_.get_drill_run(*id);
  if (!run) return from_error(run.error());
  return ok_json(drill_run_json(*run, true));
}

Response Router::list_drills(const Request& request) {
  store::DrillRunFilter filter;
  for (const auto& [key, value] : request.query) {
    if (key == "plan") {
      filter.plan = value;
    } else if (key == "scenario") {
      filter.scenario = value;
    } else if (key == "since") {
      auto since = parse_since(value, clock_.now());
      if (!since) return from_error(since.error());
      filter.since = *since;
    } else if (key == "limit") {
      auto limit = parse_limit(value);
      if (!limit) return from_error(limit.error());
      filter.limit = *limit;
    } else {
      return Response::error(
          400, fmt::format("unknown query parameter \"{}\": expected plan, scenario, since, limit", key), key);
    }
  }
  auto runs = engine_.list_drill_runs(filter);
  if (!runs) return from_error(runs.error());
  auto calendar = engine_.drill_calendar();
  if (!calendar) return from_error(calendar.error());
  auto live = engine_.live_drills(/*running_only=*/true);
  if (!live) return from_error(live.error());
  const core::Timestamp now = engine_.now();
  json drills = json::array();
  for (const auto& r : *runs) drills.push_back(drill_run_json(r, false));
  json entries = json::array();
  int overdue = 0;
  for (const auto& e : *calendar) {
    // The calendar follows the plan filter; the others concern runs only.
    if (!filter.plan.empty() && e.plan != filter.plan) continue;
    entries.push_back(drill_calendar_json(e, now));
    overdue += e.overdue ? 1 : 0;
  }
  json running = json::array();
  for (const auto& d : *live) running.push_back(live_drill_json(d));
  return ok_json({{"drills", drills}, {"calendar", entries}, {"drill_overdue", overdue}, {"live", running}});
}

// POST /api/v1/drills/live starts one; GET lists them; /live/ID shows one; POST /live/ID/finish ends it.
Response Router::live_drills_route(const Request& request, std::string_view rest) {
  if (rest.empty()) {
    if (request.method == "GET") {
      auto live = engine_.live_drills(/*running_only=*/false);
      if (!live) return from_error(live.error());
      json list = json::array();
      for (const auto& d : *live) list.push_back(live_drill_json(d));
      return ok_json({{"live", list}});
    }
    if (request.method != "POST") return Response::error(405, "use GET or POST");
    json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return Response::error(400, "malformed JSON");
    if (!body.is_object()) return Response::error(400, "expected a JSON object");
    if (auto known = only_members(body, {"scenario", "plan", "participants", "actor", "scenario_yaml", "scenario_file"});
        !known) {
      return from_error(known.error());
    }
    auto yaml = string_member(body, "scenario_yaml", "", false);
    if (!yaml) return from_error(yaml.error());
    auto file = string_member(body, "scenario_file", "scenario_yaml", false);
    if (!file) return from_error(file.error());
    // With the scenario's text, the server checks it against its config (errors name the file's
    // line) and scores the drill itself when it finishes; name, plan and participants default to
    // the scenario's.
    std::optional<drill::CheckedScenario> checked;
    if (!yaml->empty()) {
      auto parsed = drill::check_scenario_text(*yaml, *file, engine_.config());
      if (!parsed) {
        const core::Error& e = parsed.error();
        json err = {{"error", e.to_string()}, {"field", "scenario_yaml"}};
        if (e.position().line > 0) err["line"] = e.position().line;
        if (!e.field().empty()) err["scenario_field"] = e.field();
        return Response::json(400, err.dump(-1, ' ', false, json::error_handler_t::replace));
      }
      checked = std::move(*parsed);
    } else if (body.contains("scenario_file")) {
      return Response::error(400, "scenario_file names the text of scenario_yaml, which is missing", "scenario_file");
    }
    auto scenario = string_member(body, "scenario", checked ? checked->scenario.name : "", !checked);
    if (!scenario) return from_error(scenario.error());
    auto plan = string_member(body, "plan", checked ? checked->scenario.plan : "", !checked);
    if (!plan) return from_error(plan.error());
    if (checked && *plan != checked->scenario.plan) {
      return Response::error(
          400, fmt::format("plan \"{}\" is not the scenario's plan \"{}\"", *plan, checked->scenario.plan), "plan");
    }
    auto actor = string_member(body, "actor", "api", false);
    if (!actor) return from_error(actor.error());
    auto people = body.find("participants");
    std::vector<std::string> participants;
    if (people == body.end() && checked) {
      participants = checked->scenario.participants;
      if (participants.empty()) {
        return Response::error(400,
                               "expected participants: the scenario lists none, and a live drill pages only its "
                               "participants",
                               "participants");
      }
    } else if (people == body.end() || !people->is_array()) {
      return Response::error(400, "expected participants: an array of person ids", "participants");
    } else {
      for (size_t i = 0; i < people->size(); ++i) {
        if (!(*people)[i].is_string()) {
          return Response::error(400, "expected a person id (a string)", fmt::format("participants[{}]", i));
        }
        participants.push_back((*people)[i].get<std::string>());
      }
    }
    auto drill = engine_.start_live_drill(std::move(*scenario), std::move(*plan), std::move(participants),
                                          engine::Actor(audit_actor(*actor), request.remote), std::move(*yaml));
    if (!drill) return from_error(drill.error());
    json out = live_drill_json(*drill);
    if (checked) out["warnings"] = checked->warnings;
    return Response::json(201, out.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  const std::string_view tail = rest.substr(1);
  const size_t slash = tail.find('/');
  auto id = path_id(tail.substr(0, slash), "live drill");
  if (!id) return from_error(id.error());
  const std::string_view verb = slash == std::string_view::npos ? "" : tail.substr(slash + 1);
  if (verb.empty()) {
    if (request.method != "GET") return Response::error(405, "use GET");
    auto drill = engine_.get_live_drill(*id);
    return drill ? ok_json(live_drill_json(*drill)) : from_error(drill.error());
  }
  if (verb != "finish") return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
  if (request.method != "POST") return Response::error(405, "use POST");
  auto body = object_body(request);
  if (!body) return from_error(body.error());
  auto actor = string_member(*body, "actor", "api", false);
  if (!actor) return from_error(actor.error());
  auto drill = engine_.get_live_drill(*id);
  if (!drill) return from_error(drill.error());
  // Any field of a run means a client-computed score: then score, passed and scorecard are required.
  bool has_run = false;
  for (const char* key : {"score", "passed", "scorecard", "seed", "started_at", "finished_at"}) has_run |= body->contains(key);
  if (!drill->scenario_yaml.empty()) {
    // Registered with its scenario: the server scores it from its store, as a simulated drill is
    // scored (drill/live_score.h), in the transaction that finishes it.
    if (auto known = only_members(*body, {"actor"}); !known) {
      return Response::error(400,
                             fmt::format("live drill {} was registered with its scenario: the server scores it, "
                                         "send only \"actor\"",
                                         *id),
                             known.error().field());
    }
    std::optional<tocsin::drill::Scorecard> card;
    std::string comparison;
    const config::Config& config = engine_.config();
    auto score = [&](store::Tx& tx, const store::LiveDrill& d,
                     core::Timestamp now) -> core::Result<store::DrillRun> {
      tocsin::drill::LiveScore scored = TOCSIN_TRY(tocsin::drill::score_live_drill(tx, config, d, now));
      card = std::move(scored.scorecard);
      comparison = std::move(scored.comparison);
      return std::move(scored.run);
    };
    auto finished = engine_.finish_live_drill(*id, engine::Actor(audit_actor(*actor), request.remote), score);
    if (!finished) return from_error(finished.error());
    // Ordered, so the scorecard keeps render_json's key order: the client prints the same layout
    // as a simulated drill's --json.
    nlohmann::ordered_json out = nlohmann::ordered_json::parse(live_drill_json(*finished).dump());
    out["scorecard"] = card ? nlohmann::ordered_json::parse(tocsin::drill::render_json(*card)) : nullptr;
    out["scorecard_text"] = card ? tocsin::drill::render_text(*card) : std::string();
    out["comparison_text"] = comparison;
    return Response::json(200, out.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  // Otherwise, with a score, the finished drill is stored in history as a live drill run.
  std::optional<store::DrillRun> scored;
  if (has_run) {
    auto run = finish_run_from_json(*body, *drill, engine_.now());
    if (!run) return from_error(run.error());
    scored = std::move(*run);
  } else if (auto known = only_members(*body, {"actor", "score", "passed", "scorecard", "seed", "started_at", "finished_at"});
             !known) {
    return from_error(known.error());
  }
  auto finished = engine_.finish_live_drill(*id, engine::Actor(audit_actor(*actor), request.remote), std::move(scored));
  return finished ? ok_json(live_drill_json(*finished)) : from_error(finished.error());
}

// The risk register and its heat map (docs/risk-register.md). Model likelihoods are not wired
// yet: such risks show source "model" with a null likelihood.
Response Router::risk_list() {
  return ok_json(risk_register_json(risk_register::build_register(engine_.config().risks, engine_.now(), [this](const config::RiskModelRef& ref) { return engine_.risk_likelihood(ref); })));
}

Response Router::risk_heatmap() {
  Response r = Response::text(
      200, risk_register::render_heatmap_svg(risk_register::build_register(engine_.config().risks, engine_.now(), [this](const config::RiskModelRef& ref) { return engine_.risk_likelihood(ref); })),
      "image/svg+xml");
  r.headers = {{"Cache-Control", "no-store"}};
  return r;
}

Response Router::incident_route(const Request& request, std::string_view rest) {
  const size_t slash = rest.find('/');
  auto id = parse_id(rest.substr(0, slash));
  if (!id) return from_error(id.error());
  const std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (action.empty()) {
    if (request.method != "GET") return Response::error(405, "use GET");
    auto inc = engine_.get_incident(*id);
    if (!inc) return from_error(inc.error());
    json body = incident_json(*inc);
    if (const config::Plan* plan = engine_.config().plan(inc->plan)) {
      body["communications"] = communications_json(*plan, *inc, engine_.external_url());
    }
    return ok_json(body);
  }
  if (action.starts_with("actions/")) return approve_action(request, *id, action.substr(8));
  if (action == "postmortem" || action.starts_with("postmortem/")) return postmortem_route(request, *id, action.substr(10));
  // tasks/{step}/done and tasks/{step}/skip
  std::string step;
  std::string_view verb = action;
  if (action.starts_with("tasks/")) {
    const std::string_view rest_of = action.substr(6);
    const size_t cut = rest_of.rfind('/');
    if (cut == std::string_view::npos || cut == 0) {
      return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
    }
    step = std::string(rest_of.substr(0, cut));
    verb = rest_of.substr(cut + 1);
    if (verb != "done" && verb != "skip") {
      return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
    }
    verb = verb == "done" ? "task_done" : "task_skip";
  }
  static constexpr std::string_view kVerbs[] = {"ack",      "resolve",  "notes",  "mitigate",  "close",    "reopen",
                                                "severity", "related", "events", "task_done", "task_skip"};
  if (std::find(std::begin(kVerbs), std::end(kVerbs), verb) == std::end(kVerbs)) {
    return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
  }
  if (request.method != "POST") return Response::error(405, "use POST");
  auto body = object_body(request);
  if (!body) return from_error(body.error());
  auto actor_name = string_member(*body, "actor", "api", false);
  if (!actor_name) return from_error(actor_name.error());
  const std::string audited_name = audit_actor(*actor_name);
  const engine::Actor actor(audited_name, request.remote);
  core::Result<store::Incident> result = std::unexpected(core::Error::internal("unreachable"));
  if (verb == "notes") {
    if (auto known = only_members(*body, {"actor", "text"}); !known) return from_error(known.error());
    auto text = string_member(*body, "text", "", true);
    if (!text) return from_error(text.error());
    if (text->empty()) return Response::error(400, "expected a non-empty note", "text");
    result = engine_.add_note(*id, actor, *text);
  } else if (verb == "severity") {
    if (auto known = only_members(*body, {"actor", "severity"}); !known) return from_error(known.error());
    auto severity = string_member(*body, "severity", "", true);
    if (!severity) return from_error(severity.error());
    result = engine_.set_severity(*id, *severity, actor);
  } else if (verb == "related") {
    if (auto known = only_members(*body, {"actor", "incident"}); !known) return from_error(known.error());
    auto other_text = string_member(*body, "incident", "", true);
    if (!other_text) return from_error(other_text.error());
    auto other = parse_id(*other_text);
    if (!other) return Response::error(400, other.error().message(), "incident");
    result = engine_.relate(*id, *other, actor);
  } else if (verb == "events") {
    if (auto known = only_members(*body, {"actor", "kind", "detail"}); !known) return from_error(known.error());
    auto kind = string_member(*body, "kind", "", true);
    if (!kind) return from_error(kind.error());
    auto detail = string_member(*body, "detail", "", false);
    if (!detail) return from_error(detail.error());
    result = engine_.record_event(*id, *kind, *detail, actor);
  } else {
    if (auto known = only_members(*body, {"actor"}); !known) return from_error(known.error());
    if (verb == "ack")
      result = engine_.acknowledge(*id, actor);
    else if (verb == "resolve")
      result = engine_.resolve(*id, actor);
    else if (verb == "mitigate")
      result = engine_.mitigate(*id, actor);
    else if (verb == "close")
      result = engine_.close(*id, actor);
    else if (verb == "reopen")
      result = engine_.reopen(*id, actor);
    else
      result = engine_.complete_task(*id, step, verb == "task_skip", actor);
  }
  return result ? ok_json(incident_json(*result)) : from_error(result.error());
}

// GET /api/v1/audit?since=&until=&actor=&action=&limit=&format=json|csv (docs/compliance.md).
Response Router::audit(const Request& request) {
  store::AuditFilter filter;
  filter.limit = 1000;
  bool csv = false;
  const core::Timestamp now = clock_.now();
  for (const auto& [key, value] : request.query) {
    if (key == "since" || key == "until") {
      auto t = parse_since(value, now, key);
      if (!t) return from_error(t.error());
      (key == "since" ? filter.since : filter.until) = *t;
    } else if (key == "actor") {
      filter.actor = value;
    } else if (key == "action") {
      filter.action = value;
    } else if (key == "limit") {
      auto limit = parse_limit(value);
      if (!limit) return from_error(limit.error());
      filter.limit = *limit;
    } else if (key == "format") {
      if (value != "json" && value != "csv") {
        return Response::error(400, fmt::format("bad format \"{}\": expected json or csv", value), "format");
      }
      csv = value == "csv";
    } else {
      return Response::error(
          400, fmt::format("unknown query parameter \"{}\": expected since, until, actor, action, limit, format", key),
          key);
    }
  }
  if (filter.since && filter.until && *filter.until < *filter.since) {
    return Response::error(400, "until is before since: expected until at or after since", "until");
  }
  // One more than asked, to tell the client whether there is more to page through (with since).
  const size_t limit = static_cast<size_t>(*filter.limit);
  *filter.limit += 1;
  auto entries = engine_.list_audit(filter);
  if (!entries) return from_error(entries.error());
  const bool truncated = entries->size() > limit;
  if (truncated) entries->resize(limit);
  if (csv) {
    Response r = Response::text(200, audit_csv(*entries), "text/csv; charset=utf-8; header=present");
    r.headers = {{"Content-Disposition", "attachment; filename=\"tocsin-audit.csv\""},
                 {"X-Tocsin-Truncated", truncated ? "true" : "false"}};
    return r;
  }
  return ok_json(audit_json(*entries, truncated));
}

// GET /api/v1/compliance: reviews, drills and plan clocks (engine/compliance.h).
// Replicas and leases (docs/high-availability.md): who is live, who holds the engine lease.
Response Router::cluster(const Request& request) {
  for (const auto& [key, value] : request.query) {
    return Response::error(400, fmt::format("unknown query parameter \"{}\": this route takes none", key), key);
  }
  auto status = engine_.cluster();
  if (!status) return from_error(status.error());
  const core::Timestamp now = engine_.now();
  json replicas = json::array();
  for (const auto& r : status->replicas) {
    replicas.push_back({{"id", r.replica.id},
                        {"address", r.replica.address},
                        {"started_at", core::format_rfc3339(r.replica.started_at)},
                        {"heartbeat_at", core::format_rfc3339(r.replica.heartbeat_at)},
                        {"heartbeat_age_seconds", static_cast<double>((now - r.replica.heartbeat_at).count()) / 1000.0},
                        {"live", r.live},
                        {"self", r.self}});
  }
  json leases = json::array();
  for (const auto& l : status->leases) {
    const bool held = l.held_by(l.holder, now);
    leases.push_back({{"name", l.name},
                      {"holder", held ? json(l.holder) : json(nullptr)},
                      {"epoch", l.epoch},
                      {"acquired_at", core::format_rfc3339(l.acquired_at)},
                      {"expires_at", core::format_rfc3339(l.expires_at)},
                      {"held", held}});
  }
  // The series ownership view this replica partitions ingestion by (may lag the replicas above by
  // one renewal).
  const auto view = engine_.ownership();
  json members = json::array();
  for (const auto& m : view->members()) members.push_back(m.id);
  return ok_json({{"self", status->self},
                  {"lease_ttl_seconds", static_cast<double>(status->ttl.count()) / 1000.0},
                  {"replicas", std::move(replicas)},
                  {"leases", std::move(leases)},
                  {"ownership", {{"epoch", view->epoch()}, {"members", std::move(members)}}}});
}

Response Router::compliance(const Request& request) {
  for (const auto& [key, value] : request.query) {
    return Response::error(400, fmt::format("unknown query parameter \"{}\": this route takes none", key), key);
  }
  auto report = engine_.compliance();
  if (!report) return from_error(report.error());
  return ok_json(compliance_json(*report));
}

Response Router::on_call(const Request& request) {
  core::Timestamp at = clock_.now();
  const config::Schedule* only = nullptr;
  const config::Config& config = engine_.config();
  for (const auto& [key, value] : request.query) {
    if (key == "at") {
      auto t = core::parse_rfc3339(value);
      if (!t) {
        return Response::error(400, fmt::format("bad at \"{}\": expected an RFC 3339 time like 2026-12-24T09:00:00Z", value),
                               "at");
      }
      at = *t;
    } else if (key == "schedule") {
      only = config.schedule(value);
      if (!only) return Response::error(404, fmt::format("no schedule \"{}\"", value), "schedule");
    } else {
      return Response::error(400, fmt::format("unknown query parameter \"{}\": expected at, schedule", key), key);
    }
  }
  json schedules = json::array();
  for (const config::Schedule& s : config.schedules) {
    if (only && only != &s) continue;
    auto current = oncall::current_shifts(s, at);
    // The config was validated when loaded: a failure here is the server's fault, not the request's.
    if (!current) return Response::error(500, current.error().message());
    schedules.push_back(schedule_on_call_json(s, *current, config));
  }
  return ok_json({{"at", core::format_rfc3339(at)}, {"schedules", schedules}});
}

Response Router::clock_route(const Request& request, std::string_view rest) {
  if (rest != "" && rest != "/advance") {
    return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
  }
  if (!clock_control_) {
    return Response::error(404, "the clock is not simulated: these routes exist only under tocsin serve --simulated-clock");
  }
  if (rest.empty()) {
    if (request.method != "GET") return Response::error(405, "use GET");
    return ok_json({{"now", core::format_rfc3339(clock_control_->now())}, {"simulated", true}});
  }
  if (request.method != "POST") return Response::error(405, "use POST");
  auto body = object_body(request);
  if (!body) return from_error(body.error());
  if (auto known = only_members(*body, {"by", "to", "actor"}); !known) return from_error(known.error());
  auto actor = string_member(*body, "actor", "api", false);
  if (!actor) return from_error(actor.error());
  const bool by = body->contains("by");
  if (by == body->contains("to")) return Response::error(400, "expected exactly one of \"by\" (a duration) and \"to\" (a time)");
  const core::Timestamp from = clock_control_->now();
  core::Timestamp to = from;
  if (by) {
    auto text = string_member(*body, "by", "", true);
    if (!text) return from_error(text.error());
    auto d = core::parse_duration(*text);
    if (!d) return Response::error(400, fmt::format("bad by \"{}\": expected a duration like 10m", *text), "by");
    to = from + *d;
  } else {
    auto text = string_member(*body, "to", "", true);
    if (!text) return from_error(text.error());
    auto t = core::parse_rfc3339(*text);
    if (!t) return Response::error(400, fmt::format("bad to \"{}\": expected an RFC 3339 time", *text), "to");
    if (*t < from) {
      return Response::error(
          400, fmt::format("to {} is before now ({}): the clock never goes back", *text, core::format_rfc3339(from)),
          "to");
    }
    to = *t;
  }
  auto now = clock_control_->advance_to(to);
  if (!now) return from_error(now.error());
  // The clock lives in memory, not in the store: its move is audited right after it is made.
  if (auto audited =
          engine_.record_audit(engine::Actor(audit_actor(*actor), request.remote),
                               {"clock.advance", "clock",
                                fmt::format("from {} to {}", core::format_rfc3339(from), core::format_rfc3339(*now))});
      !audited) {
    return from_error(audited.error());
  }
  return ok_json({{"from", core::format_rfc3339(from)}, {"now", core::format_rfc3339(*now)}, {"simulated", true}});
}

// POST /api/v1/incidents/{id}/actions/{step}/approve with an optional {"actor": "alice"}.
Response Router::approve_action(const Request& request, int64_t id, std::string_view rest) {
  constexpr std::string_view kSuffix = "/approve";
  if (!rest.ends_with(kSuffix) || rest.size() == kSuffix.size()) {
    return Response::error(404, fmt::format("no route for {} {}", request.method, request.path));
  }
  if (request.method != "POST") return Response::error(405, "use POST");
  auto body = object_body(request);
  if (!body) return from_error(body.error());
  if (auto known = only_members(*body, {"actor"}); !known) return from_error(known.error());
  auto actor = string_member(*body, "actor", "api", false);
  if (!actor) return from_error(actor.error());
  auto result =
      engine_.approve_action(id, rest.substr(0, rest.size() - kSuffix.size()), engine::Actor(audit_actor(*actor), request.remote));
  return result ? ok_json(incident_json(*result)) : from_error(result.error());
}

Response Router::ack_link(const Request& request, std::string_view token) {
  const bool get = request.method == "GET";
  if (!get && request.method != "POST") return Response::error(405, "use GET or POST");
  if (ack_key_.empty()) return Response::error(404, "acknowledge links are not enabled on this server");
  const bool json_out = !get && wants_json(request);
  auto refuse = [&](int status, std::string_view message) {
    return json_out ? Response::error(status, message)
                    : ack_page(status, "Cannot acknowledge", fmt::format("<p>{}</p>\n", notify::html_escape(message)));
  };
  auto claim = notify::verify_ack_token(token, clock_.now(), ack_key_);
  if (!claim) return refuse(403, claim.error().message());
  auto inc = engine_.get_incident(claim->incident);
  if (!inc) return refuse(http_status(inc.error()), inc.error().message());
  const std::string title = fmt::format("Incident #{}: {}", inc->id, inc->title);
  auto answer = [&](const store::Incident& current, bool acknowledged_now) {
    const std::string message =
        acknowledged_now
            ? fmt::format("Acknowledged incident #{} as {}.", current.id, claim->actor)
            : current.status == store::IncidentStatus::kAcknowledged
                  ? fmt::format("Incident #{} was already acknowledged{}.", current.id, acknowledged_by(current))
                  : fmt::format("Incident #{} is {}: nothing to acknowledge.", current.id,
                                store::to_string(current.status));
    if (json_out) {
      return ok_json({{"acknowledged", acknowledged_now}, {"message", message}, {"incident", incident_json(current)}});
    }
    return ack_page(200, title,
                    fmt::format("<p>{}</p>\n<p>Severity {} · plan {} · status <b>{}</b></p>\n", notify::html_escape(message),
                                notify::html_escape(current.severity), notify::html_escape(current.plan),
                                store::to_string(current.status)));
  };
  if (inc->status != store::IncidentStatus::kTriggered) return answer(*inc, false);
  if (get) {
    // Looking is not acknowledging: link previews and mail scanners fetch GETs.
    return ack_page(200, title,
                    fmt::format("<p>Severity {} · plan {} · status <b>{}</b> · opened {}</p>\n"
                                "<form method=\"post\"><button type=\"submit\" style=\"font-size: 1.2em\">"
                                "Acknowledge as {}</button></form>\n",
                                notify::html_escape(inc->severity), notify::html_escape(inc->plan),
                                store::to_string(inc->status), core::format_rfc3339(inc->opened_at),
                                notify::html_escape(claim->actor)));
  }
  auto acked = engine_.acknowledge(inc->id, engine::Actor(claim->actor, request.remote));
  if (acked) return answer(*acked, true);
  if (acked.error().code() != core::ErrorCode::kFailedPrecondition) return refuse(http_status(acked.error()), acked.error().message());
  // Someone else moved it on in the meantime.
  auto now_inc = engine_.get_incident(inc->id);
  return now_inc ? answer(*now_inc, false) : refuse(http_status(now_inc.error()), now_inc.error().message());
}

}  // namespace tocsin::api
