// JSON string literals written straight into a string, byte for byte as nlohmann::json::dump()
// writes them (ensure_ascii off) for valid UTF-8: for bodies on hot paths (a new alert's webhook
// body) that are cheaper written than built as a json tree and dumped, and for the HTTP layer's
// error bodies (http::json_escape).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace tocsin::core {

enum class JsonEscape {
  kStandard,  // '"', '\\' and control characters (\b \f \n \r \t, others \u00xx); the rest as is
  kGo,        // also '<', '>', '&', U+2028 and U+2029 as \u escapes, as Go's encoding/json
  kStandardAndDel,  // also DEL (0x7f) as \u007f: what tocsin's own error bodies have always written
};

// What to do with text that is not well-formed UTF-8 (core/utf8.h).
enum class InvalidUtf8 {
  kRefuse,   // write nothing and return false: the caller decides
  kReplace,  // write each byte of a bad sequence as \ufffd, so that the result is always valid JSON
};

// Appends the inside of a JSON string literal (no quotes). False, with `out` as it was, only for
// text that is not UTF-8 under InvalidUtf8::kRefuse.
bool append_json_escaped(std::string& out, std::string_view text, JsonEscape escape, InvalidUtf8 invalid);

// Appends `text` quoted and escaped. False, with `out` as it was, when `text` is not well-formed
// UTF-8: the caller decides what to do with such text.
bool append_json_string(std::string& out, std::string_view text, JsonEscape escape = JsonEscape::kStandard);

// Appends {"name":"value",…} over (name, value) pairs already in key order (core::Labels and
// std::map<std::string, std::string> are, as nlohmann's objects), as dump() writes it. False, with
// `out` as it was, when some text is not well-formed UTF-8.
template <class Pairs>
bool append_json_object(std::string& out, const Pairs& pairs, JsonEscape escape = JsonEscape::kStandard) {
  const size_t start = out.size();
  out += '{';
  for (const auto& [name, value] : pairs) {
    if (out.size() > start + 1) out += ',';
    if (!append_json_string(out, name, escape)) {
      out.resize(start);
      return false;
    }
    out += ':';
    if (!append_json_string(out, value, escape)) {
      out.resize(start);
      return false;
    }
  }
  out += '}';
  return true;
}

}  // namespace tocsin::core
