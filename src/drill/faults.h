// Deterministic signal generation for drills: the background traffic of a scenario's series
// (base + daily seasonality + Gaussian noise) with its faults applied, and the events of
// security_event / feedback_burst faults, tick by tick on simulated time.
//
// Every series has its own random stream (drill/rng.h, seeded from the scenario's seed and the
// series), and samples are drawn in time order, so the same scenario and seed give the same
// values everywhere — and adding a responder or a fault on another series changes nothing here.
// Thread-safety: a SignalGenerator is used from one thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/sample.h"
#include "drill/rng.h"
#include "drill/scenario.h"
#include "ingest/events.h"

namespace tocsin::drill {

// When a fault was active, as plain data for the scorecard.
struct FaultWindow {
  FaultKind kind = FaultKind::kSpike;
  std::string target;  // the series name, or "security_event:exfiltration"
  Timestamp from{};
  Timestamp to{};
};
std::vector<FaultWindow> fault_timeline(const Scenario& scenario);

// How much of a fault's effect applies at `frac` (0 at its start, 1 at its end) of its window.
double envelope(Shape shape, double frac);

class SignalGenerator {
 public:
  // `extra_labels` go on every sample and event (e.g. drill="<id>").
  SignalGenerator(const Scenario& scenario, core::Labels extra_labels);

  // The next time something is due (a sample or an event batch); nullopt once the drill is over.
  std::optional<Timestamp> next_time() const;

  struct Tick {
    std::vector<core::Sample> samples;
    std::vector<ingest::Event> events;
  };
  // Everything due at `t` (call with t == next_time()); advances past it.
  Tick take(Timestamp t);

  // Counters for tests and the speed report.
  size_t samples_generated() const { return samples_; }
  size_t events_generated() const { return events_; }

 private:
  struct SeriesState {
    const SeriesSpec* spec = nullptr;
    core::Labels labels;  // with __name__ and the extra labels
    Rng rng{0};
    Timestamp next{};
    double counter = 0;
    std::vector<const Fault*> faults;
  };
  struct EventState {
    const Fault* fault = nullptr;
    core::Labels labels;  // without kind
    Timestamp next{};
    double owed = 0;  // events not yet emitted (fractions carry over)
  };
  // The value at `t`, or nullopt when the series is absent then.
  std::optional<double> value_at(SeriesState& s, Timestamp t);

  const Scenario& scenario_;
  Timestamp end_{};
  std::vector<SeriesState> series_;
  std::vector<EventState> event_faults_;
  size_t samples_ = 0;
  size_t events_ = 0;
};

// The event faults' batch interval: events are emitted every 10 s of simulated time.
inline constexpr Duration kEventTick = std::chrono::seconds(10);

}  // namespace tocsin::drill
