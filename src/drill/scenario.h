// Drill scenario files (docs/drills.md): what a drill injects into the real pipeline, who takes
// part and how the simulated responders behave, and what the response is expected to achieve.
//
//   name: system-crash            description: …            plan: system_crash
//   seed: 42                      start: 2026-03-02T10:00:00Z   duration: 6h
//   participants: [alice, bob, carol]
//   series:      background traffic per series (base, daily amplitude, noise, interval)
//   faults:      spike | ramp | level_shift | flatline | absent | noise_burst | error_burst |
//                security_event | feedback_burst, each with at/duration/magnitude/shape
//   responders:  per person or role: ack delay, miss probability, step completion times
//   expect:      detected_within, acknowledged_within, mitigated_within, resolved_within,
//                steps_in_order
//
// parse_scenario() checks shapes and values (unknown keys, bad durations, faults outside the
// drill, …); validate_scenario() checks references against a loaded config (the plan, people,
// roles and steps exist) and returns warnings (a series no rule watches). Every error names
// file:line and the field path, like config errors.
// Thread-safety: the functions are reentrant; a Scenario is a value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/labels.h"
#include "core/result.h"
#include "core/time.h"

namespace tocsin::drill {

using core::Duration;
using core::Position;
using core::Timestamp;

// A random delay: fixed, uniform in [min, max], or lognormal (median, sigma) capped at max; or
// `never`.
struct Delay {
  enum class Kind { kFixed, kUniform, kLognormal, kNever };
  Kind kind = Kind::kFixed;
  Duration fixed{};
  Duration min{};
  Duration max{};
  Duration median{};
  double sigma = 0;
  std::string to_string() const;
};

// Background traffic of one series: value(t) = base + daily_amplitude * sin(2π (t - peak + 6h)/24h)
// + noise * N(0,1), sampled every `interval`; clamped to [min, max]. A counter series
// (`type: counter`) grows by that value per second instead (base is a rate).
struct SeriesSpec {
  std::string name;     // the metric name
  core::Labels labels;  // extra labels (not __name__)
  enum class Type { kGauge, kCounter };
  Type type = Type::kGauge;
  double base = 0;
  double daily_amplitude = 0;
  Duration peak = std::chrono::hours(14);  // time of day (UTC) of the daily maximum
  double noise = 0;                        // σ of the Gaussian noise
  Duration interval = std::chrono::seconds(30);
  std::optional<double> min;
  std::optional<double> max;
  Position pos;
};

enum class FaultKind {
  kSpike,          // + magnitude over the window (shape: square by default)
  kRamp,           // rises linearly to + magnitude at the end of the window
  kLevelShift,     // + magnitude from `at` to the end of the drill (duration ignored)
  kFlatline,       // the value stays at `magnitude` (a stuck sensor)
  kAbsent,         // no samples at all
  kNoiseBurst,     // noise σ multiplied by magnitude
  kErrorBurst,     // a counter grows by an extra `magnitude` per second
  kSecurityEvent,  // security events of `event_kind`: magnitude per minute (POST /api/v1/events)
  kFeedbackBurst,  // user-feedback reports of `event_kind`: magnitude per minute
};
std::string_view to_string(FaultKind kind);

// How a fault's effect varies over its window: square (full throughout), linear (0 → full),
// triangle (0 → full at the middle → 0), decay (full, halving every tenth of the window).
enum class Shape { kSquare, kLinear, kTriangle, kDecay };
std::string_view to_string(Shape shape);

struct Fault {
  FaultKind kind = FaultKind::kSpike;
  std::string series;      // a series from `series:` (signal faults)
  std::string event_kind;  // security_event / feedback_burst: the event's kind
  core::Labels labels;     // events: their labels
  Duration at{};           // offset from the drill's start
  Duration duration{};
  double magnitude = 0;
  Shape shape = Shape::kSquare;
  Position pos;
};

struct Responder {
  // Exactly one of person / role; `default: true` for everyone else.
  std::string person;
  std::string role;
  bool is_default = false;
  std::optional<Delay> ack_after;       // after the page arrives
  double miss_probability = 0;          // of each page
  std::map<std::string, Delay> steps;   // step id -> after the incident is acknowledged
  std::optional<Delay> approve_after;   // approval-gated actions of their steps: after the ack
  std::optional<Delay> mitigate_after;  // when this person acknowledged: after the ack
  std::optional<Delay> resolve_after;   // likewise
  Position pos;
  int person_line = 0, role_line = 0;  // for validate_scenario's messages
  std::map<std::string, int> step_lines;
};

struct Expectations {
  std::optional<Duration> detected_within;      // first fault → first alert firing
  std::optional<Duration> acknowledged_within;  // incident opened → acknowledged
  std::optional<Duration> mitigated_within;     // incident opened → mitigated
  std::optional<Duration> resolved_within;      // incident opened → resolved
  std::vector<std::string> steps_in_order;      // these steps done, in this order
  Position pos;
  std::vector<int> step_lines;
};

struct Scenario {
  std::string file;
  std::string name;
  std::string description;
  std::string plan;
  uint64_t seed = 1;
  Timestamp start{};
  Duration duration{};
  std::vector<std::string> participants;  // person ids; empty = everyone in the config
  std::vector<int> participant_lines;
  std::vector<SeriesSpec> series;
  std::vector<Fault> faults;
  std::vector<Responder> responders;
  Expectations expect;
  Position pos;
  // Positions of the scalar fields, for validate_scenario's messages.
  std::map<std::string, Position> field_pos;
};

core::Result<Scenario> parse_scenario(std::string_view yaml, std::string file);
core::Result<Scenario> load_scenario(const std::filesystem::path& file);

// Checks the scenario against `config`; returns warnings (one line each, file:line first).
core::Result<std::vector<std::string>> validate_scenario(const Scenario& scenario, const config::Config& config);

// The responder profile that applies to `person`, who fills `roles` in the plan: the person's
// entry, else the first entry of one of their roles, else the default entry; nullptr if none.
const Responder* responder_for(const Scenario& scenario, std::string_view person,
                               const std::vector<std::string>& roles);

// The series an event fault feeds (the names POST /api/v1/events produces), e.g.
// security_events and security_events_total.
std::vector<std::string> event_series_names(FaultKind kind);

}  // namespace tocsin::drill
