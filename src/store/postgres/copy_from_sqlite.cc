#include "store/postgres/copy_from_sqlite.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "store/postgres/migrations.h"
#include "store/postgres/postgres.h"
#include "store/sqlite/snapshot.h"
#include "store/sqlite/sqlite.h"

namespace tocsin::store::postgres {
namespace {

using core::Error;

// How a PostgreSQL column takes a SQLite value.
enum class Kind { kInteger, kBoolean, kFloat, kText, kBytea };

struct TargetColumn {
  std::string name;
  std::string type;  // information_schema's data_type, for messages
  Kind kind = Kind::kText;
  std::string sequence;  // of an identity (or serial) column; "" for none
};

struct TargetTable {
  std::string name;
  std::vector<TargetColumn> columns;  // in the table's order
  std::set<std::string> parents;      // tables its foreign keys reference
};

using SourceSchema = std::map<std::string, std::set<std::string>>;  // table -> column names
using TargetSchema = std::map<std::string, TargetTable>;

// Sends rows to the server in chunks of about this many bytes.
constexpr size_t kCopyChunkBytes = 1 << 20;

bool is_skipped(std::string_view table) {
  // sqlite_sequence and the like: SQLite's own. sqlite_sequence's high-water marks are used below.
  if (table.starts_with("sqlite_")) return true;
  const auto& skipped = skipped_tables();
  return std::any_of(skipped.begin(), skipped.end(), [&](const SkippedTable& s) { return s.name == table; });
}

std::string quote_identifier(std::string_view identifier) {
  std::string out = "\"";
  for (char c : identifier) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string column_list(const TargetTable& table) {
  std::string out;
  for (const auto& column : table.columns) out += (out.empty() ? "" : ", ") + quote_identifier(column.name);
  return out;
}

Result<Kind> kind_of(const std::string& table, const std::string& column, const std::string& type) {
  if (type == "bigint" || type == "integer" || type == "smallint") return Kind::kInteger;
  if (type == "boolean") return Kind::kBoolean;
  if (type == "double precision" || type == "real" || type == "numeric") return Kind::kFloat;
  if (type == "text" || type == "character varying" || type == "character" || type == "json" || type == "jsonb") {
    return Kind::kText;
  }
  if (type == "bytea") return Kind::kBytea;
  return std::unexpected(Error::failed_precondition(
      fmt::format("column {}.{} has PostgreSQL type {}, which tocsin migrate cannot fill from SQLite", table, column, type)));
}

Result<TargetSchema> read_target_schema(Connection& db) {
  TargetSchema schema;
  auto columns = TOCSIN_TRY(db.prepare(
      "SELECT c.table_name, c.column_name, c.data_type, "
      "       COALESCE(pg_get_serial_sequence(quote_ident(c.table_name), c.column_name), '') "
      "FROM information_schema.columns c JOIN information_schema.tables t "
      "  ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
      "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
      "ORDER BY c.table_name, c.ordinal_position"));
  while (TOCSIN_TRY(columns->step())) {
    const std::string table = columns->column_text(0);
    if (is_skipped(table)) continue;
    // The type is checked once the table is known to be copied (match_schemas): a table that is
    // only looked at for rows may have any.
    TargetColumn column{columns->column_text(1), columns->column_text(2), Kind::kText, columns->column_text(3)};
    auto& entry = schema[table];
    entry.name = table;
    entry.columns.push_back(std::move(column));
  }
  auto references = TOCSIN_TRY(db.prepare(
      "SELECT child.relname, parent.relname FROM pg_constraint k "
      "JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid "
      "JOIN pg_namespace n ON n.oid = child.relnamespace "
      "WHERE k.contype = 'f' AND n.nspname = current_schema()"));
  while (TOCSIN_TRY(references->step())) {
    auto child = schema.find(references->column_text(0));
    const std::string parent = references->column_text(1);
    if (child != schema.end() && parent != child->first) child->second.parents.insert(parent);
  }
  return schema;
}

Result<SourceSchema> read_source_schema(sqlite::Database& db) {
  SourceSchema schema;
  auto tables = TOCSIN_TRY(db.prepare_uncached("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"));
  while (TOCSIN_TRY(tables->step())) {
    const std::string table = tables->column_text(0);
    if (is_skipped(table)) continue;
    auto columns = TOCSIN_TRY(db.prepare_uncached("SELECT name FROM pragma_table_info(?1)"));
    TOCSIN_RETURN_IF_ERROR(columns->bind(1, table));
    auto& names = schema[table];
    while (TOCSIN_TRY(columns->step())) names.insert(columns->column_text(0));
  }
  return schema;
}

// Every table and column of the SQLite store must be in PostgreSQL, and every column of a table
// both have must be on both sides: a difference means the two schemas are not of the same tocsin,
// and a row copied across could lose a value. A table only PostgreSQL has (state of several
// replicas, which one SQLite process never needed) has nothing to receive: it is moved from
// `target` to `pg_only` and left empty.
Status match_schemas(const SourceSchema& source, TargetSchema& target, std::vector<std::string>& pg_only,
                     int sqlite_version, int postgres_version) {
  const std::string versions =
      fmt::format("(SQLite schema version {}, PostgreSQL schema version {})", sqlite_version, postgres_version);
  for (const auto& [table, columns] : source) {
    auto other = target.find(table);
    if (other == target.end()) {
      return std::unexpected(Error::failed_precondition(
          fmt::format("table {} is in the SQLite store but not in the PostgreSQL one {}", table, versions)));
    }
    for (const auto& column : columns) {
      const auto& target_columns = other->second.columns;
      if (std::none_of(target_columns.begin(), target_columns.end(),
                       [&](const TargetColumn& c) { return c.name == column; })) {
        return std::unexpected(Error::failed_precondition(
            fmt::format("column {}.{} is in the SQLite store but not in the PostgreSQL one {}", table, column, versions)));
      }
    }
  }
  for (auto it = target.begin(); it != target.end();) {
    auto other = source.find(it->first);
    if (other == source.end()) {
      pg_only.push_back(it->first);
      it = target.erase(it);
      continue;
    }
    for (auto& column : it->second.columns) {
      if (!other->second.contains(column.name)) {
        return std::unexpected(Error::failed_precondition(fmt::format(
            "column {}.{} is in the PostgreSQL store but not in the SQLite one {}", it->first, column.name, versions)));
      }
      column.kind = TOCSIN_TRY(kind_of(it->first, column.name, column.type));
    }
    ++it;
  }
  return core::ok();
}

// Parents before children, so every foreign key holds as rows arrive; ties by name.
Result<std::vector<const TargetTable*>> copy_order(const TargetSchema& schema) {
  std::vector<const TargetTable*> order;
  std::set<std::string> placed;
  while (order.size() < schema.size()) {
    const size_t before = order.size();
    for (const auto& [name, table] : schema) {
      if (placed.contains(name)) continue;
      const bool ready = std::all_of(table.parents.begin(), table.parents.end(), [&](const std::string& parent) {
        return placed.contains(parent) || !schema.contains(parent);
      });
      if (!ready) continue;
      order.push_back(&table);
      placed.insert(name);
    }
    if (order.size() == before) {
      std::string left;
      for (const auto& [name, table] : schema) {
        if (!placed.contains(name)) left += (left.empty() ? "" : ", ") + name;
      }
      return std::unexpected(Error::failed_precondition(
          fmt::format("the foreign keys of tables {} form a cycle; tocsin migrate cannot order them", left)));
    }
  }
  return order;
}

// The first table of `tables` that has a row: the copy goes only into an empty store.
Status check_empty(Connection& db, const std::vector<const TargetTable*>& tables) {
  for (const auto* table : tables) {
    auto any = TOCSIN_TRY(db.prepare(fmt::format("SELECT EXISTS (SELECT 1 FROM {})", quote_identifier(table->name))));
    if (TOCSIN_TRY(any->step()) && any->column_text(0) == "t") {
      return std::unexpected(Error::failed_precondition(fmt::format(
          "the PostgreSQL store ({}) is not empty: table {} has rows; tocsin migrate --from-sqlite copies only into "
          "an empty store (a new database)",
          db.describe(), table->name)));
    }
  }
  return core::ok();
}

std::string preview(std::string_view text) {
  constexpr size_t kMax = 40;
  return text.size() <= kMax ? std::string(text) : fmt::format("{}…", text.substr(0, kMax));
}

// COPY's text format: backslash, newline, carriage return and tab are escaped; a NUL cannot be sent.
Status append_text(std::string& out, std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    return std::unexpected(Error::invalid_argument("text with a NUL byte, which PostgreSQL text cannot hold"));
  }
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  return core::ok();
}

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "Infinity" : "-Infinity";
  } else {
    out += fmt::format("{}", value);  // the shortest form that reads back exactly
  }
}

