#include "store/postgres/postgres_store.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/postgres/migrations.h"
#include "store/postgres/postgres.h"

namespace tocsin::store::postgres {
namespace {

using core::Error;

// BIGINT is signed 64-bit; a fingerprint is stored as the same 64 bits.
int64_t to_db(uint64_t fingerprint) { return std::bit_cast<int64_t>(fingerprint); }
uint64_t fingerprint_from_db(int64_t value) { return std::bit_cast<uint64_t>(value); }

int64_t to_db(Timestamp t) { return core::to_unix_ms(t); }
std::optional<int64_t> to_db(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return core::to_unix_ms(*t);
}
Timestamp time_from_db(int64_t ms) { return core::from_unix_ms(ms); }
std::optional<Timestamp> time_from_db(std::optional<int64_t> ms) {
  if (!ms) return std::nullopt;
  return core::from_unix_ms(*ms);
}

// BYTEA values travel as lowercase hex text (encode(…, 'hex') / decode($n, 'hex') in the SQL):
// every parameter of this store is sent as text, which cannot hold a NUL byte.
std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

// Notifications outside any incident carry incident_id 0, stored as NULL so the foreign key holds.
std::optional<int64_t> incident_ref_to_db(int64_t incident_id) {
  if (incident_id == 0) return std::nullopt;
  return incident_id;
}

Error with_context(const Error& error, std::string_view context) {
  return Error(error.code(), fmt::format("{}: {}", context, error.message()))
      .retryable(error.retryable())
      .field(error.field());
}

// Data read back that does not parse means the database was damaged or written by something else.
Error corrupt(std::string_view what, const Error& error) {
  return Error::internal(fmt::format("corrupt {} in the database: {}", what, error.message()));
}

Status check_limit(int limit) {
  if (limit < 0) return std::unexpected(Error::invalid_argument(fmt::format("limit must be >= 0, got {}", limit)));
  return core::ok();
}

Result<std::string> dump_json(const nlohmann::json& json, std::string_view what) {
  try {
    return json.dump();
  } catch (const nlohmann::json::exception& e) {
    // dump() throws only on strings that are not valid UTF-8.
    return std::unexpected(Error::invalid_argument(fmt::format("{}: {}", what, e.what())));
  }
}

Result<std::string> labels_to_json(const core::Labels& labels) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& label : labels) json[label.name] = label.value;
  return dump_json(json, "labels");
}

Result<std::string> map_to_json(const std::map<std::string, std::string>& map) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, value] : map) json[name] = value;
  return dump_json(json, "annotations");
}

Result<std::map<std::string, std::string>> map_from_json(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return std::unexpected(Error::internal(fmt::format("expected a JSON object, got {}", text)));
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : json.items()) {
    if (!value.is_string()) {
      return std::unexpected(Error::internal(fmt::format("value of \"{}\" is not a string", name)));
    }
    out.emplace(name, value.get_ref<const std::string&>());
  }
  return out;
}

Result<core::Labels> labels_from_json(std::string_view text) {
  auto map = TOCSIN_TRY(map_from_json(text));
  std::vector<core::Label> pairs;
  pairs.reserve(map.size());
  for (auto& [name, value] : map) pairs.push_back({name, std::move(value)});
  return core::Labels::from_pairs(std::move(pairs));
}

// A JSON array of strings, one per element, as convert prints it.
template <class T, class Convert>
Result<std::string> array_to_json(const std::vector<T>& items, Convert convert, std::string_view what) {
  nlohmann::json json = nlohmann::json::array();
  for (const auto& item : items) json.push_back(convert(item));
  return dump_json(json, what);
}

// The strings of a JSON array, each converted by parse (which returns a Result).
template <class T, class Parse>
Result<std::vector<T>> array_from_json(std::string_view text, Parse parse) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array()) {
    return std::unexpected(Error::internal(fmt::format("expected a JSON array, got {}", text)));
  }
  std::vector<T> out;
  out.reserve(json.size());
  for (const auto& element : json) {
    if (!element.is_string()) {
      return std::unexpected(Error::internal(fmt::format("element {} is not a string", element.dump())));
    }
    out.push_back(TOCSIN_TRY(parse(element.get_ref<const std::string&>())));
  }
  return out;
}

Result<std::string> matchers_to_json(const std::vector<core::Matcher>& matchers) {
  return array_to_json(matchers, [](const core::Matcher& m) { return m.to_string(); }, "matchers");
}

Result<std::vector<core::Matcher>> matchers_from_json(std::string_view text) {
  return array_from_json<core::Matcher>(text, [](const std::string& s) { return core::Matcher::parse(s); });
}

// Fingerprints inside JSON are decimal strings of the uint64: a JSON number above 2^53 loses
// precision in most readers.
Result<std::string> fingerprints_to_json(const std::vector<uint64_t>& fingerprints, std::string_view what) {
  return array_to_json(fingerprints, [](uint64_t f) { return std::to_string(f); }, what);
}

Result<uint64_t> parse_fingerprint(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) {
    return std::unexpected(Error::internal(fmt::format("\"{}\" is not a decimal uint64 fingerprint", text)));
  }
  return value;
}

Result<std::vector<uint64_t>> fingerprints_from_json(std::string_view text) {
  return array_from_json<uint64_t>(text, [](const std::string& s) { return parse_fingerprint(s); });
}

// Runs body and prefixes any error with the name of the operation.
template <class F>
auto annotate(std::string_view operation, F&& body) -> decltype(body()) {
  auto result = body();
  if (!result) return std::unexpected(with_context(result.error(), operation));
  return result;
}

// Column lists shared by the statements that read whole rows; the readers below depend on their order.
#define TOCSIN_ALERT_COLUMNS                                                                                 \
  "fingerprint, rule, labels, annotations, state, value, active_at, fired_at, resolved_at, updated_at, "     \
  "incident_id, ends_at, ends_at_from_timeout, generator_url"
#define TOCSIN_INCIDENT_COLUMNS                                                                               \
  "id, title, plan, severity, status, group_key, opened_at, acknowledged_at, mitigated_at, resolved_at, "    \
  "closed_at, escalation_policy, escalation_pass, escalation_next_level, escalation_next_at, drill"
#define TOCSIN_NOTIFICATION_COLUMNS \
  "id, incident_id, target, channel, address, payload, status, attempts, created_at, next_attempt_at, last_error, " \
  "dedup_key"
#define TOCSIN_DRILL_RUN_COLUMNS \
  "id, scenario, plan, mode, seed, participants, started_at, finished_at, ran_at, score, passed, live_drill"
#define TOCSIN_LIVE_DRILL_COLUMNS \
  "id, scenario, plan, participants, started_at, finished_at, started_by, finished_by, run, scenario_yaml"
#define TOCSIN_POSTMORTEM_COLUMNS                                                                           \
  "incident_id, summary, impact, root_cause, contributing_factors, went_well, went_badly, lessons, updated_at, " \
  "updated_by, completed_at, completed_by"
#define TOCSIN_ACTION_ITEM_COLUMNS \
  "id, incident_id, title, owner, due_at, status, created_at, created_by, done_at, done_by"
#define TOCSIN_SILENCE_COLUMNS "id, matchers, starts_at, ends_at, updated_at, created_by, comment"
#define TOCSIN_NFLOG_COLUMNS "receiver, group_key, firing, resolved, at, expires_at"
#define TOCSIN_ACTION_RUN_COLUMNS                                                                            \
  "incident_id, step, type, state, attempts, created_at, next_attempt_at, started_at, finished_at, "        \
  "approved_by, approved_at, request, last_result, last_output"

Result<AlertRecord> read_alert(const Statement& row) {
  AlertRecord alert;
  alert.fingerprint = fingerprint_from_db(row.column_int64(0));
  const std::string what = fmt::format("alert {}", core::fingerprint_hex(alert.fingerprint));
  alert.rule = row.column_text(1);
  auto labels = labels_from_json(row.column_text(2));
  if (!labels) return std::unexpected(corrupt(what + " labels", labels.error()));
  alert.labels = std::move(*labels);
  auto annotations = map_from_json(row.column_text(3));
  if (!annotations) return std::unexpected(corrupt(what + " annotations", annotations.error()));
  alert.annotations = std::move(*annotations);
  auto state = parse_alert_state(row.column_text(4));
  if (!state) return std::unexpected(corrupt(what + " state", state.error()));
  alert.state = *state;
  alert.value = row.is_null(5) ? std::numeric_limits<double>::quiet_NaN() : row.column_double(5);
  alert.active_at = time_from_db(row.column_int64(6));
  alert.fired_at = time_from_db(row.column_optional_int64(7));
  alert.resolved_at = time_from_db(row.column_optional_int64(8));
  alert.updated_at = time_from_db(row.column_int64(9));
  alert.incident_id = row.column_optional_int64(10);
  alert.ends_at = time_from_db(row.column_optional_int64(11));
  alert.ends_at_from_timeout = row.column_int64(12) != 0;
  alert.generator_url = row.column_text(13);
  return alert;
}

Result<Silence> read_silence(const Statement& row) {
  Silence silence;
  silence.id = row.column_text(0);
  auto matchers = matchers_from_json(row.column_text(1));
  if (!matchers) return std::unexpected(corrupt(fmt::format("silence \"{}\" matchers", silence.id), matchers.error()));
  silence.matchers = std::move(*matchers);
  silence.starts_at = time_from_db(row.column_int64(2));
  silence.ends_at = time_from_db(row.column_int64(3));
  silence.updated_at = time_from_db(row.column_int64(4));
  silence.created_by = row.column_text(5);
  silence.comment = row.column_text(6);
  return silence;
}

