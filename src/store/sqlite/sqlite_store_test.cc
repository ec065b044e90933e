// The SQLite store: the conformance suite (store_conformance_test.h) over a database file, and
// what only this backend has (the file and its directories, WAL mode, the alert time log).
#include "store/sqlite/sqlite_store.h"

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite.h"
#include "store/sqlite/storage_health.h"
#include "store/store_conformance_test.h"
#include "test_support/temp_dir.h"

namespace tocsin::store::sqlite {
namespace {

using conformance::at;
using conformance::StoreDeathTest;
using conformance::StoreTest;
using test_support::TempDir;

// A database file in a directory of its own; removed with the backend.
class SqliteBackend final : public conformance::StoreBackend {
 public:
  core::Result<std::unique_ptr<Store>> open() override { return open_sqlite_store(file_); }
  core::Status exec(std::string_view sql) override {
    auto db = TOCSIN_TRY(Database::open(file_));
    return db->exec(sql);
  }
  core::Result<std::vector<std::string>> query_row(std::string_view sql) override {
    auto db = TOCSIN_TRY(Database::open(file_));
    auto statement = TOCSIN_TRY(db->prepare_uncached(sql));
    std::vector<std::string> row;
    if (!TOCSIN_TRY(statement->step())) return row;
    for (int column = 0; column < statement->column_count(); ++column) {
      row.push_back(statement->column_text(column));
    }
    return row;
  }
  std::string where() const override { return file_.string(); }
  int latest_schema_version() const override { return static_cast<int>(schema_migrations().size()); }

 private:
  TempDir dir_;
  std::filesystem::path file_ = dir_.path() / "tocsin.db";
};

TOCSIN_INSTANTIATE_STORE_CONFORMANCE(Sqlite, []() -> core::Result<std::unique_ptr<conformance::StoreBackend>> {
  return std::make_unique<SqliteBackend>();
});

class SqliteStoreTest : public conformance::StoreFixture {
 protected:
  void SetUp() override { reopen(); }
  core::Result<std::unique_ptr<Store>> open_store() override { return open_sqlite_store(file_); }

