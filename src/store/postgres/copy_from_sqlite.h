// Moving an embedded install onto PostgreSQL (`tocsin migrate --from-sqlite`,
// docs/operations.md#moving-from-sqlite-to-postgresql): every row of a SQLite store file goes
// into an empty PostgreSQL store in one transaction, ids kept.
//
// The source file is never written: a private copy of it is made in `scratch_dir` and brought to
// this binary's schema (sqlite/snapshot.h), and the rows are read from that. The copy is generic:
// tables and their columns are read from both schemas and matched by name, parents before children
// (foreign keys), and each value is converted to its PostgreSQL column's type, so a table that a
// later migration adds on both sides is copied without a change here. Each identity sequence then
// continues after the highest id either side has used, and the row counts of both sides are
// compared before the commit. When the role owns the tables, their foreign keys are dropped for the
// copy and added back (so checked) before the commit, all in the same transaction.
// Thread-safety: a free function; it opens its own connections.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace tocsin::store::postgres {

struct CopiedTable {
  std::string name;
  int64_t rows = 0;  // copied, and counted again in PostgreSQL before the commit
  std::optional<int64_t> last_id;  // the id its identity sequence continues after, if it has one
};

struct SkippedTable {
  std::string name;
  std::string why;
};

struct CopyFromSqliteResult {
  int sqlite_version = 0;           // the source file's schema version (its copy was migrated from it)
  int postgres_version_before = 0;  // the target's, before its migrations ran
  int postgres_version = 0;         // and after
  std::vector<CopiedTable> tables;  // in the order copied
  std::vector<SkippedTable> skipped;  // skipped_tables(), then those only PostgreSQL has
  // The foreign keys were taken off for the copy and checked once when put back (the faster way);
  // false: this role does not own the tables, and PostgreSQL checked them row by row.
  bool foreign_keys_checked_at_end = false;
  int64_t rows() const;
};

// Tables that are not copied, and why: the schema-version bookkeeping of each side, and state
// that belongs to the SQLite store alone.
const std::vector<SkippedTable>& skipped_tables();

// Copies the SQLite store file `sqlite_file` into the PostgreSQL database `conninfo`, migrating
// the target's schema first. The source is checked (and copied into scratch_dir) before the target
// is touched; a target with rows is refused before its schema is migrated. Refuses, changing no row
// of the target:
//  - not_found: no file at `sqlite_file`;
//  - failed_precondition: the source is in use, is no tocsin store or has a schema newer than this
//    binary (sqlite/snapshot.h); the target's schema is newer; a table of the target has rows
//    (named); a table of the SQLite store is not in PostgreSQL, or a table both have has a column
//    on one side only (named). A table only PostgreSQL has is left empty (listed in `skipped`);
//  - invalid_argument: a value that does not fit its PostgreSQL column (table, column and row
//    named), e.g. text with a NUL byte or a number stored as text;
//  - unavailable: PostgreSQL cannot be reached, or another session holds a lock on a table.
core::Result<CopyFromSqliteResult> copy_from_sqlite(const std::filesystem::path& sqlite_file, const std::string& conninfo,
                                              const std::filesystem::path& scratch_dir);

}  // namespace tocsin::store::postgres
