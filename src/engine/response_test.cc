// Scenario tests of the response half on a simulated clock, with a real SQLite store and real HTTP
// deliveries: step deadlines, plan clocks (a GDPR art. 33 72-hour deadline from breach_confirmed,
// a repeating status reminder), task completion, the incident state machine past acknowledge,
// severity changes and related incidents.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>

#include "config/loader.h"
#include "core/simulated_clock.h"
#include "engine/engine.h"
#include "engine/test_webhook_engine.h"
#include "engine/test_run_until.h"
#include "notify/webhook/http_sender.h"
#include "risk/model.h"
#include "risk/table.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"
#include "test_support/webhook_receiver.h"

namespace tocsin::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

std::string config_yaml(const std::string& hook) {
  return fmt::format(R"(
people:
  - {{id: alice, contact: {{webhook: "{0}/alice"}}}}
  - {{id: bob, contact: {{webhook: "{0}/bob"}}}}
  - {{id: carol, contact: {{webhook: "{0}/carol"}}}}
escalation_policies:
  - id: sec
    levels: [{{after: 0m, notify: ["person:alice"]}}]
plans:
  - id: data_breach
    title: Personal data breach
    match: ['incident_type="data_breach"']
    escalation: sec
    roles: {{commander: "person:alice", legal: "person:carol", security_lead: "person:bob"}}
    steps:
      - {{id: contain, title: Contain the leak, owner: security_lead, due: 1h}}
      - {{id: notify_regulator, title: Notify the supervisory authority, owner: legal, due: 96h}}
    clocks:
      - {{name: regulator, within: 72h, from: breach_confirmed, until: "task_done:notify_regulator", owner: legal}}
      - {{name: status-update, every: 1h, owner: commander}}
)",
                     hook);
}

class ResponseTest : public WebhookEngineTest {
 protected:
  ResponseTest() : WebhookEngineTest(kStart) {}
  void SetUp() override { start_engine(config_yaml(receiver_.url())); }

  std::vector<std::string> kinds(int64_t id) {
    std::vector<std::string> out;
    const store::Incident inc = engine_->get_incident(id).value();
    for (const auto& e : inc.timeline) out.push_back(e.kind);
    return out;
  }
  int count(int64_t id, std::string_view kind) {
    auto k = kinds(id);
    return static_cast<int>(std::count(k.begin(), k.end(), kind));
  }
};

TEST_F(ResponseTest, TheRegulatorClockFiresSeventyTwoHoursAfterTheBreachIsConfirmed) {
  const int64_t id = open("db1");
  ASSERT_GT(id, 0);
  ASSERT_TRUE(engine_->acknowledge(id, "alice").has_value());
  run_until(kStart + hours(2));
  ASSERT_TRUE(engine_->record_event(id, "breach_confirmed", "customer table copied", "bob").has_value());
  const core::Timestamp confirmed = clock_.now();
  run_until(confirmed + hours(72) - seconds(1));
  EXPECT_EQ(count(id, "clock_expired"), 0);
  EXPECT_EQ(pages_to("/carol"), 0);
  run_until(confirmed + hours(72));
  EXPECT_EQ(count(id, "clock_expired"), 1);
  EXPECT_EQ(pages_to("/carol"), 1) << "the legal role is paged when the deadline passes";
  run_until(confirmed + hours(80));
  EXPECT_EQ(count(id, "clock_expired"), 1) << "a one-off deadline fires once";
  const auto inc = engine_->get_incident(id).value();
  auto regulator = std::find_if(inc.clocks.begin(), inc.clocks.end(), [](const auto& c) { return c.name == "regulator"; });
  ASSERT_NE(regulator, inc.clocks.end());
  EXPECT_EQ(regulator->started_at, confirmed);
  EXPECT_FALSE(regulator->next_at);
}

TEST_F(ResponseTest, NotifyingTheRegulatorInTimeStopsTheClock) {
  const int64_t id = open("db1");
  ASSERT_TRUE(engine_->record_event(id, "breach_confirmed", "", "bob").has_value());
  run_until(kStart + hours(10));
  ASSERT_TRUE(engine_->complete_task(id, "notify_regulator", false, "carol").has_value());
  run_until(kStart + hours(100));
  EXPECT_EQ(count(id, "clock_stopped"), 1);
  EXPECT_EQ(count(id, "clock_expired"), 0);
  EXPECT_EQ(pages_to("/carol"), 0);
}

