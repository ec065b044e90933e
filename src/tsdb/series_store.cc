#include "tsdb/series_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

#include "tsdb/series_store_internal.h"

namespace tocsin::tsdb {
SeriesStore::Metrics::Metrics(core::MetricsRegistry& r)
    : series(r.gauge("tocsin_tsdb_series", "Series held in the series store.")),
      chunks(r.gauge("tocsin_tsdb_chunks", "Compressed chunks held in the series store.")),
      chunk_bytes(r.gauge("tocsin_tsdb_chunk_bytes", "Bytes of compressed sample data in the series store.")),
      samples_appended(r.counter("tocsin_tsdb_samples_appended_total", "Samples appended to the series store.")),
      out_of_order(r.counter("tocsin_tsdb_samples_out_of_order_total",
                             "Samples dropped because they were older than their series' newest sample.")),
      duplicates(r.counter("tocsin_tsdb_samples_duplicate_total",
                           "Samples dropped because their series already had a sample at that timestamp.")),
      unknown_series(r.counter("tocsin_tsdb_samples_unknown_series_total",
                               "Samples dropped because their series ref was unknown (removed by retention).")),
      series_created(r.counter("tocsin_tsdb_series_created_total", "Series created in the series store.")),
      series_removed(r.counter("tocsin_tsdb_series_removed_total", "Series removed by retention.")),
      series_rejected(r.counter("tocsin_tsdb_series_rejected_total",
                                "New series rejected because the store held max_series series.")),
      chunks_removed(r.counter("tocsin_tsdb_chunks_removed_total", "Chunks dropped by retention.")) {}

SeriesStore::SeriesStore(SeriesStoreOptions options, core::MetricsRegistry& metrics)
    : options_(options), metrics_(metrics) {
  publish_gauges_locked();
}

SeriesStore::~SeriesStore() = default;

SeriesStore::Series* SeriesStore::find_locked(SeriesRef ref) const {
  auto it = series_.find(ref);
  return it == series_.end() ? nullptr : it->second.get();
}

void SeriesStore::prefetch(std::span<const uint64_t> fingerprints) const {
  std::lock_guard lock(mu_);
  for (const uint64_t fp : fingerprints) by_fingerprint_.prefetch(fp);
  for (const uint64_t fp : fingerprints) {
    if (Series* const* s = by_fingerprint_.find(fp)) {
      __builtin_prefetch(*s);
      __builtin_prefetch(reinterpret_cast<const char*>(*s) + 64);
    }
  }
  for (const uint64_t fp : fingerprints) {
    if (Series* const* s = by_fingerprint_.find(fp)) {
      __builtin_prefetch((*s)->labels.storage());
      __builtin_prefetch((*s)->head.write_position());
    }
  }
}

SeriesStore::Series* SeriesStore::find_locked(const core::Labels& labels, uint64_t fingerprint) const {
  Series* const* first = by_fingerprint_.find(fingerprint);
  if (first == nullptr) return nullptr;
  if ((*first)->labels.equals(labels)) return *first;
  auto [begin, end] = collisions_.equal_range(fingerprint);
  for (auto c = begin; c != end; ++c) {
    Series* s = find_locked(c->second);
    if (s->labels.equals(labels)) return s;
  }
  return nullptr;
}

core::Result<SeriesRef> SeriesStore::get_or_create(const core::Labels& labels) {
  return get_or_create(labels, options_.fingerprint ? 0 : labels.fingerprint());
}

core::Result<SeriesRef> SeriesStore::get_or_create(const core::Labels& labels, uint64_t fingerprint) {
  if (labels.empty()) return std::unexpected(core::Error::invalid_argument("a series needs at least one label"));
  const uint64_t fp = options_.fingerprint ? options_.fingerprint(labels) : fingerprint;
  std::lock_guard lock(mu_);
  Series* s = TOCSIN_TRY(get_or_create_locked(labels, fp));
  return s->ref;
}

SeriesRef SeriesStore::ref_of(const Series& s) { return s.ref; }

core::Result<SeriesStore::Series*> SeriesStore::get_or_create_locked(const core::Labels& labels, uint64_t fingerprint,
                                                                     uint64_t labels_id) {
  // Why: comparing the labels byte for byte was 3 % of the server's CPU under remote_write load,
  // for series found again request after request.
  if (labels_id != 0) {
    Series* const* first = by_fingerprint_.find(fingerprint);
    if (first != nullptr && (*first)->labels_id == labels_id) return *first;
  }
  Series* s = find_locked(labels, fingerprint);
  if (s == nullptr) {
    s = TOCSIN_TRY(create_locked(labels, fingerprint, SeriesRef{next_ref_}));
    ++next_ref_;
  }
  if (labels_id != 0) s->labels_id = labels_id;
  return s;
}

core::Result<SeriesStore::Series*> SeriesStore::create_locked(const core::Labels& labels, uint64_t fingerprint, SeriesRef ref) {
  if (series_.size() >= options_.max_series) {
    metrics_.series_rejected.inc();
    return std::unexpected(core::Error::failed_precondition(
        fmt::format("series store is full ({} series, max_series); rejected {}", series_.size(), labels.to_string())));
  }
  auto s = std::make_unique<Series>();
  s->labels = core::PackedLabels(labels);
  s->fingerprint = fingerprint;
  s->ref = ref;
  s->head.reset(kInitialHeadBytes);
  Series* const raw = s.get();
  if (auto [first, inserted] = by_fingerprint_.try_emplace(fingerprint); inserted) {
    *first = raw;
  } else {
    collisions_.emplace(fingerprint, ref);
  }
  postings_.add(ref, labels);
  series_.emplace(ref, std::move(s));
  metrics_.series_created.inc();
  metrics_.series.set(static_cast<double>(series_.size()));
  return raw;
}

std::optional<SeriesRef> SeriesStore::find(const core::Labels& labels) const {
  const uint64_t fp = fingerprint_of(labels);
  std::lock_guard lock(mu_);
  const Series* s = find_locked(labels, fp);
  if (s == nullptr) return std::nullopt;
  return s->ref;
}

std::optional<core::Labels> SeriesStore::labels(SeriesRef ref) const {
  std::lock_guard lock(mu_);
  const Series* s = find_locked(ref);
  if (s == nullptr) return std::nullopt;
  return s->labels.unpack();
}

void SeriesStore::cut_head_locked(Series& s) {
  SealedChunk sealed;
  sealed.min_t = s.head.min_t();
  sealed.max_t = s.head.max_t();
  sealed.count = s.head.count();
  const auto bytes = s.head.bytes();
  sealed.size = static_cast<uint32_t>(bytes.size());
  sealed.data = std::make_unique<uint8_t[]>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), sealed.data.get());
  s.chunks.push_back(std::move(sealed));
  // The head's bytes now live in the sealed chunk: encoded_bytes_ is unchanged, chunk_count_ too
  // (the head counted as a chunk while it was non-empty; the new head is empty).
  s.head.reset(kInitialHeadBytes);
}

