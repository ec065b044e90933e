#include "alerting/inhibitor.h"

#include <gtest/gtest.h>

#include "alerting/test_util.h"

namespace tocsin::alerting {
namespace {

using testing::alert;
using testing::kT0;
using std::chrono::minutes;

config::InhibitRule rule(std::vector<std::string> source, std::vector<std::string> target,
                         std::vector<std::string> equal) {
  config::InhibitRule r;
  for (const auto& m : source) r.source_matchers.push_back(core::Matcher::parse(m).value());
  for (const auto& m : target) r.target_matchers.push_back(core::Matcher::parse(m).value());
  r.equal = std::move(equal);
  return r;
}

TEST(Inhibitor, AFiringSourceWithEqualLabelsMutesTheTarget) {
  Inhibitor inhibitor({rule({R"(severity="critical")"}, {R"(severity="warning")"}, {"service"})});
  const Alert source = alert({{"alertname", "Down"}, {"severity", "critical"}, {"service", "api"}}, kT0, std::nullopt, kT0);
  inhibitor.observe(source);
  EXPECT_EQ(inhibitor.inhibited_by({{"severity", "warning"}, {"service", "api"}}, kT0), source.fingerprint);
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "warning"}, {"service", "web"}}, kT0));
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "info"}, {"service", "api"}}, kT0));
}

TEST(Inhibitor, AResolvedSourceReleasesTheTarget) {
  Inhibitor inhibitor({rule({R"(severity="critical")"}, {R"(severity="warning")"}, {})});
  Alert source = alert({{"severity", "critical"}}, kT0, kT0 + minutes(5), kT0);
  inhibitor.observe(source);
  EXPECT_TRUE(inhibitor.inhibited_by({{"severity", "warning"}}, kT0 + minutes(4)));
  // Resolved by its end time, without being re-sent.
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "warning"}}, kT0 + minutes(5)));
  source.ends_at = kT0 + minutes(1);
  inhibitor.observe(source);
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "warning"}}, kT0 + minutes(2)));
}

TEST(Inhibitor, MissingEqualLabelsCountAsEqual) {
  Inhibitor inhibitor({rule({R"(severity="critical")"}, {R"(severity="warning")"}, {"cluster"})});
  inhibitor.observe(alert({{"severity", "critical"}}, kT0, std::nullopt, kT0));
  EXPECT_TRUE(inhibitor.inhibited_by({{"severity", "warning"}}, kT0));
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "warning"}, {"cluster", "eu"}}, kT0));
}

TEST(Inhibitor, ADrillAlertNeverMutesARealOneNorARealOneADrillOne) {
  Inhibitor inhibitor({rule({R"(severity="critical")"}, {R"(severity="warning")"}, {"service"})});
  const Alert drill = alert({{"severity", "critical"}, {"service", "api"}, {"drill", "3"}}, kT0, std::nullopt, kT0);
  inhibitor.observe(drill);
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "warning"}, {"service", "api"}}, kT0));
  EXPECT_EQ(inhibitor.inhibited_by({{"severity", "warning"}, {"service", "api"}, {"drill", "3"}}, kT0),
            drill.fingerprint);
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "warning"}, {"service", "api"}, {"drill", "4"}}, kT0));
  inhibitor.observe(alert({{"severity", "critical"}, {"service", "web"}}, kT0, std::nullopt, kT0));
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "warning"}, {"service", "web"}, {"drill", "3"}}, kT0));
}

TEST(Inhibitor, AlertsMatchingBothSidesDoNotMuteEachOther) {
  Inhibitor inhibitor({rule({R"(team="ops")"}, {R"(team="ops")"}, {})});
  const core::Labels a{{"team", "ops"}, {"alertname", "A"}};
  const core::Labels b{{"team", "ops"}, {"alertname", "B"}};
  inhibitor.observe(alert(a, kT0, std::nullopt, kT0));
  inhibitor.observe(alert(b, kT0, std::nullopt, kT0));
  EXPECT_FALSE(inhibitor.inhibited_by(a, kT0));
  EXPECT_FALSE(inhibitor.inhibited_by(b, kT0));
}

TEST(Inhibitor, AnAlertThatStopsMatchingTheSourceIsNoLongerOne) {
  Inhibitor inhibitor({rule({R"(severity="critical")"}, {R"(severity="warning")"}, {})});
  Alert source = alert({{"alertname", "X"}, {"severity", "critical"}}, kT0, std::nullopt, kT0);
  inhibitor.observe(source);
  inhibitor.forget(source.fingerprint);
  EXPECT_FALSE(inhibitor.inhibited_by({{"severity", "warning"}}, kT0));
}

}  // namespace
}  // namespace tocsin::alerting
