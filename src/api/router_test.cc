// The API over a real engine (SQLite in a temp dir, simulated clock): request → JSON shape,
// error → status and field, and that rejected requests change nothing.
#include "api/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/router_fixture.h"
#include "ingest/remote_write_encode.h"
#include "notify/ack_link.h"

namespace tocsin::api {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
people: [{id: alice}, {id: bob, name: Bob Li}, {id: carol, name: Carol Diaz}]
schedules:
  - id: ops-primary
    timezone: Asia/Shanghai
    layers:
      - {rotation: weekly, handoff: "Mon 09:00", start: 2026-01-05, members: [alice, bob]}
    overrides:
      - {person: carol, from: "2026-12-24T00:00", to: "2026-12-26T00:00"}
  - id: solo
    timezone: Europe/Berlin
    layers:
      - {rotation: daily, handoff: "09:00", start: 2026-12-01, members: [alice]}
rules:
  - {name: HighLoad, select: system_load, detector: {kind: threshold, above: 0.9}, labels: {incident_type: crash}}
plans:
  - id: crash
    match: ['incident_type="crash"']
    roles: {commander: "person:alice"}
    steps:
      - {id: triage, title: Triage, owner: commander, due: 15m}
      - {id: failover, title: Fail over, action: {type: webhook, url: "http://127.0.0.1:1/failover", approve: true}}
      - {id: restore, title: Restore, action: {type: command, command: [/bin/true], approve: true}}
    communications:
      status: "Investigating {{ .host }} ({{ .Incident.Severity }}): {{ .Incident.URL }}"
      broken: "{{ len 3 }}"
    drill: {every: 30d, scenario: scenarios/crash.yaml}
risks:
  - {id: cert, title: Certificate expires, likelihood: 0.5, impact: 2, owner: bob, review: 2027-06-01}
  - id: db-crash
    title: Database crashes
    likelihood: 0.3
    impact: 5
    owner: alice
    plan: crash
    mitigation: Replica and failover drill
    review: 2026-12-01
  - {id: breach, title: Data leaks, likelihood_from: {model: risk.model, class: breach}, impact: 4, owner: carol,
     review: 2027-01-01}
)";

class RouterTest : public RouterFixture {
 protected:
  void SetUp() override {
    dir_.write("risk.model", "{}");  // a risk's likelihood_from names it; the loader checks it exists
    start(kConfig, {.clock_control = nullptr, .ack_key = std::string(kAckKey)});
  }
  std::string ack_path(int64_t incident, std::string_view actor, std::string_view key = kAckKey) {
    return "/api/v1/ack/" + notify::make_ack_token(incident, actor, clock_.now() + std::chrono::hours(24), key);
  }


  static constexpr std::string_view kAckKey = "router-test-ack-key-0123456789ab";
};

// A replica forwarding samples to the owner of their series (docs/high-availability.md, "Detection
// across replicas") sends remote_write with X-Tocsin-Forwarded-From: ingested here, answered 200
// with the counts the sender merges; without the header, remote_write answers 204 as before.
TEST_F(RouterTest, AForwardedRemoteWriteIsIngestedHereAndAnsweredWithItsCounts) {
  const std::vector<ingest::Series> series{
      {core::Labels{{"__name__", "system_load"}, {"host", "h1"}}, {{0.95, clock_.now()}}},
      {core::Labels{{"__name__", "requests"}, {"host", "h1"}}, {{1, clock_.now()}, {2, clock_.now()}}}};
  const std::string body = ingest::encode_remote_write(series);
  auto r = call("POST", "/api/v1/write", body, {}, {{"x-tocsin-forwarded-from", "replica-b"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json counts = json::parse(r.body);
  EXPECT_EQ(counts["accepted"], 2);
  EXPECT_EQ(counts["dropped"], 1);  // the second point of `requests` has the first's timestamp
  EXPECT_GE(counts["alert_transitions"], 1);
  EXPECT_EQ(counts["incidents_opened"], json::array({"1"}));
  // The same body again, as a client sends it: 204, no body (its samples are duplicates now).
  r = call("POST", "/api/v1/write", body);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.body, "");
}

TEST_F(RouterTest, PushOpensAnIncidentWithTheSpecShape) {
  auto r = call("POST", "/api/v1/push", R"([{"name":"system_load","labels":{"host":"h1"},"value":0.95}])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["incidents_opened"], json::array({"1"}));
  const json list = call_json("GET", "/api/v1/incidents");
  ASSERT_EQ(list["incidents"].size(), 1u);
  json inc = call_json("GET", "/api/v1/incidents/1");
  // The detail adds the plan's communications, rendered for this incident.
  EXPECT_TRUE(inc.contains("communications"));
  inc.erase("communications");
  EXPECT_EQ(inc, list["incidents"][0]);
  EXPECT_EQ(inc["id"], "1");
  EXPECT_EQ(inc["status"], "triggered");
  EXPECT_EQ(inc["opened_at"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(inc["acknowledged_at"], nullptr);
  EXPECT_EQ(inc["alerts"][0]["labels"]["host"], "h1");
  EXPECT_EQ(inc["alerts"][0]["status"], "firing");
  EXPECT_EQ(inc["tasks"][0]["assignee"], "alice");
  EXPECT_EQ(inc["tasks"][0]["due_at"], "2026-12-04T10:15:00Z");
  EXPECT_EQ(inc["timeline"][0]["kind"], "opened");

  clock_.advance(std::chrono::minutes(2));
  const json acked = call_json("POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})");
  EXPECT_EQ(acked["status"], "acknowledged");
  EXPECT_EQ(acked["acknowledged_at"], "2026-12-04T10:02:00Z");
  EXPECT_EQ(acked["timeline"].back()["actor"], "alice");
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/ack").status, 409);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {{"status", "acknowledged"}}).status, 200);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/incidents", "", {{"status", "resolved"}}).body)["incidents"].size(), 0u);
}

// An acknowledge link: GET shows the incident and a button and changes nothing; POST acknowledges
// as the link's actor; a second POST says it is done already; bad or expired links are 403.
TEST_F(RouterTest, AckLinks) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","labels":{"host":"<h1>"},"value":0.95}])").status,
            200);
  const std::string link = ack_path(1, "alice");

  auto page = call("GET", link);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("Incident #1: "), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("<form method=\"post\">"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("Acknowledge as alice"), std::string::npos);
  EXPECT_EQ(page.body.find("<h1>"), page.body.find("<h1>Incident #1")) << "the title is escaped, not markup";
  EXPECT_EQ(call_json("GET", "/api/v1/incidents/1")["status"], "triggered") << "GET acknowledges nothing";

  clock_.advance(std::chrono::minutes(3));
  auto acked = call("POST", link, "", {}, {{"accept", "application/json"}});
  ASSERT_EQ(acked.status, 200) << acked.body;
  const json body = json::parse(acked.body);
  EXPECT_EQ(body["acknowledged"], true);
  EXPECT_EQ(body["message"], "Acknowledged incident #1 as alice.");
  EXPECT_EQ(body["incident"]["status"], "acknowledged");
  EXPECT_EQ(body["incident"]["timeline"].back()["kind"], "acknowledged");
  EXPECT_EQ(body["incident"]["timeline"].back()["actor"], "alice");

  auto again = call("POST", link);  // a form post: HTML
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("was already acknowledged by alice at 2026-12-04T10:03:00Z"), std::string::npos)
      << again.body;

  // Tampered, foreign, expired, unknown incident.
  std::string tampered = link;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  auto bad = call("POST", tampered, "", {}, {{"accept", "application/json"}});
  EXPECT_EQ(bad.status, 403);
  EXPECT_NE(json::parse(bad.body)["error"].get<std::string>().find("signature does not match"), std::string::npos);
  EXPECT_EQ(call("GET", ack_path(1, "alice", "another-key")).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/ack/garbage").status, 403);
  const std::string old = ack_path(1, "alice");
  clock_.advance(std::chrono::hours(25));
  auto expired = call("GET", old);
  EXPECT_EQ(expired.status, 403);
  EXPECT_NE(expired.body.find("expired"), std::string::npos) << expired.body;
  EXPECT_EQ(call("GET", ack_path(99, "alice")).status, 404);
  EXPECT_EQ(call("DELETE", ack_path(1, "alice")).status, 405);
}

