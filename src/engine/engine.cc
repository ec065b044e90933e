#include "engine/engine.h"

#include <fmt/format.h>

#include <unordered_set>

#include <algorithm>
#include <cassert>
#include <fstream>
#include <sstream>
#include <tuple>
#include <utility>

#include "core/file_io.h"
#include "core/log.h"

namespace tocsin::engine {

namespace {

// How often retention runs over the recent samples and per-series rule state.
constexpr core::Duration kGcEvery = std::chrono::minutes(5);

// Prometheus text for per-rule health, rendered when /metrics is scraped.
std::string render_rule_health(const std::vector<detect::RuleHealth>& rules) {
  if (rules.empty()) return "";
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& r : rules) out += fmt::format("{}{{rule=\"{}\"}} {}\n", name, core::escape_label_value(r.rule), value(r));
  };
  family("tocsin_rule_evaluations_total", "counter", "Samples evaluated by the rule.",
         [](const detect::RuleHealth& r) { return r.evaluations; });
  family("tocsin_rule_series", "gauge", "Series the rule tracks.", [](const detect::RuleHealth& r) { return r.series; });
  family("tocsin_rule_alerts_pending", "gauge", "Pending alerts of the rule.",
         [](const detect::RuleHealth& r) { return r.pending; });
  family("tocsin_rule_alerts_firing", "gauge", "Firing alerts of the rule.",
         [](const detect::RuleHealth& r) { return r.firing; });
  family("tocsin_rule_alerts_flapping", "gauge", "Firing alerts held by flapping suppression.",
         [](const detect::RuleHealth& r) { return r.flapping; });
  family("tocsin_rule_last_evaluation_timestamp_seconds", "gauge", "Timestamp of the last sample evaluated.",
         [](const detect::RuleHealth& r) {
           return r.last_evaluation ? static_cast<double>(core::to_unix_ms(*r.last_evaluation)) / 1000.0 : 0.0;
         });
  family("tocsin_rule_evaluation_seconds_avg", "gauge", "Mean time to evaluate one sample (1 in 64 timed).",
         [](const detect::RuleHealth& r) { return r.evaluation_seconds_avg; });
  family("tocsin_rule_healthy", "gauge", "1 when the rule has no error.",
         [](const detect::RuleHealth& r) { return r.last_error.empty() ? 1 : 0; });
  return out;
}

// Plan review status (SPEC: `review_every`): overdue plans show up where people look.
std::string render_plan_reviews(const config::Config& config, core::Timestamp now) {
  std::string overdue;
  std::string due_at;
  for (const auto& plan : config.plans) {
    const auto due = config::review_due(plan);
    if (!due) continue;
    const std::string label = core::escape_label_value(plan.id);
    overdue += fmt::format("tocsin_plan_review_overdue{{plan=\"{}\"}} {}\n", label, *due <= now ? 1 : 0);
    due_at += fmt::format("tocsin_plan_review_due_timestamp_seconds{{plan=\"{}\"}} {}\n", label,
                          static_cast<double>(core::to_unix_ms(*due)) / 1000.0);
  }
  if (overdue.empty()) return "";
  return "# HELP tocsin_plan_review_overdue 1 when the plan is past its review date (reviewed + review_every).\n"
         "# TYPE tocsin_plan_review_overdue gauge\n" +
         overdue +
         "# HELP tocsin_plan_review_due_timestamp_seconds When the plan's next review is due (0: never reviewed).\n"
         "# TYPE tocsin_plan_review_due_timestamp_seconds gauge\n" +
         due_at;
}

}  // namespace

