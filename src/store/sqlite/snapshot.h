// A private, current copy of a SQLite store file that leaves the file itself untouched: what
// `tocsin migrate --from-sqlite` reads (docs/operations.md#moving-from-sqlite-to-postgresql).
// The source is opened read-only and copied with VACUUM INTO (one consistent snapshot, WAL
// included), its alert time log beside it is copied too, and the copy is then opened as a store
// once: that migrates it to this binary's schema and applies the log's re-sent alert times, which
// the database file alone may lack after a crash.
// Thread-safety: a free function; it opens its own connections.
#pragma once

#include <filesystem>

#include "core/result.h"

namespace tocsin::store::sqlite {

struct Snapshot {
  int source_version = 0;  // the schema version of the source file
  int version = 0;         // of the copy: this binary's
};

// Copies the store file `source` to `dest` (which must not exist). Errors, nothing written at
// `source` in any case:
//  - not_found: no file at `source`;
//  - failed_precondition: a running tocsin holds the file (its alert time log is locked), the
//    file is no SQLite database or holds no tocsin schema, or its schema is newer than this binary;
//  - others from SQLite, naming the file.
core::Result<Snapshot> snapshot_store(const std::filesystem::path& source, const std::filesystem::path& dest);

}  // namespace tocsin::store::sqlite