TEST_F(RouterTest, BadInputIsA4xxNamingTheFieldAndChangesNothing) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","value":0.95}])").status, 200);
  const std::string before = call("GET", "/api/v1/incidents").body;
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    int status;
    const char* field;
  };
  const Case cases[] = {
      {"POST", "/api/v1/push", "{", 400, nullptr},
      {"POST", "/api/v1/push", R"([{"name":"system_load","value":"high"}])", 400, "[0].value"},
      {"POST", "/api/v1/incidents/1/notes", R"({"actor":"bob"})", 400, "text"},
      {"POST", "/api/v1/incidents/1/notes", R"({"text":5})", 400, "text"},
      {"POST", "/api/v1/incidents/1/ack", R"({"actor":7})", 400, "actor"},
      {"POST", "/api/v1/incidents/1/ack", R"({"who":"bob"})", 400, "who"},
      {"POST", "/api/v1/incidents/1/resolve", "[1]", 400, nullptr},
      {"POST", "/api/v1/incidents/abc/ack", "", 400, "id"},
      {"POST", "/api/v1/incidents/99/ack", "", 404, nullptr},
      {"GET", "/api/v1/incidents/99", "", 404, nullptr},
      {"GET", "/api/v1/nope", "", 404, nullptr},
      {"DELETE", "/api/v1/incidents/1", "", 405, nullptr},
      {"GET", "/api/v1/push", "", 405, nullptr},
      {"POST", "/api/v1/incidents/1/severity", R"({"severity":"urgent"})", 400, "severity"},
      {"POST", "/api/v1/incidents/1/severity", R"({})", 400, "severity"},
      {"POST", "/api/v1/incidents/1/related", R"({"incident":"x"})", 400, "incident"},
      {"POST", "/api/v1/incidents/1/related", R"({"incident":"1"})", 400, "incident"},
      {"POST", "/api/v1/incidents/1/related", R"({"incident":"42"})", 404, "incident"},
      {"POST", "/api/v1/incidents/1/events", R"({"kind":"Breach Confirmed"})", 400, "kind"},
      {"POST", "/api/v1/incidents/1/events", R"({"kind":"resolved"})", 400, "kind"},
      {"POST", "/api/v1/incidents/1/tasks/nope/done", "", 404, "step"},
      {"POST", "/api/v1/incidents/1/tasks/triage/finish", "", 404, nullptr},
      {"POST", "/api/v1/incidents/1/close", "", 409, nullptr},
      {"GET", "/api/v1/incidents/1/tasks/triage/done", "", 405, nullptr},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body << " -> " << r.body;
    const json body = json::parse(r.body);
    EXPECT_TRUE(body.contains("error")) << r.body;
    if (c.field) {
      EXPECT_EQ(body.value("field", ""), c.field) << r.body;
    }
  }
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {{"status", "sleeping"}}).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {{"since", "yesterday"}}).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {{"colour", "red"}}).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/incidents").body, before);
}

