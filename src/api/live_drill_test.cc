// Live drills registered with their scenario are scored by the server from its store, with the
// simulated drills' scorecard (drill/live_score.h): real people act through the API, and the
// scorecard shows who acknowledged and when, and the step nobody did.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/router_fixture.h"

namespace tocsin::api {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
people:
  - {id: alice, contact: {webhook: "http://127.0.0.1:1/alice"}}
  - {id: bob, contact: {webhook: "http://127.0.0.1:1/bob"}}
  - {id: carol, contact: {webhook: "http://127.0.0.1:1/carol"}}
escalation_policies:
  - id: ops
    levels:
      - {after: 0m, notify: ["person:alice", "person:carol"]}
rules:
  - {name: HighLoad, select: system_load, detector: {kind: threshold, above: 0.9}, labels: {incident_type: crash}}
plans:
  - id: crash
    match: ['incident_type="crash"']
    escalation: ops
    roles: {commander: "person:alice", operations: "person:bob"}
    steps:
      - {id: triage, title: Triage, owner: commander, due: 5m}
      - {id: fix, title: Fix it, owner: operations, due: 10m}
)";

// Line 3 names a plan the config does not have.
constexpr const char* kBadScenario = R"(name: crash-drill
start: 2026-01-01T00:00:00Z
plan: nosuchplan
duration: 30m
participants: [alice, bob]
series: [{name: system_load, base: 0.3, interval: 10s}]
faults: [{kind: spike, series: system_load, at: 1m, duration: 10m, magnitude: 0.7}]
)";

constexpr const char* kScenario = R"(name: crash-drill
start: 2026-01-01T00:00:00Z
plan: crash
duration: 30m
participants: [alice, bob]
series: [{name: system_load, base: 0.3, interval: 10s}]
faults: [{kind: spike, series: system_load, at: 1m, duration: 10m, magnitude: 0.7}]
responders:
  - {person: alice, ack_after: 10s}
expect:
  acknowledged_within: 5m
  steps_in_order: [triage, fix]
)";

