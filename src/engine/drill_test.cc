// Drills at the engine level, on a simulated clock with a real SQLite store and real HTTP
// deliveries: a live drill's incident is marked [DRILL] and pages only its participants (never
// the real on-call person, never a channel, never a step's automated action); an unknown or
// finished drill pages nobody; drill history and the drill calendar.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "engine/test_webhook_engine.h"

namespace tocsin::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T10:00:00Z").value();

// bob is on call for the whole test; alice and carol are not.
std::string config_yaml(const std::string& hook) {
  return fmt::format(R"(
people:
  - {{id: alice, contact: {{webhook: "{0}/alice"}}}}
  - {{id: bob, contact: {{webhook: "{0}/bob"}}}}
  - {{id: carol, contact: {{webhook: "{0}/carol"}}}}
channels:
  - {{name: hook, type: webhook, url: "{0}/channel"}}
schedules:
  - id: ops
    timezone: UTC
    layers: [{{rotation: weekly, handoff: "Mon 09:00", start: 2026-01-05, members: [bob]}}]
escalation_policies:
  - id: ops
    levels:
      - {{after: 0m, notify: ["schedule:ops", "person:alice"]}}
      - {{after: 10m, notify: ["channel:hook", "person:carol"]}}
rules:
  - name: HighLoad
    select: system_load
    detector: {{kind: threshold, above: 0.9}}
    severity: major
    labels: {{incident_type: crash}}
plans:
  - id: crash
    title: Crash
    match: ['incident_type="crash"']
    escalation: ops
    roles: {{commander: "schedule:ops", ops: "person:alice"}}
    steps:
      - {{id: triage, title: Triage, owner: commander, due: 5m}}
      - {{id: failover, title: Fail over, owner: ops, due: 1h, action: {{type: webhook, url: "{0}/failover"}}}}
    drill: {{every: 30d, scenario: scenarios/crash.yaml}}
  - id: quiet
    title: Quiet
    match: ['incident_type="quiet"']
)",
                     hook);
}

class DrillTest : public WebhookEngineTest {
 protected:
  DrillTest() : WebhookEngineTest(kStart) {}
  void SetUp() override { start_engine(config_yaml(receiver_.url())); }

  // A load sample over the rule's threshold; returns the incidents it opened.
  std::vector<int64_t> push_load(std::string instance, std::optional<std::string> drill) {
    std::vector<core::Label> labels{{"__name__", "system_load"}, {"instance", std::move(instance)}};
    if (drill) labels.push_back({"drill", *drill});
    auto result = engine_->ingest({core::Sample{core::Labels::from_pairs(std::move(labels)), 2.0, clock_.now()}});
    EXPECT_TRUE(result.has_value()) << result.error().to_string();
    return result ? result->incidents_opened : std::vector<int64_t>{};
  }
  std::vector<std::string> details(int64_t id, std::string_view kind) {
    std::vector<std::string> out;
    const store::Incident inc = engine_->get_incident(id).value();
    for (const auto& e : inc.timeline) {
      if (e.kind == kind) out.push_back(e.detail);
    }
    return out;
  }
};

TEST_F(DrillTest, ALiveDrillIncidentIsMarkedAndPagesOnlyItsParticipants) {
  auto drill = engine_->start_live_drill("System crash", "crash", {"alice"}, "ops-cli");
  ASSERT_TRUE(drill.has_value()) << drill.error().to_string();
  const std::string label = std::to_string(drill->id);

  auto opened = push_load("h1", label);
  ASSERT_EQ(opened.size(), 1u);
  const int64_t drill_incident = opened[0];
  // A real alert at the same time opens its own, real incident: the two never share one.
  auto real = push_load("h1", std::nullopt);
  ASSERT_EQ(real.size(), 1u);
  EXPECT_NE(real[0], drill_incident);

  run_until(kStart + minutes(30));
  const store::Incident inc = engine_->get_incident(drill_incident).value();
  EXPECT_EQ(inc.drill, label);
  EXPECT_TRUE(inc.title.starts_with("[DRILL] Crash: ")) << inc.title;
  EXPECT_EQ(engine_->get_incident(real[0]).value().drill, "");

  // The participant got the drill's first level; the on-call person (bob) got only the real
  // incident's pages; carol and the channel (level 2) only the real incident's too.
  int alice_drill_pages = 0;
  for (const auto& [path, body] : receiver_.received()) {
    const bool is_drill = body["incident"]["id"] == std::to_string(drill_incident);
    if (!is_drill) continue;
    EXPECT_EQ(path, "/alice") << body.dump();
    EXPECT_TRUE(body["summary"].get<std::string>().starts_with("[DRILL] ")) << body.dump();
    EXPECT_EQ(body["drill"], label);
    ++alice_drill_pages;
  }
  EXPECT_EQ(alice_drill_pages, 1);
  // bob: the real incident's first level and its overdue triage task (he is the commander).
  EXPECT_EQ(pages_to("/bob"), 2) << "bob is paged for the real incident only";
  EXPECT_EQ(pages_to("/failover"), 0) << "a drill never runs a step's automated action";

  const auto skipped = details(drill_incident, "drill_page_skipped");
  ASSERT_EQ(skipped.size(), 4u) << ::testing::PrintToString(skipped);
  EXPECT_EQ(skipped[0], fmt::format("schedule:ops → bob: not paged, not a participant of live drill {} (participants: alice)", label));
  // The overdue triage task's assignee (the commander, bob) is not paged either.
  EXPECT_EQ(skipped[1], fmt::format("person:bob: not paged, not a participant of live drill {} (participants: alice)", label));
  EXPECT_EQ(skipped[2], "channel:hook: not paged, channels are not paged in a drill");
  EXPECT_EQ(skipped[3],
            fmt::format("person:carol: not paged, not a participant of live drill {} (participants: alice)", label));
  EXPECT_EQ(details(drill_incident, "task_overdue").size(), 1u);
  EXPECT_EQ(details(drill_incident, "paged").size(), 1u);
  EXPECT_EQ(details(drill_incident, "action_skipped"), std::vector<std::string>{"failover: automated actions do not run in a drill"});
  EXPECT_TRUE(inc.actions.empty());
  EXPECT_EQ(details(drill_incident, "drill"),
            std::vector<std::string>{fmt::format("live drill {}: pages go only to its participants (alice)", label)});
}

