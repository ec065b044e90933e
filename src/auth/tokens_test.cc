#include "auth/tokens.h"

#include <gtest/gtest.h>

namespace tocsin::auth {
namespace {

using config::Role;

TEST(Roles, AreOrderedViewerResponderAdmin) {
  EXPECT_TRUE(role_at_least(Role::kAdmin, Role::kResponder));
  EXPECT_TRUE(role_at_least(Role::kResponder, Role::kResponder));
  EXPECT_TRUE(role_at_least(Role::kResponder, Role::kViewer));
  EXPECT_FALSE(role_at_least(Role::kViewer, Role::kResponder));
  EXPECT_FALSE(role_at_least(Role::kResponder, Role::kAdmin));
  EXPECT_EQ(role_name(Role::kResponder), "responder");
}

TEST(Sha256, MatchesKnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest_from_hex(sha256_hex("abc")), sha256("abc"));
  EXPECT_EQ(digest_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"), sha256("abc"));
  EXPECT_FALSE(digest_from_hex("ba78"));
  EXPECT_FALSE(digest_from_hex(std::string(64, 'g')));
}

TEST(RandomHex, GivesFreshHexOfTwiceTheLength) {
  const auto a = random_hex(32), b = random_hex(32);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ConstantTimeEqual, ComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(BasicAuthPassword, DecodesUserColonPassword) {
  EXPECT_EQ(basic_auth_password("dXNlcjpwYXNz"), "pass");                    // user:pass
  EXPECT_EQ(basic_auth_password("OnNlY3JldDE="), "secret1");                 // :secret1
  EXPECT_EQ(basic_auth_password("cHJvbWV0aGV1czphOmI="), "a:b");             // prometheus:a:b
  EXPECT_FALSE(basic_auth_password("dXNlcg=="));                             // user (no colon)
  EXPECT_FALSE(basic_auth_password("dXNlcjpwYXNz!"));
  EXPECT_FALSE(basic_auth_password("dXNlcjpwYXNz=x"));
}

TokenTable table() {
  return TokenTable::create({{"ops", Role::kResponder, sha256("ops-secret-0123456789")},
                             {"boss", Role::kAdmin, sha256("boss-secret-0123456789")}},
                            sha256("intake-secret-0123456789"))
      .value();
}

TEST(TokenTable, FindsTokensByTheirSecret) {
  const TokenTable t = table();
  EXPECT_TRUE(t.enabled());
  auto ops = t.find("ops-secret-0123456789");
  ASSERT_TRUE(ops);
  EXPECT_EQ(ops->name, "ops");
  EXPECT_EQ(ops->role, Role::kResponder);
  EXPECT_EQ(ops->kind, Principal::Kind::kToken);
  EXPECT_EQ(t.find("boss-secret-0123456789")->role, Role::kAdmin);
  EXPECT_FALSE(t.find("ops-secret-012345678"));
  EXPECT_FALSE(t.find(""));
  auto intake = t.find("intake-secret-0123456789");
  ASSERT_TRUE(intake);
  EXPECT_EQ(intake->kind, Principal::Kind::kIntake);
  EXPECT_EQ(t.by_name("boss")->role, Role::kAdmin);
  EXPECT_EQ(t.by_name("nobody"), nullptr);
}

TEST(TokenTable, EmptyMeansAuthOff) {
  EXPECT_FALSE(TokenTable().enabled());
  EXPECT_FALSE(TokenTable().find("anything-at-all-here"));
}

TEST(TokenTable, RefusesAmbiguousOrMalformedEntries) {
  auto same_secret = TokenTable::create({{"a", Role::kViewer, sha256("s")}, {"b", Role::kAdmin, sha256("s")}});
  ASSERT_FALSE(same_secret);
  EXPECT_NE(same_secret.error().message().find("auth token b: has the same secret"), std::string::npos);
  auto same_name = TokenTable::create({{"a", Role::kViewer, sha256("s")}, {"a", Role::kAdmin, sha256("t")}});
  ASSERT_FALSE(same_name);
  EXPECT_NE(same_name.error().message().find("used twice"), std::string::npos);
  auto short_digest = TokenTable::create({{"a", Role::kViewer, "abc"}});
  ASSERT_FALSE(short_digest);
  EXPECT_NE(short_digest.error().message().find("32-byte"), std::string::npos);
  auto intake_clash = TokenTable::create({{"a", Role::kViewer, sha256("s")}}, sha256("s"));
  ASSERT_FALSE(intake_clash);
  EXPECT_NE(intake_clash.error().message().find("auth.intake"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::auth
