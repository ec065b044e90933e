// The Alertmanager API v2 and webhook intake over a real engine (SQLite in a temp dir, simulated
// clock): Alertmanager's JSON shapes, its validation, and that rejected requests change nothing.
#include "api/router.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "alerting/pipeline.h"
#include "api/router_fixture.h"

namespace tocsin::api {
namespace {

using nlohmann::json;
using std::chrono::minutes;

constexpr const char* kConfig = R"(
people: [{id: alice}]
channels:
  - {name: team, type: webhook, url: "http://127.0.0.1:9/team", format: alertmanager}
  - {name: db, type: webhook, url: "http://127.0.0.1:9/db", format: alertmanager}
plans:
  - id: crash
    match: ['incident_type="crash"']
    roles: {commander: "person:alice"}
    steps: [{id: triage, title: Triage, owner: commander, due: 15m}]
routes:
  receiver: team
  group_by: [alertname]
  group_wait: 0s
  routes:
    - {matchers: ['service="db"'], receiver: db}
inhibit_rules:
  - {source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: [service]}
)";

class AlertmanagerApiTest : public RouterFixture {
 protected:
  void SetUp() override { start(kConfig); }
  void restart(const std::string& config = kConfig) {
    stop();
    metrics_.~MetricsRegistry();
    new (&metrics_) core::MetricsRegistry();
    start(config);
  }

