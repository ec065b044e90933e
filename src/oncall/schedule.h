// Who is on call: pure functions of a schedule (config::Schedule) and an explicit instant. No clock
// is read here; the escalation layer passes `now`.
//
// Rotation semantics (GoAlert-like). A layer's first shift starts in the schedule's time zone at
//   weekly: the first `handoff_day` at or after `start`, at `handoff_time`;
//   daily:  `start` at `handoff_time`, then every day;
//   custom: `start` at `handoff_time`, then every `shift_length`.
// Shift n belongs to members[n % members.size()]. Hand-offs happen at local wall-clock time, so a
// daily shift across a DST change lasts 23 or 25 hours; a custom shift_length that is a whole
// number of days does too, while any other length (e.g. 12h) is exact elapsed time.
// Resolution at an instant: the people of every override covering it (override from/to are local
// times in the schedule's zone, [from, to)); else the person of the last layer that has someone on
// call (later layers are on top); else nobody (before every layer's first shift).
//
// Thread-safety: free functions over immutable inputs; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "core/time.h"
#include "oncall/timezone.h"

namespace tocsin::oncall {

struct Shift {
  std::string person;
  core::Timestamp start;
  core::Timestamp end;
  std::string source;  // "layer 1" (1-based, in config order) or "override"
  friend bool operator==(const Shift&, const Shift&) = default;
};

// The person ids on call at `t`: all covering overrides' people (config order, no duplicates), else
// the top layer's person, else empty. Errors: unknown time zone, a custom layer without a positive
// shift_length (invalid_argument, positioned at the schedule or layer).
core::Result<std::vector<std::string>> on_call(const config::Schedule& s, core::Timestamp t);
// The same with the schedule's zone already loaded (s.timezone is not read).
core::Result<std::vector<std::string>> on_call(const config::Schedule& s, const TimeZone& tz, core::Timestamp t);

// Who is on call over [from, to), as shifts clipped to the window, ordered by start. Consecutive
// stretches of the same person from the same source are merged into one shift (a one-member
// rotation is one long shift); an override interrupting a layer splits it. At most 100000 hand-offs
// per query: a larger window is invalid_argument.
core::Result<std::vector<Shift>> shifts(const config::Schedule& s, core::Timestamp from, core::Timestamp to);
core::Result<std::vector<Shift>> shifts(const config::Schedule& s, const TimeZone& tz, core::Timestamp from,
                                        core::Timestamp to);

// Who is on call at one instant, each with the shift they hold: what GET /api/v1/oncall shows.
struct CurrentShifts {
  // The people of on_call(s, t), in that order, with their shift's bounds: a covering override's
  // [from, to), or the layer shift [hand-off, next hand-off) — not merged with the person's next
  // shift, so a one-member layer's shift ends at its next hand-off although the person stays on.
  // Empty: nobody is on call.
  std::vector<Shift> on_call;
  // The first instant after t at which who is on call (or the layer or override they come from)
  // changes; empty when it does not within the next 100000 hand-offs and override edges (a
  // one-member layer with no override ahead).
  std::optional<core::Timestamp> next_handoff;
};

core::Result<CurrentShifts> current_shifts(const config::Schedule& s, core::Timestamp t);
core::Result<CurrentShifts> current_shifts(const config::Schedule& s, const TimeZone& tz, core::Timestamp t);

}  // namespace tocsin::oncall
