// Scenario tests of the whole loop on a simulated clock: a real config (through the real
// loader), a real SQLite store in a temp dir, real HTTP deliveries to a real local receiver.
#include "engine/engine.h"
#include "engine/test_run_until.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "core/matcher.h"
#include "core/simulated_clock.h"
#include "http/http.h"
#include "notify/ack_link.h"
#include "notify/webhook/http_sender.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/eventually.h"
#include "test_support/temp_dir.h"
#include "test_support/webhook_receiver.h"
#include "tsdb/sample_log.h"

namespace tocsin::engine {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

// Monday 2026-03-02 08:00 UTC: week 7 of the rotation that started Monday 2026-01-05 09:00, so
// bob (the second member) is on call until 09:00.
const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

using test_support::eventually;
using test_support::Receiver;

std::string config_yaml(const std::string& hook, const std::string& detector = "{kind: threshold, above: 0.9}",
                        const std::string& for_duration = "1m") {
  return fmt::format(R"(
people:
  - {{id: alice, contact: {{webhook: "{0}/alice"}}}}
  - {{id: bob, contact: {{webhook: "{0}/bob"}}}}
  - {{id: carol, contact: {{webhook: "{0}/carol"}}}}
channels:
  - {{name: ops-hook, type: webhook, url: "{0}/hook", format: alertmanager}}
schedules:
  - id: ops-primary
    timezone: UTC
    layers:
      - {{rotation: weekly, handoff: "Mon 09:00", start: 2026-01-05, members: [alice, bob]}}
escalation_policies:
  - id: ops
    repeat: 1
    repeat_every: 30m
    levels:
      - {{after: 0m, notify: ["schedule:ops-primary"]}}
      - {{after: 10m, notify: ["person:carol", "channel:ops-hook"]}}
rules:
  - name: HighLoad
    select: 'system_load{{service="api"}}'
    detector: {1}
    for: {2}
    severity: major
    labels: {{incident_type: system_crash}}
    annotations: {{summary: "load {{{{ $value }}}} on {{{{ $labels.instance }}}}"}}
routes:
  receiver: ops-hook
  group_by: [alertname, service]
plans:
  - id: system_crash
    title: System crash
    match: ['incident_type="system_crash"']
    severity: critical
    escalation: ops
    roles: {{commander: "schedule:ops-primary", operations: "person:alice"}}
    steps:
      - {{id: activate, title: Page responders, owner: commander, due: 5h}}
      - {{id: triage, title: Find the failing part, owner: operations, due: 15h}}
)",
                     hook, detector, for_duration);
}

class EngineTest : public ::testing::Test {
 protected:
  void TearDown() override {
    engine_.reset();
    store_.reset();
  }

  void start(const std::string& hook_url, const std::string& detector = "{kind: threshold, above: 0.9}",
             const std::string& for_duration = "1m") {
    auto cfg = config::load_config_string(config_yaml(hook_url, detector, for_duration), "test.yaml", dir_.path());
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::make_shared<const config::Config>(std::move(*cfg));
    restart();
  }
  // A fresh engine on the same store file, as after a crash.
  void restart() {
    engine_.reset();
    store_.reset();
    store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value();
    EngineOptions options;
    options.config = config_;
    options.store = store_.get();
    options.clock = &clock_;
    options.metrics = &metrics_;
    options.senders = {{"webhook", &sender_}};
    options.external_url = "http://tocsin.test";
    options.retry = retry_;
    options.state_file = dir_.path() / "rules.state";
    options.series_file = dir_.path() / "series.snapshot";
    options.sample_log_dir = dir_.path() / "sample-log";
    options.ack_key = kAckKey;
    auto engine = Engine::create(std::move(options));
    ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
    engine_ = std::move(*engine);
  }
  std::vector<store::Notification> notifications(int64_t incident) {
    std::vector<store::Notification> out;
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
      out = TOCSIN_TRY(tx.list_notifications(incident));
      return {};
    }).has_value());
    return out;
  }

  void push(double value, std::string instance = "h1") {
    core::Sample s{core::Labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", instance}}, value,
                   clock_.now()};
    ASSERT_TRUE(engine_->ingest({s}).has_value());
  }
  // Advances the clock to `t`, running the engine at every time it asks for on the way.
  void run_until(core::Timestamp t) { engine::run_until(*engine_, clock_, t); }
  std::vector<std::string> kinds(const store::Incident& inc) {
    std::vector<std::string> out;
    for (const auto& e : inc.timeline) out.push_back(e.kind);
    return out;
  }

  static constexpr std::string_view kAckKey = "0123456789abcdef0123456789abcdef";
  test_support::TempDir dir_;
  core::SimulatedClock clock_{kStart};
  core::MetricsRegistry metrics_;
  notify::HttpSender sender_{clock_, seconds(5)};
  // Exact back-off (no jitter), so the scenarios can name the times of retries.
  notify::RetryPolicy retry_ = [] {
    notify::RetryPolicy p;
    p.jitter = 0;
    return p;
  }();
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, CrossingSampleBecomesAnIncidentAfterForAndPagesTheLadder) {
  Receiver receiver;
  start(receiver.url());

  push(0.5);
  run_until(kStart + seconds(10));
  EXPECT_TRUE(engine_->list_incidents({}).value().empty());

  push(0.95);  // pending from kStart + 10s
  run_until(kStart + seconds(69));
  EXPECT_TRUE(engine_->list_incidents({}).value().empty()) << "no incident before `for` elapsed";

  run_until(kStart + seconds(70));  // `for: 1m` elapsed with no new sample: fires
  auto incidents = engine_->list_incidents({}).value();
  ASSERT_EQ(incidents.size(), 1u);
  auto inc = engine_->get_incident(incidents[0].id).value();
  EXPECT_EQ(inc.plan, "system_crash");
  EXPECT_EQ(inc.severity, "critical");
  EXPECT_EQ(inc.status, store::IncidentStatus::kTriggered);
  EXPECT_EQ(inc.title, "System crash: load 0.95 on h1");
  EXPECT_EQ(inc.opened_at, kStart + seconds(70));
  ASSERT_EQ(inc.alerts.size(), 1u);
  EXPECT_EQ(inc.alerts[0].labels.get_or("alertname", ""), "HighLoad");
  ASSERT_EQ(inc.tasks.size(), 2u);
  EXPECT_EQ(inc.tasks[0].assignee, "bob");  // commander = on call
  EXPECT_EQ(inc.tasks[0].due_at, kStart + seconds(70) + std::chrono::hours(5));
  EXPECT_EQ(inc.tasks[1].assignee, "alice");
  // Level 1 paged the person on call, and the page was delivered.
  EXPECT_EQ(receiver.paths(), (std::vector<std::string>{"/bob"}));
  EXPECT_EQ(receiver.received()[0].second["incident"]["id"], std::to_string(inc.id));
  EXPECT_EQ(receiver.received()[0].second["target"], "schedule:ops-primary");
  EXPECT_EQ(kinds(inc), (std::vector<std::string>{"opened", "role_assigned", "role_assigned", "escalated", "notified"}));

  // Level 2 after 10 minutes: carol and the Alertmanager-format channel.
  run_until(kStart + seconds(70) + minutes(10) - seconds(1));
  EXPECT_EQ(receiver.paths().size(), 1u);
  run_until(kStart + seconds(70) + minutes(10));
  EXPECT_EQ(receiver.paths(), (std::vector<std::string>{"/bob", "/carol", "/hook"}));
  const json am = receiver.received()[2].second;
  EXPECT_EQ(am["version"], "4");
  EXPECT_EQ(am["status"], "firing");
  EXPECT_EQ(am["receiver"], "ops-hook");
  EXPECT_EQ(am["alerts"][0]["labels"]["alertname"], "HighLoad");
  EXPECT_EQ(am["alerts"][0]["status"], "firing");

  // The second pass starts 30 minutes after the first.
  run_until(kStart + seconds(70) + minutes(30));
  EXPECT_EQ(receiver.paths(), (std::vector<std::string>{"/bob", "/carol", "/hook", "/bob"}));

  // Acknowledging stops the ladder.
  auto acked = engine_->acknowledge(inc.id, "bob");
  ASSERT_TRUE(acked.has_value());
  EXPECT_EQ(acked->status, store::IncidentStatus::kAcknowledged);
  EXPECT_EQ(acked->acknowledged_at, clock_.now());
  EXPECT_EQ(acked->timeline.back().kind, "acknowledged");
  EXPECT_EQ(acked->timeline.back().actor, "bob");
  run_until(kStart + std::chrono::hours(2));
  EXPECT_EQ(receiver.paths().size(), 4u);
  EXPECT_EQ(engine_->acknowledge(inc.id, "bob").error().code(), core::ErrorCode::kFailedPrecondition);
}

