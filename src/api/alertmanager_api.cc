#include "api/alertmanager_api.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/alert_list_scanner.h"
#include "api/request_principal.h"
#include "api/router.h"
#include "core/regex.h"
#include "core/utf8.h"

namespace tocsin::api {

using http::Request;
using http::Response;
using nlohmann::json;

namespace {

constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";  // Go's zero time.Time

// Alertmanager's API v2 answers errors with a JSON string (amtool parses it as one), so the
// field goes into the message.
Response error_response(int status, std::string_view message, std::string_view field) {
  const std::string text = field.empty() ? std::string(message) : fmt::format("{}: {}", field, message);
  return Response::json(status, json(text).dump(-1, ' ', false, json::error_handler_t::replace));
}
Response bad(std::string_view message, std::string_view field = {}) { return error_response(400, message, field); }
Response from_error(const core::Error& e) { return error_response(http_status(e), e.message(), e.field()); }
Response ok_json(const json& body) {
  return Response::json(200, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Every value of a repeated query parameter (Request::query keeps only the last).
std::vector<std::string> query_values(const Request& request, std::string_view name) {
  std::vector<std::string> out;
  const auto q = request.target.find('?');
  if (q == std::string::npos) return out;
  std::string_view rest = std::string_view(request.target).substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view piece = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = piece.find('=');
    std::string key = http::percent_decode(piece.substr(0, eq));
    if (key != name) continue;
    std::string value = eq == std::string_view::npos ? "" : std::string(piece.substr(eq + 1));
    std::replace(value.begin(), value.end(), '+', ' ');
    out.push_back(http::percent_decode(value));
  }
  return out;
}

// ?name=true|false; absent gives `fallback`.
core::Result<bool> bool_param(const Request& request, const std::string& name, bool fallback) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  if (it->second == "true") return true;
  if (it->second == "false") return false;
  return std::unexpected(core::Error::invalid_argument(fmt::format("expected true or false, got \"{}\"", it->second))
                             .field(name));
}

// `filter` parameters: Alertmanager matchers, optionally wrapped in {…} (amtool sends them bare).
core::Result<std::vector<core::Matcher>> filter_param(const Request& request) {
  std::vector<core::Matcher> out;
  for (std::string text : query_values(request, "filter")) {
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') text = text.substr(1, text.size() - 2);
    auto m = core::Matcher::parse(text);
    if (!m) return std::unexpected(core::Error::invalid_argument(m.error().message()).field("filter"));
    out.push_back(std::move(*m));
  }
  return out;
}

// Go's time.Time JSON form (RFC 3339, fraction without trailing zeros), as Alertmanager writes it.
std::string time_json(core::Timestamp t) { return core::format_rfc3339_nano(t); }

json labels_json(const core::Labels& labels) {
  json out = json::object();
  for (const auto& l : labels) out[l.name] = l.value;
  return out;
}

json gettable_alert(const alerting::AlertStatus& s) {
  const auto& a = s.alert;
  json receivers = json::array();
  for (const auto& r : s.receivers) receivers.push_back({{"name", r}});
  json inhibited = json::array();
  for (uint64_t fp : s.inhibited_by) inhibited.push_back(core::fingerprint_hex(fp));
  return {{"annotations", a.annotations},
          {"endsAt", a.ends_at ? time_json(*a.ends_at) : std::string(kZeroTime)},
          {"fingerprint", core::fingerprint_hex(a.fingerprint)},
          {"receivers", std::move(receivers)},
          {"startsAt", time_json(a.active_at)},
          {"status",
           {{"inhibitedBy", std::move(inhibited)}, {"silencedBy", s.silenced_by}, {"state", to_string(s.state)}}},
          {"updatedAt", time_json(a.updated_at)},
          {"generatorURL", a.generator_url},
          {"labels", labels_json(a.labels)}};
}

json matcher_json(const core::Matcher& m) {
  const bool regex = m.op() == core::MatchOp::kRegex || m.op() == core::MatchOp::kNotRegex;
  const bool equal = m.op() == core::MatchOp::kEqual || m.op() == core::MatchOp::kRegex;
  return {{"name", m.name()}, {"value", m.value()}, {"isRegex", regex}, {"isEqual", equal}};
}

json gettable_silence(const store::Silence& s, core::Timestamp now) {
  json matchers = json::array();
  for (const auto& m : s.matchers) matchers.push_back(matcher_json(m));
  return {{"id", s.id},
          {"status", {{"state", alerting::to_string(alerting::state_of(s, now))}}},
          {"updatedAt", time_json(s.updated_at)},
          {"matchers", std::move(matchers)},
          {"startsAt", time_json(s.starts_at)},
          {"endsAt", time_json(s.ends_at)},
          {"createdBy", s.created_by},
          {"comment", s.comment}};
}

// The parse_*_body functions report a 400 as an invalid_argument error; from_error maps it back.
std::unexpected<core::Error> bad_body(std::string_view message, std::string_view field = {}) {
  auto e = core::Error::invalid_argument(std::string(message));
  if (!field.empty()) e.field(std::string(field));
  return std::unexpected(std::move(e));
}

core::Result<json> parse_json(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::unexpected(core::Error::invalid_argument("malformed JSON"));
  return doc;
}

core::Result<std::optional<core::Timestamp>> time_member(const json& obj, const char* name, const std::string& path) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::optional<core::Timestamp>{};
  if (!it->is_string()) {
    return std::unexpected(core::Error::invalid_argument("expected an RFC 3339 time string").field(path + name));
  }
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty() || text.starts_with("0001-01-01T00:00:00")) return std::optional<core::Timestamp>{};  // Go's zero time
  auto t = core::parse_rfc3339(text);
  if (!t) return std::unexpected(core::Error::invalid_argument(t.error().message()).field(path + name));
  return std::optional<core::Timestamp>(*t);
}

