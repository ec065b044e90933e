#include "detect/rule_engine.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "config/loader.h"
#include "config/starter.h"
#include "core/duration.h"
#include "detect/snapshot_codec.h"
#include "test_support/temp_dir.h"

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
  EXPECT_TRUE(engine->ingest(sample(0.95, 5000)).empty());
  EXPECT_EQ(engine->duplicate_samples(), 1u);
  EXPECT_EQ(engine->series_count(), 1u);
}

TEST(Detectors, ThresholdParametersAreValidated) {
  auto rule = make_rule("x", 1);
  rule.detector.params["abvoe"] = config::DetectorParam{"2", 2.0, {"t.yaml", 7, 5}};
  auto e = DetectorRegistry::builtin().create(rule.detector);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().to_string(), "t.yaml:7: detector.abvoe: unknown parameter for detector \"threshold\": expected above, below, hysteresis, "
            "scale");

  config::DetectorConfig text_value{"threshold", {{"above", config::DetectorParam{"high", std::nullopt, {"t.yaml", 3, 1}}}}, {}};
  EXPECT_NE(DetectorRegistry::builtin().create(text_value).error().message().find("expected a number"), std::string::npos);

  config::DetectorConfig none{"threshold", {}, {"t.yaml", 2, 1}};
  EXPECT_EQ(DetectorRegistry::builtin().create(none).error().position().line, 2);

  config::DetectorConfig unknown{"nonesuch", {}, {"t.yaml", 9, 1}};
  EXPECT_NE(DetectorRegistry::builtin().create(unknown).error().message().find("not implemented yet"), std::string::npos);
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

TEST(Template, HumanizeAsPrometheusDoes) {
  const core::Labels l;
  EXPECT_EQ(expand_template("{{ $value | humanize }}", l, 1.0236384881162355), "1.024");
  EXPECT_EQ(expand_template("{{ humanize $value }}", l, 1234567), "1.235M");
  EXPECT_EQ(expand_template("{{ .Value | humanize }}", l, 0.95), "950m");
  EXPECT_EQ(expand_template("{{ $value | humanize }}", l, -2500), "-2.5k");
  EXPECT_EQ(expand_template("{{ $value | humanize }}", l, 0), "0");
  EXPECT_EQ(expand_template("{{ $value | humanize }}", l, 0.000012), "12u");
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

TEST(RuleEngine, RestoreMakesTheStoreTheTruthForPhasesThatReplayedSamplesMoved) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9, minutes(1))};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  // Samples replayed after a restart move the state machine (their events are discarded)...
  ASSERT_EQ(engine->ingest(sample(0.95, 1000)).back().to, AlertPhase::kPending);
  // ...but the store holds no pending or firing alert for the series (its `for` timer, say,
  // never ran before the crash, or the transition never committed): inactive it is.
  engine->restore({});
  EXPECT_EQ(engine->health()[0].pending, 0u);
  EXPECT_FALSE(engine->next_due().has_value());
  // The next crossing sample starts a pending alert of its own, as the store expects.
  auto events = engine->ingest(sample(0.96, 2000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, AlertPhase::kInactive);
  EXPECT_EQ(events[0].to, AlertPhase::kPending);
}

}  // namespace
}  // namespace tocsin::detect