  TempDir dir_;
  // A parent directory that does not exist yet: open creates it.
  std::filesystem::path file_ = dir_.path() / "data" / "nested" / "tocsin.db";
};

TEST_F(SqliteStoreTest, OpenCreatesDirectoriesAndMigrates) {
  EXPECT_TRUE(std::filesystem::exists(file_));
  EXPECT_EQ(store_->schema_version(), static_cast<int>(schema_migrations().size()));
}

// A notification can leave before its transaction is durable; if the process dies there, its id
// was handed out but not kept. A start on an existing database skips far past it, so no other
// page gets that id (receivers drop repeated X-Tocsin-Notification-Ids). A new database starts at 1.
class ServerSqliteStoreTest : public SqliteStoreTest {
 protected:
  core::Result<std::unique_ptr<Store>> open_store() override {
    return open_sqlite_store(file_, nullptr, /*sends_notifications=*/true);
  }
};

TEST_F(ServerSqliteStoreTest, ARestartNeverGivesANotificationIdHandedOutBefore) {
  auto notification = [] {
    Notification n;
    n.target = "channel:hook";
    n.channel = "webhook";
    n.address = "http://127.0.0.1:1/hook";
    n.payload = "{}";
    return n;
  };
  int64_t kept = 0;
  write([&](Tx& tx) { kept = tx.insert_notification(notification()).value(); });
  EXPECT_EQ(kept, 1) << "a new database";
  int64_t handed_out = 0;
  ASSERT_FALSE(store_
                   ->write([&](Tx& tx) -> Status {
                     handed_out = TOCSIN_TRY(tx.insert_notification(notification()));
                     return std::unexpected(core::Error::internal("the process died before this COMMIT"));
                   })
                   .has_value());
  EXPECT_EQ(handed_out, 2);
  reopen();
  int64_t next = 0;
  write([&](Tx& tx) { next = tx.insert_notification(notification()).value(); });
  EXPECT_GT(next, handed_out + 1000) << "the id the last process handed out is given again";
  reopen();
  int64_t after_second_restart = 0;
  write([&](Tx& tx) { after_second_restart = tx.insert_notification(notification()).value(); });
  EXPECT_GT(after_second_restart, next + 1000);
}

TEST_F(SqliteStoreTest, AToolThatOpensTheStoreLeavesTheIdsAsTheyAre) {
  Notification n;
  n.target = "channel:hook";
  n.channel = "webhook";
  n.address = "http://127.0.0.1:1/hook";
  n.payload = "{}";
  write([&](Tx& tx) { EXPECT_EQ(tx.insert_notification(n).value(), 1); });
  reopen();
  write([&](Tx& tx) { EXPECT_EQ(tx.insert_notification(n).value(), 2); });
}

TEST_F(SqliteStoreTest, FileIsInWalMode) {
  auto db = Database::open(file_);
  ASSERT_TRUE(db.has_value());
  auto statement = (*db)->prepare_uncached("PRAGMA journal_mode");
  ASSERT_TRUE(statement.has_value());
  ASSERT_TRUE((*statement)->step().value_or(false));
  EXPECT_EQ((*statement)->column_text(0), "wal");
}

// The alert time log (alert_time_log.h): re-sends are appended to a log instead of SQLite and
// written into the database at checkpoints. What a process that was killed leaves is its files as
// they are at that moment; copying them while the store is open makes that image.
class AlertTimeLogStoreTest : public SqliteStoreTest {
 protected:
  std::filesystem::path crash_image(const std::string& name) {
    const auto dir = dir_.path() / name;
    std::filesystem::create_directories(dir);
    for (const char* suffix : {"", "-wal", "-alert-times"}) {
      std::filesystem::path from = file_;
      from += suffix;
      if (!std::filesystem::exists(from)) continue;
      std::filesystem::copy_file(from, dir / (std::string("tocsin.db") + suffix),
                                 std::filesystem::copy_options::overwrite_existing);
    }
    return dir / "tocsin.db";
  }
  static AlertRecord firing(uint64_t fingerprint) {
    AlertRecord a;
    a.fingerprint = fingerprint;
    a.labels = core::Labels{{"alertname", "X"}, {"n", std::to_string(fingerprint)}};
    a.state = AlertState::kFiring;
    a.active_at = at(1);
    a.updated_at = at(2);
    a.ends_at = at(100);
    return a;
  }
  static std::optional<AlertRecord> alert_in(Store& store, uint64_t fingerprint) {
    std::optional<AlertRecord> out;
    EXPECT_TRUE(store.read([&](Tx& tx) -> Status {
      out = TOCSIN_TRY(tx.get_alert(fingerprint));
      return core::ok();
    }));
    return out;
  }
  // The row as SQLite holds it, without the store (and so without the log).
  std::optional<int64_t> raw_ends_at(const std::filesystem::path& file, uint64_t fingerprint) {
    auto db = Database::open(file).value();
    auto statement = db->prepare_uncached("SELECT ends_at FROM alerts WHERE fingerprint = ?1").value();
    EXPECT_TRUE(statement->bind_all(std::bit_cast<int64_t>(fingerprint)));
    if (!statement->step().value()) return std::nullopt;
    return statement->column_int64(0);
  }
};

TEST_F(AlertTimeLogStoreTest, ReSendsAreLoggedNotWrittenAndSurviveACrash) {
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(firing(1)).has_value()); });
  write([&](Tx& tx) {
    EXPECT_TRUE(tx.touch_alert(1, at(200), false, at(150)).has_value());
    // The transaction sees its own re-send.
    EXPECT_EQ(tx.get_alert(1).value()->ends_at, at(200));
  });
  write([&](Tx& tx) { EXPECT_TRUE(tx.touch_alert(1, at(300), true, at(250)).has_value()); });
  // Readers see the newest times; SQLite's row still has the first ones.
  auto got = alert_in(*store_, 1);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ends_at, at(300));
  EXPECT_TRUE(got->ends_at_from_timeout);
  EXPECT_EQ(got->updated_at, at(250));
  read([&](Tx& tx) { EXPECT_EQ(tx.list_alerts(AlertState::kFiring).value().at(0).ends_at, at(300)); });
  const auto image = crash_image("crash");
  EXPECT_EQ(raw_ends_at(image, 1), core::to_unix_ms(at(100)));

  // Opening the image replays the log into the database.
  {
    auto reopened = open_sqlite_store(image).value();
    auto after = alert_in(*reopened, 1);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->ends_at, at(300));
    EXPECT_TRUE(after->ends_at_from_timeout);
    EXPECT_EQ(after->updated_at, at(250));
  }
  EXPECT_EQ(raw_ends_at(image, 1), core::to_unix_ms(at(300)));
}

