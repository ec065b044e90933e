#include "tsdb/gorilla.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace tocsin::tsdb {
namespace {

struct Raw {
  int64_t t;
  double v;
};

// Encodes `samples` into as many chunks as the head cuts, decodes them, and checks every bit.
void round_trip(const std::vector<Raw>& samples) {
  std::vector<Raw> decoded;
  HeadChunk head;
  head.reset(256);
  auto drain = [&] {
    ChunkIterator it(head.bytes(), head.min_t(), head.count());
    while (it.next()) decoded.push_back({it.t(), it.value()});
    ASSERT_FALSE(it.corrupt());
  };
  for (const auto& s : samples) {
    if (head.full()) {
      drain();
      head.reset(kMaxChunkBytes);
    }
    head.append(s.t, s.v);
    ASSERT_LE(head.count(), kMaxChunkSamples);
  }
  drain();
  ASSERT_EQ(decoded.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    ASSERT_EQ(decoded[i].t, samples[i].t) << "sample " << i;
    // Bit-exact, so NaN payloads and -0.0 survive too.
    ASSERT_EQ(std::bit_cast<uint64_t>(decoded[i].v), std::bit_cast<uint64_t>(samples[i].v)) << "sample " << i;
  }
}

TEST(GorillaTest, RandomWalks) {
  std::mt19937_64 rng(42);
  for (int series = 0; series < 50; ++series) {
    std::normal_distribution<double> step(0, 1 + series);
    std::vector<Raw> s;
    int64_t t = 1'700'000'000'000;
    double v = 100;
    for (int i = 0; i < 1000; ++i) {
      t += 15'000 + static_cast<int64_t>(rng() % 21) - 10;  // scrape jitter
      v += step(rng);
      s.push_back({t, v});
    }
    round_trip(s);
  }
}

TEST(GorillaTest, ConstantSeriesCompressesToAboutTwoBitsPerSample) {
  std::vector<Raw> s;
  HeadChunk head;
  head.reset(256);
  for (int i = 0; i < kMaxChunkSamples; ++i) {
    s.push_back({1000 + i * 15'000, 42.5});
    head.append(s.back().t, s.back().v);
  }
  // 8 bytes of first value, 4+20 bits for the first delta, then 2 bits per sample.
  EXPECT_LE(head.size_bytes(), 8u + 3u + (kMaxChunkSamples * 2u + 7u) / 8u);
  EXPECT_TRUE(head.full());
  round_trip(s);
}

TEST(GorillaTest, NaNAndInfinities) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const double stale = std::bit_cast<double>(uint64_t{0x7ff0000000000002ULL});
  round_trip({{1, nan},
              {2, inf},
              {3, -inf},
              {4, 0.0},
              {5, -0.0},
              {6, stale},
              {7, 1.5},
              {8, nan},
              {9, nan},
              {10, std::numeric_limits<double>::denorm_min()},
              {11, std::numeric_limits<double>::max()},
              {12, std::numeric_limits<double>::lowest()}});
}

TEST(GorillaTest, HugeJumpsInTimeAndValue) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  round_trip({{kMin, 1e300}, {kMin + 1, -1e300}, {0, 1}, {1, 1e-300}, {kMax / 2, 7}, {kMax - 1, 8}, {kMax, -8}});
  // Every dod bucket boundary, both signs.
  std::vector<Raw> s;
  int64_t t = 0;
  int64_t delta = 1'000'000;
  for (int64_t dod : {0L, 1L, -1L, 64L, -63L, 65L, -64L, 8192L, -8191L, 8193L, -8192L, 524288L, -524287L, 524289L,
                      -524288L, 1L << 40, -(1L << 39)}) {
    delta += dod;
    t += delta;
    s.push_back({t, static_cast<double>(dod)});
  }
  round_trip(s);
}

TEST(GorillaTest, IrregularIntervalsProperty) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<Raw> s;
    int64_t t = static_cast<int64_t>(rng() >> 20);
    const int n = 1 + static_cast<int>(rng() % 400);
    for (int i = 0; i < n; ++i) {
      // Mostly small gaps, sometimes enormous ones; values from a mix of distributions.
      const uint64_t kind = rng() % 10;
      t += kind < 7 ? 1 + static_cast<int64_t>(rng() % 1000) : 1 + static_cast<int64_t>(rng() % (1ULL << 40));
      double v;
      switch (rng() % 4) {
        case 0:
          v = static_cast<double>(rng() % 100);
          break;
        case 1:
          v = std::bit_cast<double>(rng());
          break;  // any bit pattern
        case 2:
          v = std::ldexp(static_cast<double>(rng() % 1000), static_cast<int>(rng() % 200) - 100);
          break;
        default:
          v = s.empty() ? 0 : s.back().v;
          break;
      }
      s.push_back({t, v});
    }
    round_trip(s);
  }
}