// Issue 5: approval of an action. (The engine here has no executor, so an approved action stays
// pending; running it is covered by the action and engine tests.)
TEST_F(RouterTest, ApproveAnActionThenConflictsAndUnknowns) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","value":0.95}])").status, 200);
  const json inc = call_json("GET", "/api/v1/incidents/1");
  EXPECT_EQ(inc["tasks"][0]["action"], nullptr);
  EXPECT_EQ(inc["tasks"][1]["action"], json({{"type", "webhook"},
                                             {"state", "awaiting_approval"},
                                             {"attempts", 0},
                                             {"approved_by", nullptr},
                                             {"approved_at", nullptr},
                                             {"last_result", ""},
                                             {"last_output", ""},
                                             {"next_attempt_at", nullptr},
                                             {"finished_at", nullptr}}));
  EXPECT_EQ(inc["timeline"].back()["kind"], "action_awaiting_approval");

  clock_.advance(std::chrono::minutes(1));
  auto r = call("POST", "/api/v1/incidents/1/actions/failover/approve", R"({"actor":"alice"})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json approved = json::parse(r.body);
  EXPECT_EQ(approved["tasks"][1]["action"]["state"], "pending");
  EXPECT_EQ(approved["tasks"][1]["action"]["approved_by"], "alice");
  EXPECT_EQ(approved["tasks"][1]["action"]["approved_at"], "2026-12-04T10:01:00Z");
  EXPECT_EQ(approved["tasks"][1]["action"]["next_attempt_at"], "2026-12-04T10:01:00Z");
  EXPECT_EQ(approved["timeline"].back()["kind"], "action_approved");
  EXPECT_EQ(approved["timeline"].back()["actor"], "alice");
  json detail = call_json("GET", "/api/v1/incidents/1");
  detail.erase("communications");  // only the detail renders them
  EXPECT_EQ(approved, detail);

  const std::string before = call("GET", "/api/v1/incidents/1").body;
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    int status;
    const char* field;
  };
  const Case cases[] = {
      {"POST", "/api/v1/incidents/1/actions/failover/approve", R"({"actor":"bob"})", 409, nullptr},  // already approved
      {"POST", "/api/v1/incidents/1/actions/nope/approve", "", 404, "step"},
      {"POST", "/api/v1/incidents/1/actions/triage/approve", "", 404, "step"},  // a step without an action
      {"POST", "/api/v1/incidents/99/actions/failover/approve", "", 404, nullptr},
      {"POST", "/api/v1/incidents/1/actions/restore/approve", R"({"actor":7})", 400, "actor"},
      {"POST", "/api/v1/incidents/1/actions/restore/approve", R"({"who":"bob"})", 400, "who"},
      {"POST", "/api/v1/incidents/1/actions/restore/approve", "{", 400, nullptr},
      {"GET", "/api/v1/incidents/1/actions/restore/approve", "", 405, nullptr},
      {"POST", "/api/v1/incidents/1/actions/restore", "", 404, nullptr},
      {"POST", "/api/v1/incidents/1/actions//approve", "", 404, nullptr},
  };
  for (const auto& c : cases) {
    auto got = call(c.method, c.path, c.body);
    EXPECT_EQ(got.status, c.status) << c.method << " " << c.path << " " << c.body << " -> " << got.body;
    const json body = json::parse(got.body);
    EXPECT_TRUE(body.contains("error")) << got.body;
    if (c.field) {
      EXPECT_EQ(body.value("field", ""), c.field) << got.body;
    }
  }
  EXPECT_EQ(call("GET", "/api/v1/incidents/1").body, before);

  // Once the incident is resolved, its actions can no longer be approved.
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/resolve", R"({"actor":"alice"})").status, 200);
  r = call("POST", "/api/v1/incidents/1/actions/restore/approve", R"({"actor":"alice"})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"], "incident 1 is resolved: its actions can no longer be approved");
}