std::string_view storage_class(int type) {
  switch (type) {
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    case SQLITE_BLOB: return "BLOB";
    default: return "NULL";
  }
}

// One value of the current row, converted for `column`. The matrix (docs/operations.md):
// integer columns take INTEGER; boolean 0/1; double precision INTEGER and REAL; text TEXT, and
// INTEGER or REAL as SQLite prints them; bytea BLOB and TEXT. NULL is NULL everywhere.
Status append_value(std::string& out, const sqlite::Statement& row, int index, const TargetColumn& column) {
  const int type = row.column_type(index);
  if (type == SQLITE_NULL) {
    out += "\\N";
    return core::ok();
  }
  auto refuse = [&]() -> Status {
    return std::unexpected(Error::invalid_argument(fmt::format("a {} value ({}) where PostgreSQL's {} wants {}",
                                                               storage_class(type), preview(row.column_text(index)),
                                                               column.type,
                                                               column.kind == Kind::kBoolean ? "0 or 1" : "another type")));
  };
  switch (column.kind) {
    case Kind::kInteger:
      if (type != SQLITE_INTEGER) return refuse();
      out += fmt::format("{}", row.column_int64(index));
      return core::ok();
    case Kind::kBoolean:
      if (type != SQLITE_INTEGER || (row.column_int64(index) != 0 && row.column_int64(index) != 1)) return refuse();
      out += row.column_int64(index) != 0 ? "t" : "f";
      return core::ok();
    case Kind::kFloat:
      if (type == SQLITE_INTEGER) {
        out += fmt::format("{}", row.column_int64(index));
      } else if (type == SQLITE_FLOAT) {
        append_double(out, row.column_double(index));
      } else {
        return refuse();
      }
      return core::ok();
    case Kind::kText:
      if (type == SQLITE_BLOB) return refuse();
      return append_text(out, row.column_text(index));
    case Kind::kBytea: {
      if (type != SQLITE_BLOB && type != SQLITE_TEXT) return refuse();
      out += "\\\\x";  // "\x" and hex digits, its backslash escaped for COPY
      for (unsigned char byte : row.column_text(index)) out += fmt::format("{:02x}", byte);
      return core::ok();
    }
  }
  return refuse();
}