TEST_F(AlertTimeLogStoreTest, ACleanCloseLeavesTheDatabaseComplete) {
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(firing(2)).has_value()); });
  write([&](Tx& tx) { EXPECT_TRUE(tx.touch_alert(2, at(500), false, at(400)).has_value()); });
  store_.reset();
  EXPECT_EQ(raw_ends_at(file_, 2), core::to_unix_ms(at(500)));
  reopen();
  EXPECT_EQ(alert_in(*store_, 2)->ends_at, at(500));
}

TEST_F(AlertTimeLogStoreTest, ARowWrittenAfterAReSendIsNeverOverwrittenByTheLog) {
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(firing(3)).has_value()); });
  write([&](Tx& tx) { EXPECT_TRUE(tx.touch_alert(3, at(200), false, at(150)).has_value()); });
  auto missing = store_->write([&](Tx& tx) { return tx.touch_alert(4 /* no such alert */, at(1), false, at(1)); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), core::ErrorCode::kNotFound);
  // Keep the log as it is now: a crash right after the next commit, before the log restarts,
  // leaves this file.
  std::filesystem::path log = file_;
  log += "-alert-times";
  const auto stale = dir_.path() / "stale-log";
  std::filesystem::copy_file(log, stale);
  AlertRecord resolved = firing(3);
  resolved.state = AlertState::kResolved;
  resolved.ends_at = at(160);
  resolved.resolved_at = at(160);
  resolved.updated_at = at(160);
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(resolved).has_value()); });
  EXPECT_EQ(alert_in(*store_, 3)->ends_at, at(160));
  const auto image = crash_image("crash");
  std::filesystem::copy_file(stale, image.string() + "-alert-times", std::filesystem::copy_options::overwrite_existing);
  auto reopened = open_sqlite_store(image).value();
  auto after = alert_in(*reopened, 3);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, AlertState::kResolved);
  EXPECT_EQ(after->ends_at, at(160));
  EXPECT_EQ(after->updated_at, at(160));
}

TEST_F(AlertTimeLogStoreTest, DeletingOldResolvedAlertsGoesByTheLoggedTimes) {
  AlertRecord a = firing(5);
  a.state = AlertState::kResolved;
  a.ends_at = at(10);
  a.resolved_at = at(10);
  a.updated_at = at(10);
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(a).has_value()); });
  // Re-sent (still resolved) at 500: not old at 400.
  write([&](Tx& tx) { EXPECT_TRUE(tx.touch_alert(5, at(10), false, at(500)).has_value()); });
  write([&](Tx& tx) { EXPECT_EQ(tx.delete_resolved_alerts(at(400)).value(), 0); });
  EXPECT_TRUE(alert_in(*store_, 5).has_value());
  write([&](Tx& tx) { EXPECT_EQ(tx.delete_resolved_alerts(at(600)).value(), 1); });
  EXPECT_FALSE(alert_in(*store_, 5).has_value());
}

TEST_F(AlertTimeLogStoreTest, ATransactionOfLoggedReSendsOnlyTakesNoSqliteLock) {
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(firing(7)).has_value()); });
  write([&](Tx& tx) { EXPECT_TRUE(tx.touch_alert(7, at(200), false, at(150)).has_value()); });
  // Another connection holds SQLite's write lock: a transaction that needs it would wait for the
  // busy timeout and fail; one whose re-sends all go to the log does not notice.
  auto other = Database::open(file_).value();
  ASSERT_TRUE(other->exec("PRAGMA busy_timeout = 0"));
  ASSERT_TRUE(other->exec("BEGIN IMMEDIATE"));
  ASSERT_TRUE(store_->write([&](Tx& tx) { return tx.touch_alert(7, at(300), false, at(250)); }));
  ASSERT_TRUE(other->exec("ROLLBACK"));
  EXPECT_EQ(alert_in(*store_, 7)->ends_at, at(300));
}

