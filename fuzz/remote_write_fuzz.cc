// Fuzz target: the remote_write body decoder. Each input goes through the whole path (snappy,
// then protobuf) and, since random bytes are rarely valid snappy, also straight into the protobuf
// decoder. Whatever the input, decoding must not crash, and what it accepts must hold the
// decoder's promises: every series named by a valid __name__, valid label names, and the
// flattened samples equal to the series' points. One RemoteWriteDecoder, kept across inputs as the
// HTTP handler keeps one, must give exactly what a fresh decode gives, whatever it decoded before,
// and again for the same input (its label sets then kept), each fingerprint it knows right.
// tocsin's own snappy decompressor (snappy_block.h) must give libsnappy's verdict and bytes.
#include <snappy.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/labels.h"
#include "ingest/remote_write.h"
#include "ingest/snappy_block.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

void check_labels(const tocsin::core::Labels& labels) {
  auto name = labels.get("__name__");
  check(name.has_value() && tocsin::core::is_valid_metric_name(*name));
  for (const auto& l : labels) check(tocsin::core::is_valid_label_name(l.name) && !l.value.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto series = tocsin::ingest::decode_write_request(input)) {
    for (const auto& s : *series) {
      check(!s.points.empty());
      check_labels(s.labels);
    }
  } else {
    check(!series.error().message().empty());
  }
  namespace block = tocsin::ingest::snappy_block;
  if (const auto preamble = block::read_preamble(input); preamble && preamble->length <= (size_t{1} << 20)) {
    std::string ours(preamble->length, '\0');
    const bool ours_ok = block::uncompress(input.substr(preamble->header_bytes), ours.data(), ours.size());
    size_t length = 0;
    check(snappy::GetUncompressedLength(input.data(), input.size(), &length) && length == preamble->length);
    std::string theirs(length, '\0');
    check(snappy::RawUncompress(input.data(), input.size(), theirs.data()) == ours_ok);
    check(!ours_ok || ours == theirs);
  } else if (!preamble) {
    size_t length = 0;
    check(!snappy::GetUncompressedLength(input.data(), input.size(), &length));
  }
  static tocsin::ingest::RemoteWriteDecoder reused;
  const auto raw = tocsin::ingest::snappy_decompress(input);
  const auto fresh = raw ? tocsin::ingest::decode_write_request(*raw)
                         : tocsin::core::Result<std::vector<tocsin::ingest::Series>>(std::unexpected(raw.error()));
  for (int round = 0; round < 2; ++round) {
    auto again = reused.decode(input);
    check(fresh.has_value() == again.has_value());
    if (!fresh || !again) continue;
    check(fresh->size() == (*again)->size());
    for (size_t i = 0; i < fresh->size(); ++i) {
      const auto& a = (*fresh)[i];
      const auto& b = (**again)[i];
      check(a.labels == b.labels && a.points.size() == b.points.size());
      check(b.fingerprint == 0 || b.fingerprint == b.labels.fingerprint());
      for (size_t k = 0; k < a.points.size(); ++k) {
        check(std::bit_cast<uint64_t>(a.points[k].value) == std::bit_cast<uint64_t>(b.points[k].value) &&
              a.points[k].ts == b.points[k].ts);
      }
    }
  }
  if (auto samples = tocsin::ingest::parse_remote_write(input)) {
    for (const auto& s : *samples) check_labels(s.labels);
  } else {
    check(!samples.error().message().empty());
  }
  return 0;
}
