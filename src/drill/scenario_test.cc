#include "drill/scenario.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/starter.h"
#include "drill/starter_scenarios.h"
#include "test_support/temp_dir.h"

namespace tocsin::drill {
namespace {

using std::chrono::minutes;

constexpr std::string_view kGood = R"(name: crash
description: load spike
plan: system_crash
seed: 42
start: 2026-03-03T09:30:00Z
duration: 2h
participants: [alice, bob]
series:
  - {name: system_load, labels: {service: api}, base: 0.4, daily_amplitude: 0.1, noise: 0.02, interval: 30s, min: 0}
  - {name: errors_total, type: counter, base: 0.5}
faults:
  - {kind: spike, series: system_load, at: 30m, duration: 10m, magnitude: 0.6}
  - {kind: ramp, series: system_load, at: 50m, duration: 10m, magnitude: 0.6}
  - {kind: level_shift, series: system_load, at: 1h30m, magnitude: 0.2}
  - {kind: error_burst, series: errors_total, at: 1h, duration: 5m, magnitude: 10, shape: decay}
  - {kind: security_event, event_kind: exfiltration, labels: {instance: db-1}, at: 1h, duration: 5m, magnitude: 3}
responders:
  - {person: alice, ack_after: {min: 1m, max: 3m}, miss_probability: 0.1, steps: {activate: 2m, triage: never}}
  - {role: operations, ack_after: {median: 3m, sigma: 0.5}, mitigate_after: 20m, resolve_after: 1h}
  - {default: true, ack_after: never}
expect:
  detected_within: 3m
  acknowledged_within: 5m
  steps_in_order: [activate, triage]
)";

// Replaces the first occurrence of `from` in the good scenario.
std::string with(std::string_view from, std::string_view to) {
  std::string s(kGood);
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

std::string error_of(const std::string& yaml) {
  auto s = parse_scenario(yaml, "drill.yaml");
  if (s) return "(parsed)";
  return s.error().to_string();
}

TEST(ScenarioTest, ParsesEveryPart) {
  auto s = parse_scenario(kGood, "drill.yaml");
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  EXPECT_EQ(s->name, "crash");
  EXPECT_EQ(s->plan, "system_crash");
  EXPECT_EQ(s->seed, 42u);
  EXPECT_EQ(s->duration, std::chrono::hours(2));
  EXPECT_EQ(s->participants, (std::vector<std::string>{"alice", "bob"}));
  ASSERT_EQ(s->series.size(), 2u);
  EXPECT_EQ(s->series[0].labels.get_or("service", ""), "api");
  EXPECT_EQ(s->series[0].interval, std::chrono::seconds(30));
  EXPECT_EQ(s->series[1].type, SeriesSpec::Type::kCounter);
  ASSERT_EQ(s->faults.size(), 5u);
  EXPECT_EQ(s->faults[0].shape, Shape::kSquare);
  EXPECT_EQ(s->faults[1].shape, Shape::kLinear);  // a ramp's default
  EXPECT_EQ(s->faults[2].duration, minutes(30));  // a level shift lasts to the end
  EXPECT_EQ(s->faults[3].shape, Shape::kDecay);
  EXPECT_EQ(s->faults[4].event_kind, "exfiltration");
  EXPECT_EQ(s->faults[4].pos.line, 16);
  ASSERT_EQ(s->responders.size(), 3u);
  EXPECT_EQ(s->responders[0].ack_after->kind, Delay::Kind::kUniform);
  EXPECT_EQ(s->responders[0].steps.at("activate").fixed, minutes(2));
  EXPECT_EQ(s->responders[0].steps.at("triage").kind, Delay::Kind::kNever);
  EXPECT_EQ(s->responders[1].ack_after->kind, Delay::Kind::kLognormal);
  EXPECT_TRUE(s->responders[2].is_default);
  EXPECT_EQ(s->expect.steps_in_order, (std::vector<std::string>{"activate", "triage"}));
}

// The scenario reader shares config's YAML reading, which ran out of memory on "," (yaml-cpp
// 0.7's LoadAll; found by fuzz/scenario_fuzz.cc).
TEST(ScenarioTest, StrayFlowEntryIsAnError) {
  EXPECT_EQ(error_of(","), "drill.yaml:1: expected one YAML document, found more");
}

TEST(ScenarioTest, BadInputNamesFileLineAndField) {
  EXPECT_EQ(error_of(with("seed: 42", "seed: 42\ncolour: red")),
            "drill.yaml:5: colour: unknown key \"colour\"; expected one of: name, description, plan, seed, start, "
            "duration, participants, series, faults, responders, expect");
  EXPECT_EQ(error_of(with("duration: 2h", "duration: 2hours")),
            "drill.yaml:6: duration: bad duration \"2hours\": expected e.g. 30s, 5m, 2h (bad duration \"2hours\": "
            "unknown unit \"hours\"; expected Prometheus syntax like 30s, 5m, 1h30m, 90d)");
  EXPECT_EQ(error_of(with("at: 30m, duration: 10m", "at: 3h, duration: 10m")),
            "drill.yaml:12: faults[0].at: fault at 3h starts after the drill ends (duration 2h)");
  EXPECT_EQ(error_of(with("at: 30m, duration: 10m", "at: 1h55m, duration: 10m")),
            "drill.yaml:12: faults[0].duration: fault runs to 2h5m past the drill's end (2h)");
  EXPECT_EQ(error_of(with("kind: spike", "kind: spiek")),
            "drill.yaml:12: faults[0].kind: unknown fault kind \"spiek\"; expected one of: spike, ramp, level_shift, "
            "flatline, absent, noise_burst, error_burst, security_event, feedback_burst");
  EXPECT_EQ(error_of(with("series: system_load, at: 30m", "series: cpu, at: 30m")),
            "drill.yaml:12: faults[0].series: unknown series \"cpu\": declare it under \"series\"");
  EXPECT_EQ(error_of(with("miss_probability: 0.1", "miss_probability: 1.5")),
            "drill.yaml:18: responders[0].miss_probability: expected a probability from 0 to 1");
  EXPECT_EQ(error_of(with("ack_after: {min: 1m, max: 3m}", "ack_after: {min: 1m}")),
            "drill.yaml:18: responders[0].ack_after: expected {min, max} (uniform) or {median, sigma} (lognormal)");
  EXPECT_EQ(error_of(with("{default: true, ack_after: never}", "{ack_after: never}")),
            "drill.yaml:20: responders[2]: expected exactly one of person, role or default: true");
  EXPECT_EQ(error_of(with("start: 2026-03-03T09:30:00Z", "start: tuesday")),
            "drill.yaml:5: start: bad time \"tuesday\": expected RFC 3339, e.g. 2026-03-02T10:00:00Z");
  EXPECT_EQ(error_of(with("series: errors_total, at: 1h", "series: system_load, at: 1h")),
            "drill.yaml:15: faults[3].series: error_burst needs a counter series; \"system_load\" is a gauge (type: "
            "counter)");
  EXPECT_EQ(error_of(with("plan: system_crash\n", "")), "drill.yaml:1: plan: missing required field \"plan\"");
  EXPECT_EQ(error_of(with("seed: 42", "seed: 42\nseed: 43")),
            "drill.yaml:5: seed: duplicate key \"seed\" (first on line 4)");
  EXPECT_EQ(error_of("- a list"),
            "drill.yaml:1: expected a scenario map (name, plan, start, duration, faults, …), got a list");
}

class ScenarioConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(config::write_starter_config(dir_.path()).has_value());
    auto cfg = config::load_config(dir_.path() / "tocsin.yaml");
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::move(*cfg);
  }
  std::string validate(const std::string& yaml) {
    auto s = parse_scenario(yaml, "drill.yaml");
    if (!s) return "parse: " + s.error().to_string();
    auto w = validate_scenario(*s, config_);
    if (!w) return w.error().to_string();
    std::string out;
    for (const auto& line : *w) out += line + "\n";
    return out;
  }
  test_support::TempDir dir_;
  config::Config config_;
};