  json get(std::string target) {
    auto r = call("GET", std::move(target));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
};

TEST_F(AlertmanagerApiTest, PostedAlertsAreListedWithAlertmanagersShape) {
  auto r = call("POST", "/api/v2/alerts",
                R"([{"labels":{"alertname":"Load","instance":"a","service":"web"},"annotations":{"summary":"hot"},
                     "generatorURL":"http://prom/graph"}])");
  ASSERT_EQ(r.status, 200) << r.body;
  const json alerts = get("/api/v2/alerts");
  ASSERT_EQ(alerts.size(), 1u);
  const json& a = alerts[0];
  EXPECT_EQ(a["labels"], json({{"alertname", "Load"}, {"instance", "a"}, {"service", "web"}}));
  EXPECT_EQ(a["annotations"]["summary"], "hot");
  EXPECT_EQ(a["startsAt"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(a["endsAt"], "2026-12-04T10:05:00Z");  // resolve_timeout (5m) from now
  EXPECT_EQ(a["status"]["state"], "active");
  EXPECT_EQ(a["receivers"], json::array({json{{"name", "team"}}}));
  EXPECT_EQ(a["generatorURL"], "http://prom/graph");
  EXPECT_EQ(a["fingerprint"].get<std::string>().size(), 16u);
  // Past its end time without a re-send, it is resolved and no longer listed.
  clock_.advance(minutes(6));
  EXPECT_TRUE(get("/api/v2/alerts").empty());
}

// Prometheus-shaped bodies are read by the scanner (alert_list_scanner.h), anything else by the
// general reader: the same alerts either way. An unknown member sends a body to the general
// reader (which ignores it).
TEST_F(AlertmanagerApiTest, TheScannerAndTheGeneralReaderReadTheSameAlerts) {
  const std::string fields =
      R"("annotations":{"summary":"hot","description":"ünïcode"},"startsAt":"2026-12-04T09:58:00.5Z",)"
      R"("endsAt":"2026-12-04T10:30:00Z","generatorURL":"http://prom/graph?g0.expr=x%7B%7D")";
  ASSERT_EQ(call("POST", "/api/v2/alerts",
                 R"([{"labels":{"alertname":"Scanned","instance":"a","empty":""},)" + fields + "}]")
                .status,
            200);
  ASSERT_EQ(call("POST", "/api/v2/alerts",
                 R"([{"labels":{"alertname":"General","instance":"a","empty":""},"x":1,)" + fields + "}]")
                .status,
            200);
  json alerts = get("/api/v2/alerts");
  ASSERT_EQ(alerts.size(), 2u);
  for (auto& a : alerts) {
    a.erase("fingerprint");
    a["labels"].erase("alertname");
  }
  EXPECT_EQ(alerts[0], alerts[1]);
  EXPECT_EQ(alerts[0]["startsAt"], "2026-12-04T09:58:00.5Z");
  EXPECT_EQ(alerts[0]["annotations"]["description"], "ünïcode");
}

// Re-sends that change only an alert's times are taken in place (no alert built: Pipeline::
// plan_resends); everything else is received as before. Each step is posted twice: as Prometheus
// sends it, and with an unknown member that sends it through the general reader and the full
// receive. Both alerts must then look the same, before and after a restart (what the store holds).
TEST_F(AlertmanagerApiTest, ReSendsTakenInPlaceLeaveWhatAFullReceiveLeaves) {
  auto body = [](const std::string& alerts, std::string_view name, bool general) {
    std::string out = alerts;
    for (size_t at; (at = out.find("$N")) != std::string::npos;) out.replace(at, 2, name);
    for (size_t at; (at = out.find("$X")) != std::string::npos;) out.replace(at, 2, general ? R"(,"x":1)" : "");
    return out;
  };
  auto one = [](std::string_view summary, std::string_view starts, std::string_view ends, std::string_view url) {
    return fmt::format(
        R"({{"labels":{{"alertname":"$N","instance":"a","severity":"warning"}},)"
        R"("annotations":{{"description":"d","summary":"{}"}},"startsAt":"{}","endsAt":"{}","generatorURL":"{}"$X}})",
        summary, starts, ends, url);
  };
  auto compare = [&](const std::string& what) {
    json alerts = get("/api/v2/alerts");
    std::map<std::string, json> by_name;
    for (auto& a : alerts) {
      const std::string name = a["labels"]["alertname"];
      a.erase("fingerprint");
      a["labels"].erase("alertname");
      by_name[name] = a;
    }
    EXPECT_EQ(by_name.count("Fast"), by_name.count("General")) << what;
    EXPECT_EQ(by_name["Fast"], by_name["General"]) << what;
    return by_name["Fast"];
  };
  struct Step {
    std::string what;
    std::string alerts;  // a JSON array with $N for the alertname and $X for the extra member
    int status;
  };
  const std::string t = "2026-12-04T10:";
  const std::vector<Step> steps = {
      {"new", "[" + one("s1", t + "00:00Z", t + "04:00Z", "http://prom/g1") + "]", 200},
      {"re-sent with a later end", "[" + one("s1", t + "00:00Z", t + "05:00Z", "http://prom/g1") + "]", 200},
      {"re-sent with an earlier end", "[" + one("s1", t + "00:00Z", t + "03:00Z", "http://prom/g1") + "]", 200},
      {"a changed annotation", "[" + one("s2", t + "00:00Z", t + "06:00Z", "http://prom/g1") + "]", 200},
      {"re-sent", "[" + one("s2", t + "00:00Z", t + "07:00Z", "http://prom/g1") + "]", 200},
      {"a changed generatorURL", "[" + one("s2", t + "00:00Z", t + "08:00Z", "http://prom/g2") + "]", 200},
      {"twice in one batch",
       "[" + one("s3", t + "00:00Z", t + "09:00Z", "http://prom/g2") + "," +
           one("s2", t + "00:00Z", t + "10:00Z", "http://prom/g2") + "]",
       200},
      {"a bad alert beside a re-send",
       "[" + one("s2", t + "00:00Z", t + "30:00Z", "http://prom/g2") + R"(,{"labels":{"0bad":"x"}}])", 400},
      {"ends before it starts", "[" + one("s2", t + "00:00Z", "2026-12-04T09:00:00Z", "http://prom/g2") + "]", 400},
      {"re-sent", "[" + one("s2", t + "00:00Z", t + "11:00Z", "http://prom/g2") + "]", 200},
      {"resolved", "[" + one("s2", t + "00:00Z", t + "00:30Z", "http://prom/g2") + "]", 200},
      {"fires again", "[" + one("s2", t + "01:30Z", t + "12:00Z", "http://prom/g2") + "]", 200},
  };
  for (const Step& step : steps) {
    clock_.advance(std::chrono::seconds(20));
    const auto fast = call("POST", "/api/v2/alerts", body(step.alerts, "Fast", false));
    const auto general = call("POST", "/api/v2/alerts", body(step.alerts, "General", true));
    EXPECT_EQ(fast.status, step.status) << step.what << ": " << fast.body;
    EXPECT_EQ(general.status, step.status) << step.what << ": " << general.body;
    EXPECT_EQ(fast.body, general.body) << step.what;
    const json a = compare(step.what);
    if (step.what == "re-sent with a later end") {
      EXPECT_EQ(a["endsAt"], "2026-12-04T10:05:00Z");
      EXPECT_EQ(a["updatedAt"], "2026-12-04T10:00:40Z");
    }
    if (step.what == "a changed annotation") {
      EXPECT_EQ(a["annotations"]["summary"], "s2");
    }
    if (step.what == "a changed generatorURL") {
      EXPECT_EQ(a["generatorURL"], "http://prom/g2");
    }
    if (step.what == "twice in one batch") {
      EXPECT_EQ(a["annotations"]["summary"], "s2");  // the last one
    }
    if (step.what == "a bad alert beside a re-send") {
      EXPECT_EQ(a["endsAt"], "2026-12-04T10:10:00Z");  // unchanged
    }
    if (step.what == "resolved") {
      EXPECT_TRUE(a.is_null()) << "a resolved alert is not listed";
    }
    if (step.what == "fires again") {
      EXPECT_EQ(a["startsAt"], "2026-12-04T10:01:30Z");
    }
  }
  restart();
  compare("after a restart");
  clock_.advance(std::chrono::seconds(20));
  for (std::string_view name : {"Fast", "General"}) {
    const std::string resent = "[" + one("s2", t + "01:30Z", t + "13:00Z", "http://prom/g2") + "]";
    ASSERT_EQ(call("POST", "/api/v2/alerts", body(resent, name, name == "General")).status, 200);
  }
  EXPECT_EQ(compare("re-sent after a restart")["endsAt"], "2026-12-04T10:13:00Z");
  restart();
  EXPECT_EQ(compare("after a second restart")["endsAt"], "2026-12-04T10:13:00Z");
}

// A re-send over a limit that changed since the alert was taken is refused as any request.
TEST_F(AlertmanagerApiTest, AReSendOverALimitIsRefused) {
  const std::string alert = R"([{"labels":{"alertname":"Long","instance":")" + std::string(100, 'x') +
                            R"("},"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T10:05:00Z"}])";
  ASSERT_EQ(call("POST", "/api/v2/alerts", alert).status, 200);
  restart(std::string(kConfig) + "limits: {max_label_value_bytes: 50}\n");
  std::string resent = alert;
  resent.replace(resent.find("10:05:00Z"), 9, "10:09:00Z");
  const auto r = call("POST", "/api/v2/alerts", resent);
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(json::parse(r.body).get<std::string>().starts_with("[0].labels.instance: ")) << r.body;
  EXPECT_EQ(get("/api/v2/alerts")[0]["endsAt"], "2026-12-04T10:05:00Z");
}

