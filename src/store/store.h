// The durable store: alerts, incidents with their alerts, tasks, action runs and timeline,
// notifications and every delivery attempt, and the schema version. Implementations: sqlite/ (the embedded
// default) and postgres/ (a shared database; docs/high-availability.md). Both pass the conformance
// suite in store_conformance_test.{h,cc}.
//
// Unit of work: Store::write(fn) runs fn inside one transaction and returns only after it is
// committed durably (a crash right after loses nothing); if fn returns an error, everything it did
// is rolled back. Store::read(fn) gives a consistent read-only view.
// Time is an input: no method reads a clock; callers pass `now`, and no time is computed in SQL.
// Thread-safety: write() and read() may be called from any thread; a Tx must not escape fn.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/matcher.h"
#include "core/result.h"
#include "core/time.h"

namespace tocsin::store {

using core::Duration;
using core::Result;
using core::Status;
using core::Timestamp;

enum class AlertState { kPending, kFiring, kResolved };
std::string_view to_string(AlertState s);
Result<AlertState> parse_alert_state(std::string_view s);

// The current state of one alert (one rule x one series), keyed by fingerprint.
struct AlertRecord {
  uint64_t fingerprint = 0;
  std::string rule;  // rule name; empty for alerts received from outside
  core::Labels labels;
  std::map<std::string, std::string> annotations;
  AlertState state = AlertState::kPending;
  double value = 0;  // the sample value that last changed the state
  Timestamp active_at{};
  std::optional<Timestamp> fired_at;
  std::optional<Timestamp> resolved_at;
  Timestamp updated_at{};
  std::optional<int64_t> incident_id;  // the incident it joined, if any
  // Alertmanager fields. active_at is the alert's startsAt. ends_at: when an alert received from
  // outside stops firing unless re-sent (its endsAt, or receipt + resolve_timeout); for rule
  // alerts, the resolve time once resolved.
  std::optional<Timestamp> ends_at;
  bool ends_at_from_timeout = false;  // ends_at was not given by the sender
  std::string generator_url;
};

// An Alertmanager silence: mutes every alert whose labels match all matchers while
// starts_at <= now < ends_at. Expiring a silence sets ends_at to now.
struct Silence {
  std::string id;  // a UUID, assigned by the alerting layer
  std::vector<core::Matcher> matchers;
  Timestamp starts_at{};
  Timestamp ends_at{};
  Timestamp updated_at{};
  std::string created_by;
  std::string comment;
};

// The notification log (Alertmanager's nflog): what was last sent to one receiver for one alert
// group, so that a restart or a repeated flush does not send it again.
struct NotificationLogEntry {
  std::string receiver;
  std::string group_key;
  std::vector<uint64_t> firing;    // fingerprints, sorted
  std::vector<uint64_t> resolved;  // fingerprints, sorted
  Timestamp at{};                  // when the notification was created
  Timestamp expires_at{};          // dropped after this (Alertmanager keeps entries 120 h)
};

// One alert that started firing (docs/kpi.md, "silenced share"): written in the transaction that
// records the firing, with whether a silence or an inhibition muted the alert at that moment. A
// re-send of a firing alert writes none; a firing after a resolve writes a new one. The labels
// kept are the ones the KPI groups by.
struct AlertFiring {
  int64_t id = 0;  // assigned by the store, increasing
  uint64_t fingerprint = 0;
  Timestamp at{};          // when tocsin received (or its rule produced) the firing
  std::string alertname;   // labels of the alert; "" where absent
  std::string service;
  std::string severity;
  std::string plan;        // the plan its labels matched then; "" for none
  std::string drill;       // the drill label's value; "" for a real alert
  std::vector<std::string> silenced_by;  // ids of the silences that matched it then, sorted
  bool inhibited = false;  // an inhibition rule muted it then
};

enum class IncidentStatus { kTriggered, kAcknowledged, kMitigated, kResolved, kClosed };
std::string_view to_string(IncidentStatus s);
Result<IncidentStatus> parse_incident_status(std::string_view s);

struct IncidentAlert {
  uint64_t fingerprint = 0;
  core::Labels labels;
  AlertState status = AlertState::kFiring;  // firing | resolved
  Timestamp added_at{};
};

enum class TaskStatus { kOpen, kDone, kSkipped };
std::string_view to_string(TaskStatus s);
Result<TaskStatus> parse_task_status(std::string_view s);

struct Task {
  std::string step;  // plan step id; unique within the incident
  int ord = 0;       // position in the plan
  std::string title;
  std::string owner;     // role name
  std::string assignee;  // person id filling the role when the incident opened; may be empty
  Timestamp due_at{};
  TaskStatus status = TaskStatus::kOpen;
  std::optional<Timestamp> done_at;
  std::string done_by;
  std::optional<Timestamp> overdue_at;  // when the deadline module reported it overdue (once)
};

// A plan clock running for one incident: a deadline (`within`) or a reminder (`every`) from the
// timeline event that started it. next_at empty = stopped (fired for good, satisfied, or the
// incident resolved).
struct IncidentClock {
  int64_t incident_id = 0;
  std::string name;  // the plan clock's name
  Timestamp started_at{};
  std::optional<Timestamp> next_at;
  int fired = 0;  // times it has fired
}; 

// The automated action of one plan step in one incident (issue 5). States:
// awaiting_approval → pending → running → succeeded | failed; a failed attempt with attempts left
// goes back to pending (next_attempt_at later), and so does a run found running at start-up. The
// action layer owns the moves (action/state.h); the store only keeps them.
enum class ActionState { kAwaitingApproval, kPending, kRunning, kSucceeded, kFailed };
std::string_view to_string(ActionState s);
Result<ActionState> parse_action_state(std::string_view s);

struct ActionRun {
  int64_t incident_id = 0;
  std::string step;  // plan step id; one run per (incident, step)
  std::string type;  // webhook | command
  ActionState state = ActionState::kPending;
  int attempts = 0;  // attempts started so far
  Timestamp created_at{};
  Timestamp next_attempt_at{};  // when pending: not before this
  std::optional<Timestamp> started_at;   // of the latest attempt
  std::optional<Timestamp> finished_at;  // when it succeeded or failed for good
  std::string approved_by;               // empty unless approved
  std::optional<Timestamp> approved_at;
  // What is sent, rendered from the incident at the first attempt and kept, so every retry sends
  // the same request (opaque JSON owned by the action layer; empty until the first attempt).
  std::string request;
  std::string last_result;  // "HTTP 200", "exit status 1", "timed out after 30s", …
  std::string last_output;  // the first 4 KB of the response body, or of stdout+stderr
};

struct TimelineEvent {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t incident_id = 0;
  Timestamp at{};
  std::string kind;   // opened | alert_added | alert_resolved | notified | acknowledged | resolved | note | …
  std::string actor;  // person id, token name, or "tocsin"
  std::string detail;
};

// The label that marks a sample, an alert and so an incident as part of a live drill: its value is
// the live drill's id (docs/drills.md).
inline constexpr std::string_view kDrillLabel = "drill";

struct Incident {
  int64_t id = 0;  // assigned by the store
  std::string title;
  std::string plan;  // plan id; empty when none
  std::string severity;
  IncidentStatus status = IncidentStatus::kTriggered;
  std::string group_key;  // alerts with the same key join the same open incident
  Timestamp opened_at{};
  std::optional<Timestamp> acknowledged_at;
  std::optional<Timestamp> mitigated_at;
  std::optional<Timestamp> resolved_at;
  std::optional<Timestamp> closed_at;
  // Escalation progress (owned by the escalation module).
  std::string escalation_policy;
  int escalation_pass = 0;        // 0-based pass of the ladder
  int escalation_next_level = 0;  // index of the next level to notify within the pass
  std::optional<Timestamp> escalation_next_at;  // when that level is due; empty = ladder done
  // Non-empty: a drill incident, opened by alerts labelled drill="<this>" (a live drill's id, or
  // whatever the label said when no such drill is running). Pages only the drill's participants.
  std::string drill;
  // Filled by get_incident(); left empty by list_incidents() unless asked.
  std::vector<IncidentAlert> alerts;
  std::vector<int64_t> related;  // incidents this one is linked to (either direction), ascending
  std::vector<IncidentClock> clocks;
  std::vector<Task> tasks;
  std::vector<ActionRun> actions;  // in plan order of their steps
  std::vector<TimelineEvent> timeline;
};

struct IncidentFilter {
  std::optional<IncidentStatus> status;
  std::string plan;  // empty = any
  std::optional<Timestamp> since;  // opened at or after
  std::optional<Timestamp> until;  // opened before
  int limit = 500;
  bool with_details = false;  // also load alerts, tasks, actions and timeline
};

enum class NotificationStatus { kPending, kSent, kFailed };  // failed = gave up after retries
std::string_view to_string(NotificationStatus s);
Result<NotificationStatus> parse_notification_status(std::string_view s);

// One message to one destination, delivered with retries.
struct Notification {
  int64_t id = 0;  // assigned by the store
  int64_t incident_id = 0;
  std::string target;   // what the policy named: "person:alice", "channel:ops-hook"
  std::string channel;  // how it is sent: webhook | slack | email | exec
  std::string address;  // URL, email address, or command
  std::string payload;  // the body to send
  NotificationStatus status = NotificationStatus::kPending;
  int attempts = 0;
  Timestamp created_at{};
  Timestamp next_attempt_at{};
  std::string last_error;
  // What makes this notification unique, e.g. the escalation step it pages
  // ("inc:12/pass:1/level:2/person:carol/email/carol@example.com"); inserting a second
  // notification with the same non-empty key fails (failed_precondition). Empty = none.
  std::string dedup_key;
};

// Pending notifications of one channel kind (Tx::notification_backlog).
struct NotificationBacklog {
  std::string channel;
  int64_t pending = 0;
  Timestamp oldest_created_at{};
};

struct NotificationAttempt {
  int64_t id = 0;  // assigned by the store
  int64_t notification_id = 0;
  Timestamp at{};
  bool ok = false;
  int status_code = 0;  // HTTP status, SMTP reply code or exit status; 0 when none
  std::string error;
  Duration latency{};
};

// One drill that ran and was scored (issue 7): what `tocsin drill run`, or a live drill's client,
// produced. The scorecard is the runner's JSON, kept verbatim; the other fields are what history
// and the drill calendar query on.
struct DrillRun {
  int64_t id = 0;        // assigned by the store
  std::string scenario;  // the scenario's name
  std::string plan;      // plan id under test
  std::string mode;      // simulated | live
  uint64_t seed = 0;
  std::vector<std::string> participants;  // person ids
  Timestamp started_at{};   // the scenario's start (simulated time for a simulated drill)
  Timestamp finished_at{};  // >= started_at
  Timestamp ran_at{};       // wall time it was recorded; the drill calendar counts from this
  double score = 0;         // 0..100
  bool passed = false;      // every expectation met
  std::string scorecard_json;  // a JSON object
  std::optional<int64_t> live_drill;  // the live drill it scored, if any
};

struct DrillRunFilter {
  std::string plan;      // empty = any
  std::string scenario;  // empty = any
  std::optional<Timestamp> since;  // ran_at at or after
  int limit = 500;
  bool with_scorecard = false;  // list summaries unless asked
};

// A live drill (issue 7 item 3) registered against the running server: alerts labelled
// drill="<id>" open drill incidents that page only `participants` until it finishes.
struct LiveDrill {
  int64_t id = 0;  // assigned by the store
  std::string scenario;
  std::string plan;
  std::vector<std::string> participants;  // person ids, at least one
  Timestamp started_at{};
  std::optional<Timestamp> finished_at;  // empty = running
  std::string started_by;
  std::string finished_by;
  std::optional<int64_t> run;  // the DrillRun stored when it finished with a scorecard
  // The scenario file's text when it was registered with it ("" = not known): the server then
  // scores the drill itself when it finishes (drill/live_score.h).
  std::string scenario_yaml;
};

// The written part of an incident's postmortem (issue 8): what people fill in over the draft
// tocsin derives from the records (report/postmortem.h). Plain text; "" = not written yet.
struct PostmortemFields {
  std::string summary;
  std::string impact;
  std::string root_cause;
  std::string contributing_factors;
  std::string went_well;
  std::string went_badly;
  std::string lessons;

