// The engine: one running tocsin loop over a store, a clock and a config. It owns the streaming
// rule engine, the alerting pipeline (Alertmanager semantics, for rule alerts and alerts from
// outside alike), the incident service and the reconcile modules (rule timers → alert-group
// flushes → escalation → step deadlines and plan clocks → delivery → step actions, run in that fixed order), and is what the server, the drills and the tests drive —
// with a SystemClock or a SimulatedClock alike.
//
// Writes (ingest, alerts, silences, ack, resolve, notes) run in one store transaction each and return only once
// it is committed. run_due(now) runs the modules and returns when they next have work; whoever
// drives the engine calls it again then, or sooner after a write (on_wake is called when a write
// may have made work due earlier).
// Thread-safety: every public method may be called from any thread. Writes and module runs are
// serialised by an internal mutex; notification sends and step actions happen outside it.
#pragma once

#include <atomic>
#include <concepts>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "action/executor.h"
#include "action/runner.h"
#include "alerting/pipeline.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "core/sample.h"
#include "detect/rule_engine.h"
#include "engine/compliance.h"
#include "engine/drill_calendar.h"
#include "engine/lease.h"
#include "engine/live_risk.h"
#include "engine/ownership.h"
#include "engine/sample_forwarder.h"
#include "escalation/deadlines.h"
#include "escalation/escalator.h"
#include "incident/service.h"
#include "ingest/remote_write.h"
#include "notify/deliverer.h"
#include "store/store.h"
#include "tsdb/sample_log.h"
#include "tsdb/series_store.h"

