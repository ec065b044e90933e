#include "config/loader.h"

#include <fmt/format.h>
#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <initializer_list>
#include <map>

#include "config/tls_files.h"
#include "config/yaml_reader.h"
#include "core/duration.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/regex.h"

namespace tocsin::config {
namespace {

namespace fs = std::filesystem;
using core::Error;
using core::Result;
using core::Status;
using yaml::describe;
using yaml::is_plain;
using yaml::item_path;
using yaml::join;
using yaml::join_path;
using yaml::Keys;
using yaml::line_of;
using yaml::Map;
using yaml::Node;
using yaml::to_integer;
using yaml::to_number;

enum class RefKind { kPerson, kSchedule, kChannel, kPolicy, kTimeInterval, kPlan };

// A name that must exist somewhere in the config; checked once every section is read, because
// sections may come in any order.
struct PendingRef {
  RefKind kind;
  std::string id;
  core::Position pos;
  std::string path;
};

std::optional<int> two_digits(std::string_view s, size_t at) {
  if (at + 2 > s.size() || !std::isdigit(static_cast<unsigned char>(s[at])) ||
      !std::isdigit(static_cast<unsigned char>(s[at + 1]))) {
    return std::nullopt;
  }
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

// "09:00" -> minutes after midnight.
std::optional<std::chrono::minutes> parse_hhmm(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  auto h = two_digits(s, 0);
  auto m = two_digits(s, 3);
  if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
  return std::chrono::minutes(*h * 60 + *m);
}

// "2026-01-05"
std::optional<std::chrono::local_days> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto y1 = two_digits(s, 0);
  auto y2 = two_digits(s, 2);
  auto mo = two_digits(s, 5);
  auto d = two_digits(s, 8);
  if (!y1 || !y2 || !mo || !d) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*y1 * 100 + *y2),
                                        std::chrono::month(static_cast<unsigned>(*mo)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::local_days(ymd);
}

// "2026-12-24T00:00"
std::optional<LocalTime> parse_local_time(std::string_view s) {
  if (s.size() != 16 || s[10] != 'T') return std::nullopt;
  auto day = parse_date(s.substr(0, 10));
  auto time = parse_hhmm(s.substr(11));
  if (!day || !time) return std::nullopt;
  return LocalTime(*day) + *time;
}

std::optional<std::chrono::weekday> parse_weekday(std::string_view s) {
  static constexpr std::string_view kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (unsigned i = 0; i < 7; ++i) {
    if (lower == kDays[i]) return std::chrono::weekday(i);
  }
  return std::nullopt;
}

// "UTC", or a TZif file under /usr/share/zoneinfo (what the oncall layer will load).
bool is_known_timezone(std::string_view name) {
  if (name == "UTC") return true;
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) return false;
  std::ifstream in(fs::path("/usr/share/zoneinfo") / std::string(name), std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "TZif";
}

std::string lowercase(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Alertmanager's time-interval members (timeinterval package): full names only, already lowercased.
std::optional<int> weekday_number(std::string_view lower) {
  static constexpr std::string_view kNames[] = {"sunday",   "monday", "tuesday", "wednesday",
                                                "thursday", "friday", "saturday"};
  for (int i = 0; i < 7; ++i) {
    if (lower == kNames[i]) return i;
  }
  return std::nullopt;
}

std::optional<int> month_number(std::string_view lower) {
  static constexpr std::string_view kNames[] = {"january", "february", "march",     "april",   "may",      "june",
                                                "july",    "august",   "september", "october", "november", "december"};
  for (int i = 0; i < 12; ++i) {
    if (lower == kNames[i]) return i + 1;
  }
  const auto n = to_integer(lower);
  if (n && *n >= 1 && *n <= 12) return static_cast<int>(*n);
  return std::nullopt;
}

std::optional<int> day_of_month_number(std::string_view s) {
  const auto n = to_integer(s);
  if (n && *n != 0 && *n >= -31 && *n <= 31) return static_cast<int>(*n);
  return std::nullopt;
}

std::optional<int> year_number(std::string_view s) {
  const auto n = to_integer(s);
  if (n && *n >= 1 && *n <= 9999) return static_cast<int>(*n);
  return std::nullopt;
}

// "HH:MM" from 00:00 to 24:00 -> minutes after midnight (Alertmanager's times: two digits each).
std::optional<int> parse_time_of_day(std::string_view s) {
  if (s == "24:00") return 24 * 60;
  const auto t = parse_hhmm(s);
  if (!t) return std::nullopt;
  return static_cast<int>(t->count());
}

bool is_http_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

// Keys every channel takes, plus the ones of its own type.
bool channel_key_applies(std::string_view type, std::string_view key) {
  if (key == "name" || key == "type" || key == "timeout" || key == "send_resolved" || key == "title" || key == "body") {
    return true;
  }
  if (type == "webhook") return key == "url" || key == "format" || key == "secret_env" || key == "secret_file";
  if (type == "slack") return key == "url";
  if (type == "email") return key == "smtp" || key == "to";
  return key == "command";
}

// The order of Alertmanager's labels.MatchType, which breaks ties when a route's matchers are sorted.
int match_op_rank(core::MatchOp op) {
  switch (op) {
    case core::MatchOp::kEqual: return 0;
    case core::MatchOp::kNotEqual: return 1;
    case core::MatchOp::kRegex: return 2;
    case core::MatchOp::kNotRegex: return 3;
  }
  return 0;
}

bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

constexpr std::string_view kTopKeys[] = {
    "server", "auth",          "people", "channels", "schedules",      "escalation_policies",
    "scrape", "probes",        "rules",  "alerting", "time_intervals", "mute_time_intervals",
    "routes", "inhibit_rules", "plans",  "risks",    "limits"};
constexpr std::string_view kServerKeys[] = {"listen",     "data_dir",  "store",          "store_pool", "external_url",
                                            "log_level",  "retention", "ack_secret_env", "tls",        "replica_id",
                                            "advertise_url", "lease",  "trusted_proxies"};
constexpr std::string_view kLeaseKeys[] = {"ttl", "renew_every"};
constexpr std::string_view kStorePoolKeys[] = {"size"};
constexpr std::string_view kTlsKeys[] = {"cert_file", "key_file", "min_version"};
constexpr std::string_view kAuthKeys[] = {"tokens", "metrics_public", "intake"};
constexpr std::string_view kTokenKeys[] = {"name", "role", "token_env", "token_file", "token_sha256"};
constexpr std::string_view kIntakeKeys[] = {"secret_env", "secret_file"};
constexpr std::string_view kPersonKeys[] = {"id", "name", "timezone", "contact"};
constexpr std::string_view kContactKeys[] = {"email", "webhook", "slack"};
constexpr std::string_view kChannelKeys[] = {"name",    "type",    "url",           "format", "smtp",       "to",
                                             "command", "timeout", "send_resolved", "title",  "body",       "secret_env",
                                             "secret_file"};
constexpr std::string_view kSmtpKeys[] = {"host", "port", "from", "username", "password_env", "starttls"};
constexpr std::string_view kScheduleKeys[] = {"id", "timezone", "layers", "overrides"};
constexpr std::string_view kLayerKeys[] = {"rotation", "handoff", "start", "shift_length", "members"};
constexpr std::string_view kOverrideKeys[] = {"person", "from", "to"};
constexpr std::string_view kPolicyKeys[] = {"id", "repeat", "repeat_every", "levels"};
constexpr std::string_view kLevelKeys[] = {"after", "notify"};
constexpr std::string_view kScrapeKeys[] = {"job", "interval", "timeout", "metrics_path", "targets"};
constexpr std::string_view kProbeKeys[] = {"name", "http", "tcp", "interval", "timeout", "expect_status", "body_match"};
constexpr std::string_view kRuleKeys[] = {"name",     "select", "detector",   "for", "keep_firing_for", "flap_window",
                                          "severity", "labels", "annotations"};
constexpr std::string_view kRouteKeys[] = {
    "receiver", "group_by", "group_wait", "group_interval",      "repeat_interval",       "matchers",
    "match",    "match_re", "continue",   "mute_time_intervals", "active_time_intervals", "routes"};
constexpr std::string_view kAlertingKeys[] = {"resolve_timeout"};
constexpr std::string_view kLimitsKeys[] = {"max_body_bytes",
                                            "max_header_bytes",
                                            "read_timeout",
                                            "idle_timeout",
                                            "max_connections",
                                            "max_inflight_body_bytes",
                                            "max_labels_per_series",
                                            "max_label_name_bytes",
                                            "max_label_value_bytes",
                                            "max_series_per_request",
                                            "max_alerts_per_request",
                                            "max_events_per_request",
                                            "max_silence_matchers",
                                            "max_series",
                                            "max_alerts",
                                            "max_silences",
                                            "rate"};
constexpr std::string_view kRateKeys[] = {"requests_per_second", "burst", "max_clients"};
constexpr std::string_view kNamedTimeIntervalKeys[] = {"name", "time_intervals"};
constexpr std::string_view kTimeIntervalKeys[] = {"times", "weekdays", "days_of_month", "months", "years", "location"};
constexpr std::string_view kTimeRangeKeys[] = {"start_time", "end_time"};
constexpr std::string_view kInhibitKeys[] = {"source_matchers", "target_matchers", "equal"};
constexpr std::string_view kPlanKeys[] = {"id",    "title",     "match",          "severity", "escalation",  "roles",
                                          "steps", "resources", "communications", "clocks",   "review_every",
                                          "reviewed", "drill"};
constexpr std::string_view kPlanDrillKeys[] = {"every", "scenario"};
constexpr std::string_view kRiskKeys[] = {"id",    "title", "likelihood", "likelihood_from", "impact",
                                          "owner", "plan",  "mitigation", "review"};
constexpr std::string_view kRiskModelKeys[] = {"model", "class", "indicators", "every", "alert_above", "labels", "data"};
constexpr std::string_view kIncludeKeys[] = {"include"};
constexpr std::string_view kStepKeys[] = {"id", "title", "owner", "due", "checklist", "action"};
constexpr std::string_view kActionKeys[] = {"type", "url", "body", "command", "approve", "timeout"};
constexpr std::string_view kResourceKeys[] = {"name", "kind", "ref"};
constexpr std::string_view kClockKeys[] = {"name", "every", "within", "from", "until", "owner"};
constexpr std::string_view kDetectorKinds[] = {"threshold", "sigma",       "ewma",   "mad",
                                               "seasonal",  "changepoint", "absent", "auto"};

class Parser : yaml::Reader {
 public:
  Parser(std::string file, fs::path base_dir) : Reader(std::move(file), {}), base_dir_(std::move(base_dir)) {}

  Result<Config> parse(const YAML::Node& root) {
    Config cfg;
    cfg.path = file_;
    const Map top = TOCSIN_TRY(map({root, "", 1}, kTopKeys));
    // Sections in document order, so the first error reported is the first in the file.
    for (const auto& [key, node] : top.entries) {
      if (key == "server") {
        cfg.server = TOCSIN_TRY(parse_server(node));
      } else if (key == "auth") {
        cfg.auth = TOCSIN_TRY(parse_auth(node));
      } else if (key == "people") {
        cfg.people = TOCSIN_TRY(parse_people(node));
      } else if (key == "channels") {
        cfg.channels = TOCSIN_TRY(parse_channels(node));
      } else if (key == "schedules") {
        cfg.schedules = TOCSIN_TRY(parse_schedules(node));
      } else if (key == "escalation_policies") {
        cfg.escalation_policies = TOCSIN_TRY(parse_policies(node));
      } else if (key == "scrape") {
        cfg.scrape = TOCSIN_TRY(parse_scrape(node));
      } else if (key == "probes") {
        cfg.probes = TOCSIN_TRY(parse_probes(node));
      } else if (key == "rules") {
        cfg.rules = TOCSIN_TRY(parse_rules(node));
      } else if (key == "alerting") {
        cfg.alerting = TOCSIN_TRY(parse_alerting(node));
      } else if (key == "limits") {
        cfg.limits = TOCSIN_TRY(parse_limits(node));
      } else if (key == "time_intervals" || key == "mute_time_intervals") {
        // The older name has the same shape; both may appear, with names unique across them.
        for (NamedTimeInterval& t : TOCSIN_TRY(parse_time_intervals(node))) cfg.time_intervals.push_back(std::move(t));
      } else if (key == "routes") {
        cfg.routes = TOCSIN_TRY(parse_route(node, nullptr));
      } else if (key == "inhibit_rules") {
        cfg.inhibit_rules = TOCSIN_TRY(parse_inhibit_rules(node));
      } else if (key == "plans") {
        cfg.plans = TOCSIN_TRY(parse_plans(node));
      } else if (key == "risks") {
        cfg.risks = TOCSIN_TRY(parse_risks(node));
      }
    }
    TOCSIN_RETURN_IF_ERROR(resolve_references(cfg));
    TOCSIN_RETURN_IF_ERROR(check_rule_ranges(cfg));
    cfg.server.data_dir = resolve_data_dir(cfg.server.data_dir);
    return cfg;
  }

 private:
  // ---- errors and generic readers (map, list, string, ... come from yaml::Reader) ----

  using Reader::error;
  // Rewraps an error from a core parser (matcher, duration, ...) with this node's position.
  Error error(const Node& n, const Error& cause) const { return error(n, cause.message()); }
  core::Position pos(const Node& n) const { return {file_, n.line, 0}; }

  Result<std::string> url(const Node& n) const {
    std::string s = TOCSIN_TRY(string(n));
    if (!is_http_url(s))
      return std::unexpected(error(n, fmt::format("bad URL \"{}\": expected http://… or https://…", s)));
    return s;
  }

  Result<int> integer(const Node& n, int64_t min, int64_t max) const {
    std::optional<int64_t> v;
    if (n.yaml.IsScalar() && is_plain(n.yaml)) v = to_integer(n.yaml.Scalar());
    if (!v) return std::unexpected(error(n, fmt::format("expected a whole number, got {}", describe(n.yaml))));
    if (*v < min || *v > max) {
      return std::unexpected(error(n, fmt::format("{} is out of range: expected {} to {}", *v, min, max)));
    }
    return static_cast<int>(*v);
  }

  Result<bool> boolean(const Node& n) const {
    if (n.yaml.IsScalar() && is_plain(n.yaml)) {
      const std::string& s = n.yaml.Scalar();
      for (auto t : {"true", "True", "TRUE", "yes", "Yes", "on"}) {
        if (s == t) return true;
      }
      for (auto f : {"false", "False", "FALSE", "no", "No", "off"}) {
        if (s == f) return false;
      }
    }
    return std::unexpected(error(n, fmt::format("expected true or false, got {}", describe(n.yaml))));
  }

  Result<Duration> duration(const Node& n) const {
    const std::string s = TOCSIN_TRY(string(n));
    auto d = core::parse_duration(s);
    if (!d) return std::unexpected(error(n, d.error()));
    return *d;
  }

  Result<Duration> positive_duration(const Node& n) const {
    const Duration d = TOCSIN_TRY(duration(n));
    if (d <= Duration::zero()) return std::unexpected(error(n, "expected a duration greater than 0"));
    return d;
  }

  Result<std::string> one_of(const Node& n, Keys choices) const {
    std::string s = TOCSIN_TRY(string(n));
    if (std::find(choices.begin(), choices.end(), s) == choices.end()) {
      return std::unexpected(error(n, fmt::format("bad value \"{}\": expected one of {}", s, join(choices))));
    }
    return s;
  }

  Result<std::string> one_of(const Node& n, std::initializer_list<std::string_view> choices) const {
    return one_of(n, Keys(choices.begin(), choices.size()));
  }

  Result<std::vector<std::string>> strings(const Node& n) const {
    if (n.yaml.IsScalar()) {
      return std::unexpected(error(n, fmt::format("expected a list of strings, got {}", describe(n.yaml))));
    }
    std::vector<std::string> out;
    for (const Node& item : TOCSIN_TRY(list(n))) out.push_back(TOCSIN_TRY(string(item)));
    return out;
  }

  Result<std::vector<std::string>> label_names(const Node& n) const {
    std::vector<std::string> out;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      std::string name = TOCSIN_TRY(string(item));
      if (!core::is_valid_label_name(name)) {
        return std::unexpected(
            error(item, fmt::format("bad label name \"{}\": expected [a-zA-Z_][a-zA-Z0-9_]*", name)));
      }
      out.push_back(std::move(name));
    }
    return out;
  }

  // name -> text; `label_keys` also checks that names are valid label names.
  Result<std::map<std::string, std::string>> string_map(const Node& n, bool label_keys) const {
    std::map<std::string, std::string> out;
    const Map m = TOCSIN_TRY(map(n, {}));
    for (const auto& [key, value] : m.entries) {
      if (label_keys && !core::is_valid_label_name(key)) {
        return std::unexpected(
            error(value, fmt::format("bad label name \"{}\": expected [a-zA-Z_][a-zA-Z0-9_]*", key)));
      }
      out[key] = TOCSIN_TRY(string(value));
    }
    return out;
  }

  Result<std::vector<core::Matcher>> matchers(const Node& n) const {
    if (n.yaml.IsScalar()) {
      return std::unexpected(error(
          n, fmt::format("expected a list of matchers like ['severity=\"critical\"'], got {}", describe(n.yaml))));
    }
    std::vector<core::Matcher> out;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      auto m = core::Matcher::parse(TOCSIN_TRY(string(item)));
      if (!m) return std::unexpected(error(item, m.error()));
      out.push_back(std::move(*m));
    }
    return out;
  }

