// Little helpers to write and read compact, versioned binary state (snapshots): varints,
// fixed-width integers and doubles, length-prefixed strings. The reader never reads past its
// input: every read reports failure instead, so a truncated or corrupted file is an error, not a
// crash.
// Thread-safety: value types; one writer/reader per thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace tocsin::core {

class BinaryWriter {
 public:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void i64(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }  // zigzag
  void u64(uint64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}
  std::optional<uint64_t> varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return std::nullopt;
      const auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return std::nullopt;
  }
  std::optional<int64_t> i64() {
    auto v = varint();
    if (!v) return std::nullopt;
    return static_cast<int64_t>((*v >> 1) ^ (~(*v & 1) + 1));
  }
  std::optional<uint64_t> u64() { return fixed<uint64_t>(); }
  std::optional<double> f64() { return fixed<double>(); }
  std::optional<std::string_view> str() {
    auto n = varint();
    if (!n || *n > in_.size() - pos_) return std::nullopt;
    auto s = in_.substr(pos_, *n);
    pos_ += *n;
    return s;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  template <class T>
  std::optional<T> fixed() {
    if (in_.size() - pos_ < sizeof(T)) return std::nullopt;
    T v;
    std::memcpy(&v, in_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace tocsin::core
