#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>

#include "test_support/temp_dir.h"
#include "tsdb/series_store.h"

namespace tocsin::tsdb {
namespace {

core::Timestamp at(int64_t ms) { return core::from_unix_ms(ms); }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::filesystem::path& p, std::string_view data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

// Rewrites the trailing checksum, to build files that pass it yet are damaged inside.
void reseal(std::string& data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i + 8 < data.size(); ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ULL;
  }
  for (int i = 0; i < 8; ++i) data[data.size() - 8 + static_cast<size_t>(i)] = static_cast<char>((h >> (8 * i)) & 0xff);
}

class SnapshotTest : public ::testing::Test {
 protected:
  SnapshotTest() {
    std::mt19937_64 rng(11);
    for (int s = 0; s < 50; ++s) {
      core::Labels labels{{"__name__", s % 2 ? "node_load1" : "node_cpu_seconds_total"}};
      labels.set("instance", fmt::format("host{}", s));
      if (s % 3 == 0) labels.set("mode", "idle");
      const auto ref = *store_->get_or_create(labels);
      const int n = static_cast<int>(rng() % 500);  // some with no samples, some mid-chunk
      double v = 0;
      for (int i = 0; i < n; ++i) {
        v += static_cast<double>(rng() % 100) / 10;
        store_->append(ref, at(i * 15'000 + static_cast<int64_t>(rng() % 5)), v);
      }
    }
  }

  // Every series of `a` has the same labels, ref and samples in `b`.
  static void expect_same(const SeriesStore& a, const SeriesStore& b) {
    const auto refs = a.select({});
    ASSERT_EQ(refs, b.select({}));
    std::vector<Point> pa;
    std::vector<Point> pb;
    for (const auto ref : refs) {
      EXPECT_EQ(a.labels(ref), b.labels(ref));
      a.samples(ref, at(0), at(1LL << 50), pa);
      b.samples(ref, at(0), at(1LL << 50), pb);
      EXPECT_EQ(pa, pb);
    }
    EXPECT_EQ(a.stats().samples, b.stats().samples);
    EXPECT_EQ(a.stats().encoded_bytes, b.stats().encoded_bytes);
  }

  test_support::TempDir dir_;
  core::MetricsRegistry registry_;
  core::MetricsRegistry registry2_;
  SeriesStoreOptions options_;
  std::unique_ptr<SeriesStore> store_ = std::make_unique<SeriesStore>(options_, registry_);
};

TEST_F(SnapshotTest, RoundTripKeepsSeriesRefsSamplesAndAppending) {
  const auto file = dir_.path() / "series.snap";
  ASSERT_TRUE(store_->snapshot(file).has_value());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "series.snap.tmp"));
  auto loaded = SeriesStore::load(file, options_, registry2_);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
  expect_same(*store_, **loaded);
  // Both continue identically: the head chunk was restored with its encoder state.
  for (const auto ref : store_->select({})) {
    const auto last = store_->latest(ref);
    const auto t = last ? last->ts + std::chrono::seconds(15) : at(0);
    EXPECT_EQ(store_->append(ref, t, 1.5), AppendResult::kOk);
    EXPECT_EQ((*loaded)->append(ref, t, 1.5), AppendResult::kOk);
    if (last) {
      EXPECT_EQ((*loaded)->append(ref, last->ts - std::chrono::milliseconds(1), 1), AppendResult::kOutOfOrder);
    }
  }
  expect_same(*store_, **loaded);
  // New series get fresh refs, never one that was in the snapshot.
  const auto fresh = *(*loaded)->get_or_create({{"__name__", "new"}});
  for (const auto ref : store_->select({})) EXPECT_NE(fresh, ref);
  EXPECT_EQ(registry2_.render().find("tocsin_tsdb_series 51") != std::string::npos, true);
}

TEST_F(SnapshotTest, EmptyStoreRoundTrips) {
  core::MetricsRegistry r;
  SeriesStore empty(options_, r);
  const auto file = dir_.path() / "empty.snap";
  ASSERT_TRUE(empty.snapshot(file).has_value());
  auto loaded = SeriesStore::load(file, options_, registry2_);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ((*loaded)->stats().series, 0u);
}

TEST_F(SnapshotTest, OverwritesAtomically) {
  const auto file = dir_.path() / "series.snap";
  write_file(file, "old contents");
  ASSERT_TRUE(store_->snapshot(file).has_value());
  EXPECT_TRUE(SeriesStore::load(file, options_, registry2_).has_value());
  // An unwritable destination is an error value, not a crash.
  auto bad = store_->snapshot(dir_.path() / "no-such-dir" / "x.snap");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), core::ErrorCode::kUnavailable);
}

