// `tocsin risk register` (docs/risk-register.md): the risk register of a config — each risk's
// score (likelihood × impact), level and review status, highest score first — as a table, or as
// the JSON of GET /api/v1/risk (`--json`); `--plot FILE` also writes the heat map SVG.
// Thread-safety: functions without shared state.
#pragma once

#include <string>

#include "risk_register/register.h"

namespace tocsin::cli {

struct RiskRegisterCommand {
  std::string config;
  bool json = false;
  std::string plot;  // empty: no picture
};

// Runs the command; failures are one line on stderr and exit code 1.
int run_risk_register(const RiskRegisterCommand& command);

// The table, for tests: a header, one row per risk, and a summary line.
std::string format_register_table(const risk_register::Register& reg);

}  // namespace tocsin::cli
