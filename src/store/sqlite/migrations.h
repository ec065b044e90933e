// Versioned schema migrations of the SQLite store. Migration n (1-based) is the n-th script; the
// one-row table schema_version holds how many have been applied. Scripts are append-only: a
// released script never changes, a schema change is a new script at the end. So a newer binary
// upgrades an older file, and an older binary refuses a newer file instead of misreading it.
// Thread-safety: migrate() uses the Database it is given (one thread at a time); it is safe
// against other processes opening the same file, because each step re-reads the version under
// SQLite's write lock.
#pragma once

#include <span>
#include <string_view>

#include "core/result.h"
#include "store/sqlite/sqlite.h"

namespace tocsin::store::sqlite {

// The store's migrations, oldest first.
std::span<const std::string_view> schema_migrations();

// Applies the scripts the file has not seen yet, each in its own transaction together with the
// bump of schema_version, and returns the resulting version (== migrations.size()). Fails with
// failed_precondition, changing nothing, when the file's version is newer than migrations.size().
// Scripts run with foreign keys on inside a transaction, where PRAGMA foreign_keys is a no-op.
Result<int> migrate(Database& db, std::span<const std::string_view> migrations);

// How many migrations the file has seen (0 for a file without tocsin's schema); writes nothing.
Result<int> schema_version(Database& db);

}  // namespace tocsin::store::sqlite