  bool operator==(const PostmortemFields&) const = default;
};

// One row per incident whose postmortem someone has edited; an incident without one has an
// empty, unwritten postmortem. completed_at is set once, when the postmortem is completed (which
// closes the incident); the incident layer owns the rules (incident/postmortem.h).
struct Postmortem {
  int64_t incident_id = 0;
  PostmortemFields fields;
  std::optional<Timestamp> updated_at;  // last edit of the fields
  std::string updated_by;
  std::optional<Timestamp> completed_at;
  std::string completed_by;
};

enum class ActionItemStatus { kOpen, kDone };
std::string_view to_string(ActionItemStatus s);
Result<ActionItemStatus> parse_action_item_status(std::string_view s);

// A follow-up from a postmortem, tracked until it is done (also after the incident closed).
struct ActionItem {
  int64_t id = 0;  // assigned by the store, never reused
  int64_t incident_id = 0;
  std::string title;
  std::string owner;  // a person id from the config
  Timestamp due_at{};
  ActionItemStatus status = ActionItemStatus::kOpen;
  Timestamp created_at{};
  std::string created_by;
  std::optional<Timestamp> done_at;  // when done; cleared when reopened
  std::string done_by;
};

struct ActionItemFilter {
  std::optional<int64_t> incident;          // empty = every incident
  std::optional<ActionItemStatus> status;   // empty = any
  std::string owner;                        // empty = anyone
  std::optional<Timestamp> due_before;      // due_at < this
  int limit = 1000;
};

// Open action items, and those of them past due at `now`.
struct ActionItemCounts {
  int64_t open = 0;
  int64_t overdue = 0;
};

// One change made by a person or an API client (docs/compliance.md): who, what, when. Written by
// the engine in the same transaction as the change it records, so a 2xx means both are durable and
// a rollback drops both. Samples and alerts sent by monitoring systems are data, not changes, and
// are not recorded; neither is what tocsin does by itself (escalation, deadlines), which the
// incident timeline already holds.
struct AuditEntry {
  int64_t id = 0;  // assigned by the store, increasing
  Timestamp at{};
  std::string actor;   // person id, token name or client name as the request said; "" = unknown
  std::string action;  // "incident.acknowledge", "silence.create", "drill.live.start", …
  std::string object;  // "incident/12", "silence/<uuid>", "drill/live/3", "clock"
  std::string detail;  // free text: the note, the new severity, the silence's matchers, …
  std::string source;  // where the request came from: the HTTP peer "ip:port"; "" when not known
};

// A web UI login (api/sessions.h): the store keeps only the SHA-256 of the session id the
// browser holds, so a copy of the database cannot log anyone in.
struct Session {
  std::string id_sha256;   // 64 hex digits
  std::string token_name;  // the token it logged in with; checked against the config at each use
  std::string token_check;  // SHA-256 hex of that token's digest: a changed secret ends the session
  std::string role;        // "viewer" | "responder" | "admin", as the token had at login
  std::string csrf_token;  // what mutating requests must echo in X-CSRF-Token
  Timestamp created_at{};
  Timestamp last_seen_at{};
  Timestamp expires_at{};  // absolute end, whatever the activity
};

struct AuditFilter {
  std::optional<Timestamp> since;  // at >= since
  std::optional<Timestamp> until;  // at < until
  std::string actor;               // exact; empty = any
  std::string action;              // a prefix ("incident." or "silence.expire"); empty = any
  std::optional<int> limit;        // the oldest `limit` matching entries; empty = all
};

// A named lease (docs/high-availability.md, "Shared work: the engine lease"): who may do one
// piece of shared work until when. `epoch` grows by one each time the lease passes to a holder
// (from free, expired or released; a holder renewing its own lease keeps it), so a write fenced
// with (holder, epoch) is refused once anyone else has held the lease since.
struct Lease {
  std::string name;
  std::string holder;  // replica id; "" = free (released, or never taken)
  int64_t epoch = 0;   // 0 = never taken
  Timestamp acquired_at{};  // when `holder` got it at this epoch
  Timestamp expires_at{};   // held while now < expires_at

