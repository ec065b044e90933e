#include "drill/runner.h"

#include <fmt/format.h>

#include <algorithm>

#include "action/executor.h"
#include "core/metrics.h"
#include "core/simulated_clock.h"
#include "drill/faults.h"
#include "drill/player.h"
#include "drill/record.h"
#include "engine/engine.h"
#include "notify/sender.h"

namespace tocsin::drill {
namespace {

// Records every notification it is given and reports it delivered.
class RecordingSender final : public notify::Sender {
 public:
  notify::DeliveryResult send(const store::Notification& n) override {
    delivered_.push_back(n);
    return {true, 0, "", true};
  }
  std::vector<store::Notification> take() { return std::exchange(delivered_, {}); }

 private:
  std::vector<store::Notification> delivered_;
};

// Approved step actions "succeed" without running anything: a drill never calls a real webhook
// or command.
class RecordingExecutor final : public action::Executor {
 public:
  action::ActionOutcome run(const action::ActionRequest& request) override {
    ++runs_;
    return {true, 0,
            fmt::format("drill: not run ({})",
                        request.type == action::ActionRequest::Type::kWebhook ? "webhook" : "command"),
            ""};
  }
  int runs_ = 0;
};

// The player's stage for a simulated run: the private clock moves when told, and settling runs
// the engine until nothing more is due at that instant, handing over the pages recorded meanwhile.
class LocalStage final : public Stage {
 public:
  LocalStage(core::SimulatedClock& clock, engine::Engine& engine, RecordingSender& sender)
      : clock_(clock), engine_(engine), sender_(sender) {}
  Timestamp now() const override { return clock_.now(); }
  core::Status move_to(Timestamp t) override {
    clock_.advance_to(std::max(t, clock_.now()));
    return {};
  }
  core::Result<Settled> settle() override {
    Settled out;
    for (int i = 0; i < 1000; ++i) {
      out.next = TOCSIN_TRY(engine_.run_due());
      auto pages = sender_.take();
      const bool none = pages.empty();
      for (auto& n : pages) out.pages.push_back(std::move(n));
      if (none && (!out.next || *out.next > clock_.now())) return out;
    }
    return std::unexpected(core::Error::internal("drill: the engine kept finding work at the same instant"));
  }

 private:
  core::SimulatedClock& clock_;
  engine::Engine& engine_;
  RecordingSender& sender_;
};

}  // namespace

core::Result<DrillRun> run_drill(std::shared_ptr<const config::Config> config, const Scenario& scenario,
                                 const DrillOptions& options) {
  if (!options.store) return std::unexpected(core::Error::invalid_argument("run_drill: no store"));
  DrillRun run;
  run.warnings = TOCSIN_TRY(validate_scenario(scenario, *config));
  Scenario s = scenario;
  if (options.seed) s.seed = *options.seed;

  core::SimulatedClock clock(s.start);
  core::MetricsRegistry metrics;
  RecordingSender sender;
  RecordingExecutor executor;
  engine::EngineOptions eo;
  eo.config = config;
  eo.store = options.store;
  eo.clock = &clock;
  eo.metrics = &metrics;
  eo.senders = {{"webhook", &sender}, {"slack", &sender}, {"email", &sender}, {"exec", &sender}};
  eo.external_url = "http://drill.invalid";
  eo.action_executor = &executor;
  auto engine = TOCSIN_TRY(engine::Engine::create(std::move(eo)));

  // The drill is registered the way a live drill is (docs/drills.md, "Live drills"), so its
  // incidents are [DRILL] incidents that page only the participants — the same engine paths a
  // live drill takes, not a simulation of them.
  std::string drill_id = options.drill_id;
  if (drill_id.empty()) {
    std::vector<std::string> participants = s.participants;
    if (participants.empty()) {
      for (const auto& person : config->people) participants.push_back(person.id);
    }
    const store::LiveDrill drill = TOCSIN_TRY(engine->start_live_drill(s.name, s.plan, participants, "drill"));
    drill_id = std::to_string(drill.id);
  }

  // The loop itself is the DrillPlayer's (player.h), shared with `tocsin demo`; here it runs on
  // the private clock, and the pages are what the in-memory senders recorded.
  LocalStage stage(clock, *engine, sender);
  DrillPlayer player(s, *config, *engine, stage, drill_id);
  TOCSIN_RETURN_IF_ERROR(player.play_until(s.start + s.duration));
  const Timestamp end = player.end();
  run.steps = player.steps();
  run.pages = player.pages();
  run.samples = player.samples();
  run.events = player.events();
  run.responder_actions = player.responder_actions();
  run.simulated = s.duration;

  // What the store recorded: the scorecard's only input besides the scenario (record.h, shared
  // with the server's scoring of live drills).
  TOCSIN_RETURN_IF_ERROR(options.store->read([&](store::Tx& tx) -> core::Status {
    run.record = TOCSIN_TRY(gather_record(tx, s, drill_id, end));
    return {};
  }));
  run.scorecard = compute_scorecard(s, *config, run.record);
  return run;
}

}  // namespace tocsin::drill