  // argv as a list, or one string for the shell.
  Result<std::vector<std::string>> command(const Node& n) const {
    if (n.yaml.IsScalar()) {
      std::string s = n.yaml.Scalar();
      if (s.empty()) return std::unexpected(error(n, "expected a command"));
      return std::vector<std::string>{"/bin/sh", "-c", std::move(s)};
    }
    std::vector<std::string> argv = TOCSIN_TRY(strings(n));
    if (argv.empty() || argv.front().empty())
      return std::unexpected(error(n, "expected a command: a non-empty argv list or a string"));
    return argv;
  }

  Result<std::string> timezone(const Node& n) const {
    // Not TOCSIN_TRY: g++ 12 at -O3 reports a false "may be used uninitialized" on the moved string.
    Result<std::string> tz = string(n);
    if (!tz) return tz;
    if (!is_known_timezone(*tz)) {
      return std::unexpected(
          error(n, fmt::format("unknown time zone \"{}\": expected UTC or an IANA name like Europe/Berlin", *tz)));
    }
    return tz;
  }

  Result<Target> target(const Node& n) const {
    auto t = parse_target(TOCSIN_TRY(string(n)));
    if (!t) return std::unexpected(error(n, t.error()));
    return *t;
  }

  void expect_ref(RefKind kind, std::string id, const Node& n) {
    refs_.push_back({kind, std::move(id), pos(n), n.path});
  }

  void expect_target(const Target& t, const Node& n) {
    switch (t.kind) {
      case Target::Kind::kPerson: expect_ref(RefKind::kPerson, t.id, n); break;
      case Target::Kind::kSchedule: expect_ref(RefKind::kSchedule, t.id, n); break;
      case Target::Kind::kChannel: expect_ref(RefKind::kChannel, t.id, n); break;
    }
  }

  // Records `id` in `seen`; a second use is an error naming the first.
  Status unique(std::map<std::string, int>& seen, const std::string& id, const Node& n, std::string_view what) const {
    if (auto [at, fresh] = seen.emplace(id, n.line); !fresh) {
      return std::unexpected(error(n, fmt::format("duplicate {} \"{}\" (first on line {})", what, id, at->second)));
    }
    return core::ok();
  }

  // ---- sections ----

