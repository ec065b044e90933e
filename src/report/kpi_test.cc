#include "report/kpi.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::report {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using store::IncidentStatus;
using store::TaskStatus;

Timestamp at(std::string_view rfc) { return *core::parse_rfc3339(rfc); }

store::IncidentAlert alert(uint64_t fp, core::Labels labels, std::string_view added) {
  return {fp, std::move(labels), store::AlertState::kFiring, at(added)};
}

store::Task task(std::string step, int ord, std::string_view due, TaskStatus status,
                 std::optional<std::string_view> done = std::nullopt) {
  store::Task t;
  t.step = std::move(step);
  t.ord = ord;
  t.title = "Do " + t.step;
  t.owner = "commander";
  t.due_at = at(due);
  t.status = status;
  if (done) t.done_at = at(*done);
  return t;
}

store::TimelineEvent ev(std::string_view when, std::string kind, std::string detail = "") {
  return {0, 0, at(when), std::move(kind), "tocsin", std::move(detail)};
}

store::Incident incident(int64_t id, std::string plan, std::string severity, std::string_view opened) {
  store::Incident inc;
  inc.id = id;
  inc.title = "incident " + std::to_string(id);
  inc.plan = std::move(plan);
  inc.severity = std::move(severity);
  inc.group_key = fmt::format("key-{}", id);
  inc.opened_at = at(opened);
  inc.timeline.push_back(ev(opened, "opened", "plan activated"));
  return inc;
}

const core::Labels kApiH1{{"alertname", "HighLoad"}, {"service", "api"}, {"instance", "h1"}};
const core::Labels kWebH2{{"alertname", "HighLoad"}, {"service", "web"}, {"instance", "h2"}};
const core::Labels kDb{{"alertname", "Exfiltration"}, {"service", "db"}};
const core::Labels kNoService{{"alertname", "HostDown"}, {"instance", "h9"}};

