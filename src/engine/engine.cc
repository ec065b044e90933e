#include "engine/engine.h"

#include <fmt/format.h>

#include "core/log.h"

namespace tocsin::engine {

core::Result<std::unique_ptr<Engine>> Engine::create(EngineOptions options) {
  if (!options.config || !options.store || !options.clock || !options.metrics) {
    return std::unexpected(core::Error::internal("engine needs a config, a store, a clock and a metrics registry"));
  }
  auto rules = TOCSIN_TRY(detect::RuleEngine::create(options.config->rules, detect::DetectorRegistry::builtin()));
  // Alerts that were pending or firing before a restart carry on from where they were.
  std::vector<detect::RestoredAlert> restored;
  TOCSIN_RETURN_IF_ERROR(options.store->read([&](store::Tx& tx) -> core::Status {
    for (auto state : {store::AlertState::kPending, store::AlertState::kFiring}) {
      for (const auto& a : TOCSIN_TRY(tx.list_alerts(state))) {
        if (a.rule.empty()) continue;  // received from outside, not ours to evaluate
        const auto phase = state == store::AlertState::kFiring ? detect::AlertPhase::kFiring : detect::AlertPhase::kPending;
        restored.push_back({a.fingerprint, phase, a.active_at, a.updated_at, a.value});
      }
    }
    return {};
  }));
  rules->restore(std::move(restored));
  return std::unique_ptr<Engine>(new Engine(std::move(options), std::move(rules)));
}

Engine::Engine(EngineOptions options, std::unique_ptr<detect::RuleEngine> rules)
    : options_(std::move(options)),
      rules_(std::move(rules)),
      incidents_(options_.config),
      escalator_(options_.config, incidents_, options_.external_url),
      deliverer_(options_.senders, *options_.clock, options_.retry),
      samples_total_(options_.metrics->counter("tocsin_samples_ingested_total", "Samples accepted for detection.")),
      alerts_firing_total_(options_.metrics->counter("tocsin_alerts_fired_total", "Alerts that started firing.")),
      incidents_opened_total_(options_.metrics->counter("tocsin_incidents_opened_total", "Incidents opened.")),
      ingest_seconds_(options_.metrics->histogram("tocsin_ingest_seconds",
                                                  "Time from receiving a batch of samples to its alerts being durable.")) {}

void Engine::set_on_wake(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_wake_ = std::move(fn);
}

void Engine::wake() {
  if (on_wake_) on_wake_();
}

core::Result<std::vector<int64_t>> Engine::apply_locked(const std::vector<detect::AlertEvent>& events,
                                                        core::Timestamp now) {
  std::vector<int64_t> opened;
  TOCSIN_RETURN_IF_ERROR(options_.store->write([&](store::Tx& tx) -> core::Status {
    opened = TOCSIN_TRY(incidents_.apply(tx, events, now));
    return {};
  }));
  for (const auto& e : events) {
    if (e.to == detect::AlertPhase::kFiring) alerts_firing_total_.inc();
  }
  incidents_opened_total_.inc(static_cast<double>(opened.size()));
  return opened;
}

core::Result<IngestResult> Engine::ingest(const std::vector<core::Sample>& samples) {
  const auto started = options_.clock->mono_now();
  IngestResult result;
  {
    std::lock_guard lock(mu_);
    const core::Timestamp now = options_.clock->now();
    std::vector<detect::AlertEvent> events;
    for (const auto& s : samples) {
      auto e = rules_->ingest(s);
      events.insert(events.end(), std::make_move_iterator(e.begin()), std::make_move_iterator(e.end()));
    }
    // Rule state moved in memory even if the write fails; the alert records are what is durable.
    if (!events.empty()) result.incidents_opened = TOCSIN_TRY(apply_locked(events, now));
    result.accepted = samples.size();
    result.alert_transitions = events.size();
    samples_total_.inc(static_cast<double>(samples.size()));
    if (!events.empty()) wake();
  }
  ingest_seconds_.observe(std::chrono::duration<double>(options_.clock->mono_now() - started).count());
  return result;
}

core::Result<store::Incident> Engine::respond(
    const std::function<core::Result<store::Incident>(store::Tx&, core::Timestamp)>& action) {
  std::lock_guard lock(mu_);
  store::Incident out;
  TOCSIN_RETURN_IF_ERROR(options_.store->write([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(action(tx, options_.clock->now()));
    return {};
  }));
  return out;
}

core::Result<store::Incident> Engine::acknowledge(int64_t id, std::string_view actor) {
  return respond([&](store::Tx& tx, core::Timestamp now) { return incidents_.acknowledge(tx, id, actor, now); });
}

core::Result<store::Incident> Engine::resolve(int64_t id, std::string_view actor) {
  return respond([&](store::Tx& tx, core::Timestamp now) { return incidents_.resolve(tx, id, actor, now); });
}

core::Result<store::Incident> Engine::add_note(int64_t id, std::string_view actor, std::string_view text) {
  return respond([&](store::Tx& tx, core::Timestamp now) { return incidents_.add_note(tx, id, actor, text, now); });
}

core::Result<std::vector<store::Incident>> Engine::list_incidents(const store::IncidentFilter& filter) {
  std::vector<store::Incident> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.list_incidents(filter));
    return {};
  }));
  return out;
}

core::Result<store::Incident> Engine::get_incident(int64_t id) {
  std::optional<store::Incident> out;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    out = TOCSIN_TRY(tx.get_incident(id));
    return {};
  }));
  if (!out) return std::unexpected(core::Error::not_found(fmt::format("no incident {}", id)));
  return std::move(*out);
}

core::Result<std::optional<core::Timestamp>> Engine::run_due() {
  std::optional<core::Timestamp> next;
  auto earliest = [&](std::optional<core::Timestamp> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  {
    std::lock_guard lock(mu_);
    const core::Timestamp now = options_.clock->now();
    // 1. Rule timers: pending alerts whose `for` elapsed, keep_firing_for expiry.
    auto events = rules_->eval(now);
    if (!events.empty()) TOCSIN_TRY(apply_locked(events, now));
    earliest(rules_->next_due());
    // 2. Escalation: page the levels that are due.
    TOCSIN_RETURN_IF_ERROR(options_.store->write([&](store::Tx& tx) -> core::Status {
      TOCSIN_TRY(escalator_.update(tx, now));
      return {};
    }));
  }
  // 3. Delivery, outside the engine lock: a slow receiver must not block ingestion.
  {
    std::lock_guard lock(delivery_mu_);
    TOCSIN_TRY(deliverer_.update(*options_.store, options_.clock->now()));
  }
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    earliest(TOCSIN_TRY(tx.next_escalation_due()));
    earliest(TOCSIN_TRY(tx.next_notification_due()));
    return {};
  }));
  return next;
}

}  // namespace tocsin::engine
