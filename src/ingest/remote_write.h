// Prometheus remote_write (protocol 1.0, SPEC §3 POST /api/v1/write): a snappy block-compressed
// prometheus.WriteRequest. The protobuf decoder is written by hand from the public wire format
// (no protoc); only the fields tocsin uses are decoded:
//
//   WriteRequest { repeated TimeSeries timeseries = 1; }          metadata (3) and others skipped
//   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }  exemplars (3),
//                                                                 histograms (4) skipped
//   Label        { string name = 1; string value = 2; }
//   Sample       { double value = 1; int64 timestamp = 2; }       timestamp in Unix milliseconds
//
// Unknown fields are skipped by wire type (groups included, nesting bounded). Every varint,
// length and nested message is bounds-checked; errors name the byte offset into the decoded
// message and the field path ("timeseries[3].labels[1]"). Labels must be valid Prometheus names,
// values valid UTF-8, no name twice, and `__name__` (a valid metric name) present. A whole body is
// accepted or rejected. Values are returned as sent (NaN stale markers and ±Inf included).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/flat_u64_map.h"
#include "core/result.h"
#include "core/sample.h"

namespace tocsin::ingest {

// The decoded WriteRequest may be at most this large (the HTTP body limit bounds the compressed
// size; this bounds what a small, highly compressible body can expand to).
inline constexpr size_t kMaxRemoteWriteDecodedBytes = 64u << 20;
// At most this many samples in one request, so one request's Sample vector stays bounded.
inline constexpr size_t kMaxRemoteWriteSamples = 2'000'000;

struct Point {
  double value = 0;
  core::Timestamp ts{};
};

// One TimeSeries: all its samples share one label set (decoded once per series, not per sample).
struct Series {
  core::Labels labels;
  std::vector<Point> points;
  // labels.fingerprint() when the decoder worked it out (RemoteWriteDecoder, for the label sets
  // it keeps), else 0 and the engine works it out. Whoever changes `labels` sets it back to 0.
  uint64_t fingerprint = 0;
  // The id of the decoder's kept label set these labels are (RemoteWriteDecoder), else 0. An id is
  // given to one label set only, ever, in the whole process: the series store, having once found
  // these labels equal to a series' own, takes the id as proof of it next time instead of comparing
  // them again. Whoever changes `labels` sets it back to 0.
  uint64_t labels_id = 0;
};

// Decompresses a snappy block (the raw format, not the framed stream format).
core::Result<std::string> snappy_decompress(std::string_view compressed,
                                            size_t max_decoded_bytes = kMaxRemoteWriteDecodedBytes);

// Decodes a serialised prometheus.WriteRequest. Series without samples are left out.
core::Result<std::vector<Series>> decode_write_request(std::string_view protobuf);

// snappy_decompress + decode_write_request into storage it keeps: the decompressed bytes, the
// series vector and each series' labels and points keep their capacity from one request to the
// next, so a steady stream of requests decodes without allocating (the HTTP handler keeps one
// per thread). Once a request decompressed to more than kRetainedBytes (a remote_write request
// of 500 series x 10 samples is about 125 kB), all of that storage is given back at the next
// decode, so a rare large request does not stay in memory.
//
// It also keeps the label sets it decoded, by their bytes on the wire: a series whose label
// fields are the same bytes as before (a sender sends the same series request after request)
// takes its labels and their fingerprint from there, without decoding, sorting, validating or
// hashing them again (they were 40 % of decoding, and the fingerprint another 2 % of the server's
// CPU, under the ingest benchmark's load). Only a series whose label fields all come first (as
// every sender writes them) is kept; at most `max_label_sets` sets and kMaxKeptLabelBytes of
// their bytes, then they are dropped all at once and kept again as they come. Not thread-safe.
class RemoteWriteDecoder {
 public:
  static constexpr size_t kRetainedBytes = size_t{1} << 20;
  static constexpr size_t kMaxLabelSets = size_t{1} << 16;
  static constexpr size_t kMaxKeptLabelBytes = size_t{16} << 20;
  explicit RemoteWriteDecoder(size_t max_label_sets = kMaxLabelSets) { label_sets_.max_sets = max_label_sets; }
  // The series stay valid, and the caller may change them, until the next decode(). On an error
  // nothing decoded is returned.
  core::Result<std::vector<Series>*> decode(std::string_view snappy_body);
  // The decompressed bytes' capacity now: what decoding keeps between requests, besides the series.
  size_t retained_bytes() const { return protobuf_.capacity(); }
  // Label sets kept now.
  size_t label_sets() const { return label_sets_.size(); }

  // A label set as kept: its label fields' bytes on the wire, decoded and validated, and its id
  // (Series::labels_id: taken from a process-wide count, so a set kept again after being dropped,
  // or in another thread's decoder, has a new one).
  struct KeptLabels {
    std::string wire;
    core::Labels labels;
    uint64_t fingerprint = 0;
    uint64_t id = 0;
  };
  // The kept label sets by a hash of their bytes (a hash shared by two byte strings keeps the
  // later: the bytes are compared on every use).
  struct LabelSets {
    core::FlatU64Map<KeptLabels> by_hash;
    size_t wire_bytes = 0;
    size_t max_sets = kMaxLabelSets;
    size_t size() const { return by_hash.size(); }
  };

 private:
  std::string protobuf_;
  std::vector<Series> series_;
  LabelSets label_sets_;
};

// snappy_decompress + decode_write_request, flattened into samples in the order sent.
core::Result<std::vector<core::Sample>> parse_remote_write(std::string_view snappy_body);

}  // namespace tocsin::ingest
