// A small RAII wrapper over libpq: a Connection owns one PGconn and a cache of server-side prepared
// statements keyed by their SQL text; a Statement binds parameters (all sent as text) and steps
// through the rows of one execution. PostgreSQL errors become core::Error values (see to_error).
//
// Statements are written with $1, $2, … placeholders; a parameter may appear several times.
// Values are sent and read back in PostgreSQL's text format, so an int64 is its decimal digits and
// a double is printed with enough digits to read back exactly.
// Thread-safety: none. A Connection and its statements must be used by one thread at a time
// (PostgresStore checks each connection of its pool out to one transaction at a time).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace tocsin::store::postgres {

using core::Result;
using core::Status;

// Maps a SQLSTATE to an Error whose message is `context` and the server's message, like the SQLite
// store does: serialization_failure (40001) and deadlock_detected (40P01), connection exceptions
// (08…), shutdowns (57P01–57P03), insufficient resources (53…), a lock wait past lock_timeout
// (55P03) and a cancelled statement (57014) -> unavailable (retryable);
// check and not-null violations (23514, 23502) and data exceptions (22…, e.g. text that is not
// UTF-8) -> invalid_argument; unique, foreign-key and exclusion violations -> failed_precondition;
// all others -> internal. An empty sqlstate (libpq lost the connection) -> unavailable.
core::Error to_error(std::string_view sqlstate, std::string_view context, std::string_view message);

class Connection;

class Statement {
 public:
  Statement(Connection* owner, std::string name) : owner_(owner), name_(std::move(name)) {}
  ~Statement() { PQclear(result_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQL ($1). A disengaged optional binds NULL.
  Status bind(int index, int64_t value);
  Status bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Status bind(int index, double value);
  Status bind(int index, std::string_view value);
  Status bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Status bind(int index, std::nullopt_t);
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

  // The first call executes the statement; each call then moves to the next row: true when a
  // row is available, false when there are no more.
  Result<bool> step();
  // Executes the statement, ignoring any rows.
  Status run();
  // Rows inserted, updated or deleted by the execution.
  int64_t changes() const;

  int column_count() const { return PQnfields(result_); }
  bool is_null(int column) const { return PQgetisnull(result_, row_, column) != 0; }
  int64_t column_int64(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  std::optional<int64_t> column_optional_int64(int column) const;

 private:
  Status execute();

  Connection* owner_;  // not owned
  std::string name_;   // of the server-side prepared statement
  std::vector<std::optional<std::string>> params_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  bool executed_ = false;
};

class Connection {
 public:
  // Connects with a libpq connection string or URI (postgres://user@host:port/db?…). Unless the
  // string sets them: connect_timeout 5 s, TCP keepalives after 10 s idle (every 5 s, 3 probes)
  // and tcp_user_timeout 30 s, so a server that vanished fails a statement within about 30 s.
  static Result<std::unique_ptr<Connection>> open(const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more SQL statements that take no parameters.
  Status exec(std::string_view sql);
  // COMMITs the open transaction. PostgreSQL answers a COMMIT of a transaction that an error
  // aborted with a ROLLBACK, not an error; that becomes the error here (internal), so a caller
  // never takes a rolled-back transaction for a committed one.
  Status commit();
  // A statement over the server-side prepared statement for `sql` (prepared on first use).
  Result<std::unique_ptr<Statement>> prepare(std::string_view sql);

  // COPY … FROM STDIN in three steps: copy_begin runs the COPY statement, copy_put sends rows in
  // COPY's text format (any chunking), copy_end finishes and returns the rows the server took.
  // copy_abort ends it with an error instead (the server keeps no row of it).
  Status copy_begin(std::string_view copy_sql);
  Status copy_put(std::string_view data);
  Result<int64_t> copy_end();
  void copy_abort(std::string_view reason);

  // "db tocsin on 127.0.0.1:5432": where this connection points, without any password.
  std::string describe() const;
  bool in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }
  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  // broken(), after reading whatever the server sent an idle connection: a server that ended the
  // session (a restart, pg_terminate_backend) left its last message and EOF on the socket, and
  // libpq notices only when it reads them. Non-blocking: no round trip to the server.
  bool found_broken();
  // Reconnects a broken connection (its prepared statements are gone with the old session).
  Status reconnect();

  // The Error for a failed result (or, when result is null, for the connection), with the server's
  // message. Every such error is also remembered (the first one since clear_failure) so a
  // transaction can tell that a statement failed even when its caller ignored the error.
  core::Error fail(const PGresult* result, std::string_view context);
  const std::optional<core::Error>& first_failure() const { return first_failure_; }
  void clear_failure() { first_failure_.reset(); }

 private:
  friend class Statement;
  explicit Connection(PGconn* conn) : conn_(conn) {}

  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
  std::optional<core::Error> first_failure_;
};

}  // namespace tocsin::store::postgres
