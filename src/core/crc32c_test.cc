#include "core/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tocsin::core {
namespace {

// Bit by bit, straight from the definition.
uint32_t reference(std::string_view data) {
  uint32_t crc = 0xffffffff;
  for (unsigned char b : data) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (crc & 1 ? 0x82f63b78 : 0);
  }
  return ~crc;
}

TEST(Crc32c, KnownVectors) {
  // The check value of the CRC catalogue, and the test vectors of RFC 3720 B.4.
  for (auto f : {crc32c, crc32c_portable}) {
    EXPECT_EQ(f("123456789", 0), 0xe3069283u);
    EXPECT_EQ(f(std::string(32, '\0'), 0), 0x8a9136aau);
    EXPECT_EQ(f(std::string(32, '\xff'), 0), 0x62a8ab43u);
    EXPECT_EQ(f("", 0), 0u);
  }
}

TEST(Crc32c, MatchesTheDefinitionAtEveryLengthAndAlignmentAndChains) {
  std::mt19937 rng(7);
  std::string data(300, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; offset + n <= data.size(); n += 7) {
      const std::string_view part = std::string_view(data).substr(offset, n);
      const uint32_t want = reference(part);
      EXPECT_EQ(crc32c(part), want) << offset << "+" << n;
      EXPECT_EQ(crc32c_portable(part), want) << offset << "+" << n;
      const size_t half = n / 3;
      EXPECT_EQ(crc32c(part.substr(half), crc32c(part.substr(0, half))), want);
    }
  }
}

}  // namespace
}  // namespace tocsin::core
