// Auth over the real router (docs/security.md): the route table walked with no token and with a
// token of each role, 401/403 shapes and counters, the intake secret (Bearer and Basic), who the
// audit log records, and the rate limiter keyed by token.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/router_fixture.h"
#include "auth/route_policy.h"

namespace tocsin::api {
namespace {

using auth::Access;
using config::Role;
using nlohmann::json;

constexpr const char* kViewerToken = "viewer-secret-0123456789";
constexpr const char* kResponderToken = "responder-secret-0123456789";
constexpr const char* kAdminToken = "admin-secret-0123456789";
constexpr const char* kIntakeSecret = "intake-secret-0123456789";

// Auth is on when the config has tokens; the router gets their digests (as the server does).
std::string config_yaml(std::string_view extra_auth = "") {
  return fmt::format(R"(
auth:
  tokens:
    - {{name: eve, role: viewer, token_sha256: {}}}
    - {{name: ops-cli, role: responder, token_sha256: {}}}
    - {{name: root, role: admin, token_sha256: {}}}
  intake: {{secret_env: TOCSIN_TEST_UNUSED}}
{}
people: [{{id: alice}}]
rules:
  - {{name: HighLoad, select: system_load, detector: {{kind: threshold, above: 0.9}}, labels: {{incident_type: crash}}}}
plans:
  - id: crash
    match: ['incident_type="crash"']
    roles: {{commander: "person:alice"}}
    steps:
      - {{id: triage, title: Triage, owner: commander, due: 15m}}
limits:
  rate: {{requests_per_second: 1000, burst: 1000}}
)",
                     auth::sha256_hex(kViewerToken), auth::sha256_hex(kResponderToken), auth::sha256_hex(kAdminToken),
                     extra_auth);
}

auth::TokenTable tokens() {
  return auth::TokenTable::create({{"eve", Role::kViewer, auth::sha256(kViewerToken)},
                                   {"ops-cli", Role::kResponder, auth::sha256(kResponderToken)},
                                   {"root", Role::kAdmin, auth::sha256(kAdminToken)}},
                                  auth::sha256(kIntakeSecret))
      .value();
}

std::map<std::string, std::string> bearer(std::string_view secret) {
  return {{"authorization", fmt::format("Bearer {}", secret)}};
}

class AuthRouteTest : public RouterFixture {
 protected:
  void SetUp() override {
    remote_ = "192.0.2.7:5000";
    start(config_yaml(), {.clock_control = &clock_control_, .ack_key = ""}, tokens());
  }
  http::Response as(std::string_view secret, std::string method, std::string target, std::string body = "") {
    return call(std::move(method), std::move(target), std::move(body), {},
                secret.empty() ? std::map<std::string, std::string>{} : bearer(secret));
  }
  void open_incident() {
    ASSERT_EQ(as(kIntakeSecret, "POST", "/api/v1/push", R"([{"name":"system_load","labels":{"host":"h1"},"value":0.95}])")
                  .status,
              200);
  }
  double metric(std::string_view reason) {
    return metrics_.counter("tocsin_http_auth_failures_total", "", {{"reason", std::string(reason)}}).value();
  }
  SimulatedClockControl clock_control_{clock_};
};

// A concrete path for a pattern: `*` → "1", `**` → "1/x".
std::string instance(std::string_view pattern) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern.substr(i, 2) == "**") {
      out += "1/x";
      i += 2;
    } else if (pattern[i] == '*') {
      out += "1";
      ++i;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

TEST_F(AuthRouteTest, EveryRouteInTheTableAdmitsItsRoleAndRefusesTheRoleBelow) {
  struct Caller {
    const char* secret;
    std::optional<auth::Principal> principal;
  };
  const std::vector<Caller> callers = {
      {"", std::nullopt},
      {kViewerToken, auth::Principal{auth::Principal::Kind::kToken, "eve", Role::kViewer}},
      {kResponderToken, auth::Principal{auth::Principal::Kind::kToken, "ops-cli", Role::kResponder}},
      {kAdminToken, auth::Principal{auth::Principal::Kind::kToken, "root", Role::kAdmin}},
      {kIntakeSecret, auth::Principal{auth::Principal::Kind::kIntake, "intake", Role::kViewer}},
  };
  int mutating = 0;
  for (const auth::RouteRule& rule : auth::route_table()) {
    const std::string path = instance(rule.pattern);
    const auto policy = auth::route_policy(rule.method, path, false);
    ASSERT_EQ(policy.rule, &rule) << rule.method << " " << path << " is decided by an earlier entry";
    if (rule.method != "GET") ++mutating;
    for (const Caller& c : callers) {
      const auto r = as(c.secret, std::string(rule.method), path, "{}");
      const bool passes = auth::allowed(c.principal, policy.access);
      const std::string who = c.principal ? c.principal->name : "no token";
      if (passes) {
        EXPECT_NE(r.status, 401) << rule.method << " " << path << " as " << who << ": " << r.body;
        EXPECT_NE(r.status, 403) << rule.method << " " << path << " as " << who << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, c.principal ? 403 : 401) << rule.method << " " << path << " as " << who << ": " << r.body;
      }
      // Whatever the table says, nothing that writes is open to a caller without a role, except
      // acknowledge links (signed) and logging in.
      if (rule.method != "GET" && !c.principal && rule.access != Access::kPublic) {
        EXPECT_EQ(r.status, 401) << rule.method << " " << path;
      }
    }
  }
  EXPECT_GT(mutating, 15) << "the table lost its writes?";
}

