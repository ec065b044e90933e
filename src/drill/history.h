// A drill run in the history (store::DrillRun), and how one run compares with the earlier runs
// of the same scenario: `tocsin drill run` records every simulated run and prints the comparison
// under the scorecard; the API lists the same history (GET /api/v1/drills).
// Thread-safety: pure functions over values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "drill/scenario.h"
#include "drill/scorecard.h"
#include "store/store.h"

namespace tocsin::drill {

// The history record of a scored run: scenario, plan, seed, participants (the scenario's, or
// everyone in the config when it names none), the simulated span, score, passed (every
// expectation met) and the scorecard's JSON. ran_at is left for whoever stores it.
store::DrillRun to_drill_run(const Scorecard& card, const Scenario& scenario, const config::Config& config,
                             std::string_view mode);

// The figures of a stored run that a comparison shows, read back from its scorecard JSON.
struct PastRun {
  int64_t id = 0;
  core::Timestamp ran_at{};
  std::string mode;
  uint64_t seed = 0;
  int score = 0;
  bool passed = false;
  std::optional<core::Duration> time_to_detect, time_to_acknowledge, time_to_mitigate, time_to_resolve;
};

// Reads the figures of each run (newest first, as the store lists them). A run whose stored
// scorecard is not the runner's JSON is an error naming the run.
core::Result<std::vector<PastRun>> past_runs(const std::vector<store::DrillRun>& runs);

// "Compared with earlier runs": the score and the four times against the newest earlier run,
// and one line per earlier run (at most `max_rows`). Empty when there is no earlier run.
std::string render_comparison(const Scorecard& card, const std::vector<PastRun>& earlier, bool color = false,
                              size_t max_rows = 5);

}  // namespace tocsin::drill
