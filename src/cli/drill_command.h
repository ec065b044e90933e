// `tocsin drill run SCENARIO.yaml --config FILE [--json] [--seed N]` (SPEC §2): runs a simulated
// drill (drill/runner.h) on a fresh SQLite store in a temporary directory, removed afterwards,
// and prints the scorecard — text, or JSON with --json. Exit 0 when the drill ran, whatever the
// score; exit 1 with one line on stderr for a bad config or scenario. Warnings (a fault on a
// series no rule watches) and the speed (simulated hours per second) go to stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tocsin::cli {

struct DrillRunCommand {
  std::string scenario;
  std::string config;
  bool json = false;
  std::optional<uint64_t> seed;
  bool record = true;  // store the run in the config's store (its drill history)
};

int run_drill_run(const DrillRunCommand& command);

}  // namespace tocsin::cli
