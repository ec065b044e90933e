// Files written so that a crash leaves either the old content or the new, complete: snapshots of
// learned state and recent samples; and directory fsyncs for logs that create and delete files.
// Thread-safety: a free function; concurrent writers to the same file must serialise themselves.
#pragma once

#include <filesystem>
#include <string_view>

#include "core/result.h"

namespace tocsin::core {

// Writes `data` to a temp file beside `file`, fsyncs it, renames it over `file`, and fsyncs the
// directory. Errors are `unavailable`, naming the step and the OS error.
Status write_file_atomically(const std::filesystem::path& file, std::string_view data);

// fsyncs a directory, so the entries created, renamed or removed in it are durable. Errors are
// `unavailable`, naming the directory, the step and the OS error.
Status sync_directory(const std::filesystem::path& dir);

}  // namespace tocsin::core
