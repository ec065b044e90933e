#include "store/sqlite/alert_time_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/crc32c.h"
#include "core/file_io.h"

namespace tocsin::store::sqlite {
namespace {

constexpr std::string_view kMagic = "TCATLOG1";
constexpr size_t kHeaderBytes = 8 + 8 + 4;
constexpr size_t kEntryBytes = 8 + 8 + 8 + 1;
constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
// A record larger than this is damage, not data (a transaction re-sends at most a few thousand).
constexpr uint32_t kMaxPayload = 64u << 20;
// How far ahead of the records the file is zero-filled (see the header).
constexpr uint64_t kPreallocateBytes = 1u << 20;

core::Error io_error(const std::filesystem::path& file, std::string_view step) {
  return core::Error::unavailable(
      fmt::format("alert time log {}: {}: {}", file.string(), step, std::strerror(errno)));
}

template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian hosts only (x86-64, arm64)
  out.append(bytes, sizeof(T));
}

template <class T>
T get(const char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

bool write_all_at(int fd, const char* data, size_t size, uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

core::Result<std::unique_ptr<AlertTimeLog>> AlertTimeLog::open(const std::filesystem::path& path) {
  bool created = false;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0) {
    created = true;
  } else if (errno == EEXIST) {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) return std::unexpected(io_error(path, "open"));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::unique_ptr<AlertTimeLog>();
    errno = err;
    return std::unexpected(io_error(path, "lock"));
  }
  std::unique_ptr<AlertTimeLog> log(new AlertTimeLog(path, fd));
  if (created && path.has_parent_path()) TOCSIN_RETURN_IF_ERROR(core::sync_directory(path.parent_path()));
  return log;
}

AlertTimeLog::~AlertTimeLog() {
  if (fd_ >= 0) ::close(fd_);  // also releases the lock
}

core::Result<AlertTimeLog::Contents> AlertTimeLog::read() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return std::unexpected(io_error(path_, "stat"));
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(io_error(path_, "read"));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  Contents out;
  if (data.size() < kHeaderBytes || std::string_view(data).substr(0, 8) != kMagic ||
      get<uint32_t>(data.data() + 16) != core::crc32c(std::string_view(data).substr(0, 16))) {
    out.torn_tail = !data.empty();
    return out;  // no valid header: an empty log of epoch 0
  }
  out.epoch = get<uint64_t>(data.data() + 8);
  size_t pos = kHeaderBytes;
  while (pos < data.size()) {
    if (data.size() - pos < 8) {
      out.torn_tail = true;
      break;
    }
    const uint32_t length = get<uint32_t>(data.data() + pos);
    const uint32_t crc = get<uint32_t>(data.data() + pos + 4);
    if (length == 0 && crc == 0) break;  // the zero-filled space ahead of the next record
    if (length > kMaxPayload || length % kEntryBytes != 0 || data.size() - pos - 8 < length ||
        core::crc32c(std::string_view(data).substr(pos + 8, length)) != crc) {
      out.torn_tail = true;
      break;
    }
    for (size_t p = pos + 8; p < pos + 8 + length; p += kEntryBytes) {
      AlertTimeEntry e;
      e.fingerprint = get<uint64_t>(data.data() + p);
      const auto ends = get<int64_t>(data.data() + p + 8);
      if (ends != kNoTime) e.times.ends_at = core::from_unix_ms(ends);
      e.times.updated_at = core::from_unix_ms(get<int64_t>(data.data() + p + 16));
      e.times.ends_at_from_timeout = (data[p + 24] & 1) != 0;
      out.entries.push_back(e);
    }
    pos += 8 + length;
  }
  return out;
}

core::Status AlertTimeLog::reset(uint64_t epoch) {
  broken_ = true;
  if (::ftruncate(fd_, 0) != 0) return std::unexpected(io_error(path_, "truncate"));
  std::string header(kMagic);
  put<uint64_t>(header, epoch);
  put<uint32_t>(header, core::crc32c(header));
  if (::pwrite(fd_, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) {
    return std::unexpected(io_error(path_, "write header"));
  }
  if (::fdatasync(fd_) != 0) return std::unexpected(io_error(path_, "fdatasync"));
  epoch_ = epoch;
  size_ = header.size();
  allocated_ = size_;
  broken_ = false;
  return core::ok();
}

core::Status AlertTimeLog::append(std::span<const AlertTimeEntry> entries) {
  if (broken_) return std::unexpected(core::Error::unavailable(fmt::format("alert time log {}: not writable", path_.string())));
  if (entries.empty()) return core::ok();
  buffer_.clear();
  buffer_.reserve(8 + entries.size() * kEntryBytes);
  put<uint32_t>(buffer_, static_cast<uint32_t>(entries.size() * kEntryBytes));
  put<uint32_t>(buffer_, 0);  // the CRC, once the payload is there
  for (const auto& e : entries) {
    put<uint64_t>(buffer_, e.fingerprint);
    put<int64_t>(buffer_, e.times.ends_at ? core::to_unix_ms(*e.times.ends_at) : kNoTime);
    put<int64_t>(buffer_, core::to_unix_ms(e.times.updated_at));
    buffer_.push_back(static_cast<char>(e.times.ends_at_from_timeout ? 1 : 0));
  }
  const uint32_t crc = core::crc32c(std::string_view(buffer_).substr(8));
  std::memcpy(buffer_.data() + 4, &crc, sizeof crc);
  const size_t record = buffer_.size();
  uint64_t allocated = allocated_;
  if (size_ + record > allocated) {
    // Past the zero-filled space: this record and the next MiB of zeros go in one write (and one
    // fdatasync, which writes the file's new size and blocks once for the appends that follow).
    allocated = size_ + record + kPreallocateBytes;
    buffer_.resize(static_cast<size_t>(allocated - size_), '\0');
  }
  if (write_all_at(fd_, buffer_.data(), buffer_.size(), size_) && ::fdatasync(fd_) == 0) {
    size_ += record;
    allocated_ = allocated;
    return core::ok();
  }
  core::Error error = io_error(path_, "append");
  // Cut the file back so that a later record does not sit behind a torn one.
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    broken_ = true;
  } else {
    allocated_ = size_;
  }
  return std::unexpected(std::move(error));
}

}  // namespace tocsin::store::sqlite
