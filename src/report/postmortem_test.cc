#include "report/postmortem.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace tocsin::report {
namespace {

using namespace std::chrono_literals;

Timestamp at(std::string_view rfc) { return *core::parse_rfc3339(rfc); }

store::TimelineEvent ev(std::string_view when, std::string kind, std::string actor, std::string detail) {
  return {0, 7, at(when), std::move(kind), std::move(actor), std::move(detail)};
}

store::Task task(std::string step, int ord, std::string due, store::TaskStatus status,
                 std::optional<std::string> done = std::nullopt, std::string by = "") {
  store::Task t;
  t.step = step;
  t.ord = ord;
  t.title = "Do " + step;
  t.owner = "commander";
  t.assignee = "alice";
  t.due_at = at(due);
  t.status = status;
  if (done) t.done_at = at(*done);
  t.done_by = std::move(by);
  return t;
}

store::Notification page(int64_t id, std::string when, std::string key, std::string target, std::string address) {
  store::Notification n;
  n.id = id;
  n.incident_id = 7;
  n.target = std::move(target);
  n.channel = "webhook";
  n.address = std::move(address);
  n.status = store::NotificationStatus::kSent;
  n.attempts = 1;
  n.created_at = at(when);
  n.dedup_key = std::move(key);
  return n;
}

// Incident 7: alert fired 10:00:00, opened 10:00:30, paged level 0 at once, escalated to level 1
// at 10:05:30, acknowledged by bob at 10:06:00, resolved 11:12:30. Steps: activate on time,
// triage 2m late, failover skipped, postmortem open (due in 3 days).
PostmortemInput fixture() {
  PostmortemInput in;
  store::Incident& inc = in.incident;
  inc.id = 7;
  inc.title = "System crash: host db1 down";
  inc.plan = "system_crash";
  inc.severity = "critical";
  inc.status = store::IncidentStatus::kResolved;
  inc.opened_at = at("2026-03-01T10:00:30Z");
  inc.acknowledged_at = at("2026-03-01T10:06:00Z");
  inc.resolved_at = at("2026-03-01T11:12:30Z");
  store::IncidentAlert a;
  a.fingerprint = 42;
  a.labels = core::Labels({{"alertname", "HostDown"}, {"instance", "db1"}});
  a.added_at = inc.opened_at;
  inc.alerts.push_back(a);
  inc.tasks = {task("activate", 0, "2026-03-01T10:05:30Z", store::TaskStatus::kDone, "2026-03-01T10:05:00Z", "alice"),
               task("triage", 1, "2026-03-01T10:30:30Z", store::TaskStatus::kDone, "2026-03-01T10:32:30Z", "bob"),
               task("failover", 2, "2026-03-01T11:00:30Z", store::TaskStatus::kSkipped, "2026-03-01T10:50:00Z", "bob"),
               task("postmortem", 3, "2026-03-04T10:00:30Z", store::TaskStatus::kOpen)};
  store::ActionRun run;
  run.step = "failover";
  run.type = "command";
  run.state = store::ActionState::kSucceeded;
  run.attempts = 2;
  run.approved_by = "bob";
  run.last_result = "exit status 0";
  run.last_output = "switched to backup\n";
  inc.actions.push_back(run);
  inc.timeline = {ev("2026-03-01T10:00:30Z", "opened", "tocsin", "plan system_crash"),
                  ev("2026-03-01T10:00:30Z", "escalated", "tocsin", "level 0 (pass 0) of policy ops"),
                  ev("2026-03-01T10:05:30Z", "escalated", "tocsin", "level 1 (pass 0) of policy ops"),
                  ev("2026-03-01T10:06:00Z", "acknowledged", "bob", ""),
                  ev("2026-03-01T10:40:00Z", "note", "bob", "db1 | disk <full>"),
                  ev("2026-03-01T11:12:30Z", "resolved", "carol", "")};
  store::AlertRecord rec;
  rec.fingerprint = 42;
  rec.rule = "host_down";
  rec.labels = a.labels;
  rec.annotations = {{"summary", "db1 is down <script>alert(1)</script>"}};
  rec.fired_at = at("2026-03-01T10:00:00Z");
  in.alerts.push_back(rec);
  Page p0{page(1, "2026-03-01T10:00:30Z", "inc:7/pass:0/level:0/person:alice/webhook/http://a", "person:alice", "http://a"),
          {{1, 1, at("2026-03-01T10:00:31Z"), true, 200, "", 5ms}}};
  Page p1{page(2, "2026-03-01T10:05:30Z", "inc:7/pass:0/level:1/person:bob/webhook/http://b", "person:bob", "http://b"),
          {{2, 2, at("2026-03-01T10:05:31Z"), false, 500, "HTTP 500", 5ms},
           {3, 2, at("2026-03-01T10:05:41Z"), true, 200, "", 5ms}}};
  in.pages = {p0, p1};
  return in;
}

TEST(Postmortem, DerivesImpactDetectionAndAcknowledgement) {
  config::Plan plan;
  plan.id = "system_crash";
  plan.title = "System crash";
  config::Rule rule;
  rule.name = "host_down";
  rule.select = "up";
  rule.detector.kind = "threshold";
  rule.detector.params["below"] = {"1", 1.0, {}};
  rule.for_duration = 1min;
  const Postmortem pm = postmortem_draft(fixture(), &plan, {rule});
  EXPECT_EQ(pm.plan_title, "System crash");
  EXPECT_EQ(pm.impact_start, at("2026-03-01T10:00:00Z"));
  EXPECT_EQ(pm.impact_start_from, "first alert fired");
  ASSERT_TRUE(pm.impact_duration);
  EXPECT_EQ(human_duration(*pm.impact_duration), "1h12m30s");
  ASSERT_TRUE(pm.time_to_incident);
  EXPECT_EQ(*pm.time_to_incident, 30s);
  ASSERT_EQ(pm.detected_by.size(), 1u);
  EXPECT_EQ(pm.detected_by[0].alertname, "HostDown");
  EXPECT_EQ(pm.detected_by[0].rule, "host_down");
  EXPECT_EQ(pm.detected_by[0].detector, "threshold (below=1), for 1m on up");
  EXPECT_NE(render_markdown(pm).find("  - detector: threshold (below=1), for 1m on up\n"), std::string::npos);
  EXPECT_NE(render_html(pm).find("<li>detector: threshold (below=1), for 1m on up</li>"), std::string::npos);
  // A rule no longer in the config is named without a detector.
  EXPECT_EQ(postmortem_draft(fixture(), &plan).detected_by[0].detector, "");
  EXPECT_EQ(pm.acknowledged_by, "bob");
  EXPECT_EQ(*pm.time_to_ack, 5min + 30s);
  EXPECT_EQ(*pm.ack_after_first_page, 5min + 30s);
  EXPECT_EQ(pm.resolved_by, "carol");
  EXPECT_EQ(pm.summary,
            "Incident 7 (plan system_crash, severity critical) opened 2026-03-01T10:00:30Z on alert HostDown; "
            "acknowledged by bob after 5m30s; resolved after 1h12m30s of impact; 4 plan steps: 1 on time, 1 late, "
            "1 skipped, 1 open; 2 pages.");
}

TEST(Postmortem, JudgesStepsAgainstTheirDeadlines) {
  const Postmortem pm = postmortem_draft(fixture(), nullptr);
  ASSERT_EQ(pm.steps.size(), 4u);
  EXPECT_EQ(pm.steps[0].outcome, StepOutcome::kOnTime);
  EXPECT_EQ(pm.steps[1].outcome, StepOutcome::kLate);
  EXPECT_EQ(pm.steps[1].late_by, 2min);
  EXPECT_EQ(pm.steps[2].outcome, StepOutcome::kSkipped);
  EXPECT_EQ(pm.steps[3].outcome, StepOutcome::kOpen);
  EXPECT_EQ(pm.steps[3].late_by, Duration::zero());  // not due yet when it resolved
  const std::string md = render_markdown(pm);
  EXPECT_NE(md.find("| triage | Do triage | commander (alice) | 2026-03-01T10:30:30Z | done late by 2m | "
                    "2026-03-01T10:32:30Z | bob |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| failover | Do failover | commander (alice) | 2026-03-01T11:00:30Z | skipped |"), std::string::npos);
  EXPECT_NE(md.find("| activate | Do activate | commander (alice) | 2026-03-01T10:05:30Z | done on time |"),
            std::string::npos);
  EXPECT_NE(md.find("| postmortem | Do postmortem | commander (alice) | 2026-03-04T10:00:30Z | open | — | — |"),
            std::string::npos);
}

TEST(Postmortem, OpenStepPastDueAtTheEndIsOverdue) {
  PostmortemInput in = fixture();
  in.incident.tasks[3].due_at = at("2026-03-01T11:00:30Z");
  const Postmortem pm = postmortem_draft(in, nullptr);
  EXPECT_EQ(pm.steps[3].late_by, 12min);
  EXPECT_NE(render_markdown(pm).find("open, overdue by 12m"), std::string::npos);
}

TEST(Postmortem, ListsEveryPageWithItsEscalationLevelAndDelivery) {
  const Postmortem pm = postmortem_draft(fixture(), nullptr);
  ASSERT_EQ(pm.pages.size(), 2u);
  EXPECT_EQ(pm.pages[0].reason, "escalation level 0 (pass 0)");
  EXPECT_EQ(pm.pages[1].reason, "escalation level 1 (pass 0)");
  EXPECT_EQ(pm.pages[1].target, "person:bob");
  EXPECT_EQ(pm.pages[1].delivered_at, at("2026-03-01T10:05:41Z"));  // the first successful attempt
  const std::string md = render_markdown(pm);
  EXPECT_NE(md.find("| 2026-03-01T10:05:30Z | escalation level 1 (pass 0) | person:bob | webhook | http://b | sent | 1 | "
                    "2026-03-01T10:05:41Z |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("Acknowledged by **bob** at 2026-03-01T10:06:00Z: 5m30s after the incident opened, 5m30s after "
                    "the first page."),
            std::string::npos);
  EXPECT_NE(md.find("Resolved by **carol** at 2026-03-01T11:12:30Z."), std::string::npos);
}

TEST(Postmortem, ReportsActionsTimelineAndPlaceholders) {
  const std::string md = render_markdown(postmortem_draft(fixture(), nullptr));
  EXPECT_NE(md.find("- **failover** (command): succeeded after 2 attempts, approved by bob; last result: exit status 0"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("```\nswitched to backup\n```\n"), std::string::npos);
  EXPECT_NE(md.find("| 2026-03-01T10:06:00Z | acknowledged | bob |  |"), std::string::npos);
  // A pipe in a note must not split the table cell; angle brackets must not become HTML.
  EXPECT_NE(md.find("| 2026-03-01T10:40:00Z | note | bob | db1 \\| disk \\<full\\> |"), std::string::npos);
  for (const char* section : {"## Root cause", "## Contributing factors", "## What went well", "## Action items",
                              "| action | owner | due |"}) {
    EXPECT_NE(md.find(section), std::string::npos) << section;
  }
  EXPECT_EQ(md.find("[DRILL]"), std::string::npos);
}

TEST(Postmortem, MarksDrillIncidents) {
  PostmortemInput in = fixture();
  in.incident.drill = "3";
  in.incident.title = "[DRILL] " + in.incident.title;  // how a drill incident is titled
  const Postmortem pm = postmortem_draft(in, nullptr);
  EXPECT_TRUE(pm.summary.starts_with("[DRILL] Incident 7"));
  const std::string md = render_markdown(pm);
  EXPECT_TRUE(md.starts_with("# Postmortem (draft): [DRILL] System crash: host db1 down\n")) << md;
  EXPECT_NE(md.find("[DRILL] Raised by drill 3"), std::string::npos);
  EXPECT_NE(render_html(pm).find("<span class=\"drill\">[DRILL]</span>"), std::string::npos);
}

TEST(Postmortem, HtmlIsSelfContainedAndEscaped) {
  const std::string html = render_html(postmortem_draft(fixture(), nullptr));
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("db1 is down &lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("db1 | disk &lt;full&gt;"), std::string::npos);
  EXPECT_EQ(html.find("http://a\""), std::string::npos);  // no link or asset to fetch
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_NE(html.find("<pre>switched to backup\n</pre>"), std::string::npos);
  const std::string md = render_markdown(postmortem_draft(fixture(), nullptr));
  EXPECT_NE(md.find("summary: db1 is down \\<script\\>alert(1)\\</script\\>"), std::string::npos) << md;
}

// What people wrote replaces the placeholders: line breaks and paragraphs kept, markup escaped
// (also a line that would start a heading or a list), action items with their status; a
// completed postmortem loses "(draft)".
TEST(Postmortem, ShowsWhatPeopleWroteAndTheActionItems) {
  PostmortemInput in = fixture();
  store::Postmortem written;
  written.incident_id = 7;
  written.fields.summary = "The database host ran out of disk.";
  written.fields.impact = "Checkout failed for 72 minutes.";
  written.fields.root_cause = "Logs filled /var.\n# not a heading\n- not a list\n\n<b>Second</b> paragraph";
  written.fields.went_badly = "Paging took 5 minutes | slow";
  written.completed_at = at("2026-03-02T09:00:00Z");
  written.completed_by = "alice";
  in.written = written;
  store::ActionItem open_item;
  open_item.id = 3;
  open_item.incident_id = 7;
  open_item.title = "Alert on disk > 80%";
  open_item.owner = "bob";
  open_item.due_at = at("2026-03-10T00:00:00Z");
  store::ActionItem done_item = open_item;
  done_item.id = 4;
  done_item.title = "Rotate logs";
  done_item.status = store::ActionItemStatus::kDone;
  done_item.done_at = at("2026-03-03T12:00:00Z");
  done_item.done_by = "carol";
  in.action_items = {open_item, done_item};
  const Postmortem pm = postmortem_draft(in, nullptr);
  const std::string md = render_markdown(pm);
  EXPECT_TRUE(md.starts_with("# Postmortem: System crash: host db1 down\n")) << md;
  EXPECT_NE(md.find("- **Postmortem:** completed by alice at 2026-03-02T09:00:00Z"), std::string::npos) << md;
  EXPECT_NE(md.find("## Summary\n\nThe database host ran out of disk.\n\nIncident 7"), std::string::npos) << md;
  EXPECT_NE(md.find("- **Duration:** 1h12m30s\n\nCheckout failed for 72 minutes.\n"), std::string::npos) << md;
  EXPECT_NE(md.find("## Root cause\n\nLogs filled /var.\n\\# not a heading\n\\- not a list\n\n"
                    "\\<b\\>Second\\</b\\> paragraph\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("## What went badly\n\nPaging took 5 minutes \\| slow\n"), std::string::npos) << md;
  EXPECT_NE(md.find("## Contributing factors\n\n_To be filled in: what made it possible, worse or longer._"),
            std::string::npos)
      << "unwritten sections keep their placeholder";
  EXPECT_NE(md.find("## Lessons learned\n\n_To be filled in._"), std::string::npos);
  EXPECT_NE(md.find("| # | action | owner | due | status |"), std::string::npos);
  EXPECT_NE(md.find("| 3 | Alert on disk \\> 80% | bob | 2026-03-10T00:00:00Z | open |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 4 | Rotate logs | bob | 2026-03-10T00:00:00Z | done 2026-03-03T12:00:00Z by carol |"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("_to be filled in_"), std::string::npos) << "no placeholder row once items exist";

  const std::string html = render_html(pm);
  EXPECT_NE(html.find("<h1>Postmortem: System crash"), std::string::npos);
  EXPECT_NE(html.find("<h2>Root cause</h2>\n<p>Logs filled /var.<br>\n# not a heading<br>\n- not a list</p>\n"
                      "<p>&lt;b&gt;Second&lt;/b&gt; paragraph</p>\n"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td>4</td><td>Rotate logs</td><td>bob</td><td>2026-03-10T00:00:00Z</td>"
                      "<td>done 2026-03-03T12:00:00Z by carol</td>"),
            std::string::npos)
      << html;
  EXPECT_EQ(html.find("<b>Second"), std::string::npos);

  // Not completed yet: still a draft.
  in.written->completed_at.reset();
  EXPECT_TRUE(render_markdown(postmortem_draft(in, nullptr)).starts_with("# Postmortem (draft): "));
}

TEST(Postmortem, WithoutAlertRecordsTheImpactStartsAtTheOpening) {
  PostmortemInput in = fixture();
  in.alerts.clear();
  in.incident.acknowledged_at.reset();
  in.incident.timeline.erase(in.incident.timeline.begin() + 3);
  in.incident.resolved_at.reset();
  in.incident.status = store::IncidentStatus::kTriggered;
  const Postmortem pm = postmortem_draft(in, nullptr);
  EXPECT_EQ(pm.impact_start, in.incident.opened_at);
  EXPECT_EQ(pm.impact_start_from, "incident opened");
  EXPECT_FALSE(pm.time_to_incident);
  EXPECT_FALSE(pm.acknowledged_at);
  const std::string md = render_markdown(pm);
  EXPECT_NE(md.find("- **End:** not resolved yet"), std::string::npos);
  EXPECT_NE(md.find("Not acknowledged."), std::string::npos);
  EXPECT_NE(pm.summary.find("never acknowledged; not resolved (status triggered)"), std::string::npos);
}

TEST(Postmortem, HumanDurations) {
  EXPECT_EQ(human_duration(12min + 30s), "12m30s");
  EXPECT_EQ(human_duration(0s), "0s");
  EXPECT_EQ(human_duration(1500ms), "1s");
  EXPECT_EQ(human_duration(26h), "1d2h");
}

}  // namespace
}  // namespace tocsin::report