  bool held_by(std::string_view replica, Timestamp now) const {
    return !holder.empty() && holder == replica && now < expires_at;
  }
};

// A tocsin replica as the membership table knows it: each one upserts its row every lease
// renewal (Tx::heartbeat_replica).
struct Replica {
  std::string id;
  std::string address;  // server.advertise_url, or the URL it serves on
  Timestamp started_at{};
  Timestamp heartbeat_at{};
};

// One replica's checkpoint of its rule engine's learned detector state (the bytes of
// detect::RuleEngine::snapshot(); opaque to the store, any bytes). Per replica, because each
// replica learns the series it owns; the replica that takes a series over reads the last
// checkpoint of its former owner (docs/high-availability.md, "Detector state checkpoints").
struct DetectorState {
  std::string replica_id;
  Timestamp saved_at{};
  std::string state;
};

// Checks a DrillRun before it is stored: mode, score range, times in order, a JSON-object
// scorecard, non-empty names. invalid_argument naming the field; the store calls it too.
Status validate_drill_run(const DrillRun& run);
// "simulated drill of plan crash, scenario X: score 87.5, passed": a run in one line, for the
// audit log.
std::string describe_drill_run(const DrillRun& run);

// The operations available inside one transaction.
class Tx {
 public:
  virtual ~Tx() = default;