core::Result<std::unique_ptr<Engine>> Engine::create(EngineOptions options) {
  if (!options.config || !options.store || !options.clock || !options.metrics) {
    return std::unexpected(core::Error::internal("engine needs a config, a store, a clock and a metrics registry"));
  }
  if (!options.sample_log_dir.empty() && (options.state_file.empty() || options.series_file.empty())) {
    // A checkpoint deletes the log segments that the two files cover.
    return std::unexpected(core::Error::internal("the sample log needs a state file and a series file"));
  }
  // Recent samples first: over-time rules read them, and they survive a restart in series_file.
  tsdb::SeriesStoreOptions series_options;
  series_options.retention = options.config->server.retention;
  series_options.max_series = static_cast<size_t>(options.config->limits.max_series);
  std::unique_ptr<tsdb::SeriesStore> series;
  if (!options.series_file.empty() && std::filesystem::exists(options.series_file)) {
    auto loaded = tsdb::SeriesStore::load(options.series_file, series_options, *options.metrics);
    if (loaded) {
      series = std::move(*loaded);
    } else {
      core::log::error("recent samples not restored; starting empty",
                       {{"file", options.series_file.string()}, {"error", loaded.error().message()}});
    }
  }
  if (!series) series = std::make_unique<tsdb::SeriesStore>(series_options, *options.metrics);
  auto rules =
      TOCSIN_TRY(detect::RuleEngine::create(options.config->rules, detect::DetectorRegistry::builtin(), series.get(),
                                            options.clock));
  // Alerts that were pending or firing before a restart carry on from where they were.
  std::vector<detect::RestoredAlert> restored;
  TOCSIN_RETURN_IF_ERROR(options.store->read([&](store::Tx& tx) -> core::Status {
    for (auto state : {store::AlertState::kPending, store::AlertState::kFiring}) {
      for (const auto& a : TOCSIN_TRY(tx.list_alerts(state))) {
        if (a.rule.empty()) continue;  // received from outside, not ours to evaluate
        const auto phase = state == store::AlertState::kFiring ? detect::AlertPhase::kFiring : detect::AlertPhase::kPending;
        restored.push_back({a.fingerprint, phase, a.active_at, a.updated_at, a.value});
      }
    }
    return {};
  }));
  // Learned detector state first, then alert phases from the store (the store is the truth).
  if (!options.state_file.empty() && std::filesystem::exists(options.state_file)) {
    std::ifstream in(options.state_file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (auto st = rules->load_snapshot(bytes.str()); !st) {
      // A lost baseline is not worth refusing to page: start fresh, and say so.
      core::log::error("rule state not restored; detectors start fresh",
                       {{"file", options.state_file.string()}, {"error", st.error().message()}});
    }
  }
  auto pipeline = TOCSIN_TRY(alerting::Pipeline::create(options.config, options.external_url));
  // Step actions' templates are parsed here, so a broken one fails at start.
  auto lease = std::make_unique<EngineLease>(options.lease, *options.clock, *options.metrics);
  // Sends and actions start only while the lease is ours with room to spare (engine/lease.h).
  auto may_start = [lease = lease.get(), clock = options.clock] { return lease->active(clock->now()); };
  options.delivery.may_send = may_start;
  action::RunnerOptions runner_options{options.config, options.clock, options.action_executor, options.external_url,
                                       options.action_retry};
  runner_options.may_start = may_start;
  auto actions = TOCSIN_TRY(action::ActionRunner::create(std::move(runner_options)));
  TOCSIN_RETURN_IF_ERROR(options.store->read(
      [&](store::Tx& tx) -> core::Status { return pipeline->load(tx, options.clock->now()); }));
  auto live_risk = TOCSIN_TRY(LiveRisk::create(*options.config));
  auto engine = std::unique_ptr<Engine>(
      new Engine(std::move(options), std::move(series), std::move(rules), std::move(pipeline), std::move(lease)));
  engine->live_risk_ = std::move(live_risk);
  engine->actions_ = std::move(actions);
  // Then the samples logged after those snapshots, then the alert phases: replayed samples move
  // the state machines, but the store's alert records say where each alert really is.
  if (!engine->options_.sample_log_dir.empty()) engine->open_sample_log();
  engine->rules_->restore(std::move(restored));
  Engine* raw = engine.get();
  engine->health_collector_ = engine->options_.metrics->add_collector(
      [raw] {
        std::string drills;
        if (auto calendar = raw->drill_calendar()) drills = render_drill_calendar(*calendar);
        return render_rule_health(raw->rule_health()) + render_plan_reviews(raw->config(), raw->now()) + drills +
               raw->render_action_item_gauges() + raw->render_notification_backlog() + raw->compliance_metrics();
      });
  return engine;
}

Engine::Engine(EngineOptions options, std::unique_ptr<tsdb::SeriesStore> series,
               std::unique_ptr<detect::RuleEngine> rules, std::unique_ptr<alerting::Pipeline> pipeline,
               std::unique_ptr<EngineLease> lease)
    : options_(std::move(options)),
      series_(std::move(series)),
      rules_(std::move(rules)),
      pipeline_(std::move(pipeline)),
      incidents_(options_.config),
      escalator_(options_.config, incidents_, options_.external_url, options_.ack_key),
      deadlines_(options_.config, incidents_, escalator_),
      lease_(std::move(lease)),
      fenced_(std::make_unique<FencedStore>(*options_.store, *lease_, *options_.clock)),
      deliverer_(options_.senders, *options_.clock, options_.retry, options_.metrics, options_.delivery),
      samples_total_(options_.metrics->counter("tocsin_samples_ingested_total", "Samples accepted for detection.")),
      alerts_firing_total_(options_.metrics->counter("tocsin_alerts_fired_total", "Alerts that started firing.")),
      incidents_opened_total_(options_.metrics->counter("tocsin_incidents_opened_total", "Incidents opened.")),
      alerts_received_total_(options_.metrics->counter("tocsin_alerts_received_total",
                                                       "Alerts received from outside (API v2, webhooks).")),
      notifications_created_total_(options_.metrics->counter(
          "tocsin_group_notifications_total", "Notifications created by alert-group flushes (notify-only routes).")),
      ingest_seconds_(options_.metrics->histogram(
          "tocsin_ingest_seconds", "Time from receiving a batch of samples to its alerts being durable.")),
      out_of_order_total_(options_.metrics->counter("tocsin_samples_out_of_order_total",
                                                    "Samples dropped because they were older than the series' last.")),
      duplicates_total_(options_.metrics->counter("tocsin_samples_duplicate_total",
                                                  "Samples dropped because the series already had one at that time.")),
      rejected_max_series_(options_.metrics->counter("tocsin_limits_rejected_total",
                                                     "Requests refused whole because they were over a limit.",
                                                     {{"limit", "max_series"}})),
      rejected_max_alerts_(options_.metrics->counter("tocsin_limits_rejected_total",
                                                     "Requests refused whole because they were over a limit.",
                                                     {{"limit", "max_alerts"}})),
      rejected_max_silences_(options_.metrics->counter("tocsin_limits_rejected_total",
                                                       "Requests refused whole because they were over a limit.",
                                                       {{"limit", "max_silences"}})),
      forward_ok_(options_.metrics->counter("tocsin_ingest_forward_total",
                                            "Batch parts forwarded to the replica owning their series, by outcome "
                                            "(failed: ingested here instead).",
                                            {{"result", "ok"}})),
      forward_failed_(options_.metrics->counter("tocsin_ingest_forward_total",
                                                "Batch parts forwarded to the replica owning their series, by outcome "
                                                "(failed: ingested here instead).",
                                                {{"result", "failed"}})),
      forwarded_samples_(options_.metrics->counter("tocsin_ingest_forwarded_samples_total",
                                                   "Samples the replica owning their series took from this one.")) {
  routing_view_ = lease_->ownership();  // this replica alone until the first handoff
  // A send finished in the background: its retry time, or its dead letter, is for the next pass.
  deliverer_.set_on_done([this] {
    std::lock_guard lock(mu_);  // on_wake_ is set under it
    wake();
  });
}

Engine::~Engine() {
  // First, while every member the lanes' sends use (and wake) is still there.
  deliverer_.stop();
  options_.metrics->remove_collector(health_collector_);
}

std::string Engine::render_notification_backlog() {
  std::vector<store::NotificationBacklog> backlog;
  auto read = options_.store->read([&](store::Tx& tx) -> core::Status {
    backlog = TOCSIN_TRY(tx.notification_backlog());
    return {};
  });
  if (!read) {
    core::log::warn("notification backlog gauges not rendered", {{"error", read.error().to_string()}});
    return "";
  }
  // Every channel kind shows, at 0 when nothing of it is pending.
  std::map<std::string, store::NotificationBacklog> by_kind;
  for (const auto& [kind, sender] : options_.senders) by_kind[kind].channel = kind;
  for (auto& b : backlog) by_kind[b.channel] = std::move(b);
  const core::Timestamp at = now();
  std::string pending =
      "# HELP tocsin_notify_pending Notifications not delivered yet (due, in a lane, or waiting to retry), by channel "
      "kind.\n# TYPE tocsin_notify_pending gauge\n";
  std::string oldest =
      "# HELP tocsin_notify_oldest_pending_age_seconds Age of the oldest notification not delivered yet, by channel "
      "kind; 0 when none.\n# TYPE tocsin_notify_oldest_pending_age_seconds gauge\n";
  for (const auto& [kind, b] : by_kind) {
    const double age = b.pending > 0 ? std::max(0.0, std::chrono::duration<double>(at - b.oldest_created_at).count()) : 0;
    pending += fmt::format("tocsin_notify_pending{{channel=\"{}\"}} {}\n", kind, b.pending);
    oldest += fmt::format("tocsin_notify_oldest_pending_age_seconds{{channel=\"{}\"}} {:.3f}\n", kind, age);
  }
  return pending + oldest;
}

std::string Engine::render_action_item_gauges() {
  store::ActionItemCounts counts;
  auto read = options_.store->read([&](store::Tx& tx) -> core::Status {
    counts = TOCSIN_TRY(tx.count_action_items(now()));
    return {};
  });
  if (!read) {
    // The scrape still answers; the gauges are left out rather than shown as a wrong zero.
    core::log::warn("action item gauges not rendered", {{"error", read.error().to_string()}});
    return "";
  }
  return fmt::format(
      "# HELP tocsin_action_items_open Postmortem action items not done yet.\n"
      "# TYPE tocsin_action_items_open gauge\n"
      "tocsin_action_items_open {}\n"
      "# HELP tocsin_action_items_overdue Open postmortem action items past their due time.\n"
      "# TYPE tocsin_action_items_overdue gauge\n"
      "tocsin_action_items_overdue {}\n",
      counts.open, counts.overdue);
}

std::vector<detect::RuleHealth> Engine::rule_health() {
  std::lock_guard lock(mu_);
  return rules_->health();
}

SeriesRead Engine::read_series(const std::vector<core::Matcher>& matchers, core::Timestamp from, core::Timestamp to,
                               size_t limit, std::optional<core::Timestamp> history_from) const {
  SeriesRead out;
  std::vector<std::pair<core::Labels, tsdb::SeriesRef>> found;
  for (tsdb::SeriesRef ref : series_->select(matchers)) {
    if (auto labels = series_->labels(ref)) found.emplace_back(std::move(*labels), ref);
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(a.first.begin(), a.first.end(), b.first.begin(), b.first.end(),
                                        [](const core::Label& x, const core::Label& y) {
                                          return std::tie(x.name, x.value) < std::tie(y.name, y.value);
                                        });
  });
  std::vector<tsdb::Point> points;
  for (auto& [labels, ref] : found) {
    const core::Timestamp copy_from = history_from ? std::min(*history_from, from) : from;
    if (!series_->samples(ref, copy_from, to, points) || points.empty() || points.back().ts < from) continue;
    if (out.series.size() == limit) {
      out.truncated = true;
      break;
    }
    out.series.push_back({std::move(labels), std::move(points)});
    points = {};
  }
  return out;
}

core::Status Engine::save_state() {
  // One save at a time: the driver saves every minute, the log's syncing thread after the log
  // failed, and both write the same files.
  std::lock_guard saving(save_mu_);
  // One cut, under the lock: the rule state and the samples as of the same batch, and the log
  // goes on in a new segment from there. The files are written outside the lock.
  std::string rule_bytes;
  std::string series_bytes;
  uint64_t log_from = 0;
  {
    std::lock_guard lock(mu_);
    if (!options_.state_file.empty()) rule_bytes = rules_->snapshot();
    if (!options_.series_file.empty()) series_bytes = series_->snapshot_bytes();
    if (log_) log_from = log_->rotate();
  }
  // Rules first: should the series file then fail, the replay hands the rules samples they have
  // seen, and they skip them by timestamp; the other order would hide samples from the rules.
  if (!options_.state_file.empty()) {
    TOCSIN_RETURN_IF_ERROR(core::write_file_atomically(options_.state_file, rule_bytes));
  }
  if (!options_.series_file.empty()) {
    TOCSIN_RETURN_IF_ERROR(core::write_file_atomically(options_.series_file, series_bytes));
  }
  // Both durable: the segments before the cut hold nothing they lack.
  if (log_) TOCSIN_RETURN_IF_ERROR(log_->remove_before(log_from));
  // With replicas, the learned state also goes to the shared store, for whoever takes over this
  // replica's series should it die (engine_handoff.cc).
  if (!options_.lease.exclusive_store) TOCSIN_RETURN_IF_ERROR(periodic_checkpoint(options_.clock->now()));
  return {};
}

