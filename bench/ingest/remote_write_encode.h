// A hand-rolled encoder for Prometheus remote_write 1.0 bodies (prometheus.WriteRequest,
// snappy block format) from the benchmarks' own series type: bench/ingest (throughput) and
// bench/latency. The encoding itself is tocsin's (src/ingest/remote_write_encode.h).
//
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in Unix ms
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ingest/remote_write_encode.h"

namespace tocsin::bench {

struct BenchSample {
  double value = 0;
  int64_t timestamp_ms = 0;
};

struct BenchSeries {
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name, __name__ first
  std::vector<BenchSample> samples;
};

// The protobuf bytes of a WriteRequest holding `series`, written with tocsin's own encoder
// (src/ingest/remote_write_encode.h, which replicas forward samples with).
inline std::string encode_write_request(const std::vector<BenchSeries>& series) {
  std::string out;
  std::string ts;
  for (const auto& s : series) {
    ts.clear();
    for (const auto& [name, value] : s.labels) ingest::put_label(ts, name, value);
    for (const auto& sample : s.samples) ingest::put_sample(ts, sample.value, sample.timestamp_ms);
    ingest::put_length_delimited(out, 1, ts);
  }
  return out;
}

inline std::string snappy_compress(std::string_view raw) { return ingest::snappy_compress(raw); }

}  // namespace tocsin::bench
