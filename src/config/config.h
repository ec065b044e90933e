// The typed, validated configuration (SPEC §4): one tocsin.yaml plus the plan files it includes.
// A Config is only ever built whole by load_config() (loader.h): every value in it has been
// checked (types, durations, matchers, references between sections), so the layers above read it
// without re-validating. Each struct keeps the position it came from for later error messages.
// Thread-safety: immutable once loaded; share it as std::shared_ptr<const Config> and swap the
// pointer on reload.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/ip_address.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/result.h"
#include "core/time.h"
#include "tsdb/expr.h"

namespace tocsin::config {

using core::Duration;
using core::Position;

// server.tls: serve HTTPS only. The files were loaded and checked (PEM, key matches the
// certificate) when the config was.
struct TlsConfig {
  std::string cert_file;  // absolute; PEM: the server certificate, then any intermediates
  std::string key_file;   // absolute; PEM private key of the certificate, unencrypted
  std::string min_version = "1.2";  // "1.2" or "1.3"
};

// server.lease: the engine lease's length and how often its holder renews it (renew_every < ttl).
struct LeaseConfig {
  Duration ttl = std::chrono::seconds(15);
  Duration renew_every = std::chrono::seconds(5);
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8470";  // host:port; port 0 picks a free port
  std::string data_dir = "./tocsin-data";  // relative paths are relative to the config file
  std::string store;                       // empty = embedded SQLite under data_dir; "postgres://…"
  // server.store_pool.size: PostgreSQL connections per process, one for writes and the rest for
  // reads (docs/high-availability.md); set only with a postgres:// store.
  int store_pool_size = 4;
  // Links in notifications; default http://<listen>, https://<listen> with tls.
  std::string external_url;
  std::optional<TlsConfig> tls;  // unset: plain HTTP
  std::string log_level = "info";          // debug | info | warn | error
  Duration retention = std::chrono::hours(6);  // how long samples are kept in memory for rules
  // The environment variable holding the key that signs acknowledge links; empty = a random key
  // kept in data_dir/ack.key (created at the first start).
  std::string ack_secret_env;
  // Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client, for the
  // per-client rate limit (docs/security.md). Empty: the peer address is the client.
  std::vector<core::IpBlock> trusted_proxies;
  // High availability (docs/high-availability.md): this replica's name in the store's leases and
  // membership; empty = "<hostname>:<port>-<random>" chosen at each start.
  std::string replica_id;
  // The URL other replicas and people reach this one at (GET /api/v1/cluster); empty = external_url.
  std::string advertise_url;
  LeaseConfig lease;
};

enum class Role { kViewer, kResponder, kAdmin };

// An API token. Exactly one of token_env, token_file and token_sha256 is set: the secret itself
// never sits in the config (docs/security.md).
struct TokenConfig {
  std::string name;
  Role role = Role::kViewer;
  std::string token_env;     // name of the environment variable holding the token
  std::string token_file;    // or a file holding it
  std::string token_sha256;  // or only the SHA-256 of the token: 64 lower-case hex digits
  Position pos;
};

// auth.intake: a secret that Prometheus and Alertmanager send (as a bearer token or the Basic
// auth password) and that grants the intake routes only. Unset = intake needs a responder token.
struct IntakeSecretConfig {
  std::string secret_env;
  std::string secret_file;
  Position pos;
  bool configured() const { return !secret_env.empty() || !secret_file.empty(); }
};

// Auth is on when `tokens` is non-empty (docs/security.md).
struct AuthConfig {
  std::vector<TokenConfig> tokens;
  bool metrics_public = false;  // GET /metrics without a token (else it needs a viewer)
  IntakeSecretConfig intake;
  bool enabled() const { return !tokens.empty(); }
};

struct ContactMethods {
  std::string email;
  std::string webhook;  // URL
  std::string slack;    // incoming-webhook URL
};

struct Person {
  std::string id;
  std::string name;
  std::string timezone = "UTC";  // IANA name
  ContactMethods contact;
  Position pos;
};

enum class ChannelType { kWebhook, kSlack, kEmail, kExec };
enum class WebhookFormat { kJson, kAlertmanager };  // generic tocsin JSON, or Alertmanager webhook v4

struct SmtpConfig {
  std::string host;
  int port = 25;
  std::string from;
  std::string username;
  std::string password_env;
  bool starttls = false;
};

struct Channel {
  std::string name;
  ChannelType type = ChannelType::kWebhook;
  std::string url;                              // webhook, slack
  WebhookFormat format = WebhookFormat::kJson;  // webhook
  // webhook: where the signing secret is (at most one; empty = unsigned). secret_file is absolute
  // once loaded.
  std::string secret_env;
  std::string secret_file;
  SmtpConfig smtp;                              // email
  std::vector<std::string> to;                  // email: fixed recipients (besides paged people)
  std::vector<std::string> command;             // exec: argv
  Duration timeout = std::chrono::seconds(10);
  // Notify-only routes: whether resolved alerts are sent. Alertmanager's defaults: true for
  // webhook (and exec), false for slack and email. `send_resolved:` overrides.
  bool send_resolved = true;
  // Notification templates over a group of alerts (notify/template.h); empty = the built-in
  // default for the channel type.
  std::string title_template;  // `title:`
  std::string body_template;   // `body:`
  Position pos;
};

enum class Rotation { kDaily, kWeekly, kCustom };

// Local wall-clock time in a schedule's time zone (no zone attached).
using LocalTime = std::chrono::local_time<std::chrono::minutes>;

struct Layer {
  Rotation rotation = Rotation::kWeekly;
  // Hand-off: "Mon 09:00" for weekly, "09:00" for daily and custom.
  std::chrono::weekday handoff_day = std::chrono::Monday;  // weekly only
  std::chrono::minutes handoff_time{9 * 60};               // minutes after local midnight
  std::chrono::local_days start;                           // the first shift starts at start + handoff
  Duration shift_length{};                                 // custom only ("every: 3d")
  std::vector<std::string> members;                        // person ids, in rotation order
  Position pos;
};

struct Override {
  std::string person;
  LocalTime from;  // in the schedule's time zone
  LocalTime to;
  Position pos;
};

struct Schedule {
  std::string id;
  std::string timezone = "UTC";
  std::vector<Layer> layers;  // a later layer wins where it has someone on call
  std::vector<Override> overrides;
  Position pos;
};

// "schedule:ops-primary", "person:carol", "channel:ops-hook"
struct Target {
  enum class Kind { kSchedule, kPerson, kChannel };
  Kind kind = Kind::kPerson;
  std::string id;
  std::string to_string() const;
  friend bool operator==(const Target&, const Target&) = default;
};
core::Result<Target> parse_target(std::string_view text);

struct EscalationLevel {
  Duration after{};  // since the start of the pass
  std::vector<Target> notify;
  Position pos;
};

struct EscalationPolicy {
  std::string id;
  int repeat = 0;           // passes after the first
  Duration repeat_every{};  // length of a pass; > last level's `after` when repeat > 0
  std::vector<EscalationLevel> levels;
  Position pos;
};

struct ScrapeConfig {
  std::string job;
  Duration interval = std::chrono::seconds(15);
  Duration timeout = std::chrono::seconds(10);
  std::string metrics_path = "/metrics";
  std::vector<std::string> targets;  // host:port
  Position pos;
};

struct ProbeConfig {
  std::string name;
  std::string http;  // URL, or
  std::string tcp;   // host:port
  Duration interval = std::chrono::seconds(30);
  Duration timeout = std::chrono::seconds(5);
  int expect_status = 0;   // 0 = any 2xx
  std::string body_match;  // regex the body must contain
  Position pos;
};

// A detector parameter as written; the detect layer checks names and types per detector kind.
struct DetectorParam {
  std::string text;               // the scalar as written
  std::optional<double> number;   // set when the scalar is a number
  Position pos;
};

struct DetectorConfig {
  std::string kind;  // threshold | sigma | ewma | mad | seasonal | changepoint | absent | auto
  std::map<std::string, DetectorParam> params;
  Position pos;
};

struct Rule {
  std::string name;
  std::string select;                    // as written: a selector, or fn(selector[range])
  tsdb::SelectExpr expr;                 // parsed
  std::vector<core::Matcher> selector;   // expr.matchers: which series the rule watches
  DetectorConfig detector;
  Duration for_duration{};
  Duration keep_firing_for{};
  // Flapping suppression: an alert that would resolve for the third time within this window
  // stays firing until it has been quiet for the whole window. 0 turns it off.
  Duration flap_window = std::chrono::minutes(10);
  std::string severity = "warning";
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  Position pos;
};

// Alertmanager time intervals (`time_intervals:`; the older `mute_time_intervals:` is accepted too).
// A TimeInterval matches a moment when every non-empty field matches it, in `location`'s zone.
struct TimeOfDayRange {
  int start_minute = 0;  // minutes after local midnight, inclusive
  int end_minute = 0;    // exclusive; 1440 = midnight at the end of the day
};
// Inclusive; weekdays 0 = Sunday; days of month may be negative (-1 = the last day), and a range
// may run from a positive day to a negative one (1:-1 = the whole month), as in Alertmanager.
struct IntRange {
  int first = 0;
  int last = 0;
};
struct TimeInterval {
  std::vector<TimeOfDayRange> times;
  std::vector<IntRange> weekdays;
  std::vector<IntRange> days_of_month;
  std::vector<IntRange> months;  // 1..12
  std::vector<IntRange> years;
  std::string location = "UTC";  // IANA name, or "Local" (treated as UTC: the server has no zone)
  Position pos;
};
struct NamedTimeInterval {
  std::string name;
  std::vector<TimeInterval> intervals;  // the moment matches when any of them matches
  Position pos;
};

// Alertmanager routing tree. Children inherit unset fields from their parent at load time, so
// every node here carries its effective values.
struct Route {
  std::string receiver;  // a channel name
  std::vector<std::string> group_by;
  bool group_by_all = false;  // group_by: ['...']
  Duration group_wait = std::chrono::seconds(30);
  Duration group_interval = std::chrono::minutes(5);
  Duration repeat_interval = std::chrono::hours(4);
  // `matchers`, plus the older `match` (equality) and `match_re` (regex) maps converted, sorted
  // by (name, value, op) as Alertmanager sorts them (the order shows in group keys).
  std::vector<core::Matcher> matchers;
  bool continue_matching = false;  // `continue`
  // Names from time_intervals. Not inherited by child routes (as in Alertmanager); not allowed
  // on the root route.
  std::vector<std::string> mute_time_intervals;
  std::vector<std::string> active_time_intervals;
  std::vector<Route> routes;
  Position pos;
};

struct InhibitRule {
  std::vector<core::Matcher> source_matchers;
  std::vector<core::Matcher> target_matchers;
  std::vector<std::string> equal;
  Position pos;
};

// `alerting:` — settings of the Alertmanager-compatible pipeline.
struct AlertingConfig {
  // An alert received without endsAt resolves this long after it was last received (as
  // Alertmanager's global.resolve_timeout).
  Duration resolve_timeout = std::chrono::minutes(5);
};

// `limits:` — what one client may send and what the server keeps on clients' behalf
// (docs/configuration.md#limits, docs/security.md). Every limit is checked before anything is
// applied: a request over one is refused whole. 0 means "no limit" only where a comment says so.
struct RateLimitConfig {
  double requests_per_second = 0;  // per client, on mutating and intake routes; 0 = off
  int burst = 0;                   // bucket size; 0 = max(1, requests_per_second) when on
  int max_clients = 10'000;        // buckets kept; idle ones are evicted first
};

struct LimitsConfig {
  // HTTP server.
  int max_body_bytes = 16 << 20;                     // larger body -> 413
  int max_header_bytes = 64 << 10;                   // larger request line + headers -> 431
  Duration read_timeout = std::chrono::seconds(30);  // whole request, from its first byte
  Duration idle_timeout = std::chrono::seconds(75);  // keep-alive wait for the next request
  int max_connections = 1024;                        // more are answered 503 and closed
  int max_inflight_body_bytes = 256 << 20;           // bodies being received at once, summed
  // Per series (samples, events) and per alert (label sets).
  int max_labels_per_series = 64;  // __name__ included
  int max_label_name_bytes = 1024;
  int max_label_value_bytes = 4096;
  // Per request.
  int max_series_per_request = 100'000;  // remote_write series, or samples of push / import
  int max_alerts_per_request = 10'000;   // /api/v2/alerts and the Alertmanager webhook
  int max_events_per_request = 10'000;   // /api/v1/events
  int max_silence_matchers = 64;         // matchers of one silence
  // Kept by the server.
  int max_series = 1'000'000;  // series in memory; new ones beyond are refused
  int max_alerts = 100'000;    // alerts held by the pipeline (firing or recently resolved)
  int max_silences = 10'000;   // silences not yet expired
  RateLimitConfig rate;
};

// A step's automated action (docs/plans.md). `url`, `body` and every element of `command` are
// templates over the incident (Go text/template syntax), stored as written; the action layer
// parses them when the engine starts.
struct StepAction {
  enum class Type { kWebhook, kCommand };  // `type: command` (or its alias `exec`)
  Type type = Type::kWebhook;
  std::string url;                   // webhook: POSTed to
  std::string body;                  // webhook: the body; empty = the built-in tocsin JSON
  std::vector<std::string> command;  // command: argv, run without a shell (a string is /bin/sh -c)
  bool approve = false;              // needs a person's approval before it runs
  Duration timeout = std::chrono::seconds(30);
  Position pos;
};

struct Step {
  std::string id;
  std::string title;
  std::string owner;  // a role name from the plan's roles
  Duration due{};     // offset from the incident's opening
  std::vector<std::string> checklist;
  std::optional<StepAction> action;
  Position pos;
};

struct Resource {
  std::string name;
  std::string kind;  // host | contact | document | …
  std::string ref;
  Position pos;
};

// A deadline that runs from a timeline event: once (`within`) or repeating (`every`).
struct PlanClock {
  std::string name;
  Duration every{};
  Duration within{};
  std::string from = "opened";  // the timeline event kind that starts it ("task_done:STEP" for a step)
  std::string until;            // a timeline event kind that stops it; empty = runs until resolved
  std::string owner;            // a role name: paged when the clock fires
  Position pos;
};

// `drill:` — how often the plan is rehearsed, and with which scenario (issue 7). The scenario path
// is resolved against the config file's directory, like every other path in the config; the
// loader does not require the file to exist (check-config warns when it does not).
struct PlanDrill {
  Duration every{};
  std::string scenario;  // absolute once loaded
  Position pos;
};

struct Plan {
  std::string id;
  std::string title;
  std::vector<core::Matcher> match;
  std::string severity = "critical";
  std::string escalation;  // an escalation policy id; may be empty
  std::vector<std::pair<std::string, Target>> roles;  // role name -> who fills it, in file order
  std::vector<Step> steps;
  std::vector<Resource> resources;
  std::map<std::string, std::string> communications;  // template name -> text
  std::vector<PlanClock> clocks;
  Duration review_every{};
  std::optional<std::chrono::sys_days> reviewed;  // `reviewed: YYYY-MM-DD`, the last review
  std::optional<PlanDrill> drill;                 // the drill cadence; empty = no drills scheduled
  std::string file;  // the plan file it came from
  Position pos;