core::Status Engine::sync_sample_log() {
  if (!log_) return core::ok();
  bool failing = false;
  {
    std::lock_guard lock(mu_);
    failing = log_failing_;
  }
  if (failing) {
    // A real write first (cheap; a full disk fails it), then the snapshot that makes what the
    // refused batches left in memory durable; only then may a batch be answered 2xx again.
    const auto probe = options_.sample_log_dir / ".probe";
    TOCSIN_RETURN_IF_ERROR(core::write_file_atomically(probe, std::string(4096, '\0')));
    std::error_code ec;
    std::filesystem::remove(probe, ec);
    TOCSIN_RETURN_IF_ERROR(save_state());
    std::lock_guard lock(mu_);
    log_failing_ = false;
    log_problem_.clear();
    core::log::info("the sample log takes writes again; ingestion goes on", {});
  }
  return log_->sync();
}

std::string Engine::sample_log_problem() {
  std::lock_guard lock(mu_);
  return log_problem_;
}

void Engine::open_sample_log() {
  auto log = tsdb::SampleLog::open(options_.sample_log_dir, *options_.metrics);
  if (!log) {
    core::log::error("sample log not opened; samples since the last snapshot will not survive a crash",
                     {{"error", log.error().to_string()}});
    return;
  }
  std::lock_guard lock(mu_);
  std::vector<detect::AlertEvent> events;  // discarded: the store already has what they said
  IngestResult replayed;
  std::vector<ingest::Point> points;
  auto stats = (*log)->replay([&](const core::Labels& labels, std::span<const tsdb::Point> logged) {
    points.clear();
    for (const auto& p : logged) points.push_back({p.value, p.ts});
    ingest_locked(labels, labels.fingerprint(), 0, points, events, replayed);
    events.clear();
  });
  if (!stats) {
    core::log::error("sample log not replayed", {{"error", stats.error().to_string()}});
  } else if (stats->segments > 0) {
    replayed_samples_ = stats->samples;
    // Samples in the snapshot already (a crash between writing it and deleting old segments)
    // are dropped as duplicates, and counted as such.
    core::log::info("sample log replayed", {{"segments", std::to_string(stats->segments)},
                                            {"samples", std::to_string(stats->samples)},
                                            {"new", std::to_string(replayed.accepted)},
                                            {"damaged_records", std::to_string(stats->damaged_records)}});
  }
  log_ = std::move(*log);
}

core::Status Engine::commit_log_locked() {
  if (!log_) return core::ok();
  auto st = log_->commit();
  if (st) return st;
  if (!log_failing_) {
    core::log::error("sample log write failed; samples are refused until it takes writes again",
                     {{"error", st.error().to_string()}});
  }
  log_failing_ = true;
  log_problem_ = fmt::format("the sample log does not take writes ({}); samples are refused until it does",
                             st.error().to_string());
  return std::unexpected(core::Error::unavailable(log_problem_));
}

void Engine::set_on_wake(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_wake_ = std::move(fn);
}

void Engine::stop_deliveries() {
  std::lock_guard lock(delivery_mu_);
  deliverer_.stop();
}

void Engine::wake() {
  if (on_wake_) on_wake_();
}

namespace {

// A rule's firing or resolved transition, as the pipeline's alert.
alerting::Alert to_alert(const detect::AlertEvent& e, core::Timestamp now) {
  alerting::Alert a;
  a.fingerprint = e.fingerprint;
  a.rule = e.rule;
  a.labels = e.labels;
  a.annotations = e.annotations;
  a.value = e.value;
  a.active_at = e.active_at;
  a.updated_at = now;
  if (e.to == detect::AlertPhase::kFiring) {
    a.state = store::AlertState::kFiring;
    a.fired_at = e.at;
  } else {
    a.state = store::AlertState::kResolved;
    a.ends_at = e.at;
    a.resolved_at = e.at;
  }
  return a;
}

}  // namespace

core::Result<std::vector<int64_t>> Engine::apply_locked(const std::vector<detect::AlertEvent>& events,
                                                        core::Timestamp now, AlertsCommit& commit) {
  std::vector<alerting::Alert> alerts;
  for (const auto& e : events) {
    if (e.to == detect::AlertPhase::kFiring || e.to == detect::AlertPhase::kResolved) alerts.push_back(to_alert(e, now));
    if (e.to == detect::AlertPhase::kFiring) alerts_firing_total_.inc();
  }
  return receive_locked(std::move(alerts), events, now, commit);
}

void Engine::reload_pipeline_locked(core::Timestamp now) {
  auto st = options_.store->read([&](store::Tx& tx) -> core::Status { return pipeline_->load(tx, now); });
  if (!st) core::log::error("alert pipeline not reloaded from the store", {{"error", st.error().to_string()}});
}

core::Result<std::vector<int64_t>> Engine::receive_locked(std::vector<alerting::Alert> alerts,
                                                          const std::vector<detect::AlertEvent>& pending,
                                                          core::Timestamp now, AlertsCommit& commit) {
  const bool any = !alerts.empty();
  return receive_changes_locked(
      any, [&] { return pipeline_->receive(std::move(alerts), now); }, pending, now, commit);
}

core::Result<std::vector<int64_t>> Engine::receive_changes_locked(
    bool any, const std::function<std::vector<alerting::AlertChange>()>& receive,
    const std::vector<detect::AlertEvent>& pending, core::Timestamp now, AlertsCommit& commit) {
  std::vector<int64_t> opened;
  size_t flushed_notifications = 0;
  size_t sent_before_commit = 0;
  bool groups_changed = false;
  // Set when notifications left before the COMMIT; their lanes record them once it is settled,
  // and on every way out of here it is (settle() keeps the first outcome).
  std::shared_ptr<notify::TransactionOutcome> outcome;
  struct SettleOnExit {
    std::shared_ptr<notify::TransactionOutcome>& outcome;
    ~SettleOnExit() {
      if (outcome) outcome->settle(false);
    }
  } settle_on_exit{outcome};
  auto st = options_.store->write_visible([&](store::Tx& tx) -> core::Status {
    TOCSIN_RETURN_IF_ERROR(incidents_.record_pending(tx, pending, now));
    if (!any) return {};
    // Muting below must see silences another replica sharing the store set or expired.
    TOCSIN_RETURN_IF_ERROR(pipeline_->sync_silences(tx));
    const auto changes = receive();
    groups_changed = std::any_of(changes.begin(), changes.end(), [](const auto& c) { return c.routed; });
    opened = TOCSIN_TRY(incidents_.link(tx, changes, *pipeline_, now));
    // Groups due at once (group_wait 0s, or alerts older than group_wait) flush in this same
    // transaction: their notifications are durable with the alerts, one disk flush instead of
    // two. Their sends start as soon as the notifications are inserted, and overlap the rest of
    // the transaction. On a store only this process writes, the pipeline's memory is what the
    // store holds, so the flush needs no read of it and comes before the alerts' rows are
    // written; on a shared one it reads the groups' stored log entries, which can name alerts
    // whose stored rows it then reads, so those rows are written first.
    const bool from_memory = options_.lease.exclusive_store;
    if (!from_memory) TOCSIN_RETURN_IF_ERROR(pipeline_->persist(tx, changes));
    auto flushed = TOCSIN_TRY(flush_due_locked(tx, now, from_memory));
    flushed_notifications = flushed.notifications.size();
    if (!flushed.notifications.empty()) {
      sent_before_commit = send_before_commit_locked(flushed.notifications, now, outcome);
    }
    if (from_memory) TOCSIN_RETURN_IF_ERROR(pipeline_->persist(tx, changes));
    TOCSIN_RETURN_IF_ERROR(finish_flush_locked(tx, now, flushed, opened));
    return {};
  });
  if (outcome) outcome->settle(st.has_value());
  if (!st) {
    if (any) reload_pipeline_locked(now);
    return std::unexpected(st.error());
  }
  commit.durable.seq = std::max(commit.durable.seq, st->seq);
  // Those not handed out before the COMMIT are started after it (finish_request) or by the driver.
  commit.notifications = commit.notifications || flushed_notifications > sent_before_commit;
  const bool escalated = !opened.empty() && escalate_opened_locked(now, commit);
  incidents_opened_total_.inc(static_cast<double>(opened.size()));
  notifications_created_total_.inc(static_cast<double>(flushed_notifications));
  // A new group (group_wait), an alert that flushes one at once, an incident or a notification:
  // the driver must look again. Re-sends that changed only their times (Prometheus' steady
  // state) changed nothing the driver schedules: the groups' flush times stay as they were. An
  // incident whose first page was not made here is the driver's to page: at once. The rest can
  // wait until a request has started its notifications (finish_request); the driver's own pass
  // has them in its next steps.
  if (!opened.empty() && !escalated) {
    wake();
  } else if (groups_changed || !opened.empty() || flushed_notifications > 0) {
    commit.wake_driver = true;
  }
  return opened;
}

