#include "cli/risk_register_command.h"

#include <gtest/gtest.h>

#include "core/time.h"

namespace tocsin::cli {
namespace {

using namespace std::chrono_literals;

TEST(RiskRegisterCommand, TableHasOneRowPerRiskAndASummary) {
  config::Risk a;
  a.id = "db-crash";
  a.title = "Database crashes";
  a.likelihood = 0.8;
  a.impact = 5;
  a.owner = "bob";
  a.plan = "system_crash";
  a.review = std::chrono::sys_days(2026y / 11 / 1);
  config::Risk b = a;
  b.id = "leak";
  b.likelihood.reset();
  b.likelihood_from.emplace();
  b.likelihood_from->model = "/m";
  b.likelihood_from->cls = "breach";
  b.plan.clear();
  b.review = std::chrono::sys_days(2027y / 1 / 1);
  const auto reg = risk_register::build_register({b, a}, core::parse_rfc3339("2026-12-04T10:00:00Z").value());
  const std::string table = format_register_table(reg);
  EXPECT_TRUE(table.starts_with("#  ID        LEVEL     SCORE  LIKELIHOOD  IMPACT  OWNER  PLAN"));
  EXPECT_NE(table.find("1  db-crash  critical   4.00  0.80             5  bob    system_crash  2026-11-01 OVERDUE  "
                       "Database crashes\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("2  leak      -             -  ? (model)        5  bob    -             2027-01-01          "), std::string::npos) << table;
  EXPECT_TRUE(table.ends_with("2 risks: 1 critical, 1 with a model likelihood not known yet; 1 review overdue\n"))
      << table;
}

}  // namespace
}  // namespace tocsin::cli