TEST_F(AlertmanagerApiTest, FiltersAndStateFlagsSelectAlerts) {
  call("POST", "/api/v2/alerts",
       R"([{"labels":{"alertname":"Down","severity":"critical","service":"db"}},
           {"labels":{"alertname":"Slow","severity":"warning","service":"db"}},
           {"labels":{"alertname":"Slow","severity":"warning","service":"web"}}])");
  EXPECT_EQ(get("/api/v2/alerts").size(), 3u);
  EXPECT_EQ(get("/api/v2/alerts?filter=alertname%3D%22Slow%22").size(), 2u);
  EXPECT_EQ(get("/api/v2/alerts?filter=alertname%3D%22Slow%22&filter=service%3D%22web%22").size(), 1u);
  EXPECT_EQ(get("/api/v2/alerts?inhibited=false").size(), 2u);
  const json inhibited = get("/api/v2/alerts?active=false");
  ASSERT_EQ(inhibited.size(), 1u);
  EXPECT_EQ(inhibited[0]["status"]["state"], "suppressed");
  EXPECT_EQ(inhibited[0]["status"]["inhibitedBy"].size(), 1u);
  EXPECT_EQ(get("/api/v2/alerts?receiver=db").size(), 2u);
  EXPECT_EQ(call("GET", "/api/v2/alerts?filter=%7B").status, 400);
  EXPECT_EQ(call("GET", "/api/v2/alerts?active=maybe").status, 400);
}