TEST_F(RouterTest, RulesWithTheirHealth) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","value":0.5},{"name":"other","value":9}])").status,
            200);
  const json rules = call_json("GET", "/api/v1/rules")["rules"];
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["name"], "HighLoad");
  EXPECT_EQ(rules[0]["select"], "system_load");
  EXPECT_EQ(rules[0]["detector"]["kind"], "threshold");
  EXPECT_EQ(rules[0]["detector"]["params"]["above"], 0.9);
  EXPECT_EQ(rules[0]["condition"], "value > 0.9");
  EXPECT_EQ(rules[0]["health"], "ok");
  EXPECT_EQ(rules[0]["evaluations"], 1);
  EXPECT_EQ(rules[0]["series"], 1);
  EXPECT_EQ(rules[0]["last_evaluation"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(rules[0]["alerts"]["firing"], 0);
  EXPECT_EQ(call("POST", "/api/v1/rules").status, 405);
}

TEST_F(RouterTest, HealthReadinessAndMetrics) {
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(call("GET", "/readyz").status, 200);
  auto m = call("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.content_type.find("version=0.0.4"), std::string::npos);
  EXPECT_NE(m.body.find("# TYPE tocsin_http_requests_total counter"), std::string::npos);
  EXPECT_EQ(http_status(core::Error::unavailable("x")), 503);
  EXPECT_EQ(http_status(core::Error::internal("x")), 500);
}

// Instants checked with Python's zoneinfo: Monday 2026-11-30 09:00 Shanghai = 01:00Z (shift 47 of
// the weekly rotation from 2026-01-05: bob); 2026-12-04 09:00 Berlin = 08:00Z; carol's override,
// 12-24 00:00 to 12-26 00:00 Shanghai = 12-23 16:00Z to 12-25 16:00Z.
TEST_F(RouterTest, OnCallNowPerSchedule) {
  const json body = json::parse(call("GET", "/api/v1/oncall").body);
  EXPECT_EQ(body, json::parse(R"({
    "at": "2026-12-04T10:00:00Z",
    "schedules": [
      {"id": "ops-primary", "timezone": "Asia/Shanghai",
       "on_call": [{"person": "bob", "name": "Bob Li", "from": "2026-11-30T01:00:00Z",
                    "until": "2026-12-07T01:00:00Z", "source": "layer 1"}],
       "next_handoff": "2026-12-07T01:00:00Z"},
      {"id": "solo", "timezone": "Europe/Berlin",
       "on_call": [{"person": "alice", "name": "alice", "from": "2026-12-04T08:00:00Z",
                    "until": "2026-12-05T08:00:00Z", "source": "layer 1"}],
       "next_handoff": null}
    ]})")) << body.dump(2);

  // Another moment, with an offset, one schedule: the override.
  auto r = call("GET", "/api/v1/oncall", "", {{"at", "2026-12-24T20:00:00+08:00"}, {"schedule", "ops-primary"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json christmas = json::parse(r.body);
  EXPECT_EQ(christmas["at"], "2026-12-24T12:00:00Z");
  ASSERT_EQ(christmas["schedules"].size(), 1u);
  EXPECT_EQ(christmas["schedules"][0]["on_call"], json::parse(R"([{"person": "carol", "name": "Carol Diaz",
      "from": "2026-12-23T16:00:00Z", "until": "2026-12-25T16:00:00Z", "source": "override"}])"));
  EXPECT_EQ(christmas["schedules"][0]["next_handoff"], "2026-12-25T16:00:00Z");

  // Before any shift: nobody, and the next hand-off is the first shift.
  const json early = json::parse(call("GET", "/api/v1/oncall", "", {{"at", "2026-12-01T00:00:00Z"}, {"schedule", "solo"}}).body);
  EXPECT_EQ(early["schedules"][0]["on_call"], json::array());
  EXPECT_EQ(early["schedules"][0]["next_handoff"], "2026-12-01T08:00:00Z");

  // The clock the server runs on is the default moment.
  clock_.advance(std::chrono::hours(24 * 3));
  EXPECT_EQ(json::parse(call("GET", "/api/v1/oncall").body)["schedules"][0]["on_call"][0]["person"], "alice");
}

TEST_F(RouterTest, OnCallBadQueries) {
  struct Case {
    std::map<std::string, std::string> query;
    int status;
    const char* field;
  };
  const Case cases[] = {
      {{{"at", "tomorrow"}}, 400, "at"},
      {{{"at", "2026-12-24 09:00"}}, 400, "at"},
      {{{"schedule", "nope"}}, 404, "schedule"},
      {{{"colour", "red"}}, 400, "colour"},
  };
  for (const auto& c : cases) {
    auto r = call("GET", "/api/v1/oncall", "", c.query);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(json::parse(r.body).value("field", ""), c.field) << r.body;
  }
  EXPECT_EQ(call("POST", "/api/v1/oncall").status, 405);
}

TEST_F(RouterTest, PeopleAreListedWithoutTheirContacts) {
  const json body = json::parse(call("GET", "/api/v1/people").body);
  ASSERT_EQ(body["people"].size(), 3u) << body.dump();
  EXPECT_EQ(body["people"][0], json({{"id", "alice"}, {"name", "alice"}, {"timezone", "UTC"}}));
  EXPECT_EQ(body["people"][1]["name"], "Bob Li");
  EXPECT_EQ(call("POST", "/api/v1/people").status, 405);
}

TEST_F(RouterTest, TheWebUiIsServedAtTheRootAndApiPathsStayTheApis) {
  auto page = call("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(call("GET", "/ui/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(call("GET", "/ui/missing.js").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/nope").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/nope").content_type, "application/json");
}

TEST_F(RouterTest, ClockRoutesAre404WithoutASimulatedClock) {
  EXPECT_EQ(call("GET", "/api/v1/clock").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/clock/advance", R"({"by":"10m"})").status, 404);
  EXPECT_EQ(clock_.now(), core::parse_rfc3339("2026-12-04T10:00:00Z").value());
}

TEST_F(RouterTest, ClockRoutesWithASimulatedClock) {
  SimulatedClockControl control(clock_);
  router_ = std::make_unique<Router>(*engine_, metrics_, clock_, [] { return true; }, &control);
  EXPECT_EQ(call_json("GET", "/api/v1/clock"), json::parse(R"({"now": "2026-12-04T10:00:00Z", "simulated": true})"));

  EXPECT_EQ(call_json("POST", "/api/v1/clock/advance", R"({"by": "10m"})"),
            json::parse(R"({"from": "2026-12-04T10:00:00Z", "now": "2026-12-04T10:10:00Z", "simulated": true})"));
  EXPECT_EQ(call_json("POST", "/api/v1/clock/advance", R"({"to": "2026-12-05T00:00:00+01:00"})")["now"],
            "2026-12-04T23:00:00Z");
  EXPECT_EQ(call_json("GET", "/api/v1/clock")["now"], "2026-12-04T23:00:00Z");

  struct Case {
    const char* body;
    const char* field;
  };
  const Case bad[] = {
      {R"({"to": "2026-12-04T22:59:59Z"})", "to"},  // backwards
      {R"({"to": "soon"})", "to"},
      {R"({"by": "ten minutes"})", "by"},
      {R"({"by": 600})", "by"},
      {R"({"by": "1m", "to": "2026-12-05T00:00:00Z"})", nullptr},
      {R"({})", nullptr},
      {R"({"step": "1m"})", "step"},
      {"[", nullptr},
  };
  for (const auto& c : bad) {
    auto r = call("POST", "/api/v1/clock/advance", c.body);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    if (c.field) {
      EXPECT_EQ(json::parse(r.body).value("field", ""), c.field) << r.body;
    }
  }
  EXPECT_EQ(control.asked.size(), 2u) << "a rejected advance moves nothing";
  EXPECT_EQ(call("GET", "/api/v1/clock/advance").status, 405);
  EXPECT_EQ(call("POST", "/api/v1/clock").status, 405);
  EXPECT_EQ(call("GET", "/api/v1/clock/rewind").status, 404);
}


TEST_F(RouterTest, RespondersWorkTheIncidentThroughTheApi) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","value":0.95}])").status, 200);
  json inc = call_json("POST", "/api/v1/incidents/1/tasks/triage/done", R"({"actor":"alice"})");
  EXPECT_EQ(inc["tasks"][0]["status"], "done");
  EXPECT_EQ(inc["tasks"][0]["done_by"], "alice");
  EXPECT_EQ(inc["timeline"].back()["kind"], "task_done");
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/tasks/triage/done").status, 409);
  inc = call_json("POST", "/api/v1/incidents/1/severity", R"({"severity":"minor","actor":"alice"})");
  EXPECT_EQ(inc["severity"], "minor");
  inc = call_json("POST", "/api/v1/incidents/1/events", R"({"kind":"customer_informed","detail":"by phone"})");
  EXPECT_EQ(inc["timeline"].back()["kind"], "customer_informed");
  EXPECT_EQ(inc["timeline"].back()["detail"], "by phone");
  EXPECT_EQ(call_json("POST", "/api/v1/incidents/1/mitigate")["status"], "mitigated");
  EXPECT_EQ(call_json("POST", "/api/v1/incidents/1/resolve")["status"], "resolved");
  // Closed means the postmortem is done: refused, naming what is missing, until it is written.
  auto refused = call("POST", "/api/v1/incidents/1/close");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("missing summary, impact, root_cause"), std::string::npos) << refused.body;
  ASSERT_EQ(call("PUT", "/api/v1/incidents/1/postmortem",
                 R"({"summary":"load spike","impact":"api slow","root_cause":"a runaway job"})")
                .status,
            200);
  EXPECT_EQ(call_json("POST", "/api/v1/incidents/1/close")["status"], "closed");
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/close").status, 409) << "closing happens once";
}

// The postmortem API (docs/api.md): the JSON contract, partial edits, action items, completion
// that closes the incident, and every bad input answered with a 4xx that names it and changes
// nothing.
TEST_F(RouterTest, PostmortemsAreEditedTrackedAndCompletedThroughTheApi) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","value":0.95}])").status, 200);
  json pm = json::parse(call("GET", "/api/v1/incidents/1/postmortem", "", {{"format", "json"}}).body);
  EXPECT_EQ(pm["incident"], 1);
  EXPECT_EQ(pm["status"], "triggered");
  EXPECT_EQ(pm["fields"], json({{"summary", ""}, {"impact", ""}, {"root_cause", ""}, {"contributing_factors", ""},
                                {"went_well", ""}, {"went_badly", ""}, {"lessons", ""}}));
  EXPECT_EQ(pm["action_items"], json::array());
  EXPECT_EQ(pm["complete"], false);
  EXPECT_EQ(pm["missing"], json({"summary", "impact", "root_cause"}));
  EXPECT_EQ(pm["completed_at"], nullptr);
  EXPECT_EQ(pm["completed_by"], "");
  EXPECT_EQ(pm["updated_at"], nullptr);
  EXPECT_EQ(pm["updated_by"], "");
  EXPECT_NE(pm["draft_markdown"].get<std::string>().find("# Postmortem (draft):"), std::string::npos);

  clock_.advance(std::chrono::minutes(1));
  auto r = call("PUT", "/api/v1/incidents/1/postmortem", R"({"actor":"alice","root_cause":"a runaway cron job"})");
  ASSERT_EQ(r.status, 200) << r.body;
  pm = json::parse(r.body);
  EXPECT_EQ(pm["fields"]["root_cause"], "a runaway cron job");
  EXPECT_EQ(pm["fields"]["summary"], "");
  EXPECT_EQ(pm["missing"], json({"summary", "impact"}));
  EXPECT_EQ(pm["updated_at"], "2026-12-04T10:01:00Z");
  EXPECT_EQ(pm["updated_by"], "alice");
  EXPECT_NE(pm["draft_markdown"].get<std::string>().find("## Root cause\n\na runaway cron job\n"), std::string::npos);
  EXPECT_EQ(call_json("GET", "/api/v1/incidents/1")["timeline"].back()["kind"], "postmortem_edited");

  r = call("POST", "/api/v1/incidents/1/postmortem/action-items",
           R"({"actor":"bob","title":"Limit the cron job","owner":"carol","due_at":"2026-12-05T10:00:00Z"})");
  ASSERT_EQ(r.status, 201) << r.body;
  pm = json::parse(r.body);
  ASSERT_EQ(pm["action_items"].size(), 1u);
  const json item = pm["action_items"][0];
  EXPECT_EQ(item, json({{"id", 1}, {"title", "Limit the cron job"}, {"owner", "carol"},
                        {"due_at", "2026-12-05T10:00:00Z"}, {"status", "open"}, {"overdue", false},
                        {"created_at", "2026-12-04T10:01:00Z"}, {"created_by", "bob"}, {"done_at", nullptr},
                        {"done_by", ""}}));

  // Bad input: each a 4xx naming the field; nothing changes.
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    int status;
    const char* field;
  };
  const Case cases[] = {
      {"PUT", "/api/v1/incidents/1/postmortem", R"({"root_cause":"x","rootcause":"y","why":"z"})", 400, "rootcause"},
      {"PUT", "/api/v1/incidents/1/postmortem", R"({"root_cause":7})", 400, "root_cause"},
      {"PUT", "/api/v1/incidents/1/postmortem", R"({"actor":"alice"})", 400, nullptr},
      {"PUT", "/api/v1/incidents/1/postmortem", R"([1])", 400, nullptr},
      {"PUT", "/api/v1/incidents/1/postmortem", R"({"summary":)", 400, nullptr},
      {"PUT", "/api/v1/incidents/9/postmortem", R"({"summary":"x"})", 404, nullptr},
      {"POST", "/api/v1/incidents/1/postmortem", R"({"summary":"x"})", 405, nullptr},
      {"DELETE", "/api/v1/incidents/1/postmortem", "", 405, nullptr},
      {"POST", "/api/v1/incidents/1/postmortem/action-items",
       R"({"title":"x","owner":"mallory","due_at":"2026-12-05T10:00:00Z"})", 400, "owner"},
      {"POST", "/api/v1/incidents/1/postmortem/action-items", R"({"title":"x","owner":"bob","due_at":"tomorrow"})", 400,
       "due_at"},
      {"POST", "/api/v1/incidents/1/postmortem/action-items", R"({"title":"x","owner":"bob"})", 400, "due_at"},
      {"POST", "/api/v1/incidents/1/postmortem/action-items",
       R"({"title":"","owner":"bob","due_at":"2026-12-05T10:00:00Z"})", 400, "title"},
      {"POST", "/api/v1/incidents/1/postmortem/action-items",
       R"({"title":"x","owner":"bob","due_at":"2026-12-05T10:00:00Z","priority":"high"})", 400, "priority"},
      {"POST", "/api/v1/incidents/1/postmortem/action-items",
       R"({"title":["x"],"owner":"bob","due_at":"2026-12-05T10:00:00Z"})", 400, "title"},
      {"GET", "/api/v1/incidents/1/postmortem/action-items", "", 405, nullptr},
      {"POST", "/api/v1/incidents/1/postmortem/action-items/7/done", "", 404, "item"},
      {"POST", "/api/v1/incidents/1/postmortem/action-items/x/done", "", 400, "item"},
      {"POST", "/api/v1/incidents/1/postmortem/action-items/1/finish", "", 404, nullptr},
      {"GET", "/api/v1/incidents/1/postmortem/action-items/1/done", "", 405, nullptr},
      {"POST", "/api/v1/incidents/1/postmortem/action-items/1/reopen", "", 409, nullptr},
      {"POST", "/api/v1/incidents/1/postmortem/action-items/1/done", R"({"actor":"bob","note":"x"})", 400, "note"},
      {"POST", "/api/v1/incidents/1/postmortem/complete", R"({"actor":"bob"})", 409, "status"},
      {"GET", "/api/v1/incidents/1/postmortem/complete", "", 405, nullptr},
      {"POST", "/api/v1/incidents/1/postmortem/publish", "", 404, nullptr},
      {"GET", "/api/v1/action-items?status=closed", "", 400, "status"},
  };
  const std::string before = call_json("GET", "/api/v1/incidents/1").dump();
  for (const auto& c : cases) {
    std::map<std::string, std::string> query;
    std::string path = c.path;
    if (auto q = path.find('?'); q != std::string::npos) {
      const std::string kv = path.substr(q + 1);
      query[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
      path.resize(q);
    }
    auto res = call(c.method, path, c.body, query);
    EXPECT_EQ(res.status, c.status) << c.method << " " << c.path << " " << c.body << " -> " << res.body;
    const json body = json::parse(res.body);
    EXPECT_TRUE(body.contains("error")) << res.body;
    if (c.field) {
      EXPECT_EQ(body.value("field", ""), c.field) << c.method << " " << c.path << " -> " << res.body;
    }
  }
  const json unknown = json::parse(call("PUT", "/api/v1/incidents/1/postmortem", R"({"rootcause":"y","why":"z"})").body);
  EXPECT_NE(unknown["error"].get<std::string>().find(R"(unknown members "rootcause", "why")"), std::string::npos)
      << unknown;
  EXPECT_EQ(call_json("GET", "/api/v1/incidents/1").dump(), before) << "rejected requests change nothing";
  EXPECT_EQ(json::parse(call("GET", "/api/v1/incidents/1/postmortem", "", {{"format", "json"}}).body)["action_items"].size(),
            1u);
  EXPECT_EQ(call("GET", "/api/v1/incidents/1/postmortem", "", {{"format", "pdf"}}).status, 400);

  // Done, and listed across incidents until then.
  json listed = call_json("GET", "/api/v1/action-items");
  ASSERT_EQ(listed["action_items"].size(), 1u);
  EXPECT_EQ(listed["action_items"][0]["incident"], 1);
  EXPECT_EQ(listed["action_items"][0]["incident_title"], call_json("GET", "/api/v1/incidents/1")["title"]);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/action-items", "", {{"owner", "bob"}}).body)["action_items"].size(), 0u);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/action-items", "", {{"overdue", "true"}}).body)["action_items"].size(), 0u);
  clock_.advance(std::chrono::hours(25));
  listed = json::parse(call("GET", "/api/v1/action-items", "", {{"overdue", "true"}, {"owner", "carol"}}).body);
  ASSERT_EQ(listed["action_items"].size(), 1u);
  EXPECT_EQ(listed["action_items"][0]["overdue"], true);
  EXPECT_NE(metrics_.render().find("tocsin_action_items_overdue 1\n"), std::string::npos);
  pm = call_json("POST", "/api/v1/incidents/1/postmortem/action-items/1/done", R"({"actor":"carol"})");
  EXPECT_EQ(pm["action_items"][0]["status"], "done");
  EXPECT_EQ(pm["action_items"][0]["overdue"], false);
  EXPECT_EQ(pm["action_items"][0]["done_by"], "carol");
  EXPECT_EQ(pm["action_items"][0]["done_at"], "2026-12-05T11:01:00Z");
  EXPECT_EQ(call_json("GET", "/api/v1/action-items")["action_items"].size(), 0u) << "open ones by default";
  EXPECT_EQ(json::parse(call("GET", "/api/v1/action-items", "", {{"status", "all"}}).body)["action_items"].size(), 1u);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/action-items", "", {{"status", "done"}}).body)["action_items"].size(), 1u);
  EXPECT_EQ(call("GET", "/api/v1/action-items", "", {{"sort", "due"}}).status, 400);
  EXPECT_EQ(call("POST", "/api/v1/action-items").status, 405);

  // Completing: 409 with the missing list until it is complete, then closed.
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/resolve").status, 200);
  r = call("POST", "/api/v1/incidents/1/postmortem/complete", R"({"actor":"alice"})");
  ASSERT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(json::parse(r.body)["missing"], json({"summary", "impact"}));
  EXPECT_EQ(json::parse(r.body)["field"], "summary");
  ASSERT_EQ(call("PUT", "/api/v1/incidents/1/postmortem", R"({"summary":"load spike","impact":"api slow 20 min"})").status,
            200);
  r = call("POST", "/api/v1/incidents/1/postmortem/complete", R"({"actor":"alice"})");
  ASSERT_EQ(r.status, 200) << r.body;
  pm = json::parse(r.body);
  EXPECT_EQ(pm["status"], "closed");
  EXPECT_EQ(pm["complete"], true);
  EXPECT_EQ(pm["missing"], json::array());
  EXPECT_EQ(pm["completed_by"], "alice");
  EXPECT_EQ(pm["completed_at"], "2026-12-05T11:01:00Z");
  EXPECT_NE(pm["draft_markdown"].get<std::string>().find("# Postmortem: "), std::string::npos);
  EXPECT_EQ(call_json("GET", "/api/v1/incidents/1")["status"], "closed");
  r = call("POST", "/api/v1/incidents/1/postmortem/complete", R"({"actor":"alice"})");
  EXPECT_EQ(r.status, 409) << "completion is once";
  EXPECT_EQ(call("PUT", "/api/v1/incidents/1/postmortem", R"({"lessons":"cap cron jobs"})").status, 200)
      << "editable after close";
  EXPECT_EQ(call("PUT", "/api/v1/incidents/1/postmortem", R"({"root_cause":""})").status, 409);
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/postmortem/action-items/1/reopen").status, 200);
}

