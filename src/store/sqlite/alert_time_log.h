// The alert time log: an append-only file next to the SQLite database that makes re-sent alerts
// durable without a SQLite write. A re-send that changes only an alert's end and receipt times
// (Prometheus re-sends every firing alert each evaluation interval) is appended here as a
// 25-byte entry, in one framed, checksummed record per transaction, and fdatasynced before the
// transaction returns; the SQLite rows are brought up to date later, in one transaction per
// checkpoint (SqliteStore decides when: about once a minute, the log grew past 16 MiB, a
// transaction wrote an alert row the log also holds or deletes by their times, the store closed,
// the store opened).
//
// Which log records the database already holds is decided by epochs: the file starts with a
// header naming its epoch; a checkpoint writes the log's epoch into the database
// (`alert_time_log.applied_epoch`) in the same transaction as the rows, and then starts the file
// again with the next epoch. At open, a log whose epoch is not above the applied one is stale (a
// crash between the checkpoint's commit and the reset) and is ignored.
//
// Format (little-endian): header = "TCATLOG1" (8 bytes), epoch (u64), CRC-32C of those 16 bytes
// (u32); then records = payload length (u32), CRC-32C of the payload (u32), payload = entries of
// fingerprint (u64), ends_at in unix ms (i64, INT64_MIN for none), updated_at in unix ms (i64),
// flags (u8: bit 0 = ends_at_from_timeout). A torn or damaged record ends the log where it starts:
// it was never acknowledged (its fdatasync had not returned).
//
// The file is zero-filled a MiB ahead of its records (the append that passes the end writes its
// record and the next MiB of zeros at once), so that most appends overwrite blocks the file
// already has: their fdatasync then writes no new size and no block allocation (on ext4 without a
// journal those were extra synchronous metadata writes per request; the inode may still be written
// for its mtime). A record header of zeros (length 0, which no record has) is where the records end.
//
// The file is locked (flock) by the process that opened it: a second process opening the same
// database gets no log (open() returns nullptr) and writes its re-sends to SQLite directly.
// Thread-safety: none; SqliteStore serialises access under its mutex.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace tocsin::store::sqlite {

// The log of database file F is F + this suffix (tocsin.db-alert-times).
inline constexpr std::string_view kAlertTimeLogSuffix = "-alert-times";

struct AlertTimes {
  std::optional<core::Timestamp> ends_at;
  bool ends_at_from_timeout = false;
  core::Timestamp updated_at{};
};

struct AlertTimeEntry {
  uint64_t fingerprint = 0;
  AlertTimes times;
};

class AlertTimeLog {
 public:
  // What the file held when opened: its epoch (0 when it had no valid header) and every intact
  // entry in order, up to the first torn record.
  struct Contents {
    uint64_t epoch = 0;
    std::vector<AlertTimeEntry> entries;
    bool torn_tail = false;
  };

  // Opens (creating) and locks `path`. nullptr when another process holds the lock.
  static core::Result<std::unique_ptr<AlertTimeLog>> open(const std::filesystem::path& path);
  ~AlertTimeLog();
  AlertTimeLog(const AlertTimeLog&) = delete;
  AlertTimeLog& operator=(const AlertTimeLog&) = delete;

  core::Result<Contents> read() const;
  // Empties the file and starts it with `epoch`, durably.
  core::Status reset(uint64_t epoch);
  // Appends one record with `entries` and fdatasyncs it. On failure the file is cut back to where
  // it was (a failed append leaves nothing behind it); when even that fails, broken() is true
  // and nothing more may be appended until reset() succeeds.
  core::Status append(std::span<const AlertTimeEntry> entries);

  uint64_t epoch() const { return epoch_; }
  uint64_t size_bytes() const { return size_; }  // the header and the records (not the zeros after)
  bool broken() const { return broken_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  AlertTimeLog(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t epoch_ = 0;
  uint64_t size_ = 0;
  uint64_t allocated_ = 0;  // the file's size: size_ and the zeros after it
  bool broken_ = true;  // until the first reset()
  std::string buffer_;  // reused for every append
};

}  // namespace tocsin::store::sqlite