Result<NotificationLogEntry> read_nflog(const Statement& row) {
  NotificationLogEntry entry;
  entry.receiver = row.column_text(0);
  entry.group_key = row.column_text(1);
  const std::string what = fmt::format("nflog entry \"{}\" / \"{}\"", entry.receiver, entry.group_key);
  auto firing = fingerprints_from_json(row.column_text(2));
  if (!firing) return std::unexpected(corrupt(what + " firing", firing.error()));
  entry.firing = std::move(*firing);
  auto resolved = fingerprints_from_json(row.column_text(3));
  if (!resolved) return std::unexpected(corrupt(what + " resolved", resolved.error()));
  entry.resolved = std::move(*resolved);
  entry.at = time_from_db(row.column_int64(4));
  entry.expires_at = time_from_db(row.column_int64(5));
  return entry;
}

Result<Incident> read_incident(const Statement& row) {
  Incident incident;
  incident.id = row.column_int64(0);
  incident.title = row.column_text(1);
  incident.plan = row.column_text(2);
  incident.severity = row.column_text(3);
  auto status = parse_incident_status(row.column_text(4));
  if (!status) return std::unexpected(corrupt(fmt::format("incident {} status", incident.id), status.error()));
  incident.status = *status;
  incident.group_key = row.column_text(5);
  incident.opened_at = time_from_db(row.column_int64(6));
  incident.acknowledged_at = time_from_db(row.column_optional_int64(7));
  incident.mitigated_at = time_from_db(row.column_optional_int64(8));
  incident.resolved_at = time_from_db(row.column_optional_int64(9));
  incident.closed_at = time_from_db(row.column_optional_int64(10));
  incident.escalation_policy = row.column_text(11);
  incident.escalation_pass = static_cast<int>(row.column_int64(12));
  incident.escalation_next_level = static_cast<int>(row.column_int64(13));
  incident.escalation_next_at = time_from_db(row.column_optional_int64(14));
  incident.drill = row.column_text(15);
  return incident;
}

Result<Notification> read_notification(const Statement& row) {
  Notification n;
  n.id = row.column_int64(0);
  n.incident_id = row.column_optional_int64(1).value_or(0);
  n.target = row.column_text(2);
  n.channel = row.column_text(3);
  n.address = row.column_text(4);
  n.payload = row.column_text(5);
  auto status = parse_notification_status(row.column_text(6));
  if (!status) return std::unexpected(corrupt(fmt::format("notification {} status", n.id), status.error()));
  n.status = *status;
  n.attempts = static_cast<int>(row.column_int64(7));
  n.created_at = time_from_db(row.column_int64(8));
  n.next_attempt_at = time_from_db(row.column_int64(9));
  n.last_error = row.column_text(10);
  n.dedup_key = row.column_text(11);
  return n;
}

Result<ActionRun> read_action_run(const Statement& row) {
  ActionRun run;
  run.incident_id = row.column_int64(0);
  run.step = row.column_text(1);
  run.type = row.column_text(2);
  auto state = parse_action_state(row.column_text(3));
  if (!state) {
    return std::unexpected(
        corrupt(fmt::format("incident {} action \"{}\" state", run.incident_id, run.step), state.error()));
  }
  run.state = *state;
  run.attempts = static_cast<int>(row.column_int64(4));
  run.created_at = time_from_db(row.column_int64(5));
  run.next_attempt_at = time_from_db(row.column_int64(6));
  run.started_at = time_from_db(row.column_optional_int64(7));
  run.finished_at = time_from_db(row.column_optional_int64(8));
  run.approved_by = row.column_text(9);
  run.approved_at = time_from_db(row.column_optional_int64(10));
  run.request = row.column_text(11);
  run.last_result = row.column_text(12);
  run.last_output = row.column_text(13);
  return run;
}

Result<std::string> strings_to_json(const std::vector<std::string>& items, std::string_view what) {
  return array_to_json(items, [](const std::string& s) { return s; }, what);
}

Result<std::vector<std::string>> strings_from_json(std::string_view text) {
  return array_from_json<std::string>(text, [](const std::string& s) -> Result<std::string> { return s; });
}

// Columns: TOCSIN_DRILL_RUN_COLUMNS, then the scorecard (empty unless with_scorecard).
Result<DrillRun> read_drill_run(const Statement& row, bool with_scorecard) {
  DrillRun run;
  run.id = row.column_int64(0);
  run.scenario = row.column_text(1);
  run.plan = row.column_text(2);
  run.mode = row.column_text(3);
  run.seed = std::bit_cast<uint64_t>(row.column_int64(4));
  auto participants = strings_from_json(row.column_text(5));
  if (!participants) return std::unexpected(corrupt(fmt::format("drill run {} participants", run.id), participants.error()));
  run.participants = std::move(*participants);
  run.started_at = time_from_db(row.column_int64(6));
  run.finished_at = time_from_db(row.column_int64(7));
  run.ran_at = time_from_db(row.column_int64(8));
  run.score = row.column_double(9);
  run.passed = row.column_int64(10) != 0;
  run.live_drill = row.column_optional_int64(11);
  if (with_scorecard) run.scorecard_json = row.column_text(12);
  return run;
}

Result<LiveDrill> read_live_drill(const Statement& row) {
  LiveDrill drill;
  drill.id = row.column_int64(0);
  drill.scenario = row.column_text(1);
  drill.plan = row.column_text(2);
  auto participants = strings_from_json(row.column_text(3));
  if (!participants) return std::unexpected(corrupt(fmt::format("live drill {} participants", drill.id), participants.error()));
  drill.participants = std::move(*participants);
  drill.started_at = time_from_db(row.column_int64(4));
  drill.finished_at = time_from_db(row.column_optional_int64(5));
  drill.started_by = row.column_text(6);
  drill.finished_by = row.column_text(7);
  drill.run = row.column_optional_int64(8);
  drill.scenario_yaml = row.column_text(9);
  return drill;
}

Result<Postmortem> read_postmortem(const Statement& row) {
  Postmortem pm;
  pm.incident_id = row.column_int64(0);
  pm.fields.summary = row.column_text(1);
  pm.fields.impact = row.column_text(2);
  pm.fields.root_cause = row.column_text(3);
  pm.fields.contributing_factors = row.column_text(4);
  pm.fields.went_well = row.column_text(5);
  pm.fields.went_badly = row.column_text(6);
  pm.fields.lessons = row.column_text(7);
  pm.updated_at = time_from_db(row.column_optional_int64(8));
  pm.updated_by = row.column_text(9);
  pm.completed_at = time_from_db(row.column_optional_int64(10));
  pm.completed_by = row.column_text(11);
  return pm;
}

Result<Lease> read_lease(const Statement& row) {
  return Lease{row.column_text(0), row.column_text(1), row.column_int64(2), time_from_db(row.column_int64(3)),
               time_from_db(row.column_int64(4))};
}

Result<ActionItem> read_action_item(const Statement& row) {
  ActionItem item;
  item.id = row.column_int64(0);
  item.incident_id = row.column_int64(1);
  item.title = row.column_text(2);
  item.owner = row.column_text(3);
  item.due_at = time_from_db(row.column_int64(4));
  auto status = parse_action_item_status(row.column_text(5));
  if (!status) return std::unexpected(corrupt(fmt::format("action item {} status", item.id), status.error()));
  item.status = *status;
  item.created_at = time_from_db(row.column_int64(6));
  item.created_by = row.column_text(7);
  item.done_at = time_from_db(row.column_optional_int64(8));
  item.done_by = row.column_text(9);
  return item;
}

// Steps through every row of a bound statement, converting each with read_row.
template <class T, class ReadRow>
Result<std::vector<T>> collect(Statement& statement, ReadRow read_row) {
  std::vector<T> out;
  while (TOCSIN_TRY(statement.step())) out.push_back(TOCSIN_TRY(read_row(statement)));
  return out;
}

// A port of sqlite_store.cc's SqliteTx: the same statements and row readers in PostgreSQL's dialect
// ($n parameters, RETURNING id, IS NOT DISTINCT FROM, casts where a parameter's type is not
// implied), without the alert time log. A change to one belongs in the other; the conformance
// suite (store_conformance_test.h) checks that they agree.
class PostgresTx final : public Tx {
 public:
  explicit PostgresTx(Connection& db) : db_(db) {}

  void begin(bool writable) {
    active_ = true;
    writable_ = writable;
    begun_ = false;
  }
  void end() { active_ = false; }
  // Whether an SQL transaction was opened: it is, at the first statement, so a transaction that
  // ran no statement costs no round trip.
  bool begun() const { return begun_; }

