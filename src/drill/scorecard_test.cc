// Scorecard maths on a hand-built record: no engine, no runner — as a live drill would score.
#include "drill/scorecard.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/loader.h"

namespace tocsin::drill {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kT0 = core::parse_rfc3339("2026-03-03T10:00:00Z").value();  // the fault starts
const Timestamp kOpen = kT0 + minutes(2);

constexpr std::string_view kConfig = R"(
people:
  - {id: alice, contact: {webhook: "http://hooks/alice"}}
  - {id: bob, contact: {email: bob@example.com}}
  - {id: carol, contact: {webhook: "http://hooks/carol", email: carol@example.com}}
channels:
  - {name: ops-hook, type: webhook, url: "http://hooks/ops"}
schedules:
  - id: ops-primary
    layers: [{rotation: weekly, handoff: "Mon 09:00", start: 2026-01-05, members: [alice, bob]}]
escalation_policies:
  - id: ops
    levels:
      - {after: 0m, notify: ["schedule:ops-primary"]}
      - {after: 10m, notify: ["person:carol", "channel:ops-hook"]}
plans:
  - id: crash
    title: Crash
    match: ['incident_type="crash"']
    escalation: ops
    roles: {commander: "schedule:ops-primary", ops: "person:bob"}
    steps:
      - {id: s1, title: One, owner: commander, due: 5m}
      - {id: s2, title: Two, owner: ops, due: 15m}
      - {id: s3, title: Three, owner: ops, due: 30m}
      - {id: s4, title: Four, owner: commander, due: 10h}
)";

store::Notification page(std::string target, std::string channel, std::string address, std::string key, Timestamp at) {
  store::Notification n;
  n.incident_id = 1;
  n.target = std::move(target);
  n.channel = std::move(channel);
  n.address = std::move(address);
  n.dedup_key = std::move(key);
  n.created_at = at;
  return n;
}

store::Task task(std::string step, int ord, std::string owner, std::string assignee, Duration due,
                 std::optional<Duration> done = std::nullopt, std::string by = "") {
  store::Task t;
  t.step = std::move(step);
  t.ord = ord;
  t.owner = std::move(owner);
  t.assignee = std::move(assignee);
  t.due_at = kOpen + due;
  if (done) {
    t.status = store::TaskStatus::kDone;
    t.done_at = kOpen + *done;
    t.done_by = std::move(by);
  }
  return t;
}

store::AlertRecord alert(std::string drill, Timestamp fired) {
  store::AlertRecord a;
  a.labels = core::Labels{{"alertname", "HighLoad"}, {"drill", drill}};
  a.state = store::AlertState::kFiring;
  a.fired_at = fired;
  return a;
}

class ScorecardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = config::load_config_string(kConfig, "test.yaml", "");
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::move(*cfg);
    scenario_.name = "drill-1";
    scenario_.plan = "crash";
    scenario_.seed = 5;
    scenario_.participants = {"alice", "bob", "carol"};
    scenario_.expect.detected_within = minutes(1);
    scenario_.expect.acknowledged_within = minutes(15);
    scenario_.expect.mitigated_within = minutes(30);
    scenario_.expect.resolved_within = minutes(60);
    scenario_.expect.steps_in_order = {"s1", "s2"};

    record_.drill_id = "drill-1";
    record_.start = kT0 - minutes(30);
    record_.end = kOpen + minutes(60);
    record_.faults.push_back({FaultKind::kSpike, "system_load", kT0, kT0 + minutes(40)});
    record_.alerts = {alert("drill-1", kT0 + seconds(90)), alert("other-drill", kT0 + seconds(20)),
                      alert("drill-1", kT0 - minutes(5))};
    store::Incident inc;
    inc.id = 1;
    inc.plan = "crash";
    inc.opened_at = kOpen;
    inc.status = store::IncidentStatus::kMitigated;
    inc.acknowledged_at = kOpen + minutes(12);
    inc.mitigated_at = kOpen + minutes(40);
    inc.tasks = {task("s2", 1, "ops", "bob", minutes(15), minutes(27), "bob"),
                 task("s1", 0, "commander", "alice", minutes(5), minutes(4), "alice"),
                 task("s3", 2, "ops", "bob", minutes(30)), task("s4", 3, "commander", "alice", std::chrono::hours(10))};
    inc.timeline = {{1, 1, kOpen, "opened", "tocsin", ""},
                    {2, 1, kOpen, "role_assigned", "tocsin", "commander: alice (schedule:ops-primary)"},
                    {3, 1, kOpen, "role_assigned", "tocsin", "ops: bob (person:bob)"},
                    {4, 1, kOpen + minutes(12), "acknowledged", "carol", ""}};
    record_.incidents.push_back(inc);
    store::Incident other;
    other.id = 2;
    other.plan = "something_else";
    other.opened_at = kOpen;
    record_.incidents.push_back(other);
    record_.notifications = {
        page("schedule:ops-primary", "webhook", "http://hooks/alice",
             "inc:1/pass:1/level:1/schedule:ops-primary/webhook/http://hooks/alice", kOpen),
        page("person:carol", "webhook", "http://hooks/carol", "inc:1/pass:1/level:2/person:carol/webhook/x",
             kOpen + minutes(10)),
        page("person:carol", "email", "carol@example.com", "inc:1/pass:1/level:2/person:carol/email/y",
             kOpen + minutes(10)),
        page("channel:ops-hook", "webhook", "http://hooks/ops", "inc:1/pass:1/level:2/channel:ops-hook/webhook/z",
             kOpen + minutes(10)),
        page("person:bob", "email", "bob@example.com",
             "inc:1/page:task s2 is overdue@1/person:bob/email/bob@example.com", kOpen + minutes(15)),
    };
  }

  const PersonScore& person(const Scorecard& card, std::string_view id) {
    for (const auto& p : card.people) {
      if (p.person == id) return p;
    }
    ADD_FAILURE() << "no person " << id;
    return card.people.front();
  }

  config::Config config_;
  Scenario scenario_;
  DrillRecord record_;
};