TEST_F(ResponseTest, StatusRemindersRepeatUntilResolvedAndOverdueTasksPageTheirOwner) {
  const int64_t id = open("db1");
  run_until(kStart + hours(1) - seconds(1));
  EXPECT_EQ(count(id, "clock_reminder"), 0);
  EXPECT_EQ(count(id, "task_overdue"), 0);
  run_until(kStart + hours(1));
  EXPECT_EQ(count(id, "clock_reminder"), 1);
  EXPECT_EQ(count(id, "task_overdue"), 1) << "contain was due after 1h";
  EXPECT_EQ(pages_to("/bob"), 1) << "the security lead owns the overdue step";
  run_until(kStart + hours(3) + minutes(30));
  EXPECT_EQ(count(id, "clock_reminder"), 3);
  EXPECT_EQ(count(id, "task_overdue"), 1) << "reported once";
  ASSERT_TRUE(engine_->resolve(id, "alice").has_value());
  run_until(kStart + hours(10));
  EXPECT_EQ(count(id, "clock_reminder"), 3) << "resolving stops the clocks";
  // Paged: alice by the policy at opening and by each reminder (commander).
  EXPECT_EQ(pages_to("/alice"), 1 + 3);
}

TEST_F(ResponseTest, TasksAreDoneOnceAndLateCompletionIsNoted) {
  const int64_t id = open("db1");
  run_until(kStart + hours(2));
  auto done = engine_->complete_task(id, "contain", false, "bob");
  ASSERT_TRUE(done.has_value()) << done.error().to_string();
  EXPECT_EQ(done->tasks[0].status, store::TaskStatus::kDone);
  EXPECT_EQ(done->tasks[0].done_by, "bob");
  EXPECT_EQ(done->timeline.back().kind, "task_done");
  EXPECT_NE(done->timeline.back().detail.find("after its due time"), std::string::npos);
  auto again = engine_->complete_task(id, "contain", false, "bob");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), core::ErrorCode::kFailedPrecondition);
  auto unknown = engine_->complete_task(id, "nope", false, "bob");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), core::ErrorCode::kNotFound);
}

