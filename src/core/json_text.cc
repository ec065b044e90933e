#include "core/json_text.h"

#include "core/utf8.h"

namespace tocsin::core {

bool append_json_escaped(std::string& out, std::string_view text, JsonEscape escape, InvalidUtf8 invalid) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t start = out.size();
  size_t plain = 0;  // start of the run of bytes not yet copied
  auto flush = [&](size_t end) { out.append(text.data() + plain, end - plain); };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t n = utf8_sequence_length(text, i);
      if (n == 0) {
        if (invalid == InvalidUtf8::kRefuse) {
          out.resize(start);
          return false;
        }
        flush(i);
        out += "\\ufffd";  // each byte of a bad sequence
        plain = ++i;
        continue;
      }
      // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
      if (escape == JsonEscape::kGo && n == 3 && c == 0xe2 && text[i + 1] == '\x80' &&
          (text[i + 2] == '\xa8' || text[i + 2] == '\xa9')) {
        flush(i);
        out += text[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
        plain = i + n;
      }
      i += n;
      continue;
    }
    const char* replacement = nullptr;
    switch (c) {
      case '"': replacement = "\\\""; break;
      case '\\': replacement = "\\\\"; break;
      case '\b': replacement = "\\b"; break;
      case '\f': replacement = "\\f"; break;
      case '\n': replacement = "\\n"; break;
      case '\r': replacement = "\\r"; break;
      case '\t': replacement = "\\t"; break;
      case '<': replacement = escape == JsonEscape::kGo ? "\\u003c" : nullptr; break;
      case '>': replacement = escape == JsonEscape::kGo ? "\\u003e" : nullptr; break;
      case '&': replacement = escape == JsonEscape::kGo ? "\\u0026" : nullptr; break;
      case 0x7f: replacement = escape == JsonEscape::kStandardAndDel ? "\\u007f" : nullptr; break;
      default: break;
    }
    if (replacement || c < 0x20) {
      flush(i);
      if (replacement) {
        out += replacement;
      } else {
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
      }
      plain = i + 1;
    }
    ++i;
  }
  flush(text.size());
  return true;
}

bool append_json_string(std::string& out, std::string_view text, JsonEscape escape) {
  const size_t start = out.size();
  out += '"';
  if (!append_json_escaped(out, text, escape, InvalidUtf8::kRefuse)) {
    out.resize(start);
    return false;
  }
  out += '"';
  return true;
}

}  // namespace tocsin::core