  // Who fills `role` (nullptr when the plan has no such role).
  const Target* role_target(std::string_view role) const;
};

// `likelihood_from:` — a risk's likelihood read from a trained risk model (the probability it
// gives `cls`). The loader checks that the model file exists; reading it is the risk layer's job.
struct RiskModelRef {
  std::string model;  // the model file, absolute once loaded
  std::string cls;    // `class:` — the class whose probability is the likelihood
  // `data:` — a CSV with the model's features and label (e.g. its training data), absolute once
  // loaded; the API draws the model's decision regions and confusion matrix from it. May be empty.
  std::string data;
  // Live risk: the model's features read from the series store — feature name → an instant
  // selector; the newest sample of the matching series (the largest, when several match) is the
  // feature's value. Empty: the model is not evaluated live.
  std::vector<std::pair<std::string, std::vector<core::Matcher>>> indicators;
  Duration every = std::chrono::minutes(1);  // how often the model runs on the current values
  std::optional<double> alert_above;  // likelihood above this raises a RiskLikely warning alert
  std::map<std::string, std::string> labels;  // extra labels on that alert (e.g. incident_type)
  Position pos;
};

// One entry of the risk register (`risks:`, docs/risk-register.md). Exactly one of `likelihood`
// (set by hand) and `likelihood_from` (from a model) is set.
struct Risk {
  std::string id;
  std::string title;
  std::optional<double> likelihood;  // a probability in [0, 1]
  std::optional<RiskModelRef> likelihood_from;
  int impact = 1;          // 1..5
  std::string owner;       // a person id
  std::string plan;        // a plan id; may be empty
  std::string mitigation;  // free text; may be empty
  std::chrono::sys_days review;  // the next review date
  Position pos;
};

struct Config {
  std::string path;  // the main file, as given
  ServerConfig server;
  AuthConfig auth;
  std::vector<Person> people;
  std::vector<Channel> channels;
  std::vector<Schedule> schedules;
  std::vector<EscalationPolicy> escalation_policies;
  std::vector<ScrapeConfig> scrape;
  std::vector<ProbeConfig> probes;
  std::vector<Rule> rules;
  AlertingConfig alerting;
  LimitsConfig limits;
  std::vector<NamedTimeInterval> time_intervals;
  std::optional<Route> routes;
  std::vector<InhibitRule> inhibit_rules;
  std::vector<Plan> plans;
  std::vector<Risk> risks;

  // Lookups by id/name; nullptr when absent.
  const Person* person(std::string_view id) const;
  const Channel* channel(std::string_view name) const;
  const Schedule* schedule(std::string_view id) const;
  const EscalationPolicy* escalation_policy(std::string_view id) const;
  const Plan* plan(std::string_view id) const;
  const NamedTimeInterval* time_interval(std::string_view name) const;
};

// When a plan's next review is due (reviewed + review_every); nullopt when it has no
// review_every. A plan never reviewed is due from the start.
std::optional<core::Timestamp> review_due(const Plan& plan);

// When a plan's next drill is due: the last drill run (any mode) + drill.every; nullopt when it
// has no `drill:`. A plan never drilled is due from the start (the epoch).
std::optional<core::Timestamp> drill_due(const Plan& plan, std::optional<core::Timestamp> last_run);

// Severities from most to least urgent.
inline constexpr std::string_view kSeverities[] = {"critical", "major", "minor", "warning", "info"};
bool is_valid_severity(std::string_view s);

}  // namespace tocsin::config
