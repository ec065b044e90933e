// The pipeline's timing and muting, step by step in simulated time (every call takes `now`).
#include "alerting/pipeline.h"

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "alerting/test_util.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::alerting {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::alert;
using testing::kT0;
using testing::load;

constexpr const char* kConfig = R"(
channels:
  - {name: team, type: webhook, url: "http://127.0.0.1:9/team", format: alertmanager}
  - {name: quiet, type: webhook, url: "http://127.0.0.1:9/quiet", format: alertmanager, send_resolved: false}
plans:
  - id: crash
    title: Crash
    match: ['incident_type="crash"']
routes:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - {matchers: ['route="quiet"'], receiver: quiet}
inhibit_rules:
  - {source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: [service]}
)";

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { pipeline_ = Pipeline::create(load(kConfig), "http://tocsin.example").value(); }

  // Sends firing alerts (no end: firing until resolved) received at `now`.
  std::vector<AlertChange> fire(std::vector<core::Labels> labels, core::Timestamp now) {
    std::vector<Alert> alerts;
    for (auto& l : labels) alerts.push_back(alert(std::move(l), now, std::nullopt, now));
    return pipeline_->receive(std::move(alerts), now);
  }
  void resolve(core::Labels labels, core::Timestamp starts, core::Timestamp now) {
    pipeline_->receive({alert(std::move(labels), starts, now, now)}, now);
  }
  // The notifications a flush at `now` creates, as Alertmanager v4 bodies.
  std::vector<json> flush(core::Timestamp now) {
    std::vector<json> out;
    const FlushOutput flushed = pipeline_->flush(now).value();
    for (const auto& n : flushed.notifications) out.push_back(json::parse(n.payload));
    return out;
  }
  static std::vector<std::string> statuses(const json& body) {
    std::vector<std::string> out;
    for (const auto& a : body["alerts"]) {
      out.push_back(a["labels"].value("instance", "") + ":" + a["status"].get<std::string>());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTest, GroupWaitCollectsAlertsIntoOneNotification) {
  fire({{{"alertname", "Load"}, {"instance", "a"}}}, kT0);
  fire({{{"alertname", "Load"}, {"instance", "b"}}}, kT0 + seconds(10));
  EXPECT_EQ(pipeline_->next_due(), kT0 + seconds(30));
  EXPECT_TRUE(flush(kT0 + seconds(29)).empty());
  auto sent = flush(kT0 + seconds(30));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["receiver"], "team");
  EXPECT_EQ(sent[0]["groupKey"], R"({}:{alertname="Load"})");
  EXPECT_EQ(statuses(sent[0]), (std::vector<std::string>{"a:firing", "b:firing"}));
  EXPECT_EQ(pipeline_->next_due(), kT0 + seconds(30) + minutes(5));
}

TEST_F(PipelineTest, GroupsFlushInTheOrderTheyFallDueAndLeaveTheScheduleWithTheMaintenanceTick) {
  // Loaded from an empty store, as the engine starts it: that starts the 30 s maintenance tick.
  test_support::TempDir dir;
  auto store = store::sqlite::open_sqlite_store(dir.path() / "tocsin.db").value();
  ASSERT_TRUE(store->read([&](store::Tx& tx) { return pipeline_->load(tx, kT0); }).has_value());
  // Three groups due at three times; each flush takes only the groups due by then, in order, and
  // moves each to its next group_interval.
  fire({{{"alertname", "C"}, {"instance", "c"}}}, kT0 + seconds(20));
  fire({{{"alertname", "A"}, {"instance", "a"}}}, kT0);
  fire({{{"alertname", "B"}, {"instance", "b"}}}, kT0 + seconds(10));
  EXPECT_EQ(pipeline_->next_due(), kT0 + seconds(30));
  auto group_keys = [](const std::vector<json>& sent) {
    std::vector<std::string> keys;
    for (const auto& body : sent) keys.push_back(body["groupKey"]);
    return keys;
  };
  EXPECT_EQ(group_keys(flush(kT0 + seconds(45))),
            (std::vector<std::string>{R"({}:{alertname="A"})", R"({}:{alertname="B"})"}));
  EXPECT_EQ(pipeline_->next_due(), kT0 + seconds(50));
  EXPECT_EQ(group_keys(flush(kT0 + seconds(50))), std::vector<std::string>{R"({}:{alertname="C"})"});
  // A and B flushed at 45 s, C at 50 s: the next flush is A's and B's.
  EXPECT_EQ(pipeline_->next_due(), kT0 + seconds(45) + minutes(5));
  // An alert older than group_wait moves a new group's flush forward to now.
  pipeline_->receive({alert({{"alertname", "D"}}, kT0, std::nullopt, kT0 + minutes(2))}, kT0 + minutes(2));
  EXPECT_EQ(pipeline_->next_due(), kT0 + minutes(2));
  EXPECT_EQ(group_keys(flush(kT0 + minutes(2))), std::vector<std::string>{R"({}:{alertname="D"})"});
  // Every alert resolves; once the resolves are flushed the groups are empty, and the next
  // maintenance tick removes them, so nothing is due any more.
  for (const char* name : {"A", "B", "C"}) {
    resolve({{"alertname", name}, {"instance", std::string(1, static_cast<char>(std::tolower(name[0])))}}, kT0,
            kT0 + minutes(3));
  }
  resolve({{"alertname", "D"}}, kT0, kT0 + minutes(3));
  EXPECT_EQ(flush(kT0 + minutes(8)).size(), 4u);
  EXPECT_TRUE(flush(kT0 + minutes(9)).empty());
  EXPECT_EQ(pipeline_->next_due(), std::nullopt);
}

