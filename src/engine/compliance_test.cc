// The compliance status (engine/compliance.h): a plan clock's outcome from a hand-built incident
// (met, missed — also when satisfied late —, running, stopped), and the whole report over a real
// store after a simulated history, with its /metrics gauges.
#include "engine/compliance.h"

#include <gtest/gtest.h>

#include "engine/test_webhook_engine.h"

namespace tocsin::engine {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const core::Timestamp kT0 = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

config::PlanClock regulator_clock() {
  config::PlanClock c;
  c.name = "regulator";
  c.within = hours(72);
  c.from = "breach_confirmed";
  c.until = "task_done:notify_regulator";
  return c;
}

store::Incident incident_with(std::optional<core::Timestamp> done_at) {
  store::Incident inc;
  inc.id = 4;
  inc.title = "Breach";
  inc.plan = "data_breach";
  store::Task t;
  t.step = "notify_regulator";
  if (done_at) {
    t.status = store::TaskStatus::kDone;
    t.done_at = done_at;
  }
  inc.tasks.push_back(t);
  return inc;
}

TEST(ClockStatusTest, MetWhenTheUntilEventCameBeforeTheDeadline) {
  const store::IncidentClock clock{4, "regulator", kT0, std::nullopt, 0};  // stopped by the task
  const ClockStatus s = clock_status(regulator_clock(), incident_with(kT0 + hours(10)), clock, kT0 + hours(100));
  EXPECT_EQ(s.outcome, ClockOutcome::kMet);
  EXPECT_EQ(s.deadline, kT0 + hours(72));
  EXPECT_EQ(s.satisfied_at, kT0 + hours(10));
  EXPECT_EQ(s.satisfied_by, "task_done:notify_regulator");
  EXPECT_FALSE(s.time_left.has_value());
  // Exactly at the deadline still counts.
  EXPECT_EQ(clock_status(regulator_clock(), incident_with(kT0 + hours(72)), clock, kT0 + hours(100)).outcome,
            ClockOutcome::kMet);
}

TEST(ClockStatusTest, MissedWhenTheDeadlinePassedEvenIfSatisfiedLater) {
  const store::IncidentClock fired{4, "regulator", kT0, std::nullopt, 1};
  EXPECT_EQ(clock_status(regulator_clock(), incident_with(std::nullopt), fired, kT0 + hours(72)).outcome,
            ClockOutcome::kMissed);
  const ClockStatus late = clock_status(regulator_clock(), incident_with(kT0 + hours(80)), fired, kT0 + hours(90));
  EXPECT_EQ(late.outcome, ClockOutcome::kMissed);
  EXPECT_EQ(late.satisfied_at, kT0 + hours(80)) << "the late notification is still shown";
}

TEST(ClockStatusTest, RunningOrStoppedBeforeTheDeadline) {
  const store::IncidentClock armed{4, "regulator", kT0, kT0 + hours(72), 0};
  const ClockStatus running = clock_status(regulator_clock(), incident_with(std::nullopt), armed, kT0 + hours(70));
  EXPECT_EQ(running.outcome, ClockOutcome::kRunning);
  EXPECT_EQ(running.time_left, hours(2));
  // Resolved before the regulator was told: the clock no longer pages, but the duty remains.
  const store::IncidentClock stopped{4, "regulator", kT0, std::nullopt, 0};
  const ClockStatus s = clock_status(regulator_clock(), incident_with(std::nullopt), stopped, kT0 + hours(70));
  EXPECT_EQ(s.outcome, ClockOutcome::kStopped);
  EXPECT_EQ(s.time_left, hours(2));
  EXPECT_EQ(clock_status(regulator_clock(), incident_with(std::nullopt), stopped, kT0 + hours(72)).outcome,
            ClockOutcome::kMissed);
  // A task done before the clock started does not satisfy it.
  EXPECT_EQ(clock_status(regulator_clock(), incident_with(kT0 - minutes(1)), armed, kT0 + hours(1)).outcome,
            ClockOutcome::kRunning);
}

TEST(ClockStatusTest, WithoutUntilTheIncidentMustBeResolvedInTime) {
  config::PlanClock c = regulator_clock();
  c.until.clear();
  store::Incident inc = incident_with(std::nullopt);
  inc.timeline.push_back({1, 4, kT0 - hours(1), "resolved", "bob", ""});  // before the clock: not it
  inc.timeline.push_back({2, 4, kT0 + hours(5), "resolved", "bob", ""});
  const ClockStatus s = clock_status(c, inc, {4, "regulator", kT0, std::nullopt, 0}, kT0 + hours(6));
  EXPECT_EQ(s.outcome, ClockOutcome::kMet);
  EXPECT_EQ(s.satisfied_by, "resolved");
  EXPECT_EQ(s.satisfied_at, kT0 + hours(5));
}

constexpr const char* kConfig = R"(
people: [{id: alice}, {id: carol}]
channels: [{name: hook, type: webhook, url: "http://127.0.0.1:1/hook"}]
routes: {receiver: hook, group_by: [instance]}  # one incident per instance
plans:
  - id: data_breach
    match: ['incident_type="data_breach"']
    roles: {commander: "person:alice", legal: "person:carol"}
    steps:
      - {id: notify_regulator, title: Notify the authority, owner: legal, due: 96h}
    clocks:
      - {name: regulator, within: 72h, from: breach_confirmed, until: "task_done:notify_regulator", owner: legal}
      - {name: status-update, every: 1h, owner: commander}
    review_every: 90d
    reviewed: 2025-11-01
    drill: {every: 30d, scenario: breach.yaml}
  - id: crash
    match: ['incident_type="crash"']
    review_every: 90d
    reviewed: 2026-02-01
  - id: flood
    match: ['incident_type="flood"']
    review_every: 365d
    reviewed: 2026-01-01
)";

