// The audit log through the engine (docs/compliance.md): every change a person or an API client
// makes writes exactly one entry — actor, action, object, source — in the transaction of the
// change, so a change that is rejected or rolled back leaves none; samples and alerts from
// monitoring write none.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/test_webhook_engine.h"

namespace tocsin::engine {
namespace {

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

constexpr const char* kConfig = R"(
people: [{id: alice}, {id: bob}, {id: carol}]
rules:
  - {name: Leak, select: leak_bytes, detector: {kind: threshold, above: 100}, labels: {incident_type: data_breach}}
channels: [{name: hook, type: webhook, url: "http://127.0.0.1:1/hook"}]
routes: {receiver: hook, group_by: [instance]}  # one incident per instance
plans:
  - id: data_breach
    match: ['incident_type="data_breach"']
    roles: {commander: "person:alice", legal: "person:carol"}
    steps:
      - {id: contain, title: Contain the leak, owner: commander, due: 1h}
      - {id: notify_regulator, title: Notify the authority, owner: legal, due: 96h}
      - {id: block, title: Block the source, owner: commander, action: {type: webhook, url: "http://127.0.0.1:1/block", approve: true}}
    clocks:
      - {name: regulator, within: 72h, from: breach_confirmed, until: "task_done:notify_regulator", owner: legal}
)";

class AuditTest : public WebhookEngineTest {
 protected:
  AuditTest() : WebhookEngineTest(kStart) {}
  void SetUp() override { start_engine(kConfig); }

  std::vector<store::AuditEntry> audit(store::AuditFilter filter = {}) { return engine_->list_audit(filter).value(); }

