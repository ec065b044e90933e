// The in-memory series store: label sets interned as SeriesRef ids, a postings index for
// selectors, and per-series Gorilla-compressed chunks with retention, a series cap, metrics and
// snapshots.
//
// Ownership: the store owns every series, its labels and its chunks. Refs are plain ids and hold
// nothing; a ref whose series gc() removed is answered with kUnknownSeries / nullopt, never UB.
// Each series has sealed chunks (immutable, exact-size buffers) and one head chunk being appended
// to. A chunk holds at most kMaxChunkSamples (120) samples; a new one starts when it is full.
//
// Time is a parameter: appends carry their sample timestamps, gc() takes `now`.
// Memory: bounded by max_series (get_or_create rejects new series beyond it, counted) and by
// retention (gc drops whole chunks whose newest sample is older than now − retention, then the
// series left without samples, and unindexes them). Appends do not allocate, except when the head
// chunk runs out of room (it grows by 256 bytes, a few times per chunk) and when it is full and a
// new one starts (the finished chunk is copied into an exact-size buffer).
//
// Thread-safety: every public method takes one internal mutex, so the store may be shared between
// threads; the intended use is a single writer (ingestion) with occasional readers (rules,
// snapshots). Metrics are updated with atomics and may be rendered concurrently.
//
// Snapshot file format (version 1, all integers little-endian):
//   "TOCSINTS" u32 version u32 flags(0) u64 next_ref u64 series_count
//   per series: u64 ref u32 label_count {u32 len, name, u32 len, value}…
//               u32 chunk_count {i64 min_t i64 max_t u16 samples u32 bytes, data}…
//   u64 FNV-1a 64 of every byte before it
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/flat_u64_map.h"
#include "core/labels.h"
#include "core/matcher.h"
#include "core/metrics.h"
#include "core/result.h"
#include "core/time.h"
#include "tsdb/gorilla.h"
#include "tsdb/postings.h"

namespace tocsin::tsdb {

struct SeriesStoreOptions {
  // gc(now) drops the chunks whose newest sample is older than now − retention.
  core::Duration retention = std::chrono::hours(6);
  // get_or_create fails for a new label set once this many series exist.
  size_t max_series = 1'000'000;
  // Seam for tests: replaces Labels::fingerprint() so that a test can force collisions.
  uint64_t (*fingerprint)(const core::Labels&) = nullptr;
};

enum class AppendResult {
  kOk,
  kOutOfOrder,     // older than the series' newest sample: dropped, counted
  kDuplicate,      // same timestamp as the series' newest sample: dropped, counted
  kUnknownSeries,  // the ref was never issued or its series was removed by gc(): counted
};

// What a batch append did with its points (see SeriesStore::append for a batch).
struct AppendCounts {
  size_t ok = 0;
  size_t out_of_order = 0;
  size_t duplicate = 0;
  size_t unknown_series = 0;
};

// What SeriesStore::append(labels, …) did: the series' ref and what became of the points.
struct SeriesAppend {
  SeriesRef ref;
  AppendCounts counts;
};

struct SeriesStoreStats {
  size_t series = 0;
  size_t chunks = 0;           // sealed and non-empty head chunks
  uint64_t samples = 0;        // samples held now
  size_t encoded_bytes = 0;    // compressed sample data
  size_t allocated_bytes = 0;  // chunk buffers as allocated (heads have spare room)
};

struct GcResult {
  size_t chunks_removed = 0;
  size_t series_removed = 0;
};

class SeriesStore {
 public:
  // `metrics` must outlive the store; the store registers tocsin_tsdb_* metrics in it (use one
  // store per registry: two stores would share the same counters).
  SeriesStore(SeriesStoreOptions options, core::MetricsRegistry& metrics);
  ~SeriesStore();
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  // The ref of `labels`, creating the series if needed. Fails with kFailedPrecondition (counted in
  // tocsin_tsdb_series_rejected_total) when that would exceed max_series, and with
  // kInvalidArgument for an empty label set.
  core::Result<SeriesRef> get_or_create(const core::Labels& labels);
  // The same for a caller that already has `fingerprint` == labels.fingerprint(): the engine
  // hashes a series' labels once per request and hands the hash on to the rules as well. With the
  // options' fingerprint seam set, the seam's hash is used instead.
  core::Result<SeriesRef> get_or_create(const core::Labels& labels, uint64_t fingerprint);
  std::optional<SeriesRef> find(const core::Labels& labels) const;
  std::optional<core::Labels> labels(SeriesRef ref) const;

