// The remote_write 1.0 encoder, the inverse of remote_write.h's decoder: series → a serialised
// prometheus.WriteRequest → a snappy block. Replicas forward samples to the owner of their series
// with it (server/sample_forwarder.h), and the benchmarks generate their load with it.
//
//   WriteRequest { repeated TimeSeries timeseries = 1; }
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in Unix ms
//
// Labels are written in the order Labels keeps them (sorted by name). Values are written as given
// (NaN and ±Inf included).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ingest/remote_write.h"

namespace tocsin::ingest {

// The protobuf bytes of a WriteRequest holding `series`, appended to `out`.
void encode_write_request(const std::vector<Series>& series, std::string& out);
std::string encode_write_request(const std::vector<Series>& series);
// A snappy block (the raw format remote_write uses, not the framed stream format).
std::string snappy_compress(std::string_view raw);
// encode_write_request + snappy_compress: a request body for POST /api/v1/write.
std::string encode_remote_write(const std::vector<Series>& series);

// The protobuf primitives, for callers that build a WriteRequest from their own types (bench/).
void put_varint(std::string& out, uint64_t v);
void put_length_delimited(std::string& out, uint32_t field, std::string_view bytes);
// One TimeSeries message's body from its parts: each label as (name, value), each sample.
void put_label(std::string& out, std::string_view name, std::string_view value);
void put_sample(std::string& out, double value, int64_t timestamp_ms);

}  // namespace tocsin::ingest