namespace tocsin::detect {
namespace {

TEST(RuleEngine, FlappingAlertIsHeldFiringUntilQuiet) {
  auto rule = make_rule("system_load", 0.9);
  rule.flap_window = minutes(10);
  std::vector<config::Rule> rules{rule};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  int64_t t = 0;
  auto at = [&](double v) { return engine->ingest(sample(v, t += 60'000)); };
  // Two full fire/resolve cycles are reported as they happen.
  for (int cycle = 0; cycle < 2; ++cycle) {
    EXPECT_EQ(at(0.95).back().to, AlertPhase::kFiring);
    EXPECT_EQ(at(0.1).back().to, AlertPhase::kResolved);
  }
  // The third resolve within 10 minutes is held: the alert keeps firing.
  EXPECT_EQ(at(0.95).back().to, AlertPhase::kFiring);
  EXPECT_TRUE(at(0.1).empty());
  EXPECT_EQ(engine->health()[0].flapping, 1u);
  EXPECT_TRUE(at(0.95).empty()) << "still firing, no new page";
  EXPECT_TRUE(at(0.1).empty());
  // It resolves once quiet for the whole window after the last crossing.
  const int64_t last_crossing = t - 60'000;
  EXPECT_EQ(engine->next_due(), from_unix_ms(last_crossing + 600'000));
  auto events = engine->eval(from_unix_ms(last_crossing + 600'000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, AlertPhase::kResolved);
  EXPECT_EQ(engine->health()[0].flapping, 0u);
}

TEST(RuleEngine, FlapSuppressionCanBeTurnedOff) {
  auto rule = make_rule("system_load", 0.9);
  rule.flap_window = {};
  std::vector<config::Rule> rules{rule};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  int64_t t = 0;
  for (int cycle = 0; cycle < 5; ++cycle) {
    EXPECT_EQ(engine->ingest(sample(0.95, t += 1000)).back().to, AlertPhase::kFiring);
    EXPECT_EQ(engine->ingest(sample(0.1, t += 1000)).back().to, AlertPhase::kResolved);
  }
}

// A detector that fires when no sample came for 5 s, through next_check()/check().
class SilenceSeries final : public SeriesDetector {
 public:
  Decision update(core::Timestamp ts, double) override {
    last_ = ts;
    return {0, false};
  }
  std::optional<core::Timestamp> next_check() const override {
    return fired_ ? std::nullopt : std::optional(last_ + seconds(5));
  }
  Decision check(core::Timestamp) override {
    fired_ = true;
    return {1, true};
  }
  std::string snapshot() const override { return std::to_string(core::to_unix_ms(last_)); }
  core::Status restore(std::string_view bytes) override {
    if (bytes.empty() || bytes.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::unexpected(core::Error::invalid_argument("not a number"));
    }
    last_ = from_unix_ms(std::stoll(std::string(bytes)));
    return {};
  }

 private:
  core::Timestamp last_{};
  bool fired_ = false;
};

class SilenceSpec final : public DetectorSpec {
 public:
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<SilenceSeries>(); }
  std::string describe() const override { return "no data for 5s"; }
};

DetectorRegistry silence_registry() {
  DetectorRegistry r;
  r.add("silence", [](const config::DetectorConfig&) -> core::Result<std::unique_ptr<DetectorSpec>> {
    return std::make_unique<SilenceSpec>();
  });
  return r;
}

TEST(RuleEngine, DetectorChecksFireWithoutSamples) {
  auto rule = make_rule("system_load", 0);
  rule.detector = {"silence", {}, {}};
  std::vector<config::Rule> rules{rule};
  auto engine = RuleEngine::create(rules, silence_registry()).value();
  EXPECT_TRUE(engine->ingest(sample(1, 1000)).empty());
  EXPECT_EQ(engine->next_due(), from_unix_ms(6000));
  EXPECT_TRUE(engine->eval(from_unix_ms(5999)).empty());
  auto events = engine->eval(from_unix_ms(6000));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].to, AlertPhase::kFiring);
  EXPECT_EQ(events[1].at, from_unix_ms(6000));
  EXPECT_EQ(events[1].condition, "no data for 5s");
}

TEST(RuleEngine, SnapshotKeepsDetectorStateAcrossARestart) {
  auto rule = make_rule("system_load", 0);
  rule.detector = {"silence", {}, {}};
  std::vector<config::Rule> rules{rule};
  auto before = RuleEngine::create(rules, silence_registry()).value();
  before->ingest(sample(1, 1000));
  const std::string snap = before->snapshot();

  auto after = RuleEngine::create(rules, silence_registry()).value();
  ASSERT_TRUE(after->load_snapshot(snap).has_value());
  EXPECT_EQ(after->series_count(), 1u);
  EXPECT_EQ(after->next_due(), from_unix_ms(6000)) << "the restored detector remembers its last sample";
  // An older sample than the snapshot's last is out of order.
  EXPECT_TRUE(after->ingest(sample(1, 500)).empty());
  EXPECT_EQ(after->out_of_order_samples(), 1u);

  // Corrupt snapshots load nothing.
  auto fresh = RuleEngine::create(rules, silence_registry()).value();
  for (std::string bad : {std::string(""), std::string("garbage"), snap.substr(0, snap.size() - 3), snap + "x"}) {
    auto st = fresh->load_snapshot(bad);
    EXPECT_FALSE(st.has_value());
    EXPECT_NE(st.error().message().find("corrupt"), std::string::npos);
  }
  EXPECT_EQ(fresh->series_count(), 0u);

  // A rule whose detector changed does not inherit the old state.
  std::vector<config::Rule> changed{make_rule("system_load", 0.9)};
  auto other = RuleEngine::create(changed, DetectorRegistry::builtin()).value();
  ASSERT_TRUE(other->load_snapshot(snap).has_value());
  EXPECT_EQ(other->series_count(), 0u);
}

// The alert labels are kept packed and the annotations only once a series fires: the events and
// the snapshot must say exactly what they said when both were kept as they are sent.
TEST(RuleEngine, AlertLabelsAndAnnotationsAreTheSameAfterASnapshotAndARefire) {
  auto rule = make_rule("system_load", 0.9);
  rule.flap_window = {};
  std::vector<config::Rule> rules{rule};
  auto before = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  EXPECT_TRUE(before->ingest(sample(0.5, 1000)).empty());
  const std::string snap = before->snapshot();

  // The snapshot's layout did not change: rule, detector, then per series its fingerprint, the
  // alert labels in name order, the last sample and the detector's own bytes.
  const core::Labels want{{"alertname", "HighLoad"}, {"service", "api"}, {"instance", "h1"}, {"severity", "major"},
                          {"incident_type", "system_crash"}};
  auto threshold = DetectorRegistry::builtin().create(rule.detector).value();
  auto detector = threshold->make();
  detector->update(from_unix_ms(1000), 0.5);
  SnapshotWriter w("RULE", 1);
  w.u64(1);
  w.str("HighLoad");
  w.str(threshold->describe());
  w.u64(1);
  w.u64(sample(0, 0).labels.fingerprint());
  w.u64(want.size());
  for (const auto& l : want) {
    w.str(l.name);
    w.str(l.value);
  }
  w.i64(1000);
  w.f64(0.5);
  w.str(detector->snapshot());
  EXPECT_EQ(snap, std::move(w).finish());

  auto after = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  ASSERT_TRUE(after->load_snapshot(snap).has_value());
  EXPECT_EQ(after->snapshot(), snap);
  for (int cycle = 0; cycle < 2; ++cycle) {
    const int64_t t = 2000 + cycle * 10'000;
    auto events = after->ingest(sample(0.95 + cycle, t));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].to, AlertPhase::kFiring);
    EXPECT_EQ(events[1].labels, want);
    EXPECT_EQ(events[1].fingerprint, want.fingerprint());
    EXPECT_EQ(events[1].annotations.at("summary"), fmt::format("load {} on h1", 0.95 + cycle));
    EXPECT_TRUE(after->ingest(sample(0.97 + cycle, t + 1000)).empty());  // still firing
    events = after->ingest(sample(0.1, t + 2000));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].to, AlertPhase::kResolved);
    EXPECT_EQ(events[0].labels, want);
    // A resolve carries the annotations of the last firing sample.
    EXPECT_EQ(events[0].annotations.at("summary"), fmt::format("load {} on h1", 0.97 + cycle));
  }
}

TEST(RuleEngine, HealthCountsEvaluationsAndStates) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9, minutes(1))};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  engine->ingest(sample(0.95, 1000));
  engine->ingest(sample(0.2, 2000, "web"));
  const auto h = engine->health();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].rule, "HighLoad");
  EXPECT_EQ(h[0].evaluations, 2u);
  EXPECT_EQ(h[0].series, 2u);
  EXPECT_EQ(h[0].pending, 1u);
  EXPECT_EQ(h[0].firing, 0u);
  EXPECT_EQ(h[0].last_evaluation, from_unix_ms(2000));
  EXPECT_EQ(h[0].condition, "value > 0.9");
}

}  // namespace
}  // namespace tocsin::detect

