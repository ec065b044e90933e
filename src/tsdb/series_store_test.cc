#include "tsdb/series_store.h"

#include "tsdb/series_store_internal.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace tocsin::tsdb {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

core::Timestamp at(int64_t ms) { return core::from_unix_ms(ms); }

core::Matcher eq(std::string name, std::string value) {
  return *core::Matcher::create(std::move(name), core::MatchOp::kEqual, std::move(value));
}

class SeriesStoreTest : public ::testing::Test {
 protected:
  SeriesRef create(const core::Labels& labels) {
    auto ref = store_->get_or_create(labels);
    EXPECT_TRUE(ref.has_value()) << (ref ? "" : ref.error().message());
    return ref.value_or(SeriesRef{0});
  }
  std::vector<Point> read(SeriesRef ref, int64_t from, int64_t to) {
    std::vector<Point> out;
    store_->samples(ref, at(from), at(to), out);
    return out;
  }
  double metric(std::string_view name) {
    const std::string text = registry_.render();
    const auto pos = text.find(fmt::format("\n{} ", name));
    EXPECT_NE(pos, std::string::npos) << name;
    if (pos == std::string::npos) return -1;
    return std::stod(text.substr(pos + name.size() + 2));
  }

  core::MetricsRegistry registry_;
  SeriesStoreOptions options_{.retention = hours(1), .max_series = 100, .fingerprint = nullptr};
  std::unique_ptr<SeriesStore> store_ = std::make_unique<SeriesStore>(options_, registry_);
};

