#include "detect/snapshot_codec.h"

#include <fmt/format.h>

#include <bit>
#include <cassert>
#include <cmath>

namespace tocsin::detect {
namespace {

constexpr size_t kTagSize = 4;
constexpr size_t kChecksumSize = 4;

uint32_t fnv1a32(std::string_view bytes) {
  uint32_t h = 2166136261u;
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

}  // namespace

SnapshotWriter::SnapshotWriter(std::string_view tag, uint8_t version) {
  assert(tag.size() == kTagSize && "snapshot tags are 4 bytes");
  bytes_.append(tag);
  u8(version);
}

void SnapshotWriter::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
}

void SnapshotWriter::f64(double v) { u64(std::bit_cast<uint64_t>(v)); }

std::string SnapshotWriter::finish() && {
  const uint32_t sum = fnv1a32(bytes_);
  for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(sum >> (8 * i)));
  return std::move(bytes_);
}

core::Error SnapshotReader::corrupt(std::string_view what) {
  return core::Error::invalid_argument(fmt::format("detector snapshot rejected: {}", what));
}

core::Result<SnapshotReader> SnapshotReader::open(std::string_view bytes, std::string_view tag, uint8_t version) {
  if (bytes.size() < kTagSize + 1 + kChecksumSize) return std::unexpected(corrupt("too short"));
  if (bytes.substr(0, kTagSize) != tag) {
    return std::unexpected(corrupt(fmt::format("not a \"{}\" snapshot", tag)));
  }
  const auto body = bytes.substr(0, bytes.size() - kChecksumSize);
  uint32_t stored = 0;
  for (size_t i = 0; i < kChecksumSize; ++i) {
    stored |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[body.size() + i])) << (8 * i);
  }
  if (stored != fnv1a32(body)) return std::unexpected(corrupt("checksum mismatch"));
  const auto v = static_cast<uint8_t>(bytes[kTagSize]);
  if (v != version) return std::unexpected(corrupt(fmt::format("version {} (this build reads {})", v, version)));
  return SnapshotReader(body.substr(kTagSize + 1));
}

std::optional<uint8_t> SnapshotReader::u8() {
  if (pos_ >= payload_.size()) return std::nullopt;
  return static_cast<uint8_t>(payload_[pos_++]);
}

std::optional<uint64_t> SnapshotReader::u64() {
  if (payload_.size() - pos_ < 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(payload_[pos_++])) << (8 * i);
  return v;
}

std::optional<int64_t> SnapshotReader::i64() {
  auto v = u64();
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v);
}

std::optional<double> SnapshotReader::f64() {
  auto v = u64();
  if (!v) return std::nullopt;
  return std::bit_cast<double>(*v);
}

std::optional<double> SnapshotReader::finite_f64() {
  auto v = f64();
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return v;
}

std::optional<uint64_t> SnapshotReader::count(uint64_t max) {
  auto v = u64();
  if (!v || *v > max) return std::nullopt;
  return v;
}

core::Status SnapshotReader::finish() const {
  if (pos_ != payload_.size()) return std::unexpected(corrupt("trailing bytes"));
  return {};
}

}  // namespace tocsin::detect
