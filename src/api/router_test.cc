// The API over a real engine (SQLite in a temp dir, simulated clock): request → JSON shape,
// error → status and field, and that rejected requests change nothing.
#include "api/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "core/simulated_clock.h"
#include "notify/ack_link.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::api {
namespace {

using nlohmann::json;

constexpr const char* kConfig = R"(
people: [{id: alice}]
rules:
  - {name: HighLoad, select: system_load, detector: {kind: threshold, above: 0.9}, labels: {incident_type: crash}}
plans:
  - id: crash
    match: ['incident_type="crash"']
    roles: {commander: "person:alice"}
    steps: [{id: triage, title: Triage, owner: commander, due: 15m}]
)";

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = std::make_shared<const config::Config>(config::load_config_string(kConfig, "t.yaml", dir_.path()).value());
    store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value();
    engine::EngineOptions options{config_, store_.get(), &clock_, &metrics_, {}, "http://t", {}, {}, {}, {}, {}};
    engine_ = engine::Engine::create(std::move(options)).value();
    router_ = std::make_unique<Router>(*engine_, metrics_, clock_, [] { return true; }, std::string(kAckKey));
  }
  std::string ack_path(int64_t incident, std::string_view actor, std::string_view key = kAckKey) {
    return "/api/v1/ack/" + notify::make_ack_token(incident, actor, clock_.now() + std::chrono::hours(24), key);
  }

  http::Response call(std::string method, std::string path, std::string body = "",
                      std::map<std::string, std::string> query = {}, std::map<std::string, std::string> headers = {}) {
    http::Request r;
    r.headers = std::move(headers);
    r.method = std::move(method);
    r.path = std::move(path);
    r.target = r.path;
    r.body = std::move(body);
    r.query = std::move(query);
    return router_->handle(r);
  }
  json call_json(std::string method, std::string path, std::string body = "") {
    return json::parse(call(std::move(method), std::move(path), std::move(body)).body);
  }

  static constexpr std::string_view kAckKey = "router-test-ack-key-0123456789ab";
  test_support::TempDir dir_;
  core::SimulatedClock clock_{core::parse_rfc3339("2026-12-04T10:00:00Z").value()};
  core::MetricsRegistry metrics_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<Router> router_;
};

TEST_F(RouterTest, PushOpensAnIncidentWithTheSpecShape) {
  auto r = call("POST", "/api/v1/push", R"([{"name":"system_load","labels":{"host":"h1"},"value":0.95}])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["incidents_opened"], json::array({"1"}));
  const json list = call_json("GET", "/api/v1/incidents");
  ASSERT_EQ(list["incidents"].size(), 1u);
  const json inc = call_json("GET", "/api/v1/incidents/1");
  EXPECT_EQ(inc, list["incidents"][0]);
  EXPECT_EQ(inc["id"], "1");
  EXPECT_EQ(inc["status"], "triggered");
  EXPECT_EQ(inc["opened_at"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(inc["acknowledged_at"], nullptr);
  EXPECT_EQ(inc["alerts"][0]["labels"]["host"], "h1");
  EXPECT_EQ(inc["alerts"][0]["status"], "firing");
  EXPECT_EQ(inc["tasks"][0]["assignee"], "alice");
  EXPECT_EQ(inc["tasks"][0]["due_at"], "2026-12-04T10:15:00Z");
  EXPECT_EQ(inc["timeline"][0]["kind"], "opened");

  clock_.advance(std::chrono::minutes(2));
  const json acked = call_json("POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})");
  EXPECT_EQ(acked["status"], "acknowledged");
  EXPECT_EQ(acked["acknowledged_at"], "2026-12-04T10:02:00Z");
  EXPECT_EQ(acked["timeline"].back()["actor"], "alice");
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/ack").status, 409);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {{"status", "acknowledged"}}).status, 200);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/incidents", "", {{"status", "resolved"}}).body)["incidents"].size(), 0u);
}