core::Result<std::map<std::string, std::string>> string_map(const json& obj, const char* name, const std::string& path,
                                                             bool label_names) {
  std::map<std::string, std::string> out;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object()) return std::unexpected(core::Error::invalid_argument("expected an object").field(path + name));
  for (const auto& [key, value] : it->items()) {
    const std::string field = fmt::format("{}{}.{}", path, name, key);
    if (label_names && !core::is_valid_label_name(key)) {
      return std::unexpected(
          core::Error::invalid_argument(fmt::format("invalid label name \"{}\"", key)).field(field));
    }
    if (!value.is_string()) return std::unexpected(core::Error::invalid_argument("expected a string").field(field));
    const auto& text = value.get_ref<const std::string&>();
    if (!core::is_valid_utf8(text)) {
      return std::unexpected(core::Error::invalid_argument("invalid UTF-8").field(field));
    }
    if (label_names && text.empty()) continue;  // an empty label value is no label, as in Prometheus
    out.emplace(key, text);
  }
  return out;
}

// One alert of a POST /api/v2/alerts body (or of a webhook), checked as Alertmanager checks it.
// `resolve_timeout` applies to alerts sent without an end time; nullopt keeps them firing until
// resolved (webhook intake: the upstream Alertmanager sends the resolve).
core::Result<alerting::Alert> parse_alert(const json& item, const std::string& path, core::Timestamp now,
                                          std::optional<core::Duration> resolve_timeout) {
  if (!item.is_object()) return std::unexpected(core::Error::invalid_argument("expected an alert object").field(path));
  auto labels = TOCSIN_TRY(string_map(item, "labels", path + ".", true));
  if (labels.empty()) {
    return std::unexpected(core::Error::invalid_argument("at least one label pair required").field(path + ".labels"));
  }
  alerting::Alert a;
  std::vector<core::Label> pairs;
  for (auto& [k, v] : labels) pairs.push_back({k, v});
  a.labels = core::Labels::from_pairs(std::move(pairs));
  a.fingerprint = a.labels.fingerprint();
  a.annotations = TOCSIN_TRY(string_map(item, "annotations", path + ".", false));
  auto starts = TOCSIN_TRY(time_member(item, "startsAt", path + "."));
  auto ends = TOCSIN_TRY(time_member(item, "endsAt", path + "."));
  if (auto g = item.find("generatorURL"); g != item.end() && !g->is_null()) {
    if (!g->is_string()) {
      return std::unexpected(core::Error::invalid_argument("expected a string").field(path + ".generatorURL"));
    }
    a.generator_url = g->get<std::string>();
  }
  if (!alerting::set_received_times(a, starts, ends, now, resolve_timeout)) {
    return std::unexpected(core::Error::invalid_argument("start time must be before end time").field(path + ".endsAt"));
  }
  return a;
}

}  // namespace

