#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/storage_health.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/flat_u64_map.h"
#include "core/json_text.h"
#include "core/log.h"
#include "store/sqlite/alert_time_log.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite.h"

namespace tocsin::store::sqlite {
namespace {

using core::Error;

// How long a connection waits for another process's write lock before giving up with
// `unavailable`. Within one process the store's mutex already serialises transactions.
constexpr int kBusyTimeoutMs = 5000;

// SQLite integers are signed 64-bit; a fingerprint is stored as the same 64 bits.
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

// Data read back that does not parse means the file was damaged or written by something else.
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

// Written directly (core/json_text.h: as the json library would); text that is not UTF-8 goes
// through the library for the error that names what is wrong.
Result<std::string> labels_to_json(const core::Labels& labels) {
  if (std::string out; core::append_json_object(out, labels)) return out;
  nlohmann::json json = nlohmann::json::object();
  for (const auto& label : labels) json[label.name] = label.value;
  return dump_json(json, "labels");
}

Result<std::string> map_to_json(const std::map<std::string, std::string>& map) {
  if (std::string out; core::append_json_object(out, map)) return out;
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

// The alert time log and what it holds that the alerts table does not yet (alert_time_log.h).
// Shared by SqliteStore and its Tx, under the store's mutex.
struct TimeLogState {
  std::unique_ptr<AlertTimeLog> log;  // null: another process has it; re-sends go to SQLite
  // Every alert re-sent through the log since the last checkpoint: its newest times. Looked up
  // twice per re-sent alert (touch_alert, commit): a flat map, not a node per alert.
  core::FlatU64Map<AlertTimes> overlay;
};

class SqliteTx final : public Tx {
 public:
  SqliteTx(Database& db, TimeLogState& times) : db_(db), times_(times) {}

  void begin(bool writable) {
    active_ = true;
    writable_ = writable;
    begun_ = false;
    pending_.clear();
    rewritten_.clear();
    checkpoint_ = false;
  }
  void end() { active_ = false; }
  // Whether an SQL transaction was opened: it is, at the first statement. A transaction whose
  // work went only to the alert time log never touches SQLite (no BEGIN, no COMMIT, no locks).
  bool begun() const { return begun_; }

  // Re-sends of this transaction that go to the log at commit (newest per alert).
  // In order; an alert re-sent twice in one transaction appears twice (the later one wins).
  const std::vector<AlertTimeEntry>& pending_times() const { return pending_; }
  // Whether the commit must also write everything the log holds into the database (this
  // transaction wrote an alert row that the log holds an older state of).
  bool needs_checkpoint() const { return checkpoint_; }
  void force_checkpoint() { checkpoint_ = true; }

  // Writes the log's alert times (but not over rows this transaction rewrote) and this
  // transaction's own re-sends into the alerts table, and records that the database now holds
  // the log up to `epoch`.
  Status write_back(uint64_t epoch) {
    Status st = core::ok();
    times_.overlay.for_each([&](uint64_t fingerprint, const AlertTimes& times) {
      if (st && !rewritten_.count(fingerprint)) st = update_times(fingerprint, times);
    });
    TOCSIN_RETURN_IF_ERROR(st);
    for (const auto& e : pending_) TOCSIN_RETURN_IF_ERROR(update_times(e.fingerprint, e.times));
    pending_.clear();
    auto statement = TOCSIN_TRY(prepare("UPDATE alert_time_log SET applied_epoch = ?1 WHERE id = 1"));
    TOCSIN_RETURN_IF_ERROR(statement->bind_all(static_cast<int64_t>(epoch)));
    return statement->run();
  }

  Result<uint64_t> applied_epoch() {
    auto statement = TOCSIN_TRY(prepare("SELECT applied_epoch FROM alert_time_log WHERE id = 1"));
    if (!TOCSIN_TRY(statement->step())) return uint64_t{0};
    return static_cast<uint64_t>(statement->column_int64(0));
  }

  Status upsert_alert(const AlertRecord& alert) override {
    return annotate("upsert_alert", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string labels = TOCSIN_TRY(labels_to_json(alert.labels));
      const std::string annotations = TOCSIN_TRY(map_to_json(alert.annotations));
      // NaN is a legitimate sample value; SQLite would turn it into NULL anyway, so do it openly.
      std::optional<double> value;
      if (!std::isnan(alert.value)) value = alert.value;
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO alerts (" TOCSIN_ALERT_COLUMNS ") "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
          "ON CONFLICT (fingerprint) DO UPDATE SET rule = excluded.rule, labels = excluded.labels, "
          "annotations = excluded.annotations, state = excluded.state, value = excluded.value, "
          "active_at = excluded.active_at, fired_at = excluded.fired_at, resolved_at = excluded.resolved_at, "
          "updated_at = excluded.updated_at, incident_id = excluded.incident_id, ends_at = excluded.ends_at, "
          "ends_at_from_timeout = excluded.ends_at_from_timeout, generator_url = excluded.generator_url"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(
          to_db(alert.fingerprint), alert.rule, labels, annotations, to_string(alert.state), value,
          to_db(alert.active_at), to_db(alert.fired_at), to_db(alert.resolved_at), to_db(alert.updated_at),
          alert.incident_id, to_db(alert.ends_at), alert.ends_at_from_timeout ? 1 : 0, alert.generator_url));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      rewrote(alert.fingerprint);
      return core::ok();
    });
  }