TEST_F(PipelineTest, ALaterAlertWaitsForGroupIntervalAndNothingNewSendsNothingUntilRepeat) {
  fire({{{"alertname", "Load"}, {"instance", "a"}}}, kT0);
  ASSERT_EQ(flush(kT0 + seconds(30)).size(), 1u);
  fire({{{"alertname", "Load"}, {"instance", "b"}}}, kT0 + minutes(1));
  EXPECT_TRUE(flush(kT0 + minutes(1)).empty());
  auto second = flush(kT0 + seconds(30) + minutes(5));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(statuses(second[0]), (std::vector<std::string>{"a:firing", "b:firing"}));
  // Unchanged groups stay quiet at each group_interval...
  for (int i = 2; i < 50; ++i) EXPECT_TRUE(flush(kT0 + seconds(30) + minutes(5 * i)).empty()) << i;
  // ...until a flush finds the last notification more than repeat_interval (4 h) old.
  EXPECT_EQ(flush(kT0 + seconds(30) + minutes(5 * 50)).size(), 1u);
}

TEST_F(PipelineTest, ResolvedAlertsAreSentOnlyToReceiversThatWantThem) {
  fire({{{"alertname", "Load"}, {"instance", "a"}}, {{"alertname", "Load"}, {"instance", "q"}, {"route", "quiet"}}}, kT0);
  ASSERT_EQ(flush(kT0 + seconds(30)).size(), 2u);
  resolve({{"alertname", "Load"}, {"instance", "a"}}, kT0, kT0 + minutes(1));
  resolve({{"alertname", "Load"}, {"instance", "q"}, {"route", "quiet"}}, kT0, kT0 + minutes(1));
  auto sent = flush(kT0 + seconds(30) + minutes(5));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]["receiver"], "team");
  EXPECT_EQ(sent[0]["status"], "resolved");
  EXPECT_EQ(statuses(sent[0]), std::vector<std::string>{"a:resolved"});
  // Both groups are empty now; nothing more is sent.
  EXPECT_TRUE(flush(kT0 + seconds(30) + minutes(10)).empty());
}

TEST_F(PipelineTest, AlertsWithoutReSendsResolveByTheirEndTime) {
  pipeline_->receive({alert({{"alertname", "Load"}, {"instance", "a"}}, kT0, kT0 + minutes(4), kT0)}, kT0);
  ASSERT_EQ(flush(kT0 + seconds(30)).size(), 1u);
  auto sent = flush(kT0 + seconds(30) + minutes(5));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(statuses(sent[0]), std::vector<std::string>{"a:resolved"});
}

