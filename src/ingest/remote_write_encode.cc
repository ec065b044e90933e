#include "ingest/remote_write_encode.h"

#include <snappy.h>

#include <cstring>

namespace tocsin::ingest {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_length_delimited(std::string& out, uint32_t field, std::string_view bytes) {
  put_varint(out, (uint64_t{field} << 3) | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

namespace {

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

size_t delimited_size(size_t payload) { return 1 + varint_size(payload) + payload; }  // fields < 16

size_t label_size(std::string_view name, std::string_view value) {
  return delimited_size(name.size()) + delimited_size(value.size());
}

constexpr size_t sample_size(int64_t timestamp_ms) {
  size_t n = 1;
  for (auto v = static_cast<uint64_t>(timestamp_ms); v >= 0x80; v >>= 7) ++n;
  return 1 + 8 + 1 + n;
}

}  // namespace

void put_label(std::string& out, std::string_view name, std::string_view value) {
  put_varint(out, (uint64_t{1} << 3) | 2);
  put_varint(out, label_size(name, value));
  put_length_delimited(out, 1, name);
  put_length_delimited(out, 2, value);
}

void put_sample(std::string& out, double value, int64_t timestamp_ms) {
  put_varint(out, (uint64_t{2} << 3) | 2);
  put_varint(out, sample_size(timestamp_ms));
  out.push_back(0x09);  // field 1, fixed64
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
  out.push_back(0x10);  // field 2, varint
  put_varint(out, static_cast<uint64_t>(timestamp_ms));
}

void encode_write_request(const std::vector<Series>& series, std::string& out) {
  // Sizes first, so that each message is written once, in place (no temporary per message).
  for (const auto& s : series) {
    size_t size = 0;
    for (const auto& l : s.labels) size += delimited_size(label_size(l.name, l.value));
    for (const auto& p : s.points) size += delimited_size(sample_size(core::to_unix_ms(p.ts)));
    put_varint(out, (uint64_t{1} << 3) | 2);
    put_varint(out, size);
    for (const auto& l : s.labels) put_label(out, l.name, l.value);
    for (const auto& p : s.points) put_sample(out, p.value, core::to_unix_ms(p.ts));
  }
}

std::string encode_write_request(const std::vector<Series>& series) {
  std::string out;
  encode_write_request(series, out);
  return out;
}

std::string snappy_compress(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

std::string encode_remote_write(const std::vector<Series>& series) {
  return snappy_compress(encode_write_request(series));
}

}  // namespace tocsin::ingest
