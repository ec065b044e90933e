// The shared store: store::Store over a PostgreSQL database, for several tocsin replicas on one
// database (docs/high-availability.md). Opening it connects, and migrates the schema to the current
// version under an advisory lock (see migrations.h). Same contract as the SQLite store (store.h):
// write() returns once the transaction is committed (durable under PostgreSQL's default
// synchronous_commit = on), and rolls everything back when fn fails.
//
// Isolation: write() runs SERIALIZABLE, read() REPEATABLE READ READ ONLY (postgres_store.cc says
// why). A conflict with another process's transaction comes back as `unavailable` (retryable);
// fn is not re-run by the store, because callers may keep state outside the Tx.
// Thread-safety: the Store may be shared by any number of threads. It holds a pool of connections
// (PoolOptions): one takes the writes, one write transaction at a time as in the SQLite store; the
// others take the reads, so reads run beside a write and beside each other (with a pool of one,
// everything runs one at a time on the one connection). A connection found broken (the server
// ended its session, or the transaction before failed on it) is re-established at the start of
// its next transaction; until that succeeds, write() and read() fail with `unavailable`. fn given
// to write()/read() must not call the same Store again (asserted).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace tocsin::store::postgres {

inline constexpr int kMaxPoolSize = 64;

struct PoolOptions {
  // Connections, all opened at start: one for writes, size - 1 for reads (1: one for both).
  int size = 4;
};

// conninfo: a libpq URI (postgres://user:password@host:port/db?sslmode=…) or key=value string.
// unavailable when the database cannot be reached (or refuses one of the pool's connections);
// failed_precondition when its schema is newer than this binary knows; invalid_argument for a
// pool size outside 1..kMaxPoolSize.
core::Result<std::unique_ptr<store::Store>> open_postgres_store(const std::string& conninfo,
                                                                const PoolOptions& pool = {});

}  // namespace tocsin::store::postgres