// GET /api/v1/cluster (docs/high-availability.md): a viewer sees the replicas and the leases.
TEST_F(AuthRouteTest, TheClusterViewIsForViewersAndListsReplicasAndLeases) {
  EXPECT_EQ(auth::route_policy("GET", "/api/v1/cluster", false).access, Access::kViewer);
  EXPECT_EQ(as("", "GET", "/api/v1/cluster").status, 401);
  EXPECT_EQ(as(kIntakeSecret, "GET", "/api/v1/cluster").status, 403);
  ASSERT_TRUE(engine_->run_due().has_value());  // the first pass takes the lease and heartbeats
  const auto r = as(kViewerToken, "GET", "/api/v1/cluster");
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  EXPECT_EQ(body["self"], "local");
  ASSERT_EQ(body["replicas"].size(), 1u) << r.body;
  EXPECT_EQ(body["replicas"][0]["id"], "local");
  EXPECT_EQ(body["replicas"][0]["live"], true);
  EXPECT_EQ(body["replicas"][0]["self"], true);
  EXPECT_EQ(body["replicas"][0]["heartbeat_age_seconds"], 0.0);
  ASSERT_EQ(body["leases"].size(), 1u);
  EXPECT_EQ(body["leases"][0]["name"], "engine");
  EXPECT_EQ(body["leases"][0]["holder"], "local");
  EXPECT_EQ(body["leases"][0]["epoch"], 1);
  EXPECT_EQ(as(kViewerToken, "GET", "/api/v1/cluster?x=1").status, 400);
  EXPECT_EQ(as(kAdminToken, "POST", "/api/v1/cluster").status, 405);
}

TEST_F(AuthRouteTest, AMethodOrPathOutsideTheTableNeedsAdminAndIsNotARoute) {
  EXPECT_EQ(as("", "POST", "/api/v1/not-a-route").status, 401);
  EXPECT_EQ(as(kViewerToken, "POST", "/api/v1/not-a-route").status, 403);
  const auto responder = as(kResponderToken, "POST", "/api/v1/not-a-route");
  EXPECT_EQ(responder.status, 403);
  EXPECT_EQ(json::parse(responder.body)["error"], "this route needs the admin role; token ops-cli has the responder role");
  EXPECT_EQ(as(kAdminToken, "POST", "/api/v1/not-a-route").status, 404);
  // A method the table does not list for a known path: admin too (default deny), then the 405.
  EXPECT_EQ(as(kResponderToken, "DELETE", "/api/v1/incidents").status, 403);
  EXPECT_EQ(as(kAdminToken, "DELETE", "/api/v1/incidents").status, 405);
}

TEST_F(AuthRouteTest, TheTableGatesDispatchSoARouteMissingFromItIsUnreachable) {
  // dispatch() would hand "/api/v1/ack/" to the acknowledge-link handler ("acknowledge links are
  // not enabled"); the table has no entry for an empty token, so the router never gets there.
  const auto r = as(kAdminToken, "GET", "/api/v1/ack/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"], "no route for GET /api/v1/ack/");
}