TEST_F(ResponseTest, TheStateMachineSeverityAndBadMilestones) {
  const int64_t id = open("db1");
  EXPECT_TRUE(engine_->mitigate(id, "alice").has_value());
  EXPECT_FALSE(engine_->close(id, "alice")) << "only a resolved incident closes";
  EXPECT_TRUE(engine_->resolve(id, "alice").has_value());
  auto reopened = engine_->reopen(id, "alice");
  ASSERT_TRUE(reopened.has_value());
  EXPECT_EQ(reopened->status, store::IncidentStatus::kTriggered);
  EXPECT_TRUE(reopened->escalation_next_at.has_value()) << "the ladder is armed again";
  EXPECT_TRUE(engine_->resolve(id, "alice").has_value());
  auto refused = engine_->close(id, "alice");
  ASSERT_FALSE(refused) << "closed means the postmortem is done";
  EXPECT_EQ(refused.error().code(), core::ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(engine_->edit_postmortem(id, {{"summary", "s"}, {"impact", "i"}, {"root_cause", "r"}}, "alice"));
  auto closed = engine_->close(id, "alice");
  ASSERT_TRUE(closed.has_value()) << closed.error().to_string();
  EXPECT_EQ(closed->status, store::IncidentStatus::kClosed);

  const int64_t other = open("db2");
  auto sev = engine_->set_severity(other, "major", "alice");
  ASSERT_TRUE(sev.has_value());
  EXPECT_EQ(sev->severity, "major");
  EXPECT_EQ(sev->timeline.back().detail, "critical → major");
  EXPECT_EQ(engine_->set_severity(other, "urgent", "alice").error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->record_event(other, "Breach!", "", "bob").error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->record_event(other, "acknowledged", "", "bob").error().code(),
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->record_event(id, "breach_confirmed", "", "bob").error().code(),
            core::ErrorCode::kFailedPrecondition);  // closed
}

TEST_F(ResponseTest, RelatedIncidentsFormTreesAndCyclesAreRefusedWithThePath) {
  const int64_t a = open("h1");
  ASSERT_TRUE(engine_->resolve(a, "alice").has_value());  // so the next alert opens a new incident
  const int64_t b = open("h2");
  ASSERT_TRUE(engine_->resolve(b, "alice").has_value());
  const int64_t c = open("h3");
  ASSERT_TRUE(a != b && b != c && a != c) << a << " " << b << " " << c;
  ASSERT_TRUE(engine_->relate(a, b, "alice").has_value());
  auto bc = engine_->relate(b, c, "alice");
  ASSERT_TRUE(bc.has_value());
  EXPECT_EQ(bc->related, (std::vector<int64_t>{a, c}));
  auto cycle = engine_->relate(c, a, "alice");
  ASSERT_FALSE(cycle);
  EXPECT_EQ(cycle.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(cycle.error().message(),
            fmt::format("relating {} to {} would make a cycle: they are already related through {} → {} → {}", c, a, c,
                        b, a));
  EXPECT_EQ(engine_->relate(a, b, "alice").error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(engine_->relate(a, a, "alice").error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine_->relate(a, 999, "alice").error().code(), core::ErrorCode::kNotFound);
  EXPECT_EQ(engine_->get_incident(a).value().related, std::vector<int64_t>{b}) << "nothing half-created";
}


// Live risk: a model trained on past incidents (load → crash) runs on the current system_load;
// when the crash likelihood passes its bound, a RiskLikely alert opens the crash plan's incident
// before anything has failed.
TEST(LiveRisk, ALikelyRiskRaisesAnAlertThatOpensItsPlan) {
  test_support::TempDir dir;
  std::istringstream csv(
      "load,outcome\n0.1,ok\n0.2,ok\n0.3,ok\n0.25,ok\n0.15,ok\n0.9,crash\n0.95,crash\n0.85,crash\n0.97,crash\n");
  risk::ReadOptions read_options;
  read_options.source = "history.csv";
  auto table = risk::read_csv(csv, read_options).value();
  risk::Model model;
  model.schema = risk::schema_of(table, "outcome").value();
  auto data = risk::encode(table, model.schema, true).value();
  model.classifier = risk::fit(data, model.schema, {}).value();
  const auto model_file = dir.path() / "crash.json";
  ASSERT_TRUE(risk::save_model(model, model_file.string()).has_value());

  test_support::Receiver receiver;
  const std::string yaml = fmt::format(R"(
people: [{{id: alice, contact: {{webhook: "{0}/alice"}}}}]
escalation_policies: [{{id: ops, levels: [{{after: 0m, notify: ["person:alice"]}}]}}]
plans:
  - {{id: system_crash, title: System crash, match: ['incident_type="system_crash"'], escalation: ops}}
risks:
  - id: overload
    title: Overload takes the API down
    likelihood_from:
      model: {1}
      class: crash
      indicators: {{load: 'system_load{{service="api"}}'}}
      every: 1m
      alert_above: 0.7
      labels: {{incident_type: system_crash}}
    impact: 4
    owner: alice
    plan: system_crash
    review: 2027-01-01
)",
                                       receiver.url(), model_file.string());
  auto cfg = config::load_config_string(yaml, "t.yaml", dir.path());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  auto config = std::make_shared<const config::Config>(std::move(*cfg));
  auto store = store::sqlite::open_sqlite_store(dir.path() / "tocsin.db").value();
  core::SimulatedClock clock{kStart};
  core::MetricsRegistry metrics;
  notify::HttpSender sender{clock, seconds(5)};
  EngineOptions options;
  options.config = config;
  options.store = store.get();
  options.clock = &clock;
  options.metrics = &metrics;
  options.senders = {{"webhook", &sender}};
  auto engine = Engine::create(std::move(options)).value();
  const auto& ref = *config->risks[0].likelihood_from;

  auto push = [&](double load) {
    core::Sample s{core::Labels{{"__name__", "system_load"}, {"service", "api"}}, load, clock.now()};
    ASSERT_TRUE(engine->ingest({s}).has_value());
  };
  ASSERT_TRUE(engine->run_due().has_value());
  EXPECT_FALSE(engine->risk_likelihood(ref)) << "no indicator sample yet";
  push(0.2);
  clock.advance(minutes(1));
  ASSERT_TRUE(engine->run_due().has_value());
  ASSERT_TRUE(engine->risk_likelihood(ref).has_value());
  EXPECT_LT(*engine->risk_likelihood(ref), 0.1);
  EXPECT_TRUE(engine->list_incidents({}).value().empty());

  push(0.93);
  clock.advance(minutes(1));
  ASSERT_TRUE(engine->run_due().has_value());
  EXPECT_GT(*engine->risk_likelihood(ref), 0.9);
  auto incidents = engine->list_incidents({}).value();
  ASSERT_EQ(incidents.size(), 1u);
  auto inc = engine->get_incident(incidents[0].id).value();
  EXPECT_EQ(inc.plan, "system_crash");
  ASSERT_EQ(inc.alerts.size(), 1u);
  EXPECT_EQ(inc.alerts[0].labels.get_or("alertname", ""), "RiskLikely");
  EXPECT_EQ(inc.alerts[0].labels.get_or("risk", ""), "overload");
}

// The postmortem (docs/postmortems.md): edited in parts, action items tracked, completed once —
// which is what closes a resolved incident; every change is on the timeline with its actor.
TEST_F(ResponseTest, APostmortemIsWrittenTrackedAndCompletedOnceWhichClosesTheIncident) {
  const int64_t id = open("db1");
  auto read = [&] {
    std::optional<store::Postmortem> pm;
    EXPECT_TRUE(engine_->read_store([&](store::Tx& tx) -> core::Status {
      pm = TOCSIN_TRY(tx.get_postmortem(id));
      return {};
    }));
    return pm;
  };
  auto last = [&] { return engine_->get_incident(id).value().timeline.back(); };

  // Edits work before the resolution too; only changed fields are named; an unknown one changes nothing.
  ASSERT_TRUE(engine_->edit_postmortem(id, {{"summary", "customer table copied"}, {"went_well", "fast"}}, "bob"));
  EXPECT_EQ(last().kind, "postmortem_edited");
  EXPECT_EQ(last().actor, "bob");
  EXPECT_EQ(last().detail, "summary, went_well");
  ASSERT_TRUE(engine_->edit_postmortem(id, {{"summary", "customer table copied"}, {"lessons", "rotate keys"}}, "carol"));
  EXPECT_EQ(last().detail, "lessons");
  const size_t events = engine_->get_incident(id).value().timeline.size();
  ASSERT_TRUE(engine_->edit_postmortem(id, {{"lessons", "rotate keys"}}, "carol"));
  EXPECT_EQ(engine_->get_incident(id).value().timeline.size(), events) << "nothing changed, nothing written";
  auto unknown = engine_->edit_postmortem(id, {{"root_cause", "x"}, {"rootcause", "y"}}, "bob");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(unknown.error().field(), "rootcause");
  EXPECT_EQ(read()->fields.root_cause, "") << "a refused edit changes nothing";
  EXPECT_EQ(read()->updated_by, "carol");
  EXPECT_EQ(engine_->edit_postmortem(999, {{"summary", "x"}}, "bob").error().code(), core::ErrorCode::kNotFound);
  for (const char* kind : {"postmortem_edited", "postmortem_completed", "action_item_done"}) {
    EXPECT_EQ(engine_->record_event(id, kind, "", "bob").error().code(), core::ErrorCode::kInvalidArgument)
        << kind << " is written by tocsin itself";
  }

  // Action items: a title, a configured owner.
  const core::Timestamp due = kStart + hours(24 * 7);
  auto bad_title = engine_->add_action_item(id, "  ", "alice", due, "bob");
  ASSERT_FALSE(bad_title);
  EXPECT_EQ(bad_title.error().field(), "title");
  auto bad_owner = engine_->add_action_item(id, "Rotate keys", "mallory", due, "bob");
  ASSERT_FALSE(bad_owner);
  EXPECT_EQ(bad_owner.error().field(), "owner");
  EXPECT_NE(bad_owner.error().message().find("alice, bob, carol"), std::string::npos) << bad_owner.error().message();
  auto item = engine_->add_action_item(id, "Rotate keys", "alice", due, "bob");
  ASSERT_TRUE(item) << item.error().to_string();
  EXPECT_EQ(last().kind, "action_item_added");
  EXPECT_EQ(last().detail, fmt::format("#{} Rotate keys (owner alice, due 2026-03-09T08:00:00Z)", *item));
  ASSERT_TRUE(engine_->set_action_item_done(id, *item, true, "alice"));
  EXPECT_EQ(last().kind, "action_item_done");
  EXPECT_EQ(last().actor, "alice");
  EXPECT_EQ(engine_->set_action_item_done(id, *item, true, "alice").error().code(),
            core::ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(engine_->set_action_item_done(id, *item, false, "bob"));
  EXPECT_EQ(last().kind, "action_item_reopened");
  EXPECT_EQ(engine_->set_action_item_done(id, 999, true, "bob").error().code(), core::ErrorCode::kNotFound);
  alerting::Alert second;
  second.labels = core::Labels{{"alertname", "Scan"}, {"incident_type", "data_breach"}, {"instance", "db2"}};
  second.fingerprint = second.labels.fingerprint();
  second.active_at = second.updated_at = clock_.now();
  ASSERT_TRUE(engine_->receive_alerts({second}));
  const int64_t other = engine_->list_incidents({}).value().front().id;
  ASSERT_NE(other, id);
  EXPECT_EQ(engine_->set_action_item_done(other, *item, true, "bob").error().code(), core::ErrorCode::kNotFound)
      << "an item belongs to its own incident";

  // Completing: only a resolved incident, only with summary, impact and root cause written.
  auto early = engine_->complete_postmortem(id, "alice");
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(early.error().message().find("is triggered: resolve it"), std::string::npos) << early.error().message();
  ASSERT_TRUE(engine_->resolve(id, "alice"));
  auto missing = engine_->complete_postmortem(id, "alice");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("missing impact, root_cause"), std::string::npos) << missing.error().message();
  EXPECT_EQ(missing.error().field(), "impact");
  EXPECT_EQ(engine_->close(id, "alice").error().message(), missing.error().message()) << "close is completion";
  EXPECT_EQ(engine_->get_incident(id).value().status, store::IncidentStatus::kResolved);
  ASSERT_TRUE(engine_->edit_postmortem(id, {{"impact", "40k rows"}, {"root_cause", "a leaked key"}}, "bob"));
  clock_.advance(minutes(5));
  auto closed = engine_->complete_postmortem(id, "alice");
  ASSERT_TRUE(closed) << closed.error().to_string();
  EXPECT_EQ(closed->status, store::IncidentStatus::kClosed);
  EXPECT_EQ(closed->closed_at, clock_.now());
  const auto& timeline = closed->timeline;
  ASSERT_GE(timeline.size(), 2u);
  EXPECT_EQ(timeline[timeline.size() - 2].kind, "postmortem_completed");
  EXPECT_EQ(timeline[timeline.size() - 2].detail, "1 action item (1 open)");
  EXPECT_EQ(timeline.back().kind, "closed");
  EXPECT_EQ(timeline.back().actor, "alice");
  EXPECT_EQ(read()->completed_at, clock_.now());
  EXPECT_EQ(read()->completed_by, "alice");

  // Once: a second completion or close is refused. Afterwards items and fields stay editable, but
  // a required field cannot be blanked.
  EXPECT_EQ(engine_->complete_postmortem(id, "alice").error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(engine_->close(id, "bob").error().message().find("completion happens once"), std::string::npos);
  ASSERT_TRUE(engine_->set_action_item_done(id, *item, true, "alice")) << "action items are tracked after close";
  ASSERT_TRUE(engine_->add_action_item(id, "Audit access", "carol", due, "bob"));
  ASSERT_TRUE(engine_->edit_postmortem(id, {{"root_cause", "a key leaked in a public repo"}}, "bob"));
  auto blanked = engine_->edit_postmortem(id, {{"root_cause", " "}}, "bob");
  ASSERT_FALSE(blanked);
  EXPECT_EQ(blanked.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(read()->fields.root_cause, "a key leaked in a public repo");
  EXPECT_EQ(engine_->get_incident(id).value().status, store::IncidentStatus::kClosed);

  // Tracked across incidents, and counted on /metrics.
  auto open_items = engine_->list_action_items({});
  ASSERT_TRUE(open_items);
  EXPECT_EQ(open_items->size(), 2u);
  clock_.advance(hours(24 * 8));  // both past due; one is done
  const std::string metrics = metrics_.render();
  EXPECT_NE(metrics.find("tocsin_action_items_open 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tocsin_action_items_overdue 1\n"), std::string::npos) << metrics;
}

// A postmortem whose action item's owner left the config cannot be completed until the item is
// given to someone who is still there (here: the config changes under a fresh engine).
TEST_F(ResponseTest, AnActionItemOwnedBySomeoneNoLongerConfiguredBlocksCompletion) {
  const int64_t id = open("db1");
  ASSERT_TRUE(engine_->edit_postmortem(id, {{"summary", "s"}, {"impact", "i"}, {"root_cause", "r"}}, "bob"));
  ASSERT_TRUE(engine_->add_action_item(id, "Rotate keys", "carol", kStart + hours(1), "bob"));
  ASSERT_TRUE(engine_->resolve(id, "alice"));
  engine_.reset();
  std::string yaml = config_yaml(receiver_.url());
  yaml.replace(yaml.find("  - {id: carol"), yaml.find("escalation_policies:") - yaml.find("  - {id: carol"), "");
  yaml.replace(yaml.find(", legal: \"person:carol\""), std::string(", legal: \"person:carol\"").size(), "");
  yaml.replace(yaml.find("owner: legal, due: 96h"), std::string("owner: legal, due: 96h").size(), "owner: commander, due: 96h");
  yaml.replace(yaml.find("owner: legal}"), std::string("owner: legal}").size(), "owner: commander}");
  start_engine(yaml);
  auto refused = engine_->complete_postmortem(id, "alice");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("missing action_items.1.owner"), std::string::npos)
      << refused.error().message();
}

}  // namespace
}  // namespace tocsin::engine
