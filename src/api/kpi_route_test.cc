// GET /api/v1/kpi over a real engine (SQLite in a temp dir, simulated clock): incidents opened by
// samples, acknowledged and resolved through the API, then the KPI document; bad parameters; and
// the cached KPI gauges of /metrics (report/kpi_metrics.h) on the same store.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/router_fixture.h"
#include "report/kpi_metrics.h"
#include "test_support/xml_check.h"

namespace tocsin::api {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kConfig = R"(
people: [{id: alice}]
rules:
  - {name: HighLoad, select: system_load, detector: {kind: threshold, above: 0.9}, labels: {incident_type: crash}}
plans:
  - id: crash
    match: ['incident_type="crash"']
    severity: critical
    roles: {commander: "person:alice"}
    steps:
      - {id: triage, title: Triage, owner: commander, due: 5m}
)";

class KpiRouteTest : public RouterFixture {
 protected:
  void SetUp() override { start(kConfig); }

  json kpi(std::map<std::string, std::string> query = {}) {
    auto r = call("GET", "/api/v1/kpi", "", std::move(query));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
  void push(std::string_view host, std::string_view service) {
    auto r = call("POST", "/api/v1/push",
                  fmt::format(R"([{{"name":"system_load","labels":{{"host":"{}","service":"{}"}},"value":0.95}}])",
                              host, service));
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // 10:00 h1 (service api) opens incident 1; acked 10:02, triage done 10:04 (due 10:05), resolved
  // 10:12. 10:30 h2 (service db) opens incident 2 (1 is resolved), left open; its triage is due
  // 10:35 and still open at 10:40.
  void history() {
    push("h1", "api");
    clock_.advance(2min);
    ASSERT_EQ(call("POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})").status, 200);
    clock_.advance(2min);
    ASSERT_EQ(call("POST", "/api/v1/incidents/1/tasks/triage/done", R"({"actor":"alice"})").status, 200);
    clock_.advance(8min);
    ASSERT_EQ(call("POST", "/api/v1/incidents/1/resolve", R"({"actor":"alice"})").status, 200);
    clock_.advance(18min);
    push("h2", "db");
    clock_.advance(10min);
  }
};

TEST_F(KpiRouteTest, NumbersFromIncidentsDrivenThroughTheApi) {
  history();
  const json doc = kpi({{"since", "1h"}, {"by", "service"}, {"period", "day"}});
  EXPECT_EQ(doc["until"], "2026-12-04T10:40:00Z");  // the engine's clock, not the machine's
  EXPECT_EQ(doc["since"], "2026-12-04T09:40:00Z");
  EXPECT_EQ(doc["by"], "service");
  EXPECT_EQ(doc["period"], "day");
  const json& k = doc["overall"];
  EXPECT_EQ(k["incidents"], 2);
  EXPECT_EQ(k["acknowledged"], 1);
  EXPECT_EQ(k["resolved"], 1);
  EXPECT_EQ(k["mtta_seconds"], 120.0);      // 10:00 → 10:02
  EXPECT_EQ(k["mttr_seconds"], 720.0);      // 10:00 → 10:12
  EXPECT_EQ(k["mtbf_seconds"], 1800.0);     // 10:00 → 10:30
  EXPECT_EQ(k["resolution_ratio"], 0.5);    // 1 of 2
  EXPECT_EQ(k["on_time_step_ratio"], 0.5);  // incident 1's triage on time; incident 2's overdue
  EXPECT_EQ(k["escalation_rate"], 0.0);     // the plan has no escalation policy
  EXPECT_EQ(k["alerts_per_incident"], 1.0);
  EXPECT_EQ(k["flapping_alerts"], 0);
  ASSERT_EQ(doc["groups"].size(), 2u);
  EXPECT_EQ(doc["groups"][0]["key"], "api");
  EXPECT_EQ(doc["groups"][0]["kpi"]["mttr_seconds"], 720.0);
  EXPECT_EQ(doc["groups"][1]["key"], "db");
  EXPECT_EQ(doc["groups"][1]["kpi"]["mtta_seconds"], nullptr);
  ASSERT_EQ(doc["trend"].size(), 1u);  // 09:40 to 10:40 is within one UTC day
  EXPECT_EQ(doc["trend"][0]["kpi"]["incidents"], 2);
  EXPECT_EQ(doc["drills"]["runs"], 0);
  EXPECT_EQ(doc["drills"]["mean_score"], nullptr);

  // Defaults: the 30 days before now, per week, no grouping.
  const json def = kpi();
  EXPECT_EQ(def["since"], "2026-11-04T10:40:00Z");
  EXPECT_EQ(def["period"], "week");
  EXPECT_EQ(def["by"], nullptr);
  EXPECT_EQ(def["groups"], json::array());
  EXPECT_EQ(def["overall"], k);
  EXPECT_EQ(def["trend"].size(), 5u);  // weeks from Mon 11-02 to Mon 11-30, partial first one
  EXPECT_EQ(def["trend"][4]["start"], "2026-11-30T00:00:00Z");
  EXPECT_EQ(def["trend"][4]["kpi"]["incidents"], 2);
  EXPECT_EQ(def["trend"][0]["kpi"]["mtta_seconds"], nullptr);

  // A window that ends before the second incident opened.
  const json before = kpi({{"since", "2026-12-04T09:00:00Z"}, {"until", "2026-12-04T10:30:00Z"}});
  EXPECT_EQ(before["overall"]["incidents"], 1);
  EXPECT_EQ(before["overall"]["mtbf_seconds"], nullptr);
}

TEST_F(KpiRouteTest, BadParametersAre400sNamingThem) {
  struct Case {
    std::map<std::string, std::string> query;
    std::string field;
  };
  for (const auto& c : std::vector<Case>{{{{"since", "last week"}}, "since"},
                                         {{{"until", "tomorrow"}}, "until"},
                                         {{{"by", "team"}}, "by"},
                                         {{{"period", "quarter"}}, "period"},
                                         {{{"limit", "10"}}, "limit"},
                                         {{{"since", "2027-01-01T00:00:00Z"}}, "since"},
                                         {{{"since", "10y"}, {"period", "day"}}, "period"}}) {
    auto r = call("GET", "/api/v1/kpi", "", c.query);
    EXPECT_EQ(r.status, 400) << r.body;
    const json body = json::parse(r.body);
    EXPECT_EQ(body["field"], c.field) << r.body;
    EXPECT_FALSE(body["error"].get<std::string>().empty());
  }
  EXPECT_EQ(call("POST", "/api/v1/kpi").status, 405);
}

TEST_F(KpiRouteTest, ChartSvgDrawsOneKpiPerGroupOrOverall) {
  history();
  auto r = call("GET", "/api/v1/kpi/chart.svg", "",
                {{"kpi", "mttr_seconds"}, {"since", "1h"}, {"by", "service"}, {"period", "day"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "image/svg+xml");
  ASSERT_NO_THROW(test_support::parse_xml(r.body));
  // The description lists every value: api's MTTR is 12 minutes, db's is undefined (a gap).
  EXPECT_NE(r.body.find("api: 2026-12-04 12m;"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("db:"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("db: 2026-12-04"), std::string::npos) << r.body;

  auto all = call("GET", "/api/v1/kpi/chart.svg", "", {{"kpi", "resolution_ratio"}, {"since", "1h"}, {"period", "day"}});
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_NE(all.body.find("all incidents: 2026-12-04 50%;"), std::string::npos) << all.body;
  EXPECT_EQ(call("GET", "/api/v1/kpi/chart.svg", "", {{"kpi", "drill_mean_score"}}).status, 200);

  for (const auto& [query, field] : std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
           {{}, "kpi"}, {{{"kpi", "happiness"}}, "kpi"}, {{{"kpi", "mtta_seconds"}, {"since", "soon"}}, "since"}}) {
    auto bad = call("GET", "/api/v1/kpi/chart.svg", "", query);
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(json::parse(bad.body)["field"], field) << bad.body;
  }
  EXPECT_EQ(call("POST", "/api/v1/kpi/chart.svg").status, 405);
}

TEST_F(KpiRouteTest, MetricsGaugesAreCachedUntilTheClockMoves) {
  report::KpiMetrics gauges(*store_, clock_, metrics_, {});
  history();
  std::string text = metrics_.render();
  EXPECT_NE(text.find("\ntocsin_kpi_incidents 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_incidents{plan=\"crash\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_mtta_seconds{plan=\"crash\"} 120\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_mttr_seconds 720\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_resolution_ratio 0.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Over the last 30d."), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_computed_timestamp_seconds 1796380800\n"), std::string::npos) << text;
  // A third incident: the cached text stands until a minute has passed, then it counts.
  ASSERT_EQ(call("POST", "/api/v1/incidents/2/resolve", R"({"actor":"alice"})").status, 200);
  push("h3", "web");
  EXPECT_NE(metrics_.render().find("\ntocsin_kpi_incidents 2\n"), std::string::npos);
  clock_.advance(61s);
  text = metrics_.render();
  EXPECT_NE(text.find("\ntocsin_kpi_incidents 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntocsin_kpi_resolved 2\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace tocsin::api