TEST_F(AuthRouteTest, MissingOrInvalidCredentialsAre401WithAChallenge) {
  const auto missing = as("", "GET", "/api/v1/incidents");
  EXPECT_EQ(missing.status, 401);
  ASSERT_EQ(missing.headers.size(), 1u);
  EXPECT_EQ(missing.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(missing.headers[0].second, "Bearer realm=\"tocsin\"");
  EXPECT_NE(json::parse(missing.body)["error"].get<std::string>().find("authentication required"), std::string::npos);
  EXPECT_EQ(metric("missing_credentials"), 1);
  const auto wrong = as("not-a-token-of-this-server", "GET", "/api/v1/incidents");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(json::parse(wrong.body)["error"].get<std::string>().find("invalid credentials"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {}, {{"authorization", "Token abc"}}).status, 401);
  EXPECT_EQ(metric("invalid_credentials"), 2);
  const auto low = as(kViewerToken, "POST", "/api/v1/incidents/1/ack", "{}");
  EXPECT_EQ(low.status, 403);
  EXPECT_EQ(json::parse(low.body)["error"], "this route needs the responder role; token eve has the viewer role");
  EXPECT_EQ(metric("forbidden"), 1);
  // The scheme is case-insensitive (RFC 7235); public routes need nothing.
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {}, {{"authorization", std::string("bearer ") + kViewerToken}}).status,
            200);
  EXPECT_EQ(as("", "GET", "/healthz").status, 200);
  EXPECT_EQ(as("", "GET", "/metrics").status, 401);
}

TEST_F(AuthRouteTest, MetricsCanBeMadePublic) {
  stop();
  start(config_yaml("  metrics_public: true"), {}, tokens());
  EXPECT_EQ(as("", "GET", "/metrics").status, 200);
}

TEST_F(AuthRouteTest, TheIntakeSecretGrantsIntakeOnlyAsBearerOrBasicPassword) {
  open_incident();
  // Basic auth as Prometheus' basic_auth sends it: any user name, the secret as password.
  const std::string basic = "Basic " + std::string("cHJvbWV0aGV1czppbnRha2Utc2VjcmV0LTAxMjM0NTY3ODk=");  // prometheus:intake-secret-0123456789
  const auto alerts = call("POST", "/api/v2/alerts", R"([{"labels":{"alertname":"X"}}])", {}, {{"authorization", basic}});
  EXPECT_EQ(alerts.status, 200) << alerts.body;
  const auto ack = as(kIntakeSecret, "POST", "/api/v1/incidents/1/ack", "{}");
  EXPECT_EQ(ack.status, 403);
  EXPECT_EQ(json::parse(ack.body)["error"],
            "the intake secret grants only the intake routes; this route needs the responder role");
  EXPECT_EQ(as(kIntakeSecret, "GET", "/api/v1/incidents").status, 403);
  const auto bad_basic = call("POST", "/api/v2/alerts", "[]", {}, {{"authorization", "Basic bm8tY29sb24="}});
  EXPECT_EQ(bad_basic.status, 401);
  EXPECT_EQ(as(kResponderToken, "POST", "/api/v1/incidents/1/ack", "{}").status, 200);
}

