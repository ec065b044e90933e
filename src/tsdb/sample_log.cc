#include "tsdb/sample_log.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <unordered_map>

#include "core/crc32c.h"
#include "core/file_io.h"
#include "core/log.h"

namespace tocsin::tsdb {
namespace {

constexpr std::string_view kMagic = "TOCSINWL";
constexpr uint32_t kVersion = 1;
constexpr size_t kSegmentHeaderBytes = 16;
constexpr size_t kRecordHeaderBytes = 5;   // type, payload length
constexpr size_t kRecordTrailerBytes = 4;  // CRC
constexpr uint8_t kSeriesRecord = 1;
constexpr uint8_t kSamplesRecord = 2;
constexpr size_t kMaxVarintBytes = 10;

char* put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) *p++ = static_cast<char>((v >> (8 * i)) & 0xff);
  return p;
}

char* put_u64(char* p, uint64_t v) {
  std::memcpy(p, &v, 8);  // x86-64 and aarch64 are little-endian, the format's order
  return p + 8;
}

char* put_uvarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* put_varint(char* p, int64_t v) {
  return put_uvarint(p, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

char* put_f64(char* p, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  return put_u64(p, bits);
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// A bounds-checked cursor over one record's payload.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ == data_.size(); }

  std::optional<uint64_t> uvarint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      const auto b = static_cast<unsigned char>(data_[pos_++]);
      v |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return v;
    }
    return std::nullopt;
  }
  std::optional<int64_t> varint() {
    auto u = uvarint();
    if (!u) return std::nullopt;
    return static_cast<int64_t>((*u >> 1) ^ (~(*u & 1) + 1));
  }
  std::optional<double> f64() {
    if (data_.size() - pos_ < 8) return std::nullopt;
    uint64_t bits;
    std::memcpy(&bits, data_.data() + pos_, 8);
    pos_ += 8;
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  std::optional<std::string_view> str() {
    auto n = uvarint();
    if (!n || *n > data_.size() - pos_) return std::nullopt;
    auto s = data_.substr(pos_, *n);
    pos_ += *n;
    return s;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

core::Error io_error(const std::filesystem::path& file, std::string_view step) {
  return core::Error::unavailable(fmt::format("sample log {}: {}: {}", file.string(), step, std::strerror(errno)));
}

// Writes all of `parts` with as few write(2) calls as the kernel allows (one, unless it stops
// short, e.g. on a full disk).
bool write_all(int fd, std::span<iovec> parts) {
  size_t first = 0;
  while (first < parts.size()) {
    const ssize_t n = ::writev(fd, parts.data() + first, static_cast<int>(parts.size() - first));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    auto left = static_cast<size_t>(n);
    while (first < parts.size() && left >= parts[first].iov_len) left -= parts[first++].iov_len;
    if (first < parts.size()) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
      parts[first].iov_len -= left;
    }
  }
  return true;
}

}  // namespace

char* SampleLog::Buffer::reserve(size_t n) {
  if (capacity_ - size_ < n) {
    const size_t capacity = std::max({size_ + n, capacity_ * 2, size_t{4096}});
    auto grown = std::make_unique<char[]>(capacity);
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }
  return data_.get() + size_;
}

void SampleLog::Buffer::append(std::string_view bytes) {
  char* p = reserve(bytes.size());
  std::memcpy(p, bytes.data(), bytes.size());
  size_ += bytes.size();
}

SampleLog::Metrics::Metrics(core::MetricsRegistry& registry)
    : bytes_written(registry.counter("tocsin_sample_log_bytes_written_total", "Bytes written to the sample log.")),
      write_errors(registry.counter("tocsin_sample_log_write_errors_total",
                                    "Batches left out of the sample log because writing failed.")),
      damaged_records(registry.counter("tocsin_sample_log_damaged_records_total",
                                       "Torn or corrupt sample log records found at replay (each ends its "
                                       "segment's replay).")),
      sync_errors(registry.counter("tocsin_sample_log_sync_errors_total", "Failed fdatasyncs of the sample log.")) {}

std::filesystem::path SampleLog::segment_path(const std::filesystem::path& dir, uint64_t segment) {
  return dir / fmt::format("{:08}.log", segment);
}

std::vector<std::pair<uint64_t, std::filesystem::path>> SampleLog::segments(const std::filesystem::path& dir) {
  std::vector<std::pair<uint64_t, std::filesystem::path>> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".log")) continue;
    uint64_t n = 0;
    const char* end = name.data() + name.size() - 4;
    auto [ptr, err] = std::from_chars(name.data(), end, n);
    if (err == std::errc() && ptr == end && name.size() >= 12) out.emplace_back(n, entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

core::Result<std::unique_ptr<SampleLog>> SampleLog::open(const std::filesystem::path& dir,
                                                         core::MetricsRegistry& metrics) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return std::unexpected(
        core::Error::unavailable(fmt::format("sample log {}: create directory: {}", dir.string(), ec.message())));
  }
  const auto present = segments(dir);
  const uint64_t first = present.empty() ? 1 : present.back().first + 1;
  return std::unique_ptr<SampleLog>(new SampleLog(dir, first, metrics));
}

