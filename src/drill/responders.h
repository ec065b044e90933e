// Simulated responders: the people of a drill, acting through the Engine's public API
// (acknowledge, approve_action, complete_task, mitigate, resolve) on simulated time, triggered by
// the pages they receive — nothing else tells them an incident exists.
//
// For each escalation page (one ladder step, one person) the person's profile (scenario.h:
// person entry, else role entry, else default, else the built-in default of a 1–3 minute ack)
// draws whether the page is missed (miss_probability, or `ack_after: never`) and, if not, when
// they acknowledge. A missed page means they wait for the next escalation. Whoever
// acknowledges first starts the plan: every open task is done by its assignee after their
// `steps:` delay (from the acknowledgement; a step they do not list is done at a uniform point
// between the acknowledgement and its due time), approval-gated actions are approved when the
// step is done (or after `approve_after`), and the acknowledger mitigates and resolves after
// their `mitigate_after` / `resolve_after`. People outside `participants` never act.
// Random draws come from one stream per person (drill/rng.h), in event order: deterministic.
// Thread-safety: used from the drill runner's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "drill/rng.h"
#include "drill/scenario.h"
#include "engine/engine.h"

namespace tocsin::drill {

class Responders {
 public:
  Responders(const Scenario& scenario, const config::Config& config, engine::Engine& engine, uint64_t seed);

  // A notification was delivered at `now`.
  void on_page(const store::Notification& n, Timestamp now);
  // The next time a responder acts; nullopt when nobody has anything planned.
  std::optional<Timestamp> next_time() const;
  // Carries out every action due at or before `now`, in (time, order planned).
  core::Status run_due(Timestamp now);

  size_t actions_taken() const { return taken_; }

 private:
  enum class Kind { kAck, kApprove, kStep, kMitigate, kResolve };
  struct Action {
    Kind kind;
    int64_t incident;
    std::string person;
    std::string step;
  };
  Rng& rng_for(const std::string& person);
  // Draws a delay; nullopt for never.
  std::optional<Duration> draw(const std::string& person, const Delay& d);
  const Responder* profile(const std::string& person, int64_t incident);
  bool takes_part(const std::string& person) const;
  void plan(Timestamp at, Action action);
  // Someone acknowledged `incident` at `now`: schedule the plan's work.
  core::Status start_plan(int64_t incident, const std::string& acknowledger, Timestamp now);

  const Scenario& scenario_;
  const config::Config& config_;
  engine::Engine& engine_;
  uint64_t seed_;
  std::map<std::string, Rng> rngs_;
  std::set<std::tuple<int64_t, int, int, std::string>> seen_pages_;
  std::multimap<std::pair<Timestamp, uint64_t>, Action> queue_;
  uint64_t seq_ = 0;
  size_t taken_ = 0;
};

}  // namespace tocsin::drill