  AppendResult append(SeriesRef ref, core::Timestamp ts, double value);
  // Appends the points of one series in order (anything with `.ts` and `.value`), each judged as
  // by the single-point append, and adds those appended to `accepted` (not cleared first), so the
  // caller evaluates exactly what was stored.
  // Why a batch: remote_write carries several points per series; one lock, one series lookup and
  // one metrics update per batch instead of per point (they were ~15% of a cheap ingest).
  template <class P>
  AppendCounts append(SeriesRef ref, std::span<const P> points, std::vector<Point>& accepted);
  // get_or_create(labels, fingerprint) and append(ref, points, accepted) in one lookup, under one
  // lock: what ingestion does per series and request. Fails as get_or_create does (nothing is
  // appended then). `labels_id`: ingest::Series::labels_id (0: none), a number that stands for
  // these labels and no others; the labels are compared with the series' once per id, not per call.
  template <class P>
  core::Result<SeriesAppend> append(const core::Labels& labels, uint64_t fingerprint, std::span<const P> points,
                                    std::vector<Point>& accepted, uint64_t labels_id = 0);

  // Starts loading what append(labels, fingerprint, ...) will read for the series of these
  // fingerprints, for a caller about to append to them one after another: a hint, with no effect
  // on any result (with the options' fingerprint seam set, it loads the wrong slots, harmlessly). Why: a series' hash
  // slot, its entry, its labels and its head chunk are read one after another and, under ingest load, none is in the
  // CPU caches; asked for level by level across a few dozen series, their misses overlap instead of queueing.
  void prefetch(std::span<const uint64_t> fingerprints) const;

  // Sorted refs of the series matching all matchers. `__name__` is an ordinary label.
  std::vector<SeriesRef> select(const std::vector<core::Matcher>& matchers) const;

  // Clears `out` and fills it with the samples of `ref` with from <= ts <= to, oldest first;
  // false (and `out` empty) for an unknown ref.
  // Why a caller buffer: rules read a window on every arriving sample; reusing one vector keeps
  // that path free of allocations once the vector has grown to the window size.
  bool samples(SeriesRef ref, core::Timestamp from, core::Timestamp to, std::vector<Point>& out) const;
  // The newest sample of `ref`, if it has one.
  std::optional<Point> latest(SeriesRef ref) const;

  GcResult gc(core::Timestamp now);
  SeriesStoreStats stats() const;
  size_t series_count() const;  // cheap: what stats().series would say
  const SeriesStoreOptions& options() const { return options_; }

  // Writes every series and chunk to `file` atomically: a temp file beside it, fsync, rename,
  // fsync of the directory. The lock is held only while the bytes are copied into memory.
  core::Status snapshot(const std::filesystem::path& file) const;
  // The bytes snapshot() writes, for a caller that must capture them at a moment of its choosing
  // (the engine, under its lock, together with the rule state) and write them later.
  std::string snapshot_bytes() const;
  // Restores a store from a snapshot. A missing file is kNotFound; a damaged or truncated one is
  // kInvalidArgument naming the byte offset; nothing is half-loaded. Series beyond max_series
  // are skipped and counted as rejected.
  static core::Result<std::unique_ptr<SeriesStore>> load(const std::filesystem::path& file, SeriesStoreOptions options,
                                                         core::MetricsRegistry& metrics);

 private:
  struct Series;
  struct Metrics {
    explicit Metrics(core::MetricsRegistry& registry);
    core::Gauge& series;
    core::Gauge& chunks;
    core::Gauge& chunk_bytes;
    core::Counter& samples_appended;
    core::Counter& out_of_order;
    core::Counter& duplicates;
    core::Counter& unknown_series;
    core::Counter& series_created;
    core::Counter& series_removed;
    core::Counter& series_rejected;
    core::Counter& chunks_removed;
  };