void SeriesStore::append_locked(Series& s, int64_t t, double value) {
  if (s.head.full() && !(s.head.count() < kMaxChunkSamples && s.head.grow(kHeadGrowBytes))) cut_head_locked(s);
  if (s.head.empty()) ++chunk_count_;
  const size_t before = s.head.size_bytes();
  s.head.append(t, value);
  encoded_bytes_ += s.head.size_bytes() - before;
  ++sample_count_;
}

AppendResult SeriesStore::append_checked_locked(Series* s, int64_t t, double value) {
  if (s == nullptr) return AppendResult::kUnknownSeries;
  if (auto last = s->last_t()) {
    if (t == *last) return AppendResult::kDuplicate;
    if (t < *last) return AppendResult::kOutOfOrder;
  }
  append_locked(*s, t, value);
  return AppendResult::kOk;
}

void SeriesStore::publish_append_locked(const AppendCounts& counts) {
  if (counts.ok > 0) {
    metrics_.samples_appended.inc(static_cast<double>(counts.ok));
    metrics_.chunk_bytes.set(static_cast<double>(encoded_bytes_));
    metrics_.chunks.set(static_cast<double>(chunk_count_));
  }
  if (counts.out_of_order > 0) metrics_.out_of_order.inc(static_cast<double>(counts.out_of_order));
  if (counts.duplicate > 0) metrics_.duplicates.inc(static_cast<double>(counts.duplicate));
  if (counts.unknown_series > 0) metrics_.unknown_series.inc(static_cast<double>(counts.unknown_series));
}

AppendResult SeriesStore::append(SeriesRef ref, core::Timestamp ts, double value) {
  const int64_t t = core::to_unix_ms(ts);
  std::lock_guard lock(mu_);
  const AppendResult result = append_checked_locked(find_locked(ref), t, value);
  AppendCounts counts;
  switch (result) {
    case AppendResult::kOk: counts.ok = 1; break;
    case AppendResult::kOutOfOrder: counts.out_of_order = 1; break;
    case AppendResult::kDuplicate: counts.duplicate = 1; break;
    case AppendResult::kUnknownSeries: counts.unknown_series = 1; break;
  }
  publish_append_locked(counts);
  return result;
}

std::vector<SeriesRef> SeriesStore::select(const std::vector<core::Matcher>& matchers) const {
  std::lock_guard lock(mu_);
  return postings_.select(matchers, [this](SeriesRef r) { return find_locked(r)->labels.unpack(); });
}

