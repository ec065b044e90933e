// The shared store: store::Store over a PostgreSQL database, for several tocsin replicas on one
// database (docs/high-availability.md). Opening it connects, and migrates the schema to the current
// version under an advisory lock (see migrations.h). Same contract as the SQLite store (store.h):
// write() returns once the transaction is committed (durable under PostgreSQL's default
// synchronous_commit = on), and rolls everything back when fn fails.
//
// Isolation: write() runs SERIALIZABLE, read() REPEATABLE READ READ ONLY (postgres_store.cc says
// why). A conflict with another process's transaction comes back as `unavailable` (retryable);
// fn is not re-run by the store, because callers may keep state outside the Tx.
// Thread-safety: the Store may be shared by any number of threads. It holds one connection guarded
// by a mutex, so transactions of one process run one at a time, readers included, as in the
// SQLite store (a pool is future work, docs/high-availability.md). A connection found broken is
// re-established at the start of the next transaction; until that succeeds, write() and read()
// fail with `unavailable`. fn given to write()/read() must not call the same Store again (it would
// deadlock; asserted).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace tocsin::store::postgres {

// conninfo: a libpq URI (postgres://user:password@host:port/db?sslmode=…) or key=value string.
// unavailable when the database cannot be reached; failed_precondition when its schema is newer
// than this binary knows.
core::Result<std::unique_ptr<store::Store>> open_postgres_store(const std::string& conninfo);

}  // namespace tocsin::store::postgres