namespace tocsin::engine {

struct EngineOptions {
  std::shared_ptr<const config::Config> config;
  store::Store* store = nullptr;
  core::Clock* clock = nullptr;
  core::MetricsRegistry* metrics = nullptr;
  std::map<std::string, notify::Sender*> senders;  // channel kind -> sender
  std::string external_url;
  notify::RetryPolicy retry;
  // Delivery lanes; `background` (the server on a real clock): run_due() does not wait for the
  // sends it starts (notify/deliverer.h).
  notify::DeliveryOptions delivery;
  // Where the rule engine's learned state and the recent samples are kept across restarts;
  // empty = not kept.
  std::filesystem::path state_file;
  std::filesystem::path series_file;
  // The sample log's directory (empty = no log; needs both files above): every accepted batch is
  // logged before ingest returns, and replayed after the snapshots at the next start, so a
  // process crash loses no sample and no learning. See tsdb/sample_log.h.
  std::filesystem::path sample_log_dir;
  // Carries out the automated actions of plan steps (action/runner.h). Null: action runs are
  // created and can be approved, but none is started.
  action::Executor* action_executor = nullptr;
  action::RetryPolicy action_retry{};
  // Signs the acknowledge links in pages (notify/ack_link.h); empty = pages carry none.
  std::string ack_key;
  // The engine lease (engine/lease.h): only its holder runs escalation, deadlines and clocks,
  // deliveries, step actions and the store's GC. The defaults suit a store this process owns alone.
  LeaseOptions lease;
  // Partitioned ingestion (docs/high-availability.md, "Detection across replicas"): with a shared
  // store (lease.exclusive_store false) and a forwarder, every ingested batch is split by the
  // owner of each series (engine/ownership.h) and the other owners' parts are forwarded to them.
  // Null: every sample is ingested here, as with one replica.
  SampleForwarder* forwarder = nullptr;
};

// Who makes a change, for the audit log (docs/compliance.md): the actor as the request names it (a
// person id, a token name; the API's default is "api") and where the request came from (the HTTP
// peer "ip:port"; "" when not known). Converts from any string, so callers that know only a name
// pass it as before. Views: valid for the call only.
struct Actor {
  template <class S>
  requires std::convertible_to<const S&, std::string_view> Actor(
      const S& actor_name, std::string_view actor_source = {})  // NOLINT(google-explicit-constructor)
      : name(actor_name), source(actor_source) {}
  std::string_view name;
  std::string_view source;
};

// What one mutation writes to the audit log besides who and when.
struct AuditNote {
  std::string action;  // "incident.acknowledge", "silence.create", …
  std::string object;  // "incident/12", "silence/<uuid>", …
  std::string detail;
};

// Recent samples of the series that matched a read (Engine::read_series).
struct SeriesWindow {
  core::Labels labels;
  std::vector<tsdb::Point> points;  // oldest first
};
struct SeriesRead {
  std::vector<SeriesWindow> series;  // sorted by labels
  bool truncated = false;            // more series had samples in the range than the limit
};

class Engine {
 public:
  static core::Result<std::unique_ptr<Engine>> create(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Ingests samples: appends them to their series and evaluates the rules; durable (logged) when
  // this returns. In cluster mode (EngineOptions::forwarder) the batch is first split by series
  // owner (engine_forwarding.cc): this replica's part is ingested here, each other owner's part is
  // forwarded to it outside the engine mutex (in parallel), and a part whose forward fails is
  // ingested here instead; the counts are merged. An error only when this replica's own ingest
  // failed (what was forwarded stays forwarded: a re-send is dropped there as duplicates).
  core::Result<IngestResult> ingest(const std::vector<core::Sample>& samples);
  // The same for series batches (remote_write): each series' labels are looked up once.
  core::Result<IngestResult> ingest(const std::vector<ingest::Series>& series);
  // Ingests everything here, whatever the ownership view says: samples another replica forwarded
  // (so two replicas whose views disagree for a moment never send a batch back and forth).
  core::Result<IngestResult> ingest_local(const std::vector<ingest::Series>& series);
  core::Result<IngestResult> ingest_local(const std::vector<core::Sample>& samples);
  // The series ownership view ingestion routes by (engine/ownership.h; never null) and its epoch,
  // which grows at every change of the live members: the hook to notice that series changed hands.
  // It follows the lease's view (EngineLease::ownership) once hand_over_series has given the
  // series that moved here their state: a sample routed here by a new view is judged against the
  // baseline its previous owner learned, never by a young detector that the handoff then drops.
  std::shared_ptr<const SeriesOwnership> ownership() const;
  uint64_t ownership_epoch() const { return ownership()->epoch(); }
  // Alerts from outside (Alertmanager API v2, Alertmanager webhooks), already validated. Durable
  // when this returns.
  core::Result<size_t> receive_alerts(std::vector<alerting::Alert> alerts);
  // Re-sends read in place (the API's fast path, alerting::Pipeline::plan_resends): when every
  // alert is a re-send of a held alert that changes only its times, they are taken as
  // receive_alerts() would take the same alerts, durable when this returns; nullopt (nothing
  // done) otherwise, and the caller builds the alerts for receive_alerts().
  std::optional<core::Result<size_t>> receive_resends(std::span<const alerting::AlertView> alerts);
  // Silences: create or update (returns the id in effect), expire. Audited with the silence's
  // createdBy as the actor; `source` is where the request came from.
  core::Result<std::string> set_silence(store::Silence silence, std::string_view source = {});
  // `actor` names who expired it (the authenticated principal); empty: whoever created it, since
  // Alertmanager's DELETE names nobody.
  core::Status expire_silence(std::string_view id, std::string_view source = {}, std::string_view actor = {});
  std::vector<store::Silence> silences();
  std::optional<store::Silence> silence(std::string_view id);
  // Read models of the pipeline at clock.now().
  std::vector<alerting::AlertStatus> alert_statuses();
  std::vector<alerting::GroupStatus> alert_groups();
  std::vector<std::string> receivers();
  core::Timestamp now() const { return options_.clock->now(); }
  // The latest likelihood the live risk model computed for this `likelihood_from:` (nullopt before
  // its first run).
  std::optional<double> risk_likelihood(const config::RiskModelRef& ref) const { return live_risk_->likelihood(ref); }
  // Who fills a role target right now (a person id; "" for nobody or a channel).
  std::string who_fills(const config::Target& target) const { return incidents_.resolve_person(target, now()); }

  core::Result<store::Incident> acknowledge(int64_t id, const Actor& actor);
  core::Result<store::Incident> resolve(int64_t id, const Actor& actor);
  core::Result<store::Incident> add_note(int64_t id, const Actor& actor, std::string_view text);
  core::Result<store::Incident> mitigate(int64_t id, const Actor& actor);
  core::Result<store::Incident> close(int64_t id, const Actor& actor);
  core::Result<store::Incident> reopen(int64_t id, const Actor& actor);
  core::Result<store::Incident> set_severity(int64_t id, std::string_view severity, const Actor& actor);
  core::Result<store::Incident> relate(int64_t id, int64_t other, const Actor& actor);
  core::Result<store::Incident> record_event(int64_t id, std::string_view kind, std::string_view detail,
                                             const Actor& actor);
  core::Result<store::Incident> complete_task(int64_t id, std::string_view step, bool skipped, const Actor& actor);
  // Postmortems and action items (incident::IncidentService has the rules and errors); one write
  // transaction each, audited, durable when they return. close() is complete_postmortem().
  core::Status edit_postmortem(int64_t id, const std::vector<std::pair<std::string, std::string>>& fields,
                               const Actor& actor);
  core::Result<int64_t> add_action_item(int64_t id, std::string_view title, std::string_view owner,
                                        core::Timestamp due_at, const Actor& actor);
  core::Status set_action_item_done(int64_t id, int64_t item, bool done, const Actor& actor);
  core::Result<store::Incident> complete_postmortem(int64_t id, const Actor& actor);
  core::Result<std::vector<store::ActionItem>> list_action_items(const store::ActionItemFilter& filter);
  // Lets the approval-gated action of `step` run (action::ActionRunner::approve has the errors).
  core::Result<store::Incident> approve_action(int64_t id, std::string_view step, const Actor& actor);
  core::Result<std::vector<store::Incident>> list_incidents(const store::IncidentFilter& filter);
  core::Result<store::Incident> get_incident(int64_t id);
  // The audit hook of every change a person or an API client makes: runs fn in one write
  // transaction under the engine lock, with the audit entry (`what` by `actor` at now()) written
  // first in that same transaction, so fn's error rolls both back and success makes both durable.
  // New mutations call this (or, already inside a transaction, append_audit below) so that none
  // goes unrecorded.
  core::Status audited_write(const Actor& actor, AuditNote what,
                             const std::function<core::Status(store::Tx&, core::Timestamp)>& fn);
  // Records a change that is not a store write (the simulated clock moving) in a transaction of its own.
  core::Status record_audit(const Actor& actor, AuditNote what);
  // The audit log, oldest first (store::Tx::list_audit).
  core::Result<std::vector<store::AuditEntry>> list_audit(const store::AuditFilter& filter);
  // Appends the audit entry of `what` by `actor` at `now` inside a transaction the caller runs.
  static core::Status append_audit(store::Tx& tx, core::Timestamp now, const Actor& actor, AuditNote what);

  // A consistent read-only view of the store, for read models built above the engine (the
  // postmortem report): fn must not keep the Tx.
  core::Status read_store(const std::function<core::Status(store::Tx&)>& fn) { return options_.store->read(fn); }

  // Drill history (docs/drills.md). record_drill_run stamps ran_at with now,
  // checks that the plan exists and validates the record (store::validate_drill_run); the run is
  // durable when it returns, with its id.
  core::Result<store::DrillRun> record_drill_run(store::DrillRun run, const Actor& actor = "api");
  core::Result<std::vector<store::DrillRun>> list_drill_runs(const store::DrillRunFilter& filter);
  core::Result<store::DrillRun> get_drill_run(int64_t id);  // not_found when absent
  // The drill calendar at now() (drill_calendar.h).
  core::Result<std::vector<DrillCalendarEntry>> drill_calendar();
  // The compliance status at now() (compliance.h).
  core::Result<ComplianceReport> compliance();

  // Live drills. Starting one needs a known plan and at least one participant, each a person in
  // the config; alerts labelled drill="<id>" then open drill incidents that page only them.
  // `scenario_yaml` (optional) is the scenario file's text, kept with the drill so that it can be
  // scored when it finishes; the caller has parsed and validated it.
  core::Result<store::LiveDrill> start_live_drill(std::string scenario, std::string plan,
                                                  std::vector<std::string> participants, const Actor& actor,
                                                  std::string scenario_yaml = {});
  // Ends a running live drill (not_found; failed_precondition when already finished). Its open
  // drill incidents stop escalating. With `scored`, the scored run is stored too (mode live,
  // linked to the drill), in the same transaction; its id is the drill's `run`.
  core::Result<store::LiveDrill> finish_live_drill(int64_t id, const Actor& actor,
                                                   std::optional<store::DrillRun> scored);
  // Scores a finishing live drill from what the store holds, inside the transaction that
  // finishes it (after its escalation stopped): `drill` has finished_at = now. The engine knows
  // nothing of scenarios; the caller (the API, with drill/live_score.h) does.
  using LiveDrillScorer =
      std::function<core::Result<store::DrillRun>(store::Tx& tx, const store::LiveDrill& drill, core::Timestamp now)>;
  // The same, the scored run computed by `scorer` (an error from it rolls everything back: the
  // drill stays running).
  core::Result<store::LiveDrill> finish_live_drill(int64_t id, const Actor& actor, const LiveDrillScorer& scorer);
  core::Result<std::vector<store::LiveDrill>> live_drills(bool running_only);
  core::Result<store::LiveDrill> get_live_drill(int64_t id);  // not_found when absent

  // Runs rule timers, escalation and delivery for `clock.now()`. Returns the next time any of
  // them has work (empty: nothing scheduled), the engine lease's next renewal included. On a
  // standby (another replica holds the engine lease) only the per-replica modules run — rule
  // timers, live risk, alert-group flushes — and the lease is tried again when it may be free.
  core::Result<std::optional<core::Timestamp>> run_due();

  // A clean shutdown, after the last run_due(): waits for the sends in progress (their records
  // are written under the lease), then frees the lease so that a standby takes over at once, and
  // leaves the membership table.
  core::Status release_lease();
  // Replicas and leases as the store has them (GET /api/v1/cluster).
  core::Result<ClusterStatus> cluster();
  const std::string& cluster_id() const { return lease_->replica_id(); }
  // Whether this replica holds the engine lease now.
  bool holds_engine_lease() const { return lease_->held(now()); }

  // Writes the rule engine's learned state to options.state_file and the recent samples to
  // options.series_file (each atomically: temp file, fsync, rename), both as of the same moment,
  // and starts a new sample log segment at that moment; once both files are durable, the
  // segments before it are deleted. A no-op without the files.
  core::Status save_state();
  // Makes the logged samples durable against a machine crash (fdatasync). Cheap when nothing
  // was logged since; never holds up ingestion. The server calls it once a second.
  // While the sample log refuses writes (see sample_log_problem()) it also tries again: a probe
  // write in the log's directory, then a snapshot (save_state) of what memory holds — the
  // batches the log refused reached memory before it did — and then ingestion is taken again.
  core::Status sync_sample_log();
  // Empty while the sample log takes writes; else why not. Meanwhile ingestion answers
  // `unavailable` and changes nothing, so that a 2xx still means the samples survive a crash.
  std::string sample_log_problem();
  // How many samples the sample log held at start (replayed into memory; 0 without a log). They
  // are in no snapshot yet: the server saves one soon after such a start (see server.cc).
  size_t replayed_samples() const { return replayed_samples_; }
  std::vector<detect::RuleHealth> rule_health();
  // The recent samples (what the series store holds: the retention window) of the series
  // matching every matcher, with from <= ts <= to; series without a sample there are left out;
  // at most `limit` series, the first by labels. For the charts and the series API.
  // Locking: only the series store's own mutex, taken once to select and once per series to copy
  // its samples — never the engine mutex — so a reader on an HTTP thread neither waits for a rule
  // evaluation nor holds up ingestion for longer than one series' copy. A series the store's gc
  // drops in between is left out. With `history_from` (before `from`), a chosen series' samples
  // are copied from there instead: the history a replay warms up on.
  SeriesRead read_series(const std::vector<core::Matcher>& matchers, core::Timestamp from, core::Timestamp to,
                         size_t limit, std::optional<core::Timestamp> history_from = std::nullopt) const;

  void set_on_wake(std::function<void()> fn);
  // Ends the background sends (what waits stays pending in the store) and waits for those in
  // progress, so that no send calls the wake hook afterwards; call it before whatever the hook
  // wakes goes away. run_due() must not be called again.
  void stop_deliveries();
  const config::Config& config() const { return *options_.config; }
  std::shared_ptr<const config::Config> shared_config() const { return options_.config; }
  const std::string& external_url() const { return options_.external_url; }

 private:
  Engine(EngineOptions options, std::unique_ptr<tsdb::SeriesStore> series, std::unique_ptr<detect::RuleEngine> rules,
         std::unique_ptr<alerting::Pipeline> pipeline, std::unique_ptr<EngineLease> lease);
  void wake();
  // /metrics: tocsin_action_items_open and tocsin_action_items_overdue, from one COUNT query.
  std::string render_action_item_gauges();
  // /metrics: tocsin_notify_pending and tocsin_notify_oldest_pending_age_seconds, by channel kind.
  std::string render_notification_backlog();
  // One responder action in one transaction, under the engine lock, audited (audited_write).
  core::Result<store::Incident> respond(
      const Actor& actor, AuditNote what,
      const std::function<core::Result<store::Incident>(store::Tx&, core::Timestamp)>& action);
  core::Status audited_write_locked(const Actor& actor, AuditNote what,
                                    const std::function<core::Status(store::Tx&, core::Timestamp)>& fn);
  // Appends one series' points to the series store and evaluates them; collects alert events.
  // `fingerprint` is labels.fingerprint().
  void ingest_locked(const core::Labels& labels, uint64_t fingerprint, uint64_t labels_id,
                     std::span<const ingest::Point> points, std::vector<detect::AlertEvent>& events,
                     IngestResult& result);
  template <class Batch>
  core::Result<IngestResult> ingest_batch(const Batch& batch);
  // ingest() in cluster mode: split by owner, forward, fall back (engine_forwarding.cc).
  template <class Batch>
  core::Result<IngestResult> ingest_routed(const Batch& batch);
  bool partitioning() const { return options_.forwarder != nullptr && !options_.lease.exclusive_store; }
  // Series handoff between replicas (engine_handoff.cc; docs/high-availability.md, "Detector
  // state across replicas"). Run on the driver after each lease renewal: when the ownership view
  // changed, checkpoints this replica's detector state to the store, drops the series it no
  // longer owns and takes over, from the other replicas' checkpoints and the stored alert
  // phases, the series it now owns; for two renewals after that it merges any newer checkpoint
  // (the previous owners write theirs when they see the change, which may be after this one).
  core::Status hand_over_series(core::Timestamp now);
  // Writes rules_->snapshot() to the store as this replica's checkpoint (not on an exclusive store).
  core::Status checkpoint_detector_state(core::Timestamp now);
  // The same every minute (save_state), except soon after a view change (keep_checkpoint_until_ms_).
  core::Status periodic_checkpoint(core::Timestamp now);
  // The other replicas' checkpoints, read without the engine mutex (they are large). With
  // `only_if_new`, none unless one was written since the handoff that was not merged yet.
  core::Result<std::vector<store::DetectorState>> other_checkpoints(bool only_if_new);
  // Under mu_: gives the series this replica owns in `view` but not in `before` the newest state
  // any of `states` has for them (a state this replica started for one since is dropped first: a
  // young detector must not win over a learned baseline by having seen the latest sample), merges
  // the rest where newer, and seeds the stored alert phases. Returns (and logs) the series states
  // merged.
  core::Result<size_t> adopt_series_locked(std::vector<store::DetectorState> states, const SeriesOwnership& view,
                                           const SeriesOwnership& before);
  // limits.max_series: refuses (invalid_argument naming the first series that does not fit) a
  // batch whose new series would not all fit, before any of it is applied. O(1) unless the store
  // is within the batch's size of the cap.
  template <class Batch>
  core::Status check_series_room_locked(const Batch& batch);
  // What a request's (or a pass's) alert transactions leave to do once it lets go of mu_: the
  // commit to make durable, whether they created notifications to start, and whether the driver
  // has to look again (a new group's timers; the request's notifications' records) — which a
  // request does once its notifications are on their way (finish_request), so that the driver's
  // pass does not compete with the send for the CPU and the store.
  struct AlertsCommit {
    store::PendingCommit durable;
    bool notifications = false;
    bool wake_driver = false;
  };
  // receive_alerts up to a visible commit (what is left to do in `commit`), under mu_.
  core::Status receive_alerts_visible(std::vector<alerting::Alert> alerts, AlertsCommit& commit);
  // The incidents just opened (by a request, or a pass's rules) page their first due level here,
  // in a fenced transaction of their own right after the one that opened them, instead of in the
  // driver's next pass: the request then starts those pages itself (finish_request), without a
  // hop to the driver. Only on the lease holder; false when not done here (a standby, or the
  // write failed: logged), and the driver pages them.
  bool escalate_opened_locked(core::Timestamp now, AlertsCommit& commit);
  // Hands the due notifications to the delivery lanes from a request's thread, right after its
  // commit became visible and before its flush, so that a page does not wait for the driver's
  // pass to reach its delivery step (with background delivery, on the lease holder; the pass
  // still runs and finds them handed out). False when they were not handed out here (a standby,
  // or the store failed): then they are the driver's.
  bool start_deliveries_now();
  // A request's end, outside mu_: starts the notifications its commit created (when it created
  // any), waits for the commit to be durable, then wakes the driver when the commit asks for it
  // (before the flush when the notifications are left to the driver).
  core::Status finish_request(const AlertsCommit& commit);
  core::Result<std::vector<int64_t>> apply_locked(const std::vector<detect::AlertEvent>& events, core::Timestamp now,
                                                   AlertsCommit& commit);
  // Alerts into the pipeline, and incidents for those that match a plan, in one transaction.
  // The transaction is visible when this returns, and `commit` gains what is left to do: a
  // request does it (finish_request) after it lets go of mu_, so that the notifications it
  // created leave while the disk flushes; its success waits for the flush.
  core::Result<std::vector<int64_t>> receive_locked(std::vector<alerting::Alert> alerts,
                                                    const std::vector<detect::AlertEvent>& pending, core::Timestamp now,
                                                    AlertsCommit& commit);
  // The same with the pipeline's part given: `receive` takes the alerts into the pipeline inside
  // the transaction (`any` says whether there are any).
  core::Result<std::vector<int64_t>> receive_changes_locked(
      bool any, const std::function<std::vector<alerting::AlertChange>()>& receive,
      const std::vector<detect::AlertEvent>& pending, core::Timestamp now, AlertsCommit& commit);
  // Flushes the alert groups due at `now` inside tx: their notifications and log entries, and the
  // incidents of plan alerts no longer muted (ids appended to `opened`). Returns the
  // notifications created. In two halves, so that a request can hand its notifications out
  // between them: flush_due_locked flushes (`from_memory`: without reading the groups' stored
  // log entries, for a store only this process writes) and inserts the notifications, ids
  // assigned; finish_flush_locked writes the rest.
  core::Result<size_t> flush_groups_locked(store::Tx& tx, core::Timestamp now, std::vector<int64_t>& opened);
  core::Result<alerting::FlushOutput> flush_due_locked(store::Tx& tx, core::Timestamp now, bool from_memory);
  core::Status finish_flush_locked(store::Tx& tx, core::Timestamp now, const alerting::FlushOutput& flushed,
                                   std::vector<int64_t>& opened);
  // Inside the transaction that created them, before its COMMIT: hands `created` to the delivery
  // lanes (with background delivery, on the lease holder), so that the sends overlap the commit;
  // `outcome` is made for them, and the caller settles it once the commit is known. Returns how
  // many were handed out; the rest are started after the commit (finish_request) or by the driver.
  size_t send_before_commit_locked(const std::vector<store::Notification>& created, core::Timestamp now,
                                   std::shared_ptr<notify::TransactionOutcome>& outcome);
  // After a failed transaction the pipeline's memory may be ahead of the store: start again from it.
  void reload_pipeline_locked(core::Timestamp now);
  // Reloads the silences when another replica sharing the store changed them (a failed read is
  // logged; the silences held stay).
  void sync_silences_locked();
  // Opens the sample log and replays it through ingest_locked, discarding the alert events.
  void open_sample_log();
  // Writes the batch's samples to the sample log (a failure is logged, and counted by the log).
  core::Status commit_log_locked();

  EngineOptions options_;
  std::mutex mu_;  // guards rules_ and serialises store writes made by the engine
  std::mutex delivery_mu_;  // one delivery pass at a time
  std::unique_ptr<tsdb::SeriesStore> series_;  // recent samples; rules_ reads it
  std::unique_ptr<detect::RuleEngine> rules_;
  std::unique_ptr<alerting::Pipeline> pipeline_;  // guarded by mu_
  std::unique_ptr<LiveRisk> live_risk_;  // update() under mu_
  std::vector<tsdb::Point> appended_;  // guarded by mu_: one series' appended points, reused per batch
  std::vector<uint64_t> fingerprints_;    // guarded by mu_: the batch's label fingerprints, reused
  std::unique_ptr<tsdb::SampleLog> log_;  // null without options.sample_log_dir; writes under mu_
  bool log_failing_ = false;              // guarded by mu_: a commit failed; ingestion is refused
  std::string log_problem_;               // guarded by mu_: why, while log_failing_
  std::mutex save_mu_;                    // one save_state() at a time (taken before mu_)
  size_t replayed_samples_ = 0;           // set once, in open_sample_log() at start
  // The view ingestion routes by (ownership()): set by hand_over_series under mu_ together with
  // the state of the series that moved; routing_mu_ guards the pointer only.
  mutable std::mutex routing_mu_;
  std::shared_ptr<const SeriesOwnership> routing_view_;
  // The series handoff (hand_over_series), on the driver thread only.
  std::shared_ptr<const SeriesOwnership> handled_view_;  // the view last handed over (null: none yet)
  std::shared_ptr<const SeriesOwnership> moved_from_;   // the view before it
  core::Timestamp handed_over_at_{};                    // when it was
  std::optional<core::Timestamp> adopt_until_;          // merge newer checkpoints until then
  core::Timestamp next_adopt_read_{};                   // … reading them once per renewal
  std::map<std::string, core::Timestamp> adopted_saved_at_;  // replica -> checkpoint last merged
  // Until then (ms since the epoch) the checkpoint written at the last view change stands: a
  // periodic one would leave out the series that moved away before their new owners read them.
  std::atomic<int64_t> keep_checkpoint_until_ms_{0};
  uint64_t checkpointed_view_epoch_ = 0;  // driver thread: the view change already checkpointed
  core::Timestamp last_gc_{};
  incident::IncidentService incidents_;
  escalation::Escalator escalator_;
  escalation::Deadlines deadlines_;
  // Created before the deliverer and the action runner, which ask it before each send/attempt.
  std::unique_ptr<EngineLease> lease_;
  std::unique_ptr<FencedStore> fenced_;  // options_.store behind the lease's fencing check
  std::atomic<bool> released_{false};    // release_lease() ran: no more passes
  notify::Deliverer deliverer_;
  std::mutex actions_mu_;  // one pass of step actions at a time
  std::unique_ptr<action::ActionRunner> actions_;
  std::function<void()> on_wake_;
  core::MetricsRegistry::CollectorId health_collector_ = 0;
  // /metrics' compliance gauges, recomputed at most once a minute so a scrape stays cheap.
  std::mutex compliance_mu_;
  std::optional<core::Timestamp> compliance_at_;  // guarded by compliance_mu_
  std::string compliance_text_;                   // guarded by compliance_mu_
  std::string compliance_metrics();
  core::Counter& samples_total_;
  core::Counter& alerts_firing_total_;
  core::Counter& incidents_opened_total_;
  core::Counter& alerts_received_total_;
  core::Counter& notifications_created_total_;
  core::Histogram& ingest_seconds_;
  core::Counter& out_of_order_total_;
  core::Counter& duplicates_total_;
  core::Counter& rejected_max_series_;    // tocsin_limits_rejected_total{limit="max_series"}
  core::Counter& rejected_max_alerts_;    // … {limit="max_alerts"}
  core::Counter& rejected_max_silences_;  // … {limit="max_silences"}
  // Partitioned ingestion (engine_forwarding.cc).
  core::Counter& forward_ok_;                 // tocsin_ingest_forward_total{result="ok"}
  core::Counter& forward_failed_;             // … {result="failed"}
  core::Counter& forwarded_samples_;          // tocsin_ingest_forwarded_samples_total
  std::atomic<bool> forward_failing_{false};  // a forward failed; logged once per streak
};

}  // namespace tocsin::engine
