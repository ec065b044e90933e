#include "ingest/snappy_block.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ingest/remote_write_encode.h"

namespace tocsin::ingest {
namespace {

std::optional<std::string> ours(std::string_view block) {
  const auto preamble = snappy_block::read_preamble(block);
  if (!preamble || preamble->length > (size_t{1} << 22)) return std::nullopt;
  std::string out(preamble->length, '\0');
  if (!snappy_block::uncompress(block.substr(preamble->header_bytes), out.data(), out.size())) return std::nullopt;
  return out;
}

// libsnappy's answer, the reference.
std::optional<std::string> theirs(std::string_view block) {
  size_t length = 0;
  if (!snappy::GetUncompressedLength(block.data(), block.size(), &length) || length > (size_t{1} << 22)) {
    return std::nullopt;
  }
  std::string out(length, '\0');
  if (!snappy::RawUncompress(block.data(), block.size(), out.data())) return std::nullopt;
  return out;
}

std::string varint(uint64_t v) {
  std::string out;
  put_varint(out, v);
  return out;
}

// Inputs of the shapes snappy meets: incompressible bytes, text-like repeats, long runs of one
// byte (copies that overlap themselves, offset 1), short periodic patterns (offsets 2 to 20), and a
// remote_write body; at sizes around the 16-byte fast paths and across snappy's 64 kB fragments.
std::vector<std::string> samples() {
  std::mt19937_64 rng(3);
  std::vector<std::string> out;
  for (const size_t size : {0, 1, 15, 16, 17, 31, 32, 33, 64, 65, 100, 1000, 70'000, 200'000}) {
    std::string random(size, '\0');
    for (char& c : random) c = static_cast<char>(rng());
    out.push_back(random);
    std::string words;
    const char* const vocabulary[] = {"__name__", "instance", "job", "node_cpu_seconds_total", "host-", "\x09", "\x10"};
    while (words.size() < size) words += vocabulary[rng() % 7] + std::to_string(rng() % 50);
    out.push_back(words.substr(0, size));
    out.push_back(std::string(size, 'x'));
    for (size_t period = 2; period <= 20; period += 3) {
      std::string pattern;
      for (size_t i = 0; i < size; ++i) pattern += static_cast<char>('a' + (i % period));
      out.push_back(pattern);
    }
  }
  std::vector<Series> series;
  for (int s = 0; s < 500; ++s) {
    Series one{core::Labels{{"__name__", "bench_metric_" + std::to_string(s % 100)},
                            {"instance", "host-" + std::to_string(s / 100)},
                            {"job", "bench"}},
               {}};
    for (int k = 0; k < 10; ++k) {
      one.points.push_back(
          {static_cast<double>(rng() % 100'000) / 1000, core::from_unix_ms(1'700'000'000'000 + k * 1000)});
    }
    series.push_back(std::move(one));
  }
  out.push_back(encode_write_request(series));
  return out;
}

TEST(SnappyBlock, DecompressesWhatLibsnappyCompressed) {
  for (const std::string& raw : samples()) {
    const auto got = ours(snappy_compress(raw));
    ASSERT_TRUE(got.has_value()) << raw.size() << " bytes";
    EXPECT_EQ(*got, raw) << raw.size() << " bytes";
  }
}

// Elements libsnappy's compressor does not write (a copy with a 4-byte offset, lengths in 2 to 4
// extra bytes, copies that overlap themselves at every offset up to 20 and every length), built by
// hand and compared with a byte-by-byte reading of the format.
TEST(SnappyBlock, DecodesEveryElementKind) {
  // A literal of 70 bytes (length in one extra byte), then copies of each kind.
  std::string elements;
  std::string expected;
  std::string literal;
  for (int i = 0; i < 70; ++i) literal += static_cast<char>('A' + i % 26);
  elements += static_cast<char>(60 << 2) + std::string(1, static_cast<char>(69)) + literal;
  expected += literal;
  auto copy_by_bytes = [&](size_t offset, size_t len) {
    for (size_t i = 0; i < len; ++i) expected += expected[expected.size() - offset];
  };
  for (size_t offset = 1; offset <= 20; ++offset) {
    for (size_t len = 1; len <= 64; ++len) {
      // Kind 2 (two-byte offset) takes any length from 1 to 64; kind 1 lengths 4 to 11 and offsets
      // below 2048; kind 3 the same as kind 2 with four bytes of offset.
      const int kind = static_cast<int>((offset + len) % 3) + 1;
      if (kind == 1 && len >= 4 && len <= 11) {
        elements += static_cast<char>(((offset >> 8) << 5) | ((len - 4) << 2) | 1);
        elements += static_cast<char>(offset & 0xFF);
      } else if (kind == 3) {
        elements += static_cast<char>(((len - 1) << 2) | 3);
        for (int b = 0; b < 4; ++b) elements += static_cast<char>((offset >> (8 * b)) & 0xFF);
      } else {
        elements += static_cast<char>(((len - 1) << 2) | 2);
        elements += static_cast<char>(offset & 0xFF);
        elements += static_cast<char>(offset >> 8);
      }
      copy_by_bytes(offset, len);
    }
  }
  // Literals with their length in 2, 3 and 4 extra bytes.
  for (const int extra : {2, 3, 4}) {
    const std::string text(300 + extra, static_cast<char>('0' + extra));
    elements += static_cast<char>((59 + extra) << 2);
    for (int b = 0; b < extra; ++b) elements += static_cast<char>(((text.size() - 1) >> (8 * b)) & 0xFF);
    elements += text;
    expected += text;
  }
  const std::string block = varint(expected.size()) + elements;
  const auto got = ours(block);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, expected);
  EXPECT_EQ(theirs(block), expected) << "the reference agrees";
}

TEST(SnappyBlock, ReadsThePreambleUpTo32Bits) {
  for (const uint64_t length : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 21, uint64_t{0xFFFFFFFF}}) {
    const std::string block = varint(length) + "rest";
    const auto p = snappy_block::read_preamble(block);
    ASSERT_TRUE(p.has_value()) << length;
    EXPECT_EQ(p->length, length);
    EXPECT_EQ(p->header_bytes, varint(length).size());
  }
  EXPECT_FALSE(snappy_block::read_preamble(varint(uint64_t{1} << 32)).has_value()) << "33 bits";
  EXPECT_FALSE(snappy_block::read_preamble("\xff\xff\xff\xff\x80\x01").has_value()) << "a sixth byte";
  EXPECT_FALSE(snappy_block::read_preamble("\xff\xff").has_value()) << "cut short";
}

TEST(SnappyBlock, RefusesWhatIsMalformed) {
  const std::string abc = std::string(1, static_cast<char>(2 << 2)) + "abc";  // literal "abc"
  struct Case {
    const char* name;
    std::string block;
  };
  const Case cases[] = {
      {"no preamble", ""},
      {"preamble past 32 bits", "\xff\xff\xff\xff\x10"},
      {"preamble cut short", "\x80"},
      {"fewer bytes than claimed", varint(4) + abc},
      {"more bytes than claimed", varint(2) + abc},
      {"literal past the input", varint(5) + std::string(1, static_cast<char>(4 << 2)) + "abc"},
      {"literal length bytes missing", varint(100) + std::string(1, static_cast<char>(61 << 2)) + "\x01"},
      {"copy of offset 0", varint(7) + abc + std::string("\x01\x00", 2)},
      {"copy from before the start", varint(7) + abc + "\x01\x04"},
      {"copy past the claimed end", varint(5) + abc + "\x01\x03"},
      {"copy's offset cut short", varint(7) + abc + "\x02\x03"},
      {"four-byte offset cut short", varint(7) + abc + "\x03\x03\x00\x00"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(ours(c.block).has_value()) << c.name;
    EXPECT_FALSE(theirs(c.block).has_value()) << c.name << ": the reference refuses it too";
  }
}

// Random damage to valid blocks (flipped bits, cut ends, bytes dropped or inserted): the verdict
// and, when both accept, the bytes are libsnappy's.
TEST(SnappyBlock, AgreesWithLibsnappyOnDamagedBlocks) {
  std::mt19937_64 rng(17);
  int accepted = 0;
  int refused = 0;
  for (const std::string& raw : samples()) {
    if (raw.size() > 5000) continue;
    const std::string good = snappy_compress(raw);
    for (int round = 0; round < 200; ++round) {
      std::string bad = good;
      switch (rng() % 4) {
        case 0:
          if (!bad.empty()) bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
          break;
        case 1:
          bad.resize(rng() % (bad.size() + 1));
          break;
        case 2:
          if (!bad.empty()) bad.erase(rng() % bad.size(), 1);
          break;
        default:
          bad.insert(rng() % (bad.size() + 1), 1, static_cast<char>(rng()));
          break;
      }
      const auto a = ours(bad);
      const auto b = theirs(bad);
      ASSERT_EQ(a.has_value(), b.has_value()) << raw.size() << " bytes, round " << round;
      if (a) {
        EXPECT_EQ(*a, *b);
        ++accepted;
      } else {
        ++refused;
      }
    }
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 100);
}

}  // namespace
}  // namespace tocsin::ingest
