// Two engines sharing one store, as two tocsin replicas on one PostgreSQL do
// (docs/high-availability.md, "Alerts across replicas"): here two SQLite stores on one file in one
// process, on one simulated clock. Each engine keeps its own alert groups; the stored notification
// log, silences and alert records are what they share. Notifications are counted where they are
// created (the store), since both engines here also deliver what is pending.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "alerting/alert.h"
#include "config/loader.h"
#include "core/simulated_clock.h"
#include "engine/engine.h"
#include "notify/webhook/http_sender.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"
#include "test_support/webhook_receiver.h"

namespace tocsin::engine {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

std::string config_yaml(const std::string& hook, const std::string& group_wait, const std::string& routes) {
  return fmt::format(R"(
people:
  - {{id: alice, contact: {{webhook: "{0}/alice"}}}}
channels:
  - {{name: ops-hook, type: webhook, url: "{0}/hook", format: alertmanager}}
  - {{name: quiet, type: webhook, url: "{0}/quiet", format: alertmanager, send_resolved: false}}
escalation_policies:
  - id: ops
    levels:
      - {{after: 0m, notify: ["person:alice"]}}
routes:
  receiver: ops-hook
  group_by: [alertname]
  group_wait: {1}
  group_interval: 5m
  repeat_interval: 4h
{2}plans:
  - id: crash
    title: Crash
    match: ['incident_type="crash"']
    escalation: ops
    roles: {{commander: "person:alice"}}
    steps:
      - {{id: triage, title: Triage, owner: commander, due: 1h}}
)",
                     hook, group_wait, routes);
}

class ReplicasTest : public ::testing::Test {
 protected:
  void start(const std::string& group_wait = "30s", const std::string& routes = "") {
    auto cfg = config::load_config_string(config_yaml(receiver_.url(), group_wait, routes), "t.yaml", dir_.path());
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    auto config = std::make_shared<const config::Config>(std::move(*cfg));
    for (int i = 0; i < 2; ++i) {
      auto store = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db");
      ASSERT_TRUE(store.has_value()) << store.error().to_string();
      stores_[i] = std::move(*store);
      EngineOptions options;
      options.config = config;
      options.store = stores_[i].get();
      options.clock = &clock_;
      options.metrics = &metrics_[i];
      options.senders = {{"webhook", &sender_}};
      options.external_url = "http://tocsin.test";
      // Two replicas of one shared store: the first to run holds the engine lease (and delivers).
      options.lease.replica_id = i == 0 ? "replica-a" : "replica-b";
      options.lease.exclusive_store = false;
      auto engine = Engine::create(std::move(options));
      ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
      engines_[i] = std::move(*engine);
    }
  }
  Engine& a() { return *engines_[0]; }
  Engine& b() { return *engines_[1]; }

  // Runs both engines at every time either asks for up to `t`, A first (then B) at each.
  void run_until(core::Timestamp t) {
    for (int guard = 0; guard < 10000; ++guard) {
      std::optional<core::Timestamp> next;
      for (auto& engine : engines_) {
        auto due = engine->run_due();
        ASSERT_TRUE(due.has_value()) << due.error().to_string();
        if (*due && (!next || **due < *next)) next = **due;
      }
      if (!next || *next > t) break;
      clock_.advance_to(std::max(*next, clock_.now()));
    }
    clock_.advance_to(t);
    for (auto& engine : engines_) ASSERT_TRUE(engine->run_due().has_value());
  }

  static alerting::Alert alert(std::string alertname, std::string instance, core::Timestamp starts,
                               std::optional<core::Timestamp> ends, core::Timestamp now,
                               std::string incident_type = "") {
    alerting::Alert a;
    a.labels = core::Labels{{"alertname", alertname}, {"instance", instance}};
    if (!incident_type.empty()) a.labels = core::Labels{{"alertname", alertname}, {"incident_type", incident_type},
                                                        {"instance", instance}};
    a.fingerprint = a.labels.fingerprint();
    a.active_at = starts;
    a.ends_at = ends;
    a.updated_at = now;
    return a;
  }
  static void receive(Engine& engine, std::vector<alerting::Alert> alerts) {
    auto got = engine.receive_alerts(std::move(alerts));
    ASSERT_TRUE(got.has_value()) << got.error().to_string();
  }
  // Every notification a group flush created (no incident), oldest first, as its JSON body.
  std::vector<json> group_notifications() {
    std::vector<json> out;
    auto st = stores_[0]->read([&](store::Tx& tx) -> core::Status {
      for (const auto& n : TOCSIN_TRY(tx.list_notifications(0))) out.push_back(json::parse(n.payload));
      return {};
    });
    EXPECT_TRUE(st.has_value()) << st.error().to_string();
    return out;
  }
  static std::vector<std::string> statuses(const json& body) {
    std::vector<std::string> out;
    for (const auto& a : body["alerts"]) out.push_back(a["labels"]["instance"].get<std::string>() + ":" + a["status"].get<std::string>());
    return out;
  }

