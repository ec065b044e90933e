// What a drill's scorecard is computed from, read out of the store: the one implementation the
// simulated runner (runner.h) and the server scoring a finished live drill (live_score.h) share,
// so both are scored from the same kind of records by the same function (compute_scorecard).
//
// The record holds the drill's incidents — those whose `drill` mark is the drill's label value,
// opened between its start and its end — with their tasks and timelines, the notifications written for
// them, the alerts labelled drill="<id>", and the scenario's fault timeline from its start.
// Thread-safety: reads through the caller's transaction; reentrant.
#pragma once

#include <string>

#include "core/result.h"
#include "drill/scenario.h"
#include "drill/scorecard.h"
#include "store/store.h"

namespace tocsin::drill {

// `scenario.start` is when the drill started: the simulated start, or a live drill's
// registration time (the fault timeline is laid out from it). `end` is when it ended.
core::Result<DrillRecord> gather_record(store::Tx& tx, const Scenario& scenario, const std::string& drill_id,
                                        Timestamp end);

}  // namespace tocsin::drill
