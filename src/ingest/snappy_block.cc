#include "ingest/snappy_block.h"

#include <cstdint>
#include <cstring>

namespace tocsin::ingest::snappy_block {
namespace {

// 16 bytes from src to dst: one unaligned load, one store. The source is read whole before the
// destination is written, so the two may overlap.
inline void copy16(uint8_t* dst, const uint8_t* src) {
  uint8_t chunk[16];
  std::memcpy(chunk, src, sizeof chunk);
  std::memcpy(dst, chunk, sizeof chunk);
}

}  // namespace

std::optional<Preamble> read_preamble(std::string_view block) {
  uint32_t value = 0;
  for (size_t i = 0; i < 5 && i < block.size(); ++i) {
    const auto byte = static_cast<uint8_t>(block[i]);
    // The fifth byte holds bits 28 to 31: more would not fit 32 bits (snappy refuses them too).
    if (i == 4 && byte > 0x0F) return std::nullopt;
    value |= static_cast<uint32_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) return Preamble{value, i + 1};
  }
  return std::nullopt;
}

bool uncompress(std::string_view elements, char* out_chars, size_t length) {
  const auto* ip = reinterpret_cast<const uint8_t*>(elements.data());
  const uint8_t* const ip_end = ip + elements.size();
  auto* const out = reinterpret_cast<uint8_t*>(out_chars);
  uint8_t* op = out;
  uint8_t* const op_end = out + length;
  while (ip < ip_end) {
    const uint8_t tag = *ip++;
    const auto in_left = static_cast<size_t>(ip_end - ip);
    const auto out_left = static_cast<size_t>(op_end - op);
    if ((tag & 3) == 0) {
      // A literal: its length - 1 in the tag's top six bits, or in the 1 to 4 bytes after it (60 to 63).
      size_t len = (tag >> 2) + 1;
      if (len <= 16 && in_left >= 16 && out_left >= 16) {
        // Most literals: 16 bytes copied, `len` of them kept (the rest is overwritten next).
        copy16(op, ip);
      } else {
        if (len > 60) {
          const size_t extra = len - 60;
          if (in_left < extra) return false;
          uint32_t v = 0;
          for (size_t i = 0; i < extra; ++i) v |= static_cast<uint32_t>(ip[i]) << (8 * i);
          ip += extra;
          len = size_t{v} + 1;
        }
        if (static_cast<size_t>(ip_end - ip) < len || out_left < len) return false;
        std::memcpy(op, ip, len);
      }
      op += len;
      ip += len;
      continue;
    }
    // A copy of `len` bytes from `offset` bytes back in the output; it may overlap itself (a
    // run), and then means a byte-by-byte copy forwards.
    size_t len = 0;
    size_t offset = 0;
    if ((tag & 3) == 1) {
      if (in_left < 1) return false;
      len = ((tag >> 2) & 7) + 4;
      offset = (static_cast<size_t>(tag >> 5) << 8) | ip[0];
      ip += 1;
    } else if ((tag & 3) == 2) {
      if (in_left < 2) return false;
      len = (tag >> 2) + 1;
      offset = static_cast<size_t>(ip[0]) | static_cast<size_t>(ip[1]) << 8;
      ip += 2;
    } else {
      if (in_left < 4) return false;
      len = (tag >> 2) + 1;
      offset = static_cast<size_t>(ip[0]) | static_cast<size_t>(ip[1]) << 8 | static_cast<size_t>(ip[2]) << 16 |
               static_cast<size_t>(ip[3]) << 24;
      ip += 4;
    }
    if (offset == 0 || offset > static_cast<size_t>(op - out) || len > out_left) return false;
    const uint8_t* const src = op - offset;
    if (offset >= 16 && len <= 16 && out_left >= 16) {
      // 16 bytes from at least 16 back: all of them written already, none of them overwritten.
      copy16(op, src);
    } else if (offset >= len) {
      std::memcpy(op, src, len);
    } else {
      for (size_t i = 0; i < len; ++i) op[i] = src[i];
    }
    op += len;
  }
  return op == op_end;
}

}  // namespace tocsin::ingest::snappy_block