TEST_F(PipelineTest, SilencedAndInhibitedAlertsAreLeftOut) {
  store::Silence s;
  s.matchers.push_back(core::Matcher::parse(R"(instance="b")").value());
  s.starts_at = kT0;
  s.ends_at = kT0 + hours(1);
  s.created_by = "alice";
  auto change = pipeline_->plan_silence(s, kT0).value();
  pipeline_->commit_silence(change, "");
  auto changes = fire({{{"alertname", "Load"}, {"instance", "a"}},
                       {{"alertname", "Load"}, {"instance", "b"}},
                       {{"alertname", "Disk"}, {"instance", "c"}, {"severity", "warning"}, {"service", "db"}},
                       {{"alertname", "Down"}, {"instance", "d"}, {"severity", "critical"}, {"service", "db"}}},
                      kT0);
  EXPECT_FALSE(changes[0].muted);
  EXPECT_TRUE(changes[1].muted);
  EXPECT_TRUE(changes[2].muted);
  EXPECT_FALSE(changes[3].muted);
  // What each started firing muted by (the store::AlertFiring persist() writes).
  for (const auto& c : changes) EXPECT_TRUE(c.started_firing());
  EXPECT_EQ(changes[1].silenced_by, std::vector<std::string>{change.id});
  EXPECT_FALSE(changes[1].inhibited);
  EXPECT_TRUE(changes[2].inhibited);
  EXPECT_TRUE(changes[2].silenced_by.empty());
  EXPECT_TRUE(changes[0].silenced_by.empty());
  EXPECT_FALSE(changes[0].inhibited);
  // A re-send is not a start: muted as before, but nothing recorded.
  auto again = fire({{{"alertname", "Load"}, {"instance", "b"}}}, kT0 + seconds(1));
  EXPECT_FALSE(again[0].started_firing());
  EXPECT_TRUE(again[0].muted);
  EXPECT_TRUE(again[0].silenced_by.empty());
  std::map<std::string, std::vector<std::string>> by_group;
  for (const auto& body : flush(kT0 + seconds(30))) by_group[body["groupKey"]] = statuses(body);
  EXPECT_EQ(by_group[R"({}:{alertname="Load"})"], std::vector<std::string>{"a:firing"});
  EXPECT_EQ(by_group[R"({}:{alertname="Down"})"], std::vector<std::string>{"d:firing"});
  EXPECT_FALSE(by_group.contains(R"({}:{alertname="Disk"})"));  // everything in it is muted

  auto statuses_now = pipeline_->alerts(kT0 + minutes(1));
  ASSERT_EQ(statuses_now.size(), 4u);
  int suppressed = 0;
  for (const auto& st : statuses_now) suppressed += st.state == AlertStatus::State::kSuppressed;
  EXPECT_EQ(suppressed, 2);

  // The critical alert resolves: the warning is no longer inhibited and goes out at the next
  // group interval of its group.
  resolve({{"alertname", "Down"}, {"instance", "d"}, {"severity", "critical"}, {"service", "db"}}, kT0, kT0 + minutes(2));
  by_group.clear();
  for (const auto& body : flush(kT0 + seconds(30) + minutes(5))) by_group[body["groupKey"]] = statuses(body);
  EXPECT_EQ(by_group[R"({}:{alertname="Disk"})"], std::vector<std::string>{"c:firing"});
  EXPECT_EQ(by_group[R"({}:{alertname="Down"})"], std::vector<std::string>{"d:resolved"});
}

TEST_F(PipelineTest, PlanAlertsGoToIncidentsNotToReceivers) {
  auto changes = fire({{{"alertname", "Crash"}, {"incident_type", "crash"}}}, kT0);
  ASSERT_EQ(changes.size(), 1u);
  ASSERT_NE(changes[0].plan, nullptr);
  EXPECT_EQ(changes[0].plan->id, "crash");
  EXPECT_TRUE(changes[0].firing);
  auto out = pipeline_->flush(kT0 + seconds(30)).value();
  EXPECT_TRUE(out.notifications.empty());
  // Not yet in an incident (the engine links it at once when it arrives unmuted): reported.
  ASSERT_EQ(out.plan_alerts.size(), 1u);
  pipeline_->set_incident(changes[0].fingerprint, 7);
  EXPECT_TRUE(pipeline_->flush(kT0 + seconds(30) + minutes(5)).value().plan_alerts.empty());
}

