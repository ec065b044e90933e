// Runs a simulated drill: the real Engine (rules, routing, plans, escalation, notifications)
// with the real config, on a SimulatedClock, with in-memory senders that record every page
// instead of sending it, an action executor that records instead of running, the scenario's
// signal generator feeding Engine::ingest (events through ingest::EventCounters, as
// POST /api/v1/events does) and simulated responders acting through the Engine's public API.
//
// The loop (drill/player.h, shared with `tocsin demo`) steps simulated time to the next thing that
// happens — a generator tick, a responder action, or the engine's own next due time from
// run_due() — so a 24-hour drill takes a fraction of a second. No drill-only shortcut exists in the engine. Samples and events carry the label
// drill="<drill id>", as in a live drill. At the end the scorecard is computed from the store
// (scorecard.h).
// Thread-safety: run_drill is reentrant given distinct stores.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "drill/scenario.h"
#include "drill/scorecard.h"
#include "store/store.h"

namespace tocsin::drill {

struct DrillOptions {
  // A fresh, empty store for this drill only (the composition root makes one in a temporary
  // directory), so a drill never touches real data.
  store::Store* store = nullptr;
  std::optional<uint64_t> seed;  // overrides the scenario's seed
  std::string drill_id;          // the drill label's value; default: the id of a drill the run registers
                                 // (Engine::start_live_drill) for the scenario's participants
};

struct DrillRun {
  Scorecard scorecard;
  DrillRecord record;
  std::vector<std::string> warnings;  // from validate_scenario
  size_t samples = 0;                 // generated and ingested
  size_t events = 0;
  size_t pages = 0;  // notifications delivered (to the in-memory senders)
  size_t responder_actions = 0;
  size_t steps = 0;  // loop iterations
  Duration simulated{};
};

core::Result<DrillRun> run_drill(std::shared_ptr<const config::Config> config, const Scenario& scenario,
                                 const DrillOptions& options);

// run_drill on a fresh SQLite store in a private temporary directory (under /dev/shm when there
// is one), removed afterwards, so the drill's incidents, alerts and pages never touch real data:
// what `tocsin drill run` and POST /api/v1/drills/run do.
core::Result<DrillRun> run_drill_in_scratch_store(std::shared_ptr<const config::Config> config,
                                                  const Scenario& scenario, std::optional<uint64_t> seed);

}  // namespace tocsin::drill