TEST_F(ScenarioConfigTest, ReferencesAreCheckedAgainstTheConfig) {
  EXPECT_EQ(validate(std::string(kGood)),
            "drill.yaml:15: faults: no rule watches series errors_total; the error_burst cannot be detected\n");
  EXPECT_NE(validate(with("plan: system_crash", "plan: flood")).find("drill.yaml:3: plan: unknown plan \"flood\""),
            std::string::npos);
  EXPECT_EQ(validate(with("participants: [alice, bob]", "participants: [alice, dave]")),
            "drill.yaml:7: participants[1]: unknown person \"dave\" (not in the config's people)");
  EXPECT_EQ(validate(with("{person: alice,", "{person: carol,")),
            "drill.yaml:18: responders[0].person: person \"carol\" is not among the participants");
  EXPECT_EQ(validate(with("{role: operations,", "{role: janitor,")),
            "drill.yaml:19: responders[1].role: plan system_crash has no role \"janitor\" (its roles: commander, "
            "operations)");
  EXPECT_EQ(validate(with("activate: 2m", "activte: 2m")),
            "drill.yaml:18: responders[0].steps.activte: plan system_crash has no step \"activte\"");
  EXPECT_EQ(validate(with("steps_in_order: [activate, triage]", "steps_in_order: [activate, fix]")),
            "drill.yaml:24: expect.steps_in_order[1]: plan system_crash has no step \"fix\"");
}

TEST_F(ScenarioConfigTest, ShippedScenariosAreValidWithoutWarnings) {
  for (const auto& [path, text] : starter_scenarios()) {
    EXPECT_EQ(validate(std::string(text)), "") << path;
  }
}

TEST(ScenarioTest, ResponderLookupPrefersPersonThenRoleThenDefault) {
  auto s = parse_scenario(kGood, "drill.yaml");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(responder_for(*s, "alice", {"operations"}), &s->responders[0]);
  EXPECT_EQ(responder_for(*s, "bob", {"operations"}), &s->responders[1]);
  EXPECT_EQ(responder_for(*s, "carol", {}), &s->responders[2]);
}

}  // namespace
}  // namespace tocsin::drill
