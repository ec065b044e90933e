// `tocsin migrate --config FILE [--from-sqlite PATH]`: brings the configured store's schema to this
// binary's version as a step of its own (before a rolling upgrade of several replicas), or moves
// an embedded SQLite store into the PostgreSQL store that server.store names
// (docs/operations.md#moving-from-sqlite-to-postgresql).
#pragma once

#include <string>

namespace tocsin::cli {

struct MigrateCommand {
  std::string config;       // the tocsin.yaml whose store is migrated (or copied into)
  std::string from_sqlite;  // a SQLite store file (or the data_dir holding tocsin.db); "" = schema only
};

int run_migrate(const MigrateCommand& command);

}  // namespace tocsin::cli