// The fixed history: the window is the two ISO weeks from Monday 2026-03-02 to Monday 2026-03-16
// (UTC), read on 2026-03-20. Every expected number below is computed by hand from it.
//
// I1 system_crash critical api   opened 03-02 10:00  acked +120 s, resolved +3600 s
//    steps: activate due 10:30 done 10:20 (on time), triage due 11:00 done 11:10 (late)
//    ladder: level 1 (pass 1) only
// I2 system_crash critical api   opened 03-04 08:00  acked +300 s, resolved +7200 s, then closed
//    alerts: api/h1 (opened it, 08:00) and web/h2 (joined 08:05); api/h1 resolved 08:10 and fired
//    again 08:20 (flapping: 1)
//    steps: activate due 08:30 done 08:25 (on time), triage skipped (not counted)
//    ladder: level 1 (pass 1), level 2 (pass 1): escalated
// I3 data_breach  major    db    opened 03-05 12:00  first ack 12:10 (+600 s); resolved 13:00, reopened
//    14:00 (status triggered: not resolved), acked again 15:00 (acknowledged_at; the first counts)
//    steps: contain due 13:00, open (due before now: counted, not on time)
// I4 data_breach  major    db    opened 03-10 09:00  never acked, resolved +1800 s
//    steps: contain due 10:00 done 09:50 (on time)
//    ladder: level 1 (pass 1), level 1 (pass 2): escalated (the ladder repeated)
// I5 system_crash critical (none) opened 03-12 18:00 triggered
//    steps: activate due 18:30 done 18:45 (late), recover due 03-21 (after now: not counted)
// Not counted: a drill incident (03-06), one opened at `until` exactly, one a second before `since`.
std::vector<store::Incident> history() {
  std::vector<store::Incident> v;

  store::Incident i1 = incident(1, "system_crash", "critical", "2026-03-02T10:00:00Z");
  i1.status = IncidentStatus::kResolved;
  i1.acknowledged_at = at("2026-03-02T10:02:00Z");
  i1.resolved_at = at("2026-03-02T11:00:00Z");
  i1.alerts = {alert(11, kApiH1, "2026-03-02T10:00:00Z")};
  i1.tasks = {task("activate", 0, "2026-03-02T10:30:00Z", TaskStatus::kDone, "2026-03-02T10:20:00Z"),
              task("triage", 1, "2026-03-02T11:00:00Z", TaskStatus::kDone, "2026-03-02T11:10:00Z")};
  i1.timeline.push_back(
      ev("2026-03-02T10:00:00Z", "escalated", "level 1 (pass 1) of policy ops: schedule:ops-primary"));
  i1.timeline.push_back(ev("2026-03-02T10:02:00Z", "acknowledged"));
  i1.timeline.push_back(ev("2026-03-02T11:00:00Z", "resolved"));
  v.push_back(i1);

  store::Incident i2 = incident(2, "system_crash", "critical", "2026-03-04T08:00:00Z");
  i2.status = IncidentStatus::kClosed;
  i2.acknowledged_at = at("2026-03-04T08:05:00Z");
  i2.resolved_at = at("2026-03-04T10:00:00Z");
  i2.closed_at = at("2026-03-05T10:00:00Z");
  i2.alerts = {alert(21, kApiH1, "2026-03-04T08:00:00Z"), alert(22, kWebH2, "2026-03-04T08:05:00Z")};
  i2.tasks = {task("activate", 0, "2026-03-04T08:30:00Z", TaskStatus::kDone, "2026-03-04T08:25:00Z"),
              task("triage", 1, "2026-03-04T09:00:00Z", TaskStatus::kSkipped, "2026-03-04T08:40:00Z")};
  i2.timeline.push_back(
      ev("2026-03-04T08:00:00Z", "escalated", "level 1 (pass 1) of policy ops: schedule:ops-primary"));
  i2.timeline.push_back(ev("2026-03-04T08:05:00Z", "alert_added", "HighLoad " + kWebH2.to_string() + " (value 0.97)"));
  i2.timeline.push_back(ev("2026-03-04T08:05:00Z", "escalated", "level 2 (pass 1) of policy ops: person:carol"));
  i2.timeline.push_back(ev("2026-03-04T08:05:00Z", "acknowledged"));
  i2.timeline.push_back(
      ev("2026-03-04T08:10:00Z", "alert_resolved", "HighLoad " + kApiH1.to_string() + " (value 0.2)"));
  i2.timeline.push_back(ev("2026-03-04T08:20:00Z", "alert_added", "HighLoad " + kApiH1.to_string() + " (value 0.95)"));
  i2.timeline.push_back(ev("2026-03-04T10:00:00Z", "resolved"));
  i2.timeline.push_back(ev("2026-03-05T10:00:00Z", "closed"));
  v.push_back(i2);

  store::Incident i3 = incident(3, "data_breach", "major", "2026-03-05T12:00:00Z");
  i3.status = IncidentStatus::kTriggered;
  i3.acknowledged_at = at("2026-03-05T15:00:00Z");
  i3.resolved_at = at("2026-03-05T13:00:00Z");
  i3.alerts = {alert(31, kDb, "2026-03-05T12:00:00Z")};
  i3.tasks = {task("contain", 0, "2026-03-05T13:00:00Z", TaskStatus::kOpen)};
  i3.timeline.push_back(ev("2026-03-05T12:10:00Z", "acknowledged"));
  i3.timeline.push_back(ev("2026-03-05T13:00:00Z", "resolved"));
  i3.timeline.push_back(ev("2026-03-05T14:00:00Z", "reopened"));
  i3.timeline.push_back(ev("2026-03-05T15:00:00Z", "acknowledged"));
  v.push_back(i3);

  store::Incident i4 = incident(4, "data_breach", "major", "2026-03-10T09:00:00Z");
  i4.status = IncidentStatus::kResolved;
  i4.resolved_at = at("2026-03-10T09:30:00Z");
  i4.alerts = {alert(41, kDb, "2026-03-10T09:00:00Z")};
  i4.tasks = {task("contain", 0, "2026-03-10T10:00:00Z", TaskStatus::kDone, "2026-03-10T09:50:00Z")};
  i4.timeline.push_back(ev("2026-03-10T09:00:00Z", "escalated", "level 1 (pass 1) of policy sec: person:dora"));
  i4.timeline.push_back(ev("2026-03-10T09:20:00Z", "escalated", "level 1 (pass 2) of policy sec: person:dora"));
  i4.timeline.push_back(ev("2026-03-10T09:30:00Z", "resolved"));
  v.push_back(i4);

  store::Incident i5 = incident(5, "system_crash", "critical", "2026-03-12T18:00:00Z");
  i5.alerts = {alert(51, kNoService, "2026-03-12T18:00:00Z")};
  i5.tasks = {task("activate", 0, "2026-03-12T18:30:00Z", TaskStatus::kDone, "2026-03-12T18:45:00Z"),
              task("recover", 1, "2026-03-21T00:00:00Z", TaskStatus::kOpen)};
  v.push_back(i5);

  store::Incident drill = incident(6, "system_crash", "critical", "2026-03-06T10:00:00Z");
  drill.drill = "3";
  drill.status = IncidentStatus::kResolved;
  drill.acknowledged_at = at("2026-03-06T10:00:01Z");
  drill.resolved_at = at("2026-03-06T10:00:02Z");
  drill.alerts = {alert(61, kApiH1, "2026-03-06T10:00:00Z")};
  v.push_back(drill);

  store::Incident at_until = incident(7, "system_crash", "critical", "2026-03-16T00:00:00Z");
  at_until.alerts = {alert(71, kApiH1, "2026-03-16T00:00:00Z")};
  v.push_back(at_until);
  store::Incident before = incident(8, "system_crash", "critical", "2026-03-01T23:59:59Z");
  before.alerts = {alert(81, kApiH1, "2026-03-01T23:59:59Z")};
  v.push_back(before);
  return v;
}

store::DrillRun drill_run(int64_t id, std::string plan, double score, bool passed, std::string_view ran) {
  store::DrillRun r;
  r.id = id;
  r.scenario = plan + "-drill";
  r.plan = std::move(plan);
  r.mode = "simulated";
  r.started_at = at("2026-01-01T00:00:00Z");
  r.finished_at = at("2026-01-01T01:00:00Z");
  r.ran_at = at(ran);
  r.score = score;
  r.passed = passed;
  r.scorecard_json = "{}";
  return r;
}

// Drill runs: system_crash 80 (passed, week 1) and 90 (failed, week 2), data_breach 60 (passed,
// week 2); one on 03-17 is outside the window.
std::vector<store::DrillRun> drill_history() {
  return {drill_run(1, "system_crash", 80, true, "2026-03-03T12:00:00Z"),
          drill_run(2, "system_crash", 90, false, "2026-03-11T12:00:00Z"),
          drill_run(3, "data_breach", 60, true, "2026-03-12T12:00:00Z"),
          drill_run(4, "data_breach", 10, false, "2026-03-17T12:00:00Z")};
}

