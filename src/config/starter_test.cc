#include "config/starter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "config/loader.h"
#include "test_support/temp_dir.h"

namespace tocsin::config {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using test_support::TempDir;

TEST(Starter, WritesAConfigThatLoadsCleanly) {
  TempDir dir;
  ASSERT_TRUE(write_starter_config(dir.path()).has_value());
  for (const char* f :
       {"tocsin.yaml", "plans/system_crash.yaml", "plans/data_breach.yaml", "plans/network_attack.yaml"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(dir.path() / f)) << f;
  }
  auto loaded = load_config(dir.path() / "tocsin.yaml");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().to_string();
  const Config& cfg = *loaded;

  for (const char* id : {"alice", "bob", "carol"}) {
    ASSERT_NE(cfg.person(id), nullptr) << id;
    EXPECT_EQ(cfg.person(id)->contact.webhook, std::string("http://127.0.0.1:9000/") + id);
  }
  const Channel* hook = cfg.channel("ops-hook");
  ASSERT_NE(hook, nullptr);
  EXPECT_EQ(hook->url, "http://127.0.0.1:9000/hook");
  EXPECT_EQ(hook->format, WebhookFormat::kAlertmanager);
  EXPECT_TRUE(hook->send_resolved);
  EXPECT_EQ(cfg.alerting.resolve_timeout, minutes(5));
  ASSERT_NE(cfg.time_interval("weekends"), nullptr);
  EXPECT_EQ(cfg.time_interval("weekends")->intervals.at(0).weekdays.size(), 2u);
  ASSERT_NE(cfg.schedule("ops-primary"), nullptr);
  EXPECT_EQ(cfg.schedule("ops-primary")->layers.at(0).rotation, Rotation::kWeekly);
  const EscalationPolicy* ops = cfg.escalation_policy("ops");
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->repeat, 2);
  EXPECT_EQ(ops->repeat_every, minutes(30));

  // Thresholds, a μ + nσ baseline, an over-time rule and the auto detector.
  ASSERT_EQ(cfg.rules.size(), 6u);
  EXPECT_EQ(cfg.rules[3].detector.kind, "sigma");
  EXPECT_EQ(cfg.rules[4].select, "rate(http_requests_errors_total[5m])");
  EXPECT_EQ(cfg.rules[5].detector.kind, "auto");
  EXPECT_EQ(cfg.rules[0].name, "HighLoad");
  EXPECT_EQ(cfg.rules[0].select, "system_load");
  EXPECT_EQ(cfg.rules[0].detector.params.at("above").number, 0.9);
  EXPECT_EQ(cfg.rules[0].for_duration, minutes(1));
  EXPECT_EQ(cfg.rules[0].severity, "major");
  EXPECT_EQ(cfg.rules[0].labels.at("incident_type"), "system_crash");
  EXPECT_EQ(cfg.rules[1].labels.at("incident_type"), "data_breach");
  EXPECT_EQ(cfg.rules[2].labels.at("incident_type"), "network_attack");

  // Plans load in file-name order from plans/*.yaml.
  ASSERT_EQ(cfg.plans.size(), 3u);
  EXPECT_EQ(cfg.plans[0].id, "data_breach");
  EXPECT_EQ(cfg.plans[1].id, "network_attack");
  EXPECT_EQ(cfg.plans[2].id, "system_crash");

  const Plan* crash = cfg.plan("system_crash");
  ASSERT_NE(crash, nullptr);
  std::vector<std::string> steps;
  for (const Step& s : crash->steps) steps.push_back(s.id);
  EXPECT_EQ(steps, (std::vector<std::string>{"activate", "triage", "failover", "recover", "postmortem"}));
  ASSERT_TRUE(crash->steps[2].action.has_value());
  EXPECT_TRUE(crash->steps[2].action->approve);
  EXPECT_EQ(crash->clocks.at(0).name, "status-update");
  EXPECT_EQ(crash->clocks.at(0).every, minutes(30));

