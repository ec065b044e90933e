// A scored run as a history record, read back, and compared with the earlier runs.
#include "drill/history.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace tocsin::drill {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::string_view kConfig = R"(
people:
  - {id: alice, contact: {webhook: "http://hooks/alice"}}
  - {id: bob, contact: {webhook: "http://hooks/bob"}}
)";

Scorecard card(int score, Duration ack) {
  Scorecard c;
  c.scenario = "crash-drill";
  c.plan = "crash";
  c.seed = 7;
  c.start = core::parse_rfc3339("2026-03-03T09:30:00Z").value();
  c.end = c.start + std::chrono::hours(6);
  c.time_to_detect = minutes(1);
  c.time_to_acknowledge = ack;
  c.score = score;
  c.expectations = {{.name = "acknowledged_within", .expected = "5m", .actual = "2m", .met = true},
                    {.name = "resolved_within", .expected = "2h", .actual = "3h", .met = false}};
  c.expectations_met = 1;
  return c;
}

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = config::load_config_string(kConfig, "test.yaml", "");
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::move(*cfg);
  }
  config::Config config_;
};

TEST_F(HistoryTest, AScoredRunBecomesAValidHistoryRecordAndReadsBack) {
  Scenario s;
  const Scorecard c = card(74, minutes(2) + seconds(30));
  store::DrillRun run = to_drill_run(c, s, config_, "simulated");
  EXPECT_EQ(run.scenario, "crash-drill");
  EXPECT_EQ(run.plan, "crash");
  EXPECT_EQ(run.mode, "simulated");
  EXPECT_EQ(run.seed, 7u);
  EXPECT_EQ(run.participants, (std::vector<std::string>{"alice", "bob"}));  // none named: everyone
  EXPECT_EQ(run.started_at, c.start);
  EXPECT_EQ(run.finished_at, c.end);
  EXPECT_EQ(run.score, 74);
  EXPECT_FALSE(run.passed);  // one expectation unmet
  EXPECT_EQ(run.scorecard_json, render_json(c));
  run.ran_at = c.end;
  EXPECT_TRUE(store::validate_drill_run(run).has_value());

  s.participants = {"bob"};
  EXPECT_EQ(to_drill_run(c, s, config_, "simulated").participants, (std::vector<std::string>{"bob"}));

  run.id = 3;
  auto past = past_runs({run});
  ASSERT_TRUE(past.has_value()) << past.error().to_string();
  ASSERT_EQ(past->size(), 1u);
  EXPECT_EQ(past->front().id, 3);
  EXPECT_EQ(past->front().score, 74);
  EXPECT_EQ(past->front().time_to_acknowledge, minutes(2) + seconds(30));
  EXPECT_EQ(past->front().time_to_detect, minutes(1));
  EXPECT_FALSE(past->front().time_to_mitigate.has_value());
}

TEST_F(HistoryTest, AnUnreadableStoredScorecardIsAnErrorNamingTheRun) {
  store::DrillRun run;
  run.id = 9;
  run.scorecard_json = R"({"time_to_acknowledge_seconds": "soon"})";
  auto past = past_runs({run});
  ASSERT_FALSE(past.has_value());
  EXPECT_NE(past.error().message().find("drill run 9"), std::string::npos) << past.error().message();
  run.scorecard_json = "{";
  EXPECT_FALSE(past_runs({run}).has_value());
}

TEST_F(HistoryTest, TheComparisonShowsTheScoreAndTimesAgainstTheNewestEarlierRun) {
  EXPECT_EQ(render_comparison(card(90, minutes(1)), {}), "");  // a first run has nothing to compare

  PastRun older;
  older.id = 1;
  older.ran_at = core::parse_rfc3339("2026-12-01T10:00:00Z").value();
  older.mode = "simulated";
  older.seed = 7;
  older.score = 80;
  older.passed = true;
  older.time_to_acknowledge = minutes(4);
  PastRun newer = older;
  newer.id = 2;
  newer.ran_at = core::parse_rfc3339("2026-12-02T10:00:00Z").value();
  newer.score = 70;
  newer.time_to_acknowledge = minutes(3);
  const std::string text = render_comparison(card(90, minutes(1)), {newer, older});
  EXPECT_NE(text.find("Compared with earlier runs of crash-drill"), std::string::npos) << text;
  EXPECT_NE(text.find("90 vs 70 in run #2  (+20)"), std::string::npos) << text;
  EXPECT_NE(text.find("1m vs 3m  (2m faster)"), std::string::npos) << text;
  EXPECT_NE(text.find("#2     2026-12-02T10:00:00Z"), std::string::npos) << text;
  EXPECT_NE(text.find("#1     2026-12-01T10:00:00Z"), std::string::npos) << text;

  const std::string worse = render_comparison(card(60, minutes(5)), {newer}, false, 1);
  EXPECT_NE(worse.find("60 vs 70 in run #2  (-10)"), std::string::npos) << worse;
  EXPECT_NE(worse.find("(2m slower)"), std::string::npos) << worse;

  const std::string capped = render_comparison(card(60, minutes(5)), {newer, older}, false, 1);
  EXPECT_NE(capped.find("… 1 older"), std::string::npos) << capped;
  EXPECT_EQ(capped.find("#1 "), std::string::npos) << capped;
}

}  // namespace
}  // namespace tocsin::drill