TEST_F(EngineTest, AlertResolvesButTheIncidentWaitsForAPerson) {
  Receiver receiver;
  start(receiver.url());
  push(0.95);
  run_until(kStart + minutes(1));
  const int64_t id = engine_->list_incidents({}).value().at(0).id;
  // A second series of the same group joins the open incident.
  push(0.99, "h2");
  run_until(kStart + minutes(2));
  auto inc = engine_->get_incident(id).value();
  EXPECT_EQ(inc.alerts.size(), 2u);
  EXPECT_EQ(engine_->list_incidents({}).value().size(), 1u);

  push(0.2);  // h1 back under the threshold
  inc = engine_->get_incident(id).value();
  EXPECT_EQ(inc.status, store::IncidentStatus::kTriggered);
  int resolved = 0;
  for (const auto& a : inc.alerts) resolved += a.status == store::AlertState::kResolved;
  EXPECT_EQ(resolved, 1);
  EXPECT_EQ(kinds(inc).back(), "alert_resolved");

  auto done = engine_->resolve(id, "alice");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, store::IncidentStatus::kResolved);
  EXPECT_EQ(done->resolved_at, clock_.now());
  EXPECT_EQ(done->timeline.back().actor, "alice");
  auto note = engine_->add_note(id, "alice", "restarted the api");
  ASSERT_TRUE(note.has_value());
  EXPECT_EQ(note->timeline.back().kind, "note");
  EXPECT_EQ(note->timeline.back().detail, "restarted the api");
  EXPECT_EQ(engine_->resolve(id, "alice").error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(engine_->acknowledge(9999, "alice").error().code(), core::ErrorCode::kNotFound);
}

TEST_F(EngineTest, FailedDeliveriesAreRetriedWithBackoffAndEveryAttemptIsLogged) {
  Receiver receiver(/*fail_first=*/2);
  start(receiver.url());
  push(0.95);
  run_until(kStart + minutes(1));
  const int64_t id = engine_->list_incidents({}).value().at(0).id;
  EXPECT_TRUE(receiver.paths().empty());
  run_until(kStart + minutes(1) + seconds(4));
  EXPECT_TRUE(receiver.paths().empty()) << "first retry comes 5 s after the first failure";
  run_until(kStart + minutes(1) + seconds(5));  // second attempt fails, next in 10 s
  EXPECT_TRUE(receiver.paths().empty());
  run_until(kStart + minutes(1) + seconds(15));
  EXPECT_EQ(receiver.paths(), (std::vector<std::string>{"/bob"}));

  std::vector<store::Notification> notifications;
  std::vector<store::NotificationAttempt> attempts;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
    notifications = TOCSIN_TRY(tx.list_notifications(id));
    attempts = TOCSIN_TRY(tx.list_attempts(notifications.at(0).id));
    return {};
  }).has_value());
  ASSERT_EQ(notifications.size(), 1u);
  EXPECT_EQ(notifications[0].status, store::NotificationStatus::kSent);
  EXPECT_EQ(notifications[0].attempts, 3);
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_FALSE(attempts[0].ok);
  EXPECT_EQ(attempts[0].status_code, 500);
  EXPECT_TRUE(attempts[2].ok);
  EXPECT_EQ(attempts[2].at, kStart + minutes(1) + seconds(15));
}

