// limits: through the router over a real engine (SQLite in a temp dir, simulated clock): each
// intake at its limit passes, one over is a 4xx naming the limit, index and value, and changes
// nothing; the server-wide caps (max_series, max_alerts, max_silences); the per-client rate limit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "api/router_fixture.h"

namespace tocsin::api {
namespace {

using nlohmann::json;

constexpr const char* kLimits = R"(
limits:
  max_labels_per_series: 4
  max_label_name_bytes: 16
  max_label_value_bytes: 32
  max_series_per_request: 3
  max_alerts_per_request: 2
  max_events_per_request: 2
  max_silence_matchers: 2
  max_series: 5
  max_alerts: 3
  max_silences: 2
)";

constexpr const char* kRate = R"(
limits:
  rate: {requests_per_second: 0.5, burst: 2, max_clients: 10}
)";

class LimitsRouteTest : public RouterFixture {
 protected:
  LimitsRouteTest() { remote_ = "10.0.0.1:5000"; }
  // From another peer address than the default one.
  http::Response call(std::string method, std::string path, std::string body = "", std::string remote = "") {
    if (remote.empty()) return RouterFixture::call(std::move(method), std::move(path), std::move(body));
    const std::string usual = std::exchange(remote_, std::move(remote));
    http::Response r = RouterFixture::call(std::move(method), std::move(path), std::move(body));
    remote_ = usual;
    return r;
  }
  http::Response post(std::string path, std::string body) { return call("POST", std::move(path), std::move(body)); }

  // The value of one metric line ("name{labels} value") in /metrics; -1 when absent.
  double metric(const std::string& line_start) {
    const std::string text = metrics_.render();
    const auto at = text.find("\n" + line_start + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + line_start.size() + 2));
  }
  double ingested() { return metric("tocsin_samples_ingested_total"); }
  size_t alerts_held() { return json::parse(call("GET", "/api/v2/alerts").body).size(); }

  // A 400 whose JSON names `limit` and `field` and whose message contains `text`.
  static void expect_over(const http::Response& r, std::string_view limit, std::string_view field,
                          std::string_view text) {
    ASSERT_EQ(r.status, 400) << r.body;
    const json body = json::parse(r.body);
    EXPECT_EQ(body.value("limit", ""), limit) << r.body;
    EXPECT_EQ(body.value("field", ""), field) << r.body;
    EXPECT_NE(body.value("error", "").find(text), std::string::npos) << r.body;
  }
  // Alertmanager routes answer errors as a JSON string "field: message".
  static void expect_am_over(const http::Response& r, std::string_view text) {
    ASSERT_EQ(r.status, 400) << r.body;
    EXPECT_NE(json::parse(r.body).get<std::string>().find(text), std::string::npos) << r.body;
  }
};

std::string push_body(int n, const std::string& extra = "") {
  json out = json::array();
  for (int i = 0; i < n; ++i) out.push_back({{"name", "m"}, {"labels", {{"i", std::to_string(i)}}}, {"value", 1}});
  if (!extra.empty()) out.push_back(json::parse(extra));
  return out.dump();
}

TEST_F(LimitsRouteTest, PushSamplesPerRequest) {
  start(kLimits);
  ASSERT_EQ(post("/api/v1/push", push_body(3)).status, 200);
  EXPECT_EQ(ingested(), 3);
  expect_over(post("/api/v1/push", push_body(4)), "max_series_per_request", "",
              "4 samples in one request: limits.max_series_per_request is 3");
  EXPECT_EQ(ingested(), 3);  // nothing of the refused request
  EXPECT_EQ(metric("tocsin_limits_rejected_total{limit=\"max_series_per_request\"}"), 1);
}