TEST_F(DrillTest, AnUnknownOrFinishedDrillPagesNobody) {
  auto unknown = push_load("h1", "99");
  ASSERT_EQ(unknown.size(), 1u);
  auto drill = engine_->start_live_drill("System crash", "crash", {"alice", "carol"}, "ops-cli").value();
  auto live = push_load("h2", std::to_string(drill.id));
  ASSERT_EQ(live.size(), 1u);
  run_until(kStart + minutes(1));
  EXPECT_EQ(pages_to("/alice"), 1) << "the running drill's first level";

  // Finishing it with a score stores the run and stops its incidents' ladder.
  store::DrillRun scored;
  scored.seed = 7;
  scored.started_at = drill.started_at;
  scored.finished_at = clock_.now();
  scored.score = 64;
  scored.scorecard_json = R"({"score": 64})";
  auto finished = engine_->finish_live_drill(drill.id, "alice", scored);
  ASSERT_TRUE(finished.has_value()) << finished.error().to_string();
  ASSERT_TRUE(finished->run.has_value());
  EXPECT_EQ(finished->finished_at, clock_.now());
  auto again = engine_->finish_live_drill(drill.id, "alice", std::nullopt);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(engine_->finish_live_drill(12345, "alice", std::nullopt).error().code(), core::ErrorCode::kNotFound);
  EXPECT_FALSE(engine_->get_incident(live[0]).value().escalation_next_at.has_value());

  // A new alert of the finished drill still opens a drill incident, which pages nobody.
  ASSERT_TRUE(engine_->resolve(live[0], "alice").has_value());
  auto late = push_load("h3", std::to_string(drill.id));
  ASSERT_EQ(late.size(), 1u);
  run_until(kStart + hours(2));
  EXPECT_EQ(pages_to("/alice"), 1);
  EXPECT_EQ(pages_to("/bob"), 0);
  EXPECT_EQ(pages_to("/carol"), 0);
  EXPECT_EQ(pages_to("/channel"), 0);
  EXPECT_EQ(details(unknown[0], "drill"),
            std::vector<std::string>{"no live drill \"99\" is registered: this drill incident pages nobody"});
  EXPECT_TRUE(engine_->get_incident(unknown[0]).value().title.starts_with("[DRILL] "));
  for (const auto& why : details(unknown[0], "drill_page_skipped")) {
    EXPECT_NE(why.find("no live drill \"99\" is registered"), std::string::npos) << why;
  }
  // Both levels' four targets, and the two overdue tasks' assignees (bob, alice).
  EXPECT_EQ(details(unknown[0], "drill_page_skipped").size(), 6u);
  EXPECT_EQ(details(late[0], "drill_page_skipped").size(), 6u);

  const store::DrillRun run = engine_->get_drill_run(*finished->run).value();
  EXPECT_EQ(run.mode, "live");
  EXPECT_EQ(run.live_drill, drill.id);
  EXPECT_EQ(run.plan, "crash");
  EXPECT_EQ(run.scenario, "System crash");
  EXPECT_EQ(run.participants, (std::vector<std::string>{"alice", "carol"}));
  EXPECT_EQ(run.scorecard_json, R"({"score": 64})");
}

