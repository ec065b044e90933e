#include "store/sqlite/backup.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "core/file_io.h"
#include "store/sqlite/sqlite.h"

namespace tocsin::store::sqlite {
namespace {

namespace fs = std::filesystem;

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Connection = std::unique_ptr<sqlite3, Closer>;

core::Result<Connection> open_connection(const fs::path& file, int flags, std::string_view what) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Connection db(raw);
  if (rc != SQLITE_OK) {
    return std::unexpected(to_error(rc, fmt::format("open {} {}", what, file.string()),
                                    raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  // The server may be committing; wait for its write lock rather than failing the backup.
  sqlite3_busy_timeout(raw, 10'000);
  return db;
}

core::Result<std::string> single_text(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, &sqlite3_finalize);
  if (rc != SQLITE_OK) return std::unexpected(to_error(rc, sql, sqlite3_errmsg(db)));
  rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return std::unexpected(to_error(rc, sql, sqlite3_errmsg(db)));
  const auto* text = sqlite3_column_text(raw, 0);
  return text != nullptr ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

core::Result<BackupResult> copy_and_check(const fs::path& source, const fs::path& temp) {
  // READWRITE without CREATE: a missing source is an error, never a new empty database; write
  // access is what a WAL reader needs for the -shm index the server shares.
  auto src = TOCSIN_TRY(open_connection(source, SQLITE_OPEN_READWRITE, "source"));
  auto dst = TOCSIN_TRY(open_connection(temp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "backup"));
  sqlite3_backup* backup = sqlite3_backup_init(dst.get(), "main", src.get(), "main");
  if (backup == nullptr) {
    return std::unexpected(to_error(sqlite3_errcode(dst.get()), "start backup", sqlite3_errmsg(dst.get())));
  }
  // All pages in one step: the copy is of one snapshot. In WAL mode the server's writers go on
  // meanwhile; only a checkpoint that would overwrite pages the snapshot still reads waits.
  const int step = sqlite3_backup_step(backup, -1);
  const int finish = sqlite3_backup_finish(backup);
  if (step != SQLITE_DONE) return std::unexpected(to_error(step, "copy pages", sqlite3_errstr(step)));
  if (finish != SQLITE_OK) return std::unexpected(to_error(finish, "finish backup", sqlite3_errmsg(dst.get())));

  // A backup that cannot be read back is worse than none: check it before it gets its name.
  auto integrity = TOCSIN_TRY(single_text(dst.get(), "PRAGMA integrity_check"));
  if (integrity != "ok") {
    return std::unexpected(core::Error::internal(fmt::format("the copy failed PRAGMA integrity_check: {}", integrity)));
  }
  BackupResult result;
  auto version = TOCSIN_TRY(single_text(dst.get(), "SELECT version FROM schema_version"));
  result.schema_version = std::atoi(version.c_str());
  // The copy keeps the source's WAL mode; fold everything into the main file so the backup is
  // one self-contained file.
  TOCSIN_RETURN_IF_ERROR(single_text(dst.get(), "PRAGMA journal_mode=DELETE"));
  dst.reset();
  std::error_code ec;
  result.bytes = static_cast<int64_t>(fs::file_size(temp, ec));
  return result;
}

}  // namespace

core::Result<BackupResult> backup_database(const fs::path& source, const fs::path& dest) {
  std::error_code ec;
  if (!fs::exists(source, ec)) {
    return std::unexpected(core::Error::not_found(fmt::format("no database at {}", source.string())));
  }
  if (fs::exists(dest, ec)) {
    return std::unexpected(
        core::Error::failed_precondition(fmt::format("{} already exists; a backup never overwrites", dest.string())));
  }
  const fs::path temp = fs::path(dest).concat(".partial");
  fs::remove(temp, ec);
  auto copied = copy_and_check(source, temp);
  if (copied) {
    if (auto synced = core::sync_file(temp); !synced) copied = std::unexpected(synced.error());
  }
  if (!copied) {
    fs::remove(temp, ec);
    return copied;
  }
  fs::rename(temp, dest, ec);
  if (ec) {
    fs::remove(temp, ec);
    return std::unexpected(core::Error::internal(fmt::format("rename {} to {}: {}", temp.string(), dest.string(), ec.message())));
  }
  // The rename is durable only once the directory is.
  TOCSIN_RETURN_IF_ERROR(core::sync_directory(dest.parent_path().empty() ? fs::path(".") : dest.parent_path()));
  return copied;
}

}  // namespace tocsin::store::sqlite