SampleLog::SampleLog(std::filesystem::path dir, uint64_t first_segment, core::MetricsRegistry& metrics)
    : dir_(std::move(dir)), replay_before_(first_segment), metrics_(metrics), segment_(first_segment) {}

SampleLog::~SampleLog() {
  if (fd_ >= 0) ::close(fd_);
  for (const auto& r : unsynced_) ::close(r.fd);
}

core::Result<SampleLogReplay> SampleLog::replay(const ReplayFn& fn) {
  SampleLogReplay stats;
  std::unordered_map<uint64_t, core::Labels> series;  // by ref, within one segment
  std::vector<Point> points;
  for (const auto& [number, path] : segments(dir_)) {
    if (number >= replay_before_) break;
    ++stats.segments;
    series.clear();
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return std::unexpected(io_error(path, "read"));
    auto damaged = [&](size_t offset, std::string_view why) {
      ++stats.damaged_records;
      metrics_.damaged_records.inc();
      core::log::warn("sample log: replay of a segment stopped at a damaged record; the rest of it is skipped",
                      {{"file", path.string()}, {"offset", std::to_string(offset)}, {"why", std::string(why)}});
    };
    if (data.size() < kSegmentHeaderBytes) {
      if (!data.empty()) damaged(0, "torn segment header");
      continue;
    }
    if (std::string_view(data).substr(0, kMagic.size()) != kMagic || get_u32(data.data() + 8) != kVersion) {
      damaged(0, "not a version 1 sample log segment");
      continue;
    }
    size_t pos = kSegmentHeaderBytes;
    while (pos < data.size()) {
      const size_t left = data.size() - pos;
      if (left < kRecordHeaderBytes + kRecordTrailerBytes) {
        damaged(pos, "torn record header");
        break;
      }
      const auto type = static_cast<uint8_t>(data[pos]);
      const uint32_t length = get_u32(data.data() + pos + 1);
      if (length > left - kRecordHeaderBytes - kRecordTrailerBytes) {
        damaged(pos, "torn record (shorter than its length)");
        break;
      }
      const std::string_view record(data.data() + pos, kRecordHeaderBytes + length);
      if (core::crc32c(record) != get_u32(record.data() + record.size())) {
        damaged(pos, "CRC mismatch");
        break;
      }
      Reader r(record.substr(kRecordHeaderBytes));
      bool ok = true;
      if (type == kSeriesRecord) {
        const auto ref = r.uvarint();
        const auto count = r.uvarint();
        ok = ref && count && *count > 0 && *count <= length;
        std::vector<core::Label> pairs;
        for (uint64_t i = 0; ok && i < *count; ++i) {
          const auto name = r.str();
          const auto value = name ? r.str() : std::nullopt;
          ok = value.has_value();
          if (ok) pairs.push_back(core::Label{std::string(*name), std::string(*value)});
        }
        ok = ok && r.done();
        if (ok) series[*ref] = core::Labels::from_pairs(std::move(pairs));
      } else if (type == kSamplesRecord) {
        while (ok && !r.done()) {
          const auto ref = r.uvarint();
          const auto n = r.uvarint();
          auto t = r.varint();
          const auto it = ref ? series.find(*ref) : series.end();
          ok = n && t && *n > 0 && *n <= length && it != series.end();
          points.clear();
          for (uint64_t i = 0; ok && i < *n; ++i) {
            if (i > 0) {
              const auto dt = r.uvarint();
              ok = dt.has_value();
              if (ok) *t += static_cast<int64_t>(*dt);
            }
            const auto v = r.f64();
            ok = ok && v.has_value();
            if (ok) points.push_back(Point{core::from_unix_ms(*t), *v});
          }
          if (ok) {
            fn(it->second, points);
            stats.samples += points.size();
          }
        }
      } else {
        ok = false;
      }
      if (!ok) {
        damaged(pos, "malformed record");
        break;
      }
      ++stats.records;
      pos += record.size() + kRecordTrailerBytes;
    }
  }
  return stats;
}

