// UTF-8 validation shared by the ingest parsers: label values that reach the store and the API
// must be valid UTF-8 (as Prometheus requires), so each wire format checks them on the way in.
// Thread-safety: a pure function.
#pragma once

#include <string_view>

namespace tocsin::ingest {

// True when `text` is well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool is_valid_utf8(std::string_view text);

}  // namespace tocsin::ingest