  // Runs `change` (which must succeed) and checks that it wrote exactly one entry, as expected.
  template <class Change>
  void expect_one_entry(Change change, std::string_view actor, std::string_view action, std::string_view object,
                        std::string_view source = "10.0.0.7:4242") {
    SCOPED_TRACE(std::string(action));
    const size_t before = audit().size();
    change();
    const auto after = audit();
    ASSERT_EQ(after.size(), before + 1);
    const store::AuditEntry& e = after.back();
    EXPECT_EQ(e.actor, actor);
    EXPECT_EQ(e.action, action);
    EXPECT_EQ(e.object, object);
    EXPECT_EQ(e.source, source);
    EXPECT_EQ(e.at, clock_.now());
  }
};

constexpr std::string_view kFrom = "10.0.0.7:4242";

TEST_F(AuditTest, EveryIncidentVerbWritesOneEntryWithItsActor) {
  // Alerts from monitoring open incidents: data, not a person's change.
  const int64_t id = open("db1");
  const int64_t other = open("db2");
  ASSERT_NE(id, other);
  EXPECT_TRUE(audit().empty());
  const std::string obj = fmt::format("incident/{}", id);

  expect_one_entry([&] { ASSERT_TRUE(engine_->acknowledge(id, Actor("alice", kFrom)).has_value()); }, "alice",
                   "incident.acknowledge", obj);
  expect_one_entry([&] { ASSERT_TRUE(engine_->add_note(id, Actor("bob", kFrom), "looks, like \"this\"").has_value()); },
                   "bob", "incident.note", obj);
  EXPECT_EQ(audit().back().detail, "looks, like \"this\"");
  expect_one_entry([&] { ASSERT_TRUE(engine_->set_severity(id, "major", Actor("alice", kFrom)).has_value()); }, "alice",
                   "incident.severity", obj);
  EXPECT_EQ(audit().back().detail, "major");
  expect_one_entry([&] { ASSERT_TRUE(engine_->relate(id, other, Actor("alice", kFrom)).has_value()); }, "alice",
                   "incident.relate", obj);
  EXPECT_EQ(audit().back().detail, fmt::format("related to incident/{}", other));
  expect_one_entry(
      [&] {
        ASSERT_TRUE(engine_->record_event(id, "breach_confirmed", "table copied", Actor("carol", kFrom)).has_value());
      },
      "carol", "incident.event", obj);
  EXPECT_EQ(audit().back().detail, "breach_confirmed: table copied");
  expect_one_entry(
      [&] { ASSERT_TRUE(engine_->complete_task(id, "contain", false, Actor("alice", kFrom)).has_value()); }, "alice",
      "task.done", obj);
  EXPECT_EQ(audit().back().detail, "contain");
  expect_one_entry(
      [&] { ASSERT_TRUE(engine_->complete_task(id, "notify_regulator", true, Actor("carol", kFrom)).has_value()); },
      "carol", "task.skip", obj);
  expect_one_entry([&] { ASSERT_TRUE(engine_->approve_action(id, "block", Actor("bob", kFrom)).has_value()); }, "bob",
                   "action.approve", obj);
  EXPECT_EQ(audit().back().detail, "block");
  expect_one_entry([&] { ASSERT_TRUE(engine_->mitigate(id, Actor("alice", kFrom)).has_value()); }, "alice",
                   "incident.mitigate", obj);
  expect_one_entry([&] { ASSERT_TRUE(engine_->resolve(id, Actor("alice", kFrom)).has_value()); }, "alice",
                   "incident.resolve", obj);
  expect_one_entry([&] { ASSERT_TRUE(engine_->reopen(id, Actor("bob", kFrom)).has_value()); }, "bob", "incident.reopen",
                   obj);
  ASSERT_TRUE(engine_->resolve(id, Actor("bob", kFrom)).has_value());
  // The postmortem (its edits, action items and completion, which closes the incident).
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"summary", "s"}, {"impact", "i"}, {"root_cause", "r"}};
  expect_one_entry([&] { ASSERT_TRUE(engine_->edit_postmortem(id, fields, Actor("carol", kFrom)).has_value()); },
                   "carol", "postmortem.edit", obj);
  EXPECT_EQ(audit().back().detail, "summary, impact, root_cause");
  int64_t item = 0;
  expect_one_entry(
      [&] {
        item = engine_->add_action_item(id, "Add a disk alarm", "bob", clock_.now() + std::chrono::hours(24),
                                        Actor("carol", kFrom))
                   .value();
      },
      "carol", "action_item.add", obj);
  expect_one_entry([&] { ASSERT_TRUE(engine_->set_action_item_done(id, item, true, Actor("bob", kFrom)).has_value()); },
                   "bob", "action_item.done", obj);
  expect_one_entry([&] { ASSERT_TRUE(engine_->complete_postmortem(id, Actor("alice", kFrom)).has_value()); }, "alice",
                   "postmortem.complete", obj);
  // A caller that names only the actor (a simulated responder) still writes the entry, sourceless.
  expect_one_entry([&] { ASSERT_TRUE(engine_->acknowledge(other, "bob").has_value()); }, "bob", "incident.acknowledge",
                   fmt::format("incident/{}", other), "");
  // Entries are oldest first, ids increasing.
  const auto all = audit();
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].id, all[i].id);
}

TEST_F(AuditTest, RejectedChangesWriteNoEntry) {
  const int64_t id = open("db1");
  ASSERT_TRUE(engine_->acknowledge(id, "alice").has_value());
  ASSERT_EQ(audit().size(), 1u);
  // Each is refused after its entry was written in the transaction: the rollback drops it.
  EXPECT_FALSE(engine_->acknowledge(id, "alice").has_value());  // already acknowledged: 409
  EXPECT_FALSE(engine_->complete_task(id, "nope", false, "alice").has_value());
  EXPECT_FALSE(engine_->record_event(id, "opened", "", "alice").has_value());  // a reserved kind
  EXPECT_FALSE(engine_->approve_action(id, "contain", "bob").has_value());     // no action on that step
  EXPECT_FALSE(engine_->acknowledge(999, "alice").has_value());
  EXPECT_FALSE(engine_->expire_silence("no-such-silence", kFrom).has_value());
  EXPECT_EQ(audit().size(), 1u);
}