class LiveDrillScoringTest : public RouterFixture {
 protected:
  void SetUp() override { start(kConfig); }
  http::Response call(std::string method, std::string path, const json& body = nullptr) {
    return RouterFixture::call(std::move(method), std::move(path), body.is_null() ? "" : body.dump());
  }
  json ok(std::string method, std::string path, const json& body = nullptr, int status = 200) {
    auto r = call(method, path, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    return json::parse(r.body);
  }
  // Pushes one system_load sample of the drill at the clock's time and runs the engine.
  void push(double value) {
    ok("POST", "/api/v1/push",
       json::array({{{"name", "system_load"}, {"labels", {{"host", "h1"}, {"drill", "1"}}}, {"value", value}}}));
    ASSERT_TRUE(engine_->run_due().has_value());
  }
};

TEST_F(LiveDrillScoringTest, ABadScenarioIsA400NamingItsLineAndRegistersNothing) {
  auto bad = call("POST", "/api/v1/drills/live", {{"scenario_yaml", kBadScenario}, {"scenario_file", "drill.yaml"}});
  ASSERT_EQ(bad.status, 400) << bad.body;
  const json err = json::parse(bad.body);
  EXPECT_EQ(err["field"], "scenario_yaml");
  EXPECT_EQ(err["line"], 3);
  EXPECT_TRUE(err["error"].get<std::string>().starts_with("drill.yaml:3: plan: ")) << err["error"];
  auto broken = call("POST", "/api/v1/drills/live", {{"scenario_yaml", "name: [unclosed\n"}});
  ASSERT_EQ(broken.status, 400) << broken.body;
  EXPECT_TRUE(json::parse(broken.body)["error"].get<std::string>().starts_with("scenario_yaml:")) << broken.body;
  auto other_plan = call("POST", "/api/v1/drills/live", {{"scenario_yaml", kScenario}, {"plan", "other"}});
  EXPECT_EQ(other_plan.status, 400) << other_plan.body;
  EXPECT_EQ(json::parse(other_plan.body)["field"], "plan");
  EXPECT_EQ(ok("GET", "/api/v1/drills/live")["live"], json::array()) << "nothing registered";
}

TEST_F(LiveDrillScoringTest, AFinishedDrillIsScoredFromTheStoreWithWhatPeopleDid) {
  const core::Timestamp start = clock_.now();
  // Registered with the scenario only: name, plan and participants are the scenario's.
  const json drill = ok("POST", "/api/v1/drills/live", {{"scenario_yaml", kScenario}, {"actor", "trainer"}}, 201);
  EXPECT_EQ(drill["id"], "1");
  EXPECT_EQ(drill["scenario"], "crash-drill");
  EXPECT_EQ(drill["plan"], "crash");
  EXPECT_EQ(drill["participants"], json({"alice", "bob"}));
  EXPECT_EQ(drill["scenario_known"], true);
  EXPECT_EQ(drill["warnings"], json::array());

  // Background traffic, then the fault at +1m crosses the rule: a drill incident pages alice
  // (carol is not in the drill).
  push(0.3);
  clock_.advance(std::chrono::minutes(1));
  push(0.95);
  json incidents = ok("GET", "/api/v1/incidents")["incidents"];
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_TRUE(incidents[0]["title"].get<std::string>().starts_with("[DRILL] "));

  // alice acknowledges 90 s after the incident opened and does triage; bob never does fix.
  clock_.advance(std::chrono::seconds(90));
  ok("POST", "/api/v1/incidents/1/ack", {{"actor", "alice"}});
  clock_.advance(std::chrono::minutes(2));
  ok("POST", "/api/v1/incidents/1/tasks/triage/done", {{"actor", "alice"}});
  clock_.advance(std::chrono::minutes(20));

  // A client score is refused for a drill the server scores; nothing changes.
  auto refused =
      call("POST", "/api/v1/drills/live/1/finish", {{"score", 90}, {"passed", true}, {"scorecard", json::object()}});
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(ok("GET", "/api/v1/drills/live/1")["running"], true);

  const json finished = ok("POST", "/api/v1/drills/live/1/finish", {{"actor", "trainer"}});
  EXPECT_EQ(finished["running"], false);
  EXPECT_EQ(finished["run"], "1");
  const json& card = finished["scorecard"];
  EXPECT_NE(finished["scorecard_text"].get<std::string>().find("  live " + core::format_rfc3339(start) + " → "),
            std::string::npos)
      << finished["scorecard_text"];
  EXPECT_EQ(card["scenario"], "crash-drill");
  EXPECT_EQ(card["start"], core::format_rfc3339(start)) << "the scenario's start is the registration time";
  EXPECT_EQ(card["first_fault"], core::format_rfc3339(start + std::chrono::minutes(1)));
  EXPECT_EQ(card["time_to_detect_seconds"], 0);
  EXPECT_EQ(card["time_to_acknowledge_seconds"], 90);
  EXPECT_EQ(card["acknowledged_by"], "alice");
  ASSERT_EQ(card["steps"].size(), 2u) << card.dump(1);
  EXPECT_EQ(card["steps"][0]["step"], "triage");
  EXPECT_EQ(card["steps"][0]["outcome"], "on_time");
  EXPECT_EQ(card["steps"][0]["done_by"], "alice");
  EXPECT_EQ(card["steps"][1]["step"], "fix");
  EXPECT_EQ(card["steps"][1]["outcome"], "never");
  bool never_finding = false;
  for (const auto& f : card["findings"]) {
    never_finding |= f["kind"] == "never_step" && f["person"] == "bob" && f["step"] == "fix";
  }
  EXPECT_TRUE(never_finding) << card["findings"].dump(1);
  // Only participants count, and the scenario's simulated responders played no part: alice's
  // `ack_after: 10s` would have acknowledged 80 s sooner.
  for (const auto& p : card["people"]) EXPECT_NE(p["person"], "carol") << card["people"].dump(1);

  // Stored in history as a live run of the drill, with the scorecard's score.
  const json list = ok("GET", "/api/v1/drills");
  ASSERT_EQ(list["drills"].size(), 1u);
  EXPECT_EQ(list["drills"][0]["mode"], "live");
  EXPECT_EQ(list["drills"][0]["live_drill"], "1");
  EXPECT_EQ(list["drills"][0]["score"], card["score"]);
  EXPECT_EQ(list["drills"][0]["passed"], false) << "fix was never done: steps_in_order is unmet";
  const json run = ok("GET", "/api/v1/drills/1");
  EXPECT_EQ(run["scorecard"], card);
  EXPECT_EQ(run["started_at"], core::format_rfc3339(start));
  EXPECT_EQ(run["finished_at"], core::format_rfc3339(clock_.now()));
  EXPECT_EQ(finished["comparison_text"], "") << "the first run of the scenario";

  // A second run of the scenario is compared with the first.
  ok("POST", "/api/v1/drills/live", {{"scenario_yaml", kScenario}}, 201);
  clock_.advance(std::chrono::minutes(5));
  const json second = ok("POST", "/api/v1/drills/live/2/finish", {{"actor", "trainer"}});
  EXPECT_EQ(second["scorecard"]["incidents"], 0) << "drill 1's incident is not drill 2's";
  EXPECT_NE(second["comparison_text"].get<std::string>().find("Compared with earlier runs of crash-drill"),
            std::string::npos)
      << second["comparison_text"];
}

TEST_F(LiveDrillScoringTest, ADrillWithoutItsScenarioStillFinishesWithoutAScore) {
  ok("POST", "/api/v1/drills/live", {{"scenario", "S"}, {"plan", "crash"}, {"participants", {"alice"}}}, 201);
  const json finished = ok("POST", "/api/v1/drills/live/1/finish", {{"actor", "trainer"}});
  EXPECT_EQ(finished["run"], nullptr);
  EXPECT_EQ(finished["scenario_known"], false);
  EXPECT_FALSE(finished.contains("scorecard"));
}

}  // namespace
}  // namespace tocsin::api
