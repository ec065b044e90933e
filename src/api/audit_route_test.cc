// GET /api/v1/audit and GET /api/v1/compliance over a real engine (SQLite in a temp dir, simulated
// clock): changes made through the API are audited with their actor and the peer's address; the
// CSV is RFC 4180 (commas, quotes and line breaks quoted); bad parameters are 400s naming them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/router_fixture.h"

namespace tocsin::api {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
people: [{id: alice}, {id: bob}]
rules:
  - {name: HighLoad, select: system_load, detector: {kind: threshold, above: 0.9}, labels: {incident_type: crash}}
plans:
  - id: crash
    match: ['incident_type="crash"']
    roles: {commander: "person:alice"}
    steps:
      - {id: triage, title: Triage, owner: commander, due: 15m}
    clocks:
      - {name: fixed, within: 1h, from: opened, owner: commander}
    review_every: 90d
    reviewed: 2026-01-01
)";

class AuditRouteTest : public RouterFixture {
 protected:
  AuditRouteTest() : RouterFixture(core::parse_rfc3339("2026-03-02T10:00:00Z").value()) {}
  void SetUp() override {
    remote_ = "192.0.2.10:40000";
    start(kConfig, {.clock_control = &clock_control_, .ack_key = ""});
  }
  json audit(std::map<std::string, std::string> query = {}) {
    auto r = call("GET", "/api/v1/audit", "", std::move(query));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
  void open_incident() {
    ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","labels":{"host":"h1"},"value":0.95}])").status,
              200);
  }

  SimulatedClockControl clock_control_{clock_};
};

TEST_F(AuditRouteTest, ChangesThroughTheApiAreAuditedWithActorAndPeer) {
  open_incident();
  EXPECT_EQ(audit()["count"], 0) << "a pushed sample is data, not a change";
  clock_.advance(std::chrono::minutes(2));
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})").status, 200);
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/tasks/triage/done", "").status, 200);  // no actor: "api"
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})").status, 409);
  const json a = audit();
  ASSERT_EQ(a["count"], 2);
  EXPECT_EQ(a["entries"][0], json({{"id", "1"},
                                   {"at", "2026-03-02T10:02:00Z"},
                                   {"actor", "alice"},
                                   {"action", "incident.acknowledge"},
                                   {"object", "incident/1"},
                                   {"detail", ""},
                                   {"source", "192.0.2.10:40000"}}));
  EXPECT_EQ(a["entries"][1]["actor"], "api");
  EXPECT_EQ(a["entries"][1]["action"], "task.done");
  EXPECT_EQ(a["entries"][1]["detail"], "triage");

  // Silences through the Alertmanager API: the actor is createdBy, also when expiring.
  auto created = call("POST", "/api/v2/silences",
                      R"({"matchers":[{"name":"host","value":"h1","isRegex":false}],"startsAt":"2026-03-02T10:00:00Z",
                          "endsAt":"2026-03-02T12:00:00Z","createdBy":"bob","comment":"disk swap"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string silence = json::parse(created.body)["silenceID"];
  ASSERT_EQ(call("DELETE", "/api/v2/silence/" + silence).status, 200);
  const json s = audit({{"action", "silence."}});
  ASSERT_EQ(s["count"], 2);
  EXPECT_EQ(s["entries"][0]["action"], "silence.create");
  EXPECT_EQ(s["entries"][1]["action"], "silence.expire");
  EXPECT_EQ(s["entries"][1]["actor"], "bob");
  EXPECT_EQ(s["entries"][1]["object"], "silence/" + silence);

  // The simulated clock moving is audited too.
  ASSERT_EQ(call("POST", "/api/v1/clock/advance", R"({"by":"1h","actor":"trainer"})").status, 200);
  const json c = audit({{"actor", "trainer"}});
  ASSERT_EQ(c["count"], 1);
  EXPECT_EQ(c["entries"][0]["action"], "clock.advance");
  EXPECT_EQ(c["entries"][0]["detail"], "from 2026-03-02T10:02:00Z to 2026-03-02T11:02:00Z");
  EXPECT_EQ(call("POST", "/api/v1/clock/advance", R"({"by":"1h","actor":7})").status, 400);
  EXPECT_EQ(audit()["count"], 5);
}

