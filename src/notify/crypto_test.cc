#include "notify/crypto.h"

#include <gtest/gtest.h>

namespace tocsin::notify {
namespace {

// Expected values computed independently with Python's hmac and base64 modules.
TEST(Crypto, HmacSha256MatchesAnIndependentImplementation) {
  EXPECT_EQ(hex_lower(hmac_sha256("key", "The quick brown fox jumps over the lazy dog")),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  EXPECT_EQ(hmac_sha256("", "").size(), 32u);
}

TEST(Crypto, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff\xfe hello"), "-__-IGhlbGxv");
  EXPECT_EQ(base64url_encode("f"), "Zg");
}

TEST(Crypto, Base64UrlRoundTripsAndRejectsOtherText) {
  for (std::string s : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("\x00\xff\x10 binary", 10)}) {
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  }
  EXPECT_FALSE(base64url_decode("Zg=="));   // padding is not base64url as written here
  EXPECT_FALSE(base64url_decode("Z+8"));    // '+' is base64, not base64url
  EXPECT_FALSE(base64url_decode("Z"));      // impossible length
  EXPECT_FALSE(base64url_decode("Zh"));     // non-zero leftover bits: not a canonical encoding
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Crypto, RandomBytes) {
  const auto a = random_bytes(32);
  const auto b = random_bytes(32);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace tocsin::notify
