// Escaping text for XML documents (the SVG pictures the CLI and the API draw).
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace tocsin::core {

// `s` with <, >, &, " and ' replaced by entities: safe in element text and in double- or
// single-quoted attribute values.
std::string xml_escape(std::string_view s);

}  // namespace tocsin::core