AlertmanagerApi::AlertmanagerApi(engine::Engine& engine, core::Clock& clock, const IntakeLimits& limits)
    : engine_(engine), clock_(clock), limits_(limits), started_at_(clock.now()) {
  if (!engine.config().path.empty()) {
    std::ifstream in(engine.config().path);
    std::ostringstream text;
    text << in.rdbuf();
    config_text_ = text.str();
  }
}

std::optional<Response> AlertmanagerApi::handle(const Request& request) {
  const std::string_view path = request.path;
  const std::string& m = request.method;
  auto only = [&](std::string_view allowed, auto&& fn) -> Response {
    return m == allowed ? fn() : error_response(405, fmt::format("use {}", allowed), {});
  };
  if (path == "/api/v2/alerts") {
    if (m == "POST") return post_alerts(request);
    if (m == "GET") return get_alerts(request);
    return error_response(405, "use GET or POST", {});
  }
  if (path == "/api/v2/alerts/groups") return only("GET", [&] { return get_groups(request); });
  if (path == "/api/v2/silences") {
    if (m == "POST") return post_silence(request);
    if (m == "GET") return get_silences(request);
    return error_response(405, "use GET or POST", {});
  }
  if (path.starts_with("/api/v2/silence/")) return silence_route(request, path.substr(16));
  if (path == "/api/v2/status") return only("GET", [&] { return status(); });
  if (path == "/api/v2/receivers") return only("GET", [&] { return receivers(); });
  if (path == "/api/v1/alertmanager/webhook") return only("POST", [&] { return webhook(request); });
  return std::nullopt;
}

std::optional<Response> AlertmanagerApi::check_alerts(const std::vector<alerting::Alert>& alerts,
                                                      std::string_view path) {
  auto v = limits_.count("max_alerts_per_request", alerts.size(), "alerts in one request", path);
  for (size_t i = 0; !v && i < alerts.size(); ++i) v = limits_.labels(alerts[i].labels, {"alert", path}, i);
  if (!v) return std::nullopt;
  limits_.reject(*v);
  return error_response(400, v->message, v->field);
}

// A silence's matchers: how many, and each name and value bounded like a label's.
std::optional<Response> AlertmanagerApi::check_silence(const store::Silence& s) {
  if (auto v = limits_.count("max_silence_matchers", s.matchers.size(), "matchers in one silence", "matchers")) {
    limits_.reject(*v);
    return error_response(400, v->message, v->field);
  }
  for (size_t i = 0; i < s.matchers.size(); ++i) {
    const std::string& name = s.matchers[i].name();
    if (name.size() > static_cast<size_t>(limits_.config().max_label_name_bytes)) {
      limits_.reject({"max_label_name_bytes", "", ""});
      return bad(fmt::format("the name is {} bytes long: limits.max_label_name_bytes is {}", name.size(),
                             limits_.config().max_label_name_bytes),
                 fmt::format("matchers[{}].name", i));
    }
    if (auto v = limits_.label_value("value", s.matchers[i].value(), {"matcher", "matchers"}, i)) {
      limits_.reject(*v);
      return error_response(400, v->message, v->field);
    }
  }
  return std::nullopt;
}

// Whether the scanned alerts are within the per-request limits (check_alerts on views, without
// messages: a request over a limit takes the general path, which answers it).
bool AlertmanagerApi::within_limits(const ScannedAlerts& scanned) const {
  const auto& l = limits_.config();
  if (scanned.alerts.size() > static_cast<size_t>(l.max_alerts_per_request)) return false;
  const auto max_labels = static_cast<size_t>(l.max_labels_per_series);
  const auto max_name = static_cast<size_t>(l.max_label_name_bytes);
  const auto max_value = static_cast<size_t>(l.max_label_value_bytes);
  for (const auto& a : scanned.alerts) {
    if (a.labels.size() > max_labels) return false;
  }
  for (const auto& p : scanned.labels) {
    if (p.name.size() > max_name || p.value.size() > max_value) return false;
  }
  return true;
}

