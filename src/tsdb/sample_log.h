// The sample log: a write-ahead log of the samples the series store accepted since the last
// snapshot, so that a process crash (kill -9) loses none of them. A restart loads the snapshots,
// then replays the log through the same append-and-evaluate path, which puts back both the
// recent window and what the detectors learned from it.
//
// Files: segments `dir/00000001.log`, `dir/00000002.log`, … written in order. The owner starts a
// new segment when it takes a snapshot (rotate()) and deletes the older ones once the snapshot is
// durable (remove_before()); so the log holds only what the snapshots may lack.
//
// Durability: commit() hands each batch to the kernel with one write(2), so once it returns the
// batch survives the process being killed. sync() (fdatasync; the owner calls it about once a
// second) makes it survive a machine crash too: a power loss may lose the last second of samples.
//
// Segment format (version 1; integers little-endian, uvarint = LEB128, varint = zigzag LEB128):
//   "TOCSINWL" u32 version u32 flags(0), then records:
//   u8 type  u32 payload_bytes  payload  u32 CRC-32C of (type, payload_bytes, payload)
//   type 1, series: uvarint ref, uvarint label_count, {uvarint len, name, uvarint len, value}…
//     Written before the first samples of `ref` in each segment, so a segment stands alone.
//   type 2, samples: one per batch; groups of one series' points until the end of the payload:
//     uvarint ref, uvarint n (≥ 1), varint t0 (unix ms), f64 bits v0, (n−1) × {uvarint Δt ms, f64 bits v}
// Replay reads a segment up to its first torn or damaged record (a crash mid-write leaves at most
// the last one torn), skips the rest of that segment, counts and logs it, and goes on with the
// next segment.
//
// Thread-safety: replay(), add(), commit() and rotate() are called by one thread at a time (the
// engine holds its lock). sync() and remove_before() may run on any thread at the same time as
// those: they take a short internal lock and do their I/O outside it.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/labels.h"
#include "core/metrics.h"
#include "core/result.h"
#include "tsdb/gorilla.h"
#include "tsdb/postings.h"

namespace tocsin::tsdb {

struct SampleLogReplay {
  size_t segments = 0;
  size_t records = 0;          // good records read
  uint64_t samples = 0;        // points handed to the replay function
  size_t damaged_records = 0;  // torn or failing their CRC: each ends its segment's replay
};

class SampleLog {
 public:
  // Opens `dir` (created if missing) and registers tocsin_sample_log_* metrics in `metrics`,
  // which must outlive the log. New records go to a segment numbered after every one present;
  // the present ones stay for replay() and for remove_before().
  static core::Result<std::unique_ptr<SampleLog>> open(const std::filesystem::path& dir,
                                                       core::MetricsRegistry& metrics);
  ~SampleLog();
  SampleLog(const SampleLog&) = delete;
  SampleLog& operator=(const SampleLog&) = delete;

  // Calls fn with each series' points in the segments present at open(), oldest first, in the
  // order they were added. Only a directory that cannot be read is an error; damaged records are
  // counted (in the result and in tocsin_sample_log_damaged_records_total) and logged.
  using ReplayFn = std::function<void(const core::Labels& labels, std::span<const Point> points)>;
  core::Result<SampleLogReplay> replay(const ReplayFn& fn);

  // Adds one series' points, in increasing time order, to the batch being built. `ref` names
  // `labels` for this log's lifetime (the series store's ref does).
  void add(SeriesRef ref, const core::Labels& labels, std::span<const Point> points);
  // Writes the batch with one write(2) (the segment's file is created by its first batch) and
  // starts the next one. On an error the batch is not in the log (counted in
  // tocsin_sample_log_write_errors_total) and the next commit starts a new segment.
  core::Status commit();
  // Starts a new segment (when the current one holds anything) and returns the number of the
  // current segment afterwards: the segments before it hold everything committed so far.
  uint64_t rotate();
  // Deletes the segments numbered below `segment`.
  core::Status remove_before(uint64_t segment);
  // Makes everything committed so far durable (fdatasync of the segments written since the last
  // sync, and of the directory after a segment was created); a no-op when nothing is new.
  core::Status sync();

  // The segment files in `dir`, oldest first.
  static std::vector<std::pair<uint64_t, std::filesystem::path>> segments(const std::filesystem::path& dir);
  static std::filesystem::path segment_path(const std::filesystem::path& dir, uint64_t segment);

 private:
  // A growable byte buffer that, unlike std::string, does not zero what it reserves.
  class Buffer {
   public:
    // Room for `n` more bytes; write them at the returned pointer, then call set_end().
    char* reserve(size_t n);
    void set_end(char* end) { size_ = static_cast<size_t>(end - data_.get()); }
    void append(std::string_view bytes);
    void clear() { size_ = 0; }
    char* data() { return data_.get(); }
    size_t size() const { return size_; }
    std::string_view view() const { return {data_.get(), size_}; }

   private:
    std::unique_ptr<char[]> data_;
    size_t size_ = 0;
    size_t capacity_ = 0;
  };
  struct Metrics {
    explicit Metrics(core::MetricsRegistry& registry);
    core::Counter& bytes_written;
    core::Counter& write_errors;
    core::Counter& damaged_records;
    core::Counter& sync_errors;
  };

  SampleLog(std::filesystem::path dir, uint64_t first_segment, core::MetricsRegistry& metrics);
  // Drops the batch and leaves the current segment (whose tail may now be torn).
  void abandon_segment();
  void clear_batch();

  const std::filesystem::path dir_;
  const uint64_t replay_before_;  // segments below this were present at open()
  Metrics metrics_;

  // Writer state (one thread at a time, see above).
  // Refs with a series record in this segment, one bit per ref (refs are small sequential ids:
  // a bitmap of all refs issued is 125 kB per million series and needs no hashing per series).
  std::vector<uint64_t> series_written_;
  Buffer series_;                                // series records of the batch
  Buffer samples_;                               // the samples record of the batch, header first
  bool fresh_segment_ = true;                    // the segment's file does not exist yet

  // Shared with sync() and remove_before().
  std::mutex files_mu_;
  uint64_t segment_;  // the current segment; changed under files_mu_
  int fd_ = -1;       // its file; -1 until its first batch; changed under files_mu_
  struct Retired {
    uint64_t segment;
    int fd;
  };
  std::vector<Retired> unsynced_;     // closed segments not yet synced
  bool directory_dirty_ = false;      // a segment was created since the last sync
  std::atomic<uint64_t> written_{0};  // bytes committed, ever
  uint64_t synced_ = 0;               // written_ as of the last sync
};

}  // namespace tocsin::tsdb
