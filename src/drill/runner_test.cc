// Drills end to end: the starter config from `tocsin init`, its shipped scenarios, the real
// engine on a real SQLite store in a temp dir.
#include "drill/runner.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/starter.h"
#include "core/clock.h"
#include "drill/starter_scenarios.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::drill {
namespace {

class DrillRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(config::write_starter_config(dir_.path()).has_value());
    ASSERT_TRUE(write_starter_scenarios(dir_.path()).has_value());
    auto cfg = config::load_config(dir_.path() / "tocsin.yaml");
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::make_shared<const config::Config>(std::move(*cfg));
  }

  Scenario scenario(const std::string& name) {
    auto s = load_scenario(dir_.path() / "scenarios" / (name + ".yaml"));
    EXPECT_TRUE(s.has_value()) << s.error().to_string();
    return s.value_or(Scenario{});
  }

  core::Result<DrillRun> run(const Scenario& s, std::optional<uint64_t> seed = std::nullopt) {
    const auto db = dir_.path() / fmt::format("drill-{}.db", runs_++);
    auto store = TOCSIN_TRY(store::sqlite::open_sqlite_store(db));
    DrillOptions options;
    options.store = store.get();
    options.seed = seed;
    return run_drill(config_, s, options);
  }

  test_support::TempDir dir_;
  std::shared_ptr<const config::Config> config_;
  int runs_ = 0;
};

TEST_F(DrillRunnerTest, EachShippedScenarioMeetsItsExpectations) {
  for (const std::string name : {"system_crash", "data_breach", "network_attack"}) {
    SCOPED_TRACE(name);
    const Scenario s = scenario(name);
    auto r = run(s);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    const Scorecard& card = r->scorecard;
    EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();
    ASSERT_TRUE(card.incident.has_value()) << render_text(card);
    EXPECT_EQ(card.incidents, 1) << render_text(card);
    EXPECT_EQ(card.other_incidents, 0) << render_text(card);
    ASSERT_FALSE(card.expectations.empty());
    for (const auto& e : card.expectations)
      EXPECT_TRUE(e.met) << e.name << ": " << e.actual << "\n" << render_text(card);
    EXPECT_EQ(card.expectations_met, static_cast<int>(card.expectations.size()));
    EXPECT_GE(card.score, 90) << render_text(card);
    EXPECT_GT(r->samples, 0u);
    EXPECT_GT(r->pages, 0u);
    // The alerts carry the label of the drill the run registered, as in a live drill, detection
    // is measured on them, and the incident is a [DRILL] incident.
    EXPECT_FALSE(r->record.drill_id.empty());
    const bool labelled = std::any_of(r->record.alerts.begin(), r->record.alerts.end(), [&](const store::AlertRecord& a) {
      return a.labels.get_or("drill", "") == r->record.drill_id && a.fired_at;
    });
    EXPECT_TRUE(labelled);
    const auto inc = std::find_if(r->record.incidents.begin(), r->record.incidents.end(),
                                  [&](const store::Incident& i) { return i.id == *card.incident; });
    ASSERT_NE(inc, r->record.incidents.end());
    EXPECT_EQ(inc->drill, r->record.drill_id);
    EXPECT_TRUE(inc->title.starts_with("[DRILL]")) << inc->title;
    // Pages went out and were answered by whoever acknowledged.
    const auto acker = std::find_if(card.people.begin(), card.people.end(),
                                    [&](const PersonScore& p) { return p.person == card.acknowledged_by; });
    ASSERT_NE(acker, card.people.end()) << render_text(card);
    EXPECT_EQ(acker->answered, 1);
  }
}

TEST_F(DrillRunnerTest, SameScenarioAndSeedGiveTheSameBytes) {
  const Scenario s = scenario("system_crash");
  auto a = run(s);
  auto b = run(s);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(render_json(a->scorecard), render_json(b->scorecard));
  EXPECT_EQ(render_text(a->scorecard), render_text(b->scorecard));
  // Another seed draws other delays.
  auto c = run(s, 12345);
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(render_json(a->scorecard), render_json(c->scorecard));
}

