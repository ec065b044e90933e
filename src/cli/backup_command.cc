#include "cli/backup_command.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "config/loader.h"
#include "core/clock.h"
#include "core/file_io.h"
#include "core/log.h"
#include "core/time.h"
#include "store/sqlite/backup.h"

namespace tocsin::cli {
namespace {

namespace fs = std::filesystem;

int fail(const std::string& what) {
  fmt::print(stderr, "tocsin backup: {}\n", what);
  return 1;
}

// The data_dir files besides the database that a restore wants (names as src/server/server.cc
// and notifiers.cc write them): the key of acknowledge links already sent, and the learned
// detector state with its window. Each is replaced by rename, so a plain copy is one version of
// it. The sample log is left out: it only holds the last minute of samples since those snapshots.
constexpr const char* kSideFiles[] = {"ack.key", "rules.state", "series.snapshot"};

}  // namespace

int run_backup(const BackupCommand& command) {
  core::log::set_level(core::log::Level::kWarn);
  auto cfg = config::load_config(command.config);
  if (!cfg) return fail(cfg.error().to_string());
  const fs::path data_dir = cfg->server.data_dir;
  const fs::path out = command.out;
  std::error_code ec;
  if (!cfg->server.store.empty()) {
    // The store is not in data_dir: PostgreSQL has its own online backups.
    return fail("server.store is a PostgreSQL database: back it up with pg_dump or pg_basebackup "
                "(docs/high-availability.md); `tocsin backup` copies the embedded SQLite store only");
  }
  if (!fs::exists(data_dir / "tocsin.db", ec)) {
    return fail(fmt::format("no store at {} (nothing has run with this config yet)", (data_dir / "tocsin.db").string()));
  }
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return fail(fmt::format("--out {} exists and is not an empty directory; a backup never overwrites", out.string()));
  }
  fs::create_directories(out, ec);
  if (ec) return fail(fmt::format("cannot create --out {}: {}", out.string(), ec.message()));

  auto db = store::sqlite::backup_database(data_dir / "tocsin.db", out / "tocsin.db");
  if (!db) return fail(db.error().message());

  nlohmann::json files = nlohmann::json::array();
  files.push_back({{"name", "tocsin.db"}, {"bytes", db->bytes}});
  for (const char* name : kSideFiles) {
    const fs::path from = data_dir / name;
    if (!fs::exists(from, ec)) continue;
    fs::copy_file(from, out / name, ec);
    if (ec) return fail(fmt::format("copy {}: {}", from.string(), ec.message()));
    if (auto synced = core::sync_file(out / name); !synced) return fail(synced.error().message());
    files.push_back({{"name", name}, {"bytes", fs::file_size(out / name, ec)}});
  }
  core::SystemClock clock;
  const nlohmann::json manifest = {{"created_at", core::format_rfc3339(clock.now())},
                                   {"data_dir", fs::absolute(data_dir).lexically_normal().string()},
                                   {"schema_version", db->schema_version},
                                   {"tocsin_version", TOCSIN_VERSION},
                                   {"files", files}};
  // Written last and atomically: its directory fsync also makes the copies' names durable.
  if (auto written = core::write_file_atomically(out / "backup.json", manifest.dump(2) + "\n"); !written) {
    return fail(written.error().message());
  }
  fmt::print("backed up {} to {}: schema version {}, {} files\n", data_dir.string(), out.string(), db->schema_version,
             files.size());
  for (const auto& f : files) fmt::print("  {:<16} {:>10} bytes\n", f["name"].get<std::string>(), f["bytes"].get<int64_t>());
  return 0;
}

}  // namespace tocsin::cli