TEST_F(EngineTest, EscalationResumesAfterARestart) {
  Receiver receiver;
  start(receiver.url());
  push(0.95);
  run_until(kStart + minutes(1));
  EXPECT_EQ(receiver.paths().size(), 1u);
  restart();  // all in-memory state gone; the store holds the ladder position
  run_until(kStart + minutes(11));
  EXPECT_EQ(receiver.paths(), (std::vector<std::string>{"/bob", "/carol", "/hook"}));
}

TEST_F(EngineTest, UnreachableReceiverGivesUpAfterMaxAttempts) {
  start("http://127.0.0.1:1");  // nothing listens on port 1
  push(0.95);
  run_until(kStart + minutes(1) + std::chrono::hours(1));
  const int64_t id = engine_->list_incidents({}).value().at(0).id;
  auto inc = engine_->get_incident(id).value();
  std::vector<store::Notification> notifications;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
    notifications = TOCSIN_TRY(tx.list_notifications(id));
    return {};
  }).has_value());
  ASSERT_FALSE(notifications.empty());
  EXPECT_EQ(notifications[0].status, store::NotificationStatus::kFailed);
  EXPECT_EQ(notifications[0].attempts, notify::RetryPolicy{}.max_attempts);
  EXPECT_NE(std::find(kinds(inc).begin(), kinds(inc).end(), "notify_failed"), kinds(inc).end());
}

