// Shared by the fuzz targets: check() reports a broken promise by trapping, which libFuzzer and
// the replay driver (and any sanitizer) report as a crash with the input that caused it.
#pragma once

#include <cstdint>
#include <string_view>

namespace tocsin::fuzz {

inline void check(bool condition) {
  if (!condition) __builtin_trap();
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tocsin::fuzz
