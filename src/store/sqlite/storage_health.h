// Whether the data dir takes writes. The SQLite store reports here each write the disk refused
// (full, read-only, an I/O error, a file past the process's size limit) and each write that went
// through; the server refuses writes with the current problem while there is one, reports it on
// /readyz and in /metrics, and calls probe() once a second until a write goes through again.
// An episode (from the first refused write to the next one that works) is logged once at error
// when it starts and once at info when it ends, not per request.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace tocsin::store::sqlite {

class StorageHealth {
 public:
  // Empty while writes work; else why they do not, e.g. "the data dir /var/lib/tocsin is full
  // (SQLITE_FULL): insert_attempt: sqlite: database or disk is full".
  std::string problem() const;
  // Writes the disk refused since start.
  uint64_t refused_writes() const { return refused_.load(std::memory_order_relaxed); }
  // Flushes of the WAL the store made itself (an fdatasync each; one may cover several
  // writers' commits) since start.
  uint64_t wal_flushes() const { return flushes_.load(std::memory_order_relaxed); }
  // A real write that changes nothing (the store sets it up), tried while there is a problem:
  // when it goes through, the episode ends.
  void probe();

  // For the store.
  void refused(const std::string& message);
  void worked();
  void flushed() { flushes_.fetch_add(1, std::memory_order_relaxed); }
  void set_probe(std::function<core::Status()> probe);

 private:
  mutable std::mutex mu_;
  std::string problem_;
  std::function<core::Status()> probe_;
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> flushes_{0};
};

// open_sqlite_store (sqlite_store.h) that reports to `health` (which may be null, and must
// outlive the store). `sends_notifications`: for the process that creates and sends
// notifications (the server), which can send one before its transaction is durable; a start on an
// existing database then moves the notification id sequence on, durably, so that no id a process
// that died handed out is given again (sqlite_store.cc). Tools that only read or copy a store
// leave it as it is.
core::Result<std::unique_ptr<store::Store>> open_sqlite_store(const std::filesystem::path& db_file,
                                                              StorageHealth* health, bool sends_notifications = false);

}  // namespace tocsin::store::sqlite