  const Plan* breach = cfg.plan("data_breach");
  ASSERT_NE(breach, nullptr);
  std::vector<std::string> roles;
  for (const auto& r : breach->roles) roles.push_back(r.first);
  EXPECT_EQ(roles, (std::vector<std::string>{"commander", "security_lead", "legal"}));
  bool regulator_clock = false;
  for (const PlanClock& c : breach->clocks) {
    regulator_clock |= c.within == hours(72) && c.from == "breach_confirmed" &&
                       c.until == "task_done:notify_regulator" && c.owner == "legal";
  }
  EXPECT_TRUE(regulator_clock);
  steps.clear();
  for (const Step& s : breach->steps) steps.push_back(s.id);
  EXPECT_EQ(steps, (std::vector<std::string>{"activate", "investigate", "confirm", "contain", "restore",
                                             "notify_regulator", "notify_users", "postmortem"}));
  ASSERT_TRUE(breach->steps[3].action.has_value());
  EXPECT_EQ(breach->steps[3].action->type, StepAction::Type::kCommand);

  const Plan* attack = cfg.plan("network_attack");
  ASSERT_NE(attack, nullptr);
  steps.clear();
  for (const Step& s : attack->steps) steps.push_back(s.id);
  EXPECT_EQ(steps, (std::vector<std::string>{"detect", "rate_limit", "block_sources", "verify", "postmortem"}));
  for (const Plan& p : cfg.plans) {
    EXPECT_TRUE(p.reviewed.has_value()) << p.id;
    EXPECT_GT(p.review_every, hours(0)) << p.id;
  }
  for (const Plan& p : cfg.plans) EXPECT_EQ(p.escalation, "ops") << p.id;
  // Each plan is drilled on a cadence with its own scenario next to tocsin.yaml.
  for (const Plan& p : cfg.plans) {
    ASSERT_TRUE(p.drill.has_value()) << p.id;
    EXPECT_EQ(p.drill->scenario, (dir.path() / "scenarios" / (p.id + ".yaml")).lexically_normal().string());
  }
  EXPECT_EQ(crash->drill->every, hours(30 * 24));
  EXPECT_EQ(breach->drill->every, hours(90 * 24));

  // A risk register linked to the three shipped plans.
  ASSERT_EQ(cfg.risks.size(), 4u);
  std::vector<std::string> linked;
  for (const Risk& r : cfg.risks) {
    EXPECT_TRUE(r.likelihood.has_value()) << r.id;
    EXPECT_GE(r.impact, 1) << r.id;
    EXPECT_NE(cfg.person(r.owner), nullptr) << r.id;
    EXPECT_FALSE(r.mitigation.empty()) << r.id;
    if (!r.plan.empty()) linked.push_back(r.plan);
  }
  EXPECT_EQ(linked, (std::vector<std::string>{"system_crash", "data_breach", "network_attack"}));
  EXPECT_EQ(cfg.risks[0].id, "primary-db-crash");
  EXPECT_EQ(cfg.risks[0].likelihood, 0.3);
  EXPECT_EQ(cfg.risks[0].impact, 5);
}

TEST(Starter, RefusesToOverwrite) {
  TempDir dir;
  ASSERT_TRUE(write_starter_config(dir.path()).has_value());
  auto again = write_starter_config(dir.path());
  ASSERT_FALSE(again.has_value());
  EXPECT_NE(again.error().message().find((dir.path() / "tocsin.yaml").string()), std::string::npos)
      << again.error().to_string();
}

TEST(Starter, RefusesBeforeWritingAnything) {
  TempDir dir;
  const auto existing = dir.write("plans/data_breach.yaml", "id: mine\n");
  auto result = write_starter_config(dir.path());
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message().find(existing.string()), std::string::npos) << result.error().to_string();
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "tocsin.yaml"));
}

TEST(Starter, CreatesTheDirectory) {
  TempDir dir;
  ASSERT_TRUE(write_starter_config(dir.path() / "new" / "conf").has_value());
  EXPECT_TRUE(load_config(dir.path() / "new" / "conf" / "tocsin.yaml").has_value());
}

}  // namespace
}  // namespace tocsin::config