TEST_F(SnapshotTest, MissingFileIsNotFound) {
  auto r = SeriesStore::load(dir_.path() / "absent.snap", options_, registry2_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), core::ErrorCode::kNotFound);
}

TEST_F(SnapshotTest, EveryTruncationIsAClearError) {
  const auto file = dir_.path() / "series.snap";
  ASSERT_TRUE(store_->snapshot(file).has_value());
  const std::string data = read_file(file);
  const auto cut_file = dir_.path() / "cut.snap";
  for (size_t len = 0; len < data.size(); len += 1 + len / 8) {
    write_file(cut_file, data.substr(0, len));
    auto r = SeriesStore::load(cut_file, options_, registry2_);
    ASSERT_FALSE(r.has_value()) << "length " << len;
    EXPECT_EQ(r.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find("at byte"), std::string::npos) << r.error().message();
  }
}

TEST_F(SnapshotTest, FlippedBytesFailTheChecksum) {
  const auto file = dir_.path() / "series.snap";
  ASSERT_TRUE(store_->snapshot(file).has_value());
  std::string data = read_file(file);
  std::mt19937_64 rng(1);
  for (int round = 0; round < 50; ++round) {
    std::string bad = data;
    bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    write_file(file, bad);
    auto r = SeriesStore::load(file, options_, registry2_);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), core::ErrorCode::kInvalidArgument);
  }
  write_file(file, "TOCSINTZ" + data.substr(8));
  EXPECT_NE(SeriesStore::load(file, options_, registry2_).error().message().find("bad magic"), std::string::npos);
}

TEST_F(SnapshotTest, DamageBehindAValidChecksumIsCaughtByTheParser) {
  const auto file = dir_.path() / "series.snap";
  ASSERT_TRUE(store_->snapshot(file).has_value());
  const std::string data = read_file(file);
  std::mt19937_64 rng(2);
  int rejected = 0;
  // Random damage with the checksum recomputed: every outcome must be either an error or a store
  // that reads back without crashing (a flipped bit inside a value is undetectable by design).
  for (int round = 0; round < 120; ++round) {
    std::string bad = data;
    const size_t pos = 8 + rng() % (bad.size() - 16);
    bad[pos] ^= static_cast<char>(1 + rng() % 255);
    reseal(bad);
    write_file(file, bad);
    auto r = SeriesStore::load(file, options_, registry2_);
    if (!r) {
      ++rejected;
      continue;
    }
    std::vector<Point> out;
    for (const auto ref : (*r)->select({})) (*r)->samples(ref, at(0), at(1LL << 50), out);
  }
  EXPECT_GT(rejected, 30);
  // A version from the future.
  std::string future = data;
  future[8] = 2;
  reseal(future);
  write_file(file, future);
  auto r = SeriesStore::load(file, options_, registry2_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("unsupported version 2"), std::string::npos);
}

TEST_F(SnapshotTest, SeriesBeyondMaxSeriesAreSkippedAndCounted) {
  const auto file = dir_.path() / "series.snap";
  ASSERT_TRUE(store_->snapshot(file).has_value());
  auto small = options_;
  small.max_series = 10;
  auto loaded = SeriesStore::load(file, small, registry2_);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ((*loaded)->stats().series, 10u);
  EXPECT_NE(registry2_.render().find("tocsin_tsdb_series_rejected_total 40"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::tsdb