  Status touch_alert(uint64_t fingerprint, std::optional<Timestamp> ends_at, bool ends_at_from_timeout,
                     Timestamp updated_at) override {
    return annotate("touch_alert", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const AlertTimes times{ends_at, ends_at_from_timeout, updated_at};
      if (times_.log && !times_.log->broken()) {
        // Logged at commit: the row must exist (it does when the log or this transaction has it).
        if (!times_.overlay.find(fingerprint) && !rewritten_.count(fingerprint)) {
          auto statement = TOCSIN_TRY(prepare("SELECT 1 FROM alerts WHERE fingerprint = ?1"));
          TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(fingerprint)));
          if (!TOCSIN_TRY(statement->step())) return std::unexpected(missing_alert(fingerprint));
        }
        pending_.push_back({fingerprint, times});
        return core::ok();
      }
      TOCSIN_RETURN_IF_ERROR(update_times(fingerprint, times));
      if (db_.changes() == 0) return std::unexpected(missing_alert(fingerprint));
      rewrote(fingerprint);
      return core::ok();
    });
  }

  Result<std::optional<AlertRecord>> get_alert(uint64_t fingerprint) override {
    return annotate("get_alert", [&]() -> Result<std::optional<AlertRecord>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ALERT_COLUMNS " FROM alerts WHERE fingerprint = ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(fingerprint)));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      auto alert = TOCSIN_TRY(read_alert(*statement));
      apply_logged_times(alert);
      return alert;
    });
  }

  Result<std::vector<AlertRecord>> list_alerts(std::optional<AlertState> state) override {
    return annotate("list_alerts", [&]() -> Result<std::vector<AlertRecord>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      std::optional<std::string_view> state_name;
      if (state) state_name = to_string(*state);
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ALERT_COLUMNS
                                              " FROM alerts WHERE ?1 IS NULL OR state = ?1 "
                                              "ORDER BY active_at, fingerprint"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(state_name));
      auto alerts = TOCSIN_TRY(collect<AlertRecord>(*statement, read_alert));
      for (auto& alert : alerts) apply_logged_times(alert);
      return alerts;
    });
  }

  Result<int> delete_resolved_alerts(Timestamp before) override {
    return annotate("delete_resolved_alerts", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      // The condition reads updated_at: bring the rows up to date with the log first.
      TOCSIN_RETURN_IF_ERROR(materialize_logged_times());
      auto statement = TOCSIN_TRY(prepare(
          "DELETE FROM alerts WHERE state = 'resolved' AND incident_id IS NULL AND updated_at < ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(db_.changes());
    });
  }

  Status upsert_silence(const Silence& silence) override {
    return annotate("upsert_silence", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string matchers = TOCSIN_TRY(matchers_to_json(silence.matchers));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO silences (" TOCSIN_SILENCE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
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
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_SILENCE_COLUMNS " FROM silences WHERE id = ?1"));
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
      auto statement = TOCSIN_TRY(prepare("DELETE FROM silences WHERE ends_at < ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(db_.changes());
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
          prepare("SELECT " TOCSIN_NFLOG_COLUMNS " FROM nflog WHERE receiver = ?1 AND group_key = ?2"));
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
          "INSERT INTO nflog (" TOCSIN_NFLOG_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
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
      auto statement = TOCSIN_TRY(prepare("DELETE FROM nflog WHERE expires_at <= ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(db_.changes());
    });
  }

  Result<int64_t> insert_incident(const Incident& incident) override {
    return annotate("insert_incident", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO incidents (title, plan, severity, status, group_key, opened_at, acknowledged_at, "
          "mitigated_at, resolved_at, closed_at, escalation_policy, escalation_pass, escalation_next_level, "
          "escalation_next_at, drill) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"));
      TOCSIN_RETURN_IF_ERROR(bind_incident(*statement, incident));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.last_insert_rowid();
    });
  }

  Status update_incident(const Incident& incident) override {
    return annotate("update_incident", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE incidents SET title = ?1, plan = ?2, severity = ?3, status = ?4, group_key = ?5, "
          "opened_at = ?6, acknowledged_at = ?7, mitigated_at = ?8, resolved_at = ?9, closed_at = ?10, "
          "escalation_policy = ?11, escalation_pass = ?12, escalation_next_level = ?13, "
          "escalation_next_at = ?14, drill = ?15 WHERE id = ?16"));
      TOCSIN_RETURN_IF_ERROR(bind_incident(*statement, incident));
      TOCSIN_RETURN_IF_ERROR(statement->bind(16, incident.id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (db_.changes() == 0) {
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
        auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_INCIDENT_COLUMNS " FROM incidents WHERE id = ?1"));
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
            "WHERE (?1 IS NULL OR status = ?1) AND (?2 = '' OR plan = ?2) AND (?3 IS NULL OR opened_at >= ?3) "
            "AND (?5 IS NULL OR opened_at < ?5) "
            "ORDER BY opened_at DESC, id DESC LIMIT ?4"));
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
            "WHERE group_key = ?1 AND status NOT IN ('resolved', 'closed') "
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
          "WHERE status = 'triggered' AND escalation_next_at IS NOT NULL AND escalation_next_at <= ?1 "
          "ORDER BY escalation_next_at, id LIMIT ?2"));
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
          "VALUES (?1, ?2, ?3, ?4, ?5) "
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
          "step) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
      TOCSIN_RETURN_IF_ERROR(bind_task(*statement, incident_id, task));
      return statement->run();
    });
  }

  Status update_task(int64_t incident_id, const Task& task) override {
    return annotate("update_task", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE tasks SET ord = ?1, title = ?2, owner = ?3, assignee = ?4, due_at = ?5, status = ?6, "
          "done_at = ?7, done_by = ?8, overdue_at = ?9 WHERE incident_id = ?10 AND step = ?11"));
      TOCSIN_RETURN_IF_ERROR(bind_task(*statement, incident_id, task));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (db_.changes() == 0) {
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
          "WHERE t.status = 'open' AND t.overdue_at IS NULL AND t.due_at <= ?1 "
          "AND i.status IN ('triggered', 'acknowledged', 'mitigated') ORDER BY t.due_at, t.incident_id, t.ord "
          "LIMIT ?2"));
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
          "INSERT INTO incident_links (incident_a, incident_b, created_at) VALUES (?1, ?2, ?3) "
          "ON CONFLICT DO NOTHING"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(std::min(a, b), std::max(a, b), to_db(at)));
      return statement->run();
    });
  }

  Status upsert_clock(const IncidentClock& c) override {
    return annotate("upsert_clock", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO incident_clocks (incident_id, name, started_at, next_at, fired) VALUES (?1, ?2, ?3, ?4, ?5) "
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
          "WHERE next_at IS NOT NULL AND next_at <= ?1 ORDER BY next_at, incident_id, name LIMIT ?2"));
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
          "INSERT INTO timeline (incident_id, at, kind, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5)"));
      TOCSIN_RETURN_IF_ERROR(
          statement->bind_all(event.incident_id, to_db(event.at), event.kind, event.actor, event.detail));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.last_insert_rowid();
    });
  }

  Status insert_action_run(const ActionRun& run) override {
    return annotate("insert_action_run", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO action_runs (" TOCSIN_ACTION_RUN_COLUMNS
          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"));
      TOCSIN_RETURN_IF_ERROR(bind_action_run(*statement, run));
      return statement->run();
    });
  }

  Status update_action_run(const ActionRun& run) override {
    return annotate("update_action_run", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE action_runs SET type = ?3, state = ?4, attempts = ?5, created_at = ?6, next_attempt_at = ?7, "
          "started_at = ?8, finished_at = ?9, approved_by = ?10, approved_at = ?11, request = ?12, "
          "last_result = ?13, last_output = ?14 WHERE incident_id = ?1 AND step = ?2"));
      TOCSIN_RETURN_IF_ERROR(bind_action_run(*statement, run));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (db_.changes() == 0) {
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
                                              " FROM action_runs WHERE incident_id = ?1 AND step = ?2"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident_id, step));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_action_run(*statement));
    });
  }

  Result<std::vector<ActionRun>> list_action_runs(ActionState state) override {
    return annotate("list_action_runs", [&]() -> Result<std::vector<ActionRun>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ACTION_RUN_COLUMNS
                                              " FROM action_runs WHERE state = ?1 ORDER BY incident_id, step"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_string(state)));
      return collect<ActionRun>(*statement, read_action_run);
    });
  }

  Result<std::vector<ActionRun>> due_action_runs(Timestamp now, int limit) override {
    return annotate("due_action_runs", [&]() -> Result<std::vector<ActionRun>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      TOCSIN_RETURN_IF_ERROR(check_limit(limit));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ACTION_RUN_COLUMNS
                                              " FROM action_runs WHERE state = 'pending' AND next_attempt_at <= ?1 "
                                              "ORDER BY next_attempt_at, incident_id, step LIMIT ?2"));
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
      // The id AUTOINCREMENT would give, but never one this store gave before: a rolled-back
      // transaction takes its ids back from sqlite_sequence, and a notification can have left
      // before its transaction's COMMIT (Deliverer::send_before_commit) with its id in the
      // X-Tocsin-Notification-Id header, by which receivers drop copies.
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO notifications (id, incident_id, target, channel, address, payload, status, attempts, "
          "created_at, next_attempt_at, last_error, dedup_key) VALUES (max(?12, coalesce((SELECT seq FROM "
          "sqlite_sequence WHERE name = 'notifications'), 0) + 1), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"));
      TOCSIN_RETURN_IF_ERROR(bind_notification(*statement, n));
      TOCSIN_RETURN_IF_ERROR(
          statement->bind(11, n.dedup_key.empty() ? std::optional<std::string>() : std::optional(n.dedup_key)));
      TOCSIN_RETURN_IF_ERROR(statement->bind(12, next_notification_id_));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      const int64_t id = db_.last_insert_rowid();
      next_notification_id_ = std::max(next_notification_id_, id + 1);
      return id;
    });
  }

  // Moves the notification id sequence `count` on (SqliteStore::skip_notification_ids).
  Status skip_notification_ids(int64_t count) {
    TOCSIN_RETURN_IF_ERROR(check(true));
    auto start =
        TOCSIN_TRY(prepare("INSERT INTO sqlite_sequence (name, seq) SELECT 'notifications', 0 "
                           "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'notifications')"));
    TOCSIN_RETURN_IF_ERROR(start->run());
    auto skip = TOCSIN_TRY(prepare("UPDATE sqlite_sequence SET seq = seq + ?1 WHERE name = 'notifications'"));
    TOCSIN_RETURN_IF_ERROR(skip->bind_all(count));
    return skip->run();
  }

  Status update_notification(const Notification& n) override {
    return annotate("update_notification", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE notifications SET incident_id = ?1, target = ?2, channel = ?3, address = ?4, payload = ?5, "
          "status = ?6, attempts = ?7, created_at = ?8, next_attempt_at = ?9, last_error = ?10 WHERE id = ?11"));
      TOCSIN_RETURN_IF_ERROR(bind_notification(*statement, n));
      TOCSIN_RETURN_IF_ERROR(statement->bind(11, n.id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (db_.changes() == 0) {
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
                                              "WHERE status = 'pending' AND next_attempt_at <= ?1 "
                                              "ORDER BY next_attempt_at, id LIMIT ?2"));
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
          "SELECT MIN(next_attempt_at) FROM notifications WHERE status = 'pending' AND next_attempt_at > ?1"));
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
      return collect<NotificationBacklog>(*statement, [](const Statement& row) -> Result<NotificationBacklog> {
        return NotificationBacklog{row.column_text(0), row.column_int64(1), time_from_db(row.column_int64(2))};
      });
    });
  }

  Result<std::vector<Notification>> list_notifications(int64_t incident_id) override {
    return annotate("list_notifications", [&]() -> Result<std::vector<Notification>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT " TOCSIN_NOTIFICATION_COLUMNS " FROM notifications WHERE incident_id IS ?1 ORDER BY id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident_ref_to_db(incident_id)));
      return collect<Notification>(*statement, read_notification);
    });
  }

  Result<int64_t> insert_attempt(const NotificationAttempt& a) override {
    return annotate("insert_attempt", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO notification_attempts (notification_id, at, ok, status_code, error, latency_ms) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(a.notification_id, to_db(a.at), a.ok ? 1 : 0, a.status_code,
                                                 a.error, static_cast<int64_t>(a.latency.count())));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.last_insert_rowid();
    });
  }

  Result<std::vector<NotificationAttempt>> list_attempts(int64_t notification_id) override {
    return annotate("list_attempts", [&]() -> Result<std::vector<NotificationAttempt>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT id, notification_id, at, ok, status_code, error, latency_ms FROM notification_attempts "
          "WHERE notification_id = ?1 ORDER BY id"));
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
          "passed, scorecard, live_drill) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(run.scenario, run.plan, run.mode, to_db(run.seed), participants,
                                                 to_db(run.started_at), to_db(run.finished_at), to_db(run.ran_at),
                                                 run.score, run.passed ? 1 : 0, run.scorecard_json, run.live_drill));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.last_insert_rowid();
    });
  }

  Result<std::optional<DrillRun>> get_drill_run(int64_t id) override {
    return annotate("get_drill_run", [&]() -> Result<std::optional<DrillRun>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_DRILL_RUN_COLUMNS ", scorecard FROM drill_runs WHERE id = ?1"));
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
          "SELECT " TOCSIN_DRILL_RUN_COLUMNS ", CASE WHEN ?5 THEN scorecard ELSE '' END FROM drill_runs "
          "WHERE (?1 = '' OR plan = ?1) AND (?2 = '' OR scenario = ?2) AND (?3 IS NULL OR ran_at >= ?3) "
          "ORDER BY ran_at DESC, id DESC LIMIT ?4"));
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
          "run, scenario_yaml) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(drill.scenario, drill.plan, participants, to_db(drill.started_at),
                                                 to_db(drill.finished_at), drill.started_by, drill.finished_by,
                                                 drill.run, drill.scenario_yaml));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.last_insert_rowid();
    });
  }

  Status update_live_drill(const LiveDrill& drill) override {
    return annotate("update_live_drill", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      const std::string participants = TOCSIN_TRY(strings_to_json(drill.participants, "participants"));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE live_drills SET scenario = ?1, plan = ?2, participants = ?3, started_at = ?4, finished_at = ?5, "
          "started_by = ?6, finished_by = ?7, run = ?8, scenario_yaml = ?9 WHERE id = ?10"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(drill.scenario, drill.plan, participants, to_db(drill.started_at),
                                                 to_db(drill.finished_at), drill.started_by, drill.finished_by,
                                                 drill.run, drill.scenario_yaml, drill.id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (db_.changes() == 0) {
        return std::unexpected(Error::not_found(fmt::format("live drill {} does not exist", drill.id)));
      }
      return core::ok();
    });
  }

  Result<std::optional<LiveDrill>> get_live_drill(int64_t id) override {
    return annotate("get_live_drill", [&]() -> Result<std::optional<LiveDrill>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_LIVE_DRILL_COLUMNS " FROM live_drills WHERE id = ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return TOCSIN_TRY(read_live_drill(*statement));
    });
  }

  Result<std::vector<LiveDrill>> list_live_drills(bool running_only) override {
    return annotate("list_live_drills", [&]() -> Result<std::vector<LiveDrill>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_LIVE_DRILL_COLUMNS
                                              " FROM live_drills WHERE ?1 = 0 OR finished_at IS NULL "
                                              "ORDER BY started_at DESC, id DESC"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(running_only ? 1 : 0));
      return collect<LiveDrill>(*statement, read_live_drill);
    });
  }

  Result<std::optional<Postmortem>> get_postmortem(int64_t incident_id) override {
    return annotate("get_postmortem", [&]() -> Result<std::optional<Postmortem>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT " TOCSIN_POSTMORTEM_COLUMNS " FROM postmortems WHERE incident_id = ?1"));
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
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
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
          "done_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(item.incident_id, item.title, item.owner, to_db(item.due_at),
                                                 to_string(item.status), to_db(item.created_at), item.created_by,
                                                 to_db(item.done_at), item.done_by));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.last_insert_rowid();
    });
  }

  Status update_action_item(const ActionItem& item) override {
    return annotate("update_action_item", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "UPDATE action_items SET incident_id = ?1, title = ?2, owner = ?3, due_at = ?4, status = ?5, "
          "created_at = ?6, created_by = ?7, done_at = ?8, done_by = ?9 WHERE id = ?10"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(item.incident_id, item.title, item.owner, to_db(item.due_at),
                                                 to_string(item.status), to_db(item.created_at), item.created_by,
                                                 to_db(item.done_at), item.done_by, item.id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      if (db_.changes() == 0) {
        return std::unexpected(Error::not_found(fmt::format("action item {} does not exist", item.id)));
      }
      return core::ok();
    });
  }

  Result<std::optional<ActionItem>> get_action_item(int64_t id) override {
    return annotate("get_action_item", [&]() -> Result<std::optional<ActionItem>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT " TOCSIN_ACTION_ITEM_COLUMNS " FROM action_items WHERE id = ?1"));
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
          "WHERE (?1 IS NULL OR incident_id = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 = '' OR owner = ?3) "
          "AND (?4 IS NULL OR due_at < ?4) ORDER BY due_at, id LIMIT ?5"));
      TOCSIN_RETURN_IF_ERROR(
          statement->bind_all(filter.incident, status, filter.owner, to_db(filter.due_before), filter.limit));
      return collect<ActionItem>(*statement, read_action_item);
    });
  }

  Result<ActionItemCounts> count_action_items(Timestamp now) override {
    return annotate("count_action_items", [&]() -> Result<ActionItemCounts> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT COUNT(*), COALESCE(SUM(due_at < ?1), 0) FROM action_items WHERE status = 'open'"));
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
                  "inhibited) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(f.fingerprint), to_db(f.at), f.alertname, f.service, f.severity,
                                                 f.plan, f.drill, silenced_by, f.inhibited ? 1 : 0));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.last_insert_rowid();
    });
  }

  Result<std::vector<AlertFiring>> list_alert_firings(Timestamp since, Timestamp until) override {
    return annotate("list_alert_firings", [&]() -> Result<std::vector<AlertFiring>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(
          prepare("SELECT id, fingerprint, at, alertname, service, severity, plan, drill, silenced_by, inhibited "
                  "FROM alert_firings WHERE at >= ?1 AND at < ?2 ORDER BY at, id"));
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
      auto statement = TOCSIN_TRY(prepare("DELETE FROM alert_firings WHERE at < ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(db_.changes());
    });
  }

  Result<int64_t> append_audit(const AuditEntry& e) override {
    return annotate("append_audit", [&]() -> Result<int64_t> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      if (e.action.empty()) return std::unexpected(Error::invalid_argument("expected an action").field("action"));
      auto statement = TOCSIN_TRY(
          prepare("INSERT INTO audit_log (at, actor, action, object, detail, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(e.at), e.actor, e.action, e.object, e.detail, e.source));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.last_insert_rowid();
    });
  }

  Result<std::vector<AuditEntry>> list_audit(const AuditFilter& filter) override {
    return annotate("list_audit", [&]() -> Result<std::vector<AuditEntry>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      if (filter.limit) TOCSIN_RETURN_IF_ERROR(check_limit(*filter.limit));
      // The action prefix is compared with substr, not LIKE: an action holding % or _ matches
      // only itself. LIMIT -1 is no limit.
      auto statement =
          TOCSIN_TRY(prepare("SELECT id, at, actor, action, object, detail, source FROM audit_log "
                             "WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2) AND (?3 = '' OR actor = ?3) "
                             "AND (?4 = '' OR substr(action, 1, length(?4)) = ?4) ORDER BY at, id LIMIT ?5"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(filter.since), to_db(filter.until), filter.actor, filter.action,
                                                 filter.limit ? *filter.limit : -1));
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
                  "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(e.id_sha256, e.token_name, e.token_check, e.role, e.csrf_token,
                                                 to_db(e.created_at), to_db(e.last_seen_at), to_db(e.expires_at)));
      return statement->run();
    });
  }

  Result<std::optional<Session>> get_session(std::string_view id_sha256) override {
    return annotate("get_session", [&]() -> Result<std::optional<Session>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare("SELECT id_sha256, token_name, token_check, role, csrf_token, created_at, "
                                          "last_seen_at, expires_at FROM sessions WHERE id_sha256 = ?1"));
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
      auto statement = TOCSIN_TRY(prepare("UPDATE sessions SET last_seen_at = ?2 WHERE id_sha256 = ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id_sha256, to_db(last_seen_at)));
      return statement->run();
    });
  }

  Result<bool> delete_session(std::string_view id_sha256) override {
    return annotate("delete_session", [&]() -> Result<bool> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM sessions WHERE id_sha256 = ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id_sha256));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.changes() > 0;
    });
  }

  Result<int> delete_expired_sessions(Timestamp now) override {
    return annotate("delete_expired_sessions", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM sessions WHERE expires_at <= ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(now)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return static_cast<int>(db_.changes());
    });
  }

  Result<std::optional<Lease>> get_lease(std::string_view name) override {
    return annotate("get_lease", [&]() -> Result<std::optional<Lease>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT name, holder, epoch, acquired_at, expires_at FROM leases WHERE name = ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(name));
      if (!TOCSIN_TRY(statement->step())) return std::nullopt;
      return read_lease(*statement);
    });
  }

  Status put_lease(const Lease& lease) override {
    return annotate("put_lease", [&]() -> Status {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare(
          "INSERT INTO leases (name, holder, epoch, acquired_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5) "
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
          "INSERT INTO replicas (id, address, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?4) "
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
      auto statement = TOCSIN_TRY(prepare("DELETE FROM replicas WHERE id = ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.changes() > 0;
    });
  }

  Result<int> delete_stale_replicas(Timestamp before) override {
    return annotate("delete_stale_replicas", [&]() -> Result<int> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM replicas WHERE heartbeat_at < ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(before)));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      const auto deleted = static_cast<int>(db_.changes());
      auto states = TOCSIN_TRY(prepare(
          "DELETE FROM detector_states WHERE saved_at < ?1 "
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
          "INSERT INTO detector_states (replica_id, saved_at, state) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (replica_id) DO UPDATE SET saved_at = excluded.saved_at, state = excluded.state"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(replica_id, to_db(saved_at), sqlite::Blob{state}));
      return statement->run();
    });
  }

  static Result<DetectorState> detector_state_row(const Statement& row) {
    return DetectorState{row.column_text(0), time_from_db(row.column_int64(1)), row.column_blob(2)};
  }

  Result<std::vector<DetectorState>> list_detector_states() override {
    return annotate("list_detector_states", [&]() -> Result<std::vector<DetectorState>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement =
          TOCSIN_TRY(prepare("SELECT replica_id, saved_at, state FROM detector_states ORDER BY replica_id"));
      return collect<DetectorState>(*statement, detector_state_row);
    });
  }

  Result<std::vector<DetectorState>> list_detector_states_saved_after(Timestamp after) override {
    return annotate("list_detector_states_saved_after", [&]() -> Result<std::vector<DetectorState>> {
      TOCSIN_RETURN_IF_ERROR(check(false));
      auto statement = TOCSIN_TRY(prepare(
          "SELECT replica_id, saved_at, state FROM detector_states WHERE saved_at > ?1 ORDER BY replica_id"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(after)));
      return collect<DetectorState>(*statement, detector_state_row);
    });
  }

  Result<bool> delete_detector_state(std::string_view replica_id) override {
    return annotate("delete_detector_state", [&]() -> Result<bool> {
      TOCSIN_RETURN_IF_ERROR(check(true));
      auto statement = TOCSIN_TRY(prepare("DELETE FROM detector_states WHERE replica_id = ?1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(replica_id));
      TOCSIN_RETURN_IF_ERROR(statement->run());
      return db_.changes() > 0;
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
  // the first statement, and a statement prepared past this would run in autocommit — outside the
  // transaction, surviving its rollback (SqliteStoreTest.BadDrillRunsAreRejected… catches that).
  Result<StatementLease> prepare(std::string_view sql) {
    if (!begun_) {
      // IMMEDIATE takes the write lock up front, so a write transaction never fails half-way
      // through because another connection wrote first.
      TOCSIN_RETURN_IF_ERROR(db_.exec_cached(writable_ ? "BEGIN IMMEDIATE" : "BEGIN"));
      begun_ = true;
    }
    return db_.prepare(sql);
  }

  // not_found naming the incident, for rows that belong to one (the foreign key would only say
  // "FOREIGN KEY constraint failed").
  Status require_incident(int64_t incident_id) {
    auto statement = TOCSIN_TRY(prepare("SELECT 1 FROM incidents WHERE id = ?1"));
    TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident_id));
    if (!TOCSIN_TRY(statement->step())) {
      return std::unexpected(Error::not_found(fmt::format("incident {} does not exist", incident_id)));
    }
    return core::ok();
  }

  static Error missing_alert(uint64_t fingerprint) {
    return Error::not_found(fmt::format("alert {} does not exist", core::fingerprint_hex(fingerprint)));
  }

  Status update_times(uint64_t fingerprint, const AlertTimes& times) {
    auto statement = TOCSIN_TRY(prepare(
        "UPDATE alerts SET ends_at = ?1, ends_at_from_timeout = ?2, updated_at = ?3 WHERE fingerprint = ?4"));
    TOCSIN_RETURN_IF_ERROR(statement->bind_all(to_db(times.ends_at), times.ends_at_from_timeout ? 1 : 0,
                                               to_db(times.updated_at), to_db(fingerprint)));
    return statement->run();
  }

  // This transaction wrote the alert's row in SQL: a re-send logged earlier in it is superseded,
  // and an older state of it in the log must never be replayed over the row.
  void rewrote(uint64_t fingerprint) {
    if (!pending_.empty()) std::erase_if(pending_, [&](const AlertTimeEntry& e) { return e.fingerprint == fingerprint; });
    if (times_.overlay.find(fingerprint)) {
      rewritten_.insert(fingerprint);
      checkpoint_ = true;
    }
  }

  // The times the alert has with the logged re-sends (this transaction's, then the log's).
  void apply_logged_times(AlertRecord& alert) const {
    const AlertTimes* times = nullptr;
    if (auto it = std::find_if(pending_.rbegin(), pending_.rend(),
                               [&](const AlertTimeEntry& e) { return e.fingerprint == alert.fingerprint; });
        it != pending_.rend()) {
      times = &it->times;
    } else if (const AlertTimes* o = times_.overlay.find(alert.fingerprint); o && !rewritten_.count(alert.fingerprint)) {
      times = o;
    }
    if (!times) return;
    alert.ends_at = times->ends_at;
    alert.ends_at_from_timeout = times->ends_at_from_timeout;
    alert.updated_at = times->updated_at;
  }

  // Writes every logged re-send into the alerts table now (for a statement whose condition reads
  // their times); the commit then completes the checkpoint.
  Status materialize_logged_times() {
    if (times_.overlay.empty() && pending_.empty()) return core::ok();
    Status st = core::ok();
    times_.overlay.for_each([&](uint64_t fingerprint, const AlertTimes& times) {
      if (!st || rewritten_.count(fingerprint)) return;
      st = update_times(fingerprint, times);
      if (st) rewritten_.insert(fingerprint);
    });
    TOCSIN_RETURN_IF_ERROR(st);
    for (const auto& e : pending_) {
      TOCSIN_RETURN_IF_ERROR(update_times(e.fingerprint, e.times));
      rewritten_.insert(e.fingerprint);
    }
    pending_.clear();
    checkpoint_ = true;
    return core::ok();
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
          "SELECT fingerprint, labels, status, added_at FROM incident_alerts WHERE incident_id = ?1 "
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
          "WHERE incident_id = ?1 ORDER BY ord, step"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.tasks = TOCSIN_TRY(
          collect<Task>(*statement, [&](const Statement& row) { return read_task(row, incident.id); }));
    }
    {
      auto statement = TOCSIN_TRY(prepare(
          "SELECT incident_b FROM incident_links WHERE incident_a = ?1 "
          "UNION SELECT incident_a FROM incident_links WHERE incident_b = ?1 ORDER BY 1"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.related = TOCSIN_TRY(
          collect<int64_t>(*statement, [](const Statement& row) -> Result<int64_t> { return row.column_int64(0); }));
    }
    {
      auto statement = TOCSIN_TRY(prepare(
          "SELECT incident_id, name, started_at, next_at, fired FROM incident_clocks WHERE incident_id = ?1 "
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
          "WHERE a.incident_id = ?1 ORDER BY t.ord, a.step"));
      TOCSIN_RETURN_IF_ERROR(statement->bind_all(incident.id));
      incident.actions = TOCSIN_TRY(collect<ActionRun>(*statement, read_action_run));
    }
    {
      auto statement = TOCSIN_TRY(prepare(
          "SELECT id, incident_id, at, kind, actor, detail FROM timeline WHERE incident_id = ?1 ORDER BY id"));
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

  Database& db_;
  TimeLogState& times_;
  bool active_ = false;
  bool writable_ = false;
  bool begun_ = false;
  std::vector<AlertTimeEntry> pending_;  // this transaction's re-sends, logged at commit
  std::unordered_set<uint64_t> rewritten_;  // alerts whose row this transaction wrote in SQL
  bool checkpoint_ = false;
  // Above every notification id this store gave, committed or not (insert_notification).
  int64_t next_notification_id_ = 0;
};

#undef TOCSIN_ALERT_COLUMNS
#undef TOCSIN_INCIDENT_COLUMNS
#undef TOCSIN_NOTIFICATION_COLUMNS
#undef TOCSIN_SILENCE_COLUMNS
#undef TOCSIN_DRILL_RUN_COLUMNS
#undef TOCSIN_LIVE_DRILL_COLUMNS
#undef TOCSIN_NFLOG_COLUMNS
#undef TOCSIN_ACTION_RUN_COLUMNS

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Database> db, int version, std::filesystem::path data_dir, StorageHealth* health)
      : db_(std::move(db)), data_dir_(std::move(data_dir)), health_(health), tx_(*db_, times_), version_(version) {
    if (health_) health_->set_probe([this] { return probe_write(); });
  }
  ~SqliteStore() override {
    if (health_) health_->set_probe(nullptr);
    stop_wal_checkpointer();
    // A clean close leaves the database complete on its own (for other readers of the file).
    if (times_.log && !times_.overlay.empty()) (void)checkpoint();
    if (wal_fd_ >= 0) ::close(wal_fd_);
  }

  // Moves SQLite's WAL checkpoints (copying committed pages into the database file, and its
  // fsync) off the commit path: SQLite's automatic checkpoint runs inside the COMMIT that
  // crosses 1,000 WAL pages, so about one write in a hundred waited for it. Here a thread with its
  // own connection checkpoints (PASSIVE: it never blocks the writer) every kWalCheckpointEvery.
  // Without it (it could not open its connection) SQLite's automatic checkpoints stay on.
  void start_wal_checkpointer(const std::filesystem::path& db_file) {
    auto checkpointer = Database::open(db_file);
    if (!checkpointer) return;
    if (!(*checkpointer)->exec(fmt::format("PRAGMA busy_timeout = {}", kBusyTimeoutMs)) ||
        !(*checkpointer)->exec("PRAGMA synchronous = FULL") || !db_->exec("PRAGMA wal_autocheckpoint = 0")) {
      return;
    }
    checkpointer_ = std::thread([this, db = std::shared_ptr<Database>(std::move(*checkpointer))] {
      std::unique_lock lock(checkpointer_mu_);
      for (int round = 1; !checkpointer_stop_; ++round) {
        checkpointer_cv_.wait_for(lock, kWalCheckpointEvery, [&] { return checkpointer_stop_; });
        if (checkpointer_stop_) break;
        if (round % kLogCheckpointRounds == 0) log_checkpoint_due_ = true;
        const bool restart = restart_wal_after_checkpoint_;
        lock.unlock();
        checkpoint_wal(*db, restart);
        lock.lock();
      }
    });
  }

  // Commits flushed by this store itself instead of by SQLite inside COMMIT, so that a caller
  // can let go of its locks between the two (Store::write_visible). Only with the checkpointer
  // running: the connection then never checkpoints, and synchronous = NORMAL still syncs the
  // WAL header when the WAL starts over (what keeps a torn restart from corrupting the file) and
  // at the close's checkpoint. What NORMAL leaves out, the sync of every commit, is
  // flush_through()'s fdatasync, and no write reports success before it.
  void start_explicit_flush(const std::filesystem::path& db_file) {
    if (!checkpointer_.joinable()) return;  // SQLite's own checkpoints run on this connection: FULL
    const std::filesystem::path wal = db_file.string() + "-wal";
    // The WAL exists (the migrations wrote through it) and stays the same file while this
    // connection is open: SQLite deletes it only when the last connection closes, and starting
    // it over rewrites it in place.
    const int fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    // Its directory entry must be durable too, as SQLite makes it for a WAL it creates.
    const std::filesystem::path dir = db_file.has_parent_path() ? db_file.parent_path() : ".";
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
    if (!db_->exec("PRAGMA synchronous = NORMAL")) {
      ::close(fd);
      return;
    }
    wal_fd_ = fd;
    wal_path_ = wal;
    std::lock_guard lock(checkpointer_mu_);
    restart_wal_after_checkpoint_ = true;
  }

  Status write(const std::function<Status(Tx&)>& fn) override {
    uint64_t commit = 0;
    TOCSIN_RETURN_IF_ERROR(run(fn, true, &commit));
    return flush_through(commit);
  }
  Result<PendingCommit> write_visible(const std::function<Status(Tx&)>& fn) override {
    uint64_t commit = 0;
    TOCSIN_RETURN_IF_ERROR(run(fn, true, &commit));
    return PendingCommit{commit};
  }
  Status make_durable(PendingCommit commit) override { return flush_through(commit.seq); }
  Status read(const std::function<Status(Tx&)>& fn) override { return run(fn, false, nullptr); }
  int schema_version() override { return version_; }

  // Takes the alert time log at `path` (when no other process holds it), replays what it holds
  // into the database and starts it again. Called once, right after opening.
  Status open_time_log(const std::filesystem::path& path) {
    times_.log = TOCSIN_TRY(AlertTimeLog::open(path));
    if (!times_.log) return core::ok();  // another process writes it; this one writes SQL only
    const auto contents = TOCSIN_TRY(times_.log->read());
    uint64_t applied = 0;
    TOCSIN_RETURN_IF_ERROR(run(
        [&](Tx&) -> Status {
          applied = TOCSIN_TRY(tx_.applied_epoch());
          return core::ok();
        },
        false, nullptr));
    if (contents.epoch > applied && !contents.entries.empty()) {
      for (const auto& e : contents.entries) *times_.overlay.try_emplace(e.fingerprint).first = e.times;
      TOCSIN_RETURN_IF_ERROR(checkpoint(contents.epoch));
    }
    return times_.log->reset(std::max(contents.epoch, applied) + 1);
  }

  // A notification can leave before the transaction that created it is durable (ADR 2): before
  // its COMMIT, or between the COMMIT and the flush. A process that died there (killed, or the
  // power gone) handed out ids that its database did not keep, and AUTOINCREMENT would give them
  // again, to other pages, which a receiver dropping repeated X-Tocsin-Notification-Ids would
  // drop. So a start on an existing database moves the id sequence kNotificationIdsPerStart on,
  // durably, before any notification is created: far more than can be in flight unflushed at
  // once (at most limits.max_alerts_per_request, 10,000 by default, per request, and a few
  // requests at a time).
  static constexpr int64_t kNotificationIdsPerStart = int64_t{1} << 20;
  Status skip_notification_ids() {
    return write([&](Tx&) { return tx_.skip_notification_ids(kNotificationIdsPerStart); });
  }

 private:
  // A checkpoint once the log is this long; it rewrites each logged alert's row once, however
  // many times the alert was re-sent since the last one.
  static constexpr uint64_t kCheckpointBytes = 16u << 20;
  static constexpr std::chrono::milliseconds kWalCheckpointEvery{500};
  // And about once a minute (every this many rounds of the WAL checkpointer), so that the database
  // file alone — an online backup of it, another process reading it — lags the log by at most
  // about a minute of re-sends.
  static constexpr int kLogCheckpointRounds = 120;

  void stop_wal_checkpointer() {
    if (!checkpointer_.joinable()) return;
    {
      std::lock_guard lock(checkpointer_mu_);
      checkpointer_stop_ = true;
    }
    checkpointer_cv_.notify_all();
    checkpointer_.join();
  }

  // Ends whatever run() left open, on every path out of it (an exception from fn included).
  class TransactionGuard {
   public:
    explicit TransactionGuard(SqliteStore& store) : store_(store) {}
    ~TransactionGuard() {
      store_.tx_.end();
      if (store_.db_->in_transaction()) (void)store_.db_->exec("ROLLBACK");
      store_.holder_.store(std::thread::id());
    }
    TransactionGuard(const TransactionGuard&) = delete;
    TransactionGuard& operator=(const TransactionGuard&) = delete;

   private:
    SqliteStore& store_;
  };

  // A write that committed changes under explicit flushing sets *commit to its number, which
  // flush_through() takes (0: nothing to flush).
  Status run(const std::function<Status(Tx&)>& fn, bool writable, uint64_t* commit) {
    assert(holder_.load() != std::this_thread::get_id() && "Store::write()/read() called inside a transaction");
    std::lock_guard lock(mu_);
    // A log that could not start again after a checkpoint (or lost a failed append's tail) gets
    // another try once nothing depends on what it held.
    if (writable && times_.log && times_.log->broken() && times_.overlay.empty()) restart_log(times_.log->epoch());
    const int64_t changes_before = db_->total_changes();
    Status result = run_locked(fn, writable);
    if (!writable) return result;
    // Numbered after COMMIT returned, so its frames are written when a flush reads the number.
    // A failed write may have committed its SQL too (the alert time log's part failed): it is
    // not numbered, as nobody waits for it, and the next flush covers it.
    if (wal_fd_ >= 0 && db_->total_changes() != changes_before && result) {
      *commit = committed_.fetch_add(1, std::memory_order_release) + 1;
    }
    if (!result) return storage_error(std::move(result).error(), db_->first_failure_code());
    // Only a write that wrote proves the disk takes writes again (one that changed nothing
    // commits without touching the disk).
    if (health_ && db_->total_changes() != changes_before) health_->worked();
    return result;
  }

  // A write the disk refused: the error names the data dir and what is wrong with it, is an
  // `unavailable` (HTTP 503: retry later), and is reported to the StorageHealth.
  Status storage_error(core::Error error, int code) {
    const std::string_view name = storage_failure_name(code);
    if (name.empty()) return std::unexpected(std::move(error));
    const std::string what = (code & 0xff) == SQLITE_FULL       ? "is full"
                             : (code & 0xff) == SQLITE_READONLY ? "is read-only"
                                                                : "does not take writes";
    const std::string hint = (code & 0xff) == SQLITE_IOERR
                                 ? ": a full disk, a file size limit or a failing disk"
                                 : "";
    std::string message = fmt::format("the data dir {} {} ({}{}): {}", data_dir_.string(), what, name, hint,
                                      error.message());
    if (health_) health_->refused(message);
    return std::unexpected(core::Error::unavailable(std::move(message)));
  }

  // One round of the WAL checkpointer: copies the WAL's committed pages into the database file
  // (PASSIVE: it never blocks the writer); with `restart`, starts the WAL over once it copied all
  // of it (restart_wal). Busy or failed: the next round tries again.
  void checkpoint_wal(Database& checkpointer, bool restart) {
    if (restart) {
      std::lock_guard lock(mu_);
      // Nothing written since this thread last started the WAL over: the WAL holds that write's
      // frame only, and copying it would make the next commit start the WAL over once more.
      if (db_->total_changes() == changes_at_wal_restart_) return;
    }
    auto statement = checkpointer.prepare_uncached("PRAGMA wal_checkpoint(PASSIVE)");
    if (!statement) return;
    auto row = (*statement)->step();
    if (!row || !*row) return;
    const int64_t busy = (*statement)->column_int64(0);
    const int64_t log_frames = (*statement)->column_int64(1);
    const int64_t copied_frames = (*statement)->column_int64(2);
    if (restart && busy == 0 && log_frames > 0 && copied_frames == log_frames) (void)restart_wal();
  }

  // SQLite starts the WAL over at the first write after a checkpoint copied all of it, and with
  // synchronous = NORMAL that write syncs the WAL's new header inside its COMMIT: an fdatasync
  // (0.3–0.6 ms here) inside whichever request writes next — one new alert in fourteen in the
  // alerts latency bench (docs/benchmarks.md). A write of nothing right after the checkpoint
  // makes that restart happen here, on the checkpointer's thread. (Under mu_ a request that comes
  // meanwhile still waits for it, but only one that comes within that sync.)
  Status restart_wal() {
    std::lock_guard lock(mu_);
    TOCSIN_RETURN_IF_ERROR(rewrite_user_version_locked());
    changes_at_wal_restart_ = db_->total_changes();
    return core::ok();
  }

  // A real write (a WAL frame, synced) that changes nothing. Used to find out that the disk takes
  // writes again.
  Status probe_write() {
    std::lock_guard lock(mu_);
    TOCSIN_RETURN_IF_ERROR(rewrite_user_version_locked());
    TOCSIN_RETURN_IF_ERROR(flush_all_committed());
    if (health_) health_->worked();
    return core::ok();
  }

  // Rewrites the database header's user_version with its own value in a transaction of its own.
  Status rewrite_user_version_locked() {
    db_->clear_failure();
    int64_t version = 0;
    {
      auto statement = TOCSIN_TRY(db_->prepare("PRAGMA user_version"));
      if (TOCSIN_TRY(statement->step())) version = statement->column_int64(0);
    }
    if (auto begun = db_->exec_cached("BEGIN IMMEDIATE"); !begun) return storage_error(begun.error(), db_->first_failure_code());
    auto written = db_->exec(fmt::format("PRAGMA user_version = {}", version));
    if (written) written = db_->exec_cached("COMMIT");
    if (!written) {
      if (db_->in_transaction()) (void)db_->exec("ROLLBACK");
      return storage_error(written.error(), db_->first_failure_code());
    }
    return core::ok();
  }

  // Under explicit flushing (COMMIT does not flush), everything committed so far to disk: for a
  // write whose number nobody holds — a log checkpoint's times before the log that held them
  // starts again, the probe's write.
  Status flush_all_committed() {
    return wal_fd_ >= 0 ? flush_wal(committed_.load(std::memory_order_acquire)) : core::ok();
  }

  // Returns once commit `commit` is on disk. Group commit: one fdatasync covers every commit
  // numbered before it started, so a writer that waited for another's flush usually finds its
  // own commit covered and returns without a flush of its own.
  Status flush_through(uint64_t commit) {
    if (commit == 0) return core::ok();
    std::lock_guard lock(flush_mu_);
    if (flushed_ >= commit) return core::ok();
    return flush_wal_locked(committed_.load(std::memory_order_acquire));
  }
  Status flush_wal(uint64_t through) {
    std::lock_guard lock(flush_mu_);
    return flush_wal_locked(through);
  }
  Status flush_wal_locked(uint64_t through) {
    if (::fdatasync(wal_fd_) != 0) {
      // What did not reach the disk is committed in SQLite's view and cannot be taken back; the
      // write that waited for it gets the error (a 503: its sender sends it again).
      std::string message = fmt::format("the data dir {} does not take writes (fdatasync of {}: {})",
                                        data_dir_.string(), wal_path_.string(), std::strerror(errno));
      if (health_) health_->refused(message);
      return std::unexpected(core::Error::unavailable(std::move(message)));
    }
    flushed_ = std::max(flushed_, through);
    if (health_) health_->flushed();
    return core::ok();
  }

  Status run_locked(const std::function<Status(Tx&)>& fn, bool writable) {
    holder_.store(std::this_thread::get_id());
    TransactionGuard guard(*this);
    db_->clear_failure();
    tx_.begin(writable);  // SQLite's transaction begins at the first statement
    Status result = fn(tx_);
    // A statement that failed poisons the transaction even when fn went on and returned success.
    if (result && db_->first_failure()) result = std::unexpected(*db_->first_failure());
    if (!result) return result;  // the guard rolls back
    if (tx_.needs_checkpoint()) {
      // The transaction rewrote rows the log holds older times of: the whole log goes into the
      // database with it, and the log starts again.
      const uint64_t epoch = times_.log ? times_.log->epoch() : 0;
      TOCSIN_RETURN_IF_ERROR(tx_.write_back(epoch));
      if (db_->first_failure()) return std::unexpected(*db_->first_failure());
      TOCSIN_RETURN_IF_ERROR(db_->exec_cached("COMMIT"));
      TOCSIN_RETURN_IF_ERROR(flush_all_committed());
      times_.overlay.clear();
      restart_log(epoch);
      return core::ok();
    }
    // With synchronous=FULL, COMMIT returns only after the WAL is fsynced: the data is durable.
    // (A transaction that changed nothing in SQL commits without writing or syncing anything.)
    if (tx_.begun()) TOCSIN_RETURN_IF_ERROR(db_->exec_cached("COMMIT"));
    const auto& pending = tx_.pending_times();
    if (pending.empty()) return core::ok();
    // The re-sends: one appended record, fdatasynced before this returns. Should it fail, the
    // SQL part is committed and the re-sends are not; the caller sees the error and the sender
    // re-sends (an alert re-send is idempotent).
    TOCSIN_RETURN_IF_ERROR(times_.log->append(pending));
    for (const auto& e : pending) *times_.overlay.try_emplace(e.fingerprint).first = e.times;
    if (times_.log->size_bytes() >= kCheckpointBytes || log_checkpoint_due_.exchange(false)) {
      (void)checkpoint_locked();
    }
    return core::ok();
  }

  // Writes everything the log holds into the database and starts the log again.
  Status checkpoint(std::optional<uint64_t> epoch = std::nullopt) {
    std::lock_guard lock(mu_);
    return checkpoint_locked(epoch);
  }
  Status checkpoint_locked(std::optional<uint64_t> epoch = std::nullopt) {
    const uint64_t e = epoch.value_or(times_.log->epoch());
    auto st = run_locked(
        [&](Tx&) -> Status {
          TOCSIN_RETURN_IF_ERROR(tx_.write_back(e));
          return core::ok();
        },
        true);
    if (!st) return st;  // the log keeps everything; the next checkpoint tries again
    TOCSIN_RETURN_IF_ERROR(flush_all_committed());
    times_.overlay.clear();
    if (!epoch) restart_log(e);
    return core::ok();
  }

  // After a checkpoint of `epoch` committed: the log starts again with the next epoch. If that
  // fails, the log stays broken and re-sends go to SQLite directly until a later checkpoint
  // restarts it (what the old file holds is already in the database, so it is never replayed).
  void restart_log(uint64_t epoch) {
    if (!times_.log) return;
    (void)times_.log->reset(epoch + 1);
  }

  std::mutex mu_;
  std::unique_ptr<Database> db_;
  TimeLogState times_;
  std::filesystem::path data_dir_;  // for the errors of writes the disk refused
  StorageHealth* health_;           // may be null
  SqliteTx tx_;
  int version_;
  // The thread inside run(), to catch a re-entrant call that would deadlock on mu_.
  std::atomic<std::thread::id> holder_;
  std::thread checkpointer_;
  std::mutex checkpointer_mu_;
  std::condition_variable checkpointer_cv_;
  bool checkpointer_stop_ = false;
  // Under explicit flushing the checkpointer starts the WAL over itself (restart_wal); set once
  // explicit flushing started, read by the checkpointer under checkpointer_mu_.
  bool restart_wal_after_checkpoint_ = false;
  int64_t changes_at_wal_restart_ = -1;  // db_->total_changes() after restart_wal's write; under mu_
  std::atomic<bool> log_checkpoint_due_{false};
  // Explicit flushing (start_explicit_flush): the WAL's descriptor, -1 while SQLite syncs each
  // COMMIT itself; commits numbered under mu_, the highest one known flushed under flush_mu_.
  int wal_fd_ = -1;
  std::filesystem::path wal_path_;
  std::atomic<uint64_t> committed_{0};
  std::mutex flush_mu_;
  uint64_t flushed_ = 0;
};

Status configure(Database& db) {
  TOCSIN_RETURN_IF_ERROR(db.exec(fmt::format("PRAGMA busy_timeout = {}", kBusyTimeoutMs)));
  // WAL: readers do not block the writer, and a commit is one sequential append to the log.
  auto statement = TOCSIN_TRY(db.prepare_uncached("PRAGMA journal_mode = WAL"));
  if (!TOCSIN_TRY(statement->step()) || statement->column_text(0) != "wal") {
    return std::unexpected(Error::failed_precondition(
        "sqlite: cannot switch the database to WAL mode (is the file on a filesystem without shared memory?)"));
  }
  statement.reset();
  // FULL, not WAL's usual NORMAL: NORMAL may lose the last commits on power loss, but the SPEC
  // promises that a 2xx on a write survives a crash right after it, so every commit fsyncs the WAL.
  TOCSIN_RETURN_IF_ERROR(db.exec("PRAGMA synchronous = FULL"));
  // SQLite leaves foreign keys off by default, per connection.
  return db.exec("PRAGMA foreign_keys = ON");
}

}  // namespace

core::Result<std::unique_ptr<store::Store>> open_sqlite_store(const std::filesystem::path& db_file) {
  return open_sqlite_store(db_file, nullptr);
}

std::string StorageHealth::problem() const {
  std::lock_guard lock(mu_);
  return problem_;
}

void StorageHealth::refused(const std::string& message) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  if (problem_.empty()) {
    core::log::error("the data dir does not take writes; writes are refused until it does again",
                     {{"error", message}});
  }
  problem_ = message;
}

void StorageHealth::worked() {
  std::lock_guard lock(mu_);
  if (problem_.empty()) return;
  core::log::info("the data dir takes writes again", {{"was", problem_}});
  problem_.clear();
}

void StorageHealth::set_probe(std::function<core::Status()> probe) {
  std::lock_guard lock(mu_);
  probe_ = std::move(probe);
}

void StorageHealth::probe() {
  std::function<core::Status()> probe;
  {
    std::lock_guard lock(mu_);
    if (problem_.empty() || !probe_) return;
    probe = probe_;
  }
  (void)probe();  // reports to this itself, both ways
}

core::Result<std::unique_ptr<store::Store>> open_sqlite_store(const std::filesystem::path& db_file,
                                                              StorageHealth* health, bool sends_notifications) {
  if (db_file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(db_file.parent_path(), ec);
    if (ec) {
      return std::unexpected(Error::failed_precondition(
          fmt::format("cannot create directory {}: {}", db_file.parent_path().string(), ec.message())));
    }
  }
  const std::filesystem::path data_dir = db_file.has_parent_path() ? db_file.parent_path() : ".";
  // A data dir that takes no writes (read-only, full) stops the start with an error that says so.
  auto refused_at_start = [&](const core::Error& error, int code) -> core::Error {
    const std::string_view name = storage_failure_name(code);
    if (name.empty()) return with_context(error, fmt::format("open {}", db_file.string()));
    return core::Error::failed_precondition(
        fmt::format("the data dir {} does not take writes ({}): open {}: {}; tocsin needs a writable data dir "
                    "with free space",
                    data_dir.string(), name, db_file.string(), error.message()));
  };
  std::error_code exists_error;
  const bool existed = std::filesystem::exists(db_file, exists_error);
  auto db = Database::open(db_file);
  if (!db) return std::unexpected(refused_at_start(db.error(), SQLITE_CANTOPEN));
  if (auto configured = configure(**db); !configured) {
    return std::unexpected(refused_at_start(configured.error(), (*db)->first_failure_code()));
  }
  auto version = migrate(**db, schema_migrations());
  if (!version) return std::unexpected(refused_at_start(version.error(), (*db)->first_failure_code()));
  auto store = std::make_unique<SqliteStore>(std::move(*db), *version, data_dir, health);
  store->start_wal_checkpointer(db_file);
  store->start_explicit_flush(db_file);
  std::filesystem::path log_file = db_file;
  log_file += kAlertTimeLogSuffix;
  if (auto opened = store->open_time_log(log_file); !opened) {
    return std::unexpected(with_context(opened.error(), fmt::format("open {}", log_file.string())));
  }
  if (existed && sends_notifications) {
    if (auto skipped = store->skip_notification_ids(); !skipped) {
      return std::unexpected(with_context(skipped.error(), fmt::format("open {}", db_file.string())));
    }
  }
  return store;
}

}  // namespace tocsin::store::sqlite
