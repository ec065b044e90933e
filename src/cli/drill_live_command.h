// `tocsin drill run SCENARIO.yaml --live --server URL [--config FILE] [--json]` (docs/drills.md,
// "Live drills"): plays a scenario against a running server in real time.
//
// It registers the drill with the scenario's text (POST /api/v1/drills/live; the server checks it
// against its config and will score it), then plays the scenario's background traffic and faults
// from the registration time on — the scenario's `start` is replaced by it — through
// POST /api/v1/push (samples) and POST /api/v1/events (security and feedback events), every one
// labelled drill="<id>". Real people respond through the API, CLI or UI: the scenario's simulated
// `responders:` are not used. While it runs it shows on stderr what happens to the drill's
// incidents (opened, pages, acknowledgements, steps), polling GET /api/v1/incidents. At the
// scenario's end — or on Ctrl-C / SIGTERM, earlier — it finishes the drill
// (POST /api/v1/drills/live/{id}/finish) and prints the scorecard the server computed: text, or
// JSON with --json, on stdout.
//
// Exit 0 when the drill ran and was scored, whatever the score; 1 with one line on stderr for a
// bad scenario (FILE:LINE), an unreachable server, or a request the server refused (its message).
// Thread-safety: run_drill_live installs SIGINT/SIGTERM handlers for its duration; one at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tocsin::cli {

struct DrillLiveCommand {
  std::string scenario;  // the scenario file
  std::string config;    // optional: also check the scenario against this config before registering
  std::string server;    // base URL
  std::string token;     // bearer token, if the server wants one
  std::string ca_file;   // --cacert: CAs to verify an https:// server with
  std::string actor;     // who starts and finishes the drill
  bool json = false;
  std::optional<uint64_t> seed;  // refused: the server scores the scenario with its own seed
  double poll_seconds = 2;       // how often the incidents are polled for progress
};

int run_drill_live(const DrillLiveCommand& command);

}  // namespace tocsin::cli