// Streams every row of `table` from SQLite into one COPY; returns how many rows were read.
Result<int64_t> copy_table(sqlite::Database& source, Connection& target, const TargetTable& table) {
  auto rows = TOCSIN_TRY(source.prepare_uncached(fmt::format("SELECT {} FROM {}", column_list(table), quote_identifier(table.name))));
  TOCSIN_RETURN_IF_ERROR(
      target.copy_begin(fmt::format("COPY {} ({}) FROM STDIN", quote_identifier(table.name), column_list(table))));
  auto abort = [&](const Error& error) -> Result<int64_t> {
    target.copy_abort(error.message());
    return std::unexpected(error);
  };
  std::string buffer;
  int64_t count = 0;
  while (true) {
    auto has_row = rows->step();
    if (!has_row) return abort(has_row.error());
    if (!*has_row) break;
    ++count;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (i > 0) buffer += '\t';
      const auto& column = table.columns[i];
      if (auto appended = append_value(buffer, *rows, static_cast<int>(i), column); !appended) {
        return abort(Error(appended.error().code(),
                           fmt::format("{}.{}, row {} of the SQLite table: {}", table.name, column.name, count,
                                       appended.error().message())));
      }
    }
    buffer += '\n';
    if (buffer.size() >= kCopyChunkBytes) {
      if (auto sent = target.copy_put(buffer); !sent) return abort(sent.error());
      buffer.clear();
    }
  }
  if (!buffer.empty()) {
    if (auto sent = target.copy_put(buffer); !sent) return abort(sent.error());
  }
  auto copied = target.copy_end();
  if (!copied) {
    return std::unexpected(Error(copied.error().code(), fmt::format("table {}: {}", table.name, copied.error().message()))
                               .retryable(copied.error().retryable()));
  }
  if (*copied != count) {
    return std::unexpected(Error::internal(
        fmt::format("table {}: {} rows read from SQLite, but PostgreSQL's COPY took {}", table.name, count, *copied)));
  }
  return count;
}

