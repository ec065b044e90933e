#include "detect/rule_engine.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/duration.h"

namespace tocsin::detect {
namespace {

using core::from_unix_ms;
using std::chrono::minutes;
using std::chrono::seconds;

config::Rule make_rule(std::string select, double above, core::Duration for_duration = {},
                       core::Duration keep = {}) {
  config::Rule r;
  r.name = "HighLoad";
  r.select = select;
  r.selector = core::parse_selector(select).value();
  r.detector.kind = "threshold";
  r.detector.params["above"] = config::DetectorParam{fmt::format("{}", above), above, {}};
  r.for_duration = for_duration;
  r.keep_firing_for = keep;
  r.severity = "major";
  r.labels = {{"incident_type", "system_crash"}};
  r.annotations = {{"summary", "load {{ $value }} on {{ $labels.instance }}"}};
  return r;
}

core::Sample sample(double value, int64_t ts_ms, std::string service = "api") {
  return {core::Labels{{"__name__", "system_load"}, {"service", service}, {"instance", "h1"}}, value,
          from_unix_ms(ts_ms)};
}

TEST(RuleEngine, FiresImmediatelyWithoutFor) {
  std::vector<config::Rule> rules{make_rule(R"(system_load{service="api"})", 0.9)};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  EXPECT_TRUE(engine->ingest(sample(0.5, 1000)).empty());
  auto events = engine->ingest(sample(0.95, 2000));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].to, AlertPhase::kPending);
  EXPECT_EQ(events[1].to, AlertPhase::kFiring);
  EXPECT_EQ(events[1].at, from_unix_ms(2000));
  EXPECT_EQ(events[1].labels, (core::Labels{{"alertname", "HighLoad"}, {"service", "api"}, {"instance", "h1"},
                                            {"severity", "major"}, {"incident_type", "system_crash"}}));
  EXPECT_EQ(events[1].fingerprint, events[1].labels.fingerprint());
  EXPECT_EQ(events[1].annotations.at("summary"), "load 0.95 on h1");
  EXPECT_EQ(events[1].condition, "value > 0.9");
  // Another service does not match the selector.
  EXPECT_TRUE(engine->ingest(sample(5, 2000, "web")).empty());
  // Back under the threshold resolves.
  events = engine->ingest(sample(0.2, 3000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, AlertPhase::kFiring);
  EXPECT_EQ(events[0].to, AlertPhase::kResolved);
}

TEST(RuleEngine, HonoursForWithSamplesAndWithTimers) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9, minutes(1))};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  auto events = engine->ingest(sample(0.95, 0));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, AlertPhase::kPending);
  EXPECT_EQ(engine->next_due(), from_unix_ms(60'000));
  EXPECT_TRUE(engine->ingest(sample(0.97, 30'000)).empty());  // still pending
  EXPECT_TRUE(engine->eval(from_unix_ms(59'999)).empty());
  events = engine->eval(from_unix_ms(60'000));  // no sample needed at the exact moment
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, AlertPhase::kFiring);
  EXPECT_EQ(events[0].at, from_unix_ms(60'000));
  EXPECT_EQ(events[0].active_at, from_unix_ms(0));
  EXPECT_FALSE(engine->next_due().has_value());
}

TEST(RuleEngine, PendingAlertDropsWhenConditionClears) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9, minutes(1))};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  engine->ingest(sample(0.95, 0));
  auto events = engine->ingest(sample(0.5, 10'000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, AlertPhase::kInactive);
  EXPECT_TRUE(engine->eval(from_unix_ms(120'000)).empty());
  // A new crossing starts a fresh pending period.
  events = engine->ingest(sample(0.95, 130'000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].active_at, from_unix_ms(130'000));
}

TEST(RuleEngine, KeepFiringFor) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9, {}, minutes(5))};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  engine->ingest(sample(0.95, 0));
  EXPECT_TRUE(engine->ingest(sample(0.1, 60'000)).empty());  // kept firing
  EXPECT_EQ(engine->next_due(), from_unix_ms(300'000));
  auto events = engine->eval(from_unix_ms(300'000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, AlertPhase::kResolved);
  EXPECT_EQ(events[0].at, from_unix_ms(300'000));
}

TEST(RuleEngine, DropsOutOfOrderSamples) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9)};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  engine->ingest(sample(0.1, 5000));
  EXPECT_TRUE(engine->ingest(sample(0.95, 4000)).empty());
  EXPECT_EQ(engine->out_of_order_samples(), 1u);
  EXPECT_EQ(engine->series_count(), 1u);
}

TEST(Detectors, ThresholdParametersAreValidated) {
  auto rule = make_rule("x", 1);
  rule.detector.params["abvoe"] = config::DetectorParam{"2", 2.0, {"t.yaml", 7, 5}};
  auto e = DetectorRegistry::builtin().create(rule.detector);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().to_string(), "t.yaml:7: detector.abvoe: unknown parameter for detector \"threshold\": expected above, below");

  config::DetectorConfig text_value{"threshold", {{"above", config::DetectorParam{"high", std::nullopt, {"t.yaml", 3, 1}}}}, {}};
  EXPECT_NE(DetectorRegistry::builtin().create(text_value).error().message().find("expected a number"), std::string::npos);

  config::DetectorConfig none{"threshold", {}, {"t.yaml", 2, 1}};
  EXPECT_EQ(DetectorRegistry::builtin().create(none).error().position().line, 2);

  config::DetectorConfig sigma{"sigma", {}, {"t.yaml", 9, 1}};
  EXPECT_NE(DetectorRegistry::builtin().create(sigma).error().message().find("not implemented yet"), std::string::npos);
}

TEST(Detectors, ThresholdBelow) {
  config::DetectorConfig below{"threshold", {{"below", config::DetectorParam{"0.5", 0.5, {}}}}, {}};
  auto spec = DetectorRegistry::builtin().create(below).value();
  auto series = spec->make();
  EXPECT_TRUE(series->update(from_unix_ms(0), 0.4).firing);
  EXPECT_FALSE(series->update(from_unix_ms(1), 0.5).firing);
  EXPECT_EQ(spec->describe(), "value < 0.5");
}

TEST(Template, ExpandsValueAndLabels) {
  core::Labels l{{"instance", "h1"}};
  EXPECT_EQ(expand_template("load {{ $value }} on {{$labels.instance}} {{ $labels.missing }}!", l, 0.5),
            "load 0.5 on h1 !");
  EXPECT_EQ(expand_template("{{ unknown }} {{", l, 1), "{{ unknown }} {{");
}

}  // namespace
}  // namespace tocsin::detect

namespace tocsin::detect {
namespace {

TEST(RuleEngine, RestoredFiringAlertResolvesOnTheNextSampleUnderTheThreshold) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9)};
  // The first process: fires.
  auto before = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  auto fired = before->ingest(sample(0.95, 1000));
  ASSERT_EQ(fired.back().to, AlertPhase::kFiring);
  // After a restart, without restore, a sample under the threshold is silent.
  auto forgetful = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  EXPECT_TRUE(forgetful->ingest(sample(0.1, 2000)).empty());
  // With the alert restored from the store it resolves.
  auto after = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  after->restore({{fired.back().fingerprint, AlertPhase::kFiring, from_unix_ms(1000), from_unix_ms(1000), 0.95}});
  auto events = after->ingest(sample(0.1, 2000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, AlertPhase::kFiring);
  EXPECT_EQ(events[0].to, AlertPhase::kResolved);
  EXPECT_EQ(events[0].fingerprint, fired.back().fingerprint);
}

}  // namespace
}  // namespace tocsin::detect
