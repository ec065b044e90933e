// Files written so that a crash leaves either the old content or the new, complete: snapshots of
// learned state and recent samples; and directory fsyncs for logs that create and delete files.
// Thread-safety: a free function; concurrent writers to the same file must serialise themselves.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace tocsin::core {

// Writes `data` to a temp file beside `file`, fsyncs it, renames it over `file`, and fsyncs the
// directory. Errors are `unavailable`, naming the step and the OS error.
Status write_file_atomically(const std::filesystem::path& file, std::string_view data);

// fsyncs a directory, so the entries created, renamed or removed in it are durable. Errors are
// `unavailable`, naming the directory, the step and the OS error.
Status sync_directory(const std::filesystem::path& dir);

// fsyncs a file that is already written (a copy, a database another library wrote). Errors are
// `unavailable`, naming the file, the step and the OS error.
Status sync_file(const std::filesystem::path& file);

// A file a command creates (`tocsin init`, `tocsin demo`): its path under the target directory.
struct NewFile {
  std::string_view path;
  std::string_view text;
};

// failed_precondition naming the first of `files` (under `dir`) that exists already.
Status check_files_absent(const std::filesystem::path& dir, std::span<const NewFile> files);
// Writes `files` under `dir`, creating directories as needed, after checking (before writing
// anything) that none exists. Errors are failed_precondition naming the file or directory.
Status write_new_files(const std::filesystem::path& dir, std::span<const NewFile> files);

// A private directory (mkdtemp: `prefix` plus six random characters) under `base`, removed with
// everything in it when the object goes. Errors are `unavailable`, naming `base`.
class ScratchDir {
 public:
  static Result<ScratchDir> create(const std::filesystem::path& base, std::string_view prefix);
  ScratchDir(ScratchDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  ScratchDir& operator=(ScratchDir&&) = delete;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();

  const std::filesystem::path& path() const { return path_; }

 private:
  explicit ScratchDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

}  // namespace tocsin::core