// SQLite's AUTOINCREMENT high-water marks (sqlite_sequence): ids used once and since deleted
// (expired sessions, pruned firings) must not come back either.
Result<std::map<std::string, int64_t>> sqlite_high_water(sqlite::Database& db) {
  std::map<std::string, int64_t> marks;
  auto exists = TOCSIN_TRY(
      db.prepare_uncached("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'"));
  if (!TOCSIN_TRY(exists->step())) return marks;
  auto rows = TOCSIN_TRY(db.prepare_uncached("SELECT name, seq FROM sqlite_sequence"));
  while (TOCSIN_TRY(rows->step())) marks[rows->column_text(0)] = rows->column_int64(1);
  return marks;
}

// Moves the identity sequence of `column` past the highest id used; returns that id (none when
// nothing was ever used).
Result<std::optional<int64_t>> continue_sequence(Connection& db, const TargetTable& table, const TargetColumn& column,
                                                 int64_t sqlite_mark) {
  auto max = TOCSIN_TRY(
      db.prepare(fmt::format("SELECT COALESCE(max({}), 0) FROM {}", quote_identifier(column.name), quote_identifier(table.name))));
  TOCSIN_TRY(max->step());
  const int64_t last = std::max(max->column_int64(0), sqlite_mark);
  if (last <= 0) return std::optional<int64_t>();
  auto set = TOCSIN_TRY(db.prepare("SELECT setval($1::regclass, $2)"));
  TOCSIN_RETURN_IF_ERROR(set->bind_all(column.sequence, last));
  TOCSIN_RETURN_IF_ERROR(set->run());
  return std::optional<int64_t>(last);
}

Result<int64_t> count_rows(Connection& db, const TargetTable& table) {
  auto count = TOCSIN_TRY(db.prepare(fmt::format("SELECT count(*) FROM {}", quote_identifier(table.name))));
  TOCSIN_TRY(count->step());
  return count->column_int64(0);
}

// The foreign keys of the tables copied, taken off for the copy and put back before the commit:
// PostgreSQL checks a key row by row as COPY inserts, but all rows at once (one join) when it is
// added back, which made a copy about a third faster (docs/benchmarks.md). Only the tables' owner
// may do it; for any other role the keys stay and are checked row by row (parents are copied
// first either way).
struct ForeignKey {
  std::string table;
  std::string name;
  std::string definition;  // pg_get_constraintdef: "FOREIGN KEY (x) REFERENCES t(id)"
};

Result<std::vector<ForeignKey>> drop_foreign_keys(Connection& db, const std::vector<const TargetTable*>& tables) {
  std::vector<ForeignKey> keys;
  auto rows = TOCSIN_TRY(db.prepare(
      "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
      "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE k.contype = 'f' AND n.nspname = current_schema() ORDER BY c.relname, k.conname"));
  while (TOCSIN_TRY(rows->step())) {
    const std::string table = rows->column_text(0);
    if (std::any_of(tables.begin(), tables.end(), [&](const TargetTable* t) { return t->name == table; })) {
      keys.push_back({table, rows->column_text(1), rows->column_text(2)});
    }
  }
  TOCSIN_RETURN_IF_ERROR(db.exec("SAVEPOINT drop_foreign_keys"));
  for (const auto& key : keys) {
    auto dropped = db.exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", quote_identifier(key.table),
                                       quote_identifier(key.name)));
    if (!dropped) {
      db.clear_failure();
      TOCSIN_RETURN_IF_ERROR(db.exec("ROLLBACK TO SAVEPOINT drop_foreign_keys"));
      return std::vector<ForeignKey>();
    }
  }
  return keys;
}

Status restore_foreign_keys(Connection& db, const std::vector<ForeignKey>& keys) {
  for (const auto& key : keys) {
    auto added = db.exec(fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", quote_identifier(key.table),
                                     quote_identifier(key.name), key.definition));
    if (!added) {
      return std::unexpected(Error(added.error().code(),
                                   fmt::format("table {}: {}", key.table, added.error().message())));
    }
  }
  return core::ok();
}