  // Alerts
  virtual Status upsert_alert(const AlertRecord& alert) = 0;
  virtual Result<std::optional<AlertRecord>> get_alert(uint64_t fingerprint) = 0;
  virtual Result<std::vector<AlertRecord>> list_alerts(std::optional<AlertState> state) = 0;
  // A re-sent alert whose only change is its end and receipt time (how Prometheus re-sends):
  // writes just those columns. not_found when there is no such alert.
  virtual Status touch_alert(uint64_t fingerprint, std::optional<Timestamp> ends_at, bool ends_at_from_timeout,
                             Timestamp updated_at) = 0;
  // Deletes resolved alerts with updated_at < before that belong to no incident. Returns how many.
  virtual Result<int> delete_resolved_alerts(Timestamp before) = 0;

  // Alert firings (the record of the silenced share). insert_alert_firing assigns and returns the
  // id; list_alert_firings returns those with since <= at < until, oldest first (at, then id);
  // delete_alert_firings drops those with at < before and returns how many.
  virtual Result<int64_t> insert_alert_firing(const AlertFiring& firing) = 0;
  virtual Result<std::vector<AlertFiring>> list_alert_firings(Timestamp since, Timestamp until) = 0;
  virtual Result<int> delete_alert_firings(Timestamp before) = 0;