bool Engine::escalate_opened_locked(core::Timestamp now, AlertsCommit& commit) {
  if (released_ || !lease_->active(now)) return false;  // escalation is the lease holder's
  auto escalated = fenced_->write_visible([&](store::Tx& tx) -> core::Status {
    const int levels = TOCSIN_TRY(escalator_.update(tx, now));
    commit.notifications = commit.notifications || levels > 0;
    return {};
  });
  if (!escalated) {
    // The driver, woken for the incident, pages it in its pass.
    core::log::warn("an opened incident's first page was left to the driver", {{"error", escalated.error().to_string()}});
    return false;
  }
  commit.durable.seq = std::max(commit.durable.seq, escalated->seq);
  return true;
}

core::Result<size_t> Engine::flush_groups_locked(store::Tx& tx, core::Timestamp now, std::vector<int64_t>& opened) {
  auto flushed = TOCSIN_TRY(flush_due_locked(tx, now, /*from_memory=*/false));
  TOCSIN_RETURN_IF_ERROR(finish_flush_locked(tx, now, flushed, opened));
  return flushed.notifications.size();
}

core::Result<alerting::FlushOutput> Engine::flush_due_locked(store::Tx& tx, core::Timestamp now, bool from_memory) {
  auto flushed = TOCSIN_TRY(pipeline_->flush(now, from_memory ? nullptr : &tx));
  TOCSIN_RETURN_IF_ERROR(pipeline_->insert_notifications(tx, flushed));
  return flushed;
}

core::Status Engine::finish_flush_locked(store::Tx& tx, core::Timestamp now, const alerting::FlushOutput& flushed,
                                         std::vector<int64_t>& opened) {
  if (flushed.nflog.empty() && flushed.plan_alerts.empty()) return {};
  auto more = TOCSIN_TRY(incidents_.link(tx, flushed.plan_alerts, *pipeline_, now));
  opened.insert(opened.end(), more.begin(), more.end());
  TOCSIN_RETURN_IF_ERROR(pipeline_->persist(tx, flushed.plan_alerts));
  return pipeline_->persist_nflog(tx, flushed);
}

size_t Engine::send_before_commit_locked(const std::vector<store::Notification>& created, core::Timestamp now,
                                         std::shared_ptr<notify::TransactionOutcome>& outcome) {
  if (released_ || !lease_->active(now)) return 0;  // deliveries are the lease holder's
  outcome = std::make_shared<notify::TransactionOutcome>();
  return deliverer_.send_before_commit(*fenced_, created, now, outcome);
}

core::Result<size_t> Engine::receive_alerts(std::vector<alerting::Alert> alerts) {
  const size_t n = alerts.size();
  AlertsCommit commit;
  TOCSIN_RETURN_IF_ERROR(receive_alerts_visible(std::move(alerts), commit));
  // Durable before the 2xx; the notifications this created are on their way meanwhile.
  TOCSIN_RETURN_IF_ERROR(finish_request(commit));
  alerts_received_total_.inc(static_cast<double>(n));
  return n;
}

core::Status Engine::receive_alerts_visible(std::vector<alerting::Alert> alerts, AlertsCommit& commit) {
  std::lock_guard lock(mu_);
  const size_t n = alerts.size();
  // limits.max_alerts: O(1) unless the pipeline is within this request's size of the cap.
  const auto max_alerts = static_cast<size_t>(options_.config->limits.max_alerts);
  const size_t held = pipeline_->alert_count();
  if (held + n > max_alerts) {
    std::unordered_set<uint64_t> fresh;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t fp = alerts[i].fingerprint;
      if (pipeline_->find(fp) || !fresh.insert(fp).second || held + fresh.size() <= max_alerts) continue;
      rejected_max_alerts_.inc();
      return std::unexpected(
          core::Error::invalid_argument(
              fmt::format("alert {} is new, and the server already holds {} alerts: limits.max_alerts is {}; "
                          "the request was refused whole",
                          i, held + fresh.size() - 1, max_alerts))
              .field(fmt::format("[{}]", i)));
    }
  }
  TOCSIN_TRY(receive_locked(std::move(alerts), {}, options_.clock->now(), commit));
  return {};
}

core::Status Engine::finish_request(const AlertsCommit& commit) {
  const bool started = commit.notifications && start_deliveries_now();
  auto wake_driver = [this] {
    std::lock_guard lock(mu_);  // on_wake_ is set under it
    wake();
  };
  const bool left_to_driver = commit.notifications && !started;  // it sends them: at once
  if (commit.wake_driver && left_to_driver) wake_driver();
  auto durable = options_.store->make_durable(commit.durable);
  if (commit.wake_driver && !left_to_driver) wake_driver();
  return durable;
}

bool Engine::start_deliveries_now() {
  const core::Timestamp now = options_.clock->now();
  if (released_ || !lease_->active(now)) return false;  // deliveries are the lease holder's
  std::lock_guard lock(delivery_mu_);
  if (auto st = deliverer_.start_due(*fenced_, now); !st) {
    // The driver, woken before the flush, hands them out in its pass instead.
    core::log::warn("notifications not started from the request; the driver will", {{"error", st.error().to_string()}});
    return false;
  }
  return true;
}

std::optional<core::Result<size_t>> Engine::receive_resends(std::span<const alerting::AlertView> alerts) {
  AlertsCommit commit;
  {
    std::lock_guard lock(mu_);
    const core::Timestamp now = options_.clock->now();
    // Every alert is held already, so limits.max_alerts cannot refuse any.
    if (alerts.empty() || !pipeline_->plan_resends(alerts, now)) return std::nullopt;
    auto opened = receive_changes_locked(true, [&] { return pipeline_->apply_resends(now); }, {}, now, commit);
    if (!opened) return std::unexpected(opened.error());
  }
  // As receive_alerts: what the transaction created leaves before its flush, the 2xx after it.
  if (auto durable = finish_request(commit); !durable) return std::unexpected(durable.error());
  alerts_received_total_.inc(static_cast<double>(alerts.size()));
  return alerts.size();
}

namespace {

// "alertname=\"X\", service=~\"a|b\" until 2026-…; comment": what a silence mutes, for the audit log.
std::string silence_detail(const store::Silence& s) {
  std::string out;
  for (const auto& m : s.matchers) out += (out.empty() ? "" : ", ") + m.to_string();
  out += fmt::format(" from {} until {}", core::format_rfc3339(s.starts_at), core::format_rfc3339(s.ends_at));
  if (!s.comment.empty()) out += "; " + s.comment;
  return out;
}

// The store side of a silence change: its records written as they are; `version` gets the
// store's silences_version() with them, which the pipeline then holds.
std::function<core::Status(store::Tx&, core::Timestamp)> store_silences(const alerting::SilenceChange& change,
                                                                         std::string& version) {
  return [&change, &version](store::Tx& tx, core::Timestamp) -> core::Status {
    for (const auto& s : change.to_write) TOCSIN_RETURN_IF_ERROR(tx.upsert_silence(s));
    version = TOCSIN_TRY(tx.silences_version());
    return {};
  };
}

}  // namespace

