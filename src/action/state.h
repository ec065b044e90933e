// The state machine of an action run (store::ActionState):
//
//   awaiting_approval → pending   a person approved it
//   pending → running             an attempt starts
//   pending → failed              the request cannot be rendered (a template fails on this incident)
//   running → succeeded           the attempt succeeded
//   running → pending             the attempt failed with attempts left, or a restart interrupted it
//   running → failed              the attempt failed and none are left
//
// Every allowed move is in one table; anything else is rejected with both states named, and the
// runner writes a timeline event for every move it makes.
#pragma once

#include "core/result.h"
#include "store/store.h"

namespace tocsin::action {

// Ok when `from → to` is allowed; failed_precondition naming both states otherwise.
core::Status check_transition(store::ActionState from, store::ActionState to);

}  // namespace tocsin::action