TEST_F(DrillTest, AScorerRunsInTheFinishingTransactionAndItsErrorRollsBack) {
  auto drill = engine_->start_live_drill("System crash", "crash", {"alice"}, "ops-cli", "name: kept\n").value();
  EXPECT_EQ(engine_->get_live_drill(drill.id).value().scenario_yaml, "name: kept\n");
  auto live = push_load("h1", std::to_string(drill.id));
  ASSERT_EQ(live.size(), 1u);
  run_until(kStart + minutes(1));
  ASSERT_TRUE(engine_->get_incident(live[0]).value().escalation_next_at.has_value());

  // A failing scorer: nothing changes, the drill keeps running and escalating.
  auto broken = [](store::Tx&, const store::LiveDrill&, core::Timestamp) {
    return core::Result<store::DrillRun>(std::unexpected(core::Error::internal("scorer broke")));
  };
  auto failed = engine_->finish_live_drill(drill.id, "trainer", broken);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message(), "scorer broke");
  EXPECT_FALSE(engine_->get_live_drill(drill.id).value().finished_at.has_value());
  EXPECT_TRUE(engine_->get_incident(live[0]).value().escalation_next_at.has_value());
  EXPECT_TRUE(engine_->list_drill_runs({}).value().empty());

  // A scorer sees the drill finished now, its incident's ladder already stopped, in the same
  // transaction; its run is stored as the drill's live run.
  auto scorer = [&](store::Tx& tx, const store::LiveDrill& d, core::Timestamp now) -> core::Result<store::DrillRun> {
    EXPECT_EQ(d.finished_at, now);
    EXPECT_EQ(now, clock_.now());
    const std::optional<store::Incident> inc = TOCSIN_TRY(tx.get_incident(live[0]));
    EXPECT_TRUE(inc && !inc->escalation_next_at) << "the ladder stops before the scorer runs";
    store::DrillRun run;
    run.started_at = d.started_at;
    run.finished_at = now;
    run.score = 42;
    run.scorecard_json = R"({"score": 42})";
    return run;
  };
  auto finished = engine_->finish_live_drill(drill.id, "trainer", scorer);
  ASSERT_TRUE(finished.has_value()) << finished.error().to_string();
  ASSERT_TRUE(finished->run.has_value());
  const store::DrillRun run = engine_->get_drill_run(*finished->run).value();
  EXPECT_EQ(run.mode, "live");
  EXPECT_EQ(run.live_drill, drill.id);
  EXPECT_EQ(run.scenario, "System crash");
  EXPECT_EQ(run.participants, std::vector<std::string>{"alice"});
  EXPECT_EQ(run.score, 42);
}

TEST_F(DrillTest, StartingALiveDrillChecksPlanAndParticipants) {
  auto field_of = [&](std::string plan, std::vector<std::string> people) {
    auto r = engine_->start_live_drill("S", std::move(plan), std::move(people), "x");
    EXPECT_FALSE(r.has_value());
    if (r) return std::string("(started)");
    EXPECT_EQ(r.error().code(), core::ErrorCode::kInvalidArgument);
    return r.error().field();
  };
  EXPECT_EQ(field_of("nope", {"alice"}), "plan");
  EXPECT_EQ(field_of("crash", {}), "participants");
  EXPECT_EQ(field_of("crash", {"alice", "mallory"}), "participants[1]");
  EXPECT_EQ(field_of("crash", {"alice", "alice"}), "participants[1]");
  EXPECT_TRUE(engine_->live_drills(false).value().empty());
}

TEST_F(DrillTest, TheCalendarCountsFromTheLastRunAndShowsInMetrics) {
  auto calendar = engine_->drill_calendar().value();
  ASSERT_EQ(calendar.size(), 1u) << "the quiet plan has no drill cadence";
  EXPECT_EQ(calendar[0].plan, "crash");
  EXPECT_FALSE(calendar[0].last_run.has_value());
  EXPECT_TRUE(calendar[0].overdue) << "never drilled: due now";
  EXPECT_NE(metrics_.render().find("tocsin_plan_drill_overdue{plan=\"crash\"} 1\n"), std::string::npos);

  store::DrillRun run;
  run.scenario = "System crash";
  run.plan = "crash";
  run.mode = "simulated";
  run.started_at = core::parse_rfc3339("2026-01-01T00:00:00Z").value();  // simulated time: not what counts
  run.finished_at = run.started_at + hours(24);
  run.score = 91.5;
  run.passed = true;
  run.scorecard_json = "{}";
  auto stored = engine_->record_drill_run(run);
  ASSERT_TRUE(stored.has_value()) << stored.error().to_string();
  EXPECT_EQ(stored->ran_at, kStart);
  calendar = engine_->drill_calendar().value();
  EXPECT_EQ(calendar[0].last_run, kStart);
  EXPECT_EQ(calendar[0].next_due, kStart + hours(30 * 24));
  EXPECT_FALSE(calendar[0].overdue);
  const std::string text = metrics_.render();
  EXPECT_NE(text.find("tocsin_plan_drill_overdue{plan=\"crash\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find(fmt::format("tocsin_plan_drill_due_timestamp_seconds{{plan=\"crash\"}} {}\n",
                                  core::to_unix_ms(kStart + hours(30 * 24)) / 1000)),
            std::string::npos)
      << text;
  clock_.advance_to(kStart + hours(30 * 24));
  EXPECT_TRUE(engine_->drill_calendar().value()[0].overdue);

  run.plan = "unknown";
  auto bad = engine_->record_drill_run(run);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field(), "plan");
  run.plan = "crash";
  run.score = 120;
  EXPECT_EQ(engine_->record_drill_run(run).error().field(), "score");
  EXPECT_EQ(engine_->list_drill_runs({}).value().size(), 1u);
}

}  // namespace
}  // namespace tocsin::engine
