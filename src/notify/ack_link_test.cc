#include "notify/ack_link.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "notify/crypto.h"

namespace tocsin::notify {
namespace {

const core::Timestamp kNow = core::parse_rfc3339("2026-03-02T08:00:00Z").value();
const std::string kKey(32, 'k');

TEST(AckLink, RoundTrip) {
  const std::string token = make_ack_token(42, "bob", kNow + kAckLinkLifetime, kKey);
  auto claim = verify_ack_token(token, kNow, kKey);
  ASSERT_TRUE(claim.has_value()) << claim.error().to_string();
  EXPECT_EQ(claim->incident, 42);
  EXPECT_EQ(claim->actor, "bob");
  EXPECT_EQ(claim->expires, kNow + kAckLinkLifetime);
  // URL-safe as it is: no escaping needed in a path.
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
            std::string::npos);
}

TEST(AckLink, ActorMayHoldColons) {
  const std::string token = make_ack_token(7, "channel:ops:chat", kNow + std::chrono::hours(1), kKey);
  EXPECT_EQ(verify_ack_token(token, kNow, kKey).value().actor, "channel:ops:chat");
}

TEST(AckLink, ExpiresAtItsExpiry) {
  const std::string token = make_ack_token(42, "bob", kNow + std::chrono::hours(24), kKey);
  EXPECT_TRUE(verify_ack_token(token, kNow + std::chrono::hours(24) - std::chrono::seconds(1), kKey).has_value());
  auto expired = verify_ack_token(token, kNow + std::chrono::hours(24), kKey);
  ASSERT_FALSE(expired.has_value());
  EXPECT_NE(expired.error().message().find("expired at 2026-03-03T08:00:00Z"), std::string::npos)
      << expired.error().message();
}

TEST(AckLink, TamperedOrForeignTokensAreRejected) {
  const std::string token = make_ack_token(42, "bob", kNow + std::chrono::hours(24), kKey);
  const size_t dot = token.find('.');
  // Another incident in the payload, with the old signature.
  const std::string forged =
      base64url_encode(fmt::format("1:43:{}:bob", core::to_unix_ms(kNow + std::chrono::hours(24)) / 1000)) +
      token.substr(dot);
  EXPECT_NE(verify_ack_token(forged, kNow, kKey).error().message().find("signature"), std::string::npos);
  // A flipped signature character.
  std::string flipped = token;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_ack_token(flipped, kNow, kKey).has_value());
  // Another server's key.
  EXPECT_FALSE(verify_ack_token(token, kNow, std::string(32, 'x')).has_value());
  // Garbage.
  for (const std::string& bad : std::vector<std::string>{"", ".", "abc", "a.b.c", "!!.!!", token.substr(0, dot)}) {
    auto r = verify_ack_token(bad, kNow, kKey);
    EXPECT_FALSE(r.has_value()) << bad;
  }
}

TEST(AckLink, Url) {
  EXPECT_EQ(ack_url("http://t.example/", "abc.def"), "http://t.example/api/v1/ack/abc.def");
}

}  // namespace
}  // namespace tocsin::notify
