// Opens the store a config names: server.store empty = the embedded SQLite store at
// <data_dir>/tocsin.db (created when missing); "postgres://…" = the PostgreSQL store at that URI
// (docs/high-availability.md). Used by `tocsin serve` and by the commands that read the store.
// Thread-safety: a free function; the returned Store's own contract applies.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "core/result.h"
#include "store/sqlite/storage_health.h"
#include "store/store.h"

namespace tocsin::server {

// `health` (optional, must outlive the store) hears of the SQLite store's refused writes (a full
// or read-only data dir; store/sqlite/storage_health.h); the PostgreSQL store has no data dir.
// `sends_notifications`: the caller creates and sends notifications (`tocsin serve`; see
// open_sqlite_store in storage_health.h).
core::Result<std::unique_ptr<store::Store>> open_store(const config::ServerConfig& server,
                                                       store::sqlite::StorageHealth* health = nullptr,
                                                       bool sends_notifications = false);

// Where the store lives, for logs and messages: the SQLite file, or the PostgreSQL URI without
// its password.
std::string describe_store(const config::ServerConfig& server);

}  // namespace tocsin::server
