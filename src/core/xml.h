// Helpers for the SVG pictures the CLI and the API draw: escaping text for XML, and axis ticks.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace tocsin::core {

// `s` with <, >, &, " and ' replaced by entities: safe in element text and in double- or
// single-quoted attribute values.
std::string xml_escape(std::string_view s);

// A tick step of 1, 2 or 5 × 10^k close to range / target (target: about how many ticks).
double nice_step(double range, int target);

}  // namespace tocsin::core