TEST_F(EngineTest, RuleStateIsSavedAndRestored) {
  Receiver receiver;
  start(receiver.url());
  clock_.advance(seconds(30));
  push(0.5);
  ASSERT_TRUE(engine_->save_state().has_value());
  ASSERT_TRUE(std::filesystem::exists(dir_.path() / "rules.state"));
  restart();
  // The restored series remembers its last sample: an older one is out of order.
  core::Sample old{core::Labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", "h1"}}, 0.99, kStart};
  EXPECT_EQ(engine_->ingest({old}).value().alert_transitions, 0u);
  EXPECT_NE(metrics_.render().find("tocsin_samples_out_of_order_total 1"), std::string::npos);
  const auto health = engine_->rule_health();
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(health[0].series, 1u);
  EXPECT_NE(metrics_.render().find("tocsin_rule_series{rule=\"HighLoad\"} 1"), std::string::npos);
}

TEST_F(EngineTest, ARestartKeepsALearnedBaseline) {
  Receiver receiver;
  start(receiver.url(), "{kind: sigma, n: 3, window: 1h, min_samples: 20}", "0s");
  // Learn a baseline of 100 ± 1 from 30 samples, one a minute.
  for (int i = 0; i < 30; ++i) {
    clock_.advance(minutes(1));
    push(100.0 + (i % 2 ? 1.0 : -1.0));
  }
  ASSERT_TRUE(engine_->save_state().has_value());
  restart();
  // Right after the restart, a jump to 130 is judged against the learned baseline: it fires.
  clock_.advance(minutes(1));
  push(130);
  run_until(clock_.now());
  ASSERT_EQ(engine_->list_incidents({}).value().size(), 1u);

  // Without the saved state the detector would still be warming up and stay silent.
  engine_.reset();
  store_.reset();
  for (const char* file :
       {"rules.state", "series.snapshot", "sample-log", "tocsin.db", "tocsin.db-wal", "tocsin.db-shm"}) {
    std::filesystem::remove_all(dir_.path() / file);
  }
  restart();
  clock_.advance(minutes(1));
  push(130);
  run_until(clock_.now());
  EXPECT_TRUE(engine_->list_incidents({}).value().empty());
}

// A second engine over its own files, fed the same samples, that never restarts: what the
// restarted one should match.
struct ReferenceEngine {
  ReferenceEngine(std::shared_ptr<const config::Config> config, core::Clock& clock, notify::Sender& sender) {
    store = store::sqlite::open_sqlite_store(dir.path() / "tocsin.db").value();
    EngineOptions options;
    options.config = std::move(config);
    options.store = store.get();
    options.clock = &clock;
    options.metrics = &metrics;
    options.senders = {{"webhook", &sender}};
    options.state_file = dir.path() / "rules.state";
    options.series_file = dir.path() / "series.snapshot";
    engine = Engine::create(std::move(options)).value();
  }
  test_support::TempDir dir;
  core::MetricsRegistry metrics;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Engine> engine;
};

std::string read_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The samples of the pushed series in a series snapshot file.
std::vector<tsdb::Point> window_in(const std::filesystem::path& series_file) {
  core::MetricsRegistry metrics;
  auto store = tsdb::SeriesStore::load(series_file, {}, metrics).value();
  std::vector<tsdb::Point> out;
  const auto ref = store->find(core::Labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", "h1"}});
  if (ref) store->samples(*ref, core::Timestamp{}, core::from_unix_ms(int64_t{1} << 50), out);
  return out;
}

TEST_F(EngineTest, AKillAfterTheLastSaveLosesNeitherSamplesNorLearning) {
  Receiver receiver;
  start(receiver.url(), "{kind: sigma, n: 3, window: 1h, min_samples: 20}", "0s");
  ReferenceEngine reference(config_, clock_, sender_);
  auto both = [&](double v) {
    push(v);
    core::Sample s{core::Labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", "h1"}}, v, clock_.now()};
    ASSERT_TRUE(reference.engine->ingest({s}).has_value());
  };
  // 10 samples go into the snapshots, 20 more only into the sample log.
  for (int i = 0; i < 30; ++i) {
    if (i == 10) {
      ASSERT_TRUE(engine_->save_state().has_value());
      EXPECT_TRUE(tsdb::SampleLog::segments(dir_.path() / "sample-log").empty()) << "the snapshots cover them";
    }
    clock_.advance(minutes(1));
    both(100.0 + (i % 2 ? 1.0 : -1.0));
  }
  EXPECT_EQ(tsdb::SampleLog::segments(dir_.path() / "sample-log").size(), 1u);
  restart();  // as after kill -9: no save_state

  // The next sample is judged by the baseline of all 30 (20 are needed to judge at all): it fires,
  // as it does in the engine that never stopped.
  clock_.advance(minutes(1));
  both(130);
  run_until(clock_.now());
  EXPECT_EQ(engine_->list_incidents({}).value().size(), 1u);
  EXPECT_EQ(reference.engine->list_incidents({}).value().size(), 1u);
  // The same learned state, byte for byte (mean, deviation, last value, score), and the same
  // recent window.
  ASSERT_TRUE(engine_->save_state().has_value());
  ASSERT_TRUE(reference.engine->save_state().has_value());
  EXPECT_EQ(read_bytes(dir_.path() / "rules.state"), read_bytes(reference.dir.path() / "rules.state"));
  const auto window = window_in(dir_.path() / "series.snapshot");
  EXPECT_EQ(window.size(), 31u);
  EXPECT_EQ(window, window_in(reference.dir.path() / "series.snapshot"));
}

// A 2xx for samples means they survive a crash: when the sample log refuses a write, that batch
// gets `unavailable`, every later one too and nothing changes, until a probe and a snapshot work.
TEST_F(EngineTest, WhileTheSampleLogRefusesWritesSamplesAreRefusedAndTheRefusedBatchSurvivesACrash) {
  Receiver receiver;
  start(receiver.url(), "{kind: sigma, n: 3, window: 1h, min_samples: 20}", "0s");
  const auto log_dir = dir_.path() / "sample-log";
  const auto away = dir_.path() / "sample-log.away";
  auto sample = [&](double v, const std::string& instance = "h1") {
    return core::Sample{core::Labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", instance}}, v,
                        clock_.now()};
  };
  clock_.advance(minutes(1));
  push(100);
  // The snapshot starts a new segment, created at the next write: with the directory gone, the
  // log cannot create it.
  ASSERT_TRUE(engine_->save_state().has_value());
  std::filesystem::rename(log_dir, away);

  clock_.advance(minutes(1));
  auto refused = engine_->ingest({sample(101)});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), core::ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message().find("sample log"), std::string::npos) << refused.error().to_string();
  EXPECT_NE(engine_->sample_log_problem(), "");
  // Refused whole from now on: a new series is not even created.
  auto later = engine_->ingest({sample(5, "h2")});
  ASSERT_FALSE(later.has_value());
  EXPECT_EQ(later.error().code(), core::ErrorCode::kUnavailable);
  const auto all = core::parse_selector(R"({__name__="system_load"})").value();
  EXPECT_EQ(engine_->read_series(all, core::Timestamp{}, clock_.now(), 10).series.size(), 1u);
  // The probe fails while the directory is missing: still refused.
  EXPECT_FALSE(engine_->sync_sample_log().has_value());
  EXPECT_FALSE(engine_->ingest({sample(102)}).has_value());

  std::filesystem::rename(away, log_dir);
  ASSERT_TRUE(engine_->sync_sample_log().has_value());
  EXPECT_EQ(engine_->sample_log_problem(), "");
  ASSERT_TRUE(engine_->ingest({sample(5, "h2")}).has_value());
  // The refused batch's sample reached memory before the log refused it; the snapshot taken on
  // recovery holds it, so a crash now (no save_state) loses it not.
  restart();
  EXPECT_EQ(window_in(dir_.path() / "series.snapshot").size(), 2u);
  EXPECT_EQ(engine_->read_series(all, core::Timestamp{}, clock_.now(), 10).series.size(), 2u);
}

TEST_F(EngineTest, WithoutTheSampleLogAKillForgetsWhatWasLearnedSinceTheLastSave) {
  Receiver receiver;
  start(receiver.url(), "{kind: sigma, n: 3, window: 1h, min_samples: 20}", "0s");
  for (int i = 0; i < 30; ++i) {
    if (i == 10) {
      ASSERT_TRUE(engine_->save_state().has_value());
    }
    clock_.advance(minutes(1));
    push(100.0 + (i % 2 ? 1.0 : -1.0));
  }
  engine_.reset();
  std::filesystem::remove_all(dir_.path() / "sample-log");
  restart();
  clock_.advance(minutes(1));
  push(130);  // 10 samples learned: still warming up, silent
  run_until(clock_.now());
  EXPECT_TRUE(engine_->list_incidents({}).value().empty());
}

TEST_F(EngineTest, ReplayedSamplesDoNotPageAgainAndTheStoreSaysWhereAlertsAre) {
  Receiver receiver;
  start(receiver.url(), "{kind: threshold, above: 0.9}", "1m");
  push(0.95);                      // pending
  run_until(kStart + minutes(1));  // fires by the timer: one incident, one page
  push(0.97);
  restart();  // replays both crossing samples: pending again, but the store says firing
  EXPECT_EQ(engine_->rule_health()[0].firing, 1u);
  run_until(kStart + minutes(5));
  EXPECT_EQ(engine_->list_incidents({}).value().size(), 1u);
  EXPECT_EQ(receiver.paths(), (std::vector<std::string>{"/bob"}));
  push(0.2);  // and it resolves, as the store's firing alert
  auto inc = engine_->list_incidents({}).value().at(0);
  EXPECT_EQ(engine_->get_incident(inc.id).value().alerts.at(0).status, store::AlertState::kResolved);
}

TEST_F(EngineTest, CorruptRuleStateDoesNotStopTheEngine) {
  Receiver receiver;
  start(receiver.url());
  engine_.reset();
  std::ofstream(dir_.path() / "rules.state", std::ios::binary) << "not a snapshot";
  restart();
  ASSERT_NE(engine_, nullptr);
  push(0.95);
  run_until(kStart + minutes(1));
  EXPECT_EQ(engine_->list_incidents({}).value().size(), 1u);
}


// Alerts from outside that match no plan go to the route's receiver, grouped; a restart (the
// groups and their timers are rebuilt) does not send what the notification log says was sent.
TEST_F(EngineTest, NotifyOnlyAlertsAreGroupedAndARestartDoesNotReSendThem) {
  Receiver receiver;
  start(receiver.url());
  auto alert = [&](std::string instance, std::optional<core::Timestamp> ends) {
    alerting::Alert a;
    a.labels = core::Labels{{"alertname", "DiskFull"}, {"service", "db"}, {"instance", instance}};
    a.fingerprint = a.labels.fingerprint();
    a.active_at = kStart;
    a.ends_at = ends;
    a.updated_at = clock_.now();
    return a;
  };
  ASSERT_TRUE(engine_->receive_alerts({alert("h1", std::nullopt), alert("h2", std::nullopt)}).has_value());
  run_until(kStart + seconds(29));
  EXPECT_TRUE(receiver.received().empty()) << "group_wait (30s default) has not passed";
  run_until(kStart + seconds(30));
  ASSERT_EQ(receiver.paths(), std::vector<std::string>{"/hook"});
  const json first = receiver.received()[0].second;
  EXPECT_EQ(first["groupKey"], R"({}:{alertname="DiskFull", service="db"})");
  EXPECT_EQ(first["alerts"].size(), 2u);
  EXPECT_TRUE(engine_->list_incidents({}).value().empty()) << "no plan matches: no incident";

  restart();
  run_until(kStart + minutes(20));
  EXPECT_EQ(receiver.received().size(), 1u) << "the stored notification log stops a re-send";

  // A resolve is news: sent once, also across another restart.
  ASSERT_TRUE(engine_->receive_alerts({alert("h1", clock_.now())}).has_value());
  run_until(kStart + minutes(26));
  restart();
  run_until(kStart + minutes(40));
  ASSERT_EQ(receiver.received().size(), 2u);
  const json second = receiver.received()[1].second;
  EXPECT_EQ(second["status"], "firing");  // h2 still fires
  EXPECT_EQ(second["alerts"][0]["status"], "resolved");
  EXPECT_EQ(second["alerts"][1]["status"], "firing");
}

// A notification created by a flush but not yet delivered when the process dies is delivered
// once after the restart: the flush wrote it and its log entry in one transaction.
TEST_F(EngineTest, AGroupNotificationPendingAtACrashIsSentExactlyOnce) {
  Receiver receiver(/*fail_first=*/1);
  start(receiver.url());
  alerting::Alert a;
  a.labels = core::Labels{{"alertname", "Backup"}, {"service", "db"}};
  a.fingerprint = a.labels.fingerprint();
  a.active_at = kStart - minutes(5);  // older than group_wait: the group flushes at once
  a.updated_at = kStart;
  ASSERT_TRUE(engine_->receive_alerts({a}).has_value());
  ASSERT_TRUE(engine_->run_due().has_value());  // flush + a first attempt that gets HTTP 500
  EXPECT_TRUE(receiver.received().empty());
  restart();
  run_until(kStart + minutes(10));
  EXPECT_EQ(receiver.paths(), std::vector<std::string>{"/hook"});
}

// A silenced alert that matches a plan opens no incident; once the silence is expired, its
// group's next flush opens it.
TEST_F(EngineTest, ASilencedPlanAlertOpensItsIncidentOnlyOnceUnmuted) {
  Receiver receiver;
  start(receiver.url());
  store::Silence s;
  s.matchers.push_back(core::Matcher::parse(R"(instance="h1")").value());
  s.starts_at = kStart;
  s.ends_at = kStart + minutes(30);
  s.created_by = "alice";
  const std::string id = engine_->set_silence(s).value();
  push(0.95);
  run_until(kStart + minutes(2));
  EXPECT_TRUE(engine_->list_incidents({}).value().empty()) << "the firing alert is silenced";
  EXPECT_TRUE(receiver.received().empty());
  ASSERT_TRUE(engine_->expire_silence(id).has_value());
  run_until(kStart + minutes(10));
  ASSERT_EQ(engine_->list_incidents({}).value().size(), 1u);
  EXPECT_FALSE(receiver.received().empty()) << "and the incident pages";
}

// Every page carries a signed acknowledge link for the person paged.
TEST_F(EngineTest, PagesCarryASignedAckLink) {
  Receiver receiver;
  start(receiver.url());
  push(0.95);
  run_until(kStart + minutes(1));
  const int64_t id = engine_->list_incidents({}).value().at(0).id;
  ASSERT_EQ(receiver.paths(), std::vector<std::string>{"/bob"});
  const std::string url = receiver.received()[0].second["ack_url"];
  const std::string prefix = "http://tocsin.test/api/v1/ack/";
  ASSERT_TRUE(url.starts_with(prefix)) << url;
  auto claim = notify::verify_ack_token(url.substr(prefix.size()), clock_.now(), kAckKey);
  ASSERT_TRUE(claim.has_value()) << claim.error().to_string();
  EXPECT_EQ(claim->incident, id);
  EXPECT_EQ(claim->actor, "bob");
  EXPECT_EQ(claim->expires, kStart + minutes(1) + notify::kAckLinkLifetime);
}

// A page that cannot be delivered dead-letters after max_attempts and raises a warning alert of
// its own through the alerting pipeline, besides the timeline event and the counter.
TEST_F(EngineTest, ADeadLetterRaisesAWarningAlert) {
  Receiver receiver(/*fail_first=*/1'000'000);
  retry_.max_attempts = 3;  // 5 s and 10 s apart: gives up 15 s after the first try
  start(receiver.url());
  push(0.95);
  run_until(kStart + minutes(1) + seconds(14));
  EXPECT_TRUE(engine_->alert_statuses().size() == 1) << "only HighLoad before the page gives up";
  run_until(kStart + minutes(1) + seconds(15));

  const int64_t id = engine_->list_incidents({}).value().at(0).id;
  const auto sent = notifications(id);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].status, store::NotificationStatus::kFailed);
  auto inc = engine_->get_incident(id).value();
  EXPECT_NE(std::find(kinds(inc).begin(), kinds(inc).end(), "notify_failed"), kinds(inc).end());
  EXPECT_NE(metrics_.render().find("tocsin_notifications_dead_letter_total{channel=\"webhook\"} 1"), std::string::npos);

  std::optional<alerting::Alert> raised;
  for (const auto& s : engine_->alert_statuses()) {
    if (s.alert.labels.get_or("alertname", "") == "TocsinNotificationFailed") raised = s.alert;
  }
  ASSERT_TRUE(raised.has_value()) << "the dead letter raised an alert";
  EXPECT_EQ(raised->labels.get_or("severity", ""), "warning");
  EXPECT_EQ(raised->labels.get_or("target", ""), "schedule:ops-primary");
  EXPECT_EQ(raised->labels.get_or("channel", ""), "webhook");
  EXPECT_EQ(raised->annotations.at("error"), "HTTP 500");
  EXPECT_EQ(raised->annotations.at("incident"), std::to_string(id));
  EXPECT_EQ(raised->ends_at, clock_.now() + notify::kDeadLetterAlertFor) << "resolves by itself";
  EXPECT_EQ(engine_->list_incidents({}).value().size(), 1u) << "matches no plan: notify-only";

  // Routed to the root receiver like any alert: its group (group_wait 30 s) flushes a
  // notification for it (to the same failing hook, which is tried, and fails).
  run_until(kStart + minutes(2));
  bool group_notified = false;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
    for (const auto& n : TOCSIN_TRY(tx.list_notifications(0))) {
      group_notified |= n.payload.find("TocsinNotificationFailed") != std::string::npos;
    }
    return {};
  }).has_value());
  EXPECT_TRUE(group_notified);
}

