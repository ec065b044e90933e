// Decompression of a snappy block (the raw format remote_write bodies use, not the framed stream
// format), written here rather than taken from libsnappy: its decompressor, as Debian builds it,
// calls memmove for up to 64 bytes per literal and per copy. Here an element of up to 16 bytes,
// most of a remote_write body's, is one 16-byte load and store where the buffers have room, with
// every bound checked first; anything malformed is refused, never read or written past.
// Measured: 1.06-1.13x libsnappy's speed on the ingest benchmark's bodies (both about 20 ns per
// sample: 3.2 elements per sample, whose kinds alternate unpredictably), and the whole decode
// 1.25-1.29x on tocsin_ingest_decode_bench's. Tried and slower (0.75x): choosing each element's
// source without a branch from a table of tags (each element then waits for the table load).
// libsnappy still compresses (remote_write_encode.h) and is the reference the tests and the fuzz
// target compare with. Format: https://github.com/google/snappy/blob/main/format_description.txt
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace tocsin::ingest::snappy_block {

struct Preamble {
  size_t length = 0;        // bytes the block decompresses to
  size_t header_bytes = 0;  // bytes of the varint saying so
};

// The block's preamble: the decompressed length as a varint of at most 32 bits, as snappy writes
// it. nullopt when it is truncated or longer.
std::optional<Preamble> read_preamble(std::string_view block);

// Decompresses the elements after the preamble into out[0, length). False, with `out` in an
// unspecified state, unless they are well formed and fill exactly `length` bytes.
bool uncompress(std::string_view elements, char* out, size_t length);

}  // namespace tocsin::ingest::snappy_block
