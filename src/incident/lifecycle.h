// The incident state machine: triggered → acknowledged → mitigated → resolved → closed.
// Every allowed move is in one table; anything else is rejected with a reason, and the caller
// writes a timeline event for every move it makes.
#pragma once

#include "core/result.h"
#include "store/store.h"

namespace tocsin::incident {

// Ok when `from → to` is allowed; failed_precondition naming both states otherwise.
core::Status check_transition(store::IncidentStatus from, store::IncidentStatus to);

}  // namespace tocsin::incident