void SampleLog::add(SeriesRef ref, const core::Labels& labels, std::span<const Point> points) {
  if (points.empty()) return;
  const auto id = static_cast<uint64_t>(ref);
  if (id / 64 >= series_written_.size()) series_written_.resize(id / 64 + 1 + series_written_.size() / 2, 0);
  uint64_t& word = series_written_[id / 64];
  const uint64_t bit = uint64_t{1} << (id % 64);
  if ((word & bit) == 0) {
    word |= bit;
    size_t bytes = kRecordHeaderBytes + 2 * kMaxVarintBytes + kRecordTrailerBytes;
    for (const auto& l : labels) bytes += 2 * kMaxVarintBytes + l.name.size() + l.value.size();
    char* const start = series_.reserve(bytes);
    char* p = start + kRecordHeaderBytes;
    p = put_uvarint(p, id);
    p = put_uvarint(p, labels.size());
    for (const auto& l : labels) {
      p = put_uvarint(p, l.name.size());
      p = std::copy(l.name.begin(), l.name.end(), p);
      p = put_uvarint(p, l.value.size());
      p = std::copy(l.value.begin(), l.value.end(), p);
    }
    start[0] = static_cast<char>(kSeriesRecord);
    put_u32(start + 1, static_cast<uint32_t>(p - start - kRecordHeaderBytes));
    p = put_u32(p, core::crc32c({start, static_cast<size_t>(p - start)}));
    series_.set_end(p);
  }
  // The samples record's header is filled in by commit().
  if (samples_.size() == 0) samples_.set_end(samples_.reserve(kRecordHeaderBytes) + kRecordHeaderBytes);
  char* p = samples_.reserve(3 * kMaxVarintBytes + 8 + (points.size() - 1) * (kMaxVarintBytes + 8));
  p = put_uvarint(p, id);
  p = put_uvarint(p, points.size());
  int64_t prev = core::to_unix_ms(points.front().ts);
  p = put_varint(p, prev);
  p = put_f64(p, points.front().value);
  for (size_t i = 1; i < points.size(); ++i) {
    const int64_t t = core::to_unix_ms(points[i].ts);
    assert(t > prev && "points must be in increasing time order");
    p = put_uvarint(p, static_cast<uint64_t>(t - prev));
    p = put_f64(p, points[i].value);
    prev = t;
  }
  samples_.set_end(p);
}

void SampleLog::clear_batch() {
  series_.clear();
  samples_.clear();
}

void SampleLog::abandon_segment() {
  clear_batch();
  std::fill(series_written_.begin(), series_written_.end(), 0);
  fresh_segment_ = true;
  std::lock_guard lock(files_mu_);
  if (fd_ >= 0) unsynced_.push_back({segment_, fd_});  // its good prefix is still worth keeping
  fd_ = -1;
  ++segment_;  // a name never used, even if the failed attempt left a file behind
}