// An incident opened by a sample pages its first level in the same request, right after the
// transaction that opened it (Engine::escalate_opened_locked): no driver pass runs here between
// the sample and the page.
TEST_F(EngineTest, AnIncidentOpenedByASamplePagesItsFirstLevelWithoutADriverPass) {
  Receiver receiver;
  start(receiver.url(), "{kind: threshold, above: 0.9}", "0s");
  ASSERT_TRUE(engine_->run_due().has_value());  // the first pass takes the engine lease
  push(0.95);
  const auto incidents = engine_->list_incidents({}).value();
  ASSERT_EQ(incidents.size(), 1u);
  const int64_t id = incidents[0].id;
  ASSERT_EQ(notifications(id).size(), 1u) << "level 1 (after 0m) paged with the incident";
  EXPECT_EQ(notifications(id)[0].dedup_key,
            fmt::format("inc:{}/pass:1/level:1/schedule:ops-primary/webhook/{}/bob", id, receiver.url()));
  const auto inc = engine_->get_incident(id).value();
  const auto events = kinds(inc);
  EXPECT_NE(std::find(events.begin(), events.end(), "escalated"), events.end());
  EXPECT_EQ(inc.escalation_next_level, 1) << "the ladder moved on to level 2";
  // The driver's pass finds level 1 paged: no second page, and level 2 still 10 minutes away.
  ASSERT_TRUE(engine_->run_due().has_value());
  EXPECT_EQ(notifications(id).size(), 1u);
}