namespace tocsin::detect {
TEST(RuleEngine, ABatchOfPointsGivesTheEventsOfTheSamePointsOneByOne) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9), make_rule("system_load", 0.5)};
  rules[1].name = "LoadWarning";
  auto one_by_one = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  auto batched = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  const std::vector<tsdb::Point> points{{from_unix_ms(1000), 0.6}, {from_unix_ms(2000), 0.95},
                                        {from_unix_ms(3000), 0.1}, {from_unix_ms(3000), 0.95}};
  std::vector<AlertEvent> expected;
  for (const auto& p : points) {
    auto e = one_by_one->ingest(core::Sample{sample(0, 0).labels, p.value, p.ts});
    expected.insert(expected.end(), e.begin(), e.end());
  }
  const core::Labels labels = sample(0, 0).labels;
  std::vector<AlertEvent> got;
  batched->ingest_points(labels, labels.fingerprint(), points, std::nullopt, got);
  ASSERT_EQ(got.size(), expected.size());
  ASSERT_EQ(got.size(), 6u);  // warning pending+firing, high pending+firing, both resolved
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].rule, expected[i].rule) << i;
    EXPECT_EQ(got[i].to, expected[i].to) << i;
    EXPECT_EQ(got[i].at, expected[i].at) << i;
  }
  EXPECT_EQ(batched->duplicate_samples(), 2u);  // the last point, once per rule
}

