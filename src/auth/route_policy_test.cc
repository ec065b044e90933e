#include "auth/route_policy.h"

#include <gtest/gtest.h>

namespace tocsin::auth {
namespace {

using config::Role;

TEST(PathMatches, LiteralStarAndDoubleStar) {
  EXPECT_TRUE(path_matches("/healthz", "/healthz"));
  EXPECT_FALSE(path_matches("/healthz", "/healthz/"));
  EXPECT_FALSE(path_matches("/healthz", "/healthzz"));
  EXPECT_TRUE(path_matches("/", "/"));
  EXPECT_FALSE(path_matches("/", "/x"));
  EXPECT_TRUE(path_matches("/api/v1/ack/*", "/api/v1/ack/abc"));
  EXPECT_FALSE(path_matches("/api/v1/ack/*", "/api/v1/ack/"));
  EXPECT_FALSE(path_matches("/api/v1/ack/*", "/api/v1/ack/a/b"));
  EXPECT_TRUE(path_matches("/api/v1/incidents/**", "/api/v1/incidents/1/tasks/a/b/done"));
  EXPECT_TRUE(path_matches("/api/v1/incidents/**", "/api/v1/incidents/1"));
  EXPECT_FALSE(path_matches("/api/v1/incidents/**", "/api/v1/incidents"));
  EXPECT_TRUE(path_matches("/api/v1/incidents/*/postmortem", "/api/v1/incidents/7/postmortem"));
  EXPECT_FALSE(path_matches("/api/v1/incidents/*/postmortem", "/api/v1/incidents/7/postmortem/x"));
  EXPECT_FALSE(path_matches("/x", "x"));
}

TEST(RoutePolicy, FirstMatchingEntryOfTheMethodDecides) {
  EXPECT_EQ(route_policy("GET", "/healthz", false).access, Access::kPublic);
  EXPECT_EQ(route_policy("POST", "/api/v1/incidents/3/ack", false).access, Access::kResponder);
  EXPECT_EQ(route_policy("GET", "/api/v1/incidents/3", false).access, Access::kViewer);
  EXPECT_EQ(route_policy("POST", "/api/v1/clock/advance", false).access, Access::kAdmin);
  EXPECT_EQ(route_policy("POST", "/api/v2/alerts", false).access, Access::kIntake);
  EXPECT_EQ(route_policy("GET", "/metrics", false).access, Access::kViewer);
  EXPECT_EQ(route_policy("GET", "/metrics", true).access, Access::kPublic);
}

TEST(RoutePolicy, UnknownMethodOrPathNeedsAdmin) {
  auto other_method = route_policy("DELETE", "/healthz", false);
  EXPECT_EQ(other_method.access, Access::kAdmin);
  EXPECT_TRUE(other_method.known_path);
  EXPECT_EQ(other_method.rule, nullptr);
  auto unknown = route_policy("POST", "/api/v1/not-a-route", false);
  EXPECT_EQ(unknown.access, Access::kAdmin);
  EXPECT_FALSE(unknown.known_path);
}

TEST(RoutePolicy, EveryNonGetEntryNeedsCredentialsUnlessDeliberatelyPublic) {
  for (const RouteRule& rule : route_table()) {
    if (rule.method == "GET" || rule.access != Access::kPublic) continue;
    // The only public writes: acknowledge links (signed) and logging in.
    EXPECT_TRUE(rule.pattern == "/api/v1/ack/*" || rule.pattern == "/api/v1/session") << rule.pattern;
  }
}

TEST(RoutePolicy, EveryWriteNeedsAtLeastAResponderOrTheIntakeSecret) {
  for (const RouteRule& rule : route_table()) {
    if (rule.method == "GET" || rule.access == Access::kPublic) continue;  // public: the test above
    if (rule.method == "DELETE" && rule.pattern == "/api/v1/session") {
      EXPECT_EQ(rule.access, Access::kViewer) << "anyone logged in may log out";
      continue;
    }
    EXPECT_TRUE(rule.access == Access::kIntake || rule.access == Access::kResponder || rule.access == Access::kAdmin)
        << rule.method << " " << rule.pattern << " is open to " << access_name(rule.access);
  }
}

TEST(Allowed, ByRoleAndIntakeOnlyForIntake) {
  const Principal viewer{Principal::Kind::kToken, "v", Role::kViewer};
  const Principal responder{Principal::Kind::kSession, "r", Role::kResponder};
  const Principal admin{Principal::Kind::kToken, "a", Role::kAdmin};
  const Principal intake{Principal::Kind::kIntake, "intake", Role::kViewer};
  EXPECT_TRUE(allowed(std::nullopt, Access::kPublic));
  EXPECT_FALSE(allowed(std::nullopt, Access::kViewer));
  EXPECT_TRUE(allowed(viewer, Access::kViewer));
  EXPECT_FALSE(allowed(viewer, Access::kIntake));
  EXPECT_TRUE(allowed(responder, Access::kIntake));
  EXPECT_FALSE(allowed(responder, Access::kAdmin));
  EXPECT_TRUE(allowed(admin, Access::kAdmin));
  EXPECT_TRUE(allowed(intake, Access::kIntake));
  EXPECT_FALSE(allowed(intake, Access::kViewer));
  EXPECT_FALSE(allowed(intake, Access::kResponder));
}

}  // namespace
}  // namespace tocsin::auth
