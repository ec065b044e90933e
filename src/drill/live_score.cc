#include "drill/live_score.h"

#include <fmt/format.h>

#include <algorithm>

#include "drill/record.h"

namespace tocsin::drill {

core::Result<CheckedScenario> check_scenario_text(std::string_view yaml, std::string file,
                                                  const config::Config& config) {
  CheckedScenario out;
  out.scenario = TOCSIN_TRY(parse_scenario(yaml, std::move(file)));
  out.warnings = TOCSIN_TRY(validate_scenario(out.scenario, config));
  return out;
}

store::DrillRun drill_run_from(const Scorecard& card, std::string mode, std::vector<std::string> participants) {
  store::DrillRun run;
  run.scenario = card.scenario;
  run.plan = card.plan;
  run.mode = std::move(mode);
  run.seed = card.seed;
  run.participants = std::move(participants);
  run.started_at = card.start;
  run.finished_at = std::max(card.end, card.start);
  run.score = card.score;
  run.passed = card.expectations_met == static_cast<int>(card.expectations.size());
  run.scorecard_json = render_json(card);
  return run;
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
  out.run = drill_run_from(out.scorecard, "live", drill.participants);
  out.run.scenario = drill.scenario;
  return out;
}

}  // namespace tocsin::drill
