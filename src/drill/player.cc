#include "drill/player.h"

#include "drill/record.h"

#include <algorithm>

namespace tocsin::drill {

DrillPlayer::DrillPlayer(const Scenario& scenario, const config::Config& config, engine::Engine& engine, Stage& stage,
                         const std::string& drill_id)
    : engine_(engine),
      stage_(stage),
      generator_(scenario, core::Labels{{"drill", drill_id}}),
      responders_(scenario, config, engine, scenario.seed),
      end_(scenario.start + scenario.duration) {}

core::Status DrillPlayer::ingest(const std::vector<core::Sample>& samples) {
  const engine::IngestResult r = TOCSIN_TRY(engine_.ingest(samples));
  dirty_ = dirty_ || r.alert_transitions > 0 || !r.incidents_opened.empty();
  return {};
}

core::Status DrillPlayer::settle() {
  Stage::Settled settled = TOCSIN_TRY(stage_.settle());
  engine_next_ = settled.next;
  pages_ += settled.pages.size();
  for (const auto& n : settled.pages) responders_.on_page(n, stage_.now());
  return {};
}

core::Status DrillPlayer::play_until(Timestamp until) {
  if (finished_) return {};
  until = std::min(until, end_);
  if (!started_) {
    started_ = true;
    TOCSIN_RETURN_IF_ERROR(settle());
  }
  auto sink = [this](const std::vector<core::Sample>& samples) { return ingest(samples); };
  for (;;) {
    std::optional<Timestamp> next = generator_.next_time();
    for (auto t : {responders_.next_time(), engine_next_}) {
      if (t && (!next || *t < *next)) next = t;
    }
    if (!next || *next >= until) break;
    ++steps_;
    TOCSIN_RETURN_IF_ERROR(stage_.move_to(std::max(*next, stage_.now())));
    const Timestamp now = stage_.now();
    if (auto g = generator_.next_time(); g && *g <= now) {
      auto tick = generator_.take(now);
      if (!tick.samples.empty()) TOCSIN_RETURN_IF_ERROR(ingest(tick.samples));
      if (!tick.events.empty()) TOCSIN_TRY(counters_.record(tick.events, sink));
    }
    if (auto r = responders_.next_time(); r && *r <= now) {
      TOCSIN_RETURN_IF_ERROR(responders_.run_due(now));
      dirty_ = true;
    }
    if (dirty_ || (engine_next_ && *engine_next_ <= now)) {
      TOCSIN_RETURN_IF_ERROR(settle());
      dirty_ = false;
    }
  }
  TOCSIN_RETURN_IF_ERROR(stage_.move_to(until));
  TOCSIN_RETURN_IF_ERROR(settle());
  dirty_ = false;
  if (until >= end_) finished_ = true;
  return {};
}

core::Result<DrillRecord> drill_record_from_store(engine::Engine& /*engine*/, store::Store& store,
                                                  const Scenario& scenario, const std::string& drill_id,
                                                  Timestamp end) {
  DrillRecord rec;
  TOCSIN_RETURN_IF_ERROR(store.read([&](store::Tx& tx) -> core::Status {
    rec = TOCSIN_TRY(gather_record(tx, scenario, drill_id, end));
    return {};
  }));
  return rec;
}

}  // namespace tocsin::drill