TEST_F(AuthRouteTest, TheAuditLogRecordsThePrincipalAndAClaimedNameOnlyBesideIt) {
  open_incident();
  ASSERT_EQ(as(kResponderToken, "POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})").status, 200);
  ASSERT_EQ(as(kResponderToken, "POST", "/api/v1/incidents/1/notes", R"({"text":"looking"})").status, 200);
  ASSERT_EQ(as(kResponderToken, "POST", "/api/v1/incidents/1/notes", R"({"actor":"ops-cli","text":"again"})").status,
            200);
  auto created = as(kResponderToken, "POST", "/api/v2/silences",
                    R"({"matchers":[{"name":"host","value":"h1","isRegex":false}],"startsAt":"2026-12-04T10:00:00Z",
                        "endsAt":"2026-12-04T12:00:00Z","createdBy":"bob","comment":"disk swap"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string silence = json::parse(created.body)["silenceID"];
  ASSERT_EQ(as(kAdminToken, "DELETE", "/api/v2/silence/" + silence).status, 200);
  const auto r = as(kAdminToken, "GET", "/api/v1/audit");
  ASSERT_EQ(r.status, 200) << r.body;
  const json entries = json::parse(r.body)["entries"];
  std::vector<std::string> actors;
  for (const auto& e : entries) actors.push_back(e["action"].get<std::string>() + " " + e["actor"].get<std::string>());
  EXPECT_EQ(actors, (std::vector<std::string>{"incident.acknowledge alice (token ops-cli)", "incident.note ops-cli",
                                              "incident.note ops-cli", "silence.create bob (token ops-cli)",
                                              "silence.expire root"}));
}

TEST_F(AuthRouteTest, TheRateLimiterCountsAnAuthenticatedClientByItsTokenName) {
  stop();
  std::string yaml = config_yaml();
  yaml.replace(yaml.find("requests_per_second: 1000, burst: 1000"), 38, "requests_per_second: 1, burst: 1");
  start(yaml, {}, tokens());
  remote_ = "192.0.2.1:1";
  EXPECT_EQ(as(kResponderToken, "POST", "/api/v1/incidents/9/ack", "{}").status, 404);
  remote_ = "192.0.2.2:2";  // another address, the same token: the same bucket
  const auto limited = as(kResponderToken, "POST", "/api/v1/incidents/9/ack", "{}");
  EXPECT_EQ(limited.status, 429);
  EXPECT_NE(json::parse(limited.body)["error"].get<std::string>().find("token:ops-cli"), std::string::npos);
  // Unauthenticated requests are still counted by address (and refused by auth after).
  EXPECT_EQ(as("", "POST", "/api/v1/incidents/9/ack", "{}").status, 401);
}

// The session cookie's value from a login's Set-Cookie.
std::string session_cookie(const http::Response& login) {
  for (const auto& [name, value] : login.headers) {
    if (name == "Set-Cookie" && value.starts_with("tocsin_session=")) return value.substr(15, value.find(';') - 15);
  }
  return "";
}

TEST_F(AuthRouteTest, LoginSetsAnHttpOnlyStrictCookieAndWritesNeedItsCsrfToken) {
  open_incident();
  const auto login = call("POST", "/api/v1/session", fmt::format(R"({{"token":"{}"}})", kResponderToken));
  ASSERT_EQ(login.status, 200) << login.body;
  const json who = json::parse(login.body);
  EXPECT_EQ(who["name"], "ops-cli");
  EXPECT_EQ(who["role"], "responder");
  EXPECT_EQ(who["expires_at"], "2026-12-04T22:00:00Z");  // 12 h
  const std::string csrf = who["csrf_token"];
  EXPECT_EQ(csrf.size(), 64u);
  const std::string id = session_cookie(login);
  ASSERT_EQ(id.size(), 64u);
  EXPECT_EQ(login.headers[0].second, "tocsin_session=" + id + "; HttpOnly; SameSite=Strict; Path=/");
  // Only the id's SHA-256 is stored.
  store_->read([&](store::Tx& tx) -> core::Status {
    EXPECT_FALSE(tx.get_session(id).value());
    EXPECT_EQ(tx.get_session(auth::sha256_hex(id)).value()->token_name, "ops-cli");
    return {};
  }).value();

  const std::map<std::string, std::string> cookie{{"cookie", "theme=dark; tocsin_session=" + id}};
  const auto me = call("GET", "/api/v1/session", "", {}, cookie);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body)["csrf_token"], csrf);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {}, cookie).status, 200);
  const auto no_csrf = call("POST", "/api/v1/incidents/1/ack", "{}", {}, cookie);
  EXPECT_EQ(no_csrf.status, 403);
  EXPECT_EQ(json::parse(no_csrf.body)["error"],
            "CSRF token missing or wrong: send the session's csrf_token in X-CSRF-Token");
  auto wrong = cookie;
  wrong["x-csrf-token"] = std::string(64, '0');
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/ack", "{}", {}, wrong).status, 403);
  EXPECT_EQ(metric("csrf"), 2);
  auto with_csrf = cookie;
  with_csrf["x-csrf-token"] = csrf;
  EXPECT_EQ(call("POST", "/api/v1/incidents/1/ack", R"({"actor":"alice"})", {}, with_csrf).status, 200);
  // A session acts with its token's role: no admin route.
  EXPECT_EQ(call("GET", "/api/v1/audit", "", {}, cookie).status, 403);
  EXPECT_NE(as(kAdminToken, "GET", "/api/v1/audit?action=incident.").body.find("alice (token ops-cli)"),
            std::string::npos);
  // Bearer requests need no CSRF token.
  EXPECT_EQ(as(kResponderToken, "POST", "/api/v1/incidents/1/notes", R"({"text":"x"})").status, 200);

  const auto logout = call("DELETE", "/api/v1/session", "", {}, with_csrf);
  ASSERT_EQ(logout.status, 200) << logout.body;
  EXPECT_EQ(logout.headers[0].second, "tocsin_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
  EXPECT_EQ(call("GET", "/api/v1/session", "", {}, cookie).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/incidents", "", {}, cookie).status, 401);
}

TEST_F(AuthRouteTest, BadLoginsAre401AndChangeNothing) {
  EXPECT_EQ(call("POST", "/api/v1/session", R"({"token":"guess-guess-guess-guess"})").status, 401);
  EXPECT_EQ(call("POST", "/api/v1/session", fmt::format(R"({{"token":"{}"}})", kIntakeSecret)).status, 401);
  EXPECT_EQ(call("POST", "/api/v1/session", R"({"tokn":"x"})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/session", "not json").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/session").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/session", "", {}, {{"cookie", "tocsin_session=" + std::string(64, 'a')}}).status, 401);
  EXPECT_EQ(as(kViewerToken, "DELETE", "/api/v1/session").status, 400);
  EXPECT_EQ(json::parse(as(kViewerToken, "GET", "/api/v1/session").body), json({{"auth", true}, {"name", "eve"}, {"role", "viewer"}}));
}