class ComplianceTest : public WebhookEngineTest {
 protected:
  ComplianceTest() : WebhookEngineTest(kT0) {}
  void SetUp() override { start_engine(kConfig); }
};

// One regulator clock met, one missed, one still running, after 73 simulated hours.
TEST_F(ComplianceTest, ReportsReviewsDrillsAndClocks) {
  const int64_t met = open("a");
  const int64_t missed = open("b");
  ASSERT_TRUE(engine_->record_event(met, "breach_confirmed", "", "carol").has_value());
  ASSERT_TRUE(engine_->record_event(missed, "breach_confirmed", "", "carol").has_value());
  run_until(kT0 + hours(10));
  ASSERT_TRUE(engine_->complete_task(met, "notify_regulator", false, "carol").has_value());
  run_until(kT0 + hours(50));
  const int64_t running = open("c");
  ASSERT_TRUE(engine_->record_event(running, "breach_confirmed", "", "carol").has_value());
  run_until(kT0 + hours(73));

  const ComplianceReport r = engine_->compliance().value();
  EXPECT_EQ(r.at, kT0 + hours(73));
  ASSERT_EQ(r.clocks.size(), 3u) << "the hourly reminder has no deadline and is left out";
  EXPECT_EQ(r.clocks[0].incident_id, met);
  EXPECT_EQ(r.clocks[0].outcome, ClockOutcome::kMet);
  EXPECT_EQ(r.clocks[0].satisfied_at, kT0 + hours(10));
  EXPECT_EQ(r.clocks[1].incident_id, missed);
  EXPECT_EQ(r.clocks[1].outcome, ClockOutcome::kMissed);
  EXPECT_EQ(r.clocks[1].deadline, kT0 + hours(72));
  EXPECT_EQ(r.clocks[2].incident_id, running);
  EXPECT_EQ(r.clocks[2].outcome, ClockOutcome::kRunning);
  EXPECT_EQ(r.clocks[2].time_left, hours(49));
  EXPECT_EQ(r.summary.clocks_met, 1);
  EXPECT_EQ(r.summary.clocks_missed, 1);
  EXPECT_EQ(r.summary.clocks_running, 1);
  // Reviews at 2026-03-05: data_breach due 2026-01-30 (overdue), crash due 2026-05-02 (within 30
  // days? no: 58 days), flood due 2027-01-01.
  ASSERT_EQ(r.reviews.size(), 3u);
  EXPECT_TRUE(r.reviews[0].overdue);
  EXPECT_FALSE(r.reviews[1].overdue);
  EXPECT_FALSE(r.reviews[1].due_soon);
  EXPECT_FALSE(r.reviews[2].due_soon);
  EXPECT_EQ(r.summary.reviews_overdue, 1);
  ASSERT_EQ(r.drills.size(), 1u);
  EXPECT_TRUE(r.drills[0].overdue) << "never drilled";
  EXPECT_EQ(r.summary.drills_overdue, 1);

  const std::string metrics = metrics_.render();
  EXPECT_NE(metrics.find("tocsin_compliance_clocks_missed 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tocsin_compliance_clocks_running 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("tocsin_compliance_reviews_overdue 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("tocsin_compliance_drills_overdue 1\n"), std::string::npos);

  // 40 days on, crash's review is due soon, the running clock has been missed, and the metrics
  // (recomputed at most once a minute) follow.
  clock_.advance(hours(24 * 40));
  const ComplianceReport later = engine_->compliance().value();
  EXPECT_TRUE(later.reviews[1].due_soon);
  EXPECT_EQ(later.summary.reviews_due_soon, 1);
  EXPECT_EQ(later.summary.clocks_missed, 2);
  EXPECT_EQ(later.summary.clocks_running, 0);
  EXPECT_NE(metrics_.render().find("tocsin_compliance_clocks_missed 2\n"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::engine