// The same escalation step is never paged twice: if the ladder position were stale (a bug, or a
// second replica working from an old read), paging the step again violates the notifications'
// unique dedup key and the whole escalation transaction rolls back.
TEST_F(EngineTest, PagingTheSameEscalationStepTwiceRollsBack) {
  Receiver receiver;
  start(receiver.url());
  push(0.95);
  run_until(kStart + minutes(1));
  const int64_t id = engine_->list_incidents({}).value().at(0).id;
  ASSERT_EQ(notifications(id).size(), 1u);
  const auto before = engine_->get_incident(id).value();
  EXPECT_EQ(notifications(id)[0].dedup_key,
            fmt::format("inc:{}/pass:1/level:1/schedule:ops-primary/webhook/{}/bob", id, receiver.url()));

  // Rewind the ladder to level 1 of pass 1, as a stale reader would see it.
  ASSERT_TRUE(store_->write([&](store::Tx& tx) -> core::Status {
    auto inc = TOCSIN_TRY(tx.get_incident(id)).value();
    inc.escalation_pass = 0;
    inc.escalation_next_level = 0;
    inc.escalation_next_at = clock_.now();
    return tx.update_incident(inc);
  }).has_value());
  auto again = engine_->run_due();
  ASSERT_FALSE(again.has_value()) << "a second page for the same step must fail";
  EXPECT_NE(again.error().message().find("UNIQUE constraint failed: notifications.dedup_key"), std::string::npos)
      << again.error().to_string();
  EXPECT_EQ(notifications(id).size(), 1u);
  const auto after = engine_->get_incident(id).value();
  EXPECT_EQ(after.timeline.size(), before.timeline.size()) << "no second \"escalated\" event";
  EXPECT_EQ(after.escalation_next_level, 0) << "the ladder move rolled back too";
  EXPECT_EQ(receiver.paths(), std::vector<std::string>{"/bob"});
}

