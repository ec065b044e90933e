#include "store/sqlite/alert_time_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tocsin::store::sqlite {
namespace {

namespace fs = std::filesystem;

class AlertTimeLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tocsin-alert-time-log-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path path() const { return dir_ / "log"; }

  static AlertTimeEntry entry(uint64_t fp, int64_t ends_ms, bool timeout, int64_t updated_ms) {
    AlertTimeEntry e;
    e.fingerprint = fp;
    if (ends_ms >= 0) e.times.ends_at = core::from_unix_ms(ends_ms);
    e.times.ends_at_from_timeout = timeout;
    e.times.updated_at = core::from_unix_ms(updated_ms);
    return e;
  }

  fs::path dir_;
};

TEST_F(AlertTimeLogTest, AppendedEntriesReadBackInOrderWithTheirEpoch) {
  auto log = AlertTimeLog::open(path());
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  ASSERT_TRUE(*log);
  EXPECT_TRUE((*log)->broken());  // nothing may be appended before the first reset
  ASSERT_TRUE((*log)->reset(7).has_value());
  const std::vector<AlertTimeEntry> first{entry(1, 1000, false, 10), entry(0xffffffffffffffffULL, -1, true, 11)};
  const std::vector<AlertTimeEntry> second{entry(1, 2000, true, 12)};
  ASSERT_TRUE((*log)->append(first).has_value());
  ASSERT_TRUE((*log)->append(second).has_value());
  log->reset();  // closes and unlocks

  auto again = AlertTimeLog::open(path());
  ASSERT_TRUE(again.has_value() && *again);
  auto contents = (*again)->read();
  ASSERT_TRUE(contents.has_value()) << contents.error().to_string();
  EXPECT_EQ(contents->epoch, 7u);
  EXPECT_FALSE(contents->torn_tail);
  ASSERT_EQ(contents->entries.size(), 3u);
  EXPECT_EQ(contents->entries[0].fingerprint, 1u);
  EXPECT_EQ(contents->entries[0].times.ends_at, core::from_unix_ms(1000));
  EXPECT_FALSE(contents->entries[0].times.ends_at_from_timeout);
  EXPECT_EQ(contents->entries[0].times.updated_at, core::from_unix_ms(10));
  EXPECT_EQ(contents->entries[1].fingerprint, 0xffffffffffffffffULL);
  EXPECT_FALSE(contents->entries[1].times.ends_at.has_value());
  EXPECT_TRUE(contents->entries[1].times.ends_at_from_timeout);
  EXPECT_EQ(contents->entries[2].times.ends_at, core::from_unix_ms(2000));
  EXPECT_EQ(contents->entries[2].times.updated_at, core::from_unix_ms(12));
}

TEST_F(AlertTimeLogTest, ATornLastRecordEndsTheLogWhereItStarts) {
  uint64_t records_end = 0;
  {
    auto log = AlertTimeLog::open(path());
    ASSERT_TRUE(log.has_value() && *log);
    ASSERT_TRUE((*log)->reset(3).has_value());
    ASSERT_TRUE((*log)->append(std::vector{entry(5, 100, false, 1)}).has_value());
    ASSERT_TRUE((*log)->append(std::vector{entry(6, 200, false, 2), entry(7, 300, false, 3)}).has_value());
    records_end = (*log)->size_bytes();
    EXPECT_GT(fs::file_size(path()), records_end);  // zero-filled ahead
  }
  // Cut the file inside the second record, as a crash during its write would.
  fs::resize_file(path(), records_end - 10);
  auto log = AlertTimeLog::open(path());
  ASSERT_TRUE(log.has_value() && *log);
  auto contents = (*log)->read();
  ASSERT_TRUE(contents.has_value());
  EXPECT_TRUE(contents->torn_tail);
  ASSERT_EQ(contents->entries.size(), 1u);
  EXPECT_EQ(contents->entries[0].fingerprint, 5u);

  // A flipped byte in a record's payload fails its checksum the same way.
  ASSERT_TRUE((*log)->reset(4).has_value());
  ASSERT_TRUE((*log)->append(std::vector{entry(8, 100, false, 1)}).has_value());
  {
    std::fstream f(path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>((*log)->size_bytes() - 3));
    f.put('\x55');
  }
  contents = (*log)->read();
  ASSERT_TRUE(contents.has_value());
  EXPECT_EQ(contents->epoch, 4u);
  EXPECT_TRUE(contents->torn_tail);
  EXPECT_TRUE(contents->entries.empty());
}