TEST_F(ScorecardTest, TimesStepsPagesAndScore) {
  const Scorecard card = compute_scorecard(scenario_, config_, record_);
  EXPECT_EQ(card.incident, 1);
  EXPECT_EQ(card.incidents, 1);
  EXPECT_EQ(card.other_incidents, 1);
  // The other drill's alert and the alert from before the fault do not count.
  EXPECT_EQ(card.time_to_detect, seconds(90));
  EXPECT_EQ(card.time_to_acknowledge, minutes(12));
  EXPECT_EQ(card.time_to_mitigate, minutes(40));
  EXPECT_FALSE(card.time_to_resolve.has_value());
  EXPECT_EQ(card.acknowledged_by, "carol");
  EXPECT_EQ(card.escalations, 1);

  ASSERT_EQ(card.steps.size(), 4u);
  EXPECT_EQ(card.steps[0].step, "s1");  // plan order, whatever the store's order
  EXPECT_EQ(card.steps[0].outcome, StepOutcome::kOnTime);
  EXPECT_EQ(card.steps[1].outcome, StepOutcome::kLate);
  EXPECT_EQ(card.steps[1].lateness, minutes(12));
  EXPECT_EQ(card.steps[2].outcome, StepOutcome::kNever);
  EXPECT_EQ(card.steps[2].lateness, minutes(30));
  EXPECT_EQ(card.steps[3].outcome, StepOutcome::kPending);
  for (const auto& s : card.steps) EXPECT_FALSE(s.out_of_order) << s.step;

  ASSERT_EQ(card.roles.size(), 2u);
  EXPECT_EQ(card.roles[0].role, "commander");
  EXPECT_EQ(card.roles[0].person, "alice");
  EXPECT_EQ(card.roles[0].steps_due, 1);
  EXPECT_TRUE(card.roles[0].covered);
  EXPECT_EQ(card.roles[1].steps_due, 2);
  EXPECT_EQ(card.roles[1].steps_done, 1);

  const PersonScore& alice = person(card, "alice");
  EXPECT_EQ(alice.pages, 1);
  EXPECT_EQ(alice.missed, 1);  // the ladder moved on to level 2 with the incident unacknowledged
  EXPECT_EQ(alice.steps_done, 1);
  const PersonScore& carol = person(card, "carol");
  EXPECT_EQ(carol.pages, 1);  // two contact methods, one page
  EXPECT_EQ(carol.answered, 1);
  EXPECT_EQ(carol.acks, 1);
  const PersonScore& bob = person(card, "bob");
  EXPECT_EQ(bob.pages, 0);
  EXPECT_EQ(bob.other_pages, 1);
  EXPECT_EQ(bob.steps_done, 1);
  EXPECT_EQ(bob.steps_late, 1);
  EXPECT_EQ(bob.steps_never, 1);

  ASSERT_EQ(card.expectations.size(), 5u);
  EXPECT_FALSE(card.expectations[0].met);  // detected after 1m30s
  EXPECT_EQ(card.expectations[0].actual, "1m30s");
  EXPECT_TRUE(card.expectations[1].met);
  EXPECT_FALSE(card.expectations[2].met);
  EXPECT_FALSE(card.expectations[3].met);
  EXPECT_EQ(card.expectations[3].actual, "not resolved");
  EXPECT_TRUE(card.expectations[4].met);
  EXPECT_EQ(card.expectations_met, 2);

  // E = 2/5, S = (1 + ½) / 3, P = 1 - 1/2: 40·0.4 + 40·0.5 + 20·0.5 = 46.
  EXPECT_DOUBLE_EQ(card.expectation_ratio, 0.4);
  EXPECT_DOUBLE_EQ(card.step_ratio, 0.5);
  EXPECT_DOUBLE_EQ(card.page_ratio, 0.5);
  EXPECT_EQ(card.score, 46);
}

TEST_F(ScorecardTest, FindingsAndTrainingPlan) {
  const Scorecard card = compute_scorecard(scenario_, config_, record_);
  std::vector<std::string> texts;
  for (const auto& f : card.findings) texts.push_back(f.kind + ": " + f.text);
  EXPECT_EQ(texts, (std::vector<std::string>{
                       "not_mitigated: mitigated_within: 40m (expected within 30m)",
                       "not_resolved: resolved_within: not resolved (expected within 1h)",
                       "slow_detection: detected after 1m30s (expected within 1m)",
                       "late_step: step s2 (owner role ops, bob) was 12m late",
                       "never_step: step s3 (owner role ops, bob) was never done; due 30m after the incident opened",
                       "missed_pages: alice missed 1 of 1 page",
                       "escalation: the page went 1 ladder step beyond the first before the incident was acknowledged",
                   }));
  std::vector<std::string> who;
  for (const auto& r : card.recommendations) who.push_back(r.who);
  EXPECT_EQ(who, (std::vector<std::string>{"person:alice", "person:bob", "person:bob", "role:ops", "plan:crash",
                                           "plan:crash", "plan:crash", "plan:crash"}));
  EXPECT_EQ(card.recommendations[2].text,
            "confirm that bob knows step s3 of plan crash is theirs (role ops), and rehearse it with them");
}

TEST_F(ScorecardTest, OutOfOrderStepsAndExpectation) {
  // s1 done after s2.
  record_.incidents[0].tasks[1].done_at = kOpen + minutes(30);
  const Scorecard card = compute_scorecard(scenario_, config_, record_);
  EXPECT_EQ(card.steps[0].outcome, StepOutcome::kLate);
  EXPECT_FALSE(card.steps[0].out_of_order);
  EXPECT_TRUE(card.steps[1].out_of_order);
  EXPECT_FALSE(card.expectations[4].met);
  EXPECT_EQ(card.expectations[4].actual, "s2, s1");
}

