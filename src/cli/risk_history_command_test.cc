#include "cli/risk_history_command.h"

#include <gtest/gtest.h>

#include <sstream>

#include "risk/table.h"

namespace tocsin::cli {
namespace {

TEST(RiskHistory, EachIncidentIsARowTheRiskToolsCanRead) {
  store::Incident a;
  a.id = 1;
  a.plan = "system_crash";
  a.severity = "critical";
  a.opened_at = core::parse_rfc3339("2026-03-02T08:30:00Z").value();  // a Monday
  a.acknowledged_at = a.opened_at + std::chrono::minutes(4);
  a.resolved_at = a.opened_at + std::chrono::hours(1);
  a.alerts = {{1, core::Labels{{"service", "api"}}, store::AlertState::kResolved, a.opened_at},
              {2, core::Labels{{"service", "db"}}, store::AlertState::kFiring, a.opened_at}};
  store::Incident b;
  b.id = 2;
  b.plan = "";
  b.severity = "minor";
  b.opened_at = core::parse_rfc3339("2026-03-07T23:05:00Z").value();  // a Saturday, never acknowledged
  store::Incident drill = a;  // a rehearsal: not a row
  drill.id = 3;
  drill.drill = "1";
  const std::string csv = history_csv({a, b, drill});
  EXPECT_EQ(csv,
            "id,opened_at,weekday,hour,severity,alerts,services,ack_seconds,resolve_seconds,incident_type\n"
            "1,2026-03-02T08:30:00Z,1,8,critical,2,api db,240,3600,system_crash\n"
            "2,2026-03-07T23:05:00Z,6,23,minor,0,,,,none\n");
  // What `tocsin risk train` reads: unacknowledged times are missing values, the label is text.
  std::istringstream in(csv);
  auto table = risk::read_csv(in, risk::ReadOptions{});
  ASSERT_TRUE(table.has_value()) << table.error().to_string();
  EXPECT_EQ(table->rows(), 2u);
  const auto ack = table->require("ack_seconds").value();
  EXPECT_TRUE(table->columns[ack].missing(1));
}

}  // namespace
}  // namespace tocsin::cli