TEST(GorillaTest, IncompressibleValuesCutByBytesNotOverflow) {
  std::mt19937_64 rng(3);
  HeadChunk head;
  head.reset(64);
  int appended = 0;
  while (!head.full()) {
    // Jittered timestamps and random bit patterns: every sample takes its worst-case bucket.
    head.append(appended * int64_t{2'000'000} + static_cast<int64_t>(rng() % 1'000'000), std::bit_cast<double>(rng()));
    ++appended;
  }
  EXPECT_LT(appended, kMaxChunkSamples);
  EXPECT_LE(head.size_bytes(), head.capacity_bytes());
}

TEST(GorillaTest, GrowKeepsTheSamplesAndMakesRoomForMore) {
  std::mt19937_64 rng(4);
  HeadChunk head;
  head.reset(64);
  std::vector<Raw> appended;
  while (head.count() < kMaxChunkSamples) {
    if (head.full()) {
      ASSERT_TRUE(head.grow(100));
    }
    appended.push_back({static_cast<int64_t>(appended.size()) * 1000, std::bit_cast<double>(rng() | 1)});
    head.append(appended.back().t, appended.back().v);
  }
  EXPECT_TRUE(head.full());
  EXPECT_LE(head.capacity_bytes(), kMaxChunkBytes);
  ChunkIterator it(head.bytes(), head.min_t(), head.count());
  for (const Raw& want : appended) {
    ASSERT_TRUE(it.next());
    EXPECT_EQ(it.t(), want.t);
    EXPECT_EQ(std::bit_cast<uint64_t>(it.value()), std::bit_cast<uint64_t>(want.v));
  }
  EXPECT_FALSE(it.next());
  EXPECT_FALSE(it.corrupt());
  head.reset(kMaxChunkBytes);
  EXPECT_FALSE(head.grow(1));  // at the bound already
}

TEST(GorillaTest, TruncatedOrGarbageDataIsReportedNotOverread) {
  HeadChunk head;
  head.reset(kMaxChunkBytes);
  for (int i = 0; i < 100; ++i) head.append(i * 10'000 + (i % 3), i * 1.25);
  const auto bytes = head.bytes();
  for (size_t cut = 0; cut < bytes.size(); cut += 3) {
    ChunkIterator it(bytes.subspan(0, cut), head.min_t(), head.count());
    int n = 0;
    while (it.next()) ++n;
    EXPECT_TRUE(it.corrupt()) << "cut at " << cut;
    EXPECT_LT(n, 100);
  }
  std::mt19937_64 rng(9);
  std::vector<uint8_t> garbage(200);
  for (int round = 0; round < 500; ++round) {
    for (auto& b : garbage) b = static_cast<uint8_t>(rng());
    ChunkIterator it(garbage, 0, kMaxChunkSamples);
    int64_t prev = std::numeric_limits<int64_t>::min();
    while (it.next()) {
      EXPECT_GT(it.t(), prev);
      prev = it.t();
    }
  }
}

}  // namespace
}  // namespace tocsin::tsdb