TEST_F(LimitsRouteTest, PushLabelsAreCheckedBeforeAnythingIsStored) {
  start(kLimits);
  // __name__ + 3 labels = 4: at the limit.
  ASSERT_EQ(post("/api/v1/push", R"([{"name":"m","labels":{"a":"1","b":"2","c":"3"},"value":1}])").status, 200);
  // The first sample is fine, the second has 5 labels: the whole body is refused.
  expect_over(post("/api/v1/push", R"([{"name":"m","labels":{"a":"2"},"value":1},
                                      {"name":"m","labels":{"a":"1","b":"2","c":"3","d":"4"},"value":1}])"),
              "max_labels_per_series", "[1].labels", "sample 1 has 5 labels: limits.max_labels_per_series is 4");
  expect_over(post("/api/v1/push", R"([{"name":"m","labels":{"abcdefghijklmnopq":"1"},"value":1}])"),
              "max_label_name_bytes", "[0].labels", "is 17 bytes long: limits.max_label_name_bytes is 16");
  expect_over(post("/api/v1/push",
                   json::array({{{"name", "m"}, {"labels", {{"a", std::string(33, 'x')}}}, {"value", 1}}}).dump()),
              "max_label_value_bytes", "[0].labels.a", "is 33 bytes long: limits.max_label_value_bytes is 32");
  EXPECT_EQ(ingested(), 1);
  ASSERT_EQ(post("/api/v1/push",
                 json::array({{{"name", "m"}, {"labels", {{"a", std::string(32, 'x')}}}, {"value", 1}}}).dump())
                .status,
            200);
}

TEST_F(LimitsRouteTest, ImportPrometheus) {
  start(kLimits);
  ASSERT_EQ(post("/api/v1/import/prometheus", "a 1\nb 2\nc 3\n").status, 200);
  expect_over(post("/api/v1/import/prometheus", "a 1\nb 2\nc 3\nd 4\n"), "max_series_per_request", "samples",
              "4 samples in one request");
  expect_over(post("/api/v1/import/prometheus", "a{x=\"1\",y=\"2\",z=\"3\",w=\"4\"} 5\n"), "max_labels_per_series",
              "samples[0].labels", "has 5 labels");
  EXPECT_EQ(ingested(), 3);
}

TEST_F(LimitsRouteTest, Events) {
  start(kLimits);
  const std::string two = R"([{"type":"security","kind":"login_failed"},{"type":"security","kind":"login_failed"}])";
  ASSERT_EQ(post("/api/v1/events", two).status, 200) << "at the limit";
  const double before = ingested();
  expect_over(post("/api/v1/events", R"([{"type":"security","kind":"a"},{"type":"security","kind":"b"},
                                        {"type":"security","kind":"c"}])"),
              "max_events_per_request", "", "3 events in one request: limits.max_events_per_request is 2");
  // kind + __name__ + 3 labels = 5.
  expect_over(post("/api/v1/events", R"([{"type":"security","kind":"a","labels":{"x":"1","y":"2","z":"3"}}])"),
              "max_labels_per_series", "[0].labels", "event 0 has 5 labels");
  expect_over(post("/api/v1/events", json::array({{{"type", "security"}, {"kind", std::string(33, 'k')}}}).dump()),
              "max_label_value_bytes", "[0].kind", "kind is 33 bytes long");
  EXPECT_EQ(ingested(), before);
}

TEST_F(LimitsRouteTest, AlertsPerRequestAndTheirLabels) {
  start(kLimits);
  // The scanner's path (Prometheus' shape) and the general path (a number somewhere) both check.
  expect_am_over(post("/api/v2/alerts", R"([{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"}},
                                           {"labels":{"alertname":"C"}}])"),
                 "3 alerts in one request: limits.max_alerts_per_request is 2");
  expect_am_over(post("/api/v2/alerts", R"([{"labels":{"alertname":"A"},"x":1},{"labels":{"alertname":"B"}},
                                           {"labels":{"alertname":"C"}}])"),
                 "3 alerts in one request");
  expect_am_over(post("/api/v2/alerts", R"([{"labels":{"alertname":"A"}},
                                           {"labels":{"alertname":"B","a":"1","b":"2","c":"3","d":"4"}}])"),
                 "[1].labels: alert 1 has 5 labels: limits.max_labels_per_series is 4");
  EXPECT_EQ(alerts_held(), 0u);
  ASSERT_EQ(post("/api/v2/alerts", R"([{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"}}])").status, 200);
  EXPECT_EQ(alerts_held(), 2u);
  EXPECT_EQ(metric("tocsin_limits_rejected_total{limit=\"max_alerts_per_request\"}"), 2);
}

