// Private to series_store.cc and snapshot.cc: the per-series state of SeriesStore.
// Thread-safety: guarded by SeriesStore::mu_.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/labels.h"
#include "tsdb/gorilla.h"
#include "tsdb/series_store.h"

namespace tocsin::tsdb {

// A head chunk starts with room for a few samples and grows by kHeadGrowBytes whenever it has no
// room left for a worst-case sample, until it holds kMaxChunkSamples samples.
// Why steps, and why 256 bytes: the head is the one chunk of a series with unused room, and there
// is one per series. Sized at the start for the whole chunk (the previous chunk's size plus a
// fifth), it carried ~600 bytes of unused room on average with noisy full-precision values
// (6.7 B/sample). Each step is an allocation, a copy and a free, so smaller steps cost time.
// Measured (docs/benchmarks.md): 128 / 256 / 512-byte steps leave 78 / 144 / 646 bytes spare per
// series on average, and `Ingest/threshold` takes 77 / 66 / 55 ns per sample: 256 buys most of
// the time for little room.
inline constexpr size_t kHeadGrowBytes = 256;
inline constexpr size_t kInitialHeadBytes = kMaxSampleBytes + 8 + kHeadGrowBytes;

// A finished chunk: an exact-size copy of a head chunk's bytes.
struct SealedChunk {
  int64_t min_t = 0;
  int64_t max_t = 0;
  std::unique_ptr<uint8_t[]> data;
  uint32_t size = 0;
  uint16_t count = 0;
};

struct SeriesStore::Series {
  core::PackedLabels labels;  // one allocation: a Labels value cost ~3x as much per series
  uint64_t fingerprint = 0;
  // The last ingest::Series::labels_id whose labels were found equal to `labels` (0: none): the
  // same id again means the same labels, so they need no comparing (get_or_create_locked).
  uint64_t labels_id = 0;
  SeriesRef ref{0};
  std::vector<SealedChunk> chunks;  // oldest first, all older than the head
  HeadChunk head;
  bool seen_empty_by_gc = false;

  std::optional<int64_t> last_t() const {
    if (!head.empty()) return head.max_t();
    if (!chunks.empty()) return chunks.back().max_t;
    return std::nullopt;
  }
};

}  // namespace tocsin::tsdb
