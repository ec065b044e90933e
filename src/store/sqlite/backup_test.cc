#include "store/sqlite/backup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>

#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::store::sqlite {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using test_support::TempDir;

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The server's store: migrated, in WAL mode, open for the whole test as a running server's is.
    auto store = open_sqlite_store(source_);
    ASSERT_TRUE(store.has_value()) << store.error().to_string();
    store_ = std::move(*store);
    auto writer = Database::open(source_);
    ASSERT_TRUE(writer.has_value());
    writer_ = std::move(*writer);
    ASSERT_TRUE(writer_->exec("PRAGMA busy_timeout=5000").has_value());
  }

  void insert_audit(std::string_view action) {
    auto ok = writer_->exec(fmt::format(
        "INSERT INTO audit_log (at, actor, action, object, detail, source) VALUES (1, 'alice', '{}', 'o', '', '')",
        action));
    ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
  }

  static std::vector<std::string> actions_in(const fs::path& file) {
    auto db = Database::open(file);
    EXPECT_TRUE(db.has_value());
    auto statement = (*db)->prepare_uncached("SELECT action FROM audit_log ORDER BY id");
    EXPECT_TRUE(statement.has_value());
    std::vector<std::string> out;
    while (true) {
      auto row = (*statement)->step();
      if (!row || !*row) break;
      out.push_back((*statement)->column_text(0));
    }
    return out;
  }

  TempDir dir_;
  fs::path source_ = dir_.path() / "tocsin.db";
  fs::path dest_ = dir_.path() / "backup" / "tocsin.db";
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Database> writer_;
};

TEST_F(BackupTest, CopiesWhatIsCommittedAndNotAWriteInProgress) {
  fs::create_directories(dest_.parent_path());
  insert_audit("committed");
  // A write transaction of the running server, open while the backup runs: the backup copies
  // the last committed snapshot and neither waits for nor includes it.
  ASSERT_TRUE(writer_->exec("BEGIN IMMEDIATE").has_value());
  insert_audit("in-progress");

  auto result = backup_database(source_, dest_);
  ASSERT_TRUE(result.has_value()) << result.error().to_string();
  ASSERT_TRUE(writer_->exec("COMMIT").has_value());

  EXPECT_EQ(result->schema_version, static_cast<int>(schema_migrations().size()));
  EXPECT_EQ(result->bytes, static_cast<int64_t>(fs::file_size(dest_)));
  EXPECT_EQ(actions_in(dest_), std::vector<std::string>{"committed"});
  EXPECT_EQ(actions_in(source_), (std::vector<std::string>{"committed", "in-progress"}));
  // One self-contained file: no WAL beside it, no leftover partial copy.
  EXPECT_FALSE(fs::exists(fs::path(dest_).concat("-wal")));
  EXPECT_FALSE(fs::exists(fs::path(dest_).concat(".partial")));
  // And the copy opens as a store of the current schema.
  auto reopened = open_sqlite_store(dest_);
  EXPECT_TRUE(reopened.has_value()) << reopened.error().to_string();
}

TEST_F(BackupTest, MissingSourceIsNotFoundAndCreatesNothing) {
  fs::create_directories(dest_.parent_path());
  auto result = backup_database(dir_.path() / "nope.db", dest_);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), core::ErrorCode::kNotFound);
  EXPECT_THAT(result.error().message(), HasSubstr("nope.db"));
  EXPECT_FALSE(fs::exists(dir_.path() / "nope.db"));
  EXPECT_FALSE(fs::exists(dest_));
}

TEST_F(BackupTest, NeverOverwritesAnExistingFile) {
  fs::create_directories(dest_.parent_path());
  std::ofstream(dest_) << "an older backup";
  auto result = backup_database(source_, dest_);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_THAT(result.error().message(), HasSubstr("already exists"));
  std::ifstream in(dest_);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "an older backup");
}

TEST_F(BackupTest, ASourceThatIsNotADatabaseFailsAndLeavesNothing) {
  fs::create_directories(dest_.parent_path());
  const fs::path garbage = dir_.path() / "garbage.db";
  std::ofstream(garbage) << std::string(8192, 'x');
  auto result = backup_database(garbage, dest_);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message(), HasSubstr("not a database"));
  EXPECT_FALSE(fs::exists(dest_));
  EXPECT_FALSE(fs::exists(fs::path(dest_).concat(".partial")));
}

}  // namespace
}  // namespace tocsin::store::sqlite
