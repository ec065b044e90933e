// Live drills scored on the server (docs/drills.md, "Live drills"): a live drill registered with
// its scenario's text is scored, when it finishes, exactly as a simulated drill is — the same
// record-gathering (record.h) over the server's store and the same compute_scorecard — with the
// scenario's `start` replaced by the drill's registration time and its participants by the
// drill's. Simulated `responders:` play no part: real people act.
// Thread-safety: reentrant; score_live_drill reads through the caller's transaction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "drill/scenario.h"
#include "drill/scorecard.h"
#include "store/store.h"

namespace tocsin::drill {

struct CheckedScenario {
  Scenario scenario;
  std::vector<std::string> warnings;  // validate_scenario's
};
// Parses a scenario's text and validates it against `config`; errors name `file`:line and the
// field, like load_scenario + validate_scenario.
core::Result<CheckedScenario> check_scenario_text(std::string_view yaml, std::string file,
                                                  const config::Config& config);

struct LiveScore {
  store::DrillRun run;  // mode live (history.h's to_drill_run); the engine links it to the drill
  Scorecard scorecard;
  // The comparison with the earlier runs of the scenario (history.h's render_comparison); empty
  // when there is none, or when an earlier run's stored scorecard cannot be read.
  std::string comparison;
};
// Scores `drill` (registered with its scenario_yaml; invalid_argument otherwise) as it finishes at
// `end`, from what the store holds.
core::Result<LiveScore> score_live_drill(store::Tx& tx, const config::Config& config, const store::LiveDrill& drill,
                                         Timestamp end);

}  // namespace tocsin::drill