  // Silences
  virtual Status upsert_silence(const Silence& silence) = 0;
  virtual Result<std::optional<Silence>> get_silence(std::string_view id) = 0;
  virtual Result<std::vector<Silence>> list_silences() = 0;  // ordered by id
  // Deletes silences that ended before `before`. Returns how many.
  virtual Result<int> delete_expired_silences(Timestamp before) = 0;
  // A cheap summary of every silence (count, and the latest and summed update and end times):
  // it changes when a silence is added, deleted, or written with a new updated_at or ends_at (as
  // every change the alerting layer makes is). Replicas sharing the store compare it to decide
  // when to reload silences another one changed. Opaque; compare for equality only.
  virtual Result<std::string> silences_version() = 0;

  // Notification log
  virtual Result<std::optional<NotificationLogEntry>> get_nflog(std::string_view receiver,
                                                                std::string_view group_key) = 0;
  virtual Status upsert_nflog(const NotificationLogEntry& entry) = 0;
  virtual Result<std::vector<NotificationLogEntry>> list_nflog() = 0;
  virtual Result<int> delete_expired_nflog(Timestamp now) = 0;  // expires_at <= now

  // Incidents. insert_incident assigns and returns the id; it stores the row only (alerts, tasks
  // and timeline go through their own calls). update_incident writes every column of the row.
  virtual Result<int64_t> insert_incident(const Incident& incident) = 0;
  virtual Status update_incident(const Incident& incident) = 0;
  virtual Result<std::optional<Incident>> get_incident(int64_t id) = 0;  // with details
  virtual Result<std::vector<Incident>> list_incidents(const IncidentFilter& filter) = 0;  // newest first
  // The newest incident with this group key that is not resolved or closed.
  virtual Result<std::optional<Incident>> find_open_incident(std::string_view group_key) = 0;
  // Incidents whose escalation_next_at <= now and status is triggered, oldest due first.
  virtual Result<std::vector<Incident>> incidents_due_for_escalation(Timestamp now, int limit) = 0;

