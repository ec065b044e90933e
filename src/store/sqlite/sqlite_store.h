// The embedded store: store::Store over one SQLite database file (WAL mode, durable on every
// commit), created with its parent directories when missing and migrated to the current schema
// when opened (see migrations.h).
//
// Thread-safety: the Store may be shared by any number of threads. It holds one connection guarded
// by a mutex, so transactions run one at a time, readers included; that is plenty for one server
// process and keeps SQLite's locking out of the picture. Several processes may open the same file:
// a writer waits up to a busy timeout for another, then gets a retryable `unavailable` error.
// fn given to write()/read() must not call the same Store again (it would deadlock; asserted).
#pragma once

#include <filesystem>
#include <memory>

#include "core/result.h"
#include "store/store.h"

namespace tocsin::store::sqlite {

core::Result<std::unique_ptr<store::Store>> open_sqlite_store(const std::filesystem::path& db_file);

}  // namespace tocsin::store::sqlite