store::ActionItem item(int64_t id, int64_t incident, bool done) {
  store::ActionItem a;
  a.id = id;
  a.incident_id = incident;
  a.title = fmt::format("follow-up {}", id);
  a.owner = "alice";
  a.due_at = at("2026-04-01T00:00:00Z");
  a.created_at = at("2026-03-14T00:00:00Z");
  a.created_by = "alice";
  if (done) {
    a.status = store::ActionItemStatus::kDone;
    a.done_at = at("2026-03-18T00:00:00Z");
    a.done_by = "alice";
  }
  return a;
}

// Postmortem action items: I1 two (one done), I2 one (done), I4 one (open); the drill incident's
// (done) and incident 8's (outside the window, done) do not count.
// Completion 2 / 4 = 0.5; system_crash 2 / 3, data_breach 0 / 1.
std::vector<store::ActionItem> action_history() {
  return {item(1, 1, true), item(2, 1, false), item(3, 2, true), item(4, 4, false), item(5, 6, true), item(6, 8, true)};
}

store::AlertFiring firing(int64_t id, std::string_view when, const core::Labels& labels, std::string plan,
                          std::string severity, std::vector<std::string> silenced_by = {}, bool inhibited = false) {
  store::AlertFiring f;
  f.id = id;
  f.fingerprint = labels.fingerprint();
  f.at = at(when);
  f.alertname = labels.get_or("alertname", "");
  f.service = labels.get_or("service", "");
  f.severity = std::move(severity);
  f.plan = std::move(plan);
  f.drill = labels.get_or("drill", "");
  f.silenced_by = std::move(silenced_by);
  f.inhibited = inhibited;
  return f;
}

// Alert firings, in time order (ids as a store assigns them):
//   F1 03-02 09:59 api/h1  system_crash critical            week 1
//   F2 03-04 07:59 api/h1  system_crash critical  silenced  week 1 (fired again)
//   F3 03-10 08:59 db      data_breach  major     inhibited week 2
//   F4 03-12 17:59 (none)  system_crash critical            week 2
//   and, not counted: a drill alert's (silenced) on 03-11, one (silenced) a second before the
//   window, one (silenced) at `until` itself.
// Overall 4 firings: silenced 1 / 4 = 0.25, inhibited 1 / 4 = 0.25. system_crash: F1 F2 F4,
// silenced 1/3, inhibited 0; data_breach: F3, silenced 0, inhibited 1. Week 1: silenced 1/2,
// inhibited 0; week 2: silenced 0, inhibited 1/2.
std::vector<store::AlertFiring> firing_history() {
  const core::Labels drill{{"alertname", "HighLoad"}, {"service", "api"}, {"drill", "7"}};
  return {firing(1, "2026-03-01T23:59:59Z", kApiH1, "system_crash", "critical", {"s0"}),
          firing(2, "2026-03-02T09:59:00Z", kApiH1, "system_crash", "critical"),
          firing(3, "2026-03-04T07:59:00Z", kApiH1, "system_crash", "critical", {"s1"}),
          firing(4, "2026-03-10T08:59:00Z", kDb, "data_breach", "major", {}, true),
          firing(5, "2026-03-11T10:00:00Z", drill, "system_crash", "critical", {"s2"}),
          firing(6, "2026-03-12T17:59:00Z", kNoService, "system_crash", "critical"),
          firing(7, "2026-03-16T00:00:00Z", kApiH1, "system_crash", "critical", {"s3"})};
}

KpiRecords fixed_records() { return {history(), drill_history(), action_history(), firing_history()}; }

KpiQuery query(KpiGroupBy by = KpiGroupBy::kNone, KpiPeriod period = KpiPeriod::kWeek) {
  return {at("2026-03-02T00:00:00Z"), at("2026-03-16T00:00:00Z"), at("2026-03-20T00:00:00Z"), by, period};
}

KpiReport fixed_report(KpiGroupBy by = KpiGroupBy::kNone, KpiPeriod period = KpiPeriod::kWeek) {
  return compute_kpis(fixed_records(), query(by, period));
}

const KpiGroup& group(const KpiReport& r, std::string_view key) {
  for (const auto& g : r.groups) {
    if (g.key == key) return g;
  }
  ADD_FAILURE() << "no group " << key;
  static const KpiGroup none;
  return none;
}

TEST(KpiTest, OverallNumbersMatchTheHandComputedOnes) {
  const Kpi k = fixed_report().overall;
  EXPECT_EQ(k.incidents, 5);                     // I1..I5: not the drill, not the two outside the window
  EXPECT_EQ(k.acknowledged, 3);                  // I1, I2, I3
  EXPECT_EQ(k.resolved, 3);                      // I1, I2 (closed), I4; I3 was reopened
  EXPECT_DOUBLE_EQ(*k.mtta_seconds, 340.0);      // (120 + 300 + 600) / 3
  EXPECT_DOUBLE_EQ(*k.mtta_p90_seconds, 600.0);  // nearest rank ceil(0.9 * 3) = 3rd of 120, 300, 600
  EXPECT_DOUBLE_EQ(*k.mttr_seconds, 4200.0);     // (3600 + 7200 + 1800) / 3
  EXPECT_DOUBLE_EQ(*k.mttr_p90_seconds, 7200.0);
  // Openings 03-02 10:00 … 03-12 18:00: 10 d 8 h = 892800 s over 4 gaps.
  EXPECT_DOUBLE_EQ(*k.mtbf_seconds, 223200.0);
  EXPECT_DOUBLE_EQ(*k.resolution_ratio, 0.6);  // 3 / 5
  // Due steps: I1 2 (1 on time), I2 1 (1), I3 1 (0), I4 1 (1), I5 1 (0) = 3 / 6.
  EXPECT_DOUBLE_EQ(*k.on_time_step_ratio, 0.5);
  EXPECT_DOUBLE_EQ(*k.escalation_rate, 0.4);      // I2 (level 2), I4 (pass 2) of 5
  EXPECT_DOUBLE_EQ(*k.alerts_per_incident, 1.2);  // 1 + 2 + 1 + 1 + 1 = 6 / 5
  EXPECT_EQ(k.flapping_alerts, 1);                // I2's api/h1
  EXPECT_EQ(k.action_items, 4);                   // I1 2, I2 1, I4 1
  EXPECT_DOUBLE_EQ(*k.action_item_completion, 0.5);  // 2 done of 4
  EXPECT_EQ(k.alert_firings, 4);                     // F1..F4: not the drill's, not those outside
  EXPECT_DOUBLE_EQ(*k.silenced_share, 0.25);         // F2 of 4
  EXPECT_DOUBLE_EQ(*k.inhibited_share, 0.25);        // F3 of 4
}