// An acknowledge link: GET shows the incident and a button and changes nothing; POST acknowledges
// as the link's actor; a second POST says it is done already; bad or expired links are 403.
TEST_F(RouterTest, AckLinks) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","labels":{"host":"<h1>"},"value":0.95}])").status,
            200);
  const std::string link = ack_path(1, "alice");

  auto page = call("GET", link);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("Incident #1: "), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("<form method=\"post\">"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("Acknowledge as alice"), std::string::npos);
  EXPECT_EQ(page.body.find("<h1>"), page.body.find("<h1>Incident #1")) << "the title is escaped, not markup";
  EXPECT_EQ(call_json("GET", "/api/v1/incidents/1")["status"], "triggered") << "GET acknowledges nothing";

  clock_.advance(std::chrono::minutes(3));
  auto acked = call("POST", link, "", {}, {{"accept", "application/json"}});
  ASSERT_EQ(acked.status, 200) << acked.body;
  const json body = json::parse(acked.body);
  EXPECT_EQ(body["acknowledged"], true);
  EXPECT_EQ(body["message"], "Acknowledged incident #1 as alice.");
  EXPECT_EQ(body["incident"]["status"], "acknowledged");
  EXPECT_EQ(body["incident"]["timeline"].back()["kind"], "acknowledged");
  EXPECT_EQ(body["incident"]["timeline"].back()["actor"], "alice");

  auto again = call("POST", link);  // a form post: HTML
  EXPECT_EQ(again.status, 200);
  EXPECT_NE(again.body.find("was already acknowledged by alice at 2026-12-04T10:03:00Z"), std::string::npos)
      << again.body;

  // Tampered, foreign, expired, unknown incident.
  std::string tampered = link;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  auto bad = call("POST", tampered, "", {}, {{"accept", "application/json"}});
  EXPECT_EQ(bad.status, 403);
  EXPECT_NE(json::parse(bad.body)["error"].get<std::string>().find("signature does not match"), std::string::npos);
  EXPECT_EQ(call("GET", ack_path(1, "alice", "another-key")).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/ack/garbage").status, 403);
  const std::string old = ack_path(1, "alice");
  clock_.advance(std::chrono::hours(25));
  auto expired = call("GET", old);
  EXPECT_EQ(expired.status, 403);
  EXPECT_NE(expired.body.find("expired"), std::string::npos) << expired.body;
  EXPECT_EQ(call("GET", ack_path(99, "alice")).status, 404);
  EXPECT_EQ(call("DELETE", ack_path(1, "alice")).status, 405);
}

TEST_F(RouterTest, BadInputIsA4xxNamingTheFieldAndChangesNothing) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","value":0.95}])").status, 200);
  const std::string before = call("GET", "/api/v1/incidents").body;
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    int status;
    const char* field;
  };
  const Case cases[] = {
      {"POST", "/api/v1/push", "{", 400, nullptr},
      {"POST", "/api/v1/push", R"([{"name":"system_load","value":"high"}])", 400, "[0].value"},
      {"POST", "/api/v1/incidents/1/notes", R"({"actor":"bob"})", 400, "text"},
      {"POST", "/api/v1/incidents/1/notes", R"({"text":5})", 400, "text"},
      {"POST", "/api/v1/incidents/1/ack", R"({"actor":7})", 400, "actor"},
      {"POST", "/api/v1/incidents/1/ack", R"({"who":"bob"})", 400, "who"},
      {"POST", "/api/v1/incidents/1/resolve", "[1]", 400, nullptr},
      {"POST", "/api/v1/incidents/abc/ack", "", 400, "id"},
      {"POST", "/api/v1/incidents/99/ack", "", 404, nullptr},
      {"GET", "/api/v1/incidents/99", "", 404, nullptr},
      {"GET", "/api/v1/nope", "", 404, nullptr},
      {"DELETE", "/api/v1/incidents/1", "", 405, nullptr},
      {"GET", "/api/v1/push", "", 405, nullptr},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body << " -> " << r.body;
    const json body = json::parse(r.body);
    EXPECT_TRUE(body.contains("error")) << r.body;
    if (c.field) {
      EXPECT_EQ(body.value("field", ""), c.field) << r.body;
    }
  }
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {{"status", "sleeping"}}).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {{"since", "yesterday"}}).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {{"colour", "red"}}).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/incidents").body, before);
}

TEST_F(RouterTest, RulesWithTheirHealth) {
  ASSERT_EQ(call("POST", "/api/v1/push", R"([{"name":"system_load","value":0.5},{"name":"other","value":9}])").status,
            200);
  const json rules = call_json("GET", "/api/v1/rules")["rules"];
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["name"], "HighLoad");
  EXPECT_EQ(rules[0]["select"], "system_load");
  EXPECT_EQ(rules[0]["detector"]["kind"], "threshold");
  EXPECT_EQ(rules[0]["detector"]["params"]["above"], 0.9);
  EXPECT_EQ(rules[0]["condition"], "value > 0.9");
  EXPECT_EQ(rules[0]["health"], "ok");
  EXPECT_EQ(rules[0]["evaluations"], 1);
  EXPECT_EQ(rules[0]["series"], 1);
  EXPECT_EQ(rules[0]["last_evaluation"], "2026-12-04T10:00:00Z");
  EXPECT_EQ(rules[0]["alerts"]["firing"], 0);
  EXPECT_EQ(call("POST", "/api/v1/rules").status, 405);
}

TEST_F(RouterTest, HealthReadinessAndMetrics) {
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(call("GET", "/readyz").status, 200);
  auto m = call("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.content_type.find("version=0.0.4"), std::string::npos);
  EXPECT_NE(m.body.find("# TYPE tocsin_http_requests_total counter"), std::string::npos);
  EXPECT_EQ(http_status(core::Error::unavailable("x")), 503);
  EXPECT_EQ(http_status(core::Error::internal("x")), 500);
}

}  // namespace
}  // namespace tocsin::api
