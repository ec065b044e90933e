#include "incident/lifecycle.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace tocsin::incident {

using store::IncidentStatus;

namespace {

// The transition table. Acknowledging again, or resolving twice, is an error the caller reports
// (HTTP 409) rather than a silent no-op, so a responder sees that someone else got there first.
constexpr std::array<std::pair<IncidentStatus, IncidentStatus>, 9> kAllowed{{
    {IncidentStatus::kTriggered, IncidentStatus::kAcknowledged},
    {IncidentStatus::kTriggered, IncidentStatus::kMitigated},
    {IncidentStatus::kTriggered, IncidentStatus::kResolved},
    {IncidentStatus::kAcknowledged, IncidentStatus::kMitigated},
    {IncidentStatus::kAcknowledged, IncidentStatus::kResolved},
    {IncidentStatus::kMitigated, IncidentStatus::kResolved},
    {IncidentStatus::kResolved, IncidentStatus::kClosed},
    {IncidentStatus::kResolved, IncidentStatus::kTriggered},  // reopened
    {IncidentStatus::kMitigated, IncidentStatus::kTriggered},  // regressed
}};

}  // namespace

core::Status check_transition(IncidentStatus from, IncidentStatus to) {
  for (const auto& [a, b] : kAllowed) {
    if (a == from && b == to) return {};
  }
  if (from == to) {
    return std::unexpected(core::Error::failed_precondition(fmt::format("incident is already {}", store::to_string(to))));
  }
  return std::unexpected(core::Error::failed_precondition(
      fmt::format("cannot move an incident from {} to {}", store::to_string(from), store::to_string(to))));
}

}  // namespace tocsin::incident
