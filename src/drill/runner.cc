#include "drill/runner.h"

#include <fmt/format.h>

#include <algorithm>

#include "action/executor.h"
#include "core/metrics.h"
#include "core/simulated_clock.h"
#include "drill/faults.h"
#include "drill/record.h"
#include "drill/responders.h"
#include "engine/engine.h"
#include "ingest/events.h"
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

  SignalGenerator generator(s, core::Labels{{"drill", drill_id}});
  ingest::EventCounters counters;
  Responders responders(s, *config, *engine, s.seed);
  const Timestamp end = s.start + s.duration;

  // Whether the engine may have new work now: an alert moved, or a responder acted. Plain
  // samples that move no alert leave its next due time as it was, so the engine is not run for
  // them — most ticks of a long drill (the per-tick work stays a batch of ingests).
  bool dirty = false;
  auto sink = [&](const std::vector<core::Sample>& samples) -> core::Status {
    const engine::IngestResult r = TOCSIN_TRY(engine->ingest(samples));
    dirty = dirty || r.alert_transitions > 0 || !r.incidents_opened.empty();
    return {};
  };
  // Runs the engine at the clock's time until it has nothing more due now; hands pages over.
  std::optional<Timestamp> engine_next;
  auto settle = [&]() -> core::Status {
    for (int i = 0; i < 1000; ++i) {
      engine_next = TOCSIN_TRY(engine->run_due());
      auto pages = sender.take();
      run.pages += pages.size();
      for (const auto& n : pages) responders.on_page(n, clock.now());
      if (pages.empty() && (!engine_next || *engine_next > clock.now())) return {};
    }
    return std::unexpected(core::Error::internal("drill: the engine kept finding work at the same instant"));
  };
  TOCSIN_RETURN_IF_ERROR(settle());
  for (;;) {
    std::optional<Timestamp> next = generator.next_time();
    for (auto t : {responders.next_time(), engine_next}) {
      if (t && (!next || *t < *next)) next = t;
    }
    if (!next || *next >= end) break;
    ++run.steps;
    clock.advance_to(std::max(*next, clock.now()));
    const Timestamp now = clock.now();
    if (auto g = generator.next_time(); g && *g <= now) {
      auto tick = generator.take(now);
      if (!tick.samples.empty()) TOCSIN_RETURN_IF_ERROR(sink(tick.samples));
      if (!tick.events.empty()) TOCSIN_TRY(counters.record(tick.events, sink));
    }
    if (auto r = responders.next_time(); r && *r <= now) {
      TOCSIN_RETURN_IF_ERROR(responders.run_due(now));
      dirty = true;
    }
    if (dirty || (engine_next && *engine_next <= now)) {
      TOCSIN_RETURN_IF_ERROR(settle());
      dirty = false;
    }
  }
  clock.advance_to(end);
  TOCSIN_RETURN_IF_ERROR(settle());
  run.samples = generator.samples_generated();
  run.events = generator.events_generated();
  run.responder_actions = responders.actions_taken();
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