TEST(KpiTest, IncidentFactsOfOneIncident) {
  const auto h = history();
  const IncidentFacts f = incident_facts(h[2], at("2026-03-20T00:00:00Z"));  // I3
  EXPECT_EQ(f.time_to_ack, 600'000ms);  // the first acknowledgement, not the later acknowledged_at
  EXPECT_FALSE(f.resolved);
  EXPECT_FALSE(f.time_to_resolve);
  EXPECT_EQ(f.steps_due, 1);
  EXPECT_EQ(f.steps_on_time, 0);
  // The same open step is not due yet when read before 13:00.
  EXPECT_EQ(incident_facts(h[2], at("2026-03-05T12:30:00Z")).steps_due, 0);
}

TEST(KpiTest, ByPlan) {
  const KpiReport r = fixed_report(KpiGroupBy::kPlan);
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].key, "data_breach");
  EXPECT_EQ(r.groups[1].key, "system_crash");
  const Kpi& crash = group(r, "system_crash").kpi;  // I1, I2, I5
  EXPECT_EQ(crash.incidents, 3);
  EXPECT_EQ(crash.acknowledged, 2);
  EXPECT_DOUBLE_EQ(*crash.mtta_seconds, 210.0);      // (120 + 300) / 2
  EXPECT_DOUBLE_EQ(*crash.mtta_p90_seconds, 300.0);  // ceil(0.9 * 2) = 2nd
  EXPECT_DOUBLE_EQ(*crash.mttr_seconds, 5400.0);     // (3600 + 7200) / 2
  EXPECT_DOUBLE_EQ(*crash.mtbf_seconds, 446400.0);   // 892800 / 2
  EXPECT_DOUBLE_EQ(*crash.resolution_ratio, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(*crash.on_time_step_ratio, 0.5);  // I1 1/2, I2 1/1, I5 0/1 = 2 / 4
  EXPECT_DOUBLE_EQ(*crash.escalation_rate, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(*crash.alerts_per_incident, 4.0 / 3.0);
  EXPECT_EQ(crash.flapping_alerts, 1);
  EXPECT_DOUBLE_EQ(*crash.action_item_completion, 2.0 / 3.0);  // I1 1 of 2, I2 1 of 1
  EXPECT_EQ(crash.alert_firings, 3);                             // F1, F2, F4: the plan each matched
  EXPECT_DOUBLE_EQ(*crash.silenced_share, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(*crash.inhibited_share, 0.0);
  const Kpi& breach = group(r, "data_breach").kpi;  // I3, I4
  EXPECT_EQ(breach.incidents, 2);
  EXPECT_DOUBLE_EQ(*breach.mtta_seconds, 600.0);
  EXPECT_DOUBLE_EQ(*breach.mttr_seconds, 1800.0);
  EXPECT_DOUBLE_EQ(*breach.mtbf_seconds, 421200.0);  // 03-05 12:00 → 03-10 09:00 = 4 d 21 h
  EXPECT_DOUBLE_EQ(*breach.resolution_ratio, 0.5);
  EXPECT_DOUBLE_EQ(*breach.on_time_step_ratio, 0.5);
  EXPECT_DOUBLE_EQ(*breach.escalation_rate, 0.5);
  EXPECT_EQ(breach.flapping_alerts, 0);
  EXPECT_DOUBLE_EQ(*breach.action_item_completion, 0.0);  // I4's one item is open
  EXPECT_EQ(breach.alert_firings, 1);                     // F3
  EXPECT_DOUBLE_EQ(*breach.silenced_share, 0.0);
  EXPECT_DOUBLE_EQ(*breach.inhibited_share, 1.0);
}

TEST(KpiTest, ByServiceUsesTheFirstAlertAndNoneWhereAbsent) {
  const KpiReport r = fixed_report(KpiGroupBy::kService);
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(r.groups[0].key, "(none)");  // I5
  EXPECT_EQ(r.groups[1].key, "api");     // I1, I2 (its second alert is web's: the first decides)
  EXPECT_EQ(r.groups[2].key, "db");      // I3, I4
  EXPECT_EQ(r.groups[0].kpi.incidents, 1);
  EXPECT_EQ(r.groups[1].kpi.incidents, 2);
  EXPECT_EQ(r.groups[2].kpi.incidents, 2);
  EXPECT_FALSE(r.groups[0].kpi.mtbf_seconds);  // one incident: no gap
  EXPECT_FALSE(r.groups[0].kpi.mtta_seconds);
  EXPECT_DOUBLE_EQ(*r.groups[1].kpi.mtbf_seconds, 165600.0);  // 03-02 10:00 → 03-04 08:00 = 1 d 22 h
}

TEST(KpiTest, BySeverity) {
  const KpiReport r = fixed_report(KpiGroupBy::kSeverity);
  ASSERT_EQ(r.groups.size(), 2u);
  EXPECT_EQ(r.groups[0].key, "critical");
  EXPECT_EQ(r.groups[0].kpi.incidents, 3);
  EXPECT_EQ(r.groups[1].key, "major");
  EXPECT_EQ(r.groups[1].kpi.incidents, 2);
  // Firings by their own severity label: critical F1 F2 F4 (1 silenced), major F3.
  EXPECT_EQ(r.groups[0].kpi.alert_firings, 3);
  EXPECT_DOUBLE_EQ(*r.groups[0].kpi.silenced_share, 1.0 / 3.0);
  EXPECT_EQ(r.groups[1].kpi.alert_firings, 1);
  EXPECT_DOUBLE_EQ(*r.groups[1].kpi.inhibited_share, 1.0);
  EXPECT_TRUE(fixed_report().groups.empty());
}

TEST(KpiTest, WeeklyTrend) {
  const KpiReport r = fixed_report();
  ASSERT_EQ(r.trend.size(), 2u);
  EXPECT_EQ(r.trend[0].start, at("2026-03-02T00:00:00Z"));
  EXPECT_EQ(r.trend[0].end, at("2026-03-09T00:00:00Z"));
  EXPECT_EQ(r.trend[1].end, at("2026-03-16T00:00:00Z"));
  const Kpi& w1 = r.trend[0].kpi;  // I1, I2, I3
  EXPECT_EQ(w1.incidents, 3);
  EXPECT_DOUBLE_EQ(*w1.mtta_seconds, 340.0);
  EXPECT_DOUBLE_EQ(*w1.mttr_seconds, 5400.0);    // I1, I2
  EXPECT_DOUBLE_EQ(*w1.mtbf_seconds, 133200.0);  // 03-02 10:00 → 03-05 12:00 = 3 d 2 h, over 2 gaps
  EXPECT_EQ(w1.alert_firings, 2);                // F1, F2 (F2 silenced)
  EXPECT_DOUBLE_EQ(*w1.silenced_share, 0.5);
  EXPECT_DOUBLE_EQ(*w1.inhibited_share, 0.0);
  const Kpi& w2 = r.trend[1].kpi;                // I4, I5
  EXPECT_EQ(w2.incidents, 2);
  EXPECT_FALSE(w2.mtta_seconds);  // neither was acknowledged
  EXPECT_DOUBLE_EQ(*w2.mttr_seconds, 1800.0);
  EXPECT_DOUBLE_EQ(*w2.mtbf_seconds, 205200.0);  // 03-10 09:00 → 03-12 18:00 = 2 d 9 h
  EXPECT_DOUBLE_EQ(*w2.escalation_rate, 0.5);
  EXPECT_EQ(w2.alert_firings, 2);  // F3 (inhibited), F4
  EXPECT_DOUBLE_EQ(*w2.silenced_share, 0.0);
  EXPECT_DOUBLE_EQ(*w2.inhibited_share, 0.5);
}

TEST(KpiTest, DailyTrendHasEveryDayEmptyOnesIncluded) {
  const KpiReport r = fixed_report(KpiGroupBy::kNone, KpiPeriod::kDay);
  ASSERT_EQ(r.trend.size(), 14u);
  int64_t total = 0;
  for (const auto& b : r.trend) total += b.kpi.incidents;
  EXPECT_EQ(total, 5);
  const Kpi& mar3 = r.trend[1].kpi;
  EXPECT_EQ(r.trend[1].start, at("2026-03-03T00:00:00Z"));
  EXPECT_EQ(mar3.incidents, 0);
  EXPECT_FALSE(mar3.mtta_seconds);
  EXPECT_FALSE(mar3.resolution_ratio);
  EXPECT_FALSE(mar3.alerts_per_incident);
  EXPECT_EQ(mar3.alert_firings, 0);
  EXPECT_FALSE(mar3.silenced_share);  // no firing that day
  EXPECT_DOUBLE_EQ(*r.trend[2].kpi.silenced_share, 1.0);  // 03-04: F2, silenced
  EXPECT_EQ(r.trend[3].kpi.incidents, 1);  // 03-05: I3
}

TEST(KpiTest, BucketsAlignToUtcDaysIsoWeeksAndMonthsAndClipToTheWindow) {
  // Wednesday noon to the Monday after next: a partial week, then a full one.
  auto weeks = kpi_buckets(at("2026-03-04T12:00:00Z"), at("2026-03-16T00:00:00Z"), KpiPeriod::kWeek);
  ASSERT_EQ(weeks.size(), 2u);
  EXPECT_EQ(weeks[0], std::make_pair(at("2026-03-04T12:00:00Z"), at("2026-03-09T00:00:00Z")));
  EXPECT_EQ(weeks[1], std::make_pair(at("2026-03-09T00:00:00Z"), at("2026-03-16T00:00:00Z")));
  // A Sunday belongs to the week that started the Monday before (ISO), not the next one.
  auto sunday = kpi_buckets(at("2026-03-08T23:00:00Z"), at("2026-03-09T01:00:00Z"), KpiPeriod::kWeek);
  ASSERT_EQ(sunday.size(), 2u);
  EXPECT_EQ(sunday[0].second, at("2026-03-09T00:00:00Z"));
  auto months = kpi_buckets(at("2026-01-15T00:00:00Z"), at("2026-03-10T00:00:00Z"), KpiPeriod::kMonth);
  ASSERT_EQ(months.size(), 3u);
  EXPECT_EQ(months[0].second, at("2026-02-01T00:00:00Z"));
  EXPECT_EQ(months[1].second, at("2026-03-01T00:00:00Z"));  // February 2026: 28 days
  EXPECT_EQ(months[2].second, at("2026-03-10T00:00:00Z"));
  auto dec = kpi_buckets(at("2026-12-31T23:00:00Z"), at("2027-01-01T01:00:00Z"), KpiPeriod::kMonth);
  ASSERT_EQ(dec.size(), 2u);
  EXPECT_EQ(dec[1].first, at("2027-01-01T00:00:00Z"));
  EXPECT_EQ(kpi_buckets(at("2026-03-02T00:00:00Z"), at("2026-03-16T00:00:00Z"), KpiPeriod::kDay).size(), 14u);
}

TEST(KpiTest, DrillScores) {
  const DrillKpi d = fixed_report().drills;
  EXPECT_EQ(d.runs, 3);                          // not the one on 03-17
  EXPECT_DOUBLE_EQ(*d.mean_score, 230.0 / 3.0);  // (80 + 90 + 60) / 3
  EXPECT_DOUBLE_EQ(*d.passed_share, 2.0 / 3.0);
  ASSERT_EQ(d.by_plan.size(), 2u);
  EXPECT_EQ(d.by_plan[0].plan, "data_breach");
  EXPECT_EQ(d.by_plan[0].runs, 1);
  EXPECT_DOUBLE_EQ(d.by_plan[0].mean_score, 60.0);
  EXPECT_EQ(d.by_plan[1].plan, "system_crash");
  EXPECT_DOUBLE_EQ(d.by_plan[1].mean_score, 85.0);
  EXPECT_DOUBLE_EQ(d.by_plan[1].last_score, 90.0);
  ASSERT_EQ(d.trend.size(), 2u);
  EXPECT_EQ(d.trend[0].runs, 1);
  EXPECT_DOUBLE_EQ(*d.trend[0].mean_score, 80.0);
  EXPECT_EQ(d.trend[1].runs, 2);
  EXPECT_DOUBLE_EQ(*d.trend[1].mean_score, 75.0);  // (90 + 60) / 2
}

// The drill incident (I6, 03-06 10:00, acked after 1 s, resolved after 2 s) counts only when asked.
TEST(KpiTest, ScopeChoosesRealIncidentsDrillsOrBoth) {
  KpiQuery q = query();
  q.scope = KpiScope::kDrills;
  const Kpi drills = compute_kpis(fixed_records(), q).overall;
  EXPECT_EQ(drills.incidents, 1);
  EXPECT_DOUBLE_EQ(*drills.mtta_seconds, 1.0);
  EXPECT_DOUBLE_EQ(*drills.mttr_seconds, 2.0);
  EXPECT_EQ(drills.action_items, 1);  // item 5, done
  EXPECT_EQ(drills.alert_firings, 1);  // F5, silenced
  EXPECT_DOUBLE_EQ(*drills.silenced_share, 1.0);
  q.scope = KpiScope::kAll;
  const Kpi all = compute_kpis(fixed_records(), q).overall;
  EXPECT_EQ(all.incidents, 6);
  EXPECT_DOUBLE_EQ(*all.mtta_seconds, 255.25);  // (120 + 300 + 600 + 1) / 4
  EXPECT_DOUBLE_EQ(*all.action_item_completion, 0.6);  // 3 done of 5
  EXPECT_EQ(all.alert_firings, 5);                      // F1..F5
  EXPECT_DOUBLE_EQ(*all.silenced_share, 0.4);           // F2 and F5 of 5
  EXPECT_EQ(fixed_report().query.scope, KpiScope::kReal);
}

TEST(KpiTest, EmptyWindowGivesNulls) {
  KpiQuery q = query(KpiGroupBy::kPlan);
  q.since = at("2027-01-04T00:00:00Z");
  q.until = at("2027-01-11T00:00:00Z");
  const KpiReport r = compute_kpis(fixed_records(), q);
  EXPECT_EQ(r.overall.incidents, 0);
  EXPECT_EQ(r.overall.flapping_alerts, 0);
  for (const auto& f : kpi_fields()) {
    if (f.value) {
      EXPECT_FALSE(r.overall.*f.value) << f.name;
    }
  }
  EXPECT_TRUE(r.groups.empty());
  ASSERT_EQ(r.trend.size(), 1u);
  EXPECT_EQ(r.drills.runs, 0);
  EXPECT_FALSE(r.drills.mean_score);
  EXPECT_FALSE(r.drills.passed_share);
  const json doc = json::parse(kpi_json(r));
  EXPECT_TRUE(doc["overall"]["mtta_seconds"].is_null());
  EXPECT_TRUE(doc["overall"]["resolution_ratio"].is_null());
  EXPECT_EQ(doc["overall"]["incidents"], 0);
  EXPECT_TRUE(doc["drills"]["mean_score"].is_null());
  EXPECT_TRUE(doc["drills"]["trend"][0]["mean_score"].is_null());
}

TEST(KpiTest, JsonHasTheContractShape) {
  const json doc = json::parse(kpi_json(fixed_report(KpiGroupBy::kPlan)));
  EXPECT_EQ(doc["since"], "2026-03-02T00:00:00Z");
  EXPECT_EQ(doc["until"], "2026-03-16T00:00:00Z");
  EXPECT_EQ(doc["period"], "week");
  EXPECT_EQ(doc["by"], "plan");
  EXPECT_EQ(doc["scope"], "real");
  const std::vector<std::string> keys = {
      "incidents",       "acknowledged",        "resolved",       "mtta_seconds",     "mtta_p90_seconds",
      "mttr_seconds",    "mttr_p90_seconds",    "mtbf_seconds",   "resolution_ratio", "on_time_step_ratio",
      "escalation_rate", "alerts_per_incident", "flapping_alerts", "action_items", "action_item_completion",
      "alert_firings",   "silenced_share",      "inhibited_share"};
  ASSERT_EQ(doc["overall"].size(), keys.size());
  for (const auto& k : keys) EXPECT_TRUE(doc["overall"].contains(k)) << k;
  EXPECT_EQ(doc["overall"]["mtta_seconds"], 340.0);
  EXPECT_EQ(doc["overall"]["incidents"], 5);
  EXPECT_EQ(doc["overall"]["silenced_share"], 0.25);
  EXPECT_EQ(doc["overall"]["alert_firings"], 4);
  ASSERT_EQ(doc["groups"].size(), 2u);
  EXPECT_EQ(doc["groups"][1]["key"], "system_crash");
  EXPECT_EQ(doc["groups"][1]["kpi"]["mttr_seconds"], 5400.0);
  ASSERT_EQ(doc["trend"].size(), 2u);
  EXPECT_EQ(doc["trend"][1]["start"], "2026-03-09T00:00:00Z");
  EXPECT_EQ(doc["trend"][1]["kpi"]["mtta_seconds"], nullptr);
  EXPECT_EQ(doc["drills"]["runs"], 3);
  EXPECT_EQ(doc["drills"]["by_plan"][1]["last_score"], 90.0);
  EXPECT_EQ(doc["drills"]["trend"][1]["runs"], 2);
  EXPECT_TRUE(json::parse(kpi_json(fixed_report()))["by"].is_null());
}

// The first line of `text` that starts with `head`, its cells split on runs of two or more blanks.
std::vector<std::string> row(const std::string& text, std::string_view head) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.starts_with(head)) {
      std::vector<std::string> cells;
      size_t i = 0;
      while (i < line.size()) {
        size_t j = line.find("  ", i);
        if (j == std::string::npos) j = line.size();
        if (j > i) cells.push_back(line.substr(i, j - i));
        i = line.find_first_not_of(' ', j);
        if (i == std::string::npos) break;
      }
      return cells;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return {};
}

TEST(KpiTest, TextTableHumanisesDurationsAndShowsRatiosAsPercentages) {
  const std::string text = render_kpi_text(fixed_report(KpiGroupBy::kPlan));
  EXPECT_NE(text.find("from 2026-03-02T00:00:00Z to 2026-03-16T00:00:00Z"), std::string::npos) << text;
  using Cells = std::vector<std::string>;
  EXPECT_EQ(row(text, "MTTA "), (Cells{"MTTA", "5m40s", "10m", "3m30s"})) << text;  // 340 s, 600 s, 210 s
  EXPECT_EQ(row(text, "MTTR "), (Cells{"MTTR", "1h10m", "30m", "1h30m"})) << text;  // 4200, 1800, 5400 s
  EXPECT_EQ(row(text, "resolved share"), (Cells{"resolved share", "60.0%", "50.0%", "66.7%"})) << text;
  EXPECT_EQ(row(text, "alerts/incident"), (Cells{"alerts/incident", "1.20", "1.00", "1.33"})) << text;
  EXPECT_EQ(row(text, "silenced "), (Cells{"silenced", "25.0%", "0.0%", "33.3%"})) << text;
  const Cells week2 = row(text, "2026-03-09T00:00:00Z");
  ASSERT_EQ(week2.size(), kpi_fields().size() + 1) << text;
  EXPECT_EQ(week2[1], "2");  // incidents
  EXPECT_EQ(week2[4], "—");  // MTTA: nobody acknowledged I4 or I5
  EXPECT_NE(text.find("Drills: 3 runs, mean score 76.7, 66.7% passed"), std::string::npos) << text;
}

TEST(KpiTest, MetricsTextHasOverallAndPerPlanGaugesAndLeavesOutUndefinedOnes) {
  const std::string text = render_kpi_metrics(fixed_report(KpiGroupBy::kPlan));
  EXPECT_NE(text.find("# TYPE tocsin_kpi_mtta_seconds gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_mtta_seconds 340\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_mtta_seconds{plan=\"system_crash\"} 210\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_incidents{plan=\"data_breach\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_resolution_ratio 0.6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_silenced_share 0.25\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_inhibited_share{plan=\"data_breach\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_drill_mean_score{plan=\"system_crash\"} 85\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Over the last 14d."), std::string::npos) << text;
  KpiQuery q = query(KpiGroupBy::kPlan);
  q.since = at("2027-01-04T00:00:00Z");
  q.until = at("2027-01-11T00:00:00Z");
  const std::string empty = render_kpi_metrics(compute_kpis({history(), {}, {}, firing_history()}, q));
  EXPECT_NE(empty.find("\ntocsin_kpi_incidents 0\n"), std::string::npos) << empty;
  EXPECT_EQ(empty.find("\ntocsin_kpi_mtta_seconds "), std::string::npos) << empty;
}

TEST(KpiQueryTest, DefaultsAndValues) {
  const Timestamp now = at("2026-03-20T12:00:00Z");
  auto q = parse_kpi_query({}, now);
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->until, now);
  EXPECT_EQ(q->since, now - 30 * 24h);
  EXPECT_EQ(q->now, now);
  EXPECT_EQ(q->by, KpiGroupBy::kNone);
  EXPECT_EQ(q->period, KpiPeriod::kWeek);
  EXPECT_EQ(q->scope, KpiScope::kReal);
  EXPECT_EQ(parse_kpi_query({{"scope", "drills"}}, now)->scope, KpiScope::kDrills);
  EXPECT_EQ(parse_kpi_query({{"scope", "all"}}, now)->scope, KpiScope::kAll);
  q = parse_kpi_query({{"since", "7d"}, {"until", "2026-03-10T00:00:00Z"}, {"by", "service"}, {"period", "day"}}, now);
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->since, at("2026-03-03T00:00:00Z"));  // a duration counts back from until
  EXPECT_EQ(q->until, at("2026-03-10T00:00:00Z"));
  EXPECT_EQ(q->by, KpiGroupBy::kService);
  EXPECT_EQ(q->period, KpiPeriod::kDay);
  q = parse_kpi_query({{"since", "2026-01-01T00:00:00+02:00"}, {"period", "month"}, {"by", "severity"}}, now);
  ASSERT_TRUE(q) << q.error().to_string();
  EXPECT_EQ(q->since, at("2025-12-31T22:00:00Z"));
}