// The body of the one transaction: lock, check empty, copy, continue the sequences, verify.
Result<std::vector<CopiedTable>> copy_all(sqlite::Database& source, Connection& target,
                                          const std::vector<const TargetTable*>& order,
                                          const std::map<std::string, int64_t>& high_water,
                                          bool& keys_checked_at_end) {
  // Nobody else reads or writes these tables until the commit (a tocsin started against the
  // database meanwhile waits, then finds the rows), and the emptiness check stays true. ACCESS
  // EXCLUSIVE, all at once: dropping a foreign key needs it, and taking it later could deadlock.
  std::string names;
  for (const auto* table : order) names += (names.empty() ? "" : ", ") + quote_identifier(table->name);
  if (!names.empty()) {
    TOCSIN_RETURN_IF_ERROR(target.exec(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", names)));
  }
  TOCSIN_RETURN_IF_ERROR(check_empty(target, order));

  const auto foreign_keys = TOCSIN_TRY(drop_foreign_keys(target, order));
  keys_checked_at_end = !foreign_keys.empty();
  std::vector<CopiedTable> copied;
  for (const auto* table : order) {
    CopiedTable entry{table->name, TOCSIN_TRY(copy_table(source, target, *table)), std::nullopt};
    copied.push_back(std::move(entry));
  }
  TOCSIN_RETURN_IF_ERROR(restore_foreign_keys(target, foreign_keys));
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& table = *order[i];
    for (const auto& column : table.columns) {
      if (column.sequence.empty()) continue;
      auto mark = high_water.find(table.name);
      copied[i].last_id =
          TOCSIN_TRY(continue_sequence(target, table, column, mark == high_water.end() ? 0 : mark->second));
    }
    const int64_t counted = TOCSIN_TRY(count_rows(target, table));
    if (counted != copied[i].rows) {
      return std::unexpected(Error::internal(fmt::format("table {}: {} rows copied from SQLite, but PostgreSQL counts {}",
                                                         table.name, copied[i].rows, counted)));
    }
  }
  return copied;
}

}  // namespace

int64_t CopyFromSqliteResult::rows() const {
  int64_t total = 0;
  for (const auto& table : tables) total += table.rows;
  return total;
}

const std::vector<SkippedTable>& skipped_tables() {
  static const std::vector<SkippedTable> kSkipped = {
      {"schema_version", "each store counts its own migrations"},
      {"alert_time_log",
       "SQLite only: which epoch of the alert time log file the database holds; the log is applied to the copy "
       "before it is read"},
      {"leases",
       "per-process state: the single SQLite process holds the engine lease for a day, which would keep every "
       "replica on PostgreSQL from paging until it expired"},
      {"replicas", "per-process state: the membership of the replicas running now"},
      {"detector_states",
       "per-replica state: each replica's checkpoint of the learned detector state of the series it owns, "
       "meaningless to the replicas on PostgreSQL, which own the series among themselves"},
  };
  return kSkipped;
}

Result<CopyFromSqliteResult> copy_from_sqlite(const std::filesystem::path& sqlite_file, const std::string& conninfo,
                                              const std::filesystem::path& scratch_dir) {
  CopyFromSqliteResult result;
  result.skipped = skipped_tables();
  // The source first: what is wrong with it is found before the target is touched at all.
  const auto copy_file = scratch_dir / "tocsin.db";
  const auto snapshot = TOCSIN_TRY(sqlite::snapshot_store(sqlite_file, copy_file));
  result.sqlite_version = snapshot.source_version;
  auto source = TOCSIN_TRY(sqlite::Database::open_read_only(copy_file));

  auto target = TOCSIN_TRY(Connection::open(conninfo));
  result.postgres_version_before = TOCSIN_TRY(schema_version(*target));
  // A target with rows is refused before its schema is migrated (the check is made again under
  // the locks, where it counts).
  {
    const auto existing = TOCSIN_TRY(read_target_schema(*target));
    TOCSIN_RETURN_IF_ERROR(check_empty(*target, TOCSIN_TRY(copy_order(existing))));
  }
  result.postgres_version = TOCSIN_TRY(migrate(*target, schema_migrations()));
  auto target_schema = TOCSIN_TRY(read_target_schema(*target));
  const auto source_schema = TOCSIN_TRY(read_source_schema(*source));
  std::vector<std::string> pg_only;
  TOCSIN_RETURN_IF_ERROR(
      match_schemas(source_schema, target_schema, pg_only, snapshot.version, result.postgres_version));
  for (auto& table : pg_only) {
    result.skipped.push_back({std::move(table), "only in the PostgreSQL schema: nothing in SQLite to copy into it"});
  }
  const auto order = TOCSIN_TRY(copy_order(target_schema));
  const auto high_water = TOCSIN_TRY(sqlite_high_water(*source));

  TOCSIN_RETURN_IF_ERROR(target->exec("BEGIN"));
  auto copied = copy_all(*source, *target, order, high_water, result.foreign_keys_checked_at_end);
  if (!copied) {
    (void)target->exec("ROLLBACK");
    return std::unexpected(std::move(copied).error());
  }
  TOCSIN_RETURN_IF_ERROR(target->commit());
  result.tables = std::move(*copied);
  return result;
}

}  // namespace tocsin::store::postgres