  Result<ServerConfig> parse_server(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kServerKeys));
    ServerConfig s;
    if (const Node* f = m.find("listen")) {
      s.listen = TOCSIN_TRY(string(*f));
      const size_t colon = s.listen.rfind(':');
      const auto port =
          colon == std::string::npos ? std::nullopt : to_integer(std::string_view(s.listen).substr(colon + 1));
      if (!port || *port < 0 || *port > 65535 || s.listen[colon + 1] == '+') {
        return std::unexpected(error(*f, fmt::format("bad listen address \"{}\": expected host:port", s.listen)));
      }
    }
    if (const Node* f = m.find("data_dir")) s.data_dir = TOCSIN_TRY(nonempty_string(*f));
    if (const Node* f = m.find("store")) {
      s.store = TOCSIN_TRY(string(*f));
      if (!s.store.empty() && !s.store.starts_with("postgres://") && !s.store.starts_with("postgresql://")) {
        return std::unexpected(
            error(*f, fmt::format("bad store \"{}\": expected empty (embedded SQLite) or postgres://…", s.store)));
      }
    }
    if (const Node* f = m.find("store_pool")) {
      if (s.store.empty()) {
        return std::unexpected(error(*f, "store_pool sets the connections to a PostgreSQL store: it needs "
                                         "server.store: postgres://… (the embedded SQLite store has no pool)"));
      }
      const Map pool = TOCSIN_TRY(map(*f, kStorePoolKeys));
      // At most store::postgres::kMaxPoolSize; PostgreSQL's default max_connections is 100.
      if (const Node* size = pool.find("size")) s.store_pool_size = TOCSIN_TRY(integer(*size, 1, 64));
    }
    if (const Node* f = m.find("external_url")) s.external_url = TOCSIN_TRY(url(*f));
    if (const Node* f = m.find("log_level")) s.log_level = TOCSIN_TRY(one_of(*f, {"debug", "info", "warn", "error"}));
    if (const Node* f = m.find("ack_secret_env")) s.ack_secret_env = TOCSIN_TRY(nonempty_string(*f));
    if (const Node* f = m.find("retention")) {
      s.retention = TOCSIN_TRY(duration(*f));
      if (s.retention.count() <= 0) return std::unexpected(error(*f, "expected a retention longer than 0s"));
    }
    if (const Node* f = m.find("tls")) s.tls = TOCSIN_TRY(parse_tls(*f));
    if (const Node* f = m.find("trusted_proxies")) {
      for (const Node& item : TOCSIN_TRY(list(*f))) {
        auto block = core::IpBlock::parse(TOCSIN_TRY(nonempty_string(item)));
        if (!block) return std::unexpected(error(item, block.error().message()));
        s.trusted_proxies.push_back(*block);
      }
    }
    if (const Node* f = m.find("replica_id")) {
      s.replica_id = TOCSIN_TRY(nonempty_string(*f));
      if (s.replica_id.size() > 200 || s.replica_id.find_first_of(" \t\r\n") != std::string::npos) {
        return std::unexpected(error(*f, "expected a replica id of at most 200 characters without white space"));
      }
    }
    if (const Node* f = m.find("advertise_url")) s.advertise_url = TOCSIN_TRY(url(*f));
    if (const Node* f = m.find("lease")) s.lease = TOCSIN_TRY(parse_lease(*f));
    return s;
  }

  // server.lease: renew_every < ttl, or a healthy holder would let its lease lapse between renewals.
  Result<LeaseConfig> parse_lease(const Node& n) const {
    LeaseConfig lease;
    if (n.yaml.IsNull()) return lease;
    const Map m = TOCSIN_TRY(map(n, kLeaseKeys));
    const Node* ttl = m.find("ttl");
    const Node* renew = m.find("renew_every");
    if (ttl) {
      lease.ttl = TOCSIN_TRY(duration(*ttl));
      if (lease.ttl.count() <= 0) return std::unexpected(error(*ttl, "expected a lease ttl longer than 0s"));
    }
    if (renew) {
      lease.renew_every = TOCSIN_TRY(duration(*renew));
      if (lease.renew_every.count() <= 0) {
        return std::unexpected(error(*renew, "expected a renewal interval longer than 0s"));
      }
    } else if (ttl) {
      lease.renew_every = lease.ttl / 3;  // the default ratio (15s / 5s)
    }
    if (lease.renew_every >= lease.ttl) {
      return std::unexpected(error(renew ? *renew : *ttl,
                                   fmt::format("expected renew_every ({}) shorter than ttl ({}): the holder must "
                                               "renew its lease before it expires",
                                               core::format_duration(lease.renew_every),
                                               core::format_duration(lease.ttl))));
    }
    return lease;
  }

  // server.tls: both files or neither (an empty `tls:` is plain HTTP). The files are read here, so
  // that check-config finds a wrong path or a key of another certificate, not the first start.
  Result<std::optional<TlsConfig>> parse_tls(const Node& n) const {
    if (n.yaml.IsNull()) return std::optional<TlsConfig>();
    const Map m = TOCSIN_TRY(map(n, kTlsKeys));
    const Node* cert = m.find("cert_file");
    const Node* key = m.find("key_file");
    if (!cert || !key) {
      return std::unexpected(error(n.line, join_path(n.path, cert ? "key_file" : "cert_file"),
                                   "expected both cert_file and key_file (PEM files) for HTTPS"));
    }
    TlsConfig tls;
    tls.cert_file = resolve_file(TOCSIN_TRY(nonempty_string(*cert)));
    tls.key_file = resolve_file(TOCSIN_TRY(nonempty_string(*key)));
    if (const Node* f = m.find("min_version")) tls.min_version = TOCSIN_TRY(one_of(*f, {"1.2", "1.3"}));
    if (auto checked = check_tls_files(tls.cert_file, tls.key_file); !checked) {
      return std::unexpected(error(checked.error().field() == "cert_file" ? *cert : *key, checked.error().message()));
    }
    return tls;
  }

  // data_dir is relative to the config file, and absolute from here on so that nothing depends
  // on the working directory later.
  std::string resolve_data_dir(const std::string& dir) const { return resolve_file(dir); }

  // A path relative to the config file, made absolute (reloads must not depend on the cwd).
  std::string resolve_file(const std::string& file) const {
    fs::path path(file);
    if (path.is_relative()) path = base_dir_ / path;
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec);
    return (ec ? path : absolute).lexically_normal().string();
  }

  Result<AuthConfig> parse_auth(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kAuthKeys));
    AuthConfig auth;
    if (const Node* p = m.find("metrics_public")) auth.metrics_public = TOCSIN_TRY(boolean(*p));
    if (const Node* intake = m.find("intake")) {
      const Map i = TOCSIN_TRY(map(*intake, kIntakeKeys));
      auth.intake.pos = pos(*intake);
      const Node* env = i.find("secret_env");
      const Node* file = i.find("secret_file");
      if ((env == nullptr) == (file == nullptr)) {
        return std::unexpected(error(env ? env->line : intake->line,
                                     env ? env->path : join_path(intake->path, "secret_env"),
                                     "expected exactly one of secret_env or secret_file"));
      }
      if (env) auth.intake.secret_env = TOCSIN_TRY(nonempty_string(*env));
      if (file) auth.intake.secret_file = absolute_file(TOCSIN_TRY(nonempty_string(*file)));
    }
    const Node* tokens = m.find("tokens");
    if (auth.intake.configured() && !tokens) {
      return std::unexpected(error(auth.intake.pos.line, join_path(n.path, "intake"),
                                   "auth.intake needs auth.tokens: without tokens auth is off and intake is open "
                                   "to anyone"));
    }
    if (!tokens) return auth;
    std::map<std::string, int> names;
    for (const Node& item : TOCSIN_TRY(list(*tokens))) {
      // Checked before the key list so the error says what to do instead.
      if (item.yaml.IsMap() && item.yaml["token"]) {
        return std::unexpected(error(item.line, join_path(item.path, "token"),
                                     "a token's secret must not be written in the config: use token_env (an "
                                     "environment variable), token_file (a file) or token_sha256 (its SHA-256)"));
      }
      const Map t = TOCSIN_TRY(map(item, kTokenKeys));
      TokenConfig token;
      token.pos = pos(item);
      const Node name = TOCSIN_TRY(required(t, "name"));
      token.name = TOCSIN_TRY(nonempty_string(name));
      TOCSIN_RETURN_IF_ERROR(unique(names, token.name, name, "token name"));
      const Node role_node = TOCSIN_TRY(required(t, "role"));
      const std::string role = TOCSIN_TRY(one_of(role_node, {"viewer", "responder", "admin"}));
      token.role = role == "admin" ? Role::kAdmin : role == "responder" ? Role::kResponder : Role::kViewer;
      const Node* env = t.find("token_env");
      const Node* file = t.find("token_file");
      const Node* sha = t.find("token_sha256");
      if ((env != nullptr) + (file != nullptr) + (sha != nullptr) != 1) {
        const Node* at = env ? env : file ? file : sha;
        return std::unexpected(error(at ? at->line : item.line, at ? at->path : join_path(item.path, "token_env"),
                                     "expected exactly one of token_env, token_file or token_sha256"));
      }
      if (env) token.token_env = TOCSIN_TRY(nonempty_string(*env));
      if (file) token.token_file = absolute_file(TOCSIN_TRY(nonempty_string(*file)));
      if (sha) {
        std::string hex = TOCSIN_TRY(string(*sha));
        for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
          return std::unexpected(error(*sha, "expected the token's SHA-256 as 64 hex digits (sha256sum prints it)"));
        }
        token.token_sha256 = std::move(hex);
      }
      auth.tokens.push_back(std::move(token));
    }
    if (auth.intake.configured() && auth.tokens.empty()) {
      return std::unexpected(error(auth.intake.pos.line, join_path(n.path, "intake"),
                                   "auth.intake needs auth.tokens: without tokens auth is off and intake is open "
                                   "to anyone"));
    }
    return auth;
  }

  std::string absolute_file(const std::string& text) const {
    fs::path p(text);
    return (p.is_relative() ? base_dir_ / p : p).lexically_normal().string();
  }

  Result<std::vector<Person>> parse_people(const Node& n) const {
    std::vector<Person> people;
    std::map<std::string, int> ids;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kPersonKeys));
      Person p;
      p.pos = pos(item);
      const Node id = TOCSIN_TRY(required(m, "id"));
      p.id = TOCSIN_TRY(nonempty_string(id));
      TOCSIN_RETURN_IF_ERROR(unique(ids, p.id, id, "person id"));
      p.name = p.id;
      if (const Node* f = m.find("name")) p.name = TOCSIN_TRY(string(*f));
      if (const Node* f = m.find("timezone")) p.timezone = TOCSIN_TRY(timezone(*f));
      if (const Node* f = m.find("contact")) {
        const Map c = TOCSIN_TRY(map(*f, kContactKeys));
        if (const Node* e = c.find("email")) p.contact.email = TOCSIN_TRY(nonempty_string(*e));
        if (const Node* w = c.find("webhook")) p.contact.webhook = TOCSIN_TRY(url(*w));
        if (const Node* s = c.find("slack")) p.contact.slack = TOCSIN_TRY(url(*s));
      }
      people.push_back(std::move(p));
    }
    return people;
  }

  Result<std::vector<Channel>> parse_channels(const Node& n) const {
    std::vector<Channel> channels;
    std::map<std::string, int> names;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kChannelKeys));
      Channel c;
      c.pos = pos(item);
      const Node name = TOCSIN_TRY(required(m, "name"));
      c.name = TOCSIN_TRY(nonempty_string(name));
      TOCSIN_RETURN_IF_ERROR(unique(names, c.name, name, "channel name"));
      const Node type_node = TOCSIN_TRY(required(m, "type"));
      const std::string type = TOCSIN_TRY(one_of(type_node, {"webhook", "slack", "email", "exec"}));
      for (const auto& [key, value] : m.entries) {
        if (!channel_key_applies(type, key)) {
          return std::unexpected(error(value, fmt::format("\"{}\" does not apply to a {} channel", key, type)));
        }
      }
      if (const Node* f = m.find("timeout")) c.timeout = TOCSIN_TRY(positive_duration(*f));
      // Alertmanager's defaults: webhooks send resolved notifications, Slack and email do not.
      c.send_resolved = type == "webhook" || type == "exec";
      if (const Node* f = m.find("send_resolved")) c.send_resolved = TOCSIN_TRY(boolean(*f));
      if (const Node* f = m.find("title")) c.title_template = TOCSIN_TRY(string(*f));
      if (const Node* f = m.find("body")) c.body_template = TOCSIN_TRY(string(*f));
      if (type == "webhook" || type == "slack") {
        c.type = type == "webhook" ? ChannelType::kWebhook : ChannelType::kSlack;
        const Node url_node = TOCSIN_TRY(required(m, "url"));
        c.url = TOCSIN_TRY(url(url_node));
        if (const Node* f = m.find("format")) {
          c.format = TOCSIN_TRY(one_of(*f, {"json", "alertmanager"})) == "json" ? WebhookFormat::kJson
                                                                                : WebhookFormat::kAlertmanager;
        }
        const Node* secret_env = m.find("secret_env");
        const Node* secret_file = m.find("secret_file");
        if (secret_env && secret_file) {
          return std::unexpected(error(*secret_file, "expected at most one of secret_env or secret_file"));
        }
        if (secret_env) c.secret_env = TOCSIN_TRY(nonempty_string(*secret_env));
        if (secret_file) {
          fs::path p(TOCSIN_TRY(nonempty_string(*secret_file)));
          c.secret_file = (p.is_relative() ? base_dir_ / p : p).lexically_normal().string();
        }
      } else if (type == "email") {
        c.type = ChannelType::kEmail;
        const Node smtp_node = TOCSIN_TRY(required(m, "smtp"));
        const Map smtp = TOCSIN_TRY(map(smtp_node, kSmtpKeys));
        const Node host_node = TOCSIN_TRY(required(smtp, "host"));
        c.smtp.host = TOCSIN_TRY(nonempty_string(host_node));
        const Node from_node = TOCSIN_TRY(required(smtp, "from"));
        c.smtp.from = TOCSIN_TRY(nonempty_string(from_node));
        if (const Node* f = smtp.find("port")) c.smtp.port = TOCSIN_TRY(integer(*f, 1, 65535));
        if (const Node* f = smtp.find("username")) c.smtp.username = TOCSIN_TRY(string(*f));
        if (const Node* f = smtp.find("password_env")) c.smtp.password_env = TOCSIN_TRY(string(*f));
        if (const Node* f = smtp.find("starttls")) c.smtp.starttls = TOCSIN_TRY(boolean(*f));
        if (const Node* f = m.find("to")) c.to = TOCSIN_TRY(strings(*f));
      } else {
        c.type = ChannelType::kExec;
        const Node command_node = TOCSIN_TRY(required(m, "command"));
        c.command = TOCSIN_TRY(command(command_node));
      }
      channels.push_back(std::move(c));
    }
    return channels;
  }

  Result<std::vector<Schedule>> parse_schedules(const Node& n) {
    std::vector<Schedule> schedules;
    std::map<std::string, int> ids;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kScheduleKeys));
      Schedule s;
      s.pos = pos(item);
      const Node id = TOCSIN_TRY(required(m, "id"));
      s.id = TOCSIN_TRY(nonempty_string(id));
      TOCSIN_RETURN_IF_ERROR(unique(ids, s.id, id, "schedule id"));
      if (const Node* f = m.find("timezone")) s.timezone = TOCSIN_TRY(timezone(*f));
      if (const Node* f = m.find("layers")) {
        for (const Node& layer : TOCSIN_TRY(list(*f))) s.layers.push_back(TOCSIN_TRY(parse_layer(layer)));
      }
      if (const Node* f = m.find("overrides")) {
        for (const Node& o : TOCSIN_TRY(list(*f))) s.overrides.push_back(TOCSIN_TRY(parse_override(o)));
      }
      schedules.push_back(std::move(s));
    }
    return schedules;
  }

  Result<Layer> parse_layer(const Node& n) {
    const Map m = TOCSIN_TRY(map(n, kLayerKeys));
    Layer layer;
    layer.pos = pos(n);
    if (const Node* f = m.find("rotation")) {
      const std::string r = TOCSIN_TRY(one_of(*f, {"daily", "weekly", "custom"}));
      layer.rotation = r == "daily" ? Rotation::kDaily : r == "weekly" ? Rotation::kWeekly : Rotation::kCustom;
    }
    if (const Node* f = m.find("handoff")) {
      const std::string text = TOCSIN_TRY(string(*f));
      if (layer.rotation == Rotation::kWeekly) {
        const size_t space = text.find(' ');
        auto day = space == std::string::npos ? std::nullopt : parse_weekday(text.substr(0, space));
        auto time = space == std::string::npos ? std::nullopt : parse_hhmm(text.substr(space + 1));
        if (!day || !time) {
          return std::unexpected(error(
              *f,
              fmt::format("bad handoff \"{}\": a weekly rotation expects a day and time like \"Mon 09:00\"", text)));
        }
        layer.handoff_day = *day;
        layer.handoff_time = *time;
      } else {
        auto time = parse_hhmm(text);
        if (!time)
          return std::unexpected(error(*f, fmt::format("bad handoff \"{}\": expected a time like \"09:00\"", text)));
        layer.handoff_time = *time;
      }
    }
    const Node start = TOCSIN_TRY(required(m, "start"));
    const std::string start_text = TOCSIN_TRY(string(start));
    auto day = parse_date(start_text);
    if (!day) return std::unexpected(error(start, fmt::format("bad date \"{}\": expected YYYY-MM-DD", start_text)));
    layer.start = *day;
    if (const Node* f = m.find("shift_length")) {
      if (layer.rotation != Rotation::kCustom) {
        return std::unexpected(error(*f, "shift_length applies only to a custom rotation"));
      }
      layer.shift_length = TOCSIN_TRY(positive_duration(*f));
    } else if (layer.rotation == Rotation::kCustom) {
      return std::unexpected(error(n.line, join_path(n.path, "shift_length"),
                                   "a custom rotation needs shift_length (a duration like 3d)"));
    }
    const Node members = TOCSIN_TRY(required(m, "members"));
    const std::vector<Node> items = TOCSIN_TRY(list(members));
    if (items.empty()) return std::unexpected(error(members, "expected at least one member"));
    for (const Node& item : items) {
      layer.members.push_back(TOCSIN_TRY(nonempty_string(item)));
      expect_ref(RefKind::kPerson, layer.members.back(), item);
    }
    return layer;
  }

  Result<Override> parse_override(const Node& n) {
    const Map m = TOCSIN_TRY(map(n, kOverrideKeys));
    Override o;
    o.pos = pos(n);
    const Node person = TOCSIN_TRY(required(m, "person"));
    o.person = TOCSIN_TRY(nonempty_string(person));
    expect_ref(RefKind::kPerson, o.person, person);
    auto local = [&](std::string_view key) -> Result<LocalTime> {
      const Node f = TOCSIN_TRY(required(m, key));
      const std::string text = TOCSIN_TRY(string(f));
      auto t = parse_local_time(text);
      if (!t)
        return std::unexpected(
            error(f, fmt::format("bad time \"{}\": expected a local time like 2026-12-24T00:00", text)));
      return *t;
    };
    o.from = TOCSIN_TRY(local("from"));
    o.to = TOCSIN_TRY(local("to"));
    if (o.to <= o.from) return std::unexpected(error(*m.find("to"), "`to` must be later than `from`"));
    return o;
  }

  Result<std::vector<EscalationPolicy>> parse_policies(const Node& n) {
    std::vector<EscalationPolicy> policies;
    std::map<std::string, int> ids;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kPolicyKeys));
      EscalationPolicy p;
      p.pos = pos(item);
      const Node id = TOCSIN_TRY(required(m, "id"));
      p.id = TOCSIN_TRY(nonempty_string(id));
      TOCSIN_RETURN_IF_ERROR(unique(ids, p.id, id, "escalation policy id"));
      if (const Node* f = m.find("repeat")) p.repeat = TOCSIN_TRY(integer(*f, 0, 1000));
      const Node levels = TOCSIN_TRY(required(m, "levels"));
      const std::vector<Node> items = TOCSIN_TRY(list(levels));
      if (items.empty()) return std::unexpected(error(levels, "expected at least one level"));
      for (const Node& level_node : items) {
        const Map l = TOCSIN_TRY(map(level_node, kLevelKeys));
        EscalationLevel level;
        level.pos = pos(level_node);
        if (const Node* f = l.find("after")) {
          level.after = TOCSIN_TRY(duration(*f));
          if (!p.levels.empty() && level.after <= p.levels.back().after) {
            return std::unexpected(error(
                *f, fmt::format("after {} must be later than the previous level's {}",
                                core::format_duration(level.after), core::format_duration(p.levels.back().after))));
          }
        } else if (!p.levels.empty()) {
          return std::unexpected(error(level_node.line, join_path(level_node.path, "after"),
                                       "missing required field \"after\" (every level but the first needs one)"));
        }
        const Node notify = TOCSIN_TRY(required(l, "notify"));
        const std::vector<Node> targets = TOCSIN_TRY(list(notify));
        if (targets.empty()) return std::unexpected(error(notify, "expected at least one target"));
        for (const Node& t : targets) {
          level.notify.push_back(TOCSIN_TRY(target(t)));
          expect_target(level.notify.back(), t);
        }
        p.levels.push_back(std::move(level));
      }
      if (const Node* f = m.find("repeat_every")) {
        p.repeat_every = TOCSIN_TRY(duration(*f));
        if (p.repeat_every <= p.levels.back().after) {
          return std::unexpected(error(
              *f, fmt::format("repeat_every {} must be longer than the last level's after ({})",
                              core::format_duration(p.repeat_every), core::format_duration(p.levels.back().after))));
        }
      } else if (p.repeat > 0) {
        return std::unexpected(error(m.find("repeat")->line, join_path(item.path, "repeat_every"),
                                     "repeat > 0 needs repeat_every (the length of a pass)"));
      }
      policies.push_back(std::move(p));
    }
    return policies;
  }

  Result<std::vector<ScrapeConfig>> parse_scrape(const Node& n) const {
    std::vector<ScrapeConfig> jobs;
    std::map<std::string, int> names;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kScrapeKeys));
      ScrapeConfig s;
      s.pos = pos(item);
      const Node job = TOCSIN_TRY(required(m, "job"));
      s.job = TOCSIN_TRY(nonempty_string(job));
      TOCSIN_RETURN_IF_ERROR(unique(names, s.job, job, "scrape job"));
      if (const Node* f = m.find("interval")) s.interval = TOCSIN_TRY(positive_duration(*f));
      if (const Node* f = m.find("timeout")) s.timeout = TOCSIN_TRY(positive_duration(*f));
      if (const Node* f = m.find("metrics_path")) {
        s.metrics_path = TOCSIN_TRY(string(*f));
        if (!s.metrics_path.starts_with('/')) return std::unexpected(error(*f, "expected a path starting with /"));
      }
      if (s.timeout > s.interval) {
        const Node* f = m.find("timeout");
        return std::unexpected(error(f ? f->line : item.line, join_path(item.path, "timeout"),
                                     fmt::format("timeout {} is longer than the interval {}",
                                                 core::format_duration(s.timeout), core::format_duration(s.interval))));
      }
      const Node targets = TOCSIN_TRY(required(m, "targets"));
      s.targets = TOCSIN_TRY(strings(targets));
      if (s.targets.empty()) return std::unexpected(error(targets, "expected at least one host:port target"));
      jobs.push_back(std::move(s));
    }
    return jobs;
  }

  Result<std::vector<ProbeConfig>> parse_probes(const Node& n) const {
    std::vector<ProbeConfig> probes;
    std::map<std::string, int> names;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kProbeKeys));
      ProbeConfig p;
      p.pos = pos(item);
      const Node name = TOCSIN_TRY(required(m, "name"));
      p.name = TOCSIN_TRY(nonempty_string(name));
      TOCSIN_RETURN_IF_ERROR(unique(names, p.name, name, "probe name"));
      const Node* http = m.find("http");
      const Node* tcp = m.find("tcp");
      if ((http == nullptr) == (tcp == nullptr)) {
        return std::unexpected(error(tcp ? tcp->line : item.line, join_path(item.path, "http"),
                                     "expected exactly one of http (a URL) or tcp (host:port)"));
      }
      if (http) p.http = TOCSIN_TRY(url(*http));
      if (tcp) p.tcp = TOCSIN_TRY(nonempty_string(*tcp));
      if (const Node* f = m.find("interval")) p.interval = TOCSIN_TRY(positive_duration(*f));
      if (const Node* f = m.find("timeout")) p.timeout = TOCSIN_TRY(positive_duration(*f));
      if (const Node* f = m.find("expect_status")) p.expect_status = TOCSIN_TRY(integer(*f, 100, 599));
      if (const Node* f = m.find("body_match")) {
        p.body_match = TOCSIN_TRY(string(*f));
        if (auto re = core::Regex::compile(p.body_match); !re) return std::unexpected(error(*f, re.error().message()));
      }
      probes.push_back(std::move(p));
    }
    return probes;
  }

  Result<std::vector<Rule>> parse_rules(const Node& n) const {
    std::vector<Rule> rules;
    std::map<std::string, int> names;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kRuleKeys));
      Rule r;
      r.pos = pos(item);
      const Node name = TOCSIN_TRY(required(m, "name"));
      r.name = TOCSIN_TRY(nonempty_string(name));
      TOCSIN_RETURN_IF_ERROR(unique(names, r.name, name, "rule name"));
      const Node select = TOCSIN_TRY(required(m, "select"));
      r.select = TOCSIN_TRY(nonempty_string(select));
      auto expr = tsdb::parse_select_expr(r.select);
      if (!expr) return std::unexpected(error(select, expr.error()));
      r.expr = std::move(*expr);
      r.selector = r.expr.matchers;
      const Node detector_node = TOCSIN_TRY(required(m, "detector"));
      r.detector = TOCSIN_TRY(parse_detector(detector_node));
      if (const Node* f = m.find("for")) r.for_duration = TOCSIN_TRY(duration(*f));
      if (const Node* f = m.find("keep_firing_for")) r.keep_firing_for = TOCSIN_TRY(duration(*f));
      if (const Node* f = m.find("flap_window")) r.flap_window = TOCSIN_TRY(duration(*f));
      if (const Node* f = m.find("severity")) r.severity = TOCSIN_TRY(severity(*f));
      if (const Node* f = m.find("labels")) r.labels = TOCSIN_TRY(string_map(*f, true));
      if (const Node* f = m.find("annotations")) r.annotations = TOCSIN_TRY(string_map(*f, false));
      rules.push_back(std::move(r));
    }
    return rules;
  }

  Result<std::string> severity(const Node& n) const {
    std::string s = TOCSIN_TRY(string(n));
    if (!is_valid_severity(s)) {
      return std::unexpected(
          error(n, fmt::format("bad severity \"{}\": expected one of critical, major, minor, warning, info", s)));
    }
    return s;
  }

  Result<DetectorConfig> parse_detector(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, {}));
    DetectorConfig d;
    d.pos = pos(n);
    const Node kind_node = TOCSIN_TRY(required(m, "kind"));
    d.kind = TOCSIN_TRY(one_of(kind_node, kDetectorKinds));
    for (const auto& [key, value] : m.entries) {
      if (key == "kind") continue;
      if (!value.yaml.IsScalar()) {
        return std::unexpected(
            error(value, fmt::format("expected a number or a string, got {}", describe(value.yaml))));
      }
      DetectorParam p;
      p.text = value.yaml.Scalar();
      if (is_plain(value.yaml)) p.number = to_number(p.text);
      p.pos = pos(value);
      d.params.emplace(key, std::move(p));
    }
    return d;
  }

  Result<Route> parse_route(const Node& n, const Route* parent) {
    const Map m = TOCSIN_TRY(map(n, kRouteKeys));
    Route r;
    r.pos = pos(n);
    if (parent) {
      r.receiver = parent->receiver;
      r.group_by = parent->group_by;
      r.group_by_all = parent->group_by_all;
      r.group_wait = parent->group_wait;
      r.group_interval = parent->group_interval;
      r.repeat_interval = parent->repeat_interval;
    }
    if (const Node* f = m.find("receiver")) {
      r.receiver = TOCSIN_TRY(nonempty_string(*f));
      expect_ref(RefKind::kChannel, r.receiver, *f);
    } else if (!parent) {
      return std::unexpected(
          error(n.line, join_path(n.path, "receiver"), "the root route needs a receiver (a channel name)"));
    }
    if (const Node* f = m.find("group_by")) {
      r.group_by = TOCSIN_TRY(strings(*f));
      r.group_by_all = std::find(r.group_by.begin(), r.group_by.end(), "...") != r.group_by.end();
      if (r.group_by_all) {
        if (r.group_by.size() > 1)
          return std::unexpected(error(*f, "'...' (group by all labels) must be the only entry"));
        r.group_by.clear();
      }
      for (const auto& name : r.group_by) {
        if (!core::is_valid_label_name(name)) {
          return std::unexpected(
              error(*f, fmt::format("bad label name \"{}\": expected [a-zA-Z_][a-zA-Z0-9_]* or '...'", name)));
        }
      }
    }
    if (const Node* f = m.find("group_wait")) r.group_wait = TOCSIN_TRY(duration(*f));
    if (const Node* f = m.find("group_interval")) r.group_interval = TOCSIN_TRY(positive_duration(*f));
    if (const Node* f = m.find("repeat_interval")) r.repeat_interval = TOCSIN_TRY(positive_duration(*f));
    if (const Node* f = m.find("matchers")) {
      if (!parent) return std::unexpected(error(*f, "the root route matches every alert; it cannot have matchers"));
      r.matchers = TOCSIN_TRY(matchers(*f));
    }
    // The older maps: `match` (equality) and `match_re` (anchored regex).
    for (const auto& [key, op] :
         {std::pair{"match", core::MatchOp::kEqual}, std::pair{"match_re", core::MatchOp::kRegex}}) {
      const Node* f = m.find(key);
      if (!f) continue;
      if (!parent) {
        return std::unexpected(error(*f, fmt::format("the root route matches every alert; it cannot have {}", key)));
      }
      for (core::Matcher& matcher : TOCSIN_TRY(matcher_map(*f, op))) r.matchers.push_back(std::move(matcher));
    }
    // Alertmanager sorts a route's matchers (labels.Matchers): by name, then value, then type.
    std::stable_sort(r.matchers.begin(), r.matchers.end(), [](const core::Matcher& a, const core::Matcher& b) {
      if (a.name() != b.name()) return a.name() < b.name();
      if (a.value() != b.value()) return a.value() < b.value();
      return match_op_rank(a.op()) < match_op_rank(b.op());
    });
    if (const Node* f = m.find("continue")) {
      if (!parent) return std::unexpected(error(*f, "the root route cannot have continue"));
      r.continue_matching = TOCSIN_TRY(boolean(*f));
    }
    // Time intervals are not inherited (set here from this node only), as in Alertmanager.
    if (const Node* f = m.find("mute_time_intervals")) {
      if (!parent) {
        return std::unexpected(error(*f, "the root route cannot have mute_time_intervals; set them on a child route"));
      }
      r.mute_time_intervals = TOCSIN_TRY(time_interval_refs(*f));
    }
    if (const Node* f = m.find("active_time_intervals")) {
      if (!parent) {
        return std::unexpected(
            error(*f, "the root route cannot have active_time_intervals; set them on a child route"));
      }
      r.active_time_intervals = TOCSIN_TRY(time_interval_refs(*f));
    }
    if (const Node* f = m.find("routes")) {
      std::vector<Route> children;
      for (const Node& child : TOCSIN_TRY(list(*f))) children.push_back(TOCSIN_TRY(parse_route(child, &r)));
      r.routes = std::move(children);
    }
    return r;
  }

  // `match: {name: value}` / `match_re: {name: regex}` -> matchers with `op`, in document order.
  Result<std::vector<core::Matcher>> matcher_map(const Node& n, core::MatchOp op) const {
    std::vector<core::Matcher> out;
    const Map m = TOCSIN_TRY(map(n, {}));
    for (const auto& [name, value] : m.entries) {
      if (!core::is_valid_label_name(name)) {
        return std::unexpected(
            error(value, fmt::format("bad label name \"{}\": expected [a-zA-Z_][a-zA-Z0-9_]*", name)));
      }
      auto matcher = core::Matcher::create(name, op, TOCSIN_TRY(string(value)));
      if (!matcher) return std::unexpected(error(value, matcher.error()));
      out.push_back(std::move(*matcher));
    }
    return out;
  }

  // Names of time intervals, checked against time_intervals once everything is read.
  Result<std::vector<std::string>> time_interval_refs(const Node& n) {
    if (n.yaml.IsScalar()) {
      return std::unexpected(error(n, fmt::format("expected a list of time interval names, got {}", describe(n.yaml))));
    }
    std::vector<std::string> names;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      names.push_back(TOCSIN_TRY(nonempty_string(item)));
      expect_ref(RefKind::kTimeInterval, names.back(), item);
    }
    return names;
  }

  Result<std::vector<InhibitRule>> parse_inhibit_rules(const Node& n) const {
    std::vector<InhibitRule> rules;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kInhibitKeys));
      InhibitRule r;
      r.pos = pos(item);
      if (const Node* f = m.find("source_matchers")) r.source_matchers = TOCSIN_TRY(matchers(*f));
      if (const Node* f = m.find("target_matchers")) r.target_matchers = TOCSIN_TRY(matchers(*f));
      if (const Node* f = m.find("equal")) r.equal = TOCSIN_TRY(label_names(*f));
      rules.push_back(std::move(r));
    }
    return rules;
  }

  // ---- the Alertmanager-compatible pipeline ----

  Result<AlertingConfig> parse_alerting(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kAlertingKeys));
    AlertingConfig a;
    if (const Node* f = m.find("resolve_timeout")) a.resolve_timeout = TOCSIN_TRY(positive_duration(*f));
    return a;
  }

  // `limits:` — every value a positive whole number (bytes or counts) or a positive duration,
  // bounded so that a typo (an extra zero) is caught rather than obeyed.
  Result<LimitsConfig> parse_limits(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kLimitsKeys));
    LimitsConfig l;
    struct IntLimit {
      std::string_view key;
      int* target;
      int64_t min;
      int64_t max;
    };
    constexpr int64_t kGiB = int64_t{1} << 30;
    const IntLimit ints[] = {
        {"max_body_bytes", &l.max_body_bytes, 1024, kGiB},
        {"max_header_bytes", &l.max_header_bytes, 1024, 16 << 20},
        {"max_connections", &l.max_connections, 1, 1'000'000},
        {"max_inflight_body_bytes", &l.max_inflight_body_bytes, 1024, kGiB},
        {"max_labels_per_series", &l.max_labels_per_series, 1, 10'000},
        {"max_label_name_bytes", &l.max_label_name_bytes, 1, 1 << 20},
        {"max_label_value_bytes", &l.max_label_value_bytes, 1, 16 << 20},
        {"max_series_per_request", &l.max_series_per_request, 1, 10'000'000},
        {"max_alerts_per_request", &l.max_alerts_per_request, 1, 10'000'000},
        {"max_events_per_request", &l.max_events_per_request, 1, 10'000'000},
        {"max_silence_matchers", &l.max_silence_matchers, 1, 10'000},
        {"max_series", &l.max_series, 1, 100'000'000},
        {"max_alerts", &l.max_alerts, 1, 100'000'000},
        {"max_silences", &l.max_silences, 1, 100'000'000},
    };
    for (const auto& [key, target, min, max] : ints) {
      if (const Node* f = m.find(key)) *target = TOCSIN_TRY(integer(*f, min, max));
    }
    if (const Node* f = m.find("read_timeout")) l.read_timeout = TOCSIN_TRY(positive_duration(*f));
    if (const Node* f = m.find("idle_timeout")) l.idle_timeout = TOCSIN_TRY(positive_duration(*f));
    if (const Node* f = m.find("rate")) {
      const Map r = TOCSIN_TRY(map(*f, kRateKeys));
      if (const Node* g = r.find("requests_per_second")) {
        std::optional<double> v;
        if (g->yaml.IsScalar() && is_plain(g->yaml)) v = to_number(g->yaml.Scalar());
        if (!v) return std::unexpected(error(*g, fmt::format("expected a number, got {}", describe(g->yaml))));
        if (!(*v >= 0 && *v <= 1e6)) {
          return std::unexpected(
              error(*g, fmt::format("{} is out of range: expected 0 (off) to 1000000", g->yaml.Scalar())));
        }
        l.rate.requests_per_second = *v;
      }
      if (const Node* g = r.find("burst")) l.rate.burst = TOCSIN_TRY(integer(*g, 0, 1'000'000));
      if (const Node* g = r.find("max_clients")) l.rate.max_clients = TOCSIN_TRY(integer(*g, 1, 10'000'000));
    }
    return l;
  }

  // `time_intervals:` or `mute_time_intervals:` (Alertmanager 0.25 syntax).
  Result<std::vector<NamedTimeInterval>> parse_time_intervals(const Node& n) {
    std::vector<NamedTimeInterval> out;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kNamedTimeIntervalKeys));
      NamedTimeInterval named;
      named.pos = pos(item);
      const Node name = TOCSIN_TRY(required(m, "name"));
      named.name = TOCSIN_TRY(nonempty_string(name));
      TOCSIN_RETURN_IF_ERROR(unique(time_interval_names_, named.name, name, "time interval name"));
      if (const Node* f = m.find("time_intervals")) {
        for (const Node& interval : TOCSIN_TRY(list(*f))) {
          named.intervals.push_back(TOCSIN_TRY(parse_time_interval(interval)));
        }
      }
      out.push_back(std::move(named));
    }
    return out;
  }

  Result<TimeInterval> parse_time_interval(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kTimeIntervalKeys));
    TimeInterval t;
    t.pos = pos(n);
    if (const Node* f = m.find("times")) {
      for (const Node& item : TOCSIN_TRY(list(*f))) t.times.push_back(TOCSIN_TRY(parse_time_of_day_range(item)));
    }
    if (const Node* f = m.find("weekdays")) t.weekdays = TOCSIN_TRY(int_ranges(*f, RangeKind::kWeekday));
    if (const Node* f = m.find("days_of_month")) t.days_of_month = TOCSIN_TRY(int_ranges(*f, RangeKind::kDayOfMonth));
    if (const Node* f = m.find("months")) t.months = TOCSIN_TRY(int_ranges(*f, RangeKind::kMonth));
    if (const Node* f = m.find("years")) t.years = TOCSIN_TRY(int_ranges(*f, RangeKind::kYear));
    if (const Node* f = m.find("location")) {
      // Not TOCSIN_TRY: see timezone().
      Result<std::string> location = string(*f);
      if (!location) return std::unexpected(std::move(location).error());
      if (*location != "Local" && !is_known_timezone(*location)) {
        return std::unexpected(
            error(*f, fmt::format("unknown time zone \"{}\": expected UTC, Local or an IANA name like Europe/Berlin",
                                  *location)));
      }
      t.location = std::move(*location);
    }
    return t;
  }

  Result<TimeOfDayRange> parse_time_of_day_range(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kTimeRangeKeys));
    auto minute = [&](std::string_view key) -> Result<std::pair<int, Node>> {
      const Node f = TOCSIN_TRY(required(m, key));
      const std::string text = TOCSIN_TRY(string(f));
      const auto minutes = parse_time_of_day(text);
      if (!minutes) {
        return std::unexpected(error(f, fmt::format("bad time \"{}\": expected HH:MM from 00:00 to 24:00", text)));
      }
      return std::pair{*minutes, f};
    };
    const auto [start, start_node] = TOCSIN_TRY(minute("start_time"));
    const auto [end, end_node] = TOCSIN_TRY(minute("end_time"));
    if (start >= end) {
      return std::unexpected(error(end_node, fmt::format("end_time {} must be later than start_time {}",
                                                         end_node.yaml.Scalar(), start_node.yaml.Scalar())));
    }
    return TimeOfDayRange{start, end};
  }

  enum class RangeKind { kWeekday, kDayOfMonth, kMonth, kYear };

  // A list of "a" or "a:b" entries (Alertmanager's inclusive ranges; names are case-insensitive).
  Result<std::vector<IntRange>> int_ranges(const Node& n, RangeKind kind) const {
    if (n.yaml.IsScalar()) {
      return std::unexpected(error(n, fmt::format("expected a list like [{}], got {}",
                                                  kind == RangeKind::kWeekday      ? "'monday:friday'"
                                                  : kind == RangeKind::kDayOfMonth ? "'1:5', '-1'"
                                                  : kind == RangeKind::kMonth      ? "'january:march'"
                                                                                   : "'2026:2027'",
                                                  describe(n.yaml))));
    }
    std::vector<IntRange> out;
    for (const Node& item : TOCSIN_TRY(list(n))) out.push_back(TOCSIN_TRY(int_range(item, kind)));
    return out;
  }

  Result<IntRange> int_range(const Node& n, RangeKind kind) const {
    const std::string text = TOCSIN_TRY(string(n));
    const std::string lower = lowercase(text);
    std::string_view what;
    std::string_view expected;
    std::optional<int> (*member)(std::string_view) = nullptr;
    switch (kind) {
      case RangeKind::kWeekday:
        what = "weekday";
        expected = "a day name (sunday to saturday), or a range like monday:friday";
        member = weekday_number;
        break;
      case RangeKind::kDayOfMonth:
        what = "day of month";
        expected = "1 to 31 or -31 to -1 (-1 = the last day), or a range like 1:5 or -3:-1";
        member = day_of_month_number;
        break;
      case RangeKind::kMonth:
        what = "month";
        expected = "a month name (january to december) or 1 to 12, or a range like january:march";
        member = month_number;
        break;
      case RangeKind::kYear:
        what = "year";
        expected = "a year like 2026, or a range like 2026:2027";
        member = year_number;
        break;
    }
    const size_t colon = lower.find(':');
    const bool is_range = colon != std::string::npos;
    std::optional<int> first;
    std::optional<int> last;
    if (!is_range) {
      first = last = member(lower);
    } else if (lower.find(':', colon + 1) == std::string::npos) {
      first = member(std::string_view(lower).substr(0, colon));
      last = member(std::string_view(lower).substr(colon + 1));
    }
    if (!first || !last)
      return std::unexpected(error(n, fmt::format("bad {} \"{}\": expected {}", what, text, expected)));
    IntRange r{*first, *last};
    if (kind == RangeKind::kDayOfMonth) {
      // As Alertmanager: a range counted from the month's end stays there, and one that is
      // empty in every month (judged on a 28-day month) is refused.
      if (r.first < 0 && r.last > 0) {
        return std::unexpected(
            error(n, fmt::format("bad day-of-month range \"{}\": it starts from the end of the month (negative), so it "
                                 "must end there too, like -3:-1",
                                 text)));
      }
      const int first_day = r.first < 0 ? 28 + r.first : r.first;
      const int last_day = r.last < 0 ? 28 + r.last : r.last;
      if (first_day > last_day) {
        return std::unexpected(
            error(n, fmt::format("bad day-of-month range \"{}\": the last day is always before the first", text)));
      }
    } else if (r.first > r.last) {
      return std::unexpected(
          error(n, fmt::format("bad {} range \"{}\": the first {} comes after the last{}", what, text,
                               kind == RangeKind::kWeekday ? "day" : what,
                               kind == RangeKind::kWeekday ? " (a week runs sunday to saturday)" : "")));
    }
    return r;
  }

  // ---- plans ----

  Result<std::vector<Plan>> parse_plans(const Node& n) {
    std::vector<Plan> plans;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      if (item.yaml.IsMap() && item.yaml["include"].IsDefined()) {
        const Map m = TOCSIN_TRY(map(item, kIncludeKeys));
        for (Plan& p : TOCSIN_TRY(include_plans(*m.find("include")))) plans.push_back(std::move(p));
      } else {
        plans.push_back(TOCSIN_TRY(parse_plan(item)));
      }
    }
    return plans;
  }

  Result<std::vector<Plan>> include_plans(const Node& n) {
    const std::string pattern = TOCSIN_TRY(nonempty_string(n));
    const fs::path p(pattern);
    const std::string name_pattern = p.filename().string();
    if (has_wildcard(p.parent_path().string())) {
      return std::unexpected(
          error(n, fmt::format("bad include \"{}\": wildcards are allowed only in the file name", pattern)));
    }
    const fs::path dir = p.is_absolute() ? p.parent_path() : base_dir_ / p.parent_path();
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dir.empty() ? fs::path(".") : dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      // FNM_PERIOD: like a shell, `*` skips hidden files (editor backups and the like).
      std::error_code type_ec;
      if (fnmatch(name_pattern.c_str(), name.c_str(), FNM_PERIOD) == 0 && it->is_regular_file(type_ec)) {
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    if (names.empty()) {
      return std::unexpected(error(n, fmt::format("include \"{}\" matched no files in {}", pattern,
                                                  dir.empty() ? "." : dir.lexically_normal().string())));
    }
    std::vector<Plan> plans;
    const std::string parent_file = file_;
    for (const std::string& name : names) {
      const fs::path file = (dir / name).lexically_normal();
      auto text = yaml::read_file(file);
      if (!text) return std::unexpected(error(n, text.error()));
      file_ = file.string();
      const YAML::Node root = TOCSIN_TRY(yaml::parse_document(*text, file_));
      Plan plan = TOCSIN_TRY(parse_plan(Node{root, "", 1}));
      plan.file = file_;
      plans.push_back(std::move(plan));
      file_ = parent_file;
    }
    return plans;
  }

  Result<Plan> parse_plan(const Node& n) {
    if (!n.yaml.IsMap()) {
      return std::unexpected(
          error(n, fmt::format("expected a plan (a map) or {{include: PATTERN}}, got {}", describe(n.yaml))));
    }
    const Map m = TOCSIN_TRY(map(n, kPlanKeys));
    Plan plan;
    plan.pos = pos(n);
    plan.file = file_;
    const Node id = TOCSIN_TRY(required(m, "id"));
    plan.id = TOCSIN_TRY(nonempty_string(id));
    if (auto [at, fresh] = plan_ids_.emplace(plan.id, fmt::format("{}:{}", file_, id.line)); !fresh) {
      return std::unexpected(error(id, fmt::format("duplicate plan id \"{}\" (first at {})", plan.id, at->second)));
    }
    plan.title = plan.id;
    if (const Node* f = m.find("title")) plan.title = TOCSIN_TRY(nonempty_string(*f));
    if (const Node* f = m.find("match")) plan.match = TOCSIN_TRY(matchers(*f));
    if (const Node* f = m.find("severity")) plan.severity = TOCSIN_TRY(severity(*f));
    if (const Node* f = m.find("escalation")) {
      plan.escalation = TOCSIN_TRY(nonempty_string(*f));
      expect_ref(RefKind::kPolicy, plan.escalation, *f);
    }
    // Roles before steps and clocks, which name them.
    if (const Node* f = m.find("roles")) {
      const Map roles = TOCSIN_TRY(map(*f, {}));
      for (const auto& [role, value] : roles.entries) {
        Target t = TOCSIN_TRY(target(value));
        if (t.kind == Target::Kind::kChannel) {
          return std::unexpected(
              error(value,
                    fmt::format("bad target \"{}\": a role is filled by a person:ID or a schedule:ID", t.to_string())));
        }
        expect_target(t, value);
        plan.roles.emplace_back(role, std::move(t));
      }
    }
    auto check_role = [&](const std::string& role, const Node& where) -> Status {
      for (const auto& r : plan.roles) {
        if (r.first == role) return core::ok();
      }
      std::vector<std::string> known;
      for (const auto& r : plan.roles) known.push_back(r.first);
      return std::unexpected(error(where, fmt::format("unknown role \"{}\"; the plan's roles are: {}", role,
                                                      known.empty() ? "(none)" : join(known))));
    };
    if (const Node* f = m.find("steps")) {
      std::map<std::string, int> step_ids;
      for (const Node& item : TOCSIN_TRY(list(*f))) {
        const Map s = TOCSIN_TRY(map(item, kStepKeys));
        Step step;
        step.pos = pos(item);
        const Node step_id = TOCSIN_TRY(required(s, "id"));
        step.id = TOCSIN_TRY(nonempty_string(step_id));
        TOCSIN_RETURN_IF_ERROR(unique(step_ids, step.id, step_id, "step id"));
        const Node title_node = TOCSIN_TRY(required(s, "title"));
        step.title = TOCSIN_TRY(nonempty_string(title_node));
        if (const Node* o = s.find("owner")) {
          step.owner = TOCSIN_TRY(nonempty_string(*o));
          TOCSIN_RETURN_IF_ERROR(check_role(step.owner, *o));
        }
        if (const Node* d = s.find("due")) step.due = TOCSIN_TRY(duration(*d));
        if (const Node* c = s.find("checklist")) step.checklist = TOCSIN_TRY(strings(*c));
        if (const Node* a = s.find("action")) step.action = TOCSIN_TRY(parse_action(*a));
        plan.steps.push_back(std::move(step));
      }
    }
    if (const Node* f = m.find("resources")) {
      for (const Node& item : TOCSIN_TRY(list(*f))) {
        const Map r = TOCSIN_TRY(map(item, kResourceKeys));
        Resource res;
        res.pos = pos(item);
        const Node name_node = TOCSIN_TRY(required(r, "name"));
        res.name = TOCSIN_TRY(nonempty_string(name_node));
        if (const Node* k = r.find("kind")) res.kind = TOCSIN_TRY(string(*k));
        if (const Node* ref = r.find("ref")) res.ref = TOCSIN_TRY(string(*ref));
        plan.resources.push_back(std::move(res));
      }
    }
    if (const Node* f = m.find("communications")) plan.communications = TOCSIN_TRY(string_map(*f, false));
    if (const Node* f = m.find("clocks")) {
      std::map<std::string, int> names;
      for (const Node& item : TOCSIN_TRY(list(*f))) {
        const Map c = TOCSIN_TRY(map(item, kClockKeys));
        PlanClock clock;
        clock.pos = pos(item);
        const Node name = TOCSIN_TRY(required(c, "name"));
        clock.name = TOCSIN_TRY(nonempty_string(name));
        TOCSIN_RETURN_IF_ERROR(unique(names, clock.name, name, "clock name"));
        const Node* every = c.find("every");
        const Node* within = c.find("within");
        if ((every == nullptr) == (within == nullptr)) {
          return std::unexpected(error(within ? within->line : item.line, join_path(item.path, "every"),
                                       "expected exactly one of every (repeating) or within (a one-off deadline)"));
        }
        if (every) clock.every = TOCSIN_TRY(positive_duration(*every));
        if (within) clock.within = TOCSIN_TRY(positive_duration(*within));
        if (const Node* from = c.find("from")) {
          clock.from = TOCSIN_TRY(nonempty_string(*from));
          TOCSIN_RETURN_IF_ERROR(check_event_kind(plan, clock.from, *from));
        }
        if (const Node* until = c.find("until")) {
          clock.until = TOCSIN_TRY(nonempty_string(*until));
          TOCSIN_RETURN_IF_ERROR(check_event_kind(plan, clock.until, *until));
        }
        if (const Node* o = c.find("owner")) {
          clock.owner = TOCSIN_TRY(nonempty_string(*o));
          TOCSIN_RETURN_IF_ERROR(check_role(clock.owner, *o));
        }
        plan.clocks.push_back(std::move(clock));
      }
    }
    if (const Node* f = m.find("review_every")) plan.review_every = TOCSIN_TRY(positive_duration(*f));
    if (const Node* f = m.find("reviewed")) {
      const std::string text = TOCSIN_TRY(string(*f));
      auto day = parse_date(text);
      if (!day) return std::unexpected(error(*f, fmt::format("bad date \"{}\": expected YYYY-MM-DD", text)));
      plan.reviewed = std::chrono::sys_days(day->time_since_epoch());
    }
    if (const Node* f = m.find("drill")) {
      if (!f->yaml.IsMap()) {
        return std::unexpected(
            error(*f, fmt::format("expected {{every: DURATION, scenario: FILE}}, got {}", describe(f->yaml))));
      }
      const Map d = TOCSIN_TRY(map(*f, kPlanDrillKeys));
      PlanDrill drill;
      drill.pos = pos(*f);
      drill.every = TOCSIN_TRY(positive_duration(TOCSIN_TRY(required(d, "every"))));
      const fs::path p(TOCSIN_TRY(nonempty_string(TOCSIN_TRY(required(d, "scenario")))));
      drill.scenario = (p.is_relative() ? base_dir_ / p : p).lexically_normal().string();
      plan.drill = std::move(drill);
    }
    return plan;
  }

  // A clock's `from` / `until`: a timeline event kind ([a-z][a-z0-9_]*), or task_done:STEP naming
  // one of the plan's steps.
  Status check_event_kind(const Plan& plan, const std::string& kind, const Node& where) const {
    std::string_view name = kind;
    if (name.starts_with("task_done:")) {
      const std::string_view step = name.substr(10);
      for (const auto& s : plan.steps) {
        if (s.id == step) return core::ok();
      }
      return std::unexpected(error(where, fmt::format("unknown step \"{}\" in \"{}\": expected one of the plan's step ids",
                                                      step, kind)));
    }
    const bool valid = !name.empty() && name[0] >= 'a' && name[0] <= 'z' &&
                       std::all_of(name.begin(), name.end(), [](char ch) {
                         return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
                       });
    if (!valid) {
      return std::unexpected(error(
          where, fmt::format("bad event kind \"{}\": expected a timeline event kind like breach_confirmed "
                             "([a-z][a-z0-9_]*) or task_done:STEP", kind)));
    }
    return core::ok();
  }

  Result<StepAction> parse_action(const Node& n) const {
    const Map m = TOCSIN_TRY(map(n, kActionKeys));
    StepAction a;
    a.pos = pos(n);
    const Node type_node = TOCSIN_TRY(required(m, "type"));
    // `exec` is the name the channel of the same kind uses.
    const std::string type = TOCSIN_TRY(one_of(type_node, {"webhook", "command", "exec"}));
    if (type == "webhook") {
      a.type = StepAction::Type::kWebhook;
      if (const Node* f = m.find("command"))
        return std::unexpected(error(*f, "\"command\" does not apply to a webhook action"));
      const Node url_node = TOCSIN_TRY(required(m, "url"));
      a.url = TOCSIN_TRY(url(url_node));
      if (const Node* f = m.find("body")) a.body = TOCSIN_TRY(string(*f));
    } else {
      a.type = StepAction::Type::kCommand;
      if (const Node* f = m.find("url"))
        return std::unexpected(error(*f, "\"url\" does not apply to a command action"));
      if (const Node* f = m.find("body")) {
        return std::unexpected(
            error(*f, "\"body\" does not apply to a command action (it gets the incident JSON on stdin)"));
      }
      const Node command_node = TOCSIN_TRY(required(m, "command"));
      a.command = TOCSIN_TRY(command(command_node));
    }
    if (const Node* f = m.find("approve")) a.approve = TOCSIN_TRY(boolean(*f));
    if (const Node* f = m.find("timeout")) a.timeout = TOCSIN_TRY(positive_duration(*f));
    return a;
  }

  // ---- risks ----

  Result<std::vector<Risk>> parse_risks(const Node& n) {
    std::vector<Risk> risks;
    std::map<std::string, int> ids;
    for (const Node& item : TOCSIN_TRY(list(n))) {
      const Map m = TOCSIN_TRY(map(item, kRiskKeys));
      Risk r;
      r.pos = pos(item);
      const Node id = TOCSIN_TRY(required(m, "id"));
      r.id = TOCSIN_TRY(nonempty_string(id));
      TOCSIN_RETURN_IF_ERROR(unique(ids, r.id, id, "risk id"));
      r.title = TOCSIN_TRY(nonempty_string(TOCSIN_TRY(required(m, "title"))));
      const Node* by_hand = m.find("likelihood");
      const Node* from_model = m.find("likelihood_from");
      if (by_hand && from_model) {
        return std::unexpected(error(*from_model, "expected one of likelihood or likelihood_from, not both"));
      }
      if (!by_hand && !from_model) {
        return std::unexpected(error(item.line, join_path(item.path, "likelihood"),
                                     "missing required field \"likelihood\" (a probability from 0 to 1) or "
                                     "\"likelihood_from\" ({model: FILE, class: CLASS})"));
      }
      if (by_hand) r.likelihood = TOCSIN_TRY(probability(*by_hand));
      if (from_model) r.likelihood_from = TOCSIN_TRY(risk_model_ref(*from_model));
      r.impact = TOCSIN_TRY(integer(TOCSIN_TRY(required(m, "impact")), 1, 5));
      const Node owner = TOCSIN_TRY(required(m, "owner"));
      r.owner = TOCSIN_TRY(nonempty_string(owner));
      expect_ref(RefKind::kPerson, r.owner, owner);
      if (const Node* f = m.find("plan")) {
        r.plan = TOCSIN_TRY(nonempty_string(*f));
        expect_ref(RefKind::kPlan, r.plan, *f);
      }
      if (const Node* f = m.find("mitigation")) r.mitigation = TOCSIN_TRY(string(*f));
      const Node review = TOCSIN_TRY(required(m, "review"));
      const std::string text = TOCSIN_TRY(string(review));
      auto day = parse_date(text);
      if (!day) return std::unexpected(error(review, fmt::format("bad date \"{}\": expected YYYY-MM-DD", text)));
      r.review = std::chrono::sys_days(day->time_since_epoch());
      risks.push_back(std::move(r));
    }
    return risks;
  }

  Result<double> probability(const Node& n) const {
    std::optional<double> v;
    if (n.yaml.IsScalar() && is_plain(n.yaml)) v = to_number(n.yaml.Scalar());
    if (!v) return std::unexpected(error(n, fmt::format("expected a probability from 0 to 1, got {}", describe(n.yaml))));
    if (!(*v >= 0 && *v <= 1)) {
      return std::unexpected(error(n, fmt::format("{} is out of range: expected a probability from 0 to 1", n.yaml.Scalar())));
    }
    return *v;
  }

  Result<RiskModelRef> risk_model_ref(const Node& n) const {
    if (!n.yaml.IsMap()) {
      return std::unexpected(error(n, fmt::format("expected {{model: FILE, class: CLASS}}, got {}", describe(n.yaml))));
    }
    const Map m = TOCSIN_TRY(map(n, kRiskModelKeys));
    RiskModelRef ref;
    ref.pos = pos(n);
    const Node model = TOCSIN_TRY(required(m, "model"));
    const fs::path p(TOCSIN_TRY(nonempty_string(model)));
    const fs::path file = (p.is_relative() ? base_dir_ / p : p).lexically_normal();
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      return std::unexpected(error(model, fmt::format("model file {} does not exist (train one with `tocsin risk train`)",
                                                      file.string())));
    }
    ref.model = file.string();
    if (const Node* f = m.find("data")) ref.data = TOCSIN_TRY(risk_data_file(*f));
    ref.cls = TOCSIN_TRY(nonempty_string(TOCSIN_TRY(required(m, "class"))));
    if (const Node* f = m.find("indicators")) {
      for (const auto& [feature, selector] : TOCSIN_TRY(string_map(*f, false))) {
        auto matchers = core::parse_selector(selector);
        if (!matchers) {
          return std::unexpected(error(f->line, join_path(f->path, feature),
                                       fmt::format("bad selector \"{}\": {}", selector, matchers.error().message())));
        }
        ref.indicators.emplace_back(feature, std::move(*matchers));
      }
    }
    if (const Node* f = m.find("every")) ref.every = TOCSIN_TRY(positive_duration(*f));
    if (const Node* f = m.find("alert_above")) {
      ref.alert_above = TOCSIN_TRY(probability(*f));
    }
    if (const Node* f = m.find("labels")) ref.labels = TOCSIN_TRY(string_map(*f, true));
    if ((ref.alert_above || !ref.labels.empty()) && ref.indicators.empty()) {
      return std::unexpected(error(n, "alert_above and labels need indicators: the model runs live only on them"));
    }
    return ref;
  }

  // `likelihood_from.data`: the CSV the model's pictures are drawn from (GET
  // /api/v1/risk/models/NAME/regions.svg); relative to the config file, and it must exist.
  Result<std::string> risk_data_file(const Node& n) const {
    const fs::path p(TOCSIN_TRY(nonempty_string(n)));
    const fs::path file = (p.is_relative() ? base_dir_ / p : p).lexically_normal();
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
      return std::unexpected(error(n, fmt::format("data file {} does not exist (a CSV with the model's features and "
                                                  "label, e.g. the one it was trained on)", file.string())));
    }
    return file.string();
  }

  // ---- references between sections ----

  // An over-time rule reads its range from the in-memory series store, which keeps only
  // server.retention: a longer range could never be filled.
  Status check_rule_ranges(const Config& cfg) const {
    for (size_t i = 0; i < cfg.rules.size(); ++i) {
      const Rule& r = cfg.rules[i];
      if (r.expr.range <= cfg.server.retention) continue;
      return std::unexpected(
          Error::invalid_argument(fmt::format("the range {} is longer than server.retention ({}): samples that old "
                                              "are not kept; shorten the range or raise server.retention",
                                              core::format_duration(r.expr.range),
                                              core::format_duration(cfg.server.retention)))
              .at(r.pos)
              .field(fmt::format("rules[{}].select", i)));
    }
    return core::ok();
  }

  Status resolve_references(const Config& cfg) const {
    for (const PendingRef& ref : refs_) {
      std::vector<std::string> known;
      std::string_view what;
      switch (ref.kind) {
        case RefKind::kPerson:
          if (cfg.person(ref.id)) continue;
          for (const auto& p : cfg.people) known.push_back(p.id);
          what = "person";
          break;
        case RefKind::kSchedule:
          if (cfg.schedule(ref.id)) continue;
          for (const auto& s : cfg.schedules) known.push_back(s.id);
          what = "schedule";
          break;
        case RefKind::kChannel:
          if (cfg.channel(ref.id)) continue;
          for (const auto& c : cfg.channels) known.push_back(c.name);
          what = "channel";
          break;
        case RefKind::kPolicy:
          if (cfg.escalation_policy(ref.id)) continue;
          for (const auto& p : cfg.escalation_policies) known.push_back(p.id);
          what = "escalation policy";
          break;
        case RefKind::kTimeInterval:
          if (cfg.time_interval(ref.id)) continue;
          for (const auto& t : cfg.time_intervals) known.push_back(t.name);
          what = "time interval";
          break;
        case RefKind::kPlan:
          if (cfg.plan(ref.id)) continue;
          for (const auto& p : cfg.plans) known.push_back(p.id);
          what = "plan";
          break;
      }
      return std::unexpected(Error::invalid_argument(fmt::format("no {} \"{}\" is defined (known: {})", what, ref.id,
                                                                 known.empty() ? "none" : join(known)))
                                 .at(ref.pos)
                                 .field(ref.path));
    }
    return core::ok();
  }

  fs::path base_dir_;
  std::vector<PendingRef> refs_;
  std::map<std::string, std::string> plan_ids_;  // id -> "file:line" of its first definition
  std::map<std::string, int> time_interval_names_;  // across time_intervals and mute_time_intervals
};

}  // namespace

core::Result<Config> load_config(const std::filesystem::path& file) {
  auto text = yaml::read_file(file);
  if (!text) return std::unexpected(std::move(text).error());
  return load_config_string(*text, file.string(), file.parent_path());
}

core::Result<Config> load_config_string(std::string_view yaml, std::string file_name, std::filesystem::path base_dir) {
  const YAML::Node root = TOCSIN_TRY(yaml::parse_document(yaml, file_name));
  // The parser reads nodes without conversions that throw; this is a guard, not a code path.
  try {
    return Parser(file_name, std::move(base_dir)).parse(root);
  } catch (const YAML::Exception& e) {
    return std::unexpected(Error::invalid_argument(fmt::format("bad YAML: {}", e.msg))
                               .at({file_name, e.mark.line >= 0 ? e.mark.line + 1 : 0, 0}));
  } catch (const std::exception& e) {
    return std::unexpected(
        Error::internal(fmt::format("loading the config failed: {}", e.what())).at({file_name, 0, 0}));
  }
}

}  // namespace tocsin::config
