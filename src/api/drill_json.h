// JSON of the drill routes (docs/api.md, "Drills"): drill runs, the drill calendar and live
// drills out; a finished run's record in (POST /api/v1/drills), validated field by field.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "core/result.h"
#include "engine/drill_calendar.h"
#include "store/store.h"

namespace tocsin::api {

// A run as history lists it; with_scorecard adds "scorecard", the stored JSON as JSON.
nlohmann::json drill_run_json(const store::DrillRun& run, bool with_scorecard);
// One plan's calendar entry; "next_due" is `now` for a plan never drilled.
nlohmann::json drill_calendar_json(const engine::DrillCalendarEntry& entry, core::Timestamp now);
nlohmann::json live_drill_json(const store::LiveDrill& drill);

// The body of POST /api/v1/drills: {scenario, plan, mode, seed, participants, started_at,
// finished_at, score, passed, scorecard}, and an optional actor (the caller reads it, for the
// audit log). Every field is checked for its type (unknown keys are
// errors); invalid_argument with the field's name. ran_at and the id are the store's.
core::Result<store::DrillRun> drill_run_from_json(const nlohmann::json& body);
// The optional scored run in POST /api/v1/drills/live/{id}/finish: {score, passed, scorecard}
// required, seed, started_at (default: the drill's start) and finished_at (default: now)
// optional; scenario, plan, mode and participants come from the live drill. "actor" is allowed
// (the router reads it).
core::Result<store::DrillRun> finish_run_from_json(const nlohmann::json& body, const store::LiveDrill& drill,
                                                   core::Timestamp now);

}  // namespace tocsin::api