// prefetch() is a hint: for series seen, series never seen, series no rule watches and after
// forget_stale(), the events are those of an engine that never prefetched.
TEST(RuleEngine, PrefetchChangesNothing) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9), make_rule("other", 0.5)};
  rules[0].detector.kind = "auto";
  rules[0].detector.params.clear();
  auto plain = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  auto hinted = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  const core::Labels watched = sample(0, 0).labels;
  const core::Labels unwatched{{"__name__", "nothing_watches_this"}};
  const std::vector<uint64_t> fps{watched.fingerprint(), unwatched.fingerprint(), 99, watched.fingerprint()};
  hinted->prefetch(fps);  // nothing seen yet
  std::vector<AlertEvent> expected;
  std::vector<AlertEvent> got;
  constexpr int64_t kFiveMinutes = 300'000;  // `auto`'s own pace: it judges from the 31st sample
  for (int64_t i = 0; i < 400; ++i) {
    if (i == 300) {
      plain->forget_stale(from_unix_ms(i * kFiveMinutes + 1));
      hinted->forget_stale(from_unix_ms(i * kFiveMinutes + 1));
    }
    const std::vector<tsdb::Point> points{{from_unix_ms(i * kFiveMinutes), i == 250 ? 1e6 : 1.0 + (i % 7) * 0.01}};
    hinted->prefetch(fps);
    plain->ingest_points(watched, watched.fingerprint(), points, std::nullopt, expected);
    hinted->ingest_points(watched, watched.fingerprint(), points, std::nullopt, got);
    plain->ingest_points(unwatched, unwatched.fingerprint(), points, std::nullopt, expected);
    hinted->ingest_points(unwatched, unwatched.fingerprint(), points, std::nullopt, got);
  }
  ASSERT_FALSE(expected.empty()) << "the jump at 250 fires";
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].to, expected[i].to) << i;
    EXPECT_EQ(got[i].at, expected[i].at) << i;
    EXPECT_EQ(got[i].score, expected[i].score) << i;
  }
  EXPECT_EQ(hinted->snapshot(), plain->snapshot());
}