TEST_F(AlertTimeLogStoreTest, ASecondProcessWritesReSendsToTheDatabase) {
  write([&](Tx& tx) { EXPECT_TRUE(tx.upsert_alert(firing(6)).has_value()); });
  // The log is locked by store_: this store has none.
  auto second = open_sqlite_store(file_).value();
  ASSERT_TRUE(second->write([&](Tx& tx) { return tx.touch_alert(6, at(700), false, at(600)); }));
  EXPECT_EQ(raw_ends_at(file_, 6), core::to_unix_ms(at(700)));
}

}  // namespace
}  // namespace tocsin::store::sqlite

namespace tocsin::store::sqlite {
namespace {

// The audit log (docs/compliance.md): every field round-trips, filters combine, entries come back
// oldest first, and an entry written in a transaction that fails is gone with it.
TEST(StorageHealthTest, AnEpisodeRunsFromTheFirstRefusedWriteToTheNextThatWorks) {
  StorageHealth health;
  EXPECT_EQ(health.problem(), "");
  health.refused("the data dir /d is full (SQLITE_FULL): x");
  health.refused("the data dir /d is full (SQLITE_FULL): y");
  EXPECT_EQ(health.problem(), "the data dir /d is full (SQLITE_FULL): y") << "the latest reason";
  EXPECT_EQ(health.refused_writes(), 2u);
  health.worked();
  EXPECT_EQ(health.problem(), "");
  EXPECT_EQ(health.refused_writes(), 2u) << "a count since start";
}

TEST(StorageHealthTest, TheStoresProbeIsARealWriteThatEndsTheEpisodeAndChangesNothing) {
  TempDir dir;
  StorageHealth health;
  auto store = open_sqlite_store(dir.path() / "tocsin.db", &health).value();
  const int version = store->schema_version();
  health.probe();  // no problem: nothing to probe
  health.refused("the data dir is full (SQLITE_FULL): x");
  health.probe();
  EXPECT_EQ(health.problem(), "") << "the probe's write went through";
  EXPECT_EQ(store->schema_version(), version);
  Notification n;
  n.target = "channel:hook";
  n.channel = "webhook";
  n.address = "http://h/";
  EXPECT_TRUE(store->write([&](Tx& tx) -> Status {
    TOCSIN_TRY(tx.insert_notification(n));
    return core::ok();
  }).has_value()) << "the store works as before";
  store.reset();
  health.refused("again");
  health.probe();  // the store is gone: its probe with it
  EXPECT_EQ(health.problem(), "again");
}

// Commits are flushed by the store (an fdatasync of the WAL) instead of inside SQLite's COMMIT,
// so that Store::write_visible can return before the flush; write() still returns after it.
class ExplicitFlushTest : public ::testing::Test {
 protected:
  static Status insert(Tx& tx, std::string_view target) {
    Notification n;
    n.target = std::string(target);
    n.channel = "webhook";
    n.address = "http://h/";
    TOCSIN_TRY(tx.insert_notification(n));
    return core::ok();
  }
  // Notifications as a connection of its own sees them (not the store's).
  size_t notifications_seen_elsewhere() {
    auto db = Database::open_read_only(file_).value();
    auto statement = db->prepare_uncached("SELECT COUNT(*) FROM notifications").value();
    EXPECT_TRUE(statement->step().value());
    return static_cast<size_t>(statement->column_int64(0));
  }

