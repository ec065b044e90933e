// Time values used across tocsin. Wall time is milliseconds since the Unix epoch (the resolution
// of Prometheus timestamps); durations are milliseconds. Reading the current time is the job of
// core::Clock only (see clock.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tocsin::core {

using Duration = std::chrono::milliseconds;
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

inline int64_t to_unix_ms(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_unix_ms(int64_t ms) { return Timestamp(Duration(ms)); }

// RFC 3339 in UTC with millisecond precision when it is not zero: "2026-12-04T16:07:37Z",
// "2026-12-04T16:07:37.250Z".
std::string format_rfc3339(Timestamp t);

// RFC 3339 as Go's time.Time marshals to JSON (time.RFC3339Nano) in UTC: the fraction without
// trailing zeros, none when zero: "2026-12-04T16:07:37Z", "2026-12-04T16:07:37.25Z". Alertmanager
// writes its times this way, so payloads that imitate it use this form.
std::string format_rfc3339_nano(Timestamp t);

// Accepts "YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)"; fractions finer than a millisecond are truncated.
Result<Timestamp> parse_rfc3339(std::string_view text);

}  // namespace tocsin::core
