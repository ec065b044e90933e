#include "action/state.h"

#include <fmt/format.h>

#include <array>
#include <utility>

namespace tocsin::action {

using store::ActionState;

namespace {

constexpr std::array<std::pair<ActionState, ActionState>, 6> kAllowed{{
    {ActionState::kAwaitingApproval, ActionState::kPending},  // approved
    {ActionState::kPending, ActionState::kRunning},           // an attempt starts
    {ActionState::kPending, ActionState::kFailed},  // the request cannot be made (a template fails at render time)
    {ActionState::kRunning, ActionState::kSucceeded},
    {ActionState::kRunning, ActionState::kPending},  // failed with attempts left, or interrupted by a restart
    {ActionState::kRunning, ActionState::kFailed},   // failed, out of attempts
}};

}  // namespace

core::Status check_transition(ActionState from, ActionState to) {
  for (const auto& [a, b] : kAllowed) {
    if (a == from && b == to) return {};
  }
  if (from == to) {
    return std::unexpected(
        core::Error::failed_precondition(fmt::format("the action is already {}", store::to_string(to))));
  }
  return std::unexpected(core::Error::failed_precondition(
      fmt::format("cannot move an action from {} to {}", store::to_string(from), store::to_string(to))));
}

}  // namespace tocsin::action
