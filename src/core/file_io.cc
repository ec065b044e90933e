#include "core/file_io.h"

#include <fcntl.h>
#include <stdlib.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace tocsin::core {
namespace {

Error io_error(const std::filesystem::path& file, std::string_view step) {
  return Error::unavailable(fmt::format("writing {}: {}: {}", file.string(), step, std::strerror(errno)));
}

}  // namespace

Status write_file_atomically(const std::filesystem::path& file, std::string_view data) {
  auto tmp = file;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return std::unexpected(io_error(tmp, "open"));
  auto fail = [&](std::string_view step) {
    auto err = io_error(tmp, step);
    ::close(fd);
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(err));
  };
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    auto err = io_error(tmp, "close");
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(err));
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    auto err = io_error(file, "rename");
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(err));
  }
  // The rename is durable only once the directory entry is: fsync the directory too.
  auto dir = file.parent_path();
  if (dir.empty()) dir = ".";
  return sync_directory(dir);
}

Status sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(io_error(dir, "open directory"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return std::unexpected(io_error(dir, "fsync directory"));
  return ok();
}

Status sync_file(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(io_error(file, "open"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return std::unexpected(io_error(file, "fsync"));
  return ok();
}

Status check_files_absent(const std::filesystem::path& dir, std::span<const NewFile> files) {
  for (const NewFile& f : files) {
    const std::filesystem::path file = dir / f.path;
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(file, ec))) {
      return std::unexpected(
          Error::failed_precondition(fmt::format("{} already exists; refusing to overwrite it", file.string())));
    }
  }
  return ok();
}

Status write_new_files(const std::filesystem::path& dir, std::span<const NewFile> files) {
  // Check every file first so a refusal leaves the directory untouched.
  TOCSIN_RETURN_IF_ERROR(check_files_absent(dir, files));
  for (const NewFile& f : files) {
    const std::filesystem::path file = dir / f.path;
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) {
      return std::unexpected(Error::failed_precondition(
          fmt::format("cannot create directory {}: {}", file.parent_path().string(), ec.message())));
    }
    std::ofstream out(file, std::ios::binary);
    out << f.text;
    out.close();
    if (!out) return std::unexpected(Error::failed_precondition(fmt::format("cannot write {}", file.string())));
  }
  return ok();
}

Result<ScratchDir> ScratchDir::create(const std::filesystem::path& base, std::string_view prefix) {
  std::string pattern = (base / fmt::format("{}XXXXXX", prefix)).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return std::unexpected(Error::unavailable(
        fmt::format("cannot create a temporary directory under {}: {}", base.string(), std::strerror(errno))));
  }
  return ScratchDir(std::filesystem::path(pattern));
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace tocsin::core