TEST_F(AuthRouteTest, SessionsEndWhenIdleExpiredOrTheirTokenChangedAndSurviveARestart) {
  auto login = [&](const char* token) {
    return session_cookie(call("POST", "/api/v1/session", fmt::format(R"({{"token":"{}"}})", token)));
  };
  auto alive = [&](const std::string& id) {
    return call("GET", "/api/v1/session", "", {}, {{"cookie", "tocsin_session=" + id}}).status == 200;
  };
  const std::string a = login(kViewerToken);
  clock_.advance(std::chrono::minutes(59));
  EXPECT_TRUE(alive(a));
  clock_.advance(std::chrono::minutes(59));  // used 59 min ago: not idle yet
  EXPECT_TRUE(alive(a));
  clock_.advance(std::chrono::minutes(61));
  EXPECT_FALSE(alive(a)) << "idle more than 1 h";

  const std::string b = login(kViewerToken);
  for (int i = 0; i < 13; ++i) {  // in use every 55 min: 11 h 55 min after login
    clock_.advance(std::chrono::minutes(55));
    EXPECT_TRUE(alive(b)) << i;
  }
  clock_.advance(std::chrono::minutes(55));  // 12 h 50 min after login
  EXPECT_FALSE(alive(b)) << "past the 12 h lifetime";

  const std::string c = login(kViewerToken);
  const std::string d = login(kResponderToken);
  stop();  // a restart where eve's token got another secret and ops-cli another role
  start(config_yaml(), {}, auth::TokenTable::create({{"eve", Role::kViewer, auth::sha256("a-new-secret-0123456789")},
                                                            {"ops-cli", Role::kAdmin, auth::sha256(kResponderToken)},
                                                            {"root", Role::kAdmin, auth::sha256(kAdminToken)}})
                                      .value());
  EXPECT_FALSE(alive(c));
  EXPECT_FALSE(alive(d));
  const std::string e = login(kAdminToken);
  stop();
  start(config_yaml(), {}, tokens());
  EXPECT_TRUE(alive(e)) << "a session survives a restart with its token unchanged";
}

TEST(SessionCookie, FindsTheNamedCookie) {
  EXPECT_EQ(cookie_value("a=1; tocsin_session=ab; b=2", "tocsin_session"), "ab");
  EXPECT_EQ(cookie_value("tocsin_session=ab", "tocsin_session"), "ab");
  EXPECT_EQ(cookie_value("xtocsin_session=ab", "tocsin_session"), "");
  EXPECT_EQ(cookie_value("", "tocsin_session"), "");
}

}  // namespace
}  // namespace tocsin::api