TEST(KpiQueryTest, BadParametersNameTheField) {
  const Timestamp now = at("2026-03-20T12:00:00Z");
  struct Case {
    std::map<std::string, std::string> params;
    std::string field;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{{"since", "yesterday"}}, "since", "expected an RFC 3339 time or a positive duration"},
      {{{"since", "0s"}}, "since", "positive duration"},
      {{{"until", "30d"}}, "until", "expected an RFC 3339 time"},
      {{{"by", "team"}}, "by", "expected plan, service or severity"},
      {{{"by", ""}}, "by", "expected plan, service or severity"},
      {{{"period", "year"}}, "period", "expected day, week or month"},
      {{{"sort", "mtta"}}, "sort", "expected since, until, by, period, scope"},
      {{{"scope", "drill"}}, "scope", "expected real, drills or all"},
      {{{"since", "2026-03-21T00:00:00Z"}}, "since", "is not before until"},
      {{{"since", "5y"}, {"period", "day"}}, "period", "more than 1000 days"},
  };
  for (const auto& c : cases) {
    auto q = parse_kpi_query(c.params, now);
    ASSERT_FALSE(q) << c.field;
    EXPECT_EQ(q.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(q.error().field(), c.field);
    EXPECT_NE(q.error().message().find(c.says), std::string::npos) << q.error().message();
  }
  // 1000 days is the most: 999 full days after a partial one.
  EXPECT_TRUE(parse_kpi_query({{"since", "999d"}, {"until", "2026-03-20T00:00:00Z"}, {"period", "day"}}, now));
  EXPECT_FALSE(parse_kpi_query({{"since", "1001d"}, {"until", "2026-03-20T00:00:00Z"}, {"period", "day"}}, now));
}