  virtual Status upsert_incident_alert(int64_t incident_id, const IncidentAlert& alert) = 0;
  virtual Status insert_task(int64_t incident_id, const Task& task) = 0;
  virtual Status update_task(int64_t incident_id, const Task& task) = 0;
  // Open tasks past due and not yet reported overdue, of incidents that are not resolved or
  // closed: (incident id, task), earliest due first.
  virtual Result<std::vector<std::pair<int64_t, Task>>> overdue_tasks(Timestamp now, int limit) = 0;
  virtual Result<std::optional<Timestamp>> next_task_due() = 0;

  // Related incidents: an undirected link, stored once per pair.
  virtual Status insert_link(int64_t a, int64_t b, Timestamp at) = 0;

  // Plan clocks of incidents.
  virtual Status upsert_clock(const IncidentClock& clock) = 0;
  virtual Result<std::vector<IncidentClock>> due_clocks(Timestamp now, int limit) = 0;
  virtual Result<std::optional<Timestamp>> next_clock_due() = 0;
  virtual Result<int64_t> append_timeline(const TimelineEvent& event) = 0;

  // Action runs. update_action_run writes every column of the row (not_found when it is absent).
  virtual Status insert_action_run(const ActionRun& run) = 0;
  virtual Status update_action_run(const ActionRun& run) = 0;
  virtual Result<std::optional<ActionRun>> get_action_run(int64_t incident_id, std::string_view step) = 0;
  virtual Result<std::vector<ActionRun>> list_action_runs(ActionState state) = 0;  // by incident, step
  // Pending runs with next_attempt_at <= now, oldest due first.
  virtual Result<std::vector<ActionRun>> due_action_runs(Timestamp now, int limit) = 0;
  // The earliest next_attempt_at among pending runs.
  virtual Result<std::optional<Timestamp>> next_action_run_due() = 0;

  // Notifications
  virtual Result<int64_t> insert_notification(const Notification& n) = 0;
  virtual Status update_notification(const Notification& n) = 0;
  // Pending notifications with next_attempt_at <= now, oldest due first.
  virtual Result<std::vector<Notification>> due_notifications(Timestamp now, int limit) = 0;
  // The earliest next_attempt_at among pending notifications.
  virtual Result<std::optional<Timestamp>> next_notification_due() = 0;
  // The earliest next_attempt_at later than `after` among pending notifications: when the next
  // one falls due while those due now are being sent in the background.
  virtual Result<std::optional<Timestamp>> next_notification_due_after(Timestamp after) = 0;
  // Pending notifications by channel kind: how many, and when the oldest of them was created.
  virtual Result<std::vector<NotificationBacklog>> notification_backlog() = 0;
  virtual Result<std::vector<Notification>> list_notifications(int64_t incident_id) = 0;
  virtual Result<int64_t> insert_attempt(const NotificationAttempt& a) = 0;
  virtual Result<std::vector<NotificationAttempt>> list_attempts(int64_t notification_id) = 0;

