// UTF-8 well-formedness (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
// Label values that reach the store and the API must be valid UTF-8, as Prometheus requires, and
// JSON output replaces what is not.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace tocsin::core {

// Length of the well-formed sequence starting at text[i] (1 for ASCII), or 0 when it is not.
size_t utf8_sequence_length(std::string_view text, size_t i);

// True when all of `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

}  // namespace tocsin::core