TEST_F(PipelineTest, DrillAlertsNeverReachAReceiver) {
  fire({{{"alertname", "Load"}, {"instance", "a"}, {"drill", "3"}}}, kT0);
  EXPECT_TRUE(flush(kT0 + seconds(30)).empty());
  // A drill alert that matches a plan still goes to its (drill) incident.
  fire({{{"alertname", "Crash"}, {"incident_type", "crash"}, {"drill", "3"}}}, kT0 + minutes(1));
  auto out = pipeline_->flush(kT0 + minutes(1) + seconds(30)).value();
  EXPECT_TRUE(out.notifications.empty());
  EXPECT_EQ(out.plan_alerts.size(), 1u);
  // The same alert without the label is sent (the group flushes at group_interval after the first).
  fire({{{"alertname", "Load"}, {"instance", "b"}}}, kT0 + minutes(2));
  auto sent = flush(kT0 + seconds(30) + minutes(5));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(statuses(sent[0]), (std::vector<std::string>{"b:firing"}));
}

TEST_F(PipelineTest, AnAlertOlderThanGroupWaitFlushesANewGroupAtOnce) {
  pipeline_->receive({alert({{"alertname", "Old"}}, kT0 - minutes(10), std::nullopt, kT0)}, kT0);
  EXPECT_EQ(pipeline_->next_due(), kT0);
  EXPECT_EQ(flush(kT0).size(), 1u);
}

TEST_F(PipelineTest, AReSentAlertKeepsItsFirstStartAndAFiringAfterResolveIsNew) {
  EXPECT_FALSE(pipeline_->receive({alert({{"alertname", "Load"}}, kT0, kT0 + minutes(4), kT0)}, kT0)[0].times_only);
  // Re-sent the way Prometheus does: only the end moves, so only the times need writing.
  EXPECT_TRUE(pipeline_->receive({alert({{"alertname", "Load"}}, kT0, kT0 + minutes(4) + seconds(30),
                                        kT0 + seconds(30))},
                                 kT0 + seconds(30))[0]
                  .times_only);
  auto changed = pipeline_->receive({alert({{"alertname", "Load"}}, kT0 + minutes(1), kT0 + minutes(5), kT0 + minutes(1))},
                                    kT0 + minutes(1));
  EXPECT_TRUE(changed[0].times_only) << "a later start merges into the first: only the times change";
  Alert annotated = alert({{"alertname", "Load"}}, kT0, kT0 + minutes(6), kT0 + minutes(2));
  annotated.annotations["summary"] = "now with a summary";
  EXPECT_FALSE(pipeline_->receive({annotated}, kT0 + minutes(2))[0].times_only);
  const uint64_t fp = core::Labels{{"alertname", "Load"}}.fingerprint();
  EXPECT_EQ(pipeline_->find(fp)->active_at, kT0);
  EXPECT_EQ(pipeline_->find(fp)->ends_at, kT0 + minutes(6));
  pipeline_->set_incident(fp, 3);
  auto changes = pipeline_->receive({alert({{"alertname", "Load"}}, kT0 + minutes(20), std::nullopt, kT0 + minutes(20))},
                                    kT0 + minutes(20));
  EXPECT_FALSE(changes[0].was_firing);
  EXPECT_TRUE(changes[0].firing);
  EXPECT_EQ(pipeline_->find(fp)->active_at, kT0 + minutes(20));
  EXPECT_FALSE(pipeline_->find(fp)->incident_id);
}


// An alert as the intake's scanner reads it in place (AlertView), pointing into `a`.
struct ViewOf {
  explicit ViewOf(const Alert& a) {
    for (const auto& l : a.labels) labels.push_back({l.name, l.value});
    for (const auto& [name, value] : a.annotations) annotations.push_back({name, value});
    view.fingerprint = a.fingerprint;
    view.labels = labels;
    view.annotations = annotations;
    view.generator_url = a.generator_url;
    view.times = {a.active_at, a.ends_at, a.ends_at_from_timeout, a.updated_at};
  }
  std::vector<core::LabelRef> labels, annotations;
  AlertView view;
};

void expect_same_record(const Alert* x, const Alert* y, const std::string& what) {
  ASSERT_TRUE(x && y) << what;
  EXPECT_EQ(x->fingerprint, y->fingerprint) << what;
  EXPECT_EQ(x->rule, y->rule) << what;
  EXPECT_EQ(x->labels, y->labels) << what;
  EXPECT_EQ(x->annotations, y->annotations) << what;
  EXPECT_EQ(x->state, y->state) << what;
  EXPECT_TRUE(x->value == y->value || (std::isnan(x->value) && std::isnan(y->value))) << what;
  EXPECT_EQ(x->active_at, y->active_at) << what;
  EXPECT_EQ(x->fired_at, y->fired_at) << what;
  EXPECT_EQ(x->resolved_at, y->resolved_at) << what;
  EXPECT_EQ(x->updated_at, y->updated_at) << what;
  EXPECT_EQ(x->incident_id, y->incident_id) << what;
  EXPECT_EQ(x->ends_at, y->ends_at) << what;
  EXPECT_EQ(x->ends_at_from_timeout, y->ends_at_from_timeout) << what;
  EXPECT_EQ(x->generator_url, y->generator_url) << what;
}