void Engine::sync_silences_locked() {
  auto st = options_.store->read([&](store::Tx& tx) { return pipeline_->sync_silences(tx); });
  if (!st) core::log::warn("silences not reloaded from the store", {{"error", st.error().to_string()}});
}

core::Result<std::string> Engine::set_silence(store::Silence silence, std::string_view source) {
  std::lock_guard lock(mu_);
  sync_silences_locked();  // an update of a silence another replica made needs it held here
  // limits.max_silences counts the silences not yet expired; an update replaces one.
  const auto max_silences = static_cast<size_t>(options_.config->limits.max_silences);
  if (silence.id.empty() || !pipeline_->silences().get(silence.id)) {
    const size_t live = pipeline_->silences().count_unexpired(options_.clock->now());
    if (live >= max_silences) {
      rejected_max_silences_.inc();
      return std::unexpected(core::Error::invalid_argument(
          fmt::format("the server already holds {} silences that have not expired: limits.max_silences is {}; "
                      "expire one first",
                      live, max_silences)));
    }
  }
  const std::string old_id = silence.id;
  const std::string created_by = silence.created_by;
  const auto change = TOCSIN_TRY(pipeline_->plan_silence(std::move(silence), options_.clock->now()));
  AuditNote what{old_id.empty() ? "silence.create" : "silence.update", "silence/" + change.id, ""};
  for (const auto& s : change.to_write) {
    if (s.id == change.id) what.detail = silence_detail(s);
  }
  // Alertmanager replaces an active silence whose matchers change with a new one.
  if (!old_id.empty() && old_id != change.id) what.detail += fmt::format("; replaces silence/{}", old_id);
  std::string version;
  TOCSIN_RETURN_IF_ERROR(
      audited_write_locked(Actor(created_by, source), std::move(what), store_silences(change, version)));
  pipeline_->commit_silence(change, std::move(version));
  return change.id;
}

core::Status Engine::expire_silence(std::string_view id, std::string_view source, std::string_view actor) {
  std::lock_guard lock(mu_);
  sync_silences_locked();
  const auto change = TOCSIN_TRY(pipeline_->plan_expire_silence(id, options_.clock->now()));
  // Alertmanager's DELETE names nobody: the actor is whoever created the silence.
  std::string created_by(actor);
  for (const auto& s : change.to_write) {
    if (s.id == id && actor.empty()) created_by = s.created_by;
  }
  std::string version;
  TOCSIN_RETURN_IF_ERROR(audited_write_locked(Actor(created_by, source),
                                              {"silence.expire", fmt::format("silence/{}", id), ""},
                                              store_silences(change, version)));
  pipeline_->commit_silence(change, std::move(version));
  wake();
  return {};
}

std::vector<store::Silence> Engine::silences() {
  std::lock_guard lock(mu_);
  sync_silences_locked();
  return pipeline_->silences().list();
}

std::optional<store::Silence> Engine::silence(std::string_view id) {
  std::lock_guard lock(mu_);
  sync_silences_locked();
  return pipeline_->silences().get(id);
}

std::vector<alerting::AlertStatus> Engine::alert_statuses() {
  std::lock_guard lock(mu_);
  sync_silences_locked();  // what mutes each alert, as another replica may have changed it
  return pipeline_->alerts(options_.clock->now());
}

std::vector<alerting::GroupStatus> Engine::alert_groups() {
  std::lock_guard lock(mu_);
  sync_silences_locked();  // what mutes each alert, as another replica may have changed it
  return pipeline_->groups(options_.clock->now());
}

std::vector<std::string> Engine::receivers() {
  std::lock_guard lock(mu_);
  return pipeline_->receivers();
}

void Engine::ingest_locked(const core::Labels& labels, uint64_t fingerprint, uint64_t labels_id,
                           std::span<const ingest::Point> points, std::vector<detect::AlertEvent>& events,
                           IngestResult& result) {
  appended_.clear();
  auto added = series_->append(labels, fingerprint, points, appended_, labels_id);
  if (!added) {  // over the series limit: counted by the store
    result.dropped += points.size();
    return;
  }
  const tsdb::SeriesRef ref = added->ref;
  const tsdb::AppendCounts& counts = added->counts;
  if (counts.out_of_order > 0) out_of_order_total_.inc(static_cast<double>(counts.out_of_order));
  if (counts.duplicate > 0) duplicates_total_.inc(static_cast<double>(counts.duplicate));
  result.dropped += points.size() - counts.ok;
  result.accepted += counts.ok;
  if (log_ && !appended_.empty()) log_->add(ref, labels, appended_);
  // All of the batch is stored before any of it is evaluated: an over-time rule reads the window
  // ending at each point's own timestamp, so the later points do not change what it sees.
  rules_->ingest_points(labels, fingerprint, appended_, ref, events);
}

template <class Batch>
core::Status Engine::check_series_room_locked(const Batch& batch) {
  const size_t held = series_->series_count();
  const size_t max = series_->options().max_series;
  if (held + batch.size() <= max) return {};  // cannot overflow: the common case
  std::unordered_set<uint64_t> fresh;         // the batch's new series, each once
  for (size_t i = 0; i < batch.size(); ++i) {
    const core::Labels& labels = batch[i].labels;
    if (series_->find(labels)) continue;
    if (!fresh.insert(labels.fingerprint()).second || held + fresh.size() <= max) continue;
    rejected_max_series_.inc();
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("series {} {} is new, and the server already holds {} series: "
                                                  "limits.max_series is {}; the request was refused whole",
                                                  i, labels.to_string(), held + fresh.size() - 1, max))
            .field(fmt::format("[{}].labels", i)));
  }
  return {};
}

// Series of a batch whose state is loaded at once ahead of their ingestion: each level of the
// lookups (hash slots, entries, states, detectors) for all of them overlaps its cache misses.
// 32 series of `auto`: ~100 KB, well within a core's L2.
constexpr size_t kPrefetchSeries = 32;