TEST_F(ScorecardTest, NoIncidentScoresZero) {
  record_.incidents.clear();
  record_.notifications.clear();
  record_.alerts.clear();
  const Scorecard card = compute_scorecard(scenario_, config_, record_);
  EXPECT_EQ(card.score, 0);
  EXPECT_FALSE(card.time_to_detect.has_value());
  ASSERT_FALSE(card.findings.empty());
  EXPECT_EQ(card.findings.front().kind, "not_detected");
}

TEST_F(ScorecardTest, JsonIsStableAndComplete) {
  const Scorecard card = compute_scorecard(scenario_, config_, record_);
  const std::string a = render_json(card);
  EXPECT_EQ(a, render_json(compute_scorecard(scenario_, config_, record_)));
  auto j = nlohmann::ordered_json::parse(a);
  EXPECT_EQ(j.begin().key(), "scenario");
  EXPECT_EQ(j["score"], 46);
  EXPECT_EQ(j["time_to_detect_seconds"], 90.0);
  EXPECT_TRUE(j["time_to_resolve_seconds"].is_null());
  EXPECT_EQ(j["steps"][1]["outcome"], "late");
  EXPECT_EQ(j["steps"][1]["lateness_seconds"], 720.0);
  EXPECT_EQ(j["people"][0]["person"], "alice");
  EXPECT_EQ(j["findings"].size(), card.findings.size());
  EXPECT_EQ(j["training_plan"].size(), card.recommendations.size());
  const std::string text = render_text(card);
  EXPECT_NE(text.find("score 46/100"), std::string::npos) << text;
  EXPECT_NE(text.find("s2               ops            bob      +15m        +27m        late by 12m"),
            std::string::npos)
      << text;
}

TEST(PagesTest, PersonAndLadderStepOfANotification) {
  auto cfg = config::load_config_string(kConfig, "test.yaml", "");
  ASSERT_TRUE(cfg.has_value());
  store::Notification n;
  n.target = "schedule:ops-primary";
  n.address = "bob@example.com";
  n.dedup_key = "inc:3/pass:2/level:1/schedule:ops-primary/email/bob@example.com";
  EXPECT_EQ(paged_person(*cfg, n), "bob");
  EXPECT_EQ(ladder_step(n), (std::pair{2, 1}));
  n.target = "channel:ops-hook";
  EXPECT_EQ(paged_person(*cfg, n), "");
  n.dedup_key = "inc:3/page:task x is overdue@5/person:bob/email/bob@example.com";
  EXPECT_FALSE(ladder_step(n).has_value());
}

TEST_F(ScorecardTest, AnOrderExpectationOnAStepStillOpenAtTheEndIsAFinding) {
  // s4 is due 10 h after the opening, long after the drill ends: not a never-done step, but the
  // unmet expectation must still say why.
  scenario_.expect.steps_in_order = {"s1", "s4"};
  const Scorecard card = compute_scorecard(scenario_, config_, record_);
  const auto e = std::find_if(card.expectations.begin(), card.expectations.end(),
                              [](const ExpectationResult& x) { return x.name == "steps_in_order"; });
  ASSERT_NE(e, card.expectations.end());
  EXPECT_FALSE(e->met);
  const auto f = std::find_if(card.findings.begin(), card.findings.end(),
                              [](const Finding& x) { return x.kind == "steps_not_done"; });
  ASSERT_NE(f, card.findings.end()) << render_text(card);
  EXPECT_EQ(f->text, "the drill ended with s4 still open (expected the steps s1, s4 done in that order)");
  // Met in order: no such finding.
  scenario_.expect.steps_in_order = {"s1", "s2"};
  const Scorecard ok = compute_scorecard(scenario_, config_, record_);
  EXPECT_TRUE(std::none_of(ok.findings.begin(), ok.findings.end(),
                           [](const Finding& x) { return x.kind == "steps_not_done"; }));
}

}  // namespace
}  // namespace tocsin::drill