bool SeriesStore::samples(SeriesRef ref, core::Timestamp from, core::Timestamp to, std::vector<Point>& out) const {
  out.clear();
  const int64_t lo = core::to_unix_ms(from);
  const int64_t hi = core::to_unix_ms(to);
  std::lock_guard lock(mu_);
  const Series* s = find_locked(ref);
  if (s == nullptr) return false;
  if (lo > hi) return true;
  auto read = [&](std::span<const uint8_t> bytes, int64_t min_t, uint16_t count) {
    ChunkIterator it(bytes, min_t, count);
    while (it.next()) {
      if (it.t() > hi) break;
      if (it.t() >= lo) out.push_back(Point{core::from_unix_ms(it.t()), it.value()});
    }
    assert(!it.corrupt() && "a chunk in memory failed to decode: encoder and decoder disagree");
  };
  // Sealed chunks are in time order: skip those that end before `from` with a binary search.
  auto first =
      std::partition_point(s->chunks.begin(), s->chunks.end(), [lo](const SealedChunk& c) { return c.max_t < lo; });
  for (auto c = first; c != s->chunks.end() && c->min_t <= hi; ++c) read({c->data.get(), c->size}, c->min_t, c->count);
  if (!s->head.empty() && s->head.max_t() >= lo && s->head.min_t() <= hi) {
    read(s->head.bytes(), s->head.min_t(), s->head.count());
  }
  return true;
}

std::optional<Point> SeriesStore::latest(SeriesRef ref) const {
  std::lock_guard lock(mu_);
  const Series* s = find_locked(ref);
  if (s == nullptr || s->head.empty()) return std::nullopt;
  return Point{core::from_unix_ms(s->head.max_t()), s->head.last_value()};
}

void SeriesStore::remove_fingerprint_locked(uint64_t fingerprint, SeriesRef ref) {
  Series** first = by_fingerprint_.find(fingerprint);
  if (first != nullptr && (*first)->ref == ref) {
    // Promote a colliding series, if any, so that lookups keep finding it.
    auto c = collisions_.find(fingerprint);
    if (c == collisions_.end()) {
      by_fingerprint_.erase(fingerprint);
    } else {
      *first = find_locked(c->second);
      collisions_.erase(c);
    }
    return;
  }
  auto [begin, end] = collisions_.equal_range(fingerprint);
  for (auto c = begin; c != end; ++c) {
    if (c->second == ref) {
      collisions_.erase(c);
      return;
    }
  }
}

GcResult SeriesStore::gc(core::Timestamp now) {
  const int64_t cutoff = core::to_unix_ms(now - options_.retention);
  GcResult result;
  std::lock_guard lock(mu_);
  std::vector<SeriesRef> dead;
  for (auto& [ref, s] : series_) {
    size_t drop = 0;
    while (drop < s->chunks.size() && s->chunks[drop].max_t < cutoff) {
      encoded_bytes_ -= s->chunks[drop].size;
      sample_count_ -= s->chunks[drop].count;
      ++drop;
    }
    if (drop > 0) s->chunks.erase(s->chunks.begin(), s->chunks.begin() + static_cast<std::ptrdiff_t>(drop));
    const bool had_head = !s->head.empty();
    if (had_head && s->head.max_t() < cutoff) {
      // The head holds the newest samples: once it is too old, so is everything.
      assert(s->chunks.empty() && "sealed chunks are older than the head");
      encoded_bytes_ -= s->head.size_bytes();
      sample_count_ -= s->head.count();
      s->head.reset(kInitialHeadBytes);
      ++drop;
    }
    result.chunks_removed += drop;
    chunk_count_ -= drop;
    if (!s->head.empty()) continue;
    // A series that never received a sample survives one gc, so that a ref just returned by
    // get_or_create is not removed before its first append.
    if (had_head || s->seen_empty_by_gc) {
      dead.push_back(ref);
    } else {
      s->seen_empty_by_gc = true;
    }
  }
  std::sort(dead.begin(), dead.end());
  std::vector<core::Labels> dead_labels;
  dead_labels.reserve(dead.size());
  for (SeriesRef ref : dead) dead_labels.push_back(series_.at(ref)->labels.unpack());
  std::vector<std::pair<SeriesRef, const core::Labels*>> removed;
  removed.reserve(dead.size());
  for (size_t i = 0; i < dead.size(); ++i) removed.emplace_back(dead[i], &dead_labels[i]);
  postings_.remove(removed);
  for (SeriesRef ref : dead) {
    remove_fingerprint_locked(series_.at(ref)->fingerprint, ref);
    series_.erase(ref);
  }
  result.series_removed = dead.size();
  metrics_.chunks_removed.inc(static_cast<double>(result.chunks_removed));
  metrics_.series_removed.inc(static_cast<double>(result.series_removed));
  publish_gauges_locked();
  return result;
}

size_t SeriesStore::series_count() const {
  std::lock_guard lock(mu_);
  return series_.size();
}

SeriesStoreStats SeriesStore::stats() const {
  std::lock_guard lock(mu_);
  SeriesStoreStats st;
  st.series = series_.size();
  st.chunks = chunk_count_;
  st.samples = sample_count_;
  st.encoded_bytes = encoded_bytes_;
  for (const auto& [ref, s] : series_) {
    for (const auto& c : s->chunks) st.allocated_bytes += c.size;
    st.allocated_bytes += s->head.capacity_bytes();
  }
  return st;
}

void SeriesStore::publish_gauges_locked() {
  metrics_.series.set(static_cast<double>(series_.size()));
  metrics_.chunks.set(static_cast<double>(chunk_count_));
  metrics_.chunk_bytes.set(static_cast<double>(encoded_bytes_));
}

}  // namespace tocsin::tsdb