Response AlertmanagerApi::post_alerts(const Request& request) {
  const core::Timestamp received = clock_.now();
  const auto resolve_timeout = engine_.config().alerting.resolve_timeout;
  // The common shape (what Prometheus sends) is read without a JSON tree, in place, into buffers
  // this thread keeps; anything else, errors included, takes the general path below.
  thread_local ScannedAlerts scanned;
  if (scan_alert_views(request.body, received, resolve_timeout, scanned)) {
    // Prometheus' steady state: every alert a re-send with new times only. Taken without
    // building alerts; anything else (a new alert, a changed annotation, a resolve, an alert
    // twice) builds them and goes through receive_alerts, as before.
    if (within_limits(scanned)) {
      if (auto taken = engine_.receive_resends(scanned.alerts)) {
        if (!*taken) return from_error(taken->error());
        return Response::json(200, "");
      }
    }
    std::vector<alerting::Alert> alerts;
    alerts.reserve(scanned.alerts.size());
    for (const auto& v : scanned.alerts) alerts.push_back(alerting::to_alert(v));
    if (auto over = check_alerts(alerts, "")) return std::move(*over);
    auto st = engine_.receive_alerts(std::move(alerts));
    if (!st) return from_error(st.error());
    return Response::json(200, "");
  }
  auto alerts = parse_alerts_body(request.body, clock_.now(), resolve_timeout);
  if (!alerts) return from_error(alerts.error());
  if (auto over = check_alerts(*alerts, "")) return std::move(*over);
  auto st = engine_.receive_alerts(std::move(*alerts));
  if (!st) return from_error(st.error());
  return Response::json(200, "");
}

Response AlertmanagerApi::get_alerts(const Request& request) {
  auto matchers = filter_param(request);
  if (!matchers) return from_error(matchers.error());
  auto active = bool_param(request, "active", true);
  auto silenced = bool_param(request, "silenced", true);
  auto inhibited = bool_param(request, "inhibited", true);
  auto unprocessed = bool_param(request, "unprocessed", true);
  for (const auto* p : {&active, &silenced, &inhibited, &unprocessed}) {
    if (!*p) return from_error(p->error());
  }
  std::optional<core::Regex> receiver;
  if (auto it = request.query.find("receiver"); it != request.query.end()) {
    auto re = core::Regex::compile(it->second);  // anchored, as Alertmanager's ^(?:re)$
    if (!re) return bad(re.error().message(), "receiver");
    receiver = std::move(*re);
  }
  json out = json::array();
  for (const auto& s : engine_.alert_statuses()) {
    if (!core::matches_all(*matchers, s.alert.labels)) continue;
    if (receiver && std::none_of(s.receivers.begin(), s.receivers.end(),
                                 [&](const std::string& r) { return receiver->full_match(r); })) {
      continue;
    }
    if (s.state == alerting::AlertStatus::State::kActive && !*active) continue;
    if (!s.silenced_by.empty() && !*silenced) continue;
    if (!s.inhibited_by.empty() && !*inhibited) continue;
    out.push_back(gettable_alert(s));
  }
  return ok_json(out);
}

Response AlertmanagerApi::get_groups(const Request& request) {
  auto matchers = filter_param(request);
  if (!matchers) return from_error(matchers.error());
  json out = json::array();
  for (const auto& g : engine_.alert_groups()) {
    json alerts = json::array();
    for (const auto& s : g.alerts) {
      if (core::matches_all(*matchers, s.alert.labels)) alerts.push_back(gettable_alert(s));
    }
    if (alerts.empty()) continue;
    out.push_back({{"labels", labels_json(g.labels)}, {"receiver", {{"name", g.receiver}}}, {"alerts", alerts}});
  }
  return ok_json(out);
}

