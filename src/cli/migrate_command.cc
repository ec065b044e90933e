#include "cli/migrate_command.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "config/loader.h"
#include "core/clock.h"
#include "core/file_io.h"
#include "core/log.h"
#include "server/store_factory.h"
#include "store/postgres/copy_from_sqlite.h"
#include "store/postgres/migrations.h"
#include "store/postgres/postgres.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite.h"

namespace tocsin::cli {
namespace {

namespace fs = std::filesystem;

int fail(const std::string& what) {
  fmt::print(stderr, "tocsin migrate: {}\n", what);
  return 1;
}

void print_versions(const std::string& where, int from, int to) {
  if (from == to) {
    fmt::print("{}: schema version {}, current; nothing to do\n", where, to);
  } else {
    fmt::print("{}: schema version {} -> {}\n", where, from, to);
  }
}

// How long a migration waits for a running server's write lock on the SQLite file.
constexpr int kSqliteBusyTimeoutMs = 10'000;

core::Status migrate_sqlite(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    // The caller names the file.
    return std::unexpected(core::Error::not_found(
        "no store there yet, so nothing to migrate (`tocsin serve` creates it at the current version)"));
  }
  auto db = TOCSIN_TRY(store::sqlite::Database::open(file));
  TOCSIN_RETURN_IF_ERROR(db->exec(fmt::format("PRAGMA busy_timeout = {}", kSqliteBusyTimeoutMs)));
  const int from = TOCSIN_TRY(store::sqlite::schema_version(*db));
  const int to = TOCSIN_TRY(store::sqlite::migrate(*db, store::sqlite::schema_migrations()));
  print_versions(file.string(), from, to);
  return core::ok();
}

core::Status migrate_postgres(const config::ServerConfig& server) {
  auto db = TOCSIN_TRY(store::postgres::Connection::open(server.store));
  const int from = TOCSIN_TRY(store::postgres::schema_version(*db));
  const int to = TOCSIN_TRY(store::postgres::migrate(*db, store::postgres::schema_migrations()));
  print_versions(server::describe_store(server), from, to);
  return core::ok();
}

int copy_from_sqlite(const config::ServerConfig& server, fs::path source) {
  if (server.store.empty()) {
    return fail("--from-sqlite copies into the PostgreSQL store that server.store names, and this config has no "
                "server.store (set it to postgres://…; docs/operations.md#moving-from-sqlite-to-postgresql)");
  }
  std::error_code ec;
  if (fs::is_directory(source, ec)) source /= "tocsin.db";
  // Not /dev/shm: the copy is as large as the store.
  auto scratch = core::ScratchDir::create(fs::temp_directory_path(ec), "tocsin-migrate-");
  if (!scratch) return fail(scratch.error().message());
  core::SystemClock clock;
  const auto started = clock.mono_now();
  auto copied = store::postgres::copy_from_sqlite(source, server.store, scratch->path());
  const double seconds = std::chrono::duration<double>(clock.mono_now() - started).count();
  const std::string target = server::describe_store(server);
  if (!copied) return fail(fmt::format("{} -> {}: {}; nothing was copied", source.string(), target, copied.error().message()));

  print_versions(target, copied->postgres_version_before, copied->postgres_version);
  fmt::print("copied {} (schema version {}) into {}:\n", source.string(), copied->sqlite_version, target);
  for (const auto& table : copied->tables) {
    fmt::print("  {:<24} {:>10} {}{}\n", table.name, table.rows, table.rows == 1 ? "row" : "rows",
               table.last_id ? fmt::format(", ids continue after {}", *table.last_id) : "");
  }
  for (const auto& table : copied->skipped) fmt::print("  {:<24} not copied: {}\n", table.name, table.why);
  fmt::print("foreign keys: {}\n", copied->foreign_keys_checked_at_end
                                        ? "dropped for the copy, added back and checked before the commit"
                                        : "checked row by row (this role does not own the tables)");
  const int64_t rows = copied->rows();
  fmt::print("{} rows in {:.2f} s ({:.0f} rows/s), row counts verified in one transaction\n", rows, seconds,
             seconds > 0 ? static_cast<double>(rows) / seconds : 0.0);
  return 0;
}

}  // namespace

int run_migrate(const MigrateCommand& command) {
  core::log::set_level(core::log::Level::kWarn);
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string());
  if (!command.from_sqlite.empty()) return copy_from_sqlite(cfg->server, command.from_sqlite);
  auto migrated = cfg->server.store.empty()
                      ? migrate_sqlite(fs::path(cfg->server.data_dir) / "tocsin.db")
                      : migrate_postgres(cfg->server);
  if (!migrated) {
    return fail(fmt::format("{}: {}", server::describe_store(cfg->server), migrated.error().message()));
  }
  return 0;
}

}  // namespace tocsin::cli
