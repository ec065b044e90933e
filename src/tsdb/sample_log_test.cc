#include "tsdb/sample_log.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <fstream>
#include <iterator>

#include "test_support/temp_dir.h"
#include "tsdb/functions.h"
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

// What a replay handed over, one entry per series group.
struct Replayed {
  core::Labels labels;
  std::vector<Point> points;
  friend bool operator==(const Replayed& a, const Replayed& b) {
    if (a.labels != b.labels || a.points.size() != b.points.size()) return false;
    for (size_t i = 0; i < a.points.size(); ++i) {  // bit patterns, so NaNs compare too
      if (a.points[i].ts != b.points[i].ts ||
          std::bit_cast<uint64_t>(a.points[i].value) != std::bit_cast<uint64_t>(b.points[i].value)) {
        return false;
      }
    }
    return true;
  }
};

class SampleLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<SampleLog> open() {
    auto log = SampleLog::open(dir(), metrics_);
    EXPECT_TRUE(log.has_value()) << (log ? "" : log.error().to_string());
    return log ? std::move(*log) : nullptr;
  }
  std::filesystem::path dir() const { return tmp_.path() / "sample-log"; }

  // Replays the log in a freshly opened SampleLog (as after a restart).
  std::vector<Replayed> replay(SampleLogReplay* stats = nullptr) {
    std::vector<Replayed> out;
    auto log = open();
    auto r = log->replay([&](const core::Labels& labels, std::span<const Point> points) {
      out.push_back({labels, {points.begin(), points.end()}});
    });
    EXPECT_TRUE(r.has_value());
    if (stats && r) *stats = *r;
    return out;
  }

  void add(SampleLog& log, uint64_t ref, const core::Labels& labels, std::vector<Point> points) {
    log.add(SeriesRef{ref}, labels, points);
    expected_.push_back({labels, std::move(points)});
  }

  const core::Labels a_{{"__name__", "node_load1"}, {"instance", "host-1"}};
  const core::Labels b_{{"__name__", "node_load1"}, {"instance", "host-2"}, {"zone", "é ünicode"}};
  test_support::TempDir tmp_;
  core::MetricsRegistry metrics_;
  std::vector<Replayed> expected_;
};

TEST_F(SampleLogTest, RoundTripKeepsLabelsTimesAndValueBits) {
  {
    auto log = open();
    add(*log, 7, a_, {{at(1'700'000'000'000), 1.5}, {at(1'700'000'015'000), -2.25}, {at(1'700'000'015'001), 0}});
    add(*log, 9, b_, {{at(-5), std::nan("")}, {at(3), std::bit_cast<double>(kStaleNaNBits)}});
    ASSERT_TRUE(log->commit().has_value());
    add(*log, 7, a_, {{at(1'700'000'030'000), 1e300}});  // no second series record for ref 7
    add(*log, 7, a_, {{at(1'700'000'045'000), -0.0}});   // the same series twice in one batch
    ASSERT_TRUE(log->commit().has_value());
    ASSERT_TRUE(log->commit().has_value());  // an empty batch writes nothing
    ASSERT_TRUE(log->sync().has_value());
  }
  SampleLogReplay stats;
  EXPECT_EQ(replay(&stats), expected_);
  EXPECT_EQ(stats.segments, 1u);
  EXPECT_EQ(stats.records, 4u);  // two series records, two samples records
  EXPECT_EQ(stats.samples, 7u);
  EXPECT_EQ(stats.damaged_records, 0u);
}

