// Detector state across replicas (docs/high-availability.md, "Detector state across replicas"):
// series move between replicas when the ownership view changes (engine/ownership.h); their
// learned state goes with them through per-replica checkpoints in the shared store
// (store::Tx::put_detector_state), and their alert phases come from the stored alerts, as after
// a restart. Ingestion routes by the view handed over (Engine::ownership), which changes under the
// engine mutex together with the series' state.
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

core::Status Engine::periodic_checkpoint(core::Timestamp now) {
  if (core::to_unix_ms(now) < keep_checkpoint_until_ms_.load()) return {};
  return checkpoint_detector_state(now);
}

std::shared_ptr<const SeriesOwnership> Engine::ownership() const {
  std::lock_guard lock(routing_mu_);
  return routing_view_;
}

core::Result<std::vector<store::DetectorState>> Engine::other_checkpoints(bool only_if_new) {
  auto unmerged = [&](const store::DetectorState& state) {
    if (state.replica_id == lease_->replica_id()) return false;
    auto seen = adopted_saved_at_.find(state.replica_id);
    return seen == adopted_saved_at_.end() || seen->second < state.saved_at;
  };
  std::vector<store::DetectorState> states;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    if (only_if_new) {
      auto news = TOCSIN_TRY(tx.list_detector_states_saved_after(handed_over_at_ - std::chrono::milliseconds(1)));
      if (std::none_of(news.begin(), news.end(), unmerged)) return {};
    }
    states = TOCSIN_TRY(tx.list_detector_states());
    return {};
  }));
  std::erase_if(states, [&](const store::DetectorState& state) { return state.replica_id == lease_->replica_id(); });
  return states;
}

core::Result<size_t> Engine::adopt_series_locked(std::vector<store::DetectorState> states, const SeriesOwnership& view,
                                                 const SeriesOwnership& before) {
  if (states.empty()) return size_t{0};
  // Oldest first: of the checkpoints, the state with the latest sample wins (merge_snapshot).
  std::sort(states.begin(), states.end(), [](const auto& a, const auto& b) { return a.saved_at < b.saved_at; });
  auto mine = [&view](uint64_t fp) { return view.is_local(fp); };
  auto moved_in = [&](uint64_t fp) { return view.is_local(fp) && !before.is_local(fp); };
  // The alert phases are read under mu_, under which every phase change is committed: what is
  // read is what the store holds when they are seeded.
  std::vector<detect::RestoredAlert> phases;
  TOCSIN_RETURN_IF_ERROR(options_.store->read([&](store::Tx& tx) -> core::Status {
    for (auto state : {store::AlertState::kPending, store::AlertState::kFiring}) {
      for (const auto& a : TOCSIN_TRY(tx.list_alerts(state))) {
        if (a.rule.empty()) continue;  // received from outside, not evaluated here
        const auto phase = state == store::AlertState::kFiring ? detect::AlertPhase::kFiring : detect::AlertPhase::kPending;
        phases.push_back({a.fingerprint, phase, a.active_at, a.updated_at, a.value});
      }
    }
    return {};
  }));
  rules_->drop_series(moved_in);
  size_t merged = 0;
  for (const auto& state : states) {
    adopted_saved_at_[state.replica_id] = state.saved_at;
    if (auto n = rules_->merge_snapshot(state.state, mine)) {
      merged += *n;
    } else {
      core::log::error("detector checkpoint not merged; its series start fresh here",
                       {{"replica", state.replica_id}, {"error", n.error().to_string()}});
    }
  }
  // Pending and firing alerts carry on here (a sample back to normal resolves one the previous
  // owner fired); alerts of series owned elsewhere wait unused until their series shows up.
  rules_->restore_some(std::move(phases));
  if (merged > 0) {
    core::log::info("detector state taken over from other replicas' checkpoints",
                    {{"series_states", std::to_string(merged)}, {"view_epoch", std::to_string(view.epoch())}});
  }
  return merged;
}

core::Status Engine::hand_over_series(core::Timestamp now) {
  if (options_.lease.exclusive_store) return {};
  const std::shared_ptr<const SeriesOwnership> view = lease_->ownership();
  // The first view (epoch 0) is this replica alone: nothing to hand over.
  const uint64_t handled_epoch = handled_view_ ? handled_view_->epoch() : 0;
  if (view->epoch() != handled_epoch) {
    // The view handed over last (at start: this replica alone, owning everything).
    const std::shared_ptr<const SeriesOwnership> before =
        handled_view_ ? handled_view_ : SeriesOwnership::local(lease_->replica_id());
    // First what leaves: the state of every series as of now, for their new owners to take
    // (once per view: a retry after a failure below must not write one without them). It stands
    // for four renewals, against the minute's checkpoint: the other replicas see the change
    // within about one renewal, then read for two more.
    if (checkpointed_view_epoch_ != view->epoch()) {
      TOCSIN_RETURN_IF_ERROR(checkpoint_detector_state(now));
      checkpointed_view_epoch_ = view->epoch();
      keep_checkpoint_until_ms_ = core::to_unix_ms(now + 4 * options_.lease.renew_every);
    }
    handed_over_at_ = now;
    std::vector<store::DetectorState> states = TOCSIN_TRY(other_checkpoints(/*only_if_new=*/false));
    size_t dropped = 0;
    {
      // One step for ingestion: until the view is switched below, samples go where the previous
      // view sent them; after it, the series that moved here already have their baselines.
      std::lock_guard lock(mu_);
      dropped = rules_->drop_series([&](uint64_t fp) { return !view->is_local(fp); });
      TOCSIN_TRY(adopt_series_locked(std::move(states), *view, *before));
      std::lock_guard routing(routing_mu_);
      routing_view_ = view;
    }
    if (dropped > 0) {
      core::log::info("series moved to other replicas",
                      {{"series_states", std::to_string(dropped)}, {"view_epoch", std::to_string(view->epoch())}});
    }
    moved_from_ = before;
    handled_view_ = view;
    // The previous owners checkpoint when they see the new view: within one renewal of ours.
    adopt_until_ = now + 2 * options_.lease.renew_every + std::chrono::milliseconds(100);
    next_adopt_read_ = now + options_.lease.renew_every;
    return {};
  }
  if (!adopt_until_) return {};
  if (now > *adopt_until_) {
    adopt_until_.reset();
    return {};
  }
  if (now < next_adopt_read_) return {};
  next_adopt_read_ = now + options_.lease.renew_every;
  std::vector<store::DetectorState> states = TOCSIN_TRY(other_checkpoints(/*only_if_new=*/true));
  if (states.empty()) return {};
  std::lock_guard lock(mu_);
  TOCSIN_TRY(adopt_series_locked(std::move(states), *view, *moved_from_));
  return {};
}

}  // namespace tocsin::engine