  Status upsert_alert(const AlertRecord& alert) override {
    return annotate("upsert_alert", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string labels = TOCSIN_TRY(labels_to_json(alert.labels));
      const std::string annotations = TOCSIN_TRY(map_to_json(alert.annotations));
      // NaN is a legitimate sample value, stored as NULL as in the SQLite store.
      std::optional<double> value;
      if (!std::isnan(alert.value)) value = alert.value;
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO alerts (" TOCSIN_ALERT_COLUMNS ") "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
          "ON CONFLICT (fingerprint) DO UPDATE SET rule = excluded.rule, labels = excluded.labels, "
          "annotations = excluded.annotations, state = excluded.state, value = excluded.value, "
          "active_at = excluded.active_at, fired_at = excluded.fired_at, resolved_at = excluded.resolved_at, "
          "updated_at = excluded.updated_at, incident_id = excluded.incident_id, ends_at = excluded.ends_at, "
          "ends_at_from_timeout = excluded.ends_at_from_timeout, generator_url = excluded.generator_url"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(
          to_db(alert.fingerprint), alert.rule, labels, annotations, to_string(alert.state), value,
          to_db(alert.active_at), to_db(alert.fired_at), to_db(alert.resolved_at), to_db(alert.updated_at),
          alert.incident_id, to_db(alert.ends_at), alert.ends_at_from_timeout ? 1 : 0, alert.generator_url));
      return statement->run();
    });
  }

  Status touch_alert(uint64_t fingerprint, std::optional<Timestamp> ends_at, bool ends_at_from_timeout,
                     Timestamp updated_at) override {
    // A plain UPDATE: the SQLite store's alert time log exists to spare SQLite's single writer,
    // and PostgreSQL needs no such help at the rate alerts are re-sent.
    return annotate("touch_alert", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE alerts SET ends_at = $1, ends_at_from_timeout = $2, updated_at = $3 WHERE fingerprint = $4"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(ends_at), ends_at_from_timeout ? 1 : 0, to_db(updated_at),
                                                 to_db(fingerprint)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (statement->changes() == 0) return std::unexpected(missing_alert(fingerprint));
      return core::ok();
    });
  }

  Result<std::optional<AlertRecord>> get_alert(uint64_t fingerprint) override {
    return annotate("get_alert", [&]() -> Result<std::optional<AlertRecord>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ALERT_COLUMNS " FROM alerts WHERE fingerprint = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(fingerprint)));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_alert(*statement));
    });
  }

  Result<std::vector<AlertRecord>> list_alerts(std::optional<AlertState> state) override {
    return annotate("list_alerts", [&]() -> Result<std::vector<AlertRecord>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      std::optional<std::string_view> state_name;
      if (state) state_name = to_string(*state);
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ALERT_COLUMNS
                                              " FROM alerts WHERE $1::text IS NULL OR state = $1 "
                                              "ORDER BY active_at, fingerprint"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(state_name));
      return collect<AlertRecord>(*statement, read_alert);
    });
  }

  Result<int> delete_resolved_alerts(Timestamp before) override {
    return annotate("delete_resolved_alerts", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "DELETE FROM alerts WHERE state = 'resolved' AND incident_id IS NULL AND updated_at < $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(statement->changes());
    });
  }

  Status upsert_silence(const Silence& silence) override {
    return annotate("upsert_silence", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string matchers = TOCSIN_TRY(matchers_to_json(silence.matchers));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO silences (" TOCSIN_SILENCE_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7) "
          "ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at, "
          "ends_at = excluded.ends_at, updated_at = excluded.updated_at, created_by = excluded.created_by, "
          "comment = excluded.comment"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(silence.id, matchers, to_db(silence.starts_at),
                                                 to_db(silence.ends_at), to_db(silence.updated_at),
                                                 silence.created_by, silence.comment));
      return statement->run();
    });
  }

  Result<std::optional<Silence>> get_silence(std::string_view id) override {
    return annotate("get_silence", [&]() -> Result<std::optional<Silence>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_SILENCE_COLUMNS " FROM silences WHERE id = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_silence(*statement));
    });
  }

  Result<std::vector<Silence>> list_silences() override {
    return annotate("list_silences", [&]() -> Result<std::vector<Silence>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_SILENCE_COLUMNS " FROM silences ORDER BY id"));
      return collect<Silence>(*statement, read_silence);
    });
  }

  Result<int> delete_expired_silences(Timestamp before) override {
    return annotate("delete_expired_silences", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM silences WHERE ends_at < $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(statement->changes());
    });
  }

  Result<std::string> silences_version() override {
    return annotate("silences_version", [&]() -> Result<std::string> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT count(*), coalesce(max(updated_at), 0), coalesce(sum(updated_at), 0), coalesce(sum(ends_at), 0) "
          "FROM silences"));
      if (!TOCSIN_TRY(statement->step())) return std::string();
      return fmt::format("{}/{}/{}/{}", statement->column_text(0), statement->column_text(1),
                         statement->column_text(2), statement->column_text(3));
    });
  }

  Result<std::optional<NotificationLogEntry>> get_nflog(std::string_view receiver,
                                                        std::string_view group_key) override {
    return annotate("get_nflog", [&]() -> Result<std::optional<NotificationLogEntry>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(
          prepare("SELECT " TOCSIN_NFLOG_COLUMNS " FROM nflog WHERE receiver = $1 AND group_key = $2"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(receiver, group_key));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_nflog(*statement));
    });
  }

  Status upsert_nflog(const NotificationLogEntry& entry) override {
    return annotate("upsert_nflog", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string firing = TOCSIN_TRY(fingerprints_to_json(entry.firing, "firing"));
      const std::string resolved = TOCSIN_TRY(fingerprints_to_json(entry.resolved, "resolved"));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO nflog (" TOCSIN_NFLOG_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6) "
          "ON CONFLICT (receiver, group_key) DO UPDATE SET firing = excluded.firing, "
          "resolved = excluded.resolved, at = excluded.at, expires_at = excluded.expires_at"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(entry.receiver, entry.group_key, firing, resolved, to_db(entry.at),
                                                 to_db(entry.expires_at)));
      return statement->run();
    });
  }

  Result<std::vector<NotificationLogEntry>> list_nflog() override {
    return annotate("list_nflog", [&]() -> Result<std::vector<NotificationLogEntry>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT " TOCSIN_NFLOG_COLUMNS " FROM nflog ORDER BY receiver, group_key"));
      return collect<NotificationLogEntry>(*statement, read_nflog);
    });
  }

  Result<int> delete_expired_nflog(Timestamp now) override {
    return annotate("delete_expired_nflog", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM nflog WHERE expires_at <= $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(statement->changes());
    });
  }

  Result<int64_t> insert_incident(const Incident& incident) override {
    return annotate("insert_incident", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO incidents (title, plan, severity, status, group_key, opened_at, acknowledged_at, "
          "mitigated_at, resolved_at, closed_at, escalation_policy, escalation_pass, escalation_next_level, "
          "escalation_next_at, drill) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(bind_incident(*statement, incident));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Status update_incident(const Incident& incident) override {
    return annotate("update_incident", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE incidents SET title = $1, plan = $2, severity = $3, status = $4, group_key = $5, "
          "opened_at = $6, acknowledged_at = $7, mitigated_at = $8, resolved_at = $9, closed_at = $10, "
          "escalation_policy = $11, escalation_pass = $12, escalation_next_level = $13, "
          "escalation_next_at = $14, drill = $15 WHERE id = $16"));
      TOCSIN_RETURN_IF_ERROR(bind_incident(*statement, incident));
      TOCSIN_RETURN_IF_ERROR(statement->bind(16, incident.id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (statement->changes() == 0) {
        return std::unexpected(Error::not_found(fmt::format("incident {} does not exist", incident.id)));
      }
      return core::ok();
    });
  }

  Result<std::optional<Incident>> get_incident(int64_t id) override {
    return annotate("get_incident", [&]() -> Result<std::optional<Incident>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      std::optional<Incident> incident;
      {
        auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_INCIDENT_COLUMNS " FROM incidents WHERE id = $1"));
        TOCSIN_RETURN_IF_ERROR(statement->bind_all(id));
        if (!TOCSIN_TRY(statement->step())) return std::nullopt;
        incident = TOCSIN_TRY(read_incident(*statement));
      }
      TOCSIN_RETURN_IF_ERROR(load_details(*incident));
      return incident;
    });
  }

  Result<std::vector<Incident>> list_incidents(const IncidentFilter& filter) override {
    return annotate("list_incidents", [&]() -> Result<std::vector<Incident>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      TOCSIN_RETURN_IF_ERROR(check_limit(filter.limit));
      std::optional<std::string_view> status;
      if (filter.status) status = to_string(*filter.status);
      std::vector<Incident> incidents;
      {
        auto statement = TOCSIN_TRY(prepare(
            "SELECT " TOCSIN_INCIDENT_COLUMNS " FROM incidents "
            "WHERE ($1::text IS NULL OR status = $1) AND ($2::text = '' OR plan = $2) "
            "AND ($3::bigint IS NULL OR opened_at >= $3) AND ($5::bigint IS NULL OR opened_at < $5) "
            "ORDER BY opened_at DESC, id DESC LIMIT $4"));
        TOCSIN_RETURN_IF_ERROR(
            statement->bind_all(status, filter.plan, to_db(filter.since), filter.limit, to_db(filter.until)));
        incidents = TOCSIN_TRY(collect<Incident>(*statement, read_incident));
      }
      if (filter.with_details) {
        for (auto& incident : incidents) TOCSIN_RETURN_IF_ERROR(load_details(incident));
      }
      return incidents;
    });
  }

  Result<std::optional<Incident>> find_open_incident(std::string_view group_key) override {
    return annotate("find_open_incident", [&]() -> Result<std::optional<Incident>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      std::optional<Incident> incident;
      {
        auto statement = TOCSIN_TRY(prepare(
            "SELECT " TOCSIN_INCIDENT_COLUMNS " FROM incidents "
            "WHERE group_key = $1 AND status NOT IN ('resolved', 'closed') "
            "ORDER BY opened_at DESC, id DESC LIMIT 1"));
        TOCSIN_RETURN_IF_ERROR(statement->bind_all(group_key));
        if (!TOCSIN_TRY(statement->step())) return std::nullopt;
        incident = TOCSIN_TRY(read_incident(*statement));
      }
      TOCSIN_RETURN_IF_ERROR(load_details(*incident));
      return incident;
    });
  }

  Result<std::vector<Incident>> incidents_due_for_escalation(Timestamp now, int limit) override {
    return annotate("incidents_due_for_escalation", [&]() -> Result<std::vector<Incident>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      TOCSIN_RETURN_IF_ERROR(check_limit(limit));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT " TOCSIN_INCIDENT_COLUMNS " FROM incidents "
          "WHERE status = 'triggered' AND escalation_next_at IS NOT NULL AND escalation_next_at <= $1 "
          "ORDER BY escalation_next_at, id LIMIT $2"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now), limit));
      return collect<Incident>(*statement, read_incident);
    });
  }

  Status upsert_incident_alert(int64_t incident_id, const IncidentAlert& alert) override {
    return annotate("upsert_incident_alert", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string labels = TOCSIN_TRY(labels_to_json(alert.labels));
      // added_at keeps the time the alert first joined: an update (say, to resolved) leaves it, so
      // the incident's alerts stay in the order they arrived.
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO incident_alerts (incident_id, fingerprint, labels, status, added_at) "
          "VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (incident_id, fingerprint) DO UPDATE SET labels = excluded.labels, status = excluded.status"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident_id, to_db(alert.fingerprint), labels,
                                                 to_string(alert.status), to_db(alert.added_at)));
      return statement->run();
    });
  }

  Status insert_task(int64_t incident_id, const Task& task) override {
    return annotate("insert_task", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO tasks (ord, title, owner, assignee, due_at, status, done_at, done_by, overdue_at, incident_id, "
          "step) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"));
      TOCSIN_RETURN_IF_ERROR(bind_task(*statement, incident_id, task));
      return statement->run();
    });
  }

  Status update_task(int64_t incident_id, const Task& task) override {
    return annotate("update_task", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE tasks SET ord = $1, title = $2, owner = $3, assignee = $4, due_at = $5, status = $6, "
          "done_at = $7, done_by = $8, overdue_at = $9 WHERE incident_id = $10 AND step = $11"));
      TOCSIN_RETURN_IF_ERROR(bind_task(*statement, incident_id, task));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (statement->changes() == 0) {
        return std::unexpected(
            Error::not_found(fmt::format("task \"{}\" of incident {} does not exist", task.step, incident_id)));
      }
      return core::ok();
    });
  }

  Result<std::vector<std::pair<int64_t, Task>>> overdue_tasks(Timestamp now, int limit) override {
    return annotate("overdue_tasks", [&]() -> Result<std::vector<std::pair<int64_t, Task>>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT t.step, t.ord, t.title, t.owner, t.assignee, t.due_at, t.status, t.done_at, t.done_by, "
          "t.overdue_at, t.incident_id FROM tasks t JOIN incidents i ON i.id = t.incident_id "
          "WHERE t.status = 'open' AND t.overdue_at IS NULL AND t.due_at <= $1 "
          "AND i.status IN ('triggered', 'acknowledged', 'mitigated') ORDER BY t.due_at, t.incident_id, t.ord "
          "LIMIT $2"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now), limit));
      return collect<std::pair<int64_t, Task>>(
          *statement, [](const Statement& row) -> Result<std::pair<int64_t, Task>> {
            const int64_t incident_id = row.column_int64(10);
            return std::make_pair(incident_id, TOCSIN_TRY(read_task(row, incident_id)));
          });
    });
  }

  Result<std::optional<Timestamp>> next_task_due() override {
    return annotate("next_task_due", [&]() -> Result<std::optional<Timestamp>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT MIN(t.due_at) FROM tasks t JOIN incidents i ON i.id = t.incident_id "
          "WHERE t.status = 'open' AND t.overdue_at IS NULL "
          "AND i.status IN ('triggered', 'acknowledged', 'mitigated')"));
      return min_time(*statement);
    });
  }

  Status insert_link(int64_t a, int64_t b, Timestamp at) override {
    return annotate("insert_link", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO incident_links (incident_a, incident_b, created_at) VALUES ($1, $2, $3) "
          "ON CONFLICT DO NOTHING"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(std::min(a, b), std::max(a, b), to_db(at)));
      return statement->run();
    });
  }

  Status upsert_clock(const IncidentClock& c) override {
    return annotate("upsert_clock", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO incident_clocks (incident_id, name, started_at, next_at, fired) VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (incident_id, name) DO UPDATE SET started_at = excluded.started_at, "
          "next_at = excluded.next_at, fired = excluded.fired"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(c.incident_id, c.name, to_db(c.started_at), to_db(c.next_at), c.fired));
      return statement->run();
    });
  }

  Result<std::vector<IncidentClock>> due_clocks(Timestamp now, int limit) override {
    return annotate("due_clocks", [&]() -> Result<std::vector<IncidentClock>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT incident_id, name, started_at, next_at, fired FROM incident_clocks "
          "WHERE next_at IS NOT NULL AND next_at <= $1 ORDER BY next_at, incident_id, name LIMIT $2"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now), limit));
      return collect<IncidentClock>(*statement, read_clock);
    });
  }

  Result<std::optional<Timestamp>> next_clock_due() override {
    return annotate("next_clock_due", [&]() -> Result<std::optional<Timestamp>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT MIN(next_at) FROM incident_clocks WHERE next_at IS NOT NULL"));
      return min_time(*statement);
    });
  }

  Result<int64_t> append_timeline(const TimelineEvent& event) override {
    return annotate("append_timeline", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO timeline (incident_id, at, kind, actor, detail) VALUES ($1, $2, $3, $4, $5) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(
          statement->bind_all(event.incident_id, to_db(event.at), event.kind, event.actor, event.detail));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Status insert_action_run(const ActionRun& run) override {
    return annotate("insert_action_run", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO action_runs (" TOCSIN_ACTION_RUN_COLUMNS
          ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"));
      TOCSIN_RETURN_IF_ERROR(bind_action_run(*statement, run));
      return statement->run();
    });
  }

  Status update_action_run(const ActionRun& run) override {
    return annotate("update_action_run", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE action_runs SET type = $3, state = $4, attempts = $5, created_at = $6, next_attempt_at = $7, "
          "started_at = $8, finished_at = $9, approved_by = $10, approved_at = $11, request = $12, "
          "last_result = $13, last_output = $14 WHERE incident_id = $1 AND step = $2"));
      TOCSIN_RETURN_IF_ERROR(bind_action_run(*statement, run));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (statement->changes() == 0) {
        return std::unexpected(Error::not_found(
            fmt::format("action of step \"{}\" of incident {} does not exist", run.step, run.incident_id)));
      }
      return core::ok();
    });
  }

  Result<std::optional<ActionRun>> get_action_run(int64_t incident_id, std::string_view step) override {
    return annotate("get_action_run", [&]() -> Result<std::optional<ActionRun>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ACTION_RUN_COLUMNS
                                              " FROM action_runs WHERE incident_id = $1 AND step = $2"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident_id, step));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_action_run(*statement));
    });
  }

  Result<std::vector<ActionRun>> list_action_runs(ActionState state) override {
    return annotate("list_action_runs", [&]() -> Result<std::vector<ActionRun>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ACTION_RUN_COLUMNS
                                              " FROM action_runs WHERE state = $1 ORDER BY incident_id, step"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_string(state)));
      return collect<ActionRun>(*statement, read_action_run);
    });
  }

  Result<std::vector<ActionRun>> due_action_runs(Timestamp now, int limit) override {
    return annotate("due_action_runs", [&]() -> Result<std::vector<ActionRun>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      TOCSIN_RETURN_IF_ERROR(check_limit(limit));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ACTION_RUN_COLUMNS
                                              " FROM action_runs WHERE state = 'pending' AND next_attempt_at <= $1 "
                                              "ORDER BY next_attempt_at, incident_id, step LIMIT $2"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now), limit));
      return collect<ActionRun>(*statement, read_action_run);
    });
  }

  Result<std::optional<Timestamp>> next_action_run_due() override {
    return annotate("next_action_run_due", [&]() -> Result<std::optional<Timestamp>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT MIN(next_attempt_at) FROM action_runs WHERE state = 'pending'"));
      return min_time(*statement);
    });
  }

  Result<int64_t> insert_notification(const Notification& n) override {
    return annotate("insert_notification", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO notifications (incident_id, target, channel, address, payload, status, attempts, "
          "created_at, next_attempt_at, last_error, dedup_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(bind_notification(*statement, n));
      TOCSIN_RETURN_IF_ERROR(
          statement->bind(11, n.dedup_key.empty() ? std::optional<std::string>() : std::optional(n.dedup_key)));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Status update_notification(const Notification& n) override {
    return annotate("update_notification", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE notifications SET incident_id = $1, target = $2, channel = $3, address = $4, payload = $5, "
          "status = $6, attempts = $7, created_at = $8, next_attempt_at = $9, last_error = $10 WHERE id = $11"));
      TOCSIN_RETURN_IF_ERROR(bind_notification(*statement, n));
      TOCSIN_RETURN_IF_ERROR(statement->bind(11, n.id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (statement->changes() == 0) {
        return std::unexpected(Error::not_found(fmt::format("notification {} does not exist", n.id)));
      }
      return core::ok();
    });
  }

  Result<std::vector<Notification>> due_notifications(Timestamp now, int limit) override {
    return annotate("due_notifications", [&]() -> Result<std::vector<Notification>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      TOCSIN_RETURN_IF_ERROR(check_limit(limit));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_NOTIFICATION_COLUMNS
                                              " FROM notifications "
                                              "WHERE status = 'pending' AND next_attempt_at <= $1 "
                                              "ORDER BY next_attempt_at, id LIMIT $2"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now), limit));
      return collect<Notification>(*statement, read_notification);
    });
  }

  Result<std::optional<Timestamp>> next_notification_due() override {
    return annotate("next_notification_due", [&]() -> Result<std::optional<Timestamp>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT MIN(next_attempt_at) FROM notifications WHERE status = 'pending'"));
      return min_time(*statement);
    });
  }

  Result<std::optional<Timestamp>> next_notification_due_after(Timestamp after) override {
    return annotate("next_notification_due_after", [&]() -> Result<std::optional<Timestamp>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT MIN(next_attempt_at) FROM notifications WHERE status = 'pending' AND next_attempt_at > $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(after)));
      return min_time(*statement);
    });
  }

  Result<std::vector<NotificationBacklog>> notification_backlog() override {
    return annotate("notification_backlog", [&]() -> Result<std::vector<NotificationBacklog>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT channel, COUNT(*), MIN(created_at) FROM notifications WHERE status = 'pending' "
          "GROUP BY channel ORDER BY channel"));
      return collect<NotificationBacklog>(*statement, [](const auto& row) -> Result<NotificationBacklog> {
        return NotificationBacklog{row.column_text(0), row.column_int64(1), time_from_db(row.column_int64(2))};
      });
    });
  }

  Result<std::vector<Notification>> list_notifications(int64_t incident_id) override {
    return annotate("list_notifications", [&]() -> Result<std::vector<Notification>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT " TOCSIN_NOTIFICATION_COLUMNS " FROM notifications WHERE incident_id IS NOT DISTINCT FROM $1 ORDER BY id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident_ref_to_db(incident_id)));
      return collect<Notification>(*statement, read_notification);
    });
  }

  Result<int64_t> insert_attempt(const NotificationAttempt& a) override {
    return annotate("insert_attempt", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO notification_attempts (notification_id, at, ok, status_code, error, latency_ms) "
          "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(a.notification_id, to_db(a.at), a.ok ? 1 : 0, a.status_code,
                                                 a.error, static_cast<int64_t>(a.latency.count())));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Result<std::vector<NotificationAttempt>> list_attempts(int64_t notification_id) override {
    return annotate("list_attempts", [&]() -> Result<std::vector<NotificationAttempt>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT id, notification_id, at, ok, status_code, error, latency_ms FROM notification_attempts "
          "WHERE notification_id = $1 ORDER BY id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(notification_id));
      return collect<NotificationAttempt>(*statement, [](const Statement& row) -> Result<NotificationAttempt> {
        NotificationAttempt a;
        a.id = row.column_int64(0);
        a.notification_id = row.column_int64(1);
        a.at = time_from_db(row.column_int64(2));
        a.ok = row.column_int64(3) != 0;
        a.status_code = static_cast<int>(row.column_int64(4));
        a.error = row.column_text(5);
        a.latency = Duration(row.column_int64(6));
        return a;
      });
    });
  }

  Result<std::optional<Timestamp>> next_escalation_due() override {
    return annotate("next_escalation_due", [&]() -> Result<std::optional<Timestamp>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT MIN(escalation_next_at) FROM incidents "
          "WHERE status = 'triggered' AND escalation_next_at IS NOT NULL"));
      return min_time(*statement);
    });
  }

  Result<int64_t> insert_drill_run(const DrillRun& run) override {
    return annotate("insert_drill_run", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      TOCSIN_RETURN_IF_ERROR(validate_drill_run(run));
      const std::string participants = TOCSIN_TRY(strings_to_json(run.participants, "participants"));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO drill_runs (scenario, plan, mode, seed, participants, started_at, finished_at, ran_at, score, "
          "passed, scorecard, live_drill) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(run.scenario, run.plan, run.mode, to_db(run.seed), participants,
                                                 to_db(run.started_at), to_db(run.finished_at), to_db(run.ran_at),
                                                 run.score, run.passed ? 1 : 0, run.scorecard_json, run.live_drill));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Result<std::optional<DrillRun>> get_drill_run(int64_t id) override {
    return annotate("get_drill_run", [&]() -> Result<std::optional<DrillRun>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_DRILL_RUN_COLUMNS ", scorecard FROM drill_runs WHERE id = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_drill_run(*statement, true));
    });
  }

  Result<std::vector<DrillRun>> list_drill_runs(const DrillRunFilter& filter) override {
    return annotate("list_drill_runs", [&]() -> Result<std::vector<DrillRun>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      TOCSIN_RETURN_IF_ERROR(check_limit(filter.limit));
      // The scorecard column is read only when asked: it is the bulk of a row.
      auto statement = TOCSIN_TRY(prepare(
          "SELECT " TOCSIN_DRILL_RUN_COLUMNS ", CASE WHEN $5 THEN scorecard ELSE '' END FROM drill_runs "
          "WHERE ($1::text = '' OR plan = $1) AND ($2::text = '' OR scenario = $2) AND ($3::bigint IS NULL OR ran_at >= $3) "
          "ORDER BY ran_at DESC, id DESC LIMIT $4"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(filter.plan, filter.scenario, to_db(filter.since), filter.limit,
                                                 filter.with_scorecard ? 1 : 0));
      return collect<DrillRun>(*statement,
                               [&](const Statement& row) { return read_drill_run(row, filter.with_scorecard); });
    });
  }

  Result<std::map<std::string, Timestamp>> last_drill_runs() override {
    return annotate("last_drill_runs", [&]() -> Result<std::map<std::string, Timestamp>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT plan, MAX(ran_at) FROM drill_runs GROUP BY plan"));
      std::map<std::string, Timestamp> out;
      while (TOCSIN_TRY(statement->step())) out.emplace(statement->column_text(0), time_from_db(statement->column_int64(1)));
      return out;
    });
  }

  Result<int64_t> insert_live_drill(const LiveDrill& drill) override {
    return annotate("insert_live_drill", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string participants = TOCSIN_TRY(strings_to_json(drill.participants, "participants"));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO live_drills (scenario, plan, participants, started_at, finished_at, started_by, finished_by, "
          "run, scenario_yaml) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(drill.scenario, drill.plan, participants, to_db(drill.started_at),
                                                 to_db(drill.finished_at), drill.started_by, drill.finished_by,
                                                 drill.run, drill.scenario_yaml));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Status update_live_drill(const LiveDrill& drill) override {
    return annotate("update_live_drill", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string participants = TOCSIN_TRY(strings_to_json(drill.participants, "participants"));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE live_drills SET scenario = $1, plan = $2, participants = $3, started_at = $4, finished_at = $5, "
          "started_by = $6, finished_by = $7, run = $8, scenario_yaml = $9 WHERE id = $10"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(drill.scenario, drill.plan, participants, to_db(drill.started_at),
                                                 to_db(drill.finished_at), drill.started_by, drill.finished_by,
                                                 drill.run, drill.scenario_yaml, drill.id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (statement->changes() == 0) {
        return std::unexpected(Error::not_found(fmt::format("live drill {} does not exist", drill.id)));
      }
      return core::ok();
    });
  }

  Result<std::optional<LiveDrill>> get_live_drill(int64_t id) override {
    return annotate("get_live_drill", [&]() -> Result<std::optional<LiveDrill>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_LIVE_DRILL_COLUMNS " FROM live_drills WHERE id = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_live_drill(*statement));
    });
  }

  Result<std::vector<LiveDrill>> list_live_drills(bool running_only) override {
    return annotate("list_live_drills", [&]() -> Result<std::vector<LiveDrill>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_LIVE_DRILL_COLUMNS
                                              " FROM live_drills WHERE $1::integer = 0 OR finished_at IS NULL "
                                              "ORDER BY started_at DESC, id DESC"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(running_only ? 1 : 0));
      return collect<LiveDrill>(*statement, read_live_drill);
    });
  }

  Result<std::optional<Postmortem>> get_postmortem(int64_t incident_id) override {
    return annotate("get_postmortem", [&]() -> Result<std::optional<Postmortem>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT " TOCSIN_POSTMORTEM_COLUMNS " FROM postmortems WHERE incident_id = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident_id));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_postmortem(*statement));
    });
  }

  Status upsert_postmortem(const Postmortem& pm) override {
    return annotate("upsert_postmortem", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      TOCSIN_RETURN_IF_ERROR(require_incident(pm.incident_id));
      const PostmortemFields& f = pm.fields;
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO postmortems (" TOCSIN_POSTMORTEM_COLUMNS ") "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
          "ON CONFLICT (incident_id) DO UPDATE SET summary = excluded.summary, impact = excluded.impact, "
          "root_cause = excluded.root_cause, contributing_factors = excluded.contributing_factors, "
          "went_well = excluded.went_well, went_badly = excluded.went_badly, lessons = excluded.lessons, "
          "updated_at = excluded.updated_at, updated_by = excluded.updated_by, "
          "completed_at = excluded.completed_at, completed_by = excluded.completed_by"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(pm.incident_id, f.summary, f.impact, f.root_cause,
                                                 f.contributing_factors, f.went_well, f.went_badly, f.lessons,
                                                 to_db(pm.updated_at), pm.updated_by, to_db(pm.completed_at),
                                                 pm.completed_by));
      return statement->run();
    });
  }

  Result<int64_t> insert_action_item(const ActionItem& item) override {
    return annotate("insert_action_item", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      TOCSIN_RETURN_IF_ERROR(require_incident(item.incident_id));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO action_items (incident_id, title, owner, due_at, status, created_at, created_by, done_at, "
          "done_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(item.incident_id, item.title, item.owner, to_db(item.due_at),
                                                 to_string(item.status), to_db(item.created_at), item.created_by,
                                                 to_db(item.done_at), item.done_by));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Status update_action_item(const ActionItem& item) override {
    return annotate("update_action_item", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE action_items SET incident_id = $1, title = $2, owner = $3, due_at = $4, status = $5, "
          "created_at = $6, created_by = $7, done_at = $8, done_by = $9 WHERE id = $10"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(item.incident_id, item.title, item.owner, to_db(item.due_at),
                                                 to_string(item.status), to_db(item.created_at), item.created_by,
                                                 to_db(item.done_at), item.done_by, item.id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (statement->changes() == 0) {
        return std::unexpected(Error::not_found(fmt::format("action item {} does not exist", item.id)));
      }
      return core::ok();
    });
  }

  Result<std::optional<ActionItem>> get_action_item(int64_t id) override {
    return annotate("get_action_item", [&]() -> Result<std::optional<ActionItem>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ACTION_ITEM_COLUMNS " FROM action_items WHERE id = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_action_item(*statement));
    });
  }

  Result<std::vector<ActionItem>> list_action_items(const ActionItemFilter& filter) override {
    return annotate("list_action_items", [&]() -> Result<std::vector<ActionItem>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      TOCSIN_RETURN_IF_ERROR(check_limit(filter.limit));
      std::optional<std::string_view> status;
      if (filter.status) status = to_string(*filter.status);
      auto statement = TOCSIN_TRY(prepare(
          "SELECT " TOCSIN_ACTION_ITEM_COLUMNS " FROM action_items "
          "WHERE ($1::bigint IS NULL OR incident_id = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text = '' OR owner = $3) "
          "AND ($4::bigint IS NULL OR due_at < $4) ORDER BY due_at, id LIMIT $5"));
      TOCSIN_RETURN_IF_ERROR(
          statement->bind_all(filter.incident, status, filter.owner, to_db(filter.due_before), filter.limit));
      return collect<ActionItem>(*statement, read_action_item);
    });
  }

  Result<ActionItemCounts> count_action_items(Timestamp now) override {
    return annotate("count_action_items", [&]() -> Result<ActionItemCounts> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT COUNT(*), COALESCE(SUM(CASE WHEN due_at < $1 THEN 1 ELSE 0 END), 0) FROM action_items WHERE status = 'open'"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now)));
      ActionItemCounts counts;
      if (TOCSIN_TRY(statement->step())) {
        counts.open = statement->column_int64(0);
        counts.overdue = statement->column_int64(1);
      }
      return counts;
    });
  }

  Result<int64_t> insert_alert_firing(const AlertFiring& f) override {
    return annotate("insert_alert_firing", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string silenced_by = TOCSIN_TRY(strings_to_json(f.silenced_by, "silenced_by"));
      auto statement = TOCSIN_TRY(
          prepare("INSERT INTO alert_firings (fingerprint, at, alertname, service, severity, plan, drill, silenced_by, "
                  "inhibited) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(f.fingerprint), to_db(f.at), f.alertname, f.service, f.severity,
                                                 f.plan, f.drill, silenced_by, f.inhibited ? 1 : 0));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Result<std::vector<AlertFiring>> list_alert_firings(Timestamp since, Timestamp until) override {
    return annotate("list_alert_firings", [&]() -> Result<std::vector<AlertFiring>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(
          prepare("SELECT id, fingerprint, at, alertname, service, severity, plan, drill, silenced_by, inhibited "
                  "FROM alert_firings WHERE at >= $1 AND at < $2 ORDER BY at, id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(since), to_db(until)));
      return collect<AlertFiring>(*statement, [](const Statement& row) -> Result<AlertFiring> {
        AlertFiring f;
        f.id = row.column_int64(0);
        f.fingerprint = fingerprint_from_db(row.column_int64(1));
        f.at = time_from_db(row.column_int64(2));
        f.alertname = row.column_text(3);
        f.service = row.column_text(4);
        f.severity = row.column_text(5);
        f.plan = row.column_text(6);
        f.drill = row.column_text(7);
        // Most firings are not silenced: "[]" needs no JSON parser (a read of a month's firings
        // for /metrics goes through here row by row).
        if (std::string text = row.column_text(8); text != "[]") f.silenced_by = TOCSIN_TRY(strings_from_json(text));
        f.inhibited = row.column_int64(9) != 0;
        return f;
      });
    });
  }

  Result<int> delete_alert_firings(Timestamp before) override {
    return annotate("delete_alert_firings", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM alert_firings WHERE at < $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(statement->changes());
    });
  }

  Result<int64_t> append_audit(const AuditEntry& e) override {
    return annotate("append_audit", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      if (e.action.empty()) return std::unexpected(Error::invalid_argument("expected an action").field("action"));
      auto statement = TOCSIN_TRY(
          prepare("INSERT INTO audit_log (at, actor, action, object, detail, source) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(e.at), e.actor, e.action, e.object, e.detail, e.source));
      if (!TOCSIN_TRY(statement->step())) return std::unexpected(Error::internal("INSERT returned no id"));
      return statement->column_int64(0);
    });
  }

  Result<std::vector<AuditEntry>> list_audit(const AuditFilter& filter) override {
    return annotate("list_audit", [&]() -> Result<std::vector<AuditEntry>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      if (filter.limit) TOCSIN_RETURN_IF_ERROR(check_limit(*filter.limit));
      // The action prefix is compared with substr, not LIKE: an action holding % or _ matches
      // only itself. LIMIT NULL is no limit.
      auto statement =
          TOCSIN_TRY(prepare("SELECT id, at, actor, action, object, detail, source FROM audit_log "
                             "WHERE ($1::bigint IS NULL OR at >= $1) AND ($2::bigint IS NULL OR at < $2) AND ($3::text = '' OR actor = $3) "
                             "AND ($4::text = '' OR left(action, length($4::text)) = $4) ORDER BY at, id LIMIT $5"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(filter.since), to_db(filter.until), filter.actor, filter.action,
                                                 filter.limit));
      return collect<AuditEntry>(*statement, [](const Statement& row) -> Result<AuditEntry> {
        return AuditEntry{row.column_int64(0), time_from_db(row.column_int64(1)),
                          row.column_text(2),  row.column_text(3),
                          row.column_text(4),  row.column_text(5),
                          row.column_text(6)};
      });
    });
  }

  Status insert_session(const Session& e) override {
    return annotate("insert_session", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(
          prepare("INSERT INTO sessions (id_sha256, token_name, token_check, role, csrf_token, created_at, last_seen_at, "
                  "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(e.id_sha256, e.token_name, e.token_check, e.role, e.csrf_token,
                                                 to_db(e.created_at), to_db(e.last_seen_at), to_db(e.expires_at)));
      return statement->run();
    });
  }

  Result<std::optional<Session>> get_session(std::string_view id_sha256) override {
    return annotate("get_session", [&]() -> Result<std::optional<Session>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT id_sha256, token_name, token_check, role, csrf_token, created_at, "
                                          "last_seen_at, expires_at FROM sessions WHERE id_sha256 = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id_sha256));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return Session{statement->column_text(0),
                     statement->column_text(1),
                     statement->column_text(2),
                     statement->column_text(3),
                     statement->column_text(4),
                     time_from_db(statement->column_int64(5)),
                     time_from_db(statement->column_int64(6)),
                     time_from_db(statement->column_int64(7))};
    });
  }

  Status touch_session(std::string_view id_sha256, Timestamp last_seen_at) override {
    return annotate("touch_session", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("UPDATE sessions SET last_seen_at = $2 WHERE id_sha256 = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id_sha256, to_db(last_seen_at)));
      return statement->run();
    });
  }

  Result<bool> delete_session(std::string_view id_sha256) override {
    return annotate("delete_session", [&]() -> Result<bool> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM sessions WHERE id_sha256 = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id_sha256));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return statement->changes() > 0;
    });
  }

  Result<int> delete_expired_sessions(Timestamp now) override {
    return annotate("delete_expired_sessions", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM sessions WHERE expires_at <= $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(statement->changes());
    });
  }

  Result<std::optional<Lease>> get_lease(std::string_view name) override {
    return annotate("get_lease", [&]() -> Result<std::optional<Lease>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT name, holder, epoch, acquired_at, expires_at FROM leases WHERE name = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(name));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return read_lease(*statement);
    });
  }

  Status put_lease(const Lease& lease) override {
    return annotate("put_lease", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO leases (name, holder, epoch, acquired_at, expires_at) VALUES ($1, $2, $3, $4, $5) "
          "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, "
          "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(lease.name, lease.holder, lease.epoch, to_db(lease.acquired_at),
                                                 to_db(lease.expires_at)));
      return statement->run();
    });
  }

  Result<std::vector<Lease>> list_leases() override {
    return annotate("list_leases", [&]() -> Result<std::vector<Lease>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT name, holder, epoch, acquired_at, expires_at FROM leases ORDER BY name"));
      return collect<Lease>(*statement, read_lease);
    });
  }

  Status heartbeat_replica(const Replica& replica) override {
    return annotate("heartbeat_replica", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO replicas (id, address, started_at, heartbeat_at) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (id) DO UPDATE SET address = excluded.address, started_at = excluded.started_at, "
          "heartbeat_at = excluded.heartbeat_at"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(replica.id, replica.address, to_db(replica.started_at),
                                                 to_db(replica.heartbeat_at)));
      return statement->run();
    });
  }

  Result<std::vector<Replica>> list_replicas() override {
    return annotate("list_replicas", [&]() -> Result<std::vector<Replica>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT id, address, started_at, heartbeat_at FROM replicas ORDER BY id"));
      return collect<Replica>(*statement, [](const Statement& row) -> Result<Replica> {
        return Replica{row.column_text(0), row.column_text(1), time_from_db(row.column_int64(2)),
                       time_from_db(row.column_int64(3))};
      });
    });
  }

  Result<bool> delete_replica(std::string_view id) override {
    return annotate("delete_replica", [&]() -> Result<bool> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM replicas WHERE id = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return statement->changes() > 0;
    });
  }

  Result<int> delete_stale_replicas(Timestamp before) override {
    return annotate("delete_stale_replicas", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM replicas WHERE heartbeat_at < $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      const auto deleted = static_cast<int>(statement->changes());
      auto states = TOCSIN_TRY(prepare(
          "DELETE FROM detector_states WHERE saved_at < $1 "
          "AND NOT EXISTS (SELECT 1 FROM replicas WHERE replicas.id = detector_states.replica_id)"));
      TOCSIN_RETURN_IF_ERROR(states->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(states->run());
      return deleted;
    });
  }

  Status put_detector_state(std::string_view replica_id, Timestamp saved_at, std::string_view state) override {
    return annotate("put_detector_state", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO detector_states (replica_id, saved_at, state) VALUES ($1, $2, decode($3, 'hex')) "
          "ON CONFLICT (replica_id) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(replica_id, to_db(saved_at), hex_encode(state)));
      return statement->run();
    });
  }

  Result<std::vector<DetectorState>> list_detector_states() override {
    return annotate("list_detector_states", [&]() -> Result<std::vector<DetectorState>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(
          prepare("SELECT replica_id, saved_at, encode(state, 'hex') FROM detector_states ORDER BY replica_id"));
      return collect<DetectorState>(*statement, detector_state_row);
    });
  }

  Result<std::vector<DetectorState>> list_detector_states_saved_after(Timestamp after) override {
    return annotate("list_detector_states_saved_after", [&]() -> Result<std::vector<DetectorState>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT replica_id, saved_at, encode(state, 'hex') FROM detector_states WHERE saved_at > $1 "
          "ORDER BY replica_id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(after)));
      return collect<DetectorState>(*statement, detector_state_row);
    });
  }

  static Result<DetectorState> detector_state_row(const Statement& row) {
    auto state = hex_decode(row.column_text(2));
    if (!state) {
      return std::unexpected(
          Error::internal(fmt::format("detector state of replica {}: not hex from encode()", row.column_text(0))));
    }
    return DetectorState{row.column_text(0), time_from_db(row.column_int64(1)), std::move(*state)};
  }

  Result<bool> delete_detector_state(std::string_view replica_id) override {
    return annotate("delete_detector_state", [&]() -> Result<bool> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM detector_states WHERE replica_id = $1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(replica_id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return statement->changes() > 0;
    });
  }

  Result<std::vector<IncidentClock>> list_clocks() override {
    return annotate("list_clocks", [&]() -> Result<std::vector<IncidentClock>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT incident_id, name, started_at, next_at, fired FROM incident_clocks ORDER BY incident_id, name"));
      return collect<IncidentClock>(*statement, read_clock);
    });
  }

 private:
  // Every statement of a Tx goes through here, never db_.prepare: the SQL transaction begins at
  // the first statement, and a statement run past this would run in autocommit — outside the
  // transaction, surviving its rollback.
  // Parameters that a statement only tests for NULL or '' carry a cast: PostgreSQL infers each
  // parameter's type from where it first appears, and "$1 IS NULL" alone says nothing.
  Result<std::unique_ptr<Statement>> prepare(std::string_view sql) {
    if (!begun_) {
      // Writes are SERIALIZABLE: the engine reads, decides and writes in one transaction
      // (find_open_incident, then insert_incident) assuming nothing changes in between, which the
      // SQLite store gives by running one transaction at a time. Several tocsin processes on one
      // database get the same guarantee, or a retryable `unavailable` (40001) to try again.
      // Reads are REPEATABLE READ, READ ONLY: one snapshot for every statement, never an abort.
      TOCSIN_RETURN_IF_ERROR(db_.exec(writable_ ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                                                : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
      begun_ = true;
    }
    return db_.prepare(sql);
  }

  // not_found naming the incident, for rows that belong to one (the foreign key would only say
  // "FOREIGN KEY constraint failed").
  Status require_incident(int64_t incident_id) {
    auto statement = TOCSIN_TRY(prepare("SELECT 1 FROM incidents WHERE id = $1"));
    TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident_id));
    if (!TOCSIN_TRY(statement->step())) {
      return std::unexpected(Error::not_found(fmt::format("incident {} does not exist", incident_id)));
    }
    return core::ok();
  }

  static Error missing_alert(uint64_t fingerprint) {
    return Error::not_found(fmt::format("alert {} does not exist", core::fingerprint_hex(fingerprint)));
  }

  // Using a Tx after its transaction ended, or writing through the Tx of a read(), is a bug in the
  // caller; release builds get an internal error instead of a silently wrong write.
  Status check(bool writes) const {
    assert(active_ && "store::Tx used after its transaction ended");
    assert((writable_ || !writes) && "store::Tx of Store::read() used to write");
    if (!active_) return std::unexpected(Error::internal("store::Tx used after its transaction ended"));
    if (writes && !writable_) return std::unexpected(Error::internal("store::Tx of Store::read() used to write"));
    return core::ok();
  }

  static Status bind_incident(Statement& statement, const Incident& i) {
    return statement.bind_all(i.title, i.plan, i.severity, to_string(i.status), i.group_key, to_db(i.opened_at),
                              to_db(i.acknowledged_at), to_db(i.mitigated_at), to_db(i.resolved_at),
                              to_db(i.closed_at), i.escalation_policy, i.escalation_pass,
                              i.escalation_next_level, to_db(i.escalation_next_at), i.drill);
  }

  static Status bind_task(Statement& statement, int64_t incident_id, const Task& t) {
    return statement.bind_all(t.ord, t.title, t.owner, t.assignee, to_db(t.due_at), to_string(t.status),
                              to_db(t.done_at), t.done_by, to_db(t.overdue_at), incident_id, t.step);
  }

  // Columns: step, ord, title, owner, assignee, due_at, status, done_at, done_by, overdue_at.
  static Result<Task> read_task(const Statement& row, int64_t incident_id) {
    Task task;
    task.step = row.column_text(0);
    task.ord = static_cast<int>(row.column_int64(1));
    task.title = row.column_text(2);
    task.owner = row.column_text(3);
    task.assignee = row.column_text(4);
    task.due_at = time_from_db(row.column_int64(5));
    auto status = parse_task_status(row.column_text(6));
    if (!status) {
      return std::unexpected(
          corrupt(fmt::format("incident {} task \"{}\" status", incident_id, task.step), status.error()));
    }
    task.status = *status;
    task.done_at = time_from_db(row.column_optional_int64(7));
    task.done_by = row.column_text(8);
    task.overdue_at = time_from_db(row.column_optional_int64(9));
    return task;
  }

  // Columns: incident_id, name, started_at, next_at, fired.
  static Result<IncidentClock> read_clock(const Statement& row) {
    IncidentClock c;
    c.incident_id = row.column_int64(0);
    c.name = row.column_text(1);
    c.started_at = time_from_db(row.column_int64(2));
    c.next_at = time_from_db(row.column_optional_int64(3));
    c.fired = static_cast<int>(row.column_int64(4));
    return c;
  }

  static Status bind_notification(Statement& statement, const Notification& n) {
    return statement.bind_all(incident_ref_to_db(n.incident_id), n.target, n.channel, n.address, n.payload,
                              to_string(n.status), n.attempts, to_db(n.created_at), to_db(n.next_attempt_at),
                              n.last_error);
  }

  static Status bind_action_run(Statement& statement, const ActionRun& r) {
    return statement.bind_all(r.incident_id, r.step, r.type, to_string(r.state), r.attempts, to_db(r.created_at),
                              to_db(r.next_attempt_at), to_db(r.started_at), to_db(r.finished_at), r.approved_by,
                              to_db(r.approved_at), r.request, r.last_result, r.last_output);
  }

  static Result<std::optional<Timestamp>> min_time(Statement& statement) {
    if (!TOCSIN_TRY(statement.step())) return std::nullopt;
    return time_from_db(statement.column_optional_int64(0));
  }

  Status load_details(Incident& incident) {
    {
      auto statement = TOCSIN_TRY(prepare(
          "SELECT fingerprint, labels, status, added_at FROM incident_alerts WHERE incident_id = $1 "
          "ORDER BY added_at, fingerprint"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.alerts = TOCSIN_TRY(collect<IncidentAlert>(*statement, [&](const Statement& row) -> Result<IncidentAlert> {
        IncidentAlert alert;
        alert.fingerprint = fingerprint_from_db(row.column_int64(0));
        const std::string what =
            fmt::format("incident {} alert {}", incident.id, core::fingerprint_hex(alert.fingerprint));
        auto labels = labels_from_json(row.column_text(1));
        if (!labels) return std::unexpected(corrupt(what + " labels", labels.error()));
        alert.labels = std::move(*labels);
        auto status = parse_alert_state(row.column_text(2));
        if (!status) return std::unexpected(corrupt(what + " status", status.error()));
        alert.status = *status;
        alert.added_at = time_from_db(row.column_int64(3));
        return alert;
      }));
    }
    {
      auto statement = TOCSIN_TRY(prepare(
          "SELECT step, ord, title, owner, assignee, due_at, status, done_at, done_by, overdue_at FROM tasks "
          "WHERE incident_id = $1 ORDER BY ord, step"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.tasks = TOCSIN_TRY(
          collect<Task>(*statement, [&](const Statement& row) { return read_task(row, incident.id); }));
    }
    {
      auto statement = TOCSIN_TRY(prepare(
          "SELECT incident_b FROM incident_links WHERE incident_a = $1 "
          "UNION SELECT incident_a FROM incident_links WHERE incident_b = $1 ORDER BY 1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.related = TOCSIN_TRY(
          collect<int64_t>(*statement, [](const Statement& row) -> Result<int64_t> { return row.column_int64(0); }));
    }
    {
      auto statement = TOCSIN_TRY(prepare(
          "SELECT incident_id, name, started_at, next_at, fired FROM incident_clocks WHERE incident_id = $1 "
          "ORDER BY started_at, name"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.clocks = TOCSIN_TRY(collect<IncidentClock>(*statement, read_clock));
    }
    {
      // In the order of their tasks (the plan's step order).
      auto statement = TOCSIN_TRY(prepare(
          "SELECT a.incident_id, a.step, a.type, a.state, a.attempts, a.created_at, a.next_attempt_at, "
          "a.started_at, a.finished_at, a.approved_by, a.approved_at, a.request, a.last_result, a.last_output "
          "FROM action_runs a LEFT JOIN tasks t ON t.incident_id = a.incident_id AND t.step = a.step "
          "WHERE a.incident_id = $1 ORDER BY t.ord, a.step"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.actions = TOCSIN_TRY(collect<ActionRun>(*statement, read_action_run));
    }
    {
      auto statement = TOCSIN_TRY(prepare(
          "SELECT id, incident_id, at, kind, actor, detail FROM timeline WHERE incident_id = $1 ORDER BY id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.timeline = TOCSIN_TRY(collect<TimelineEvent>(*statement, [](const Statement& row) -> Result<TimelineEvent> {
        TimelineEvent event;
        event.id = row.column_int64(0);
        event.incident_id = row.column_int64(1);
        event.at = time_from_db(row.column_int64(2));
        event.kind = row.column_text(3);
        event.actor = row.column_text(4);
        event.detail = row.column_text(5);
        return event;
      }));
    }
    return core::ok();
  }

  Connection& db_;
  bool active_ = false;
  bool writable_ = false;
  bool begun_ = false;
};

#undef TOCSIN_ALERT_COLUMNS
#undef TOCSIN_INCIDENT_COLUMNS
#undef TOCSIN_NOTIFICATION_COLUMNS
#undef TOCSIN_SILENCE_COLUMNS
#undef TOCSIN_DRILL_RUN_COLUMNS
#undef TOCSIN_LIVE_DRILL_COLUMNS
#undef TOCSIN_NFLOG_COLUMNS
#undef TOCSIN_ACTION_RUN_COLUMNS
// One connection of the pool and the Tx over it; checked out to one transaction at a time.
struct PooledConnection {
  explicit PooledConnection(std::unique_ptr<Connection> connection) : db(std::move(connection)), tx(*db) {}
  std::unique_ptr<Connection> db;
  PostgresTx tx;
};

// The store a thread is inside a transaction of, to catch a re-entrant call (store.h forbids it:
// with one connection it would deadlock, with a pool it would read outside the caller's snapshot).
thread_local const Store* t_in_transaction = nullptr;

class PostgresStore final : public Store {
 public:
  // connections[0] takes the writes; the others, the reads (with one connection, it takes both).
  PostgresStore(std::vector<std::unique_ptr<Connection>> connections, int version) : version_(version) {
    for (auto& connection : connections) pool_.push_back(std::make_unique<PooledConnection>(std::move(connection)));
    idle_readers_.reserve(pool_.size());
    for (size_t i = 1; i < pool_.size(); ++i) idle_readers_.push_back(pool_[i].get());
  }

  // One write transaction at a time, as in the SQLite store: callers (the engine's delivery and
  // action passes, the API's sessions) write under locks of their own, and may not expect a
  // serialization failure between two of their own transactions.
  Status write(const std::function<Status(Tx&)>& fn) override {
    std::lock_guard writer(writer_mu_);
    return run(*pool_[0], fn, true);
  }
  Status read(const std::function<Status(Tx&)>& fn) override {
    if (pool_.size() == 1) {
      std::lock_guard writer(writer_mu_);
      return run(*pool_[0], fn, false);
    }
    ReaderCheckout reader(*this);
    return run(reader.connection, fn, false);
  }
  int schema_version() override { return version_; }

 private:
  // Ends whatever run() left open, on every path out of it (an exception from fn included).
  class TransactionGuard {
   public:
    TransactionGuard(const Store& store, PooledConnection& connection)
        : connection_(connection), outer_(t_in_transaction) {
      t_in_transaction = &store;
    }
    ~TransactionGuard() {
      connection_.tx.end();
      if (!connection_.db->broken() && connection_.db->in_transaction()) (void)connection_.db->exec("ROLLBACK");
      t_in_transaction = outer_;
    }
    TransactionGuard(const TransactionGuard&) = delete;
    TransactionGuard& operator=(const TransactionGuard&) = delete;

   private:
    PooledConnection& connection_;
    const Store* outer_;
  };

  // An idle read connection, waited for, and given back on every path out (an exception from fn
  // included). No allocation: idle_readers_ has room for all of them.
  struct ReaderCheckout {
    explicit ReaderCheckout(PostgresStore& store) : owner(store), connection(take(store)) {}
    ~ReaderCheckout() {
      {
        std::lock_guard lock(owner.pool_mu_);
        owner.idle_readers_.push_back(&connection);
      }
      owner.reader_idle_.notify_one();
    }
    ReaderCheckout(const ReaderCheckout&) = delete;
    ReaderCheckout& operator=(const ReaderCheckout&) = delete;

    static PooledConnection& take(PostgresStore& store) {
      std::unique_lock lock(store.pool_mu_);
      store.reader_idle_.wait(lock, [&] { return !store.idle_readers_.empty(); });
      PooledConnection* reader = store.idle_readers_.back();
      store.idle_readers_.pop_back();
      return *reader;
    }

    PostgresStore& owner;
    PooledConnection& connection;
  };

  Status run(PooledConnection& connection, const std::function<Status(Tx&)>& fn, bool writable) {
    assert(t_in_transaction != this && "Store::write()/read() called inside a transaction");
    Connection& db = *connection.db;
    if (db.found_broken()) {
      // The server restarted, the session was ended or the network dropped: one reconnect attempt
      // per transaction, on this connection only.
      if (auto reconnected = db.reconnect(); !reconnected) {
        return std::unexpected(with_context(reconnected.error(), db.describe()));
      }
    }
    TransactionGuard guard(*this, connection);
    db.clear_failure();
    connection.tx.begin(writable);  // the SQL transaction begins at the first statement
    Status result = fn(connection.tx);
    // A statement that failed aborts the transaction even when fn went on and returned success.
    if (result && db.first_failure()) result = std::unexpected(*db.first_failure());
    if (!result) return result;  // the guard rolls back
    if (connection.tx.begun()) TOCSIN_RETURN_IF_ERROR(db.commit());
    return core::ok();
  }

  std::vector<std::unique_ptr<PooledConnection>> pool_;  // fixed after construction
  std::mutex writer_mu_;  // held through a write (and, with one connection, through a read)
  std::mutex pool_mu_;    // guards idle_readers_
  std::condition_variable reader_idle_;
  std::vector<PooledConnection*> idle_readers_;
  int version_;
};

}  // namespace

core::Result<std::unique_ptr<store::Store>> open_postgres_store(const std::string& conninfo, const PoolOptions& pool) {
  if (pool.size < 1 || pool.size > kMaxPoolSize) {
    return std::unexpected(Error::invalid_argument(
        fmt::format("open postgres store: a pool of {} connections; expected 1 to {}", pool.size, kMaxPoolSize)));
  }
  std::vector<std::unique_ptr<Connection>> connections;
  auto first = Connection::open(conninfo);
  if (!first) return std::unexpected(with_context(first.error(), "open postgres store"));
  auto version = migrate(**first, schema_migrations());
  if (!version) return std::unexpected(with_context(version.error(), fmt::format("open {}", (*first)->describe())));
  connections.push_back(std::move(*first));
  // All of them now: a server that cannot take them (max_connections) is found at start, not later.
  while (static_cast<int>(connections.size()) < pool.size) {
    auto more = Connection::open(conninfo);
    if (!more) {
      return std::unexpected(with_context(
          more.error(), fmt::format("open postgres store: connection {} of a pool of {}", connections.size() + 1,
                                    pool.size)));
    }
    connections.push_back(std::move(*more));
  }
  return std::make_unique<PostgresStore>(std::move(connections), *version);
}

}  // namespace tocsin::store::postgres