TEST_F(DrillRunnerTest, AStepWhoseOwnerNeverActsIsFoundAndTrainedFor) {
  Scenario s = scenario("system_crash");
  // bob (role operations) never does triage.
  for (auto& r : s.responders) {
    if (r.role == "operations") r.steps["triage"].kind = Delay::Kind::kNever;
  }
  auto r = run(s);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  const Scorecard& card = r->scorecard;
  const auto triage =
      std::find_if(card.steps.begin(), card.steps.end(), [](const StepScore& x) { return x.step == "triage"; });
  ASSERT_NE(triage, card.steps.end());
  EXPECT_EQ(triage->outcome, StepOutcome::kNever);
  EXPECT_EQ(triage->assignee, "bob");
  const auto finding = std::find_if(card.findings.begin(), card.findings.end(),
                                    [](const Finding& f) { return f.kind == "never_step" && f.step == "triage"; });
  ASSERT_NE(finding, card.findings.end()) << render_text(card);
  EXPECT_EQ(finding->text,
            "step triage (owner role operations, bob) was never done; due 15m after the incident opened");
  // steps_in_order is not met, so the score drops.
  EXPECT_LT(card.score, 90);
  bool person = false, role = false;
  for (const auto& rec : card.recommendations) {
    person = person || (rec.who == "person:bob" && rec.text.find("triage") != std::string::npos);
    role = role || (rec.who == "role:operations" && rec.text.find("backup") != std::string::npos);
  }
  EXPECT_TRUE(person) << render_text(card);
  EXPECT_TRUE(role) << render_text(card);
}

TEST_F(DrillRunnerTest, AMissedPageEscalatesToTheNextLevel) {
  Scenario s = scenario("system_crash");
  for (auto& r : s.responders) {
    if (r.person == "alice") r.miss_probability = 1;  // she misses every page
    if (r.person == "carol") r.miss_probability = 0;
  }
  auto r = run(s);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  const Scorecard& card = r->scorecard;
  EXPECT_EQ(card.acknowledged_by, "carol") << render_text(card);
  EXPECT_GE(card.escalations, 1);
  // Level 2 pages carol 10 minutes after the opening; she acknowledges after that.
  ASSERT_TRUE(card.time_to_acknowledge.has_value());
  EXPECT_GE(*card.time_to_acknowledge, std::chrono::minutes(10));
  const auto alice =
      std::find_if(card.people.begin(), card.people.end(), [](const PersonScore& p) { return p.person == "alice"; });
  ASSERT_NE(alice, card.people.end());
  EXPECT_EQ(alice->missed, 1);
  EXPECT_EQ(alice->answered, 0);
  const bool found = std::any_of(card.findings.begin(), card.findings.end(), [](const Finding& f) {
    return f.kind == "missed_pages" && f.text == "alice missed 1 of 1 page";
  });
  EXPECT_TRUE(found) << render_text(card);
}

TEST_F(DrillRunnerTest, ADayOfSimulatedTimeRunsFast) {
  Scenario s = scenario("network_attack");
  s.duration = std::chrono::hours(24);
  core::SystemClock wall;
  const auto started = wall.mono_now();
  auto r = run(s);
  const double secs = std::chrono::duration<double>(wall.mono_now() - started).count();
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  // Printed, not asserted: the machine may be busy.
  fmt::print("24h drill: {:.3f} s wall, {:.0f} simulated hours per second, {} samples, {} loop steps\n", secs,
             24.0 / secs, r->samples, r->steps);
  EXPECT_EQ(r->samples, 24u * 3600 / 15);
}

TEST_F(DrillRunnerTest, AScenarioForAnUnknownPlanIsRefused) {
  Scenario s = scenario("system_crash");
  s.plan = "no_such_plan";
  auto r = run(s);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().to_string().find("unknown plan \"no_such_plan\""), std::string::npos) << r.error().to_string();
}

}  // namespace
}  // namespace tocsin::drill