core::Status SampleLog::commit() {
  if (samples_.size() == 0) {
    clear_batch();
    return core::ok();
  }
  const size_t payload = samples_.size() - kRecordHeaderBytes;
  if (payload > UINT32_MAX) {
    metrics_.write_errors.inc();
    abandon_segment();
    return std::unexpected(core::Error::invalid_argument("sample log: a batch over 4 GiB cannot be logged"));
  }
  samples_.data()[0] = static_cast<char>(kSamplesRecord);
  put_u32(samples_.data() + 1, static_cast<uint32_t>(payload));
  char crc[4];
  put_u32(crc, core::crc32c(samples_.view()));

  char header[kSegmentHeaderBytes];
  const std::filesystem::path path = segment_path(dir_, segment_);
  if (fresh_segment_) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      auto err = io_error(path, "create");
      metrics_.write_errors.inc();
      abandon_segment();
      return std::unexpected(std::move(err));
    }
    {
      std::lock_guard lock(files_mu_);
      fd_ = fd;
      directory_dirty_ = true;
    }
    std::memcpy(header, kMagic.data(), kMagic.size());
    put_u32(put_u32(header + kMagic.size(), kVersion), 0);
  }
  iovec parts[] = {
      {header, fresh_segment_ ? kSegmentHeaderBytes : 0},
      {series_.data(), series_.size()},
      {samples_.data(), samples_.size()},
      {crc, sizeof crc},
  };
  const size_t bytes = parts[0].iov_len + parts[1].iov_len + parts[2].iov_len + parts[3].iov_len;
  if (!write_all(fd_, parts)) {
    auto err = io_error(path, "write");
    metrics_.write_errors.inc();
    abandon_segment();
    return std::unexpected(std::move(err));
  }
  fresh_segment_ = false;
  written_.fetch_add(bytes, std::memory_order_release);
  metrics_.bytes_written.inc(static_cast<double>(bytes));
  clear_batch();
  return core::ok();
}

uint64_t SampleLog::rotate() {
  clear_batch();
  std::lock_guard lock(files_mu_);
  if (fd_ < 0) return segment_;  // nothing written to the current one
  unsynced_.push_back({segment_, fd_});
  fd_ = -1;
  ++segment_;
  std::fill(series_written_.begin(), series_written_.end(), 0);
  fresh_segment_ = true;
  return segment_;
}

core::Status SampleLog::remove_before(uint64_t segment) {
  {
    std::lock_guard lock(files_mu_);
    std::erase_if(unsynced_, [&](const Retired& r) {
      if (r.segment >= segment) return false;
      ::close(r.fd);  // about to go: no point in syncing it
      return true;
    });
  }
  for (const auto& [number, path] : segments(dir_)) {
    if (number >= segment) break;
    std::error_code ec;
    std::filesystem::remove(path, ec);
    if (ec) {
      return std::unexpected(
          core::Error::unavailable(fmt::format("sample log {}: remove: {}", path.string(), ec.message())));
    }
  }
  return core::ok();
}

core::Status SampleLog::sync() {
  std::vector<int> fds;  // owned copies, so that the fsyncs run outside the lock
  bool directory = false;
  uint64_t target = 0;
  {
    std::lock_guard lock(files_mu_);
    target = written_.load(std::memory_order_acquire);
    if (target == synced_ && unsynced_.empty() && !directory_dirty_) return core::ok();
    for (const auto& r : unsynced_) fds.push_back(r.fd);
    unsynced_.clear();
    if (fd_ >= 0) {
      const int dup = ::dup(fd_);
      if (dup < 0) {
        for (int fd : fds) ::close(fd);
        return std::unexpected(io_error(segment_path(dir_, segment_), "dup"));
      }
      fds.push_back(dup);
    }
    directory = directory_dirty_;
    directory_dirty_ = false;
  }
  core::Status status = core::ok();
  for (int fd : fds) {
    if (::fdatasync(fd) != 0 && status) status = std::unexpected(io_error(dir_, "fdatasync"));
    ::close(fd);
  }
  if (directory && status) status = core::sync_directory(dir_);
  if (!status) metrics_.sync_errors.inc();
  std::lock_guard lock(files_mu_);
  if (status) {
    synced_ = std::max(synced_, target);
  } else if (directory) {
    directory_dirty_ = true;  // try again next time
  }
  return status;
}

}  // namespace tocsin::tsdb