TEST_F(AlertmanagerApiTest, ABadAlertRefusesTheWholeBatch) {
  struct Case {
    const char* body;
    const char* field;
  };
  for (const Case& c : {Case{R"([{"labels":{}}])", "[0].labels"},
                        Case{R"([{"labels":{"a":"b"}},{"labels":{"0bad":"x"}}])", "[1].labels.0bad"},
                        Case{R"([{"labels":{"a":"b"},"startsAt":"yesterday"}])", "[0].startsAt"},
                        Case{R"([{"labels":{"a":"b"},"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T09:00:00Z"}])",
                             "[0].endsAt"},
                        Case{R"([{"labels":{"a":1}}])", "[0].labels.a"}}) {
    auto r = call("POST", "/api/v2/alerts", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    // Alertmanager's errors are JSON strings; the field path leads the message.
    EXPECT_TRUE(json::parse(r.body).get<std::string>().starts_with(std::string(c.field) + ": ")) << r.body;
  }
  EXPECT_EQ(call("POST", "/api/v2/alerts", "{").status, 400);
  EXPECT_EQ(call("POST", "/api/v2/alerts", "{}").status, 400);
  EXPECT_TRUE(get("/api/v2/alerts").empty());
}

TEST_F(AlertmanagerApiTest, SilencesAreCreatedQueriedAndExpiredAndSurviveARestart) {
  auto r = call("POST", "/api/v2/silences",
                R"({"matchers":[{"name":"service","value":"db","isRegex":false,"isEqual":true}],
                    "startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z",
                    "createdBy":"alice","comment":"maintenance"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json::parse(r.body)["silenceID"];
  call("POST", "/api/v2/alerts", R"([{"labels":{"alertname":"Slow","service":"db"}}])");
  json alerts = get("/api/v2/alerts");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["status"]["silencedBy"], json::array({id}));
  EXPECT_EQ(get("/api/v2/alerts?silenced=false").size(), 0u);

  restart();
  const json one = get("/api/v2/silence/" + id);
  EXPECT_EQ(one["status"]["state"], "active");
  EXPECT_EQ(one["createdBy"], "alice");
  EXPECT_EQ(one["matchers"][0], json({{"name", "service"}, {"value", "db"}, {"isRegex", false}, {"isEqual", true}}));
  EXPECT_EQ(get("/api/v2/silences?filter=service%3D%22db%22").size(), 1u);
  EXPECT_EQ(get("/api/v2/silences?filter=service%3D%22web%22").size(), 0u);

  EXPECT_EQ(call("DELETE", "/api/v2/silence/" + id).status, 200);
  EXPECT_EQ(get("/api/v2/silence/" + id)["status"]["state"], "expired");
  EXPECT_EQ(get("/api/v2/alerts")[0]["status"]["state"], "active");
  EXPECT_EQ(call("DELETE", "/api/v2/silence/" + id).status, 409);
  EXPECT_EQ(call("DELETE", "/api/v2/silence/nope").status, 404);
  EXPECT_EQ(call("GET", "/api/v2/silence/nope").status, 404);
}

TEST_F(AlertmanagerApiTest, BadSilencesAreRefused) {
  for (const char* body : {
           R"({"matchers":[],"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z"})",
           R"({"matchers":[{"name":"a","value":".*","isRegex":true}],"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z"})",
           R"({"matchers":[{"name":"a","value":"b"}],"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T09:00:00Z"})",
           R"({"matchers":[{"name":"a","value":"b"}],"startsAt":"2026-12-04T08:00:00Z","endsAt":"2026-12-04T09:00:00Z"})",
           R"({"matchers":[{"name":"a","value":"(","isRegex":true}],"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z"})",
           R"({"matchers":[{"name":"a","value":"b"}],"endsAt":"2026-12-04T12:00:00Z"})",
           // Flags that are not booleans threw from json::value (a 500; found by fuzzing).
           R"({"matchers":[{"name":"a","value":"b","isEqual":"x"}],"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z"})",
           R"({"matchers":[{"name":"a","value":"b","isRegex":1}],"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z"})",
       }) {
    auto r = call("POST", "/api/v2/silences", body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
  EXPECT_EQ(call("POST", "/api/v2/silences",
                 R"({"matchers":[{"name":"a","value":"b","isEqual":"x"}],"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z"})")
                .body,
            R"("matchers[0].isEqual: expected a boolean")");
  EXPECT_TRUE(get("/api/v2/silences").empty());
}

TEST_F(AlertmanagerApiTest, PlanAlertsOpenIncidentsUnlessSilenced) {
  call("POST", "/api/v2/silences",
       R"({"matchers":[{"name":"host","value":"h2"}],"startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z"})");
  ASSERT_EQ(call("POST", "/api/v2/alerts", R"([{"labels":{"alertname":"Crash","incident_type":"crash","host":"h2"}}])").status,
            200);
  EXPECT_TRUE(get("/api/v1/incidents")["incidents"].empty());
  ASSERT_EQ(call("POST", "/api/v2/alerts", R"([{"labels":{"alertname":"Crash","incident_type":"crash","host":"h1"}}])").status,
            200);
  const json incidents = get("/api/v1/incidents")["incidents"];
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0]["plan"], "crash");
}

// The silenced share's record (docs/kpi.md): each alert that starts firing writes one
// store::AlertFiring in the intake's transaction, saying whether a silence or an inhibition muted
// it at that moment; a re-send writes none; a firing after a resolve writes another.
TEST_F(AlertmanagerApiTest, FiringsAreRecordedOnceWithWhatMutedThem) {
  auto r = call("POST", "/api/v2/silences",
                R"({"matchers":[{"name":"service","value":"db","isRegex":false,"isEqual":true}],
                    "startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T12:00:00Z","createdBy":"alice"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string silence = json::parse(r.body)["silenceID"];
  const std::string batch = R"([
    {"labels":{"alertname":"Slow","service":"db"},"startsAt":"2026-12-04T10:00:00Z"},
    {"labels":{"alertname":"Load","service":"web","severity":"warning"},"startsAt":"2026-12-04T10:00:00Z"},
    {"labels":{"alertname":"Disk","service":"api","severity":"warning"},"startsAt":"2026-12-04T10:00:00Z"},
    {"labels":{"alertname":"Down","service":"api","severity":"critical"},"startsAt":"2026-12-04T10:00:00Z"},
    {"labels":{"alertname":"Crash","incident_type":"crash","drill":"4"},"startsAt":"2026-12-04T10:00:00Z"}])";
  ASSERT_EQ(call("POST", "/api/v2/alerts", batch).status, 200);
  auto firings = [&] {
    std::vector<store::AlertFiring> out;
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
      out = TOCSIN_TRY(tx.list_alert_firings(clock_.now() - std::chrono::hours(1), clock_.now() + minutes(1)));
      return {};
    }));
    std::map<std::string, std::vector<store::AlertFiring>> by_name;
    for (auto& f : out) by_name[f.alertname].push_back(std::move(f));
    return by_name;
  };
  auto got = firings();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got["Slow"][0].silenced_by, std::vector<std::string>{silence});
  EXPECT_FALSE(got["Slow"][0].inhibited);
  EXPECT_EQ(got["Slow"][0].service, "db");
  EXPECT_TRUE(got["Load"][0].silenced_by.empty());
  EXPECT_FALSE(got["Load"][0].inhibited);
  EXPECT_EQ(got["Load"][0].severity, "warning");
  EXPECT_TRUE(got["Disk"][0].inhibited);  // by Down, in the same batch
  EXPECT_TRUE(got["Disk"][0].silenced_by.empty());
  EXPECT_FALSE(got["Down"][0].inhibited);
  EXPECT_EQ(got["Crash"][0].drill, "4");
  EXPECT_EQ(got["Crash"][0].plan, "crash");
  EXPECT_EQ(got["Load"][0].at, clock_.now());

  // Re-sent a minute later, as Prometheus does: nothing new started firing.
  clock_.advance(minutes(1));
  ASSERT_EQ(call("POST", "/api/v2/alerts", batch).status, 200);
  got = firings();
  for (const auto& [name, list] : got) EXPECT_EQ(list.size(), 1u) << name;

  // Load resolves, and fires again later: a second firing, recorded at its own time. The silence
  // expired meanwhile, so Slow's firing stays counted as silenced (what held when it started).
  clock_.advance(minutes(1));
  ASSERT_EQ(call("POST", "/api/v2/alerts",
                 R"([{"labels":{"alertname":"Load","service":"web","severity":"warning"},
                      "startsAt":"2026-12-04T10:00:00Z","endsAt":"2026-12-04T10:02:00Z"}])").status,
            200);
  EXPECT_EQ(call("DELETE", "/api/v2/silence/" + silence).status, 200);
  clock_.advance(minutes(1));
  ASSERT_EQ(call("POST", "/api/v2/alerts",
                 R"([{"labels":{"alertname":"Load","service":"web","severity":"warning"},
                      "startsAt":"2026-12-04T10:03:00Z"}])").status,
            200);
  got = firings();
  ASSERT_EQ(got["Load"].size(), 2u);
  EXPECT_EQ(got["Load"][1].at, clock_.now());
  EXPECT_TRUE(got["Load"][1].silenced_by.empty());
  EXPECT_EQ(got["Slow"].size(), 1u);
  EXPECT_FALSE(got["Slow"][0].silenced_by.empty());

  // After a restart the firing alerts come back from the store: their re-sends are not firings.
  restart();
  ASSERT_EQ(call("POST", "/api/v2/alerts", batch).status, 200);
  got = firings();
  EXPECT_EQ(got["Slow"].size(), 1u);
  EXPECT_EQ(got["Down"].size(), 1u);
  EXPECT_EQ(got["Load"].size(), 2u);

  // The KPI: 5 real firings (the drill's left out), 1 silenced, 1 inhibited.
  clock_.advance(minutes(1));
  const json k = get("/api/v1/kpi?since=1h")["overall"];
  EXPECT_EQ(k["alert_firings"], 5);
  EXPECT_EQ(k["silenced_share"], 0.2);
  EXPECT_EQ(k["inhibited_share"], 0.2);

  // Past the retention, the engine's clean-up deletes them.
  const core::Timestamp fired = clock_.now();
  clock_.advance(alerting::Pipeline::kFiringRetention + std::chrono::hours(1));
  ASSERT_TRUE(engine_->run_due());
  EXPECT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
    EXPECT_TRUE(TOCSIN_TRY(tx.list_alert_firings(fired - std::chrono::hours(1), clock_.now())).empty());
    return {};
  }));
}