// A store whose flushes (make_durable) wait, once armed, until the test lets them go: what the
// engine does before a write is durable.
class HeldFlushStore final : public store::Store {
 public:
  explicit HeldFlushStore(store::Store& inner) : inner_(inner) {}
  core::Status write(const std::function<core::Status(store::Tx&)>& fn) override { return inner_.write(fn); }
  core::Status read(const std::function<core::Status(store::Tx&)>& fn) override { return inner_.read(fn); }
  int schema_version() override { return inner_.schema_version(); }
  // Armed with arm_commit(), the next write_visible holds its transaction open after its work,
  // before the COMMIT, until release(); with `roll_back`, it then fails and rolls back.
  core::Result<store::PendingCommit> write_visible(const std::function<core::Status(store::Tx&)>& fn) override {
    return inner_.write_visible([&](store::Tx& tx) -> core::Status {
      auto st = fn(tx);
      std::unique_lock lock(mu_);
      if (!commit_armed_) return st;
      commit_armed_ = false;
      ++held_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !armed_; });
      if (roll_back_) return std::unexpected(core::Error::unavailable("the test rolled this transaction back"));
      return st;
    });
  }
  core::Status make_durable(store::PendingCommit commit) override {
    {
      std::unique_lock lock(mu_);
      if (armed_) {
        ++held_;
        changed_.notify_all();
        changed_.wait(lock, [&] { return !armed_; });
      }
    }
    return inner_.make_durable(commit);
  }
  void arm() {
    std::lock_guard lock(mu_);
    armed_ = true;
  }
  void arm_commit(bool roll_back) {
    std::lock_guard lock(mu_);
    armed_ = commit_armed_ = true;
    roll_back_ = roll_back;
  }
  void release() {
    std::lock_guard lock(mu_);
    armed_ = false;
    changed_.notify_all();
  }
  bool wait_until_held() {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, seconds(10), [&] { return held_ > 0; });
  }

 private:
  store::Store& inner_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool armed_ = false;
  bool commit_armed_ = false;
  bool roll_back_ = false;
  int held_ = 0;
};

// A dead letter's warning alert whose group flushes at once (group_wait 0s) gets its notification
// after the pass's delivery step: the pass asks to run again at once, or that notification would
// wait for an unrelated wake (the driver's own wake used to cover it).
TEST(EngineDelivery, ADeadLettersAlertNotifiedAtOnceIsSentByTheNextPassAtOnce) {
  test_support::TempDir dir;
  core::SimulatedClock clock(kStart);
  core::MetricsRegistry metrics;
  notify::HttpSender sender(clock, seconds(5));
  auto cfg = config::load_config_string(R"(
channels:
  - {name: hook, type: webhook, url: "http://127.0.0.1:9/hook", format: alertmanager}
routes:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
)",
                                        "t.yaml", dir.path());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  auto store = store::sqlite::open_sqlite_store(dir.path() / "tocsin.db").value();
  EngineOptions options;
  options.config = std::make_shared<const config::Config>(std::move(*cfg));
  options.store = store.get();
  options.clock = &clock;
  options.metrics = &metrics;
  options.senders = {{"webhook", &sender}};
  options.retry.max_attempts = 1;  // port 9 refuses: the first failure is the last
  auto engine = Engine::create(std::move(options)).value();
  ASSERT_TRUE(engine->run_due().has_value());  // the engine lease

  alerting::Alert a;
  a.labels = core::Labels{{"alertname", "DiskFull"}, {"instance", "db1"}};
  a.fingerprint = a.labels.fingerprint();
  a.active_at = a.updated_at = clock.now();
  ASSERT_TRUE(engine->receive_alerts({a}).has_value());
  auto next = engine->run_due();  // sends DiskFull's notification, which dead-letters
  ASSERT_TRUE(next.has_value()) << next.error().to_string();
  std::vector<store::Notification> pending;
  ASSERT_TRUE(store->read([&](store::Tx& tx) -> core::Status {
    pending = TOCSIN_TRY(tx.due_notifications(clock.now(), 10));
    return {};
  }).has_value());
  ASSERT_EQ(pending.size(), 1u) << "the warning alert's notification";
  EXPECT_NE(pending[0].payload.find("TocsinNotificationFailed"), std::string::npos);
  ASSERT_TRUE(next->has_value());
  EXPECT_LE(**next, clock.now()) << "the next pass, which sends it, is due at once";
}

// An engine over a HeldFlushStore whose root route sends every alertname's group to one webhook
// after `group_wait`; with `send`, its pages really go out (in the background, as on a server).
struct HeldFlushEngine {
  HeldFlushEngine(const std::string& hook_url, std::string_view group_wait, bool send) {
    auto cfg = config::load_config_string(fmt::format(R"(
channels:
  - {{name: hook, type: webhook, url: "{}/hook", format: alertmanager}}
routes:
  receiver: hook
  group_by: [alertname]
  group_wait: {}
)",
                                                      hook_url, group_wait),
                                          "t.yaml", dir.path());
    EXPECT_TRUE(cfg.has_value()) << cfg.error().to_string();
    sqlite = store::sqlite::open_sqlite_store(dir.path() / "tocsin.db").value();
    store = std::make_unique<HeldFlushStore>(*sqlite);
    EngineOptions options;
    options.config = std::make_shared<const config::Config>(std::move(*cfg));
    options.store = store.get();
    options.clock = &clock;
    options.metrics = &metrics;
    if (send) {
      options.senders = {{"webhook", &sender}};
      options.delivery.background = true;
    }
    engine = Engine::create(std::move(options)).value();
  }
  // A new alert DiskFull on db1, as of now.
  alerting::Alert alert() const {
    alerting::Alert a;
    a.labels = core::Labels{{"alertname", "DiskFull"}, {"instance", "db1"}};
    a.fingerprint = a.labels.fingerprint();
    a.active_at = a.updated_at = clock.now();
    return a;
  }

  test_support::TempDir dir;
  core::SimulatedClock clock{kStart};
  core::MetricsRegistry metrics;
  notify::HttpSender sender{clock, seconds(5)};
  std::unique_ptr<store::Store> sqlite;
  std::unique_ptr<HeldFlushStore> store;
  std::unique_ptr<Engine> engine;
};

