#include "store/sqlite/sqlite.h"

#include <fmt/format.h>

#include <cassert>
#include <climits>

namespace tocsin::store::sqlite {

core::Error to_error(int code, std::string_view context, std::string_view sqlite_message) {
  std::string message = context.empty() ? fmt::format("sqlite: {}", sqlite_message)
                                        : fmt::format("{}: sqlite: {}", context, sqlite_message);
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return core::Error::unavailable(std::move(message));
    case SQLITE_CONSTRAINT:
      switch (code) {
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
        case SQLITE_CONSTRAINT_DATATYPE:
          return core::Error::invalid_argument(std::move(message));
        default:
          return core::Error::failed_precondition(std::move(message));
      }
    default:
      return core::Error::internal(std::move(message));
  }
}

Status Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) return std::unexpected(owner_->fail(rc, "bind"));
  return core::ok();
}

Status Statement::bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK) return std::unexpected(owner_->fail(rc, "bind"));
  return core::ok();
}

Status Statement::bind(int index, std::string_view value) {
  if (value.size() > INT_MAX) return std::unexpected(owner_->fail(SQLITE_TOOBIG, "bind"));
  // SQLITE_TRANSIENT: SQLite copies the bytes, so the caller's string may die before step().
  int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) return std::unexpected(owner_->fail(rc, "bind"));
  return core::ok();
}

Status Statement::bind(int index, Blob value) {
  if (value.bytes.size() > INT_MAX) return std::unexpected(owner_->fail(SQLITE_TOOBIG, "bind"));
  // A zero-length blob, not NULL: sqlite3_bind_blob binds NULL for a null pointer.
  static constexpr char kEmpty = 0;
  const char* data = value.bytes.empty() ? &kEmpty : value.bytes.data();
  int rc = sqlite3_bind_blob(stmt_, index, data, static_cast<int>(value.bytes.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) return std::unexpected(owner_->fail(rc, "bind"));
  return core::ok();
}

Status Statement::bind(int index, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) return std::unexpected(owner_->fail(rc, "bind"));
  return core::ok();
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return std::unexpected(owner_->fail(rc, ""));
}

Status Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return std::unexpected(std::move(row).error());
    if (!*row) return core::ok();
  }
}

std::string Statement::column_text(int column) const {
  // Read the pointer before the size: sqlite3_column_bytes after sqlite3_column_text is the
  // documented order that avoids a second conversion.
  const auto* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::string Statement::column_blob(int column) const {
  // The pointer before the size, as for text.
  const auto* bytes = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (bytes == nullptr) return {};
  return std::string(static_cast<const char*>(bytes), static_cast<size_t>(size));
}

std::optional<int64_t> Statement::column_optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_int64(column);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

StatementLease::StatementLease(Statement* statement) : statement_(statement) {
  assert(!statement_->leased_ && "a cached statement was prepared again while still in use");
  statement_->leased_ = true;
}

StatementLease::~StatementLease() {
  if (statement_ == nullptr) return;
  statement_->reset();
  statement_->leased_ = false;
}

namespace {

Result<std::unique_ptr<sqlite3, int (*)(sqlite3*)>> open_connection(const std::filesystem::path& file, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> handle(db, &sqlite3_close);
  if (rc != SQLITE_OK) {
    // Even a failed open may allocate a handle that carries the message; it must still be closed.
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return std::unexpected(to_error(rc, fmt::format("open {}", file.string()), message));
  }
  sqlite3_extended_result_codes(db, 1);
  return handle;
}

}  // namespace

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& file) {
  auto handle = TOCSIN_TRY(open_connection(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  return std::unique_ptr<Database>(new Database(handle.release()));
}

Result<std::unique_ptr<Database>> Database::open_read_only(const std::filesystem::path& file) {
  auto handle = TOCSIN_TRY(open_connection(file, SQLITE_OPEN_READONLY));
  return std::unique_ptr<Database>(new Database(handle.release()));
}

Database::~Database() {
  // Statements must be finalized before the connection closes, or sqlite3_close refuses.
  cache_.clear();
  sqlite3_close(db_);
}

Status Database::exec(std::string_view sql) {
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(fail(rc, ""));
  return core::ok();
}

Status Database::exec_cached(std::string_view sql) {
  auto statement = TOCSIN_TRY(prepare(sql));
  return statement->run();
}

Result<StatementLease> Database::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto statement = prepare_statement(sql, /*persistent=*/true);
    if (!statement) return std::unexpected(std::move(statement).error());
    it = cache_.emplace(std::string(sql), std::move(*statement)).first;
  }
  return StatementLease(it->second.get());
}

Result<std::unique_ptr<Statement>> Database::prepare_uncached(std::string_view sql) {
  return prepare_statement(sql, /*persistent=*/false);
}

Result<std::unique_ptr<Statement>> Database::prepare_statement(std::string_view sql, bool persistent) {
  if (sql.size() > INT_MAX) return std::unexpected(fail(SQLITE_TOOBIG, "prepare"));
  sqlite3_stmt* stmt = nullptr;
  // SQLITE_PREPARE_PERSISTENT tells SQLite the statement will be reused for a long time, so it
  // allocates it outside its short-lived lookaside memory.
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return std::unexpected(fail(rc, "prepare"));
  }
  return std::make_unique<Statement>(this, stmt);
}

core::Error Database::fail(int code, std::string_view context) {
  // The connection's message describes the last call; for a code this wrapper made up, use the
  // generic text of the code instead.
  const bool from_connection = sqlite3_extended_errcode(db_) == code;
  core::Error error = to_error(code, context, from_connection ? sqlite3_errmsg(db_) : sqlite3_errstr(code));
  if (!first_failure_) {
    first_failure_ = error;
    first_failure_code_ = code;
  }
  return error;
}

int64_t Database::total_changes() const { return sqlite3_total_changes64(db_); }

std::string_view storage_failure_name(int code) {
  switch (code & 0xff) {
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    default: return "";
  }
}

}  // namespace tocsin::store::sqlite