// The reader: the same history written to a real SQLite store and read back gives the same numbers.
TEST(KpiStoreTest, ReadsTheWindowFromTheStore) {
  test_support::TempDir dir;
  auto store = store::sqlite::open_sqlite_store(dir.path() / "tocsin.db");
  ASSERT_TRUE(store) << store.error().to_string();
  auto wrote = (*store)->write([&](store::Tx& tx) -> core::Status {
    for (const auto& inc : history()) {
      const int64_t id = TOCSIN_TRY(tx.insert_incident(inc));
      for (const auto& a : inc.alerts) TOCSIN_RETURN_IF_ERROR(tx.upsert_incident_alert(id, a));
      for (const auto& t : inc.tasks) TOCSIN_RETURN_IF_ERROR(tx.insert_task(id, t));
      for (auto e : inc.timeline) {
        e.incident_id = id;
        TOCSIN_TRY(tx.append_timeline(e));
      }
    }
    for (const auto& r : drill_history()) TOCSIN_TRY(tx.insert_drill_run(r));
    for (const auto& a : action_history()) TOCSIN_TRY(tx.insert_action_item(a));
    for (const auto& f : firing_history()) TOCSIN_TRY(tx.insert_alert_firing(f));
    return {};
  });
  ASSERT_TRUE(wrote) << wrote.error().to_string();
  const KpiQuery q = query(KpiGroupBy::kService);
  KpiRecords records;
  auto read = (*store)->read([&](store::Tx& tx) -> core::Status {
    records = TOCSIN_TRY(read_kpi_records(tx, q.since, q.until));
    return {};
  });
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(records.incidents.size(), 6u);  // I1..I5 and the drill incident; not the two outside
  EXPECT_EQ(records.drill_runs.size(), 3u);
  EXPECT_EQ(records.action_items.size(), 5u);  // not incident 8's, which is outside the window
  EXPECT_EQ(records.alert_firings.size(), 5u);  // F1..F4 and the drill's; not the two outside
  EXPECT_EQ(kpi_json(compute_kpis(records, q)), kpi_json(compute_kpis(fixed_records(), q)));
}

}  // namespace
}  // namespace tocsin::report
