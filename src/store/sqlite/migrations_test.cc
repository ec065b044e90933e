#include "store/sqlite/migrations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>

#include "store/sqlite/sqlite.h"
#include "test_support/temp_dir.h"

namespace tocsin::store::sqlite {
namespace {

using test_support::TempDir;

using ::testing::HasSubstr;

constexpr std::string_view kCreateA = "CREATE TABLE a (x INTEGER)";
constexpr std::string_view kCreateB = "CREATE TABLE b (y INTEGER); INSERT INTO b (y) VALUES (7)";

class MigrationsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> open() {
    auto db = Database::open(dir_.path() / "m.db");
    EXPECT_TRUE(db.has_value()) << db.error().to_string();
    return std::move(*db);
  }

  static int stored_version(Database& db) {
    auto statement = db.prepare_uncached("SELECT version FROM schema_version");
    EXPECT_TRUE(statement.has_value());
    auto row = (*statement)->step();
    EXPECT_TRUE(row.has_value() && *row);
    return static_cast<int>((*statement)->column_int64(0));
  }

  static bool table_exists(Database& db, std::string_view name) {
    auto statement = db.prepare_uncached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
    EXPECT_TRUE(statement.has_value());
    EXPECT_TRUE((*statement)->bind_all(name).has_value());
    auto row = (*statement)->step();
    return row.has_value() && *row;
  }

  TempDir dir_;
};

TEST_F(MigrationsTest, FreshFileGetsEveryMigration) {
  auto db = open();
  auto version = migrate(*db, schema_migrations());
  ASSERT_TRUE(version.has_value()) << version.error().to_string();
  EXPECT_EQ(*version, static_cast<int>(schema_migrations().size()));
  EXPECT_EQ(stored_version(*db), *version);
  for (auto table : {"alerts", "incidents", "incident_alerts", "tasks", "timeline", "notifications",
                     "notification_attempts"}) {
    EXPECT_TRUE(table_exists(*db, table)) << table;
  }
}

TEST_F(MigrationsTest, SecondRunIsANoOp) {
  auto db = open();
  ASSERT_TRUE(migrate(*db, schema_migrations()).has_value());
  auto again = migrate(*db, schema_migrations());
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  EXPECT_EQ(*again, static_cast<int>(schema_migrations().size()));
}

TEST_F(MigrationsTest, NewerBinaryUpgradesOlderFile) {
  {
    auto db = open();
    const std::array<std::string_view, 1> old_binary{kCreateA};
    ASSERT_EQ(migrate(*db, old_binary).value_or(-1), 1);
    EXPECT_FALSE(table_exists(*db, "b"));
  }
  auto db = open();
  const std::array<std::string_view, 2> new_binary{kCreateA, kCreateB};
  auto version = migrate(*db, new_binary);
  ASSERT_TRUE(version.has_value()) << version.error().to_string();
  EXPECT_EQ(*version, 2);
  EXPECT_EQ(stored_version(*db), 2);
  EXPECT_TRUE(table_exists(*db, "b"));
}

TEST_F(MigrationsTest, OlderBinaryRefusesNewerFile) {
  {
    auto db = open();
    const std::array<std::string_view, 2> new_binary{kCreateA, kCreateB};
    ASSERT_EQ(migrate(*db, new_binary).value_or(-1), 2);
  }
  auto db = open();
  const std::array<std::string_view, 1> old_binary{kCreateA};
  auto version = migrate(*db, old_binary);
  ASSERT_FALSE(version.has_value());
  EXPECT_EQ(version.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_THAT(version.error().message(), HasSubstr("schema version 2 is newer than this tocsin supports (1)"));
  EXPECT_EQ(stored_version(*db), 2);
  EXPECT_FALSE(db->in_transaction());
}

TEST_F(MigrationsTest, FailedScriptChangesNothing) {
  auto db = open();
  const std::array<std::string_view, 2> broken{kCreateA, "CREATE TABLE c (z INTEGER); NOT SQL AT ALL"};
  auto version = migrate(*db, broken);
  ASSERT_FALSE(version.has_value());
  EXPECT_THAT(version.error().message(), HasSubstr("schema migration 2"));
  EXPECT_EQ(stored_version(*db), 1);  // the first script committed on its own
  EXPECT_TRUE(table_exists(*db, "a"));
  EXPECT_FALSE(table_exists(*db, "c"));
  EXPECT_FALSE(db->in_transaction());
}

}  // namespace
}  // namespace tocsin::store::sqlite
