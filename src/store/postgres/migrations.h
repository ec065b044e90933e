// Versioned schema migrations of the PostgreSQL store: the same rules as the SQLite store's
// (store/sqlite/migrations.h) with a list of its own, because the two schemas are written in
// different dialects and number their steps independently. Migration n (1-based) is the n-th
// script; the one-row table schema_version holds how many have been applied. Scripts are
// append-only: a released script never changes, a schema change is a new script at the end, so a
// newer binary upgrades an older database and an older binary refuses a newer one.
// Thread-safety: migrate() uses the Connection it is given (one thread at a time). Several
// processes may migrate the same database at once (replicas starting together): each step runs
// under a transaction-scoped advisory lock and re-reads the version under it.
#pragma once

#include <span>
#include <string_view>

#include "core/result.h"
#include "store/postgres/postgres.h"

namespace tocsin::store::postgres {

// The store's migrations, oldest first.
std::span<const std::string_view> schema_migrations();

// Applies the scripts the database has not seen yet, each in its own transaction together with the
// bump of schema_version, and returns the resulting version (== migrations.size()). Fails with
// failed_precondition, changing nothing, when the database's version is newer than
// migrations.size().
Result<int> migrate(Connection& db, std::span<const std::string_view> migrations);

// How many migrations the database has seen (0 for one without tocsin's schema); writes nothing.
Result<int> schema_version(Connection& db);

}  // namespace tocsin::store::postgres