TEST_F(AuditTest, AnEntryAndItsChangeCommitOrRollBackTogether) {
  // audited_write: the entry is written first, then the change; an error after both rolls back both.
  const int64_t id = open("db1");
  auto failed = engine_->audited_write(Actor("mallory", kFrom), {"incident.test", "incident/1", ""},
                                       [&](store::Tx& tx, core::Timestamp now) -> core::Status {
                                         TOCSIN_TRY(tx.append_timeline({0, id, now, "note", "mallory", "half done"}));
                                         return std::unexpected(core::Error::internal("disk on fire"));
                                       });
  EXPECT_FALSE(failed.has_value());
  EXPECT_TRUE(audit().empty());
  const store::Incident after_failure = engine_->get_incident(id).value();
  for (const auto& e : after_failure.timeline) EXPECT_NE(e.detail, "half done");
  auto done = engine_->audited_write(Actor("mallory", kFrom), {"incident.test", "incident/1", ""},
                                     [&](store::Tx& tx, core::Timestamp now) -> core::Status {
                                       TOCSIN_TRY(tx.append_timeline({0, id, now, "note", "mallory", "all done"}));
                                       return {};
                                     });
  ASSERT_TRUE(done.has_value());
  ASSERT_EQ(audit().size(), 1u);
  EXPECT_EQ(engine_->get_incident(id)->timeline.back().detail, "all done");
}

TEST_F(AuditTest, SilencesAreAuditedWithTheirCreator) {
  store::Silence s;
  s.matchers = {core::Matcher::parse("instance=\"db1\"").value()};
  s.starts_at = clock_.now();
  s.ends_at = clock_.now() + std::chrono::hours(2);
  s.created_by = "dave";
  s.comment = "maintenance, window";
  const std::string id = engine_->set_silence(s, kFrom).value();
  ASSERT_EQ(audit().size(), 1u);
  EXPECT_EQ(audit().back().action, "silence.create");
  EXPECT_EQ(audit().back().actor, "dave");
  EXPECT_EQ(audit().back().source, kFrom);
  EXPECT_EQ(audit().back().object, "silence/" + id);
  EXPECT_NE(audit().back().detail.find("instance=\"db1\""), std::string::npos) << audit().back().detail;
  EXPECT_NE(audit().back().detail.find("maintenance, window"), std::string::npos);
  // An update that changes the matchers of an active silence replaces it (Alertmanager).
  s.id = id;
  s.created_by = "erin";
  s.matchers = {core::Matcher::parse("instance=\"db2\"").value()};
  const size_t before = audit().size();
  const std::string new_id = engine_->set_silence(s, kFrom).value();
  ASSERT_EQ(audit().size(), before + 1);
  EXPECT_EQ(audit().back().action, "silence.update");
  EXPECT_EQ(audit().back().actor, "erin");
  EXPECT_EQ(audit().back().object, "silence/" + new_id);
  if (new_id != id) {
    EXPECT_NE(audit().back().detail.find("replaces silence/" + id), std::string::npos);
  }
  // Expiring names nobody: the actor is the silence's creator.
  expect_one_entry([&] { ASSERT_TRUE(engine_->expire_silence(new_id, kFrom).has_value()); }, "erin", "silence.expire",
                   "silence/" + new_id);
}

