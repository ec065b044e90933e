#include "store/sqlite/snapshot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "store/sqlite/alert_time_log.h"
#include "store/sqlite/migrations.h"
#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin::store::sqlite {
namespace {

namespace fs = std::filesystem;

// A shared lock on the source's alert time log while it is copied. A running tocsin holds an
// exclusive one (alert_time_log.h), so failing to get it means the store is in use: a copy taken
// now would miss what that server writes next.
class LogLock {
 public:
  ~LogLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  core::Status lock(const fs::path& log, const fs::path& db) {
    fd_ = ::open(log.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT) return core::ok();  // no log: nothing has re-sent an alert since it was applied
      return std::unexpected(core::Error::unavailable(fmt::format("open {}: {}", log.string(), std::strerror(errno))));
    }
    if (::flock(fd_, LOCK_SH | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return std::unexpected(core::Error::failed_precondition(fmt::format(
            "{} is in use by a running tocsin (it holds {} locked); stop it first, so that nothing is written "
            "after the copy",
            db.string(), log.string())));
      }
      return std::unexpected(core::Error::unavailable(fmt::format("lock {}: {}", log.string(), std::strerror(errno))));
    }
    return core::ok();
  }
  bool exists() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace

core::Result<Snapshot> snapshot_store(const fs::path& source, const fs::path& dest) {
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) {
    return std::unexpected(core::Error::not_found(fmt::format("no SQLite store at {}", source.string())));
  }
  if (fs::exists(dest, ec)) {
    return std::unexpected(core::Error::failed_precondition(fmt::format("{} exists already", dest.string())));
  }
  fs::path source_log = source;
  source_log += kAlertTimeLogSuffix;
  LogLock log_lock;
  TOCSIN_RETURN_IF_ERROR(log_lock.lock(source_log, source));

  Snapshot snapshot;
  {
    auto db = TOCSIN_TRY(Database::open_read_only(source));
    auto version = schema_version(*db);
    if (!version) {
      return std::unexpected(core::Error::failed_precondition(
          fmt::format("{} is not a tocsin SQLite store: {}", source.string(), version.error().message())));
    }
    const int known = static_cast<int>(schema_migrations().size());
    if (*version == 0) {
      return std::unexpected(core::Error::failed_precondition(
          fmt::format("{} is not a tocsin SQLite store (it has no schema_version table)", source.string())));
    }
    if (*version > known) {
      return std::unexpected(core::Error::failed_precondition(fmt::format(
          "{} has schema version {}, newer than this tocsin knows ({}): run the migration with the tocsin that "
          "wrote it, or a newer one",
          source.string(), *version, known)));
    }
    snapshot.source_version = *version;
    // One read transaction: the copy is one consistent state, committed WAL frames included.
    auto vacuum = TOCSIN_TRY(db->prepare_uncached("VACUUM INTO ?1"));
    TOCSIN_RETURN_IF_ERROR(vacuum->bind(1, dest.string()));
    if (auto copied = vacuum->run(); !copied) {
      return std::unexpected(core::Error(copied.error().code(), fmt::format("copy {} to {}: {}", source.string(),
                                                                            dest.string(), copied.error().message())));
    }
  }
  if (log_lock.exists()) {
    fs::path dest_log = dest;
    dest_log += kAlertTimeLogSuffix;
    fs::copy_file(source_log, dest_log, ec);
    if (ec) {
      return std::unexpected(core::Error::unavailable(
          fmt::format("copy {} to {}: {}", source_log.string(), dest_log.string(), ec.message())));
    }
  }
  // Opening the copy as a store migrates it and applies its alert time log; closing it folds the
  // log into the file, so the copy then reads complete on its own.
  auto store = open_sqlite_store(dest);
  if (!store) {
    return std::unexpected(core::Error(store.error().code(),
                                       fmt::format("open the copy of {}: {}", source.string(), store.error().message())));
  }
  snapshot.version = (*store)->schema_version();
  return snapshot;
}

}  // namespace tocsin::store::sqlite