TEST_F(AlertmanagerApiTest, WebhookIntakeTakesVersion4Payloads) {
  auto r = call("POST", "/api/v1/alertmanager/webhook", R"({
    "version":"4","status":"firing","receiver":"tocsin","groupKey":"{}:{alertname=\"Load\"}",
    "alerts":[{"status":"firing","labels":{"alertname":"Load","instance":"a"},"annotations":{},
               "startsAt":"2026-12-04T09:58:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"x"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  clock_.advance(minutes(30));  // a forwarded firing alert stays firing until its resolve arrives
  json alerts = get("/api/v2/alerts");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["startsAt"], "2026-12-04T09:58:00Z");
  r = call("POST", "/api/v1/alertmanager/webhook", R"({
    "version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"Load","instance":"a"},
    "startsAt":"2026-12-04T09:58:00Z","endsAt":"2026-12-04T10:29:00Z"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(get("/api/v2/alerts").empty());
  EXPECT_EQ(call("POST", "/api/v1/alertmanager/webhook", R"({"version":"3","alerts":[]})").status, 400);
  // An alert's status that is not a string threw from json::value (a 500; found by fuzzing); it
  // is simply not "resolved".
  r = call("POST", "/api/v1/alertmanager/webhook",
           R"({"version":"4","alerts":[{"status":1,"labels":{"alertname":"Odd"},"startsAt":"2026-12-04T10:29:00Z"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(AlertmanagerApiTest, StatusReceiversAndGroups) {
  const json status = get("/api/v2/status");
  EXPECT_EQ(status["cluster"]["status"], "disabled");
  EXPECT_TRUE(status["versionInfo"]["version"].is_string());
  EXPECT_EQ(get("/api/v2/receivers"), json::array({json{{"name", "db"}}, json{{"name", "team"}}}));
  call("POST", "/api/v2/alerts",
       R"([{"labels":{"alertname":"Slow","service":"db"}},{"labels":{"alertname":"Slow","service":"web"}}])");
  const json groups = get("/api/v2/alerts/groups");
  ASSERT_EQ(groups.size(), 2u);
  std::set<std::string> receivers;
  for (const auto& g : groups) {
    receivers.insert(g["receiver"]["name"]);
    EXPECT_EQ(g["labels"], json({{"alertname", "Slow"}}));
    EXPECT_EQ(g["alerts"].size(), 1u);
  }
  EXPECT_EQ(receivers, (std::set<std::string>{"db", "team"}));
}

}  // namespace
}  // namespace tocsin::api
