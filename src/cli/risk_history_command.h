// `tocsin risk history --config FILE [--out CSV]` (docs/risk.md): tocsin's own incident history
// as a training table for `tocsin risk train` — one row per incident with when it opened, its
// severity, how many alerts it had and which services they named, how long acknowledging and
// resolving took, and its plan as the label column (`incident_type`).
// Thread-safety: functions without shared state.
#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace tocsin::cli {

struct RiskHistoryCommand {
  std::string config;
  std::string out;  // empty: stdout
};

int run_risk_history(const RiskHistoryCommand& command);

// The CSV for these incidents (with details), for tests. Drill incidents are left out: they are
// rehearsals, not history a risk model should learn from.
std::string history_csv(const std::vector<store::Incident>& incidents);

}  // namespace tocsin::cli