TEST_F(AlertTimeLogTest, ResetEmptiesTheLogAndABadHeaderReadsAsEpochZero) {
  auto log = AlertTimeLog::open(path());
  ASSERT_TRUE(log.has_value() && *log);
  ASSERT_TRUE((*log)->reset(1).has_value());
  ASSERT_TRUE((*log)->append(std::vector{entry(1, 1, false, 1)}).has_value());
  ASSERT_TRUE((*log)->reset(2).has_value());
  auto contents = (*log)->read();
  ASSERT_TRUE(contents.has_value());
  EXPECT_EQ(contents->epoch, 2u);
  EXPECT_TRUE(contents->entries.empty());
  EXPECT_EQ((*log)->size_bytes(), fs::file_size(path()));

  std::ofstream(path(), std::ios::trunc) << "not a log at all, just text";
  contents = (*log)->read();
  ASSERT_TRUE(contents.has_value());
  EXPECT_EQ(contents->epoch, 0u);
  EXPECT_TRUE(contents->entries.empty());
}

// The zeros ahead of the records: appends overwrite them; the records end where they start, and
// the file grows again past them.
TEST_F(AlertTimeLogTest, AppendsFillTheZeroedSpaceAndGrowPastIt) {
  auto log = AlertTimeLog::open(path());
  ASSERT_TRUE(log.has_value() && *log);
  ASSERT_TRUE((*log)->reset(9).has_value());
  std::vector<AlertTimeEntry> batch;
  for (uint64_t i = 0; i < 1000; ++i) batch.push_back(entry(i, 1000 + static_cast<int64_t>(i), false, 5));
  const uint64_t record = 8 + batch.size() * 25;
  ASSERT_TRUE((*log)->append(batch).has_value());
  const uint64_t first_size = fs::file_size(path());
  EXPECT_GT(first_size, (*log)->size_bytes() + 1000 * 1000);
  // Enough records to pass the zeroed MiB: the file grows once more.
  size_t appended = 1;
  while ((*log)->size_bytes() + record <= first_size) {
    ASSERT_TRUE((*log)->append(batch).has_value());
    ++appended;
  }
  EXPECT_EQ(fs::file_size(path()), first_size) << "appends inside the zeroed space leave the size";
  ASSERT_TRUE((*log)->append(batch).has_value());
  ++appended;
  EXPECT_GT(fs::file_size(path()), first_size);
  auto contents = (*log)->read();
  ASSERT_TRUE(contents.has_value());
  EXPECT_FALSE(contents->torn_tail);
  EXPECT_EQ(contents->epoch, 9u);
  ASSERT_EQ(contents->entries.size(), appended * batch.size());
  EXPECT_EQ(contents->entries.back().fingerprint, 999u);
  // A reset empties the file; a failed append is cut back (here: nothing to cut).
  ASSERT_TRUE((*log)->reset(10).has_value());
  EXPECT_EQ(fs::file_size(path()), (*log)->size_bytes());
  ASSERT_TRUE((*log)->append(std::vector{entry(1, 1, false, 1)}).has_value());
  contents = (*log)->read();
  ASSERT_TRUE(contents.has_value());
  EXPECT_EQ(contents->entries.size(), 1u);
  EXPECT_FALSE(contents->torn_tail);
}

TEST_F(AlertTimeLogTest, ASecondOpenerGetsNoLog) {
  auto first = AlertTimeLog::open(path());
  ASSERT_TRUE(first.has_value() && *first);
  auto second = AlertTimeLog::open(path());
  ASSERT_TRUE(second.has_value()) << second.error().to_string();
  EXPECT_FALSE(*second);  // locked by the first
  first->reset();
  auto third = AlertTimeLog::open(path());
  ASSERT_TRUE(third.has_value());
  EXPECT_TRUE(*third);
}

}  // namespace
}  // namespace tocsin::store::sqlite
