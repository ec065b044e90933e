#include "risk_register/register.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace tocsin::risk_register {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;

config::Risk manual(std::string id, double likelihood, int impact, sys_days review = sys_days(2027y / 1 / 1)) {
  config::Risk r;
  r.id = std::move(id);
  r.title = "Risk " + r.id;
  r.likelihood = likelihood;
  r.impact = impact;
  r.owner = "alice";
  r.review = review;
  return r;
}

config::Risk from_model(std::string id, int impact, std::string cls) {
  config::Risk r = manual(std::move(id), 0, impact);
  r.likelihood.reset();
  config::RiskModelRef ref;
  ref.model = "/models/m.json";
  ref.cls = std::move(cls);
  r.likelihood_from = std::move(ref);
  return r;
}

const core::Timestamp kNow = core::parse_rfc3339("2026-12-04T10:00:00Z").value();

TEST(RiskRegister, ScoreIsLikelihoodTimesImpact) {
  const Register reg = build_register({manual("a", 0.3, 5), manual("b", 0.1, 3)}, kNow);
  ASSERT_EQ(reg.entries.size(), 2u);
  EXPECT_EQ(reg.entries[0].id, "a");
  EXPECT_EQ(reg.entries[0].score, 1.5);
  EXPECT_EQ(reg.entries[0].level, Level::kMedium);
  EXPECT_EQ(reg.entries[0].source, Source::kManual);
  // Rounded: 0.1 × 3 is 0.30000000000000004 in doubles.
  EXPECT_EQ(reg.entries[1].score, 0.3);
  EXPECT_EQ(reg.generated_at, kNow);
}

TEST(RiskRegister, LevelBandsIncludeTheirLowerEdge) {
  EXPECT_EQ(level_of(0), Level::kLow);
  EXPECT_EQ(level_of(0.999), Level::kLow);
  EXPECT_EQ(level_of(1.0), Level::kMedium);
  EXPECT_EQ(level_of(1.99), Level::kMedium);
  EXPECT_EQ(level_of(2.0), Level::kHigh);
  EXPECT_EQ(level_of(3.49), Level::kHigh);
  EXPECT_EQ(level_of(3.5), Level::kCritical);
  EXPECT_EQ(level_of(5), Level::kCritical);
  EXPECT_EQ(level_name(Level::kCritical), "critical");
  // Band edges reached through a product of doubles land on the documented side.
  const Register reg = build_register({manual("m", 0.2, 5), manual("h", 0.4, 5), manual("c", 0.7, 5)}, kNow);
  EXPECT_EQ(reg.entries[0].level, Level::kCritical);
  EXPECT_EQ(reg.entries[1].level, Level::kHigh);
  EXPECT_EQ(reg.entries[2].level, Level::kMedium);
}

TEST(RiskRegister, LikelihoodBandsOfWidthOneFifth) {
  EXPECT_EQ(likelihood_band(0), 0);
  EXPECT_EQ(likelihood_band(0.19), 0);
  EXPECT_EQ(likelihood_band(0.2), 1);
  EXPECT_EQ(likelihood_band(0.5), 2);
  EXPECT_EQ(likelihood_band(0.8), 4);
  EXPECT_EQ(likelihood_band(1.0), 4);
  EXPECT_EQ(likelihood_band_name(0), "rare");
  EXPECT_EQ(likelihood_band_name(4), "almost certain");
}

TEST(RiskRegister, SortedByScoreThenImpactThenIdWithUnknownScoresLast) {
  const Register reg = build_register({from_model("model", 5, "crash"), manual("low", 0.1, 1), manual("b", 0.5, 2),
                                       manual("a", 0.25, 4), manual("top", 0.9, 5), manual("c", 0.5, 2)},
                                      kNow);
  std::vector<std::string> ids;
  for (const Entry& e : reg.entries) ids.push_back(e.id);
  // a (1.0, impact 4) ties b and c (1.0, impact 2) on score and wins on impact; b before c by id.
  EXPECT_EQ(ids, (std::vector<std::string>{"top", "a", "b", "c", "low", "model"}));
}

TEST(RiskRegister, ModelLikelihoodIsUnknownUntilAModelAnswers) {
  const std::vector<config::Risk> risks{from_model("m", 4, "breach")};
  const Register unwired = build_register(risks, kNow);
  ASSERT_EQ(unwired.entries.size(), 1u);
  EXPECT_EQ(unwired.entries[0].source, Source::kModel);
  EXPECT_FALSE(unwired.entries[0].likelihood.has_value());
  EXPECT_FALSE(unwired.entries[0].score.has_value());
  EXPECT_FALSE(unwired.entries[0].level.has_value());

  const Register wired = build_register(risks, kNow, [](const config::RiskModelRef& ref) -> std::optional<double> {
    return ref.cls == "breach" ? std::optional(0.6) : std::nullopt;
  });
  EXPECT_EQ(wired.entries[0].source, Source::kModel);
  EXPECT_EQ(wired.entries[0].likelihood, 0.6);
  EXPECT_EQ(wired.entries[0].score, 2.4);
  EXPECT_EQ(wired.entries[0].level, Level::kHigh);

  // An answer that is not a probability is no answer.
  const Register bad = build_register(risks, kNow, [](const config::RiskModelRef&) { return std::optional(1.7); });
  EXPECT_FALSE(bad.entries[0].score.has_value());
}

TEST(RiskRegister, ReviewIsOverdueOnlyAfterItsDate) {
  const Register reg = build_register({manual("past", 0.5, 3, sys_days(2026y / 12 / 3)),
                                       manual("today", 0.5, 2, sys_days(2026y / 12 / 4)),
                                       manual("future", 0.5, 1, sys_days(2027y / 1 / 1))},
                                      kNow);
  EXPECT_EQ(reg.entries[0].id, "past");
  EXPECT_TRUE(reg.entries[0].review_overdue);
  EXPECT_FALSE(reg.entries[1].review_overdue);
  EXPECT_FALSE(reg.entries[2].review_overdue);
  EXPECT_EQ(format_date(reg.entries[0].review), "2026-12-03");
}

}  // namespace
}  // namespace tocsin::risk_register