TEST_F(RouterTest, TheIncidentDetailRendersThePlansCommunications) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","labels":{"host":"h1"},"value":0.95}])").status, 200);
  const json inc = call_json("GET", "/api/v1/incidents/1");
  EXPECT_EQ(inc["communications"]["status"], "Investigating h1 (critical): http://t/#/incidents/1");
  EXPECT_NE(inc["communications"]["broken"].get<std::string>().find("template error"), std::string::npos)
      << inc["communications"];
}

TEST_F(RouterTest, PlansAreListedWithWhoFillsTheirRolesAndTheirReviewStatus) {
  const json body = call_json("GET", "/api/v1/plans");
  ASSERT_EQ(body["plans"].size(), 1u);
  const json& plan = body["plans"][0];
  EXPECT_EQ(plan["id"], "crash");
  EXPECT_EQ(plan["roles"][0], json({{"role", "commander"}, {"target", "person:alice"}, {"now", "alice"}}));
  EXPECT_EQ(plan["steps"][0]["id"], "triage");
  EXPECT_EQ(plan["steps"][0]["due"], "15m");
  EXPECT_EQ(plan["review"]["overdue"], false) << "no review_every: never overdue";
  EXPECT_EQ(body["review_overdue"], 0);
  // Never drilled: due now, reported like an overdue review.
  EXPECT_EQ(plan["drill"]["every"], "4w2d");  // 30d, as core::format_duration writes it
  EXPECT_EQ(plan["drill"]["last_run"], nullptr);
  EXPECT_EQ(plan["drill"]["next_due"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(plan["drill"]["overdue"], true);
  EXPECT_EQ(body["drill_overdue"], 1);
}

// A finished run's record as `tocsin drill run --json` or a live drill's client would post it.
std::string run_body(std::string_view overrides = "") {
  json body = json::parse(R"({"scenario": "System crash", "plan": "crash", "mode": "simulated", "seed": 42,
    "participants": ["alice", "bob"], "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-02T00:00:00Z",
    "score": 82.5, "passed": true,
    "scorecard": {"scenario": "System crash", "score": 82.5, "steps": [{"id": "triage", "status": "late"}]}})");
  if (!overrides.empty()) body.merge_patch(json::parse(overrides));
  return body.dump();
}

TEST_F(RouterTest, DrillRunsArePostedListedAndShownWithTheirScorecardAndTheCalendar) {
  auto posted = call("POST", "/api/v1/drills", run_body());
  ASSERT_EQ(posted.status, 201) << posted.body;
  const json run = json::parse(posted.body);
  EXPECT_EQ(run["id"], "1");
  EXPECT_EQ(run["ran_at"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(run["seed"], 42);
  EXPECT_EQ(run["scorecard"]["steps"][0]["status"], "late") << "embedded as JSON, not as a string";
  clock_.advance(std::chrono::hours(1));
  ASSERT_EQ(call("POST", "/api/v1/drills", run_body(R"({"mode": "live", "score": 40, "passed": false})")).status, 201);

  const json list = call_json("GET", "/api/v1/drills");
  ASSERT_EQ(list["drills"].size(), 2u);
  EXPECT_EQ(list["drills"][0]["id"], "2") << "newest first";
  EXPECT_EQ(list["drills"][0]["mode"], "live");
  EXPECT_FALSE(list["drills"][0].contains("scorecard")) << "summaries";
  ASSERT_EQ(list["calendar"].size(), 1u);
  EXPECT_EQ(list["calendar"][0], json({{"plan", "crash"}, {"every", "4w2d"}, {"scenario", (dir_.path() / "scenarios/crash.yaml").string()},
                                        {"last_run", "2026-12-04T11:00:00Z"}, {"next_due", "2027-01-03T11:00:00Z"},
                                        {"overdue", false}}));
  EXPECT_EQ(list["drill_overdue"], 0);
  EXPECT_EQ(list["live"], json::array());
  EXPECT_EQ(call_json("GET", "/api/v1/plans")["drill_overdue"], 0);

  auto query = [&](std::map<std::string, std::string> q) { return json::parse(call("GET", "/api/v1/drills", "", std::move(q)).body); };
  EXPECT_EQ(query({{"plan", "nope"}})["drills"].size(), 0u);
  EXPECT_EQ(query({{"plan", "nope"}})["calendar"].size(), 0u);
  EXPECT_EQ(query({{"scenario", "System crash"}})["drills"].size(), 2u);
  EXPECT_EQ(query({{"since", "30m"}})["drills"].size(), 1u);
  EXPECT_EQ(query({{"since", "2026-12-04T10:00:00Z"}})["drills"].size(), 2u);
  EXPECT_EQ(query({{"limit", "1"}})["drills"][0]["id"], "2");

  const json one = call_json("GET", "/api/v1/drills/1");
  EXPECT_EQ(one["scorecard"], json::parse(run_body())["scorecard"]);
  EXPECT_EQ(one["participants"], json({"alice", "bob"}));
  EXPECT_EQ(call("GET", "/api/v1/drills/9").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/drills/x").status, 400);
  EXPECT_EQ(call("DELETE", "/api/v1/drills/1").status, 405);
}

TEST_F(RouterTest, ABadDrillRunIsA400NamingTheFieldAndStoresNothing) {
  const std::pair<std::string, std::string> cases[] = {
      {R"({"mode": "chaos"})", "mode"},
      {R"({"score": 101})", "score"},
      {R"({"score": "high"})", "score"},
      {R"({"passed": "yes"})", "passed"},
      {R"({"seed": -1})", "seed"},
      {R"({"participants": ["alice", 3]})", "participants[1]"},
      {R"({"started_at": "yesterday"})", "started_at"},
      {R"({"finished_at": "2025-12-31T00:00:00Z"})", "finished_at"},
      {R"({"scorecard": "{}"})", "scorecard"},
      {R"({"scorecard": null})", "scorecard"},
      {R"({"plan": "nope"})", "plan"},
      {R"({"plan": ""})", "plan"},
      {R"({"color": "red"})", "color"},
  };
  for (const auto& [patch, field] : cases) {
    auto r = call("POST", "/api/v1/drills", run_body(patch));
    EXPECT_EQ(r.status, 400) << patch << " " << r.body;
    EXPECT_EQ(json::parse(r.body).value("field", ""), field) << patch << " " << r.body;
  }
  json missing = json::parse(run_body());
  missing.erase("score");
  auto r = call("POST", "/api/v1/drills", missing.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["field"], "score");
  EXPECT_EQ(call("POST", "/api/v1/drills", "{").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/drills", "[]").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/drills", "", {{"since", "soon"}}).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/drills", "", {{"colour", "x"}}).status, 400);
  EXPECT_EQ(call_json("GET", "/api/v1/drills")["drills"].size(), 0u);
}

TEST_F(RouterTest, LiveDrillsStartAndFinishWithAScore) {
  auto bad = call("POST", "/api/v1/drills/live", R"({"scenario": "S", "plan": "crash", "participants": ["mallory"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["field"], "participants[0]");
  EXPECT_EQ(call("POST", "/api/v1/drills/live", R"({"scenario": "S", "plan": "crash"})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/drills/live", R"({"scenario": "S", "plan": "crash", "participants": []})").status, 400);

  auto started = call("POST", "/api/v1/drills/live",
                      R"({"scenario": "System crash", "plan": "crash", "participants": ["alice"], "actor": "carol"})");
  ASSERT_EQ(started.status, 201) << started.body;
  const json drill = json::parse(started.body);
  EXPECT_EQ(drill["id"], "1");
  EXPECT_EQ(drill["label"], "drill=\"1\"");
  EXPECT_EQ(drill["running"], true);
  EXPECT_EQ(drill["started_by"], "carol");
  EXPECT_EQ(call_json("GET", "/api/v1/drills")["live"].size(), 1u);

  // A drill sample crossing the rule opens a drill incident.
  auto pushed = call("POST", "/api/v1/push",
                     R"([{"name":"system_load","labels":{"host":"h1","drill":"1"},"value":0.95}])");
  ASSERT_EQ(pushed.status, 200) << pushed.body;
  const json inc = call_json("GET", "/api/v1/incidents/1");
  EXPECT_EQ(inc["drill"], "1");
  EXPECT_TRUE(inc["title"].get<std::string>().starts_with("[DRILL] ")) << inc["title"];

  clock_.advance(std::chrono::minutes(20));
  auto bad_finish = call("POST", "/api/v1/drills/live/1/finish", R"({"score": 70, "passed": true})");
  EXPECT_EQ(bad_finish.status, 400) << "a score needs its scorecard";
  EXPECT_EQ(json::parse(bad_finish.body)["field"], "scorecard");
  auto seed_only = call("POST", "/api/v1/drills/live/1/finish", R"({"seed": 3})");
  EXPECT_EQ(seed_only.status, 400) << "a run's field without its score";
  EXPECT_EQ(json::parse(seed_only.body)["field"], "score");
  auto unknown = call("POST", "/api/v1/drills/live/1/finish", R"({"why": "done"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(json::parse(unknown.body)["field"], "why");
  EXPECT_EQ(call_json("GET", "/api/v1/drills/live/1")["running"], true) << "rejected finishes change nothing";
  auto finished = call("POST", "/api/v1/drills/live/1/finish",
                       R"({"actor": "alice", "score": 70, "passed": true, "scorecard": {"score": 70}})");
  ASSERT_EQ(finished.status, 200) << finished.body;
  EXPECT_EQ(json::parse(finished.body)["running"], false);
  EXPECT_EQ(json::parse(finished.body)["run"], "1");
  EXPECT_EQ(call("POST", "/api/v1/drills/live/1/finish", "").status, 409);
  EXPECT_EQ(call("POST", "/api/v1/drills/live/7/finish", "").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/drills/live/1/stop", "").status, 404);

  const json run = call_json("GET", "/api/v1/drills/1");
  EXPECT_EQ(run["mode"], "live");
  EXPECT_EQ(run["live_drill"], "1");
  EXPECT_EQ(run["started_at"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(run["finished_at"], "2026-12-04T10:20:00Z");
  EXPECT_EQ(run["participants"], json({"alice"}));
  const json list = call_json("GET", "/api/v1/drills");
  EXPECT_EQ(list["live"].size(), 0u);
  EXPECT_EQ(list["calendar"][0]["last_run"], "2026-12-04T10:20:00Z");
  EXPECT_EQ(call_json("GET", "/api/v1/drills/live")["live"][0]["finished_by"], "alice");
}

TEST_F(RouterTest, RiskRegisterSortedByScoreWithModelLikelihoodsPending) {
  const auto r = call("GET", "/api/v1/risk");
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  EXPECT_EQ(body["generated_at"], "2026-12-04T10:00:00Z");
  ASSERT_EQ(body["risks"].size(), 3u);
  const json& top = body["risks"][0];
  EXPECT_EQ(top, json::parse(R"({"id": "db-crash", "title": "Database crashes", "likelihood": 0.3,
    "source": "manual", "impact": 5, "score": 1.5, "level": "medium", "owner": "alice", "plan": "crash",
    "mitigation": "Replica and failover drill", "review": "2026-12-01", "review_overdue": true})"));
  EXPECT_EQ(body["risks"][1]["id"], "cert");
  EXPECT_EQ(body["risks"][1]["score"], 1.0);
  EXPECT_EQ(body["risks"][1]["plan"], nullptr);
  EXPECT_EQ(body["risks"][1]["review_overdue"], false);
  const json& model = body["risks"][2];
  EXPECT_EQ(model["id"], "breach");
  EXPECT_EQ(model["source"], "model");
  EXPECT_EQ(model["likelihood"], nullptr);
  EXPECT_EQ(model["score"], nullptr);
  EXPECT_EQ(model["level"], nullptr);
  EXPECT_EQ(call("POST", "/api/v1/risk").status, 405);
}

TEST_F(RouterTest, RiskHeatMapIsAnSvg) {
  const auto r = call("GET", "/api/v1/risk/heatmap.svg");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "image/svg+xml");
  EXPECT_TRUE(r.body.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  size_t circles = 0;
  for (size_t at = r.body.find("<circle"); at != std::string::npos; at = r.body.find("<circle", at + 1)) ++circles;
  EXPECT_EQ(circles, 2u);  // the model risk has no likelihood yet: listed, not placed
  EXPECT_NE(r.body.find("db-crash"), std::string::npos);
  EXPECT_EQ(call("DELETE", "/api/v1/risk/heatmap.svg").status, 405);
}

}  // namespace
}  // namespace tocsin::api

namespace tocsin::api {
namespace {

// GET /api/v1/incidents/{id}/postmortem: Markdown by default, HTML on request, from the incident's
// records; unknown incidents are 404, a bad format or parameter a 400 naming it.
TEST_F(RouterTest, PostmortemDraftAsMarkdownAndHtml) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","labels":{"host":"h1"},"value":0.95}])").status, 200);
  clock_.advance(std::chrono::minutes(3));
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/ack", R"({"actor":"bob"})").status, 200);
  clock_.advance(std::chrono::minutes(17));
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/tasks/triage/done", R"({"actor":"alice"})").status, 200);
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/notes", R"({"actor":"bob","text":"load <b>high</b>"})").status, 200);
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/resolve", R"({"actor":"bob"})").status, 200);

  auto md = call("GET", "/api/v1/incidents/1/postmortem");
  ASSERT_EQ(md.status, 200) << md.body;
  EXPECT_EQ(md.content_type, "text/markdown; charset=utf-8");
  EXPECT_TRUE(md.body.starts_with("# Postmortem (draft): ")) << md.body;
  EXPECT_NE(md.body.find("acknowledged by bob after 3m"), std::string::npos) << md.body;
  EXPECT_NE(md.body.find("| triage | Triage | commander (alice) | 2026-12-04T10:15:00Z | done late by 5m | "
                         "2026-12-04T10:20:00Z | alice |"),
            std::string::npos)
      << md.body;
  EXPECT_NE(md.body.find("- **Duration:** 20m"), std::string::npos) << md.body;
  EXPECT_EQ(call("GET", "/api/v1/incidents/1/postmortem", "", {{"format", "md"}}).body, md.body);

  auto html = call("GET", "/api/v1/incidents/1/postmortem", "", {{"format", "html"}});
  ASSERT_EQ(html.status, 200);
  EXPECT_EQ(html.content_type, "text/html; charset=utf-8");
  EXPECT_TRUE(html.body.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.body.find("load &lt;b&gt;high&lt;/b&gt;"), std::string::npos);

  auto unknown = call("GET", "/api/v1/incidents/9/postmortem");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("no incident 9"), std::string::npos);
  auto bad = call("GET", "/api/v1/incidents/1/postmortem", "", {{"format", "pdf"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["field"], "format") << bad.body;
  auto extra = call("GET", "/api/v1/incidents/1/postmortem", "", {{"fmt", "md"}});
  EXPECT_EQ(extra.status, 400);
  EXPECT_EQ(json::parse(extra.body)["field"], "fmt");
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/postmortem").status, 405);
}

}  // namespace
}  // namespace tocsin::api
