// A small RAII wrapper over the SQLite C API: a Database owns one connection (sqlite3*) and a cache
// of prepared statements keyed by their SQL text; a Statement owns one sqlite3_stmt*. SQLite result
// codes become core::Error values (see to_error).
//
// Ownership: statements handed out by Database::prepare belong to the Database and live until it
// closes; the StatementLease a caller holds resets the statement (and clears its bindings) when it
// goes out of scope, so the next user starts clean.
// Thread-safety: none. A Database and its statements must be used by one thread at a time (the
// connection is opened with SQLITE_OPEN_NOMUTEX; SqliteStore serialises access with its own mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/result.h"

namespace tocsin::store::sqlite {

using core::Result;
using core::Status;

// Maps a SQLite result code (extended codes included) to an Error whose message is `context` and
// SQLite's own message: BUSY/LOCKED -> unavailable (retryable); CHECK/NOT NULL constraints ->
// invalid_argument; PRIMARY KEY/UNIQUE/FOREIGN KEY constraints -> failed_precondition; all others
// -> internal.
core::Error to_error(int code, std::string_view context, std::string_view sqlite_message);

class Database;

// Bytes to bind as a BLOB (a plain string_view binds TEXT).
struct Blob {
  std::string_view bytes;
};

class Statement {
 public:
  Statement(Database* owner, sqlite3_stmt* stmt) : owner_(owner), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. A disengaged optional binds NULL.
  Status bind(int index, int64_t value);
  Status bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Status bind(int index, double value);
  Status bind(int index, std::string_view value);
  Status bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Status bind(int index, std::nullopt_t);
  Status bind(int index, Blob value);
  template <class T>
  Status bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, std::nullopt);
  }
  // Binds the arguments to parameters 1, 2, … in order.
  template <class... Args>
  Status bind_all(const Args&... args) {
    int index = 0;
    Status status;
    ((status = status ? bind(++index, args) : status), ...);
    return status;
  }

  // Advances; true when a row is available, false when the statement is done.
  Result<bool> step();
  // Runs a statement to completion, ignoring any rows.
  Status run();

  int column_count() const { return sqlite3_column_count(stmt_); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  // The value's storage class: SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  int column_type(int column) const { return sqlite3_column_type(stmt_, column); }
  int64_t column_int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  double column_double(int column) const { return sqlite3_column_double(stmt_, column); }
  std::string column_text(int column) const;
  // The bytes of a BLOB (or any) value, exactly as stored.
  std::string column_blob(int column) const;
  std::optional<int64_t> column_optional_int64(int column) const;

  void reset();

 private:
  friend class StatementLease;
  Database* owner_;  // not owned
  sqlite3_stmt* stmt_;
  bool leased_ = false;
};

// A borrowed statement; resets it when it goes out of scope.
class StatementLease {
 public:
  explicit StatementLease(Statement* statement);
  ~StatementLease();
  StatementLease(StatementLease&& other) noexcept : statement_(std::exchange(other.statement_, nullptr)) {}
  StatementLease& operator=(StatementLease&&) = delete;
  StatementLease(const StatementLease&) = delete;
  StatementLease& operator=(const StatementLease&) = delete;

  Statement* operator->() const { return statement_; }
  Statement& operator*() const { return *statement_; }

 private:
  Statement* statement_;
};

class Database {
 public:
  // Opens (creating when missing) the database file, with extended result codes on.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& file);
  // Opens an existing file for reading only: nothing is created or written, not even at close (a
  // read-only connection never checkpoints the WAL into the file).
  static Result<std::unique_ptr<Database>> open_read_only(const std::filesystem::path& file);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more SQL statements that take no parameters.
  Status exec(std::string_view sql);
  // Runs one statement that takes no parameters through the statement cache: for the ones every
  // transaction runs (BEGIN, COMMIT), which exec() would parse again each time.
  Status exec_cached(std::string_view sql);
  // A prepared statement from the cache (prepared on first use). A statement is not re-entrant:
  // the lease must end before the same SQL is prepared again (asserted).
  Result<StatementLease> prepare(std::string_view sql);
  // A statement outside the cache, for one-off SQL such as PRAGMAs and migrations.
  Result<std::unique_ptr<Statement>> prepare_uncached(std::string_view sql);

  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t changes() const { return sqlite3_changes64(db_); }
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  // SQLite ends a transaction on its own after some errors (I/O, out of memory), so ask it.
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

  // The Error for a failed call, with the connection's message. Every such error is also remembered
  // (the first one since clear_failure) so a transaction can tell that a statement failed even when
  // its caller ignored the error.
  core::Error fail(int code, std::string_view context);
  const std::optional<core::Error>& first_failure() const { return first_failure_; }
  // The SQLite (extended) result code of first_failure(); 0 when none.
  int first_failure_code() const { return first_failure_code_; }
  void clear_failure() {
    first_failure_.reset();
    first_failure_code_ = 0;
  }
  // Rows changed by this connection since it opened (sqlite3_total_changes64).
  int64_t total_changes() const;

 private:
  // Lets the cache be searched with a string_view, without building a string per lookup.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };

  explicit Database(sqlite3* db) : db_(db) {}
  Result<std::unique_ptr<Statement>> prepare_statement(std::string_view sql, bool persistent);

  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>, SqlHash, std::equal_to<>> cache_;
  std::optional<core::Error> first_failure_;
  int first_failure_code_ = 0;
};

// Whether `code` says the disk refused a write: full (SQLITE_FULL), read-only (SQLITE_READONLY),
// an I/O error (SQLITE_IOERR: also a write past the process's file size limit, EFBIG) or a file
// that cannot be opened or created (SQLITE_CANTOPEN). Then "SQLITE_FULL" etc., else empty.
std::string_view storage_failure_name(int code);

}  // namespace tocsin::store::sqlite