  test_support::TempDir dir_;
  test_support::Receiver receiver_;
  core::SimulatedClock clock_{kStart};
  core::MetricsRegistry metrics_[2];
  notify::HttpSender sender_{clock_, std::chrono::seconds(5)};
  std::unique_ptr<store::Store> stores_[2];
  std::unique_ptr<Engine> engines_[2];
};

// Prometheus sends every alert to every Alertmanager: both replicas get it, both groups flush,
// one notification; the repeat interval re-notifies once; the resolve is sent once.
TEST_F(ReplicasTest, TheSameAlertAtBothReplicasIsNotifiedOnceThenRepeatedAndResolvedOnce) {
  start();
  for (Engine* e : {&a(), &b()}) receive(*e, {alert("DiskFull", "h1", kStart, std::nullopt, kStart)});
  run_until(kStart + seconds(29));
  EXPECT_TRUE(group_notifications().empty()) << "group_wait has not passed";
  run_until(kStart + seconds(30));
  ASSERT_EQ(group_notifications().size(), 1u);
  run_until(kStart + hours(4));
  EXPECT_EQ(group_notifications().size(), 1u) << "within the repeat interval neither re-sends";
  run_until(kStart + hours(4) + minutes(6));
  ASSERT_EQ(group_notifications().size(), 2u) << "one re-notification after repeat_interval, not two";
  run_until(kStart + hours(8) + minutes(1));
  EXPECT_EQ(group_notifications().size(), 2u);

  const core::Timestamp resolved = clock_.now();
  for (Engine* e : {&a(), &b()}) receive(*e, {alert("DiskFull", "h1", kStart, resolved, resolved)});
  run_until(resolved + minutes(30));
  auto sent = group_notifications();
  ASSERT_EQ(sent.size(), 3u) << "one resolved notification";
  EXPECT_EQ(sent[2]["status"], "resolved");
  EXPECT_TRUE(a().alert_statuses().empty());
  EXPECT_TRUE(b().alert_statuses().empty());
}

// group_wait 0: the group flushes inside each replica's receive transaction; the second one reads
// the first one's log entry there and creates nothing.
TEST_F(ReplicasTest, AGroupFlushedInsideTheReceiveTransactionIsNotifiedOnce) {
  start("0s");
  for (Engine* e : {&a(), &b()}) receive(*e, {alert("DiskFull", "h1", kStart, std::nullopt, kStart)});
  EXPECT_EQ(group_notifications().size(), 1u);
  clock_.advance(seconds(1));
  // A second alert joins the group: news, sent once, with both alerts.
  for (Engine* e : {&a(), &b()}) receive(*e, {alert("DiskFull", "h2", clock_.now(), std::nullopt, clock_.now())});
  run_until(kStart + minutes(10));
  auto sent = group_notifications();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(statuses(sent[1]), (std::vector<std::string>{"h1:firing", "h2:firing"}));
}

// A silence made on one replica mutes the alert arriving at the other; expired on the other,
// the alert is notified (once).
TEST_F(ReplicasTest, ASilenceSetOnOneReplicaMutesOnTheOther) {
  start();
  store::Silence s;
  s.matchers.push_back(core::Matcher::parse(R"(alertname="DiskFull")").value());
  s.starts_at = kStart;
  s.ends_at = kStart + hours(1);
  s.created_by = "alice";
  auto id = a().set_silence(s);
  ASSERT_TRUE(id.has_value()) << id.error().to_string();
  for (Engine* e : {&a(), &b()}) receive(*e, {alert("DiskFull", "h1", kStart, std::nullopt, kStart)});
  ASSERT_EQ(b().alert_statuses().size(), 1u);
  EXPECT_EQ(b().alert_statuses()[0].silenced_by, std::vector<std::string>{*id});
  ASSERT_EQ(b().silences().size(), 1u) << "B lists A's silence";
  run_until(kStart + minutes(20));
  EXPECT_TRUE(group_notifications().empty()) << "muted on both";

  ASSERT_TRUE(b().expire_silence(*id).has_value()) << "B can expire a silence A made";
  EXPECT_TRUE(a().alert_statuses().at(0).silenced_by.empty()) << "A sees the expiry before its next flush";
  run_until(kStart + minutes(40));
  EXPECT_EQ(group_notifications().size(), 1u);
}