TEST_F(LimitsRouteTest, Webhook) {
  start(kLimits);
  auto body = [](int n, const std::string& value) {
    json alerts = json::array();
    for (int i = 0; i < n; ++i)
      alerts.push_back({{"status", "firing"}, {"labels", {{"alertname", "W" + std::to_string(i)}, {"v", value}}}});
    return json{{"version", "4"}, {"alerts", alerts}}.dump();
  };
  expect_am_over(post("/api/v1/alertmanager/webhook", body(3, "x")), "alerts: 3 alerts in one request");
  expect_am_over(post("/api/v1/alertmanager/webhook", body(2, std::string(33, 'x'))),
                 "alerts[0].labels.v: alert 0: the value of label \"v\" is 33 bytes long");
  EXPECT_EQ(alerts_held(), 0u);
  ASSERT_EQ(post("/api/v1/alertmanager/webhook", body(2, "x")).status, 200);
  EXPECT_EQ(alerts_held(), 2u);
}

std::string silence_body(int matchers, const std::string& value = "db") {
  json m = json::array();
  for (int i = 0; i < matchers; ++i) {
    m.push_back({{"name", "l" + std::to_string(i)}, {"value", value}, {"isRegex", false}, {"isEqual", true}});
  }
  return json{{"matchers", m},
              {"startsAt", "2026-12-04T10:00:00Z"},
              {"endsAt", "2026-12-04T12:00:00Z"},
              {"createdBy", "alice"},
              {"comment", "c"}}
      .dump();
}

TEST_F(LimitsRouteTest, SilenceMatchersAndTheSilenceCap) {
  start(kLimits);
  expect_am_over(post("/api/v2/silences", silence_body(3)), "matchers: 3 matchers in one silence");
  expect_am_over(post("/api/v2/silences", silence_body(1, std::string(33, 'v'))),
                 "matchers[0].value: matcher 0: value is 33 bytes long");
  ASSERT_EQ(post("/api/v2/silences", silence_body(2)).status, 200);
  const auto second = post("/api/v2/silences", silence_body(1));
  ASSERT_EQ(second.status, 200);
  expect_am_over(post("/api/v2/silences", silence_body(1)),
                 "the server already holds 2 silences that have not expired: limits.max_silences is 2");
  EXPECT_EQ(json::parse(call("GET", "/api/v2/silences").body).size(), 2u);
  EXPECT_EQ(metric("tocsin_limits_rejected_total{limit=\"max_silences\"}"), 1);
  // An expired silence no longer counts.
  const std::string id = json::parse(second.body)["silenceID"];
  ASSERT_EQ(call("DELETE", "/api/v2/silence/" + id).status, 200);
  EXPECT_EQ(post("/api/v2/silences", silence_body(1)).status, 200);
}

TEST_F(LimitsRouteTest, SeriesCapRefusesAWholeRequestWithNewSeries) {
  start(kLimits);
  ASSERT_EQ(post("/api/v1/push", push_body(3)).status, 200);
  ASSERT_EQ(
      post("/api/v1/push", R"([{"name":"n","labels":{"i":"0"},"value":1},{"name":"n","labels":{"i":"1"},"value":1}])")
          .status,
      200);  // 5 series: at the cap
  EXPECT_EQ(ingested(), 5);
  clock_.advance(std::chrono::seconds(1));
  // A known series and a new one: refused whole, the known series' sample is not stored either.
  const auto r = post("/api/v1/push", R"([{"name":"m","labels":{"i":"0"},"value":2},{"name":"x","value":1}])");
  ASSERT_EQ(r.status, 400) << r.body;
  const json body = json::parse(r.body);
  EXPECT_EQ(body["field"], "[1].labels");
  EXPECT_NE(body["error"].get<std::string>().find("series 1 {__name__=\"x\"} is new, and the server already holds 5 "
                                                  "series: limits.max_series is 5"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(ingested(), 5);
  EXPECT_EQ(metric("tocsin_limits_rejected_total{limit=\"max_series\"}"), 1);
  // Known series still take samples.
  ASSERT_EQ(post("/api/v1/push", R"([{"name":"m","labels":{"i":"0"},"value":2}])").status, 200);
  EXPECT_EQ(ingested(), 6);
}

TEST_F(LimitsRouteTest, AlertCapRefusesNewAlertsButTakesResends) {
  start(kLimits);
  ASSERT_EQ(post("/api/v2/alerts", R"([{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"}}])").status, 200);
  ASSERT_EQ(post("/api/v2/alerts", R"([{"labels":{"alertname":"C"}}])").status, 200);  // 3: at the cap
  expect_am_over(post("/api/v2/alerts", R"([{"labels":{"alertname":"A"}},{"labels":{"alertname":"D"}}])"),
                 "[1]: alert 1 is new, and the server already holds 3 alerts: limits.max_alerts is 3");
  EXPECT_EQ(alerts_held(), 3u);
  EXPECT_EQ(post("/api/v2/alerts", R"([{"labels":{"alertname":"A"}},{"labels":{"alertname":"C"}}])").status, 200);
  EXPECT_EQ(metric("tocsin_limits_rejected_total{limit=\"max_alerts\"}"), 1);
}