  TempDir dir_;
  std::filesystem::path file_ = dir_.path() / "tocsin.db";
  StorageHealth health_;
  std::unique_ptr<Store> store_ = open_sqlite_store(file_, &health_).value();
};

TEST_F(ExplicitFlushTest, AWriteThatChangedRowsReturnsAfterItsFlushAndOneThatChangedNothingFlushesNothing) {
  const uint64_t before = health_.wal_flushes();
  ASSERT_TRUE(store_->write([](Tx& tx) { return insert(tx, "a"); }).has_value());
  EXPECT_EQ(health_.wal_flushes(), before + 1);
  ASSERT_TRUE(store_->write([](Tx& tx) -> Status {
    TOCSIN_TRY(tx.list_silences());
    return core::ok();
  }).has_value());
  EXPECT_EQ(health_.wal_flushes(), before + 1) << "a write that changed nothing wrote nothing to flush";
  EXPECT_TRUE(store_->make_durable(PendingCommit{}).has_value());
  EXPECT_EQ(health_.wal_flushes(), before + 1);
}

TEST_F(ExplicitFlushTest, AVisibleWriteIsSeenBeforeItsFlushAndOneFlushCoversTheEarlierCommits) {
  const uint64_t before = health_.wal_flushes();
  auto first = store_->write_visible([](Tx& tx) { return insert(tx, "a"); });
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  auto second = store_->write_visible([](Tx& tx) { return insert(tx, "b"); });
  ASSERT_TRUE(second.has_value()) << second.error().to_string();
  EXPECT_GT(second->seq, first->seq);
  EXPECT_EQ(health_.wal_flushes(), before) << "not flushed yet";
  EXPECT_EQ(notifications_seen_elsewhere(), 2u) << "committed: other connections see both";
  ASSERT_TRUE(store_->make_durable(*second).has_value());
  EXPECT_EQ(health_.wal_flushes(), before + 1);
  ASSERT_TRUE(store_->make_durable(*first).has_value());
  EXPECT_EQ(health_.wal_flushes(), before + 1) << "the second commit's flush covered the first";
  auto third = store_->write_visible([](Tx& tx) { return insert(tx, "c"); });
  ASSERT_TRUE(third.has_value());
  ASSERT_TRUE(store_->make_durable(*third).has_value());
  EXPECT_EQ(health_.wal_flushes(), before + 2) << "a commit after the flush needs one of its own";
}

TEST_F(ExplicitFlushTest, AFailedWriteIsNotWaitedForAndChangesNothing) {
  auto failed = store_->write_visible([](Tx& tx) -> Status {
    TOCSIN_RETURN_IF_ERROR(insert(tx, "a"));
    return std::unexpected(core::Error::invalid_argument("no"));
  });
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(notifications_seen_elsewhere(), 0u);
}

// SQLite starts the WAL over at the first write after a checkpoint copied all of it and syncs the
// new header in that write's COMMIT; the checkpointer makes that write itself, so a request's
// write does not pay the sync. The WAL header's checkpoint sequence number (bytes 12-15) counts
// the restarts.
TEST_F(ExplicitFlushTest, TheCheckpointerStartsTheWalOverItselfAndOnlyAfterNewWrites) {
  auto restarts = [&] {
    std::ifstream wal(file_.string() + "-wal", std::ios::binary);
    unsigned char header[16] = {};
    wal.read(reinterpret_cast<char*>(header), sizeof header);
    return (uint32_t{header[12]} << 24) | (uint32_t{header[13]} << 16) | (uint32_t{header[14]} << 8) | header[15];
  };
  // Rounds of the checkpointer are 500 ms apart; waits up to 10 s for the count to move from `from`.
  auto wait_for_restart = [&](uint32_t from) {
    for (int i = 0; i < 200 && restarts() == from; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return restarts();
  };
  ASSERT_TRUE(store_->write([](Tx& tx) { return insert(tx, "a"); }).has_value());
  const uint32_t first = restarts();
  const uint32_t second = wait_for_restart(first);
  ASSERT_NE(second, first) << "the checkpointer copied the WAL but did not start it over";
  ASSERT_TRUE(store_->write([](Tx& tx) { return insert(tx, "b"); }).has_value());
  EXPECT_EQ(restarts(), second) << "the write started the WAL over itself";
  // b is copied and the WAL started over once more; then, with nothing new written, no round
  // copies or restarts anything (the restart's own frame is not a reason for another).
  const uint32_t third = wait_for_restart(second);
  ASSERT_NE(third, second);
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  EXPECT_EQ(restarts(), third);
  EXPECT_EQ(notifications_seen_elsewhere(), 2u);
}

TEST(StorageHealthTest, ADataDirThatCannotBeCreatedStopsTheOpenNamingIt) {
  TempDir dir;
  const auto file = dir.path() / "regular-file";
  { std::ofstream(file) << "x"; }
  auto opened = open_sqlite_store(file / "tocsin.db", nullptr);
  ASSERT_FALSE(opened.has_value());
  EXPECT_THAT(opened.error().message(), ::testing::HasSubstr((file).string()));
}

}  // namespace
}  // namespace tocsin::store::sqlite
