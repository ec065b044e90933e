#include "drill/live_score.h"

#include <fmt/format.h>

#include "drill/history.h"
#include "drill/record.h"

namespace tocsin::drill {

core::Result<CheckedScenario> check_scenario_text(std::string_view yaml, std::string file,
                                                  const config::Config& config) {
  CheckedScenario out;
  out.scenario = TOCSIN_TRY(parse_scenario(yaml, std::move(file)));
  out.warnings = TOCSIN_TRY(validate_scenario(out.scenario, config));
  return out;
}

core::Result<LiveScore> score_live_drill(store::Tx& tx, const config::Config& config, const store::LiveDrill& drill,
                                         Timestamp end) {
  if (drill.scenario_yaml.empty()) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("live drill {} was registered without its scenario (scenario_yaml): send its score", drill.id)));
  }
  // Validated at registration; only parsed now, so a config reloaded since cannot keep the drill
  // from finishing (a plan that went away scores its steps as none).
  Scenario s = TOCSIN_TRY(parse_scenario(drill.scenario_yaml, fmt::format("live drill {} scenario", drill.id)));
  s.start = drill.started_at;
  s.participants = drill.participants;
  s.responders.clear();
  LiveScore out;
  const DrillRecord record = TOCSIN_TRY(gather_record(tx, s, std::to_string(drill.id), end));
  out.scorecard = compute_scorecard(s, config, record);
  out.scorecard.mode = "live";
  out.run = to_drill_run(out.scorecard, s, config, "live");
  out.run.scenario = drill.scenario;
  // Compared with the earlier runs of the scenario, as a simulated run is; a run whose stored
  // scorecard is not the runner's (a client posted it) leaves the comparison out rather than
  // keeping the drill from finishing.
  store::DrillRunFilter filter;
  filter.scenario = drill.scenario;
  filter.with_scorecard = true;
  filter.limit = 50;
  if (auto earlier = past_runs(TOCSIN_TRY(tx.list_drill_runs(filter)))) {
    out.comparison = render_comparison(out.scorecard, *earlier);
  }
  return out;
}

}  // namespace tocsin::drill
