// A hand-rolled encoder for Prometheus remote_write 1.0 bodies (prometheus.WriteRequest,
// snappy block format), for the benchmarks only: bench/ingest (throughput) and bench/latency.
//
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in Unix ms
#pragma once

#include <snappy.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tocsin::bench {

struct BenchSample {
  double value = 0;
  int64_t timestamp_ms = 0;
};

struct BenchSeries {
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name, __name__ first
  std::vector<BenchSample> samples;
};

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void put_length_delimited(std::string& out, uint32_t field, std::string_view bytes) {
  put_varint(out, (uint64_t{field} << 3) | 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

// The protobuf bytes of a WriteRequest holding `series`.
inline std::string encode_write_request(const std::vector<BenchSeries>& series) {
  std::string out;
  std::string ts;
  std::string tmp;
  for (const auto& s : series) {
    ts.clear();
    for (const auto& [name, value] : s.labels) {
      tmp.clear();
      put_length_delimited(tmp, 1, name);
      put_length_delimited(tmp, 2, value);
      put_length_delimited(ts, 1, tmp);
    }
    for (const auto& sample : s.samples) {
      tmp.clear();
      tmp.push_back(0x09);  // field 1, fixed64
      uint64_t bits = 0;
      std::memcpy(&bits, &sample.value, sizeof bits);
      for (int i = 0; i < 8; ++i) tmp.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
      tmp.push_back(0x10);  // field 2, varint
      put_varint(tmp, static_cast<uint64_t>(sample.timestamp_ms));
      put_length_delimited(ts, 2, tmp);
    }
    put_length_delimited(out, 1, ts);
  }
  return out;
}

inline std::string snappy_compress(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

}  // namespace tocsin::bench
