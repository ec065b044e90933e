// SeriesStore::snapshot and SeriesStore::load: the file format is described in series_store.h.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/std.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>

#include "core/file_io.h"
#include "tsdb/series_store.h"
#include "tsdb/series_store_internal.h"

namespace tocsin::tsdb {
namespace {

constexpr std::string_view kMagic = "TOCSINTS";
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + 8;
constexpr size_t kTrailerBytes = 8;

uint64_t fnv1a64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Writer {
 public:
  void bytes(std::string_view b) { out_.append(b); }
  void u16(uint16_t v) { le(v, 2); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void i64(int64_t v) { le(static_cast<uint64_t>(v), 8); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes(s);
  }
  std::string& out() { return out_; }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

// A bounds-checked cursor: every read says how far it got, so an error can name the byte offset.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

  std::optional<uint64_t> le(int n) {
    if (remaining() < static_cast<size_t>(n)) return std::nullopt;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= uint64_t{static_cast<unsigned char>(data_[pos_ + static_cast<size_t>(i)])} << (8 * i);
    pos_ += static_cast<size_t>(n);
    return v;
  }
  std::optional<std::string_view> bytes(size_t n) {
    if (remaining() < n) return std::nullopt;
    auto out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::optional<std::string_view> str() {
    auto n = le(4);
    if (!n) return std::nullopt;
    return bytes(*n);
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

core::Status SeriesStore::snapshot(const std::filesystem::path& file) const {
  return core::write_file_atomically(file, snapshot_bytes());
}

std::string SeriesStore::snapshot_bytes() const {
  Writer w;
  {
    std::lock_guard lock(mu_);
    w.out().reserve(kHeaderBytes + encoded_bytes_ + series_.size() * 128 + kTrailerBytes);
    w.bytes(kMagic);
    w.u32(kVersion);
    w.u32(0);
    w.u64(next_ref_);
    w.u64(series_.size());
    // In ref order, so that load() can rebuild the postings lists by appending.
    std::vector<SeriesRef> refs;
    refs.reserve(series_.size());
    for (const auto& [ref, s] : series_) refs.push_back(ref);
    std::sort(refs.begin(), refs.end());
    for (SeriesRef ref : refs) {
      const Series& s = *series_.at(ref);
      w.u64(static_cast<uint64_t>(ref));
      w.u32(static_cast<uint32_t>(s.labels.size()));
      s.labels.for_each([&w](std::string_view name, std::string_view value) {
        w.str(name);
        w.str(value);
      });
      w.u32(static_cast<uint32_t>(s.chunks.size() + (s.head.empty() ? 0 : 1)));
      auto chunk = [&w](int64_t min_t, int64_t max_t, uint16_t count, std::span<const uint8_t> data) {
        w.i64(min_t);
        w.i64(max_t);
        w.u16(count);
        w.u32(static_cast<uint32_t>(data.size()));
        w.bytes({reinterpret_cast<const char*>(data.data()), data.size()});
      };
      for (const auto& c : s.chunks) chunk(c.min_t, c.max_t, c.count, {c.data.get(), c.size});
      if (!s.head.empty()) chunk(s.head.min_t(), s.head.max_t(), s.head.count(), s.head.bytes());
    }
  }
  w.u64(fnv1a64(w.out()));
  return std::move(w.out());
}

core::Result<std::unique_ptr<SeriesStore>> SeriesStore::load(const std::filesystem::path& file,
                                                             SeriesStoreOptions options,
                                                             core::MetricsRegistry& metrics) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return std::unexpected(core::Error::not_found(fmt::format("snapshot {}: no such file", file.string())));
  }
  auto io_error = [&](std::string_view step) {
    return core::Error::unavailable(fmt::format("snapshot {}: {}: {}", file.string(), step, std::strerror(errno)));
  };
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::unexpected(io_error("open"));
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::unexpected(io_error("read"));

  auto bad = [&](size_t offset, std::string_view why) {
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("snapshot {}: {} at byte {}", file.string(), why, offset))
            .at(core::Position{file.string(), 0, 0}));
  };
  if (data.size() < kHeaderBytes + kTrailerBytes) return bad(data.size(), "truncated (shorter than a header)");
  if (std::string_view(data).substr(0, kMagic.size()) != kMagic)
    return bad(0, "not a tocsin series snapshot (bad magic)");
  const std::string_view body = std::string_view(data).substr(0, data.size() - kTrailerBytes);
  Reader trailer(std::string_view(data).substr(body.size()));
  if (trailer.le(8) != fnv1a64(body)) return bad(body.size(), "checksum mismatch (truncated or corrupted)");

  Reader r(body);
  r.bytes(kMagic.size());
  const auto version = r.le(4);
  if (version != kVersion)
    return bad(8, fmt::format("unsupported version {} (this build reads {})", version.value_or(0), kVersion));
  r.le(4);  // flags, none defined yet
  const auto next_ref = r.le(8);
  const auto series_count = r.le(8);
  if (!next_ref || !series_count) return bad(r.offset(), "truncated header");

  auto store = std::make_unique<SeriesStore>(options, metrics);
  std::lock_guard lock(store->mu_);
  store->next_ref_ = *next_ref;
  uint64_t prev_ref = 0;
  for (uint64_t i = 0; i < *series_count; ++i) {
    const size_t series_at = r.offset();
    const auto ref = r.le(8);
    const auto label_count = r.le(4);
    if (!ref || !label_count) return bad(r.offset(), "truncated series header");
    if (*ref <= prev_ref || *ref >= *next_ref) return bad(series_at, fmt::format("series ref {} out of order", *ref));
    prev_ref = *ref;
    // Each label takes at least 8 bytes: a count larger than the rest of the file is corrupt, and
    // checking first avoids reserving memory for it.
    if (*label_count == 0 || *label_count > r.remaining() / 8) return bad(series_at, "bad label count");
    std::vector<core::Label> pairs;
    pairs.reserve(*label_count);
    for (uint64_t l = 0; l < *label_count; ++l) {
      const size_t label_at = r.offset();
      const auto name = r.str();
      const auto value = name ? r.str() : std::nullopt;
      if (!value) return bad(r.offset(), "truncated label");
      if (!core::is_valid_label_name(*name) || value->empty() || (!pairs.empty() && pairs.back().name >= *name)) {
        return bad(label_at, "bad label (names must be valid, sorted and unique; values non-empty)");
      }
      pairs.push_back(core::Label{std::string(*name), std::string(*value)});
    }
    const auto labels = core::Labels::from_pairs(std::move(pairs));
    const uint64_t fp = store->fingerprint_of(labels);
    if (store->find_locked(labels, fp)) return bad(series_at, fmt::format("duplicate series {}", labels.to_string()));
    const auto chunk_count = r.le(4);
    if (!chunk_count) return bad(r.offset(), "truncated chunk count");
    auto created = store->create_locked(labels, fp, SeriesRef{*ref});
    Series* s = created ? *created : nullptr;  // null: over max_series, skipped

    int64_t prev_max = 0;
    for (uint64_t c = 0; c < *chunk_count; ++c) {
      const size_t chunk_at = r.offset();
      const auto min_t = r.le(8);
      const auto max_t = r.le(8);
      const auto count = r.le(2);
      const auto size = r.le(4);
      if (!size) return bad(r.offset(), "truncated chunk header");
      if (*count == 0 || *count > kMaxChunkSamples || *size > kMaxChunkBytes) return bad(chunk_at, "bad chunk header");
      const auto bytes = r.bytes(*size);
      if (!bytes) return bad(r.offset(), "truncated chunk");
      const auto lo = static_cast<int64_t>(*min_t);
      const auto hi = static_cast<int64_t>(*max_t);
      if (c > 0 && lo <= prev_max) return bad(chunk_at, "chunk overlaps the previous one");
      prev_max = hi;
      const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
      // Decode every chunk now: a damaged one is reported here rather than met by a reader later.
      ChunkIterator it(span, lo, static_cast<uint16_t>(*count));
      uint64_t decoded = 0;
      int64_t last_t = lo;
      const bool last_chunk = c + 1 == *chunk_count;
      // The newest chunk becomes the head again, re-encoded from its samples so that appends can
      // continue it; room for its size plus one worst-case sample means it is never cut early.
      if (last_chunk && s != nullptr) s->head.reset(*size + kMaxSampleBytes + 8);
      while (it.next()) {
        ++decoded;
        last_t = it.t();
        if (last_chunk && s != nullptr) store->append_locked(*s, it.t(), it.value());
      }
      if (it.corrupt() || decoded != *count || last_t != hi) return bad(chunk_at, "corrupt chunk data");
      if (!last_chunk && s != nullptr) {
        SealedChunk sealed;
        sealed.min_t = lo;
        sealed.max_t = hi;
        sealed.count = static_cast<uint16_t>(*count);
        sealed.size = static_cast<uint32_t>(*size);
        sealed.data = std::make_unique<uint8_t[]>(*size);
        std::copy(span.begin(), span.end(), sealed.data.get());
        s->chunks.push_back(std::move(sealed));
        store->encoded_bytes_ += *size;
        store->sample_count_ += *count;
        ++store->chunk_count_;
      }
    }
  }
  if (r.remaining() != 0) return bad(r.offset(), "unexpected bytes after the last series");
  store->publish_gauges_locked();
  return store;
}

}  // namespace tocsin::tsdb
