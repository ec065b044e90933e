// Online backup of the embedded store: a consistent copy of tocsin.db taken with SQLite's backup
// API while the server keeps running (WAL lets one reader copy a snapshot while the server
// writes). The copy is written beside its destination, checked, fsynced and then renamed, so a
// half-written backup never has the final name.
// Thread-safety: free function; it opens its own connections.
#pragma once

#include <filesystem>

#include "core/result.h"

namespace tocsin::store::sqlite {

struct BackupResult {
  int schema_version = 0;  // migrations applied in the copy
  int64_t bytes = 0;       // size of the copy
};

// Copies the database file `source` (which must exist: a missing one is not_found, nothing is
// created) to `dest` (which must not exist: failed_precondition). The copy passes
// PRAGMA integrity_check before it gets its name; on any error nothing is left at `dest`.
core::Result<BackupResult> backup_database(const std::filesystem::path& source, const std::filesystem::path& dest);

}  // namespace tocsin::store::sqlite
