// Prometheus duration syntax: "1y2w3d4h5m6s7ms", units in that order, each at most once,
// non-negative integers; y = 365d, w = 7d. "0" is accepted and means zero.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"

namespace tocsin::core {

Result<Duration> parse_duration(std::string_view text);
// The canonical form Prometheus prints: largest units first, zero units left out, "0s" for zero.
// parse_duration(format_duration(d)) == d for every d >= 0.
std::string format_duration(Duration d);

// A point in time as query parameters and flags take it: an RFC 3339 time, or a duration back
// from `now` ("24h" = a day before now). Empty when it is neither.
std::optional<Timestamp> parse_time_or_ago(std::string_view text, Timestamp now);

}  // namespace tocsin::core
