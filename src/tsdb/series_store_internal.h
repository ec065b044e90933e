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

// A new series' first head chunk: enough for 120 samples of a regular series (~1.4 B/sample).
inline constexpr size_t kInitialHeadBytes = 256;

// A finished chunk: an exact-size copy of a head chunk's bytes.
struct SealedChunk {
  int64_t min_t = 0;
  int64_t max_t = 0;
  std::unique_ptr<uint8_t[]> data;
  uint32_t size = 0;
  uint16_t count = 0;
};

struct SeriesStore::Series {
  core::Labels labels;
  uint64_t fingerprint = 0;
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