template <class Batch>
core::Result<IngestResult> Engine::ingest_batch(const Batch& batch) {
  const auto started = options_.clock->mono_now();
  IngestResult result;
  AlertsCommit commit;
  {
    std::lock_guard lock(mu_);
    // A 2xx means the samples survive a crash: while the log refuses writes nothing is taken.
    if (log_failing_) return std::unexpected(core::Error::unavailable(log_problem_));
    TOCSIN_RETURN_IF_ERROR(check_series_room_locked(batch));
    const core::Timestamp now = options_.clock->now();
    std::vector<detect::AlertEvent> events;
    // Each series' labels hashed once, for the series store and the rules; or not at all, when the
    // remote_write decoder knew their fingerprint (a label set it kept from an earlier request).
    fingerprints_.resize(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if constexpr (std::is_same_v<typename Batch::value_type, ingest::Series>) {
        const uint64_t known = batch[i].fingerprint;
        assert(known == 0 || known == batch[i].labels.fingerprint());
        fingerprints_[i] = known != 0 ? known : batch[i].labels.fingerprint();
      } else {
        fingerprints_[i] = batch[i].labels.fingerprint();
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      // What the store and the rules will read for the next few dozen series, asked for together
      // (SeriesStore::prefetch, RuleEngine::prefetch): few enough that it stays in the caches.
      if (i % kPrefetchSeries == 0) {
        const auto ahead = std::span(fingerprints_).subspan(i, std::min(kPrefetchSeries, batch.size() - i));
        series_->prefetch(ahead);
        rules_->prefetch(ahead);
      }
      const auto& item = batch[i];
      if constexpr (std::is_same_v<typename Batch::value_type, core::Sample>) {
        const ingest::Point point{item.value, item.ts};
        ingest_locked(item.labels, fingerprints_[i], 0, std::span(&point, 1), events, result);
      } else {
        ingest_locked(item.labels, fingerprints_[i], item.labels_id, item.points, events, result);
      }
    }
    // Rule state moved in memory even if the write fails; the alert records are what is durable.
    core::Result<std::vector<int64_t>> opened;
    if (!events.empty()) opened = apply_locked(events, now, commit);
    // Logged whatever the store said, as memory moved; after it, so that a crash in between
    // leaves the store ahead and the sender, unanswered, sends the batch again. A batch the log
    // refused is in memory only until sync_sample_log()'s snapshot: its sender gets an error, and
    // its re-send is refused until then too.
    const core::Status logged = commit_log_locked();
    // Rule timers (for, keep_firing_for) are the driver's to set: woken by finish_request once
    // the request's pages are on their way, or here when the request ends early.
    if (!events.empty()) commit.wake_driver = true;
    if (commit.wake_driver && (!opened || !logged)) wake();
    result.incidents_opened = TOCSIN_TRY(std::move(opened));
    result.alert_transitions = events.size();
    samples_total_.inc(static_cast<double>(result.accepted));
    TOCSIN_RETURN_IF_ERROR(logged);
  }
  // The alerts' transaction durable before the 2xx, flushed while the notifications go out.
  TOCSIN_RETURN_IF_ERROR(finish_request(commit));
  ingest_seconds_.observe(std::chrono::duration<double>(options_.clock->mono_now() - started).count());
  return result;
}

core::Result<IngestResult> Engine::ingest_local(const std::vector<core::Sample>& samples) {
  return ingest_batch(samples);
}

core::Result<IngestResult> Engine::ingest_local(const std::vector<ingest::Series>& series) {
  return ingest_batch(series);
}

core::Status Engine::append_audit(store::Tx& tx, core::Timestamp now, const Actor& actor, AuditNote what) {
  TOCSIN_TRY(tx.append_audit({0, now, std::string(actor.name), std::move(what.action), std::move(what.object),
                              std::move(what.detail), std::string(actor.source)}));
  return {};
}

core::Status Engine::audited_write_locked(const Actor& actor, AuditNote what,
                                          const std::function<core::Status(store::Tx&, core::Timestamp)>& fn) {
  const core::Timestamp now = options_.clock->now();
  return options_.store->write([&](store::Tx& tx) -> core::Status {
    // First, so that any error of fn rolls the entry back with the change.
    TOCSIN_RETURN_IF_ERROR(append_audit(tx, now, actor, std::move(what)));
    return fn(tx, now);
  });
}

core::Status Engine::audited_write(const Actor& actor, AuditNote what,
                                   const std::function<core::Status(store::Tx&, core::Timestamp)>& fn) {
  std::lock_guard lock(mu_);
  return audited_write_locked(actor, std::move(what), fn);
}

core::Status Engine::record_audit(const Actor& actor, AuditNote what) {
  return audited_write(actor, std::move(what), [](store::Tx&, core::Timestamp) { return core::ok(); });
}

core::Result<std::vector<store::AuditEntry>> Engine::list_audit(const store::AuditFilter& filter) {
  std::vector<store::AuditEntry> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.list_audit(filter));
    return {};
  }));
  return out;
}

core::Result<store::Incident> Engine::respond(
    const Actor& actor, AuditNote what,
    const std::function<core::Result<store::Incident>(store::Tx&, core::Timestamp)>& action) {
  std::lock_guard lock(mu_);
  store::Incident out;
  TOCSIN_RETURN_IF_ERROR(
      audited_write_locked(actor, std::move(what), [&](store::Tx& tx, core::Timestamp now) -> core::Status {
        out = TOCSIN_TRY(action(tx, now));
        return {};
      }));
  return out;
}

namespace {
std::string incident_object(int64_t id) { return fmt::format("incident/{}", id); }
}  // namespace

core::Result<store::Incident> Engine::acknowledge(int64_t id, const Actor& actor) {
  return respond(actor, {"incident.acknowledge", incident_object(id), ""},
                 [&](store::Tx& tx, core::Timestamp now) { return incidents_.acknowledge(tx, id, actor.name, now); });
}

core::Result<store::Incident> Engine::resolve(int64_t id, const Actor& actor) {
  return respond(actor, {"incident.resolve", incident_object(id), ""},
                 [&](store::Tx& tx, core::Timestamp now) { return incidents_.resolve(tx, id, actor.name, now); });
}

core::Result<store::Incident> Engine::add_note(int64_t id, const Actor& actor, std::string_view text) {
  return respond(
      actor, {"incident.note", incident_object(id), std::string(text)},
      [&](store::Tx& tx, core::Timestamp now) { return incidents_.add_note(tx, id, actor.name, text, now); });
}

core::Result<store::Incident> Engine::mitigate(int64_t id, const Actor& actor) {
  return respond(actor, {"incident.mitigate", incident_object(id), ""},
                 [&](store::Tx& tx, core::Timestamp now) { return incidents_.mitigate(tx, id, actor.name, now); });
}

core::Result<store::Incident> Engine::close(int64_t id, const Actor& actor) {
  return respond(actor, {"incident.close", incident_object(id), ""},
                 [&](store::Tx& tx, core::Timestamp now) { return incidents_.close(tx, id, actor.name, now); });
}

core::Result<store::Incident> Engine::reopen(int64_t id, const Actor& actor) {
  auto out = respond(actor, {"incident.reopen", incident_object(id), ""},
                     [&](store::Tx& tx, core::Timestamp now) { return incidents_.reopen(tx, id, actor.name, now); });
  if (out) wake();  // the ladder is armed again
  return out;
}

core::Result<store::Incident> Engine::set_severity(int64_t id, std::string_view severity, const Actor& actor) {
  return respond(
      actor, {"incident.severity", incident_object(id), std::string(severity)},
      [&](store::Tx& tx, core::Timestamp now) { return incidents_.set_severity(tx, id, severity, actor.name, now); });
}

core::Result<store::Incident> Engine::relate(int64_t id, int64_t other, const Actor& actor) {
  return respond(actor, {"incident.relate", incident_object(id), fmt::format("related to incident/{}", other)},
                 [&](store::Tx& tx, core::Timestamp now) { return incidents_.relate(tx, id, other, actor.name, now); });
}

core::Result<store::Incident> Engine::record_event(int64_t id, std::string_view kind, std::string_view detail,
                                                   const Actor& actor) {
  auto out = respond(
      actor,
      {"incident.event", incident_object(id), detail.empty() ? std::string(kind) : fmt::format("{}: {}", kind, detail)},
      [&](store::Tx& tx, core::Timestamp now) {
        return incidents_.record_event(tx, id, kind, detail, actor.name, now);
      });
  if (out) wake();  // a clock may have started
  return out;
}

core::Result<store::Incident> Engine::complete_task(int64_t id, std::string_view step, bool skipped,
                                                    const Actor& actor) {
  auto out = respond(actor, {skipped ? "task.skip" : "task.done", incident_object(id), std::string(step)},
                     [&](store::Tx& tx, core::Timestamp now) {
                       return incidents_.complete_task(tx, id, step, skipped, actor.name, now);
                     });
  if (out) wake();
  return out;
}

core::Status Engine::edit_postmortem(int64_t id, const std::vector<std::pair<std::string, std::string>>& fields,
                                     const Actor& actor) {
  std::string names;
  for (const auto& [name, value] : fields) names += (names.empty() ? "" : ", ") + name;
  return audited_write(actor, {"postmortem.edit", incident_object(id), names},
                       [&](store::Tx& tx, core::Timestamp now) {
                         return incidents_.edit_postmortem(tx, id, fields, actor.name, now);
                       });
}

core::Result<int64_t> Engine::add_action_item(int64_t id, std::string_view title, std::string_view owner,
                                              core::Timestamp due_at, const Actor& actor) {
  int64_t item = 0;
  TOCSIN_RETURN_IF_ERROR(audited_write(
      actor,
      {"action_item.add", incident_object(id),
       fmt::format("{} (owner {}, due {})", title, owner.empty() ? "-" : owner, core::format_rfc3339(due_at))},
      [&](store::Tx& tx, core::Timestamp now) -> core::Status {
        item = TOCSIN_TRY(incidents_.add_action_item(tx, id, title, owner, due_at, actor.name, now));
        return {};
      }));
  return item;
}

core::Status Engine::set_action_item_done(int64_t id, int64_t item, bool done, const Actor& actor) {
  return audited_write(actor,
                       {done ? "action_item.done" : "action_item.reopen", incident_object(id),
                        fmt::format("action item {}", item)},
                       [&](store::Tx& tx, core::Timestamp now) {
                         return incidents_.set_action_item_done(tx, id, item, done, actor.name, now);
                       });
}