  // The earliest escalation_next_at among triggered incidents.
  virtual Result<std::optional<Timestamp>> next_escalation_due() = 0;

  // Drill history. insert_drill_run validates (validate_drill_run) and assigns the id.
  virtual Result<int64_t> insert_drill_run(const DrillRun& run) = 0;
  virtual Result<std::optional<DrillRun>> get_drill_run(int64_t id) = 0;  // with its scorecard
  // Newest first (ran_at, then id).
  virtual Result<std::vector<DrillRun>> list_drill_runs(const DrillRunFilter& filter) = 0;
  // Per plan, the ran_at of its latest drill run (any mode): what the drill calendar counts from.
  virtual Result<std::map<std::string, Timestamp>> last_drill_runs() = 0;

  // Live drills. update_live_drill writes every column (not_found when absent).
  virtual Result<int64_t> insert_live_drill(const LiveDrill& drill) = 0;
  virtual Status update_live_drill(const LiveDrill& drill) = 0;
  virtual Result<std::optional<LiveDrill>> get_live_drill(int64_t id) = 0;
  virtual Result<std::vector<LiveDrill>> list_live_drills(bool running_only) = 0;  // newest first

  // Postmortems. upsert_postmortem writes every column (the incident must exist).
  virtual Result<std::optional<Postmortem>> get_postmortem(int64_t incident_id) = 0;
  virtual Status upsert_postmortem(const Postmortem& postmortem) = 0;

  // Action items. insert_action_item assigns and returns the id; update_action_item writes every
  // column (not_found when absent).
  virtual Result<int64_t> insert_action_item(const ActionItem& item) = 0;
  virtual Status update_action_item(const ActionItem& item) = 0;
  virtual Result<std::optional<ActionItem>> get_action_item(int64_t id) = 0;
  // Ordered by due_at, then id.
  virtual Result<std::vector<ActionItem>> list_action_items(const ActionItemFilter& filter) = 0;
  // One COUNT over the open items (what /metrics shows).
  virtual Result<ActionItemCounts> count_action_items(Timestamp now) = 0;

  // The audit log. append_audit assigns and returns the id (the entry's own id is ignored);
  // list_audit returns the matching entries oldest first (at, then id).
  virtual Result<int64_t> append_audit(const AuditEntry& entry) = 0;
  virtual Result<std::vector<AuditEntry>> list_audit(const AuditFilter& filter) = 0;

  // Every plan clock of every incident, by incident then name (the compliance report's input).
  virtual Result<std::vector<IncidentClock>> list_clocks() = 0;

  // Web UI sessions, by the SHA-256 of their id. insert_session fails (invalid_argument) on an
  // id already stored; touch_session sets last_seen_at (no error when absent); delete_session
  // returns whether one was deleted; delete_expired_sessions removes those with expires_at <= now.
  virtual Status insert_session(const Session& session) = 0;
  virtual Result<std::optional<Session>> get_session(std::string_view id_sha256) = 0;
  virtual Status touch_session(std::string_view id_sha256, Timestamp last_seen_at) = 0;
  virtual Result<bool> delete_session(std::string_view id_sha256) = 0;
  virtual Result<int> delete_expired_sessions(Timestamp now) = 0;

