// The byte format of detector snapshots: a 4-byte kind tag, a 1-byte version, little-endian
// fixed-width fields, and a trailing FNV-1a 32-bit checksum of everything before it. A reader
// rejects a wrong tag or version, a bad checksum, a short read and trailing bytes, so restore()
// never accepts garbage or another detector's state.
// Thread-safety: value types, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tocsin::detect {

class SnapshotWriter {
 public:
  SnapshotWriter(std::string_view tag, uint8_t version);
  void u8(uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void u64(uint64_t v);
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f64(double v);
  void str(std::string_view s) {
    u64(s.size());
    bytes_.append(s);
  }
  // The finished snapshot (appends the checksum).
  std::string finish() &&;

 private:
  std::string bytes_;
};

class SnapshotReader {
 public:
  // Checks tag, version and checksum; the fields are read afterwards.
  static core::Result<SnapshotReader> open(std::string_view bytes, std::string_view tag, uint8_t version);

  // std::nullopt once the payload is exhausted.
  std::optional<uint8_t> u8();
  std::optional<uint64_t> u64();
  std::optional<int64_t> i64();
  std::optional<double> f64();
  // A double that must be finite (NaN or infinity in a detector's state means corruption).
  std::optional<double> finite_f64();
  std::optional<std::string_view> str() {
    auto n = u64();
    if (!n || *n > payload_.size() - pos_) return std::nullopt;
    auto s = payload_.substr(pos_, *n);
    pos_ += *n;
    return s;
  }
  // A count that must not exceed `max` (guards allocations against hostile input).
  std::optional<uint64_t> count(uint64_t max);
  // An error unless every payload byte was read.
  core::Status finish() const;
  static core::Error corrupt(std::string_view what);

 private:
  explicit SnapshotReader(std::string_view payload) : payload_(payload) {}
  std::string_view payload_;
  size_t pos_ = 0;
};

}  // namespace tocsin::detect
