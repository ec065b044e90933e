// Plays a drill's timeline against an engine: the scenario's signal generator (background
// traffic and faults), its simulated responders, and the engine's own due times, stepped in time
// order. One loop for both ways a drill runs on simulated time:
//   - the simulated runner (runner.cc) plays a whole scenario in one play_until(end), on a
//     private SimulatedClock with in-memory senders;
//   - `tocsin demo` plays it in slices, play_until(t) with t following wall time × speed, against
//     a running server whose simulated clock only the demo moves, the real senders delivering.
// What differs between the two is the Stage: how the clock moves, how the engine is run at the
// current instant, and how the pages it delivered are found.
//
// The loop steps to the next thing that happens — a generator tick, a responder action, or the
// engine's next due time — ingests what the generator produced (events through
// ingest::EventCounters, as POST /api/v1/events does), carries out the responders' due actions,
// and runs the engine when an alert moved, a responder acted or the engine has work due. Samples
// that move no alert leave the engine's next due time as it was, so it is not run for them.
// Thread-safety: a DrillPlayer is used from one thread; the engine may be shared (it is
// thread-safe), the stage is the player's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "drill/faults.h"
#include "drill/responders.h"
#include "drill/scenario.h"
#include "drill/scorecard.h"
#include "engine/engine.h"
#include "ingest/events.h"
#include "store/store.h"

namespace tocsin::drill {

// What a DrillPlayer drives: the clock and the running of the engine.
class Stage {
 public:
  virtual ~Stage() = default;
  virtual Timestamp now() const = 0;
  // Moves the clock forward to `t` (never back; `t` < now() leaves it). A stage may run the
  // engine on the way; the pages delivered then are returned by the next settle().
  virtual core::Status move_to(Timestamp t) = 0;
  struct Settled {
    std::vector<store::Notification> pages;  // delivered since the last settle(), in delivery order
    std::optional<Timestamp> next;           // the engine's next due time; empty = nothing scheduled
  };
  // Runs the engine at now() until it has nothing more due now.
  virtual core::Result<Settled> settle() = 0;
};

class DrillPlayer {
 public:
  // `scenario`, `config`, `engine` and `stage` must outlive the player. `drill_id` is the value of
  // the drill label on every sample and event. The scenario's start must be the stage's now().
  DrillPlayer(const Scenario& scenario, const config::Config& config, engine::Engine& engine, Stage& stage,
              const std::string& drill_id);

  // Plays everything due before `until` in time order, then moves the clock to `until` (capped at
  // the scenario's end) and settles the engine there. Call with increasing times; play_until(end())
  // finishes the drill.
  core::Status play_until(Timestamp until);

  Timestamp end() const { return end_; }
  bool finished() const { return finished_; }
  // The next time a responder acts; empty when nobody has anything planned.
  std::optional<Timestamp> next_responder_action() const { return responders_.next_time(); }

  size_t samples() const { return generator_.samples_generated(); }
  size_t events() const { return generator_.events_generated(); }
  size_t pages() const { return pages_; }
  size_t responder_actions() const { return responders_.actions_taken(); }
  size_t steps() const { return steps_; }  // loop iterations

 private:
  core::Status ingest(const std::vector<core::Sample>& samples);
  core::Status settle();

  engine::Engine& engine_;
  Stage& stage_;
  SignalGenerator generator_;
  ingest::EventCounters counters_;
  Responders responders_;
  Timestamp end_;
  bool started_ = false;
  bool finished_ = false;
  bool dirty_ = false;  // the engine may have new work now (an alert moved, a responder acted)
  std::optional<Timestamp> engine_next_;
  size_t pages_ = 0;
  size_t steps_ = 0;
};

// Everything the scorecard needs about drill `drill_id` from a store the drill shares with other
// data (a running server's): record.h's gather_record in a read transaction of `store` — the one
// implementation the simulated runner and the server's scoring of live drills use too.
core::Result<DrillRecord> drill_record_from_store(engine::Engine& engine, store::Store& store, const Scenario& scenario,
                                                  const std::string& drill_id, Timestamp end);

}  // namespace tocsin::drill