// The intake's fast path (plan_resends + apply_resends) against receive(), on two pipelines
// given the same batches: it takes only re-sends that change nothing but the times, and leaves
// the same records, changes, groups and notifications as receive() does.
TEST(PipelineResends, InPlaceReSendsLeaveWhatReceiveLeaves) {
  auto config = load(kConfig);
  auto fast = Pipeline::create(config, "http://t").value();
  auto slow = Pipeline::create(config, "http://t").value();
  const core::Labels load_labels{{"alertname", "Load"}, {"service", "web"}, {"severity", "warning"}};
  auto load_alert = [&](core::Timestamp starts, std::optional<core::Timestamp> ends, core::Timestamp now) {
    Alert a = alert(load_labels, starts, ends, now);
    a.annotations = {{"description", "d"}, {"summary", "s1"}};
    a.generator_url = "http://prom/g1";
    return a;
  };
  struct Step {
    std::string what;
    core::Timestamp now;
    std::vector<Alert> batch;
    bool in_place;
  };
  const core::Timestamp t = kT0;
  std::vector<Step> steps;
  steps.push_back({"a new alert", t, {load_alert(t, t + minutes(4), t)}, false});
  steps.push_back({"a re-send inside group_wait (routed again)", t + seconds(10),
                   {load_alert(t, t + minutes(4) + seconds(10), t + seconds(10))}, true});
  steps.push_back({"a re-send with a later end", t + minutes(1), {load_alert(t, t + minutes(5), t + minutes(1))}, true});
  steps.push_back({"a re-send with an earlier end (the held explicit end rules)", t + minutes(1) + seconds(5),
                   {load_alert(t, t + minutes(3), t + minutes(1) + seconds(5))}, true});
  steps.push_back({"a later start merges into the first", t + minutes(2),
                   {load_alert(t + minutes(1), t + minutes(6), t + minutes(2))}, true});
  {
    Alert a = load_alert(t, t + minutes(7), t + minutes(2));
    a.annotations["summary"] = "s2";
    steps.push_back({"a changed annotation", t + minutes(2), {a}, false});
    a.generator_url = "http://prom/g2";
    steps.push_back({"a changed generatorURL", t + minutes(2), {a}, false});
    Alert dropped = a;
    dropped.annotations.erase("description");
    steps.push_back({"an annotation dropped", t + minutes(2), {dropped}, false});
  }
  auto current = [&](core::Timestamp starts, std::optional<core::Timestamp> ends, core::Timestamp now) {
    Alert a = load_alert(starts, ends, now);
    a.annotations["summary"] = "s2";
    a.generator_url = "http://prom/g2";
    return a;
  };
  steps.push_back({"an earlier start", t + minutes(3), {current(t - minutes(1), t + minutes(8), t + minutes(3))}, false});
  {
    Alert timeout = current(t - minutes(1), t + minutes(9), t + minutes(4));
    timeout.ends_at_from_timeout = true;
    steps.push_back({"an end from resolve_timeout", t + minutes(4), {timeout}, true});
  }
  steps.push_back({"the same alert twice in one batch", t + minutes(5),
                   {current(t - minutes(1), t + minutes(20), t + minutes(5)),
                    current(t - minutes(1), t + minutes(10), t + minutes(5))},
                   false});
  const core::Labels critical{{"alertname", "Down"}, {"service", "web"}, {"severity", "critical"}};
  steps.push_back({"a re-send beside a new alert", t + minutes(6),
                   {current(t - minutes(1), t + minutes(21), t + minutes(6)),
                    alert(critical, t + minutes(6), t + minutes(10), t + minutes(6))},
                   false});
  steps.push_back({"re-sends of an inhibiting and an inhibited alert", t + minutes(7),
                   {current(t - minutes(1), t + minutes(22), t + minutes(7)),
                    alert(critical, t + minutes(6), t + minutes(11), t + minutes(7))},
                   true});
  const core::Labels crash{{"alertname", "Crash"}, {"incident_type", "crash"}};
  steps.push_back({"a plan's alert", t + minutes(8), {alert(crash, t + minutes(8), t + minutes(12), t + minutes(8))}, false});
  steps.push_back({"a plan's alert re-sent", t + minutes(9), {alert(crash, t + minutes(8), t + minutes(13), t + minutes(9))},
                   true});
  steps.push_back({"a resolving re-send", t + minutes(10),
                   {alert(critical, t + minutes(6), t + minutes(9) + seconds(30), t + minutes(10))}, false});
  steps.push_back({"a re-send of a resolved alert", t + minutes(11),
                   {alert(critical, t + minutes(6), t + minutes(15), t + minutes(11))}, false});
  Alert rule_alert = alert({{"alertname", "Rule"}}, t + minutes(11), std::nullopt, t + minutes(11));
  rule_alert.rule = "rule";
  rule_alert.value = 2;
  steps.push_back({"an alert of tocsin's rules", t + minutes(11), {rule_alert}, false});
  steps.push_back({"the same from outside (its value goes)", t + minutes(12),
                   {alert({{"alertname", "Rule"}}, t + minutes(11), t + minutes(20), t + minutes(12))}, false});
  steps.push_back({"then re-sent from outside", t + minutes(13),
                   {alert({{"alertname", "Rule"}}, t + minutes(11), t + minutes(21), t + minutes(13))}, true});

  for (const Step& step : steps) {
    std::vector<ViewOf> owned;
    owned.reserve(step.batch.size());
    std::vector<AlertView> views;
    for (const Alert& a : step.batch) views.push_back(owned.emplace_back(a).view);
    const bool planned = fast->plan_resends(views, step.now);
    EXPECT_EQ(planned, step.in_place) << step.what;
    const auto got = planned ? fast->apply_resends(step.now) : fast->receive(step.batch, step.now);
    const auto want = slow->receive(step.batch, step.now);
    ASSERT_EQ(got.size(), want.size()) << step.what;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].fingerprint, want[i].fingerprint) << step.what;
      EXPECT_EQ(got[i].was_firing, want[i].was_firing) << step.what;
      EXPECT_EQ(got[i].firing, want[i].firing) << step.what;
      EXPECT_EQ(got[i].muted, want[i].muted) << step.what;
      EXPECT_EQ(got[i].plan, want[i].plan) << step.what;
      EXPECT_EQ(got[i].times_only, want[i].times_only) << step.what;
      EXPECT_EQ(got[i].routed, want[i].routed) << step.what;
      EXPECT_EQ(got[i].silenced_by, want[i].silenced_by) << step.what;
      EXPECT_EQ(got[i].inhibited, want[i].inhibited) << step.what;
      if (step.in_place) {
        EXPECT_TRUE(got[i].times_only) << step.what;
      }
      expect_same_record(fast->find(got[i].fingerprint), slow->find(want[i].fingerprint), step.what);
    }
    const FlushOutput fast_flush = fast->flush(step.now).value();
    const FlushOutput slow_flush = slow->flush(step.now).value();
    ASSERT_EQ(fast_flush.notifications.size(), slow_flush.notifications.size()) << step.what;
    for (size_t i = 0; i < fast_flush.notifications.size(); ++i) {
      EXPECT_EQ(fast_flush.notifications[i].payload, slow_flush.notifications[i].payload) << step.what;
    }
    EXPECT_EQ(fast->next_due(), slow->next_due()) << step.what;
    EXPECT_EQ(fast->group_count(), slow->group_count()) << step.what;
    EXPECT_EQ(fast->muted(load_labels, step.now), slow->muted(load_labels, step.now)) << step.what;
  }
}