// A resolve that reaches only one replica: it sends the resolved notification; the other adopts
// the stored record at its next flush instead of sending the alert as firing again.
TEST_F(ReplicasTest, AResolveReceivedByOneReplicaIsNotifiedOnceAndTheOtherAdoptsIt) {
  start();
  for (Engine* e : {&a(), &b()}) receive(*e, {alert("DiskFull", "h1", kStart, std::nullopt, kStart)});
  run_until(kStart + minutes(1));
  ASSERT_EQ(group_notifications().size(), 1u);
  receive(b(), {alert("DiskFull", "h1", kStart, clock_.now(), clock_.now())});
  EXPECT_EQ(a().alert_statuses().size(), 1u) << "A has not heard of it yet";
  run_until(kStart + hours(5));
  auto sent = group_notifications();
  ASSERT_EQ(sent.size(), 2u) << "one resolved notification, and A does not re-send the alert as firing";
  EXPECT_EQ(sent[1]["status"], "resolved");
  EXPECT_TRUE(a().alert_statuses().empty());
}

// A load balancer spreads one group's alerts: each replica holds one. The second flush reads the
// other's alert through the stored log entry and sends both; the first then adopts that.
TEST_F(ReplicasTest, AGroupsAlertsSpreadOverReplicasAreSentTogether) {
  start();
  receive(a(), {alert("DiskFull", "h1", kStart, std::nullopt, kStart)});
  receive(b(), {alert("DiskFull", "h2", kStart, std::nullopt, kStart)});
  run_until(kStart + hours(1));
  auto sent = group_notifications();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(statuses(sent[0]), std::vector<std::string>{"h1:firing"});  // A flushed first
  EXPECT_EQ(statuses(sent[1]), (std::vector<std::string>{"h1:firing", "h2:firing"}));
  EXPECT_EQ(a().alert_statuses().size(), 2u) << "A adopted h2 at its next flush";
  EXPECT_EQ(b().alert_statuses().size(), 2u);
}

// A plan alert at both replicas opens one incident, and the second replica does not add the
// alert to it again.
TEST_F(ReplicasTest, APlanAlertAtBothReplicasOpensOneIncident) {
  start();
  for (Engine* e : {&a(), &b()}) receive(*e, {alert("Crash", "h1", kStart, std::nullopt, kStart, "crash")});
  auto incidents = b().list_incidents({}).value();
  ASSERT_EQ(incidents.size(), 1u);
  auto inc = b().get_incident(incidents[0].id).value();
  for (const auto& event : inc.timeline) EXPECT_NE(event.kind, "alert_added") << event.detail;
  ASSERT_EQ(inc.alerts.size(), 1u);
  // Resolved at B only: B knows the alert's incident from the store.
  receive(b(), {alert("Crash", "h1", kStart, clock_.now(), clock_.now(), "crash")});
  EXPECT_EQ(b().get_incident(inc.id).value().alerts.at(0).status, store::AlertState::kResolved);
}

// Two routes with the same group key and different receivers (the second without send_resolved):
// the quiet group's stored entry still names an alert as firing after it resolved; reading it
// back for that group must not put it back into the other group, which already sent its resolve.
TEST_F(ReplicasTest, AResolveAdoptedForOneGroupDoesNotReturnToAnother) {
  start("30s", "  routes:\n    - {matchers: ['team=\"db\"'], receiver: quiet, continue: true}\n"
               "    - {matchers: ['team=\"db\"'], receiver: ops-hook}\n");
  auto db = [&](std::string instance, std::optional<core::Timestamp> ends) {
    alerting::Alert a = alert("DBDown", instance, kStart, ends, clock_.now());
    a.labels = core::Labels{{"alertname", "DBDown"}, {"instance", instance}, {"team", "db"}};
    a.fingerprint = a.labels.fingerprint();
    return a;
  };
  receive(a(), {db("a", std::nullopt), db("b", std::nullopt)});
  run_until(kStart + minutes(1));
  receive(a(), {db("a", clock_.now())});
  run_until(kStart + minutes(7));
  receive(a(), {db("b", clock_.now())});
  run_until(kStart + minutes(20));
  std::vector<std::vector<std::string>> loud;
  auto st = stores_[0]->read([&](store::Tx& tx) -> core::Status {
    for (const auto& n : TOCSIN_TRY(tx.list_notifications(0))) {
      if (n.address.ends_with("/hook")) loud.push_back(statuses(json::parse(n.payload)));
    }
    return {};
  });
  ASSERT_TRUE(st.has_value()) << st.error().to_string();
  EXPECT_EQ(loud, (std::vector<std::vector<std::string>>{
                      {"a:firing", "b:firing"}, {"a:resolved", "b:firing"}, {"b:resolved"}}));
}

}  // namespace
}  // namespace tocsin::engine