core::Result<store::Incident> Engine::complete_postmortem(int64_t id, const Actor& actor) {
  return respond(actor, {"postmortem.complete", incident_object(id), ""}, [&](store::Tx& tx, core::Timestamp now) {
    return incidents_.complete_postmortem(tx, id, actor.name, now);
  });
}

core::Result<std::vector<store::ActionItem>> Engine::list_action_items(const store::ActionItemFilter& filter) {
  std::vector<store::ActionItem> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.list_action_items(filter));
    return {};
  }));
  return out;
}

core::Result<store::Incident> Engine::approve_action(int64_t id, std::string_view step, const Actor& actor) {
  auto inc =
      respond(actor, {"action.approve", incident_object(id), std::string(step)},
              [&](store::Tx& tx, core::Timestamp now) { return actions_->approve(tx, id, step, actor.name, now); });
  if (inc) {
    std::lock_guard lock(mu_);
    wake();  // the run is due now
  }
  return inc;
}

core::Result<std::vector<store::Incident>> Engine::list_incidents(const store::IncidentFilter& filter) {
  std::vector<store::Incident> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.list_incidents(filter));
    return {};
  }));
  return out;
}

core::Result<store::Incident> Engine::get_incident(int64_t id) {
  std::optional<store::Incident> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.get_incident(id));
    return {};
  }));
  if (!out) return std::unexpected(core::Error::not_found(fmt::format("no incident {}", id)));
  return std::move(*out);
}

core::Result<store::DrillRun> Engine::record_drill_run(store::DrillRun run, const Actor& actor) {
  if (!config().plan(run.plan)) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("unknown plan \"{}\"", run.plan)).field("plan"));
  }
  run.ran_at = options_.clock->now();
  TOCSIN_RETURN_IF_ERROR(store::validate_drill_run(run));
  std::lock_guard lock(mu_);
  TOCSIN_RETURN_IF_ERROR(options_.store->write([&](store::Tx& tx) -> core::Status {
    run.id = TOCSIN_TRY(tx.insert_drill_run(run));
    return append_audit(tx, run.ran_at, actor,
                        {"drill.run.record", fmt::format("drill/run/{}", run.id), store::describe_drill_run(run)});
  }));
  return run;
}

core::Result<std::vector<store::DrillRun>> Engine::list_drill_runs(const store::DrillRunFilter& filter) {
  std::vector<store::DrillRun> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.list_drill_runs(filter));
    return {};
  }));
  return out;
}

core::Result<store::DrillRun> Engine::get_drill_run(int64_t id) {
  std::optional<store::DrillRun> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.get_drill_run(id));
    return {};
  }));
  if (!out) return std::unexpected(core::Error::not_found(fmt::format("no drill run {}", id)));
  return std::move(*out);
}

core::Result<std::vector<DrillCalendarEntry>> Engine::drill_calendar() {
  std::map<std::string, core::Timestamp> last;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    last = TOCSIN_TRY(tx.last_drill_runs());
    return {};
  }));
  return engine::drill_calendar(config(), last, now());
}

core::Result<ComplianceReport> Engine::compliance() {
  const core::Timestamp now = options_.clock->now();
  ComplianceReport out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(compliance_report(tx, config(), now));
    return {};
  }));
  return out;
}

std::string Engine::compliance_metrics() {
  // The report reads every clock's incident: cheap for a team's history, but not per scrape.
  constexpr core::Duration kEvery = std::chrono::minutes(1);
  const core::Timestamp now = options_.clock->now();
  std::lock_guard lock(compliance_mu_);
  if (!compliance_at_ || now - *compliance_at_ >= kEvery || now < *compliance_at_) {
    auto report = compliance();
    if (!report) return compliance_text_;  // keep the last good values; the error shows on the API
    compliance_text_ = render_compliance_summary(report->summary);
    compliance_at_ = now;
  }
  return compliance_text_;
}

core::Result<store::LiveDrill> Engine::start_live_drill(std::string scenario, std::string plan,
                                                        std::vector<std::string> participants, const Actor& actor,
                                                        std::string scenario_yaml) {
  if (scenario.empty()) {
    return std::unexpected(core::Error::invalid_argument("expected a non-empty scenario name").field("scenario"));
  }
  if (!config().plan(plan)) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("unknown plan \"{}\"", plan)).field("plan"));
  }
  if (participants.empty()) {
    return std::unexpected(core::Error::invalid_argument(
        "expected at least one participant: a live drill pages nobody else").field("participants"));
  }
  for (size_t i = 0; i < participants.size(); ++i) {
    const std::string field = fmt::format("participants[{}]", i);
    if (!config().person(participants[i])) {
      return std::unexpected(core::Error::invalid_argument(
          fmt::format("unknown person \"{}\": expected a person id from the config", participants[i])).field(field));
    }
    if (std::find(participants.begin(), participants.begin() + static_cast<std::ptrdiff_t>(i), participants[i]) !=
        participants.begin() + static_cast<std::ptrdiff_t>(i)) {
      return std::unexpected(
          core::Error::invalid_argument(fmt::format("\"{}\" is listed twice", participants[i])).field(field));
    }
  }
  store::LiveDrill drill;
  drill.scenario = std::move(scenario);
  drill.plan = std::move(plan);
  drill.participants = std::move(participants);
  drill.started_at = options_.clock->now();
  drill.started_by = std::string(actor.name);
  drill.scenario_yaml = std::move(scenario_yaml);
  std::lock_guard lock(mu_);
  TOCSIN_RETURN_IF_ERROR(options_.store->write([&](store::Tx& tx) -> core::Status {
    drill.id = TOCSIN_TRY(tx.insert_live_drill(drill));
    std::string people;
    for (const auto& p : drill.participants) people += (people.empty() ? "" : ",") + p;
    return append_audit(tx, drill.started_at, actor,
                        {"drill.live.start", fmt::format("drill/live/{}", drill.id),
                         fmt::format("scenario {}, plan {}, participants {}", drill.scenario, drill.plan, people)});
  }));
  core::log::info("live drill started", {{"id", std::to_string(drill.id)}, {"plan", drill.plan}});
  return drill;
}

core::Result<store::LiveDrill> Engine::finish_live_drill(int64_t id, const Actor& actor,
                                                         std::optional<store::DrillRun> scored) {
  if (!scored) return finish_live_drill(id, actor, LiveDrillScorer{});
  return finish_live_drill(id, actor, [&](store::Tx&, const store::LiveDrill&, core::Timestamp) {
    return core::Result<store::DrillRun>(std::move(*scored));
  });
}

core::Result<store::LiveDrill> Engine::finish_live_drill(int64_t id, const Actor& actor,
                                                         const LiveDrillScorer& scorer) {
  std::lock_guard lock(mu_);
  store::LiveDrill out;
  TOCSIN_RETURN_IF_ERROR(audited_write_locked(
      actor, {"drill.live.finish", fmt::format("drill/live/{}", id), scorer ? "scored" : ""},
      [&](store::Tx& tx, core::Timestamp now) -> core::Status {
        auto drill = TOCSIN_TRY(tx.get_live_drill(id));
        if (!drill) return std::unexpected(core::Error::not_found(fmt::format("no live drill {}", id)));
        if (drill->finished_at) {
          return std::unexpected(core::Error::failed_precondition(
              fmt::format("live drill {} already finished at {}", id, core::format_rfc3339(*drill->finished_at))));
        }
        drill->finished_at = now;
        drill->finished_by = std::string(actor.name);
        // Its incidents that still escalate stop: the drill is over, and nobody would be paged anyway.
        store::IncidentFilter filter;
        filter.status = store::IncidentStatus::kTriggered;
        filter.since = drill->started_at;
        filter.limit = 10000;
        const std::string label = std::to_string(id);
        for (auto inc : TOCSIN_TRY(tx.list_incidents(filter))) {
          if (inc.drill != label || !inc.escalation_next_at) continue;
          inc.escalation_next_at.reset();
          TOCSIN_RETURN_IF_ERROR(tx.update_incident(inc));
          TOCSIN_TRY(tx.append_timeline({0, inc.id, now, "drill", std::string(actor.name),
                                         fmt::format("live drill {} finished: escalation stopped", id)}));
        }
        if (scorer) {
          store::DrillRun scored = TOCSIN_TRY(scorer(tx, *drill, now));
          scored.mode = "live";
          scored.live_drill = id;
          if (scored.scenario.empty()) scored.scenario = drill->scenario;
          if (scored.plan.empty()) scored.plan = drill->plan;
          if (scored.participants.empty()) scored.participants = drill->participants;
          scored.ran_at = now;
          TOCSIN_RETURN_IF_ERROR(store::validate_drill_run(scored));
          drill->run = TOCSIN_TRY(tx.insert_drill_run(scored));
        }
        TOCSIN_RETURN_IF_ERROR(tx.update_live_drill(*drill));
        out = std::move(*drill);
        return {};
      }));
  core::log::info("live drill finished", {{"id", std::to_string(id)}});
  return out;
}

