// Detector state across replicas (docs/high-availability.md, "Detector state across replicas"):
// series move between replicas when the ownership view changes (engine/ownership.h); their
// learned state goes with them through per-replica checkpoints in the shared store
// (store::Tx::put_detector_state), and their alert phases come from the stored alerts, as after
// a restart.
#include <algorithm>

#include "core/log.h"
#include "engine/engine.h"

namespace tocsin::engine {

core::Status Engine::checkpoint_detector_state(core::Timestamp now) {
  if (options_.lease.exclusive_store) return {};
  std::string bytes;
  {
    std::lock_guard lock(mu_);
    bytes = rules_->snapshot();
  }
  // Not fenced: each replica writes only its own row, lease or not.
  return options_.store->write([&](store::Tx& tx) -> core::Status {
    return tx.put_detector_state(lease_->replica_id(), now, bytes);
  });
}

core::Status Engine::adopt_series_locked(const SeriesOwnership& view, bool all) {
  std::vector<store::DetectorState> states;
  std::vector<detect::RestoredAlert> phases;
  // One read for both, under mu_: every alert phase change is committed under mu_, so what is
  // read here is what the store holds when the phases are seeded.
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    states = TOCSIN_TRY(tx.list_detector_states());
    for (auto state : {store::AlertState::kPending, store::AlertState::kFiring}) {
      for (const auto& a : TOCSIN_TRY(tx.list_alerts(state))) {
        if (a.rule.empty()) continue;  // received from outside, not evaluated here
        const auto phase = state == store::AlertState::kFiring ? detect::AlertPhase::kFiring : detect::AlertPhase::kPending;
        phases.push_back({a.fingerprint, phase, a.active_at, a.updated_at, a.value});
      }
    }
    return {};
  }));
  // Oldest first; a series' state is taken only when newer than the one held (merge_snapshot).
  std::sort(states.begin(), states.end(), [](const auto& a, const auto& b) { return a.saved_at < b.saved_at; });
  auto mine = [&view](uint64_t fp) { return view.is_local(fp); };
  size_t merged = 0;
  bool any = false;
  for (const auto& state : states) {
    if (state.replica_id == lease_->replica_id()) continue;
    auto seen = adopted_saved_at_.find(state.replica_id);
    if (!all && seen != adopted_saved_at_.end() && seen->second >= state.saved_at) continue;
    adopted_saved_at_[state.replica_id] = state.saved_at;
    any = true;
    if (auto n = rules_->merge_snapshot(state.state, mine)) {
      merged += *n;
    } else {
      core::log::error("detector checkpoint not merged; its series start fresh here",
                       {{"replica", state.replica_id}, {"error", n.error().to_string()}});
    }
  }
  if (!any) return {};
  // Pending and firing alerts carry on here (a sample back to normal resolves one the previous
  // owner fired); alerts of series owned elsewhere wait unused until their series shows up.
  rules_->restore_some(std::move(phases));
  if (merged > 0) {
    core::log::info("detector state taken over from other replicas' checkpoints",
                    {{"series_states", std::to_string(merged)}, {"view_epoch", std::to_string(view.epoch())}});
  }
  return {};
}

core::Status Engine::hand_over_series(core::Timestamp now) {
  if (options_.lease.exclusive_store) return {};
  const std::shared_ptr<const SeriesOwnership> view = lease_->ownership();
  if (view->epoch() != handled_view_epoch_) {
    // First what leaves: the state of every series as of now, for their new owners to take.
    TOCSIN_RETURN_IF_ERROR(checkpoint_detector_state(now));
    {
      std::lock_guard lock(mu_);
      const size_t dropped = rules_->drop_series([&](uint64_t fp) { return !view->is_local(fp); });
      TOCSIN_RETURN_IF_ERROR(adopt_series_locked(*view, /*all=*/true));
      if (dropped > 0) {
        core::log::info("series moved to other replicas",
                        {{"series_states", std::to_string(dropped)}, {"view_epoch", std::to_string(view->epoch())}});
      }
    }
    handled_view_epoch_ = view->epoch();
    // The previous owners checkpoint when they see the new view: within one renewal of ours.
    adopt_until_ = now + 2 * options_.lease.renew_every + std::chrono::milliseconds(100);
    next_adopt_read_ = now + options_.lease.renew_every;
    return {};
  }
  if (adopt_until_) {
    if (now > *adopt_until_) {
      adopt_until_.reset();
      return {};
    }
    if (now < next_adopt_read_) return {};
    next_adopt_read_ = now + options_.lease.renew_every;
    std::lock_guard lock(mu_);
    return adopt_series_locked(*view, /*all=*/false);
  }
  return {};
}

}  // namespace tocsin::engine