TEST(PipelineTemplates, ChannelTemplatesRenderTheTitleAndBodyOfAGroup) {
  auto cfg = load(R"(
channels:
  - name: chat
    type: webhook
    url: "http://127.0.0.1:9/chat"
    title: '{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} ({{ .Alerts.Firing | len }} firing)'
    body: '{{ range .Alerts }}{{ .Labels.instance }}={{ .Annotations.summary }};{{ end }} {{ .ExternalURL }}'
routes: {receiver: chat, group_by: [alertname], group_wait: 0s}
)");
  auto pipeline = Pipeline::create(cfg, "http://tocsin.example").value();
  Alert a = alert({{"alertname", "Load"}, {"instance", "a"}}, kT0, std::nullopt, kT0);
  a.annotations["summary"] = "hot";
  Alert b = alert({{"alertname", "Load"}, {"instance", "b"}}, kT0, std::nullopt, kT0);
  b.annotations["summary"] = "warm";
  pipeline->receive({a, b}, kT0);
  auto out = pipeline->flush(kT0).value();
  ASSERT_EQ(out.notifications.size(), 1u);
  const json body = json::parse(out.notifications[0].payload);
  EXPECT_EQ(body["title"], "FIRING: Load (2 firing)");
  EXPECT_EQ(body["body"], "a=hot;b=warm; http://tocsin.example");
  EXPECT_EQ(out.notifications[0].target, "channel:chat");
  EXPECT_EQ(out.notifications[0].address, "http://127.0.0.1:9/chat");
}