TEST_F(AuditRouteTest, CsvQuotesCommasQuotesAndLineBreaks) {
  open_incident();
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/notes", R"({"actor":"o'brien, pat","text":"said \"stop\",\nthen left"})")
                .status,
            200);
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})").status, 200);
  auto r = call("GET", "/api/v1/audit", "", {{"format", "csv"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/csv; charset=utf-8; header=present");
  EXPECT_EQ(r.body,
            "id,at,actor,action,object,detail,source\r\n"
            "1,2026-03-02T10:00:00Z,\"o'brien, pat\",incident.note,incident/1,\"said \"\"stop\"\",\nthen left\",192.0.2.10:40000\r\n"
            "2,2026-03-02T10:00:00Z,alice,incident.acknowledge,incident/1,,192.0.2.10:40000\r\n");
  // Empty: the header alone.
  EXPECT_EQ(call("GET", "/api/v1/audit", "", {{"format", "csv"}, {"actor", "nobody"}}).body,
            "id,at,actor,action,object,detail,source\r\n");
}

TEST_F(AuditRouteTest, FiltersAndBadParameters) {
  open_incident();
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})").status, 200);
  clock_.advance(std::chrono::hours(2));
  ASSERT_EQ(call("POST", "/api/v1/incidents/1/notes", R"({"actor":"bob","text":"n"})").status, 200);
  EXPECT_EQ(audit({{"since", "1h"}})["count"], 1);
  EXPECT_EQ(audit({{"since", "2026-03-02T10:00:00Z"}, {"until", "2026-03-02T11:00:00Z"}})["count"], 1);
  EXPECT_EQ(audit({{"until", "1h"}})["entries"][0]["actor"], "alice");
  EXPECT_EQ(audit({{"action", "incident.note"}})["count"], 1);
  const json first = audit({{"limit", "1"}});
  EXPECT_EQ(first["entries"][0]["actor"], "alice") << "oldest first";
  EXPECT_EQ(first["count"], 1);
  EXPECT_EQ(first["truncated"], true);
  EXPECT_EQ(audit({{"limit", "2"}})["truncated"], false);
  EXPECT_EQ(audit()["truncated"], false);
  EXPECT_EQ(audit({{"format", "json"}})["count"], 2);

  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> bad = {
      {{{"since", "yesterday"}}, "since"},
      {{{"until", "2026-13-01"}}, "until"},
      {{{"since", "1h"}, {"until", "2h"}}, "until"},  // until before since
      {{{"limit", "0"}}, "limit"},
      {{{"limit", "ten"}}, "limit"},
      {{{"format", "xml"}}, "format"},
      {{{"who", "alice"}}, "who"},
  };
  for (const auto& [query, field] : bad) {
    auto r = call("GET", "/api/v1/audit", "", query);
    EXPECT_EQ(r.status, 400) << field;
    EXPECT_EQ(json::parse(r.body)["field"], field) << r.body;
  }
  EXPECT_EQ(call("POST", "/api/v1/audit").status, 405);
  EXPECT_EQ(audit()["count"], 2) << "reading changed nothing";
}

TEST_F(AuditRouteTest, ComplianceShape) {
  open_incident();  // its plan clock runs 1h from opening
  clock_.advance(std::chrono::minutes(90));
  auto r = call("GET", "/api/v1/compliance");
  ASSERT_EQ(r.status, 200) << r.body;
  const json c = json::parse(r.body);
  EXPECT_EQ(c["at"], "2026-03-02T11:30:00Z");
  ASSERT_EQ(c["reviews"].size(), 1u);
  // Durations print as Prometheus does (90d is 12w6d), like GET /api/v1/plans.
  EXPECT_EQ(c["reviews"][0], json({{"plan", "crash"},
                                   {"every", "12w6d"},
                                   {"reviewed", "2026-01-01T00:00:00Z"},
                                   {"due_at", "2026-04-01T00:00:00Z"},
                                   {"overdue", false},
                                   {"due_soon", true}}));
  EXPECT_EQ(c["drills"], json::array());
  ASSERT_EQ(c["clocks"].size(), 1u);
  EXPECT_EQ(c["clocks"][0], json({{"incident", "1"},
                                  {"title", c["clocks"][0]["title"]},
                                  {"plan", "crash"},
                                  {"clock", "fixed"},
                                  {"within", "1h"},
                                  {"started_at", "2026-03-02T10:00:00Z"},
                                  {"deadline", "2026-03-02T11:00:00Z"},
                                  {"satisfied_by", "resolved"},
                                  {"satisfied_at", nullptr},
                                  {"status", "missed"},
                                  {"time_left", nullptr}}));
  EXPECT_EQ(c["summary"], json({{"reviews_overdue", 0},
                                {"reviews_due_soon", 1},
                                {"drills_overdue", 0},
                                {"clocks_met", 0},
                                {"clocks_missed", 1},
                                {"clocks_running", 0}}));
  const auto bad = call("GET", "/api/v1/compliance", "", {{"plan", "crash"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["field"], "plan");
  EXPECT_EQ(call("POST", "/api/v1/compliance").status, 405);
}

}  // namespace
}  // namespace tocsin::api