TEST_F(SampleLogTest, IsCompact) {
  auto log = open();
  std::vector<Point> points;
  for (int i = 0; i < 10; ++i) points.push_back({at(1'700'000'000'000 + i * 15'000), 50.0 + i * 0.37});
  for (uint64_t ref = 1; ref <= 500; ++ref) log->add(SeriesRef{ref}, a_, points);  // series records
  ASSERT_TRUE(log->commit().has_value());
  const auto first = std::filesystem::file_size(SampleLog::segment_path(dir(), 1));
  for (uint64_t ref = 1; ref <= 500; ++ref) log->add(SeriesRef{ref}, a_, points);
  ASSERT_TRUE(log->commit().has_value());
  const auto second = std::filesystem::file_size(SampleLog::segment_path(dir(), 1)) - first;
  // Per group: ref, count, first time (6 bytes), 10 values (8 bytes), 9 deltas (2 bytes).
  EXPECT_LE(second, 500u * (2 + 1 + 6 + 80 + 18) + 9);
  EXPECT_GT(first, second);
}

TEST_F(SampleLogTest, ATornTailIsDetectedCountedAndIgnored) {
  {
    auto log = open();
    add(*log, 1, a_, {{at(1000), 1}, {at(2000), 2}});
    ASSERT_TRUE(log->commit().has_value());
    add(*log, 1, a_, {{at(3000), 3}});
    ASSERT_TRUE(log->commit().has_value());
  }
  const auto file = SampleLog::segment_path(dir(), 1);
  const std::string whole = read_file(file);
  // A samples record of one point: header 5, ref 1, n 1, t0 2 (zigzag 6000), value 8, CRC 4.
  const size_t last_record = 21;
  // Cut anywhere inside the last record: the first batch survives, the second is dropped.
  for (size_t cut = 1; cut < last_record; ++cut) {
    write_file(file, std::string_view(whole).substr(0, whole.size() - cut));
    SampleLogReplay stats;
    const auto got = replay(&stats);
    ASSERT_EQ(got.size(), 1u) << "cut " << cut;
    EXPECT_EQ(got[0], expected_[0]);
    EXPECT_EQ(stats.damaged_records, 1u);
  }
  EXPECT_NE(metrics_.render().find("tocsin_sample_log_damaged_records_total"), std::string::npos);
  // A segment whose header was torn holds nothing.
  write_file(file, whole.substr(0, 10));
  SampleLogReplay stats;
  EXPECT_TRUE(replay(&stats).empty());
  EXPECT_EQ(stats.damaged_records, 1u);
}

TEST_F(SampleLogTest, ACrcMismatchEndsTheSegmentButNotTheNextOne) {
  {
    auto log = open();
    add(*log, 1, a_, {{at(1000), 1}});
    ASSERT_TRUE(log->commit().has_value());
    log->add(SeriesRef{1}, a_, std::vector<Point>{{at(2000), 2}});  // will be damaged
    ASSERT_TRUE(log->commit().has_value());
    add(*log, 1, a_, {{at(3000), 3}});  // lost with the rest of its segment: replay stops before it
    ASSERT_TRUE(log->commit().has_value());
    EXPECT_EQ(log->rotate(), 2u);
    add(*log, 1, a_, {{at(4000), 4}});
    ASSERT_TRUE(log->commit().has_value());
  }
  const auto file = SampleLog::segment_path(dir(), 1);
  std::string data = read_file(file);
  const size_t one_point = 5 + 1 + 1 + 2 + 8 + 4;  // header, ref, n, t0 (zigzag 4000), value, CRC
  const size_t second = data.size() - 2 * one_point;
  data[second + 12] ^= 0x10;  // a bit of the value: the length still fits, the CRC does not
  write_file(file, data);
  SampleLogReplay stats;
  const auto got = replay(&stats);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], expected_[0]);
  EXPECT_EQ(got[1], expected_[2]);  // segment 2 stands alone: it has its own series record
  EXPECT_EQ(stats.segments, 2u);
  EXPECT_EQ(stats.damaged_records, 1u);
}

TEST_F(SampleLogTest, RotationStartsSegmentsThatRemoveBeforeDeletes) {
  auto log = open();
  EXPECT_EQ(log->rotate(), 1u) << "nothing written: the current segment stays";
  add(*log, 1, a_, {{at(1000), 1}});
  ASSERT_TRUE(log->commit().has_value());
  EXPECT_EQ(log->rotate(), 2u);
  EXPECT_EQ(log->rotate(), 2u);
  add(*log, 2, b_, {{at(2000), 2}});
  ASSERT_TRUE(log->commit().has_value());
  ASSERT_TRUE(log->sync().has_value());
  EXPECT_EQ(SampleLog::segments(dir()).size(), 2u);
  EXPECT_EQ(replay(), expected_);

  // A log opened now writes after every present segment and replays exactly those.
  auto reopened = open();
  add(*reopened, 1, a_, {{at(5000), 5}});
  ASSERT_TRUE(reopened->commit().has_value());
  EXPECT_TRUE(std::filesystem::exists(SampleLog::segment_path(dir(), 3)));

  ASSERT_TRUE(log->remove_before(2).has_value());
  EXPECT_FALSE(std::filesystem::exists(SampleLog::segment_path(dir(), 1)));
  ASSERT_TRUE(log->remove_before(4).has_value());
  EXPECT_TRUE(SampleLog::segments(dir()).empty());
}

TEST_F(SampleLogTest, AFailedWriteLeavesTheBatchOutAndTheNextCommitStartsANewSegment) {
  auto log = open();
  add(*log, 1, a_, {{at(1000), 1}});
  ASSERT_TRUE(log->commit().has_value());
  std::filesystem::remove_all(dir());  // the segment's file is gone; its fd stays writable
  log->rotate();
  log->add(SeriesRef{1}, a_, std::vector<Point>{{at(2000), 2}});
  EXPECT_FALSE(log->commit().has_value()) << "no directory to create the next segment in";
  EXPECT_NE(metrics_.render().find("tocsin_sample_log_write_errors_total 1"), std::string::npos);
  std::filesystem::create_directories(dir());
  expected_.clear();
  add(*log, 1, a_, {{at(3000), 3}});  // in a fresh segment, with its series record again
  ASSERT_TRUE(log->commit().has_value());
  EXPECT_EQ(replay(), expected_);
}

TEST_F(SampleLogTest, ReplayingIntoASeriesStoreTwiceAddsNothingTheSecondTime) {
  {
    auto log = open();
    for (int i = 0; i < 300; ++i) {
      const core::Labels labels{{"__name__", "x"}, {"instance", std::to_string(i % 3)}};
      add(*log, 1 + i % 3, labels, {{at(i * 1000), static_cast<double>(i)}});
      ASSERT_TRUE(log->commit().has_value());
    }
  }
  core::MetricsRegistry registry;
  SeriesStore store({}, registry);
  std::vector<Point> accepted;
  size_t appended = 0;
  auto into_store = [&](const core::Labels& labels, std::span<const Point> points) {
    accepted.clear();
    appended += store.append(*store.get_or_create(labels), points, accepted).ok;
  };
  ASSERT_TRUE(open()->replay(into_store).has_value());
  EXPECT_EQ(appended, 300u);
  EXPECT_EQ(store.stats().samples, 300u);
  appended = 0;
  ASSERT_TRUE(open()->replay(into_store).has_value());
  EXPECT_EQ(appended, 0u) << "every replayed point is already there: dropped as a duplicate";
  EXPECT_EQ(store.stats().samples, 300u);
}

}  // namespace
}  // namespace tocsin::tsdb
