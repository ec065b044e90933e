#include "drill/starter_scenarios.h"

#include "core/file_io.h"

namespace tocsin::drill {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSystemCrash =
    R"yaml(# Drill: the API servers' load climbs past the HighLoad rule and stays there for 40 minutes.
# Run it:  tocsin drill run scenarios/system_crash.yaml --config tocsin.yaml   (add --json for JSON)
# Reference: docs/drills.md. Times under faults are offsets from `start`; responder delays are
# from the page (ack_after) or from the acknowledgement (steps, mitigate_after, resolve_after).
name: system-crash
description: Load on web-1 jumps to ~0.95 for 40 minutes; the system_crash plan is worked through.
plan: system_crash
seed: 7
start: 2026-03-03T09:30:00Z          # a Tuesday: alice is on call (schedule ops-primary)
duration: 6h
participants: [alice, bob, carol]
series:                              # background traffic
  - name: system_load
    labels: {service: api, instance: web-1}
    base: 0.45                       # mean level
    daily_amplitude: 0.1             # ± over the day, highest at `peak` (default 14h UTC)
    noise: 0.03                      # σ of the Gaussian noise
    interval: 30s
    min: 0
faults:
  - {kind: spike, series: system_load, at: 30m, duration: 40m, magnitude: 0.5, shape: square}
responders:
  # ack_after: a duration, {min, max} (uniform), {median, sigma[, max]} (lognormal) or never
  - person: alice
    ack_after: {min: 1m, max: 3m}
    steps: {activate: {min: 30s, max: 1m}}
    mitigate_after: {min: 20m, max: 25m}   # she acknowledged, so she mitigates and resolves
    resolve_after: {min: 80m, max: 100m}
  - role: operations                 # bob fills it
    ack_after: {min: 2m, max: 5m}
    steps:
      triage: {min: 6m, max: 10m}
      failover: {min: 12m, max: 15m}      # approving its action is part of the step
      recover: {min: 40m, max: 70m}
  - {person: carol, ack_after: {median: 4m, sigma: 0.5}, miss_probability: 0.2}
expect:
  detected_within: 3m                # first fault → first alert firing
  acknowledged_within: 5m            # incident opened → acknowledged
  mitigated_within: 30m
  resolved_within: 2h
  steps_in_order: [activate, triage, failover, recover]
)yaml";

constexpr std::string_view kDataBreach =
    R"yaml(# Drill: a burst of exfiltration security events from db-1 (as POST /api/v1/events reports them).
# Run it:  tocsin drill run scenarios/data_breach.yaml --config tocsin.yaml
name: data-breach
description: Exfiltration events from db-1 for 15 minutes; the data_breach plan is worked through.
plan: data_breach
seed: 11
start: 2026-03-03T09:30:00Z
duration: 8h
participants: [alice, bob, carol]
series:
  - {name: network_inbound_mbps, labels: {instance: edge-1}, base: 250, daily_amplitude: 80, noise: 20, interval: 30s, min: 0}
faults:
  # 4 events a minute of kind "exfiltration": security_events{kind="exfiltration"} and
  # security_events_total{kind="exfiltration"}, which the DataExfiltration rule watches
  - {kind: security_event, event_kind: exfiltration, labels: {instance: db-1}, at: 45m, duration: 15m, magnitude: 4}
responders:
  - person: alice
    ack_after: {min: 1m, max: 3m}
    steps: {confirm: {min: 3h, max: 4h}}
    mitigate_after: {min: 40m, max: 50m}
  - role: security_lead              # carol
    ack_after: {min: 2m, max: 4m}
    steps:
      activate: {min: 2m, max: 6m}
      contain: {min: 20m, max: 35m}
      investigate: {min: 2h, max: 3h}
  - {role: legal, ack_after: {min: 5m, max: 15m}}
expect:
  detected_within: 1m
  acknowledged_within: 5m
  mitigated_within: 1h
  steps_in_order: [activate, contain, investigate]
)yaml";

constexpr std::string_view kNetworkAttack =
    R"yaml(# Drill: inbound traffic on edge-1 swells to ~1500 Mbit/s and back over an hour (a flood).
# Run it:  tocsin drill run scenarios/network_attack.yaml --config tocsin.yaml
name: network-attack
description: A one-hour inbound flood on edge-1 crosses the InboundFlood rule; the network_attack plan is worked through.
plan: network_attack
seed: 23
start: 2026-03-03T09:30:00Z
duration: 6h
participants: [alice, bob, carol]
series:
  - name: network_inbound_mbps
    labels: {instance: edge-1}
    base: 300
    daily_amplitude: 100
    noise: 25
    interval: 15s
    min: 0
faults:
  - {kind: spike, series: network_inbound_mbps, at: 1h, duration: 1h, magnitude: 1200, shape: triangle}
  - {kind: noise_burst, series: network_inbound_mbps, at: 1h, duration: 1h, magnitude: 3}
responders:
  - person: alice                    # commander (on call) and the network role
    ack_after: {min: 1m, max: 2m30s}
    steps:
      detect: {min: 1m, max: 2m}
      rate_limit: {min: 6m, max: 10m}
      block_sources: {min: 12m, max: 16m}
      verify: {min: 1h, max: 2h}
    mitigate_after: {min: 15m, max: 18m}
    resolve_after: {min: 2h30m, max: 3h}
expect:
  detected_within: 20m
  acknowledged_within: 5m
  mitigated_within: 25m
  resolved_within: 4h
  steps_in_order: [detect, rate_limit, block_sources, verify]
)yaml";

}  // namespace

const std::vector<std::pair<std::string_view, std::string_view>>& starter_scenarios() {
  static const std::vector<std::pair<std::string_view, std::string_view>> kScenarios{
      {"scenarios/system_crash.yaml", kSystemCrash},
      {"scenarios/data_breach.yaml", kDataBreach},
      {"scenarios/network_attack.yaml", kNetworkAttack}};
  return kScenarios;
}

namespace {

std::vector<core::NewFile> starter_files() {
  std::vector<core::NewFile> files;
  for (const auto& [path, text] : starter_scenarios()) files.push_back({path, text});
  return files;
}

}  // namespace

core::Status check_starter_scenarios_absent(const fs::path& dir) {
  return core::check_files_absent(dir, starter_files());
}

core::Status write_starter_scenarios(const fs::path& dir) { return core::write_new_files(dir, starter_files()); }

}  // namespace tocsin::drill
