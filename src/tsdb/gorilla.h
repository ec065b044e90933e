// Gorilla compression (Pelkonen et al., VLDB 2015) for one chunk of a series: timestamps as
// delta-of-delta, values as XOR against the previous value, bit-packed. The value encoding is the
// one Prometheus uses for its XOR chunks. Two differences: the first timestamp is kept in the chunk
// header (it is the chunk's min_t) rather than in the stream, and the smallest non-zero dod bucket
// has 7 bits instead of 14. Why: real scrape timestamps jitter by a few milliseconds, so most dods
// are small but not zero; the 7-bit bucket stores them in 9 bits instead of 16 (measured: about
// 0.7 B/sample less on node-exporter-like series, see docs/selectors.md).
//
// Stream layout, bits most-significant first:
//   sample 0: value as 64 raw bits
//   sample i≥1: timestamp dod = (t_i − t_{i−1}) − (t_{i−1} − t_{i−2}) (with t_{−1} := t_0):
//                 '0' | '10'+7 bits | '110'+14 bits | '1110'+20 bits | '1111'+64 bits
//               value x = bits(v_i) XOR bits(v_{i−1}):
//                 '0' (x = 0) | '10' + meaningful bits in the previous window |
//                 '11' + 5 bits leading zeros + 6 bits width (64 → 0) + width bits
//
// HeadChunk is the chunk still being appended to. Its byte buffer has a capacity chosen when the
// chunk starts, and a chunk counts as full once it holds kMaxChunkSamples samples or has less room
// left than a worst-case sample: so appending never allocates; only starting or growing a chunk
// may. The owner decides whether a full chunk with fewer than kMaxChunkSamples samples grows (the
// series store grows it in small steps, so a head carries little unused room) or is cut.
// ChunkIterator decodes a byte span with bounds checks on every read, so a corrupted chunk (from a
// damaged snapshot) ends iteration with corrupt() set, never with a read out of bounds.
// Thread-safety: value types; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/time.h"

namespace tocsin::tsdb {

// One sample of a series as read back from the store.
struct Point {
  core::Timestamp ts;
  double value = 0;
  friend bool operator==(const Point&, const Point&) = default;
};

inline constexpr uint16_t kMaxChunkSamples = 120;
// The most bits one sample after the first can take: '1111' + 64 for the timestamp and
// '11' + 5 + 6 + 64 for the value.
inline constexpr size_t kMaxSampleBits = 4 + 64 + 2 + 5 + 6 + 64;
inline constexpr size_t kMaxSampleBytes = (kMaxSampleBits + 7) / 8 + 1;
// A buffer this large always holds kMaxChunkSamples samples, however incompressible.
inline constexpr size_t kMaxChunkBytes = 8 + (kMaxChunkSamples - 1) * kMaxSampleBytes;

class HeadChunk {
 public:
  // Starts an empty chunk with room for `capacity_bytes` (clamped to [kMaxSampleBytes + 8,
  // kMaxChunkBytes]). Reuses the current buffer when it is large enough; otherwise allocates.
  void reset(size_t capacity_bytes);
  // Enlarges the buffer by `extra_bytes` (up to kMaxChunkBytes), keeping the samples: true if it
  // grew. Allocates exactly the new size; a chunk full by room may then take more samples.
  bool grow(size_t extra_bytes);

  bool empty() const { return count_ == 0; }
  // True when the next append() must go to a new chunk. Inline: the store asks before every append.
  bool full() const { return count_ >= kMaxChunkSamples || buf_.size() * 8 < bit_pos_ + kMaxSampleBits + 8; }
  // Precondition: !full() and t is later than max_t() (the store checks ordering first).
  void append(int64_t t, double v);

  uint16_t count() const { return count_; }
  int64_t min_t() const { return min_t_; }
  int64_t max_t() const { return max_t_; }
  double last_value() const;
  size_t size_bytes() const { return (bit_pos_ + 7) / 8; }
  size_t capacity_bytes() const { return buf_.size(); }
  std::span<const uint8_t> bytes() const { return {buf_.data(), size_bytes()}; }
  // The byte the next sample's bits go into: for prefetching it.
  const uint8_t* write_position() const { return buf_.data() + bit_pos_ / 8; }

 private:
  void write_bits(uint64_t value, int nbits);

  std::vector<uint8_t> buf_;  // zero-filled up to its size; bits are OR-ed in
  size_t bit_pos_ = 0;
  int64_t min_t_ = 0;
  int64_t max_t_ = 0;
  uint64_t prev_delta_ = 0;
  uint64_t prev_bits_ = 0;
  uint8_t leading_ = 0xff;  // 0xff: no XOR window yet
  uint8_t trailing_ = 0;
  uint16_t count_ = 0;
};

class ChunkIterator {
 public:
  // `bytes` must outlive the iterator. `min_t` is the first sample's timestamp.
  ChunkIterator(std::span<const uint8_t> bytes, int64_t min_t, uint16_t count)
      : bytes_(bytes), t_(min_t), remaining_(count) {}

  // Advances to the next sample; false at the end or when the data is corrupt.
  bool next();
  int64_t t() const { return t_; }
  double value() const;
  bool corrupt() const { return corrupt_; }

 private:
  std::optional<uint64_t> read_bits(int nbits);  // bounds-checked; nullopt past the end

  std::span<const uint8_t> bytes_;
  size_t bit_pos_ = 0;
  int64_t t_;
  uint64_t delta_ = 0;
  uint64_t bits_ = 0;
  uint8_t leading_ = 0xff;
  uint8_t trailing_ = 0;
  uint16_t remaining_;
  bool started_ = false;
  bool corrupt_ = false;
};

}  // namespace tocsin::tsdb