TEST_F(AuditTest, DrillsAndRunsAreAudited) {
  int64_t drill_id = 0;
  expect_one_entry(
      [&] {
        drill_id = engine_->start_live_drill("Breach", "data_breach", {"alice"}, Actor("trainer", kFrom)).value().id;
      },
      "trainer", "drill.live.start", "drill/live/1");
  EXPECT_EQ(audit().back().detail, "scenario Breach, plan data_breach, participants alice");
  // A scorer that fails rolls back the finish and its entry: the drill stays running.
  const size_t before = audit().size();
  auto failed = engine_->finish_live_drill(
      drill_id, Actor("trainer", kFrom),
      [](store::Tx&, const store::LiveDrill&, core::Timestamp) -> core::Result<store::DrillRun> {
        return std::unexpected(core::Error::internal("scorer broke"));
      });
  EXPECT_FALSE(failed.has_value());
  EXPECT_EQ(audit().size(), before);
  EXPECT_FALSE(engine_->get_live_drill(drill_id)->finished_at.has_value());
  expect_one_entry([&] { ASSERT_TRUE(engine_->finish_live_drill(drill_id, Actor("trainer", kFrom), std::nullopt)); },
                   "trainer", "drill.live.finish", "drill/live/1");

  store::DrillRun run;
  run.scenario = "Breach";
  run.plan = "data_breach";
  run.mode = "simulated";
  run.started_at = kStart;
  run.finished_at = kStart + std::chrono::hours(1);
  run.score = 87.5;
  run.passed = true;
  run.scorecard_json = "{}";
  expect_one_entry([&] { ASSERT_TRUE(engine_->record_drill_run(run, Actor("ci", kFrom)).has_value()); }, "ci",
                   "drill.run.record", "drill/run/1");
  EXPECT_EQ(audit().back().detail, "simulated drill of plan data_breach, scenario Breach: score 87.5, passed");
  // A run the engine refuses (unknown plan) writes nothing.
  run.plan = "nope";
  const size_t count = audit().size();
  EXPECT_FALSE(engine_->record_drill_run(run, Actor("ci", kFrom)).has_value());
  EXPECT_EQ(audit().size(), count);
}

TEST_F(AuditTest, SamplesAndAlertsFromMonitoringAreNotAudited) {
  core::Sample sample;
  sample.labels = core::Labels{{"__name__", "leak_bytes"}, {"instance", "db1"}};
  sample.value = 500;
  sample.ts = clock_.now();
  auto ingested = engine_->ingest(std::vector<core::Sample>{sample});
  ASSERT_TRUE(ingested.has_value());
  EXPECT_EQ(ingested->incidents_opened.size(), 1u) << "the sample opened an incident";
  open("db2");
  run_until(clock_.now() + std::chrono::hours(2));  // escalation, deadlines: tocsin's own work
  EXPECT_TRUE(audit().empty());
}

TEST_F(AuditTest, FiltersByTimeActorAndActionPrefix) {
  const int64_t id = open("db1");
  ASSERT_TRUE(engine_->acknowledge(id, "alice").has_value());
  clock_.advance(std::chrono::minutes(10));
  ASSERT_TRUE(engine_->add_note(id, "bob", "n1").has_value());
  clock_.advance(std::chrono::minutes(10));
  ASSERT_TRUE(engine_->record_audit(Actor("bob", kFrom), {"clock.advance", "clock", "from a to b"}).has_value());
  store::AuditFilter f;
  f.actor = "bob";
  EXPECT_EQ(audit(f).size(), 2u);
  f = {};
  f.action = "incident.";
  ASSERT_EQ(audit(f).size(), 2u);
  EXPECT_EQ(audit(f)[0].action, "incident.acknowledge");
  f = {};
  f.since = kStart + std::chrono::minutes(10);
  f.until = kStart + std::chrono::minutes(20);  // exclusive
  ASSERT_EQ(audit(f).size(), 1u);
  EXPECT_EQ(audit(f)[0].detail, "n1");
  f = {};
  f.limit = 2;
  ASSERT_EQ(audit(f).size(), 2u);
  EXPECT_EQ(audit(f)[1].action, "incident.note") << "the oldest two";
  f = {};
  f.action = "incident.%";  // no LIKE wildcards
  EXPECT_TRUE(audit(f).empty());
}

}  // namespace
}  // namespace tocsin::engine