// The page of a new alert leaves while the request waits for its flush, from the request's own
// thread (no driver runs here): it waits neither for the disk nor for a driver's pass. The
// request still answers only after the flush.
TEST(EngineDelivery, ANewAlertsNotificationLeavesBeforeItsWriteIsFlushed) {
  Receiver receiver;
  HeldFlushEngine t(receiver.url(), "0s", /*send=*/true);
  auto& engine = t.engine;
  auto& store = *t.store;
  ASSERT_TRUE(engine->run_due().has_value());  // the first pass takes the engine lease

  const alerting::Alert a = t.alert();
  store.arm();
  core::Result<size_t> received = std::unexpected(core::Error::internal("not returned"));
  std::atomic<bool> returned{false};
  std::thread request([&] {
    received = engine->receive_alerts({a});
    returned = true;
  });
  ASSERT_TRUE(store.wait_until_held());
  EXPECT_TRUE(eventually([&] { return receiver.paths() == std::vector<std::string>{"/hook"}; }))
      << "the page left while the flush was held";
  EXPECT_FALSE(returned.load()) << "the request answers after its flush";
  store.release();
  request.join();
  ASSERT_TRUE(received.has_value()) << received.error().to_string();
  EXPECT_EQ(*received, 1u);
  engine->stop_deliveries();
}

// The notification of a group that flushes at once leaves before its transaction's COMMIT (the
// send overlaps the commit instead of following it and a read of what it wrote); its lane records
// the attempt once the commit is known. Rolled back, the send is let go: no row, no record, the
// request refused, and the next alert's page goes out as usual.
TEST(EngineDelivery, ANotificationLeavesBeforeItsCommitAndIsRecordedOnceItCommitted) {
  for (const bool roll_back : {false, true}) {
    SCOPED_TRACE(roll_back ? "rolled back" : "committed");
    Receiver receiver;
    HeldFlushEngine t(receiver.url(), "0s", /*send=*/true);
    auto& engine = t.engine;
    auto& store = *t.store;
    ASSERT_TRUE(engine->run_due().has_value());  // the first pass takes the engine lease

    store.arm_commit(roll_back);
    core::Result<size_t> received = std::unexpected(core::Error::internal("not returned"));
    std::thread request([&] { received = engine->receive_alerts({t.alert()}); });
    ASSERT_TRUE(store.wait_until_held());
    EXPECT_TRUE(eventually([&] { return receiver.paths() == std::vector<std::string>{"/hook"}; }))
        << "the page left while its transaction was open";
    store.release();
    request.join();
    EXPECT_EQ(received.has_value(), !roll_back);
    auto recorded = [&] {
      std::vector<store::Notification> all;
      EXPECT_TRUE(store
                      .read([&](store::Tx& tx) -> core::Status {
                        all = TOCSIN_TRY(tx.list_notifications(0));
                        return {};
                      })
                      .has_value());
      return all;
    };
    if (!roll_back) {
      EXPECT_TRUE(eventually([&] {
        auto all = recorded();
        return all.size() == 1 && all[0].status == store::NotificationStatus::kSent && all[0].attempts == 1;
      })) << "the lane recorded its send once the transaction committed";
      ASSERT_TRUE(engine->run_due().has_value());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      EXPECT_EQ(receiver.paths().size(), 1u) << "the driver's pass sent it again";
    } else {
      EXPECT_TRUE(recorded().empty());
      alerting::Alert other = t.alert();
      other.labels = core::Labels{{"alertname", "CpuHot"}, {"instance", "db1"}};
      other.fingerprint = other.labels.fingerprint();
      ASSERT_TRUE(engine->receive_alerts({other}).has_value());
      EXPECT_TRUE(eventually([&] { return receiver.paths().size() == 2u; }))
          << "the lane is free after a rolled-back send";
      EXPECT_TRUE(eventually([&] {
        auto all = recorded();
        return all.size() == 1 && all[0].status == store::NotificationStatus::kSent;
      })) << "the next notification is recorded";
    }
    engine->stop_deliveries();
  }
}

// A new alert group (group_wait 30s) gives the driver a timer to set, but nothing to send yet: the
// request wakes it only after its flush, so that the driver's pass does not compete with the
// request for the CPU and the store on the way to its 2xx.
TEST(EngineDelivery, ARequestWakesTheDriverForANewGroupAfterItsFlush) {
  HeldFlushEngine t("http://127.0.0.1:9", "30s", /*send=*/false);
  auto& engine = t.engine;
  auto& store = *t.store;
  ASSERT_TRUE(engine->run_due().has_value());
  std::atomic<int> woken{0};
  engine->set_on_wake([&] { ++woken; });

  const alerting::Alert a = t.alert();
  store.arm();
  core::Result<size_t> received = std::unexpected(core::Error::internal("not returned"));
  std::thread request([&] { received = engine->receive_alerts({a}); });
  ASSERT_TRUE(store.wait_until_held());
  EXPECT_EQ(woken.load(), 0) << "the driver was woken before the request's flush";
  store.release();
  request.join();
  ASSERT_TRUE(received.has_value()) << received.error().to_string();
  EXPECT_EQ(woken.load(), 1) << "the new group's timer is the driver's to set";
  auto next = engine->run_due();
  ASSERT_TRUE(next.has_value()) << next.error().to_string();
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(**next, kStart + seconds(30)) << "the group's flush, group_wait after its first alert";
}

}  // namespace
}  // namespace tocsin::engine
