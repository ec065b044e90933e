#include "store/postgres/postgres.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tocsin::store::postgres {
namespace {

// libpq's messages end in a newline and may span lines ("…failed: Connection refused\n\tIs the
// server running…"); one line reads better in a log field.
std::string trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n') {
      out += text[i];
      continue;
    }
    while (i + 1 < text.size() && (text[i + 1] == '\t' || text[i + 1] == ' ')) ++i;
    out += ' ';
  }
  return out;
}

}  // namespace

core::Error to_error(std::string_view sqlstate, std::string_view context, std::string_view message) {
  std::string text = context.empty() ? fmt::format("postgres: {}", message)
                                     : fmt::format("{}: postgres: {}", context, message);
  if (sqlstate.empty() || sqlstate == "40001" || sqlstate == "40P01" || sqlstate.starts_with("08") ||
      sqlstate.starts_with("53") || sqlstate == "55P03" || sqlstate == "57014" || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return core::Error::unavailable(std::move(text));
  }
  if (sqlstate == "23514" || sqlstate == "23502" || sqlstate.starts_with("22")) {
    return core::Error::invalid_argument(std::move(text));
  }
  if (sqlstate.starts_with("23")) return core::Error::failed_precondition(std::move(text));
  return core::Error::internal(std::move(text));
}

Status Statement::bind(int index, int64_t value) { return bind(index, std::string_view(std::to_string(value))); }

Status Statement::bind(int index, double value) {
  // PostgreSQL's spellings of the special values; fmt's shortest form reads back exactly.
  if (std::isnan(value)) return bind(index, std::string_view("NaN"));
  if (std::isinf(value)) return bind(index, std::string_view(value > 0 ? "Infinity" : "-Infinity"));
  return bind(index, std::string_view(fmt::format("{}", value)));
}

Status Statement::bind(int index, std::string_view value) {
  if (value.find('\0') != std::string_view::npos) {
    // Text parameters end at a NUL, and PostgreSQL text cannot hold one: refuse rather than cut.
    auto error = core::Error::invalid_argument("bind: postgres: text cannot contain a NUL byte");
    if (!owner_->first_failure_) owner_->first_failure_ = error;
    return std::unexpected(error);
  }
  if (index < 1) return std::unexpected(core::Error::internal(fmt::format("bind: bad parameter index {}", index)));
  if (params_.size() < static_cast<size_t>(index)) params_.resize(static_cast<size_t>(index));
  params_[static_cast<size_t>(index) - 1] = std::string(value);
  return core::ok();
}

Status Statement::bind(int index, std::nullopt_t) {
  if (index < 1) return std::unexpected(core::Error::internal(fmt::format("bind: bad parameter index {}", index)));
  if (params_.size() < static_cast<size_t>(index)) params_.resize(static_cast<size_t>(index));
  params_[static_cast<size_t>(index) - 1].reset();
  return core::ok();
}

Status Statement::execute() {
  std::vector<const char*> values;
  values.reserve(params_.size());
  for (const auto& p : params_) values.push_back(p ? p->c_str() : nullptr);
  result_ = PQexecPrepared(owner_->conn_, name_.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                           nullptr, /*resultFormat=text*/ 0);
  executed_ = true;
  const auto status = result_ ? PQresultStatus(result_) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return std::unexpected(owner_->fail(result_, ""));
  return core::ok();
}

Result<bool> Statement::step() {
  if (!executed_) TOCSIN_RETURN_IF_ERROR(execute());
  if (row_ + 1 >= PQntuples(result_)) return false;
  ++row_;
  return true;
}

Status Statement::run() {
  if (!executed_) return execute();
  return core::ok();
}

int64_t Statement::changes() const {
  const char* text = result_ ? PQcmdTuples(result_) : "";
  int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

int64_t Statement::column_int64(int column) const {
  const char* text = PQgetvalue(result_, row_, column);
  int64_t value = 0;
  std::from_chars(text, text + PQgetlength(result_, row_, column), value);
  return value;
}

double Statement::column_double(int column) const {
  // strtod reads PostgreSQL's NaN and Infinity spellings too.
  return std::strtod(PQgetvalue(result_, row_, column), nullptr);
}

std::string Statement::column_text(int column) const {
  return std::string(PQgetvalue(result_, row_, column), static_cast<size_t>(PQgetlength(result_, row_, column)));
}

std::optional<int64_t> Statement::column_optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return column_int64(column);
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& conninfo) {
  // Defaults first: a value in conninfo (expanded from dbname) comes later and wins. Without the
  // keepalives and tcp_user_timeout, a server host that vanished (a failover, a network cut) would
  // hold a statement, and the write lock with it, until the kernel gives up on TCP (~15 min).
  const char* keywords[] = {"connect_timeout", "keepalives",      "keepalives_idle", "keepalives_interval",
                            "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
  const char* values[] = {"5", "1", "10", "5", "3", "30000", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return std::unexpected(core::Error::internal("postgres: out of memory"));
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return std::unexpected(core::Error::unavailable(fmt::format("connect: postgres: {}", message)));
  }
  auto connection = std::unique_ptr<Connection>(new Connection(conn));
  // Fail fast on statements that wait for locks held by a stuck peer, instead of hanging a tick.
  TOCSIN_RETURN_IF_ERROR(connection->exec("SET lock_timeout = '10s'; SET client_min_messages = warning"));
  return connection;
}

Connection::~Connection() { PQfinish(conn_); }

Status Connection::exec(std::string_view sql) {
  PGresult* result = PQexec(conn_, std::string(sql).c_str());
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    auto error = fail(result, "");
    PQclear(result);
    return std::unexpected(std::move(error));
  }
  PQclear(result);
  return core::ok();
}

