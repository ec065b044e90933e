// The series read API and the chart routes (series_route.cc) over a real engine: shapes, the
// replayed bounds, firing spans from the alert records, thinning, SVG headers, and bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/router_fixture.h"
#include "test_support/xml_check.h"

namespace tocsin::api {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
people: [{id: alice}]
rules:
  - {name: HighLoad, select: 'system_load{service="api"}', detector: {kind: threshold, above: 0.9},
     labels: {incident_type: crash}}
  - {name: LatencyBaseline, select: http_latency_ms, detector: {kind: sigma, n: 3}}
plans:
  - id: crash
    match: ['incident_type="crash"']
    roles: {commander: "person:alice"}
    steps: [{id: triage, title: Triage, owner: commander, due: 15m}]
)";

class SeriesRouteTest : public RouterFixture {
 protected:
  void SetUp() override { start(kConfig); }
  http::Response get(std::string path, std::map<std::string, std::string> query = {}) {
    return call("GET", std::move(path), "", std::move(query));
  }
  json get_json(std::string path, std::map<std::string, std::string> query = {}) {
    auto r = get(std::move(path), std::move(query));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
  void push(const json& samples) { ASSERT_EQ(call("POST", "/api/v1/push", samples.dump()).status, 200); }
  // ms since the epoch, `minutes` before the clock's now.
  int64_t ago(int minutes) const { return core::to_unix_ms(clock_.now()) - int64_t{minutes} * 60'000; }
};

TEST_F(SeriesRouteTest, SeriesInTheLastHourByDefaultSortedAndLimited) {
  json samples = json::array();
  for (const char* instance : {"c", "a", "b"}) {
    for (int m : {90, 30, 10}) {
      samples.push_back({{"name", "system_load"},
                         {"labels", {{"instance", instance}, {"service", "web"}}},
                         {"value", m / 100.0},
                         {"ts", ago(m)}});
    }
  }
  push(samples);
  const json all = get_json("/api/v1/series", {{"match", "system_load"}});
  EXPECT_EQ(all["truncated"], false);
  ASSERT_EQ(all["series"].size(), 3u);
  EXPECT_EQ(all["series"][0]["labels"], json({{"__name__", "system_load"}, {"instance", "a"}, {"service", "web"}}));
  // The sample 90 minutes ago is outside the default hour.
  EXPECT_EQ(all["series"][0]["points"], json::array({json::array({ago(30), 0.3}), json::array({ago(10), 0.1})}));
  EXPECT_EQ(all["series"][0]["thinned"], false);

  const json two = get_json("/api/v1/series", {{"match", "system_load{instance=~\"a|b|c\"}"}, {"limit", "2"}});
  EXPECT_EQ(two["truncated"], true);
  ASSERT_EQ(two["series"].size(), 2u);
  EXPECT_EQ(two["series"][1]["labels"]["instance"], "b");

  // An explicit range, in RFC 3339 and in unix ms.
  const json old = get_json(
      "/api/v1/series",
      {{"match", "system_load{instance=\"c\"}"}, {"start", "2026-12-04T08:00:00Z"}, {"end", std::to_string(ago(60))}});
  ASSERT_EQ(old["series"].size(), 1u);
  EXPECT_EQ(old["series"][0]["points"], json::array({json::array({ago(90), 0.9})}));
  EXPECT_EQ(get_json("/api/v1/series", {{"match", "nothing_here"}})["series"], json::array());
}

TEST_F(SeriesRouteTest, LongSeriesAreThinnedAndKeepTheirSpike) {
  json samples = json::array();
  for (int i = 0; i < 3600; ++i) {  // one a second for the last hour
    samples.push_back({{"name", "queue_depth"},
                       {"value", i == 1234 ? 999.0 : 5.0 + i % 3},
                       {"ts", ago(60) + int64_t{i} * 1000 + 1000}});
  }
  push(samples);
  const json r = get_json("/api/v1/series", {{"match", "queue_depth"}});
  ASSERT_EQ(r["series"].size(), 1u);
  const json& points = r["series"][0]["points"];
  EXPECT_EQ(r["series"][0]["thinned"], true);
  EXPECT_LE(points.size(), 1000u);
  EXPECT_GT(points.size(), 500u);
  bool spike = false;
  for (const auto& p : points) spike |= p[1] == 999.0;
  EXPECT_TRUE(spike);
  EXPECT_EQ(points.front()[0], ago(60) + 1000);
  EXPECT_EQ(points.back()[0], ago(60) + 3600 * 1000);
}

TEST_F(SeriesRouteTest, RuleSeriesHaveBoundsScoresAndTheFiringSpanFromTheAlertRecord) {
  const json series_labels = {{"service", "api"}, {"instance", "h1"}};
  json samples = json::array();
  const double values[] = {0.5, 0.6, 0.95, 0.97, 0.4};
  for (int i = 0; i < 5; ++i) {
    samples.push_back(
        {{"name", "system_load"}, {"labels", series_labels}, {"value", values[i]}, {"ts", ago(50 - i * 10)}});
  }
  // Another service: not the rule's.
  samples.push_back({{"name", "system_load"}, {"labels", {{"service", "web"}}}, {"value", 5}, {"ts", ago(5)}});
  push(samples);

  const json r = get_json("/api/v1/rules/HighLoad/series");
  EXPECT_EQ(r["rule"], "HighLoad");
  EXPECT_EQ(r["detector"], "value > 0.9");
  ASSERT_EQ(r["series"].size(), 1u);
  const json& s = r["series"][0];
  EXPECT_EQ(s["labels"]["service"], "api");
  ASSERT_EQ(s["points"].size(), 5u);
  EXPECT_EQ(s["points"][0], json({{"ts", ago(50)},
                                  {"value", 0.5},
                                  {"lower", nullptr},
                                  {"upper", 0.9},
                                  {"score", s["points"][0]["score"]},
                                  {"firing", false}}));
  EXPECT_EQ(s["points"][2]["firing"], true);
  EXPECT_GT(s["points"][2]["score"].get<double>(), s["points"][0]["score"].get<double>());
  // Fired at the crossing, resolved at the sample back under: from the store, not the replay.
  EXPECT_EQ(s["firing_spans"], json::array({{{"start", ago(30)}, {"end", ago(10)}}}));

  // An extra selector narrows the rule's series; one that matches nothing leaves none.
  EXPECT_EQ(get_json("/api/v1/rules/HighLoad/series", {{"match", "{instance=\"h1\"}"}})["series"].size(), 1u);
  EXPECT_EQ(get_json("/api/v1/rules/HighLoad/series", {{"match", "{instance=\"h2\"}"}})["series"].size(), 0u);
  // A range before the crossing: points there, no span.
  const json early = get_json("/api/v1/rules/HighLoad/series", {{"end", std::to_string(ago(35))}});
  ASSERT_EQ(early["series"].size(), 1u);
  EXPECT_EQ(early["series"][0]["points"].size(), 2u);
  EXPECT_EQ(early["series"][0]["firing_spans"], json::array());
}

TEST_F(SeriesRouteTest, ReplayWarmsUpOnTheWholeStoredWindow) {
  json samples = json::array();
  for (int i = 0; i < 120; ++i) {  // two hours, one a minute, alternating 99 and 101
    samples.push_back({{"name", "http_latency_ms"}, {"value", i % 2 ? 101 : 99}, {"ts", ago(120 - i)}});
  }
  push(samples);
  const json r = get_json("/api/v1/rules/LatencyBaseline/series");
  ASSERT_EQ(r["series"].size(), 1u);
  const json& points = r["series"][0]["points"];
  ASSERT_EQ(points.size(), 60u);  // the last hour is shown ...
  // ... but the detector learned from the hour before it too: bounds from the first point shown.
  ASSERT_TRUE(points[0]["upper"].is_number()) << points[0];
  EXPECT_NEAR(points[0]["upper"].get<double>(), 103, 0.2);  // μ + 3σ, μ = 100, σ = 1
  EXPECT_NEAR(points[0]["lower"].get<double>(), 97, 0.2);
  // With the window starting at the first sample, the first points are warm-up: no bounds.
  const json from_start = get_json("/api/v1/rules/LatencyBaseline/series", {{"start", std::to_string(ago(200))}});
  EXPECT_TRUE(from_start["series"][0]["points"][0]["upper"].is_null());
}

TEST_F(SeriesRouteTest, ChartsAreSelfContainedSvg) {
  json samples = json::array();
  for (int i = 0; i < 5; ++i) {
    samples.push_back({{"name", "system_load"},
                       {"labels", {{"service", "api"}}},
                       {"value", i == 2 ? 2.0 : 0.1},
                       {"ts", ago(50 - i * 10)}});
  }
  push(samples);
  for (const auto& [path, query] : std::vector<std::pair<std::string, std::map<std::string, std::string>>>{
           {"/api/v1/rules/HighLoad/chart.svg", {}},
           {"/api/v1/series/chart.svg", {{"match", "system_load"}}},
           {"/api/v1/drills/chart.svg", {{"plan", "crash"}}}}) {
    const auto r = get(path, query);
    ASSERT_EQ(r.status, 200) << path << r.body;
    EXPECT_EQ(r.content_type, "image/svg+xml") << path;
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Cache-Control", "no-store"}));
    const auto elements = test_support::parse_xml(r.body);
    ASSERT_GT(elements.size(), 3u) << path;
    EXPECT_EQ(elements[1].name, "title");
    EXPECT_EQ(r.body.find("<script"), std::string::npos);
  }
  const std::string rule_svg = get("/api/v1/rules/HighLoad/chart.svg").body;
  EXPECT_NE(rule_svg.find("class=\"firing\" x="), std::string::npos) << "the firing span is shaded";
  EXPECT_NE(rule_svg.find("class=\"bound\""), std::string::npos) << "the threshold is drawn";
  EXPECT_NE(rule_svg.find("value &gt; 0.9"), std::string::npos);
}

TEST_F(SeriesRouteTest, DrillScoresPerDayAndScenario) {
  auto post_run = [&](std::string scenario, double score) {
    http::Request r;
    r.method = "POST";
    r.path = r.target = "/api/v1/drills";
    r.body = json{{"scenario", scenario},
                  {"plan", "crash"},
                  {"mode", "simulated"},
                  {"participants", {"alice"}},
                  {"started_at", "2026-01-01T00:00:00Z"},
                  {"finished_at", "2026-01-01T01:00:00Z"},
                  {"score", score},
                  {"passed", true},
                  {"scorecard", json::object()}}
                 .dump();
    ASSERT_EQ(router_->handle(r).status, 201);
  };
  post_run("crash", 60);
  post_run("crash", 80);
  clock_.advance(std::chrono::hours(24 * 2));
  post_run("crash", 90);
  post_run("breach", 50);
  const auto r = get("/api/v1/drills/chart.svg", {{"plan", "crash"}});
  ASSERT_EQ(r.status, 200);
  const auto elements = test_support::parse_xml(r.body);
  ASSERT_GT(elements.size(), 3u);
  // The description lists each day's mean per scenario; breach has no run the first day: a gap.
  EXPECT_NE(elements[2].text.find("breach: 2026-12-06 50; crash: 2026-12-04 70; 2026-12-06 90;"), std::string::npos)
      << elements[2].text;
  EXPECT_NE(r.body.find(">2026-12-04<"), std::string::npos);
}

TEST_F(SeriesRouteTest, BadInputIsA4xxNamingTheField) {
  struct Case {
    std::string path;
    std::map<std::string, std::string> query;
    int status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"/api/v1/series", {}, 400, "match"},
      {"/api/v1/series", {{"match", "system_load{"}}, 400, "match"},
      {"/api/v1/series", {{"match", "{job=~\".*\"}"}}, 400, "match"},
      {"/api/v1/series", {{"match", "rate(x[5m])"}}, 400, "match"},
      {"/api/v1/series", {{"match", "x"}, {"start", "yesterday"}}, 400, "start"},
      {"/api/v1/series", {{"match", "x"}, {"end", "12abc"}}, 400, "end"},
      {"/api/v1/series",
       {{"match", "x"}, {"start", "2026-12-04T10:00:00Z"}, {"end", "2026-12-04T09:00:00Z"}},
       400,
       "end"},
      {"/api/v1/series", {{"match", "x"}, {"limit", "0"}}, 400, "limit"},
      {"/api/v1/series", {{"match", "x"}, {"limit", "1001"}}, 400, "limit"},
      {"/api/v1/series", {{"match", "x"}, {"step", "1m"}}, 400, "step"},
      {"/api/v1/series/chart.svg", {{"match", "x"}, {"limit", "51"}}, 400, "limit"},
      {"/api/v1/rules/NoSuchRule/series", {}, 404, "name"},
      {"/api/v1/rules/NoSuchRule/chart.svg", {}, 404, "name"},
      {"/api/v1/rules/HighLoad/series", {{"match", "{instance="}}, 400, "match"},
      {"/api/v1/rules/HighLoad/series", {{"start", "-"}}, 400, "start"},
      {"/api/v1/rules/HighLoad/chart.svg", {{"end", "soon"}}, 400, "end"},
      {"/api/v1/drills/chart.svg", {{"plan", "nope"}}, 404, "plan"},
      {"/api/v1/drills/chart.svg", {{"since", "last week"}}, 400, "since"},
      {"/api/v1/drills/chart.svg", {{"scenario", "x"}}, 400, "scenario"},
  };
  for (const auto& c : cases) {
    const auto r = get(c.path, c.query);
    EXPECT_EQ(r.status, c.status) << c.path << " " << r.body;
    const json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["field"], c.field) << c.path << " " << r.body;
    EXPECT_FALSE(body["error"].get<std::string>().empty());
  }
  EXPECT_EQ(get("/api/v1/rules/HighLoad/other").status, 404);
  EXPECT_EQ(get("/api/v1/rules/HighLoad").status, 404);
  EXPECT_EQ(get("/api/v1/series/other").status, 404);
  http::Request post;
  post.method = "POST";
  post.path = post.target = "/api/v1/rules/HighLoad/series";
  EXPECT_EQ(router_->handle(post).status, 405);
  post.path = post.target = "/api/v1/drills/chart.svg";
  EXPECT_EQ(router_->handle(post).status, 405);
}

}  // namespace
}  // namespace tocsin::api
