#include "store/sqlite/migrations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <array>
#include <bit>
#include <cstdint>

#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite_store.h"
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

TEST_F(MigrationsTest, SchemaVersionReadsWithoutWriting) {
  auto db = open();
  ASSERT_EQ(schema_version(*db).value(), 0);
  EXPECT_FALSE(table_exists(*db, "schema_version"));  // reading created nothing
  const std::array<std::string_view, 2> two{kCreateA, kCreateB};
  ASSERT_EQ(migrate(*db, std::span<const std::string_view>(two).first(1)).value(), 1);
  EXPECT_EQ(schema_version(*db).value(), 1);
  db.reset();
  auto read_only = Database::open_read_only(dir_.path() / "m.db");
  ASSERT_TRUE(read_only.has_value()) << read_only.error().to_string();
  EXPECT_EQ(schema_version(**read_only).value(), 1);
  EXPECT_FALSE((*read_only)->exec("INSERT INTO a (x) VALUES (1)").has_value());  // read-only means it
  EXPECT_FALSE(Database::open_read_only(dir_.path() / "missing.db").has_value());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "missing.db"));
}

TEST_F(MigrationsTest, FreshFileGetsEveryMigration) {
  auto db = open();
  auto version = migrate(*db, schema_migrations());
  ASSERT_TRUE(version.has_value()) << version.error().to_string();
  EXPECT_EQ(*version, static_cast<int>(schema_migrations().size()));
  EXPECT_EQ(stored_version(*db), *version);
  for (auto table : {"alerts", "incidents", "incident_alerts", "tasks", "timeline", "notifications",
                     "notification_attempts", "silences", "nflog", "action_runs", "leases", "replicas",
                     "detector_states"}) {
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

TEST_F(MigrationsTest, Version1RowsSurviveVersion2WithTheNewColumnsDefaulted) {
  constexpr uint64_t kFingerprint = 0xfedcba9876543210ULL;
  {
    auto db = open();
    ASSERT_EQ(migrate(*db, schema_migrations().first(1)).value_or(-1), 1);
    EXPECT_FALSE(table_exists(*db, "silences"));
    auto inserted = db->exec(fmt::format(R"sql(
      INSERT INTO incidents (id, title, plan, severity, status, group_key, opened_at, escalation_policy,
                             escalation_pass, escalation_next_level)
        VALUES (1, 'crash', '', 'critical', 'triggered', 'g', 1000, '', 0, 0);
      INSERT INTO alerts (fingerprint, rule, labels, annotations, state, value, active_at, fired_at, resolved_at,
                          updated_at, incident_id)
        VALUES ({}, 'HighLoad', '{{"alertname":"HighLoad"}}', '{{"summary":"hot"}}', 'firing', 0.5, 1000, 2000,
                NULL, 3000, 1),
               (7, '', '{{}}', '{{}}', 'resolved', NULL, 10, NULL, 20, 30, NULL);
    )sql",
                                         std::bit_cast<int64_t>(kFingerprint)));
    ASSERT_TRUE(inserted.has_value()) << inserted.error().to_string();
  }
  {
    auto db = open();
    auto version = migrate(*db, schema_migrations());
    ASSERT_TRUE(version.has_value()) << version.error().to_string();
    EXPECT_EQ(*version, static_cast<int>(schema_migrations().size()));
    EXPECT_TRUE(table_exists(*db, "silences"));
    EXPECT_TRUE(table_exists(*db, "nflog"));
    auto statement = db->prepare_uncached(
        "SELECT fingerprint, rule, incident_id, ends_at, ends_at_from_timeout, generator_url FROM alerts "
        "ORDER BY fingerprint");
    ASSERT_TRUE(statement.has_value());
    Statement& row = **statement;
    ASSERT_TRUE(row.step().value_or(false));
    EXPECT_EQ(row.column_int64(0), std::bit_cast<int64_t>(kFingerprint));
    EXPECT_EQ(row.column_text(1), "HighLoad");
    EXPECT_EQ(row.column_optional_int64(2), 1);
    EXPECT_TRUE(row.is_null(3));
    EXPECT_EQ(row.column_int64(4), 0);
    EXPECT_EQ(row.column_text(5), "");
    ASSERT_TRUE(row.step().value_or(false));
    EXPECT_EQ(row.column_int64(0), 7);
    EXPECT_TRUE(row.is_null(3));
    EXPECT_EQ(row.column_int64(4), 0);
    EXPECT_EQ(row.column_text(5), "");
    EXPECT_FALSE(row.step().value_or(true));
  }

  // The store reads the migrated rows back whole.
  auto store = open_sqlite_store(dir_.path() / "m.db");
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  auto status = (*store)->read([&](Tx& tx) -> Status {
    auto alert = TOCSIN_TRY(tx.get_alert(kFingerprint));
    EXPECT_TRUE(alert.has_value());
    if (alert) {
      EXPECT_EQ(alert->rule, "HighLoad");
      EXPECT_EQ(alert->labels, (core::Labels{{"alertname", "HighLoad"}}));
      EXPECT_EQ(alert->state, AlertState::kFiring);
      EXPECT_EQ(alert->fired_at, core::from_unix_ms(2000));
      EXPECT_EQ(alert->incident_id, 1);
      EXPECT_FALSE(alert->ends_at.has_value());
      EXPECT_FALSE(alert->ends_at_from_timeout);
      EXPECT_EQ(alert->generator_url, "");
    }
    EXPECT_EQ(TOCSIN_TRY(tx.list_alerts(std::nullopt)).size(), 2u);
    auto incident = TOCSIN_TRY(tx.get_incident(1));
    EXPECT_TRUE(incident.has_value());
    if (incident) {
      EXPECT_EQ(incident->title, "crash");
    }
    EXPECT_TRUE(TOCSIN_TRY(tx.list_silences()).empty());
    EXPECT_TRUE(TOCSIN_TRY(tx.list_nflog()).empty());
    return core::ok();
  });
  EXPECT_TRUE(status.has_value()) << status.error().to_string();
}

TEST_F(MigrationsTest, Version5IncidentsSurviveVersion6AsRealIncidentsWithEmptyDrillTables) {
  {
    auto db = open();
    ASSERT_EQ(migrate(*db, schema_migrations().first(5)).value_or(-1), 5);
    EXPECT_FALSE(table_exists(*db, "drill_runs"));
    auto inserted = db->exec(R"sql(
      INSERT INTO incidents (id, title, plan, severity, status, group_key, opened_at, escalation_policy,
                             escalation_pass, escalation_next_level)
        VALUES (1, 'crash', 'system_crash', 'critical', 'triggered', 'g', 1000, 'ops', 0, 0);
    )sql");
    ASSERT_TRUE(inserted.has_value()) << inserted.error().to_string();
  }
  auto store = open_sqlite_store(dir_.path() / "m.db");
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  EXPECT_EQ((*store)->schema_version(), static_cast<int>(schema_migrations().size()));
  auto status = (*store)->read([&](Tx& tx) -> Status {
    auto incident = TOCSIN_TRY(tx.get_incident(1));
    EXPECT_TRUE(incident.has_value());
    if (incident) {
      EXPECT_EQ(incident->drill, "") << "an incident from before drills is a real one";
    }
    EXPECT_TRUE(TOCSIN_TRY(tx.list_drill_runs(DrillRunFilter{})).empty());
    EXPECT_TRUE(TOCSIN_TRY(tx.last_drill_runs()).empty());
    EXPECT_TRUE(TOCSIN_TRY(tx.list_live_drills(false)).empty());
    return core::ok();
  });
  EXPECT_TRUE(status.has_value()) << status.error().to_string();
}

TEST_F(MigrationsTest, Version7LiveDrillsSurviveVersion8WithoutAScenario) {
  {
    auto db = open();
    ASSERT_EQ(migrate(*db, schema_migrations().first(7)).value_or(-1), 7);
    auto inserted = db->exec(R"sql(
      INSERT INTO live_drills (id, scenario, plan, participants, started_at, started_by, finished_by)
        VALUES (1, 'System crash', 'system_crash', '["carol"]', 1000, 'trainer', '');
    )sql");
    ASSERT_TRUE(inserted.has_value()) << inserted.error().to_string();
  }
  auto store = open_sqlite_store(dir_.path() / "m.db");
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  EXPECT_EQ((*store)->schema_version(), static_cast<int>(schema_migrations().size()));
  auto status = (*store)->write([&](Tx& tx) -> Status {
    auto drill = TOCSIN_TRY(tx.get_live_drill(1));
    EXPECT_TRUE(drill.has_value());
    if (!drill) return core::ok();
    EXPECT_EQ(drill->scenario_yaml, "") << "a drill registered before v8 has no scenario: the client scores it";
    drill->scenario_yaml = "name: x\n";
    TOCSIN_RETURN_IF_ERROR(tx.update_live_drill(*drill));
    EXPECT_EQ(TOCSIN_TRY(tx.get_live_drill(1))->scenario_yaml, "name: x\n");
    return core::ok();
  });
  EXPECT_TRUE(status.has_value()) << status.error().to_string();
}

TEST_F(MigrationsTest, Version8IncidentsGetAnUnwrittenPostmortemAndActionItemsInVersion9) {
  {
    auto db = open();
    ASSERT_EQ(migrate(*db, schema_migrations().first(8)).value_or(-1), 8);
    auto inserted = db->exec(R"sql(
      INSERT INTO incidents (id, title, plan, severity, status, group_key, opened_at, escalation_policy,
                             escalation_pass, escalation_next_level)
        VALUES (1, 'crash', 'system_crash', 'critical', 'resolved', 'g', 1000, 'ops', 0, 0);
    )sql");
    ASSERT_TRUE(inserted.has_value()) << inserted.error().to_string();
  }
  auto store = open_sqlite_store(dir_.path() / "m.db");
  ASSERT_TRUE(store.has_value()) << store.error().to_string();
  auto status = (*store)->write([&](Tx& tx) -> Status {
    EXPECT_FALSE(TOCSIN_TRY(tx.get_postmortem(1)).has_value()) << "nobody has written it yet";
    ActionItem item;
    item.incident_id = 1;
    item.title = "add a disk alert";
    item.owner = "alice";
    item.due_at = core::from_unix_ms(5000);
    item.created_at = core::from_unix_ms(2000);
    EXPECT_EQ(TOCSIN_TRY(tx.insert_action_item(item)), 1);
    return core::ok();
  });
  EXPECT_TRUE(status.has_value()) << status.error().to_string();
}

}  // namespace
}  // namespace tocsin::store::sqlite