TEST_F(LimitsRouteTest, RateLimitPerClientWith429AndRetryAfter) {
  start(kRate);
  const std::string one = R"([{"name":"m","value":1}])";
  EXPECT_EQ(post("/api/v1/push", one).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/push", one, "10.0.0.1:5001").status, 200);  // same IP, other port
  const auto refused = post("/api/v1/push", one);
  ASSERT_EQ(refused.status, 429) << refused.body;
  ASSERT_EQ(refused.headers.size(), 1u);
  EXPECT_EQ(refused.headers[0].first, "Retry-After");
  EXPECT_EQ(refused.headers[0].second, "2");  // 0.5 per second: a token in 2 s
  const json body = json::parse(refused.body);
  EXPECT_EQ(body["limit"], "rate");
  EXPECT_NE(body["error"].get<std::string>().find("too many requests from 10.0.0.1"), std::string::npos);
  EXPECT_EQ(metric("tocsin_http_rate_limited_total"), 1);
  // Reads are not limited; another client has its own bucket.
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(call("POST", "/api/v1/push", one, "[::1]:80").status, 200);
  // The bucket refills on the clock.
  clock_.advance(std::chrono::seconds(2));
  EXPECT_EQ(post("/api/v1/push", one).status, 200);
  EXPECT_EQ(post("/api/v1/push", one).status, 429);
}

// Behind a reverse proxy named in server.trusted_proxies, each client has its own bucket (its
// X-Forwarded-For address); a peer that is not a trusted proxy cannot choose its bucket.
TEST_F(LimitsRouteTest, BehindATrustedProxyEachForwardedClientHasItsOwnBucket) {
  start(std::string(kRate) + "server: {trusted_proxies: [10.0.0.0/8]}\n");
  const std::string one = R"([{"name":"m","value":1}])";
  auto from = [&](const std::string& peer, const std::string& forwarded_for) {
    const std::string usual = std::exchange(remote_, peer);
    http::Response r = RouterFixture::call("POST", "/api/v1/push", one, {}, {{"x-forwarded-for", forwarded_for}});
    remote_ = usual;
    return r;
  };
  // Two clients through the proxy 10.0.0.1: two buckets of 2.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(from("10.0.0.1:5000", "203.0.113.1").status, 200);
    EXPECT_EQ(from("10.0.0.1:5000", "203.0.113.2").status, 200);
  }
  const auto refused = from("10.0.0.1:5000", "203.0.113.1");
  ASSERT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("too many requests from 203.0.113.1"), std::string::npos) << refused.body;
  // An address the client wrote itself (left of the proxy's entry) does not help it.
  EXPECT_EQ(from("10.0.0.1:5000", "198.51.100.77, 203.0.113.1").status, 429);
  // A peer outside the trusted block is counted by its own address, whatever it forwards.
  EXPECT_EQ(from("192.0.2.5:1", "203.0.113.50").status, 200);
  EXPECT_EQ(from("192.0.2.5:1", "203.0.113.51").status, 200);
  EXPECT_EQ(from("192.0.2.5:1", "203.0.113.52").status, 429);
}

TEST_F(LimitsRouteTest, ClientKeyIsPluggable) {
  start(kRate);
  router_->set_client_key([](const http::Request& r) { return r.header("x-token"); });
  const std::string one = R"([{"name":"m","value":1}])";
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(call("POST", "/api/v1/push", one, "10.0.0." + std::to_string(i) + ":1").status, 200);
  // Different IPs, one key (no token): the third is refused.
  EXPECT_EQ(call("POST", "/api/v1/push", one, "10.0.0.9:1").status, 429);
}

TEST(PeerIp, StripsThePort) {
  EXPECT_EQ(peer_ip("10.1.2.3:4567"), "10.1.2.3");
  EXPECT_EQ(peer_ip("[2001:db8::1]:80"), "2001:db8::1");
}

}  // namespace
}  // namespace tocsin::api