  // Leases (struct Lease). get_lease: empty when never taken; put_lease writes every column
  // (insert or replace); list_leases: by name. The rules live in the non-virtual helpers below,
  // once for every backend; on PostgreSQL they are atomic against another replica's transaction
  // because writes run SERIALIZABLE (one of two racing acquisitions fails, retryable, and changes
  // nothing).
  virtual Result<std::optional<Lease>> get_lease(std::string_view name) = 0;
  virtual Status put_lease(const Lease& lease) = 0;
  virtual Result<std::vector<Lease>> list_leases() = 0;
  // Takes `name` for `holder` until now + ttl when it is free, expired (expires_at <= now) or
  // already `holder`'s (a renewal: same epoch, later expiry); otherwise changes nothing. Returns
  // the lease as it is afterwards: held_by(holder, now) says whether holder has it.
  Result<Lease> acquire_lease(std::string_view name, std::string_view holder, Timestamp now, Duration ttl);
  // Whether `holder` still has `name` at `epoch` and it has not expired at `now`: the fencing
  // check a holder's writes make first, in their own transaction.
  Result<bool> holds_lease(std::string_view name, std::string_view holder, int64_t epoch, Timestamp now);
  // Frees `name` if `holder` has it at `epoch` (a clean shutdown: a standby need not wait for
  // the expiry). Returns whether it did.
  Result<bool> release_lease(std::string_view name, std::string_view holder, int64_t epoch, Timestamp now);

  // Replicas (struct Replica). heartbeat_replica inserts or replaces the row of replica.id;
  // list_replicas: by id; delete_replica: whether one was deleted; delete_stale_replicas: those
  // with heartbeat_at < before, returns how many. delete_stale_replicas also deletes the detector
  // states (below) saved before `before` by replicas that, afterwards, have no row: those it
  // deleted and those that left by delete_replica (a clean stop). delete_replica keeps the
  // replica's detector state, so the replicas taking over its series can still read it.
  virtual Status heartbeat_replica(const Replica& replica) = 0;
  virtual Result<std::vector<Replica>> list_replicas() = 0;
  virtual Result<bool> delete_replica(std::string_view id) = 0;
  virtual Result<int> delete_stale_replicas(Timestamp before) = 0;

  // Detector state checkpoints (struct DetectorState). put_detector_state inserts or replaces the
  // row of replica_id (the bytes are stored exactly, NULs included); list_detector_states: by
  // replica_id; delete_detector_state: whether one was deleted.
  virtual Status put_detector_state(std::string_view replica_id, Timestamp saved_at, std::string_view state) = 0;
  virtual Result<std::vector<DetectorState>> list_detector_states() = 0;
  // Only those saved after `after` (the rows are large: a replica re-reading for news skips the rest).
  virtual Result<std::vector<DetectorState>> list_detector_states_saved_after(Timestamp after) = 0;
  virtual Result<bool> delete_detector_state(std::string_view replica_id) = 0;
};

// A committed write that other transactions already see but that may not be durable yet (on
// SQLite: its WAL frames are written, not yet flushed). Store::make_durable returns once it is.
// seq 0: nothing to wait for. Of two, the later one (the larger seq) covers both.
struct PendingCommit {
  uint64_t seq = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Returns once what fn wrote is committed and durable: a crash right after loses nothing.
  virtual Status write(const std::function<Status(Tx&)>& fn) = 0;
  virtual Status read(const std::function<Status(Tx&)>& fn) = 0;
  virtual int schema_version() = 0;

  // write() in two halves: returns once the commit is visible to other transactions; the
  // caller reports success only after make_durable(commit) returned ok. Between the two it can
  // release its own locks, so that others act on what it wrote (a notification leaves) while
  // the disk flushes — the flush is then off their path, not skipped. A store whose commit is
  // durable by itself (PostgreSQL with synchronous_commit on) keeps this default.
  virtual Result<PendingCommit> write_visible(const std::function<Status(Tx&)>& fn) {
    TOCSIN_RETURN_IF_ERROR(write(fn));
    return PendingCommit{};
  }
  virtual Status make_durable(PendingCommit) { return {}; }
};

}  // namespace tocsin::store