core::Result<std::vector<store::LiveDrill>> Engine::live_drills(bool running_only) {
  std::vector<store::LiveDrill> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.list_live_drills(running_only));
    return {};
  }));
  return out;
}

core::Result<store::LiveDrill> Engine::get_live_drill(int64_t id) {
  std::optional<store::LiveDrill> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.get_live_drill(id));
    return {};
  }));
  if (!out) return std::unexpected(core::Error::not_found(fmt::format("no live drill {}", id)));
  return std::move(*out);
}

core::Result<std::optional<core::Timestamp>> Engine::run_due() {
  if (released_) return std::unexpected(core::Error::failed_precondition("the engine has released its lease"));
  std::optional<core::Timestamp> next;
  auto earliest = [&](std::optional<core::Timestamp> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  // The engine lease first: whether this replica runs the modules with side effects (3-5 and the
  // store GC) in this pass. The renewal is here, on the driver, rather than on a loop of its own:
  // the gate and the work it gates then follow one another on one thread, and run_due's next time
  // includes the renewal, so the driver wakes for it. A renewal that fails (the database away)
  // does not fail the pass: the per-replica modules go on, and active() decays on its own.
  {
    const core::Timestamp now = options_.clock->now();
    if (auto taken = lease_->renew_if_due(*options_.store, now); taken && *taken) {
      std::lock_guard lock(actions_mu_);
      actions_->recover_on_next_update();  // runs the previous holder left running start again
    }
    // Only a store shared with other processes needs the driver to wake just to renew.
    if (!options_.lease.exclusive_store) earliest(lease_->next_due());
    // Series that changed owner with the view take their detector state along. A failure (the
    // database away) leaves the view unhandled, so the next pass tries again; the pass goes on.
    if (auto st = hand_over_series(now); !st) {
      core::log::error("series handoff failed; retrying", {{"error", st.error().to_string()}});
    }
  }
  const bool leader = lease_->active(options_.clock->now());
  AlertsCommit commit;  // this pass's writes of alerts and pages: flushed once step 4 handed them out
  {
    std::lock_guard lock(mu_);
    const core::Timestamp now = options_.clock->now();
    // 0. Retention: old samples, and the state of series gone quiet, go (the store's part only
    //    on the lease holder: one replica's GC is enough).
    if (now - last_gc_ >= kGcEvery) {
      series_->gc(now);
      rules_->forget_stale(now - options_.config->server.retention);
      if (leader) {
        TOCSIN_RETURN_IF_ERROR(
            fenced_->write([&](store::Tx& tx) -> core::Status { return pipeline_->gc(tx, now); }));
      }
      last_gc_ = now;
    }
    // 1. Rule timers: pending alerts whose `for` elapsed, keep_firing_for expiry.
    auto events = rules_->eval(now);
    if (!events.empty()) TOCSIN_TRY(apply_locked(events, now, commit));
    earliest(rules_->next_due());
    // 1b. Live risk: models on the current indicator values; a likely risk is an alert.
    if (auto risk_alerts = live_risk_->update(*series_, now); !risk_alerts.empty()) {
      TOCSIN_TRY(receive_locked(std::move(risk_alerts), {}, now, commit));
    }
    earliest(live_risk_->next_due());
    // 2. Alert groups due to flush: notifications for notify-only receivers; plan alerts that
    //    were muted when they arrived and are not any more open their incidents now.
    if (auto due = pipeline_->next_due(); due && *due <= now) {
      std::vector<int64_t> opened;
      size_t created = 0;
      auto st = options_.store->write([&](store::Tx& tx) -> core::Status {
        TOCSIN_RETURN_IF_ERROR(pipeline_->sync_silences(tx));
        created = TOCSIN_TRY(flush_groups_locked(tx, now, opened));
        return {};
      });
      if (!st) {
        reload_pipeline_locked(now);
        return std::unexpected(st.error());
      }
      incidents_opened_total_.inc(static_cast<double>(opened.size()));
      notifications_created_total_.inc(static_cast<double>(created));
    }
    earliest(pipeline_->next_due());
    // A standby stops here: the rest is the lease holder's.
    if (!leader) {
      TOCSIN_RETURN_IF_ERROR(options_.store->make_durable(commit.durable));
      return next;
    }
    // 3. Escalation: page the levels that are due. Flushed with the rest after step 4 hands
    //    the pages to delivery, so that a page does not wait for the disk either.
    auto escalated = fenced_->write_visible([&](store::Tx& tx) -> core::Status {
      TOCSIN_TRY(escalator_.update(tx, now));
      return {};
    });
    if (!escalated) return std::unexpected(escalated.error());
    commit.durable.seq = std::max(commit.durable.seq, escalated->seq);
    // Step deadlines and plan clocks: overdue tasks and due clocks page their owners.
    auto paged = fenced_->write_visible([&](store::Tx& tx) -> core::Status {
      TOCSIN_TRY(deadlines_.update(tx, now));
      return {};
    });
    if (!paged) return std::unexpected(paged.error());
    commit.durable.seq = std::max(commit.durable.seq, paged->seq);
  }
  // 4. Delivery, outside the engine lock: a slow receiver must not block ingestion. With
  //    options.delivery.background the sends run on their lanes after this returns.
  notify::DeliveryPass delivered;
  {
    std::lock_guard lock(delivery_mu_);
    delivered = TOCSIN_TRY(deliverer_.update(*fenced_, options_.clock->now()));
  }
  // The writes of steps 1, 1b and 3 flush while their notifications go out (nobody waits for a
  // 2xx here; a power loss before the flush can at worst send a notification again).
  TOCSIN_RETURN_IF_ERROR(options_.store->make_durable(std::exchange(commit, {}).durable));
  // A notification that gave up raises a warning alert, routed like any received alert.
  if (!delivered.dead_letters.empty()) {
    std::lock_guard lock(mu_);
    const core::Timestamp now = options_.clock->now();
    std::vector<alerting::Alert> alerts;
    for (const auto& n : delivered.dead_letters) alerts.push_back(notify::dead_letter_alert(n, now));
    TOCSIN_TRY(receive_locked(std::move(alerts), {}, now, commit));
    earliest(pipeline_->next_due());
    // Its group may have flushed at once (group_wait 0s): that notification came after this
    // pass's delivery step, so the next pass is due now.
    if (commit.notifications) earliest(now);
  }
  TOCSIN_RETURN_IF_ERROR(options_.store->make_durable(commit.durable));
  // 5. Step actions, outside the engine lock too, after the pages of this pass went out.
  {
    std::lock_guard lock(actions_mu_);
    earliest(TOCSIN_TRY(actions_->update(*fenced_, options_.clock->now())));
  }
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    earliest(TOCSIN_TRY(tx.next_escalation_due()));
    earliest(TOCSIN_TRY(tx.next_task_due()));
    earliest(TOCSIN_TRY(tx.next_clock_due()));
    earliest(TOCSIN_TRY(deliverer_.next_due(tx, options_.clock->now())));
    return {};
  }));
  return next;
}

core::Status Engine::release_lease() {
  released_ = true;
  stop_deliveries();
  // The series this replica owned move to the others when it leaves the membership table below:
  // they take them from this checkpoint, as of now.
  if (auto st = checkpoint_detector_state(options_.clock->now()); !st) {
    core::log::error("detector state not checkpointed at shutdown; the replicas taking over start from the last one",
                     {{"error", st.error().to_string()}});
  }
  return lease_->release(*options_.store, options_.clock->now());
}

core::Result<ClusterStatus> Engine::cluster() { return lease_->status(*options_.store, options_.clock->now()); }

}  // namespace tocsin::engine