TEST_F(SeriesStoreTest, InternsLabelSets) {
  const auto a = create({{"__name__", "up"}, {"job", "api"}});
  const auto b = create({{"job", "api"}, {"__name__", "up"}});
  const auto c = create({{"__name__", "up"}, {"job", "db"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(store_->find({{"__name__", "up"}, {"job", "db"}}), c);
  EXPECT_FALSE(store_->find({{"__name__", "down"}}).has_value());
  EXPECT_EQ(store_->labels(a)->to_string(), R"({__name__="up", job="api"})");
  EXPECT_FALSE(store_->get_or_create({}).has_value());
  EXPECT_EQ(metric("tocsin_tsdb_series"), 2);
}

TEST_F(SeriesStoreTest, FingerprintCollisionsKeepSeriesApart) {
  options_.fingerprint = [](const core::Labels&) -> uint64_t { return 7; };  // everything collides
  store_ = std::make_unique<SeriesStore>(options_, registry_);
  std::vector<SeriesRef> refs;
  for (int i = 0; i < 5; ++i) refs.push_back(create({{"__name__", "m"}, {"i", std::to_string(i)}}));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(create({{"__name__", "m"}, {"i", std::to_string(i)}}), refs[static_cast<size_t>(i)]);
    EXPECT_EQ(store_->append(refs[static_cast<size_t>(i)], at(1000), i), AppendResult::kOk);
  }
  // Removing the first-registered series promotes a colliding one; lookups keep working.
  EXPECT_EQ(store_->append(refs[0], at(1'000'000'000), 0), AppendResult::kOk);
  EXPECT_EQ(store_->gc(at(1'000'000'000) + minutes(1)).series_removed, 4u);
  EXPECT_EQ(store_->find({{"__name__", "m"}, {"i", "0"}}), refs[0]);
  EXPECT_FALSE(store_->find({{"__name__", "m"}, {"i", "3"}}).has_value());
  const auto again = create({{"__name__", "m"}, {"i", "3"}});
  EXPECT_NE(again, refs[3]);  // refs are never reused
  EXPECT_EQ(create({{"__name__", "m"}, {"i", "3"}}), again);
}

// A labels id (ingest::Series::labels_id) stands for the labels it first came with: a series whose
// labels were found equal under an id is found by it again, and neither another id, nor none, nor
// a colliding series is taken for it.
TEST_F(SeriesStoreTest, ALabelsIdFindsTheSeriesItsLabelsWereFoundEqualTo) {
  options_.fingerprint = [](const core::Labels&) -> uint64_t { return 7; };  // everything collides
  store_ = std::make_unique<SeriesStore>(options_, registry_);
  const core::Labels a = {{"__name__", "a"}};
  const core::Labels b = {{"__name__", "b"}};
  const core::Labels c = {{"__name__", "c"}};
  std::vector<Point> accepted;
  int64_t t = 0;
  auto append = [&](const core::Labels& labels, uint64_t id) {
    const Point p{at(t += 1000), 1};
    return store_->append(labels, 7, std::span(&p, 1), accepted, id).value().ref;
  };
  const SeriesRef rc = append(c, 0);  // holds the fingerprint's first slot, without an id
  const SeriesRef ra = append(a, 11);
  const SeriesRef rb = append(b, 12);
  EXPECT_NE(ra, rc);
  EXPECT_NE(rb, rc);
  EXPECT_NE(ra, rb);
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(append(a, 11), ra);
    EXPECT_EQ(append(b, 12), rb);
    EXPECT_EQ(append(a, 0), ra);
    EXPECT_EQ(append(c, 0), rc);
    EXPECT_EQ(append(c, 13), rc) << "c found equal under 13 now";
    EXPECT_EQ(append(b, 0), rb);
  }
  EXPECT_EQ(append(c, 13), rc);
  EXPECT_EQ(append(a, 14), ra) << "a new id for the same labels: compared, then kept";
  EXPECT_EQ(append(a, 14), ra);
  EXPECT_EQ(store_->stats().series, 3u);
}

TEST_F(SeriesStoreTest, AppendsAndReadsRanges) {
  const auto ref = create({{"__name__", "x"}});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(store_->append(ref, at(i * 1000), i * 0.5), AppendResult::kOk);
  const auto all = read(ref, 0, 1'000'000);
  ASSERT_EQ(all.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], (Point{at(i * 1000), i * 0.5}));
  // Boundaries are inclusive; ranges cross chunk borders (120 samples a chunk).
  const auto part = read(ref, 119'000, 241'000);
  ASSERT_EQ(part.size(), 123u);
  EXPECT_EQ(part.front().ts, at(119'000));
  EXPECT_EQ(part.back().ts, at(241'000));
  EXPECT_TRUE(read(ref, 2'000'000, 3'000'000).empty());
  EXPECT_TRUE(read(ref, 500, 999).empty());
  EXPECT_EQ(store_->latest(ref), (Point{at(999'000), 499.5}));
  const auto st = store_->stats();
  EXPECT_EQ(st.samples, 1000u);
  EXPECT_EQ(st.chunks, 9u);  // 8 full chunks of 120 + the head with 40
  EXPECT_EQ(metric("tocsin_tsdb_samples_appended_total"), 1000);
  EXPECT_EQ(metric("tocsin_tsdb_chunk_bytes"), static_cast<double>(st.encoded_bytes));
  std::vector<Point> buf;
  EXPECT_FALSE(store_->samples(SeriesRef{999}, at(0), at(1), buf));
}

TEST_F(SeriesStoreTest, OutOfOrderAndDuplicatesAreCountedAndDropped) {
  const auto ref = create({{"__name__", "x"}});
  EXPECT_EQ(store_->append(ref, at(1000), 1), AppendResult::kOk);
  EXPECT_EQ(store_->append(ref, at(2000), 2), AppendResult::kOk);
  EXPECT_EQ(store_->append(ref, at(2000), 3), AppendResult::kDuplicate);
  EXPECT_EQ(store_->append(ref, at(2000), 2), AppendResult::kDuplicate);
  EXPECT_EQ(store_->append(ref, at(1500), 9), AppendResult::kOutOfOrder);
  EXPECT_EQ(store_->append(ref, at(-5), 9), AppendResult::kOutOfOrder);
  EXPECT_EQ(store_->append(ref, at(3000), 3), AppendResult::kOk);
  EXPECT_EQ(store_->append(SeriesRef{12345}, at(3000), 3), AppendResult::kUnknownSeries);
  EXPECT_EQ(read(ref, 0, 10'000), (std::vector<Point>{{at(1000), 1}, {at(2000), 2}, {at(3000), 3}}));
  EXPECT_EQ(metric("tocsin_tsdb_samples_duplicate_total"), 2);
  EXPECT_EQ(metric("tocsin_tsdb_samples_out_of_order_total"), 2);
  EXPECT_EQ(metric("tocsin_tsdb_samples_unknown_series_total"), 1);
  EXPECT_EQ(metric("tocsin_tsdb_samples_appended_total"), 3);
  // Across a chunk border too: the check uses the sealed chunk's max_t.
  for (int i = 4; i < 200; ++i) EXPECT_EQ(store_->append(ref, at(i * 1000), i), AppendResult::kOk);
  EXPECT_EQ(store_->append(ref, at(150'000), 0), AppendResult::kOutOfOrder);
}

TEST_F(SeriesStoreTest, BatchAppendKeepsTheInOrderPointsAndCountsTheRest) {
  const auto ref = create({{"__name__", "x"}});
  ASSERT_EQ(store_->append(ref, at(1000), 1), AppendResult::kOk);
  const std::vector<Point> batch{{at(2000), 2}, {at(2000), 9}, {at(1500), 9}, {at(3000), 3}, {at(500), 9}, {at(4000), 4}};
  std::vector<Point> accepted;
  const AppendCounts counts = store_->append(ref, std::span<const Point>(batch), accepted);
  EXPECT_EQ(counts.ok, 3u);
  EXPECT_EQ(counts.duplicate, 1u);
  EXPECT_EQ(counts.out_of_order, 2u);
  EXPECT_EQ(counts.unknown_series, 0u);
  EXPECT_EQ(accepted, (std::vector<Point>{{at(2000), 2}, {at(3000), 3}, {at(4000), 4}}));
  EXPECT_EQ(read(ref, 0, 10'000), (std::vector<Point>{{at(1000), 1}, {at(2000), 2}, {at(3000), 3}, {at(4000), 4}}));
  EXPECT_EQ(metric("tocsin_tsdb_samples_appended_total"), 4);
  EXPECT_EQ(metric("tocsin_tsdb_samples_duplicate_total"), 1);
  EXPECT_EQ(metric("tocsin_tsdb_samples_out_of_order_total"), 2);
  // A batch for a series that does not exist: every point counted, none kept. (`accepted` is
  // appended to, not cleared.)
  accepted.clear();
  const AppendCounts unknown = store_->append(SeriesRef{12345}, std::span<const Point>(batch), accepted);
  EXPECT_EQ(unknown.unknown_series, batch.size());
  EXPECT_TRUE(accepted.empty());
  EXPECT_EQ(metric("tocsin_tsdb_samples_unknown_series_total"), 6);
}

// prefetch() is a hint: on an empty store, for series it holds, for fingerprints it does not
// know, and for series whose head chunk is empty or full, it changes nothing that can be read.
TEST_F(SeriesStoreTest, PrefetchChangesNothing) {
  const core::Labels a{{"__name__", "a"}};
  const core::Labels b{{"__name__", "b"}};
  store_->prefetch(std::vector<uint64_t>{a.fingerprint(), 42});
  store_->prefetch({});
  const auto ra = create(a);
  create(b);  // no samples: an empty head
  std::vector<Point> accepted;
  for (int64_t t = 1; t <= 300; ++t) {  // several chunks for `a`
    store_->prefetch(std::vector<uint64_t>{a.fingerprint(), b.fingerprint(), 7, a.fingerprint()});
    const Point p{at(t * 1000), static_cast<double>(t)};
    ASSERT_EQ(store_->append(a, a.fingerprint(), std::span(&p, 1), accepted).value().counts.ok, 1u);
  }
  EXPECT_EQ(store_->series_count(), 2u);
  EXPECT_EQ(accepted.size(), 300u);
  EXPECT_EQ(read(ra, 0, 1'000'000).size(), 300u);
  EXPECT_EQ(read(ra, 300'000, 300'000), (std::vector<Point>{{at(300'000), 300}}));
}

// The ingestion entry point: find or create by labels and append, in one call.
TEST_F(SeriesStoreTest, AppendByLabelsCreatesOnceAndAppends) {
  options_.max_series = 2;
  options_.fingerprint = [](const core::Labels&) -> uint64_t { return 7; };  // collisions too
  store_ = std::make_unique<SeriesStore>(options_, registry_);
  const core::Labels a{{"__name__", "x"}, {"i", "a"}};
  const core::Labels b{{"__name__", "x"}, {"i", "b"}};
  const std::vector<Point> first{{at(1000), 1}, {at(2000), 2}};
  const std::vector<Point> second{{at(2000), 9}, {at(3000), 3}};
  std::vector<Point> accepted;
  auto ra = store_->append(a, a.fingerprint(), std::span<const Point>(first), accepted);
  ASSERT_TRUE(ra.has_value());
  EXPECT_EQ(ra->counts.ok, 2u);
  auto rb = store_->append(b, b.fingerprint(), std::span<const Point>(first), accepted);
  ASSERT_TRUE(rb.has_value());
  EXPECT_NE(rb->ref, ra->ref);
  accepted.clear();
  auto again = store_->append(a, a.fingerprint(), std::span<const Point>(second), accepted);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->ref, ra->ref);
  EXPECT_EQ(again->counts.ok, 1u);
  EXPECT_EQ(again->counts.duplicate, 1u);
  EXPECT_EQ(accepted, (std::vector<Point>{{at(3000), 3}}));
  EXPECT_EQ(read(ra->ref, 0, 10'000), (std::vector<Point>{{at(1000), 1}, {at(2000), 2}, {at(3000), 3}}));
  EXPECT_EQ(store_->find(b), rb->ref);
  // Over max_series: an error, nothing appended, counted; an empty label set is rejected too.
  const core::Labels c{{"__name__", "x"}, {"i", "c"}};
  accepted.clear();
  auto rc = store_->append(c, c.fingerprint(), std::span<const Point>(first), accepted);
  ASSERT_FALSE(rc.has_value());
  EXPECT_EQ(rc.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(accepted.empty());
  EXPECT_EQ(metric("tocsin_tsdb_series_rejected_total"), 1);
  EXPECT_FALSE(store_->append(core::Labels{}, 0, std::span<const Point>(first), accepted).has_value());
  EXPECT_EQ(metric("tocsin_tsdb_samples_appended_total"), 5);
}

TEST_F(SeriesStoreTest, RetentionDropsWholeChunksThenEmptySeries) {
  const auto old_series = create({{"__name__", "gone"}});
  const auto live = create({{"__name__", "live"}, {"job", "a"}});
  // 15 s interval: a chunk of 120 covers 30 minutes.
  for (int i = 0; i < 600; ++i) {
    store_->append(live, at(int64_t{i} * 15'000), i);
    if (i < 100) store_->append(old_series, at(int64_t{i} * 15'000), i);
  }
  const auto now = at(600 * 15'000);  // 2.5 h; retention 1 h keeps samples from 1.5 h on
  const auto before = store_->stats();
  const auto gc = store_->gc(now);
  EXPECT_EQ(gc.series_removed, 1u);
  const auto samples = read(live, 0, 1LL << 50);
  ASSERT_FALSE(samples.empty());
  // Whole chunks only: the oldest kept sample starts a chunk and is at most one chunk before the cutoff.
  EXPECT_EQ(core::to_unix_ms(samples.front().ts) % (120 * 15'000), 0);
  EXPECT_LE(samples.front().ts, now - hours(1));
  EXPECT_GT(samples.front().ts, now - hours(1) - minutes(30));
  EXPECT_EQ(samples.back().ts, at(599 * 15'000));
  const auto after = store_->stats();
  EXPECT_EQ(after.series, 1u);
  EXPECT_EQ(after.samples, samples.size());
  EXPECT_LT(after.encoded_bytes, before.encoded_bytes);
  EXPECT_EQ(gc.chunks_removed, before.chunks - after.chunks);
  // The removed series is gone from the index and its ref is unknown.
  EXPECT_TRUE(store_->select({eq("__name__", "gone")}).empty());
  EXPECT_EQ(store_->select({eq("job", "a")}), std::vector<SeriesRef>{live});
  EXPECT_EQ(store_->append(old_series, now, 1), AppendResult::kUnknownSeries);
  EXPECT_EQ(metric("tocsin_tsdb_series"), 1);
  EXPECT_EQ(metric("tocsin_tsdb_series_removed_total"), 1);
  // Everything old: the live series goes too.
  EXPECT_EQ(store_->gc(now + hours(3)).series_removed, 1u);
  EXPECT_EQ(store_->stats().encoded_bytes, 0u);
  EXPECT_EQ(store_->stats().chunks, 0u);
  EXPECT_EQ(store_->stats().samples, 0u);
}

TEST_F(SeriesStoreTest, NewSeriesWithoutSamplesSurvivesOneGc) {
  const auto ref = create({{"__name__", "fresh"}});
  EXPECT_EQ(store_->gc(at(10 * 3'600'000)).series_removed, 0u);
  EXPECT_EQ(store_->append(ref, at(10 * 3'600'000), 1), AppendResult::kOk);
  const auto idle = create({{"__name__", "idle"}});
  EXPECT_EQ(store_->gc(at(10 * 3'600'000)).series_removed, 0u);
  EXPECT_EQ(store_->gc(at(10 * 3'600'000)).series_removed, 1u);
  EXPECT_FALSE(store_->labels(idle).has_value());
}

TEST_F(SeriesStoreTest, MaxSeriesRejectsNewSeriesAndCountsThem) {
  for (int i = 0; i < 100; ++i) create({{"__name__", "m"}, {"i", std::to_string(i)}});
  auto rejected = store_->get_or_create({{"__name__", "m"}, {"i", "100"}});
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(store_->get_or_create({{"__name__", "m"}, {"i", "5"}}).has_value());  // existing: fine
  EXPECT_EQ(metric("tocsin_tsdb_series_rejected_total"), 1);
  EXPECT_EQ(store_->stats().series, 100u);
}

TEST_F(SeriesStoreTest, SelectUsesTheIndex) {
  const auto a = create({{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "200"}});
  const auto b = create({{"__name__", "http_requests_total"}, {"job", "api"}, {"code", "500"}});
  const auto c = create({{"__name__", "http_requests_total"}, {"job", "web"}, {"code", "503"}});
  auto sel = [&](std::string_view text) { return store_->select(*core::parse_selector(text)); };
  EXPECT_EQ(sel(R"(http_requests_total{job="api"})"), (std::vector<SeriesRef>{a, b}));
  EXPECT_EQ(sel(R"(http_requests_total{code=~"5.."})"), (std::vector<SeriesRef>{b, c}));
  EXPECT_EQ(sel(R"(http_requests_total{code!~"5.."})"), (std::vector<SeriesRef>{a}));
  EXPECT_EQ(sel(R"({__name__=~"http_.*", job!="api"})"), (std::vector<SeriesRef>{c}));
}

TEST_F(SeriesStoreTest, HeadBufferAdaptsToIncompressibleData) {
  const auto ref = create({{"__name__", "noise"}});
  std::mt19937_64 rng(5);
  std::vector<Point> want;
  for (int i = 0; i < 2000; ++i) {
    want.push_back({at(i * 1000), std::bit_cast<double>(rng() | 1)});
    ASSERT_EQ(store_->append(ref, want.back().ts, want.back().value), AppendResult::kOk);
  }
  const auto got = read(ref, 0, 1LL << 40);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(got[i].value), std::bit_cast<uint64_t>(want[i].value));
  }
  // After the first, byte-limited chunk, later chunks hold the full 120 samples.
  EXPECT_LE(store_->stats().chunks, 2000u / 120u + 3u);
}

TEST_F(SeriesStoreTest, HeadChunkCarriesLittleUnusedRoom) {
  // Full-precision values with 1 % noise (about 6.7 bytes per sample, as in the ingest benchmark).
  const auto ref = create({{"__name__", "gauge"}});
  std::mt19937_64 rng(9);
  std::normal_distribution<double> noise(0, 1);
  std::vector<Point> want;
  size_t most_unused = 0;
  for (int i = 0; i < 1000; ++i) {
    want.push_back({at(i * 1000), 100 + 10 * std::sin(i / 300.0) + noise(rng)});
    ASSERT_EQ(store_->append(ref, want.back().ts, want.back().value), AppendResult::kOk);
    const auto st = store_->stats();
    most_unused = std::max(most_unused, st.allocated_bytes - st.encoded_bytes);
  }
  // Sealed chunks are exact; the head grows in steps, so it never has more than one step and
  // room for one worst-case sample unused (it was sized for a whole chunk: ~1 kB here).
  EXPECT_LE(most_unused, kMaxSampleBytes + 8 + kHeadGrowBytes);
  // ... and still holds the full 120 samples per chunk.
  EXPECT_EQ(store_->stats().chunks, (1000u + 119u) / 120u);
  const auto got = read(ref, 0, 1LL << 40);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << i;
}

}  // namespace
}  // namespace tocsin::tsdb