TEST(RuleEngine, ForgettingTheStateOfASeriesStillBeingSeenStartsItAfresh) {
  // An over-time rule without a store never judges, so the series is seen (recently) while its
  // state stays stale: forget_stale drops the state, and the cached match must not point at it.
  config::Rule rule = make_rule("x", 1.0);
  rule.select = "rate(requests_total[1m])";
  rule.expr = tsdb::parse_select_expr(rule.select).value();
  rule.selector = rule.expr.matchers;
  std::vector<config::Rule> rules{rule, make_rule("requests_total", 100)};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  const core::Labels labels{{"__name__", "requests_total"}, {"job", "api"}};
  EXPECT_TRUE(engine->ingest(core::Sample{labels, 1, from_unix_ms(100'000)}).empty());
  EXPECT_EQ(engine->series_count(), 2u);
  engine->forget_stale(from_unix_ms(50'000));
  EXPECT_EQ(engine->series_count(), 1u);  // the over-time rule's state, never judged
  EXPECT_TRUE(engine->ingest(core::Sample{labels, 2, from_unix_ms(200'000)}).empty());
  EXPECT_EQ(engine->series_count(), 2u);
  // The plain rule kept its state (and its last sample) throughout.
  EXPECT_TRUE(engine->ingest(core::Sample{labels, 3, from_unix_ms(200'000)}).empty());
  EXPECT_EQ(engine->duplicate_samples(), 1u);
  auto events = engine->ingest(core::Sample{labels, 500, from_unix_ms(300'000)});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].to, AlertPhase::kFiring);
  // Everything gone quiet is forgotten, and comes back when the series does.
  engine->forget_stale(from_unix_ms(400'000));
  EXPECT_EQ(engine->series_count(), 1u);  // the firing alert keeps its state
  events = engine->ingest(core::Sample{labels, 1, from_unix_ms(500'000)});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, AlertPhase::kResolved);
  EXPECT_EQ(engine->series_count(), 2u);
}

namespace {

TEST(RuleEngine, OverTimeRulesReadTheWindowFromTheSeriesStore) {
  core::MetricsRegistry metrics;
  tsdb::SeriesStore store({}, metrics);
  config::Rule rule = make_rule("x", 1.0);
  rule.select = "rate(requests_total[1m])";
  rule.expr = tsdb::parse_select_expr(rule.select).value();
  rule.selector = rule.expr.matchers;
  std::vector<config::Rule> rules{rule};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin(), &store).value();
  const core::Labels labels{{"__name__", "requests_total"}, {"job", "api"}};
  const auto ref = store.get_or_create(labels).value();
  auto feed = [&](int64_t ts_ms, double counter) {
    EXPECT_EQ(store.append(ref, from_unix_ms(ts_ms), counter), tsdb::AppendResult::kOk);
    return engine->ingest(core::Sample{labels, counter, from_unix_ms(ts_ms)}, ref);
  };
  // 0.5 requests per second: under the threshold of 1/s.
  int64_t t = 0;
  double c = 0;
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(feed(t += 10'000, c += 5).empty());
  // 3 per second from here on: the 1-minute rate crosses 1/s within a few samples.
  std::vector<AlertEvent> fired;
  for (int i = 0; i < 6 && fired.empty(); ++i) fired = feed(t += 10'000, c += 30);
  ASSERT_FALSE(fired.empty());
  EXPECT_EQ(fired.back().to, AlertPhase::kFiring);
  EXPECT_GT(fired.back().value, 1.0) << "the alert carries the rate, not the counter";
  EXPECT_LT(fired.back().value, 3.5);
  // Without a store, an over-time rule cannot judge and stays silent.
  auto storeless = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  EXPECT_TRUE(storeless->ingest(core::Sample{labels, 1e9, from_unix_ms(t += 10'000)}).empty());
}

}  // namespace
}  // namespace tocsin::detect

namespace tocsin::detect {
namespace {

TEST(RuleEngine, TheStarterConfigsRulesAllBuild) {
  test_support::TempDir dir;
  ASSERT_TRUE(config::write_starter_config(dir.path()).has_value());
  auto cfg = config::load_config(dir.path() / "tocsin.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  auto engine = RuleEngine::create(cfg->rules, DetectorRegistry::builtin());
  ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
  EXPECT_EQ((*engine)->rule_count(), cfg->rules.size());
}

}  // namespace
}  // namespace tocsin::detect

namespace tocsin::detect {
namespace {

// Partial snapshot operations, for series that move between replicas (partitioned detection).

config::Rule detector_rule(std::string name, std::string kind,
                           std::vector<std::pair<std::string, std::string>> params) {
  auto r = make_rule("system_load", 0);
  r.name = std::move(name);
  r.detector = config::DetectorConfig{std::move(kind), {}, {}};
  for (auto& [k, v] : params) {
    char* end = nullptr;
    const double n = std::strtod(v.c_str(), &end);
    std::optional<double> number;
    if (!v.empty() && end == v.c_str() + v.size()) number = n;
    r.detector.params[k] = config::DetectorParam{v, number, {}};
  }
  return r;
}

std::vector<config::Rule> baseline_rules() {
  return {detector_rule("Sigma", "sigma", {{"n", "3"}, {"min_samples", "5"}, {"window", "0"}}),
          detector_rule("Ewma", "ewma", {{"n", "3"}, {"min_samples", "5"}, {"alpha", "0.2"}})};
}

uint64_t series_fp(const std::string& service) { return sample(0, 0, service).labels.fingerprint(); }

// 20 samples per series around `level` (± 2), one per second from `from_s`.
void learn(RuleEngine& e, const std::vector<std::string>& services, double level, int64_t from_s) {
  for (int i = 0; i < 20; ++i) {
    for (const auto& svc : services) e.ingest(sample(level + (i % 5) - 2, (from_s + i) * 1000, svc));
  }
}

// The events one sample gives, as (rule, phase, score) — what a detector state decides.
std::vector<std::tuple<std::string, AlertPhase, double>> decide(RuleEngine& e, double value, int64_t ts_ms,
                                                                 const std::string& service) {
  std::vector<std::tuple<std::string, AlertPhase, double>> out;
  for (const auto& ev : e.ingest(sample(value, ts_ms, service))) out.emplace_back(ev.rule, ev.to, ev.score);
  return out;
}

const std::vector<std::string> kFour{"s0", "s1", "s2", "s3"};

TEST(RuleEngineMerge, TakesTheChosenSeriesBaselinesAndLeavesTheOthersAlone) {
  const auto rules = baseline_rules();
  auto a = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  learn(*a, kFour, 100, 100);  // A learned a baseline around 100, later than B's
  auto b = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  learn(*b, kFour, 10, 0);  // B (and its twin, the reference) around 10
  auto reference = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  learn(*reference, kFour, 10, 0);

  std::vector<uint64_t> asked;
  auto taken = b->merge_snapshot(a->snapshot(), [&](uint64_t fp) {
    asked.push_back(fp);
    return fp == series_fp("s0") || fp == series_fp("s1");
  });
  ASSERT_TRUE(taken.has_value()) << taken.error().to_string();
  EXPECT_EQ(*taken, 4u) << "two series × two rules";
  EXPECT_EQ(b->series_count(), 8u);
  // `take` is asked with the fingerprints of the series' labels, as ingest_points() gets them.
  for (const auto& svc : kFour) EXPECT_NE(std::find(asked.begin(), asked.end(), series_fp(svc)), asked.end());

  for (const std::string svc : {"s0", "s1"}) {
    // 101 is ordinary for A's baseline, far out for B's own: no event, as in A.
    EXPECT_TRUE(decide(*b, 101, 200'000, svc).empty()) << svc;
    EXPECT_TRUE(decide(*a, 101, 200'000, svc).empty()) << svc;
    // 130 fires in both, with the same scores.
    const auto merged = decide(*b, 130, 201'000, svc);
    const auto original = decide(*a, 130, 201'000, svc);
    ASSERT_EQ(merged.size(), 4u) << svc;  // pending and firing for each rule
    ASSERT_EQ(merged.size(), original.size()) << svc;
    for (size_t i = 0; i < merged.size(); ++i) {
      EXPECT_EQ(std::get<0>(merged[i]), std::get<0>(original[i]));
      EXPECT_EQ(std::get<1>(merged[i]), std::get<1>(original[i]));
      EXPECT_NEAR(std::get<2>(merged[i]), std::get<2>(original[i]), 1e-12) << svc << " " << std::get<0>(merged[i]);
    }
  }
  for (const std::string svc : {"s2", "s3"}) {
    // Untouched: they decide as B's twin does (101 is far out of a baseline around 10).
    const auto kept = decide(*b, 101, 200'000, svc);
    const auto twin = decide(*reference, 101, 200'000, svc);
    ASSERT_EQ(kept.size(), 4u) << svc;
    ASSERT_EQ(kept.size(), twin.size());
    for (size_t i = 0; i < kept.size(); ++i) {
      EXPECT_EQ(std::get<1>(kept[i]), std::get<1>(twin[i]));
      EXPECT_NEAR(std::get<2>(kept[i]), std::get<2>(twin[i]), 1e-12);
    }
  }
}

TEST(RuleEngineMerge, NewSeriesArriveWithTheirLastSampleAndTimers) {
  auto rule = make_rule("system_load", 0);
  rule.detector = {"silence", {}, {}};
  std::vector<config::Rule> rules{rule};
  auto a = RuleEngine::create(rules, silence_registry()).value();
  a->ingest(sample(1, 1000, "s0"));
  a->ingest(sample(1, 2000, "s1"));
  auto b = RuleEngine::create(rules, silence_registry()).value();
  auto taken = b->merge_snapshot(a->snapshot(), [](uint64_t fp) { return fp == series_fp("s1"); });
  ASSERT_EQ(taken.value(), 1u);
  EXPECT_EQ(b->series_count(), 1u);
  EXPECT_EQ(b->next_due(), from_unix_ms(7000)) << "s1's detector remembers its last sample";
  EXPECT_TRUE(b->ingest(sample(1, 1500, "s1")).empty());
  EXPECT_EQ(b->out_of_order_samples(), 1u) << "older than the merged last sample";
}

TEST(RuleEngineMerge, NewerLocalStateWins) {
  const auto rules = baseline_rules();
  auto a = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  learn(*a, {"s0", "s1"}, 100, 0);  // older than B's s0, newer than B's s1
  auto b = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  learn(*b, {"s0"}, 10, 1000);
  learn(*b, {"s1"}, 10, -1000);
  auto reference = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  learn(*reference, {"s0"}, 10, 1000);

  auto taken = b->merge_snapshot(a->snapshot(), [](uint64_t) { return true; });
  ASSERT_EQ(taken.value(), 2u) << "s1 for both rules; s0 is newer here";
  // s0 kept B's baseline around 10: 101 is far out, as for the twin.
  const auto kept = decide(*b, 101, 2'000'000, "s0");
  const auto twin = decide(*reference, 101, 2'000'000, "s0");
  ASSERT_EQ(kept.size(), 4u);
  ASSERT_EQ(kept.size(), twin.size());
  for (size_t i = 0; i < kept.size(); ++i) EXPECT_NEAR(std::get<2>(kept[i]), std::get<2>(twin[i]), 1e-12);
  // s1 took A's baseline around 100.
  EXPECT_TRUE(decide(*b, 101, 2'000'000, "s1").empty());
  // The same timestamp is not newer either: merging B's own snapshot into itself takes nothing.
  EXPECT_EQ(b->merge_snapshot(b->snapshot(), [](uint64_t) { return true; }).value(), 0u);
}

TEST(RuleEngineMerge, UnreadableBytesChangeNothing) {
  const auto rules = baseline_rules();
  auto a = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  learn(*a, kFour, 100, 100);
  auto b = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  learn(*b, {"s0"}, 10, 0);
  const std::string before = b->snapshot();
  const std::string good = a->snapshot();
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x5a;
  for (const std::string& bad : {std::string(), std::string("garbage"), good.substr(0, good.size() - 3), good + "x",
                                 flipped, std::string(1, '\0') + good.substr(1)}) {
    auto taken = b->merge_snapshot(bad, [](uint64_t) { return true; });
    ASSERT_FALSE(taken.has_value());
    EXPECT_NE(taken.error().message().find("corrupt"), std::string::npos) << taken.error().message();
  }
  EXPECT_EQ(b->snapshot(), before);
  EXPECT_EQ(b->series_count(), 2u);
}

TEST(RuleEngineMerge, AnAlertRestoredBeforeItsSeriesStateArrivesTakesEffect) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9)};
  auto a = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  const auto fired = a->ingest(sample(0.95, 1000));
  ASSERT_EQ(fired.back().to, AlertPhase::kFiring);
  auto b = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  b->restore_some({{fired.back().fingerprint, AlertPhase::kFiring, from_unix_ms(1000), from_unix_ms(1000), 0.95}});
  ASSERT_EQ(b->merge_snapshot(a->snapshot(), [](uint64_t) { return true; }).value(), 1u);
  EXPECT_EQ(b->health()[0].firing, 1u);
  auto events = b->ingest(sample(0.1, 2000));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, AlertPhase::kFiring);
  EXPECT_EQ(events[0].to, AlertPhase::kResolved);
}

TEST(RuleEngineDrop, DroppedSeriesLoseTheirStateAndTheirTimers) {
  std::vector<config::Rule> rules{detector_rule("Gone", "absent", {{"after", "5s"}}),
                                  make_rule("system_load", 0.9)};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  engine->ingest(sample(0.95, 1000, "s0"));  // HighLoad fires for both
  engine->ingest(sample(0.95, 2000, "s1"));
  ASSERT_EQ(engine->health()[1].firing, 2u);
  EXPECT_EQ(engine->next_due(), from_unix_ms(6000));

  std::vector<uint64_t> asked;
  const size_t dropped = engine->drop_series([&](uint64_t fp) {
    asked.push_back(fp);
    return fp == series_fp("s0");
  });
  EXPECT_EQ(dropped, 2u) << "s0's state in both rules, firing included";
  EXPECT_EQ(asked.size(), 2u) << "asked once per series";
  EXPECT_EQ(engine->series_count(), 2u);
  EXPECT_EQ(engine->health()[1].firing, 1u);
  // s0's `absent` timer (due at 6 s) is gone; s1's (7 s) fires.
  EXPECT_EQ(engine->next_due(), from_unix_ms(7000));
  EXPECT_TRUE(engine->eval(from_unix_ms(6500)).empty());
  const auto events = engine->eval(from_unix_ms(7000));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].to, AlertPhase::kFiring);
  EXPECT_EQ(events[1].rule, "Gone");
  EXPECT_EQ(events[1].labels.get_or("service", ""), "s1");
  // A dropped series seen again starts afresh (its cached rule list went with its state).
  const auto again = engine->ingest(sample(0.95, 3000, "s0"));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].from, AlertPhase::kInactive);
  EXPECT_EQ(engine->series_count(), 4u);
  EXPECT_EQ(engine->drop_series([](uint64_t) { return false; }), 0u);
}

// The timers of restored alerts: a pending alert of a series the engine knows already (from a
// snapshot, or replayed samples) fires when its `for` has elapsed, without a sample.
TEST(RuleEngineRestoreSome, ARestoredPendingAlertOfAKnownSeriesFiresOnItsTimer) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9, minutes(1))};
  auto former = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  const auto pending = former->ingest(sample(0.95, 1000)).back();
  ASSERT_EQ(pending.to, AlertPhase::kPending);
  const RestoredAlert restored{pending.fingerprint, AlertPhase::kPending, from_unix_ms(1000), from_unix_ms(1000), 0.95};
  for (const bool some : {false, true}) {
    SCOPED_TRACE(some ? "restore_some" : "restore");
    auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
    ASSERT_TRUE(engine->load_snapshot(former->snapshot()));  // known, inactive, no timer
    ASSERT_FALSE(engine->next_due().has_value());
    if (some) {
      engine->restore_some({restored});
    } else {
      engine->restore({restored});
    }
    EXPECT_EQ(engine->next_due(), from_unix_ms(61'000));
    EXPECT_TRUE(engine->eval(from_unix_ms(60'999)).empty());
    const auto events = engine->eval(from_unix_ms(61'000));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].from, AlertPhase::kPending);
    EXPECT_EQ(events[0].to, AlertPhase::kFiring);
    EXPECT_EQ(events[0].fingerprint, pending.fingerprint);
    EXPECT_FALSE(engine->next_due().has_value());
  }
}

TEST(RuleEngineRestoreSome, SeedsTheListedAlertsAndKeepsTheOthers) {
  std::vector<config::Rule> rules{make_rule("system_load", 0.9)};
  auto engine = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  const auto s0 = engine->ingest(sample(0.95, 1000, "s0")).back();
  engine->ingest(sample(0.95, 1000, "s1"));
  engine->ingest(sample(0.1, 1000, "s2"));  // inactive here, firing at its former owner
  auto former = RuleEngine::create(rules, DetectorRegistry::builtin()).value();
  const auto s2 = former->ingest(sample(0.95, 500, "s2")).back();
  const auto s3 = former->ingest(sample(0.95, 500, "s3")).back();  // not seen here yet

  engine->restore_some({{s2.fingerprint, AlertPhase::kFiring, from_unix_ms(500), from_unix_ms(500), 0.95},
                        {s3.fingerprint, AlertPhase::kFiring, from_unix_ms(500), from_unix_ms(500), 0.95},
                        {s0.fingerprint, AlertPhase::kInactive, {}, {}, 0}});
  EXPECT_EQ(engine->health()[0].firing, 2u) << "s1 (unlisted) keeps firing; s2 now fires; s0 listed inactive";
  // s1 still fires: a sample under the threshold resolves it.
  auto events = engine->ingest(sample(0.1, 2000, "s1"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, AlertPhase::kResolved);
  // s0 is inactive: a crossing sample starts it again.
  events = engine->ingest(sample(0.95, 2000, "s0"));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].from, AlertPhase::kInactive);
  // s3 takes its phase when first seen.
  events = engine->ingest(sample(0.1, 2000, "s3"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, AlertPhase::kFiring);
  EXPECT_EQ(events[0].to, AlertPhase::kResolved);
  EXPECT_EQ(events[0].fingerprint, s3.fingerprint);
}

}  // namespace
}  // namespace tocsin::detect