Response AlertmanagerApi::get_silences(const Request& request) {
  auto matchers = filter_param(request);
  if (!matchers) return from_error(matchers.error());
  const core::Timestamp now = clock_.now();
  auto list = engine_.silences();
  // Alertmanager's order: active (soonest end first), then pending (soonest start), then expired
  // (latest end first).
  auto rank = [&](const store::Silence& s) {
    switch (alerting::state_of(s, now)) {
      case alerting::SilenceState::kActive: return std::make_pair(0, core::to_unix_ms(s.ends_at));
      case alerting::SilenceState::kPending: return std::make_pair(1, core::to_unix_ms(s.starts_at));
      case alerting::SilenceState::kExpired: return std::make_pair(2, -core::to_unix_ms(s.ends_at));
    }
    return std::make_pair(3, int64_t{0});
  };
  std::stable_sort(list.begin(), list.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  json out = json::array();
  for (const auto& s : list) {
    // A silence is listed when every filter matcher equals one of its matchers' label sets:
    // Alertmanager matches the filter against the silence's equality matchers as labels.
    core::Labels as_labels;
    for (const auto& m : s.matchers) {
      if (m.op() == core::MatchOp::kEqual) as_labels.set(m.name(), m.value());
    }
    if (!core::matches_all(*matchers, as_labels)) continue;
    out.push_back(gettable_silence(s, now));
  }
  return ok_json(out);
}

Response AlertmanagerApi::post_silence(const Request& request) {
  auto s = parse_silence_body(request.body, clock_.now());
  if (!s) return from_error(s.error());
  if (auto over = check_silence(*s)) return std::move(*over);
  // With auth on, createdBy is only a claim: the authenticated principal is recorded beside it.
  if (current_principal()) s->created_by = audit_actor(s->created_by);
  auto id = engine_.set_silence(std::move(*s), request.remote);
  if (!id) return from_error(id.error());
  return ok_json({{"silenceID", *id}});
}

core::Result<store::Silence> parse_silence_body(std::string_view text, core::Timestamp now) {
  auto doc = parse_json(text);
  if (!doc) return std::unexpected(doc.error());
  if (!doc->is_object()) return bad_body("expected a silence object");
  const json& body = *doc;
  store::Silence s;
  if (auto it = body.find("id"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return bad_body("expected a string", "id");
    s.id = it->get<std::string>();
  }
  auto matchers = body.find("matchers");
  if (matchers == body.end() || !matchers->is_array()) return bad_body("expected a list of matchers", "matchers");
  for (size_t i = 0; i < matchers->size(); ++i) {
    const json& m = (*matchers)[i];
    const std::string field = fmt::format("matchers[{}]", i);
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string() || !m.contains("value") ||
        !m["value"].is_string()) {
      return bad_body("expected {name, value, isRegex, isEqual}", field);
    }
    // Checked rather than read with json::value, which throws on a non-boolean (found by
    // fuzz/alertmanager_fuzz.cc: "isEqual": "x" was a 500).
    bool regex = false;
    bool equal = true;
    for (auto [name, flag] : {std::pair{"isRegex", &regex}, std::pair{"isEqual", &equal}}) {
      if (auto it = m.find(name); it != m.end() && !it->is_null()) {
        if (!it->is_boolean()) return bad_body("expected a boolean", fmt::format("{}.{}", field, name));
        *flag = it->get<bool>();
      }
    }
    const auto op = regex ? (equal ? core::MatchOp::kRegex : core::MatchOp::kNotRegex)
                          : (equal ? core::MatchOp::kEqual : core::MatchOp::kNotEqual);
    auto matcher = core::Matcher::create(m["name"].get<std::string>(), op, m["value"].get<std::string>());
    if (!matcher) return bad_body(matcher.error().message(), field);
    s.matchers.push_back(std::move(*matcher));
  }
  auto starts = time_member(body, "startsAt", "");
  auto ends = time_member(body, "endsAt", "");
  if (!starts) return std::unexpected(starts.error());
  if (!ends) return std::unexpected(ends.error());
  if (!*starts) return bad_body("missing: expected an RFC 3339 time", "startsAt");
  if (!*ends) return bad_body("missing: expected an RFC 3339 time", "endsAt");
  s.starts_at = **starts;
  s.ends_at = **ends;
  if (s.starts_at >= s.ends_at) return bad_body("failed to create silence: start time must be before end time", "endsAt");
  if (s.ends_at < now) return bad_body("failed to create silence: end time can't be in the past", "endsAt");
  for (auto [name, target] : {std::pair{"createdBy", &s.created_by}, std::pair{"comment", &s.comment}}) {
    if (auto it = body.find(name); it != body.end() && !it->is_null()) {
      if (!it->is_string()) return bad_body("expected a string", name);
      *target = it->get<std::string>();
    }
  }
  return s;
}

Response AlertmanagerApi::silence_route(const Request& request, std::string_view id) {
  if (request.method == "GET") {
    auto s = engine_.silence(id);
    if (!s) return error_response(404, fmt::format("silence {} not found", id), {});
    return ok_json(gettable_silence(*s, clock_.now()));
  }
  if (request.method == "DELETE") {
    const auth::Principal* principal = current_principal();
    auto st = engine_.expire_silence(id, request.remote, principal ? std::string_view(principal->name) : "");
    if (!st) return from_error(st.error());
    return Response::json(200, "");
  }
  return error_response(405, "use GET or DELETE", {});
}

Response AlertmanagerApi::status() {
  json out = {{"cluster", {{"name", ""}, {"status", "disabled"}, {"peers", json::array()}}},
              {"versionInfo",
               {{"version", TOCSIN_VERSION},
                {"revision", ""},
                {"branch", ""},
                {"buildUser", ""},
                {"buildDate", ""},
                {"goVersion", "none (tocsin)"}}},
              {"config", {{"original", config_text_}}},
              {"uptime", time_json(started_at_)}};
  return ok_json(out);
}

Response AlertmanagerApi::receivers() {
  json out = json::array();
  for (const auto& r : engine_.receivers()) out.push_back({{"name", r}});
  return ok_json(out);
}

Response AlertmanagerApi::webhook(const Request& request) {
  auto alerts = parse_webhook_body(request.body, clock_.now());
  if (!alerts) return from_error(alerts.error());
  if (auto over = check_alerts(*alerts, "alerts")) return std::move(*over);
  auto st = engine_.receive_alerts(std::move(*alerts));
  if (!st) return from_error(st.error());
  return ok_json({{"received", *st}});
}

core::Result<std::vector<alerting::Alert>> parse_alerts_body(std::string_view body, core::Timestamp now,
                                                             std::optional<core::Duration> resolve_timeout) {
  auto doc = parse_json(body);
  if (!doc) return std::unexpected(doc.error());
  if (!doc->is_array()) return bad_body("expected a JSON array of alerts");
  std::vector<alerting::Alert> alerts;
  alerts.reserve(doc->size());
  for (size_t i = 0; i < doc->size(); ++i) {
    auto a = parse_alert((*doc)[i], fmt::format("[{}]", i), now, resolve_timeout);
    if (!a) return std::unexpected(a.error());
    alerts.push_back(std::move(*a));
  }
  return alerts;
}

core::Result<std::vector<alerting::Alert>> parse_webhook_body(std::string_view body, core::Timestamp now) {
  auto doc = parse_json(body);
  if (!doc) return std::unexpected(doc.error());
  if (!doc->is_object()) return bad_body("expected an Alertmanager webhook object");
  if (auto v = doc->find("version"); v == doc->end() || *v != "4") {
    return bad_body("expected version \"4\" (Alertmanager webhook payload)", "version");
  }
  auto list = doc->find("alerts");
  if (list == doc->end() || !list->is_array()) return bad_body("expected a list of alerts", "alerts");
  std::vector<alerting::Alert> alerts;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string path = fmt::format("alerts[{}]", i);
    auto a = parse_alert((*list)[i], path, now, std::nullopt);
    if (!a) return std::unexpected(a.error());
    // A resolved alert in a webhook always carries its end; a firing one has Go's zero time.
    // (Not json::value("status", ""), which throws when status is not a string.)
    const auto status = (*list)[i].find("status");
    if (status != (*list)[i].end() && *status == "resolved" && !a->ends_at) a->ends_at = now;
    alerts.push_back(std::move(*a));
  }
  return alerts;
}

}  // namespace tocsin::api