  Series* find_locked(SeriesRef ref) const;
  Series* find_locked(const core::Labels& labels, uint64_t fingerprint) const;
  core::Result<Series*> create_locked(const core::Labels& labels, uint64_t fingerprint, SeriesRef ref);
  // The series of `labels`, created if needed (with the next ref).
  core::Result<Series*> get_or_create_locked(const core::Labels& labels, uint64_t fingerprint, uint64_t labels_id = 0);
  static SeriesRef ref_of(const Series& s);
  template <class P>
  AppendCounts append_points_locked(Series* s, std::span<const P> points, std::vector<Point>& accepted);
  void cut_head_locked(Series& s);
  // Appends a sample known to be newer than the series' last one; cuts a chunk when full.
  void append_locked(Series& s, int64_t t, double value);
  // Checks order and appends; `s` null is an unknown series. Counts nothing in metrics_.
  AppendResult append_checked_locked(Series* s, int64_t t, double value);
  // Updates the metrics after appends and drops (counted per kind).
  void publish_append_locked(const AppendCounts& counts);
  void remove_fingerprint_locked(uint64_t fingerprint, SeriesRef ref);
  void publish_gauges_locked();
  uint64_t fingerprint_of(const core::Labels& labels) const {
    return options_.fingerprint ? options_.fingerprint(labels) : labels.fingerprint();
  }

  const SeriesStoreOptions options_;
  Metrics metrics_;

  mutable std::mutex mu_;
  std::unordered_map<SeriesRef, std::unique_ptr<Series>> series_;
  // Interning: fingerprint → the first series with it; further series whose labels differ but
  // whose fingerprint collides go to collisions_, so labels are always compared before reuse.
  // Why a flat map to the series itself: this lookup runs per series and request; one probe in
  // one array, then the series, instead of two node-based lookups (fingerprint → ref → series).
  core::FlatU64Map<Series*> by_fingerprint_;
  std::unordered_multimap<uint64_t, SeriesRef> collisions_;
  PostingsIndex postings_;
  uint64_t next_ref_ = 1;
  size_t chunk_count_ = 0;
  size_t encoded_bytes_ = 0;
  uint64_t sample_count_ = 0;
};

template <class P>
AppendCounts SeriesStore::append_points_locked(Series* s, std::span<const P> points, std::vector<Point>& accepted) {
  AppendCounts counts;
  for (const P& p : points) {
    switch (append_checked_locked(s, core::to_unix_ms(p.ts), p.value)) {
      case AppendResult::kOk:
        ++counts.ok;
        accepted.push_back(Point{p.ts, p.value});
        break;
      case AppendResult::kOutOfOrder: ++counts.out_of_order; break;
      case AppendResult::kDuplicate: ++counts.duplicate; break;
      case AppendResult::kUnknownSeries: ++counts.unknown_series; break;
    }
  }
  publish_append_locked(counts);
  return counts;
}

template <class P>
AppendCounts SeriesStore::append(SeriesRef ref, std::span<const P> points, std::vector<Point>& accepted) {
  std::lock_guard lock(mu_);
  return append_points_locked(find_locked(ref), points, accepted);
}

template <class P>
core::Result<SeriesAppend> SeriesStore::append(const core::Labels& labels, uint64_t fingerprint,
                                               std::span<const P> points, std::vector<Point>& accepted,
                                               uint64_t labels_id) {
  if (labels.empty()) return std::unexpected(core::Error::invalid_argument("a series needs at least one label"));
  const uint64_t fp = options_.fingerprint ? options_.fingerprint(labels) : fingerprint;
  std::lock_guard lock(mu_);
  Series* s = TOCSIN_TRY(get_or_create_locked(labels, fp, labels_id));
  return SeriesAppend{ref_of(*s), append_points_locked(s, points, accepted)};
}

}  // namespace tocsin::tsdb