Status Connection::commit() {
  PGresult* result = PQexec(conn_, "COMMIT");
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK) {
    auto error = fail(result, "commit");
    PQclear(result);
    return std::unexpected(std::move(error));
  }
  const std::string_view tag = PQcmdStatus(result);
  const bool committed = tag == "COMMIT";
  PQclear(result);
  if (!committed) {
    auto error = core::Error::internal(fmt::format("commit: postgres: the transaction was rolled back ({})", tag));
    if (!first_failure_) first_failure_ = error;
    return std::unexpected(std::move(error));
  }
  return core::ok();
}

Result<std::unique_ptr<Statement>> Connection::prepare(std::string_view sql) {
  auto it = prepared_.find(std::string(sql));
  if (it == prepared_.end()) {
    std::string name = fmt::format("tocsin_{}", prepared_.size() + 1);
    PGresult* result = PQprepare(conn_, name.c_str(), std::string(sql).c_str(), 0, nullptr);
    if (result == nullptr || PQresultStatus(result) != PGRES_COMMAND_OK) {
      auto error = fail(result, "prepare");
      PQclear(result);
      return std::unexpected(std::move(error));
    }
    PQclear(result);
    it = prepared_.emplace(std::string(sql), std::move(name)).first;
  }
  return std::make_unique<Statement>(this, it->second);
}

Status Connection::copy_begin(std::string_view copy_sql) {
  PGresult* result = PQexec(conn_, std::string(copy_sql).c_str());
  const bool started = result != nullptr && PQresultStatus(result) == PGRES_COPY_IN;
  if (!started) {
    auto error = fail(result, "copy");
    PQclear(result);
    return std::unexpected(std::move(error));
  }
  PQclear(result);
  return core::ok();
}

Status Connection::copy_put(std::string_view data) {
  // Blocking connection: 1 = queued, -1 = failed; the server's error, if any, comes at copy_end.
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) {
    return std::unexpected(fail(nullptr, "copy"));
  }
  return core::ok();
}

Result<int64_t> Connection::copy_end() {
  if (PQputCopyEnd(conn_, nullptr) != 1) return std::unexpected(fail(nullptr, "copy"));
  std::optional<core::Error> error;
  int64_t rows = 0;
  // The COPY's result, then null.
  while (PGresult* result = PQgetResult(conn_)) {
    if (PQresultStatus(result) == PGRES_COMMAND_OK) {
      std::from_chars(PQcmdTuples(result), PQcmdTuples(result) + std::strlen(PQcmdTuples(result)), rows);
    } else if (!error) {
      error = fail(result, "copy");
    }
    PQclear(result);
  }
  if (error) return std::unexpected(std::move(*error));
  return rows;
}

void Connection::copy_abort(std::string_view reason) {
  if (PQputCopyEnd(conn_, std::string(reason).c_str()) != 1) return;
  while (PGresult* result = PQgetResult(conn_)) PQclear(result);  // the expected error
}

std::string Connection::describe() const {
  const char* host = PQhost(conn_);
  return fmt::format("postgres db {} on {}:{}", PQdb(conn_), host && *host ? host : "localhost", PQport(conn_));
}

bool Connection::found_broken() {
  // The first read may take the server's farewell message, the second then meets EOF.
  for (int read = 0; read < 2 && !broken() && !in_transaction(); ++read) {
    if (PQconsumeInput(conn_) == 0) break;
  }
  return broken();
}

Status Connection::reconnect() {
  PQreset(conn_);
  prepared_.clear();
  if (PQstatus(conn_) != CONNECTION_OK) {
    return std::unexpected(core::Error::unavailable(fmt::format("reconnect: postgres: {}", trimmed(PQerrorMessage(conn_)))));
  }
  return exec("SET lock_timeout = '10s'; SET client_min_messages = warning");
}

core::Error Connection::fail(const PGresult* result, std::string_view context) {
  const char* sqlstate = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? std::string(primary) : trimmed(PQerrorMessage(conn_));
  if (const char* detail = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL) : nullptr) {
    message += fmt::format(" ({})", detail);
  }
  // A lost connection has no SQLSTATE from the server (unavailable); libpq's own complaints about a
  // live connection are bugs here (internal).
  core::Error error = to_error(sqlstate ? sqlstate : (broken() ? "" : "XX000"), context, message);
  if (!first_failure_) first_failure_ = error;
  return error;
}

}  // namespace tocsin::store::postgres