TEST(PipelineTemplates, ABrokenTemplateFailsAtStart) {
  auto cfg = load(R"(
channels:
  - {name: chat, type: slack, url: "http://127.0.0.1:9/chat", title: '{{ .Status | nosuchfunc }}'}
)");
  auto pipeline = Pipeline::create(cfg, "http://tocsin.example");
  ASSERT_FALSE(pipeline);
  EXPECT_NE(pipeline.error().message().find("channel chat"), std::string::npos) << pipeline.error().message();
  EXPECT_NE(pipeline.error().message().find("nosuchfunc"), std::string::npos) << pipeline.error().message();
}

TEST(PipelineTimeIntervals, AMutedRouteSendsNothingUntilTheIntervalEnds) {
  auto cfg = load(R"(
channels:
  - {name: hook, type: webhook, url: "http://127.0.0.1:9/h", format: alertmanager}
time_intervals:
  - name: mornings
    time_intervals: [{times: [{start_time: "08:00", end_time: "09:00"}]}]
routes:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: 10m
  routes:
    - {matchers: ['team="db"'], mute_time_intervals: [mornings]}
)");
  auto pipeline = Pipeline::create(cfg, "http://t").value();
  // kT0 is 08:00 UTC: inside the mute interval.
  pipeline->receive({alert({{"alertname", "Slow"}, {"team", "db"}}, kT0, std::nullopt, kT0),
                     alert({{"alertname", "Other"}, {"team", "web"}}, kT0, std::nullopt, kT0)},
                    kT0);
  auto muted = pipeline->flush(kT0).value();
  ASSERT_EQ(muted.notifications.size(), 1u);
  EXPECT_EQ(json::parse(muted.notifications[0].payload)["groupLabels"]["alertname"], "Other");
  for (int i = 1; i < 6; ++i) EXPECT_TRUE(pipeline->flush(kT0 + minutes(10 * i)).value().notifications.empty()) << i;
  auto after = pipeline->flush(kT0 + minutes(60)).value();  // 09:00: the interval is over
  ASSERT_EQ(after.notifications.size(), 1u);
  EXPECT_EQ(json::parse(after.notifications[0].payload)["groupLabels"]["alertname"], "Slow");
}

TEST(ReceivedTimes, AlertmanagerDefaults) {
  const core::Timestamp now = kT0 + hours(1);
  Alert a;
  ASSERT_TRUE(set_received_times(a, std::nullopt, std::nullopt, now, minutes(5)));
  EXPECT_EQ(a.active_at, now);  // no start: now
  EXPECT_EQ(a.ends_at, now + minutes(5));  // no end: resolve_timeout from now
  EXPECT_TRUE(a.ends_at_from_timeout);
  EXPECT_EQ(a.updated_at, now);

  Alert resolved;
  ASSERT_TRUE(set_received_times(resolved, std::nullopt, kT0, now, minutes(5)));
  EXPECT_EQ(resolved.active_at, kT0);  // no start, an end: the end
  EXPECT_EQ(resolved.ends_at, kT0);
  EXPECT_FALSE(resolved.ends_at_from_timeout);

  Alert no_timeout;
  ASSERT_TRUE(set_received_times(no_timeout, kT0, std::nullopt, now, std::nullopt));
  EXPECT_EQ(no_timeout.active_at, kT0);
  EXPECT_FALSE(no_timeout.ends_at.has_value());

  Alert backwards;
  EXPECT_FALSE(set_received_times(backwards, now, kT0, now, minutes(5)));  // ends before it starts
}

}  // namespace
}  // namespace tocsin::alerting
