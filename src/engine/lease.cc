#include "engine/lease.h"

#include <fmt/format.h>

#include "core/log.h"

namespace tocsin::engine {

namespace {
// How soon a failed renewal is tried again (never later than the regular interval).
constexpr core::Duration kRetryFailedRenewal = std::chrono::seconds(1);
}  // namespace

EngineLease::EngineLease(LeaseOptions options, core::Clock& clock, core::MetricsRegistry& metrics)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      started_at_(clock.now()),
      takeovers_(metrics.counter("tocsin_engine_lease_takeovers_total",
                                 "Times this replica took the engine lease (at start, or from a holder that died "
                                 "or let it go).")),
      replicas_live_(metrics.gauge("tocsin_replicas_live",
                                   "Replicas whose heartbeat in the store is younger than the lease ttl, as this "
                                   "replica last read it.")),
      view_(SeriesOwnership::local(options_.replica_id, options_.address)),
      view_changes_(metrics.counter("tocsin_series_ownership_changes_total",
                                    "Times the set of live replicas that series are partitioned over changed, as "
                                    "this replica read it (a new ownership view).")) {
  held_collector_ = metrics.add_collector([this] {
    return fmt::format(
        "# HELP tocsin_engine_lease_held 1 while this replica holds the engine lease (runs escalation, deliveries, "
        "actions); 0 on a standby.\n# TYPE tocsin_engine_lease_held gauge\ntocsin_engine_lease_held {}\n",
        held(clock_.now()) ? 1 : 0);
  });
}

EngineLease::~EngineLease() { metrics_.remove_collector(held_collector_); }

core::Result<bool> EngineLease::renew_if_due(store::Store& store, core::Timestamp now, bool force) {
  // The store's transactions run without mu_: check() takes mu_ inside a transaction (the store's
  // lock held), so holding mu_ across one here would be the opposite lock order (TSan reported it
  // as a potential deadlock). Only the driver calls this, so nothing else renews in between.
  bool first = false;
  int64_t epoch_before = 0;
  {
    std::lock_guard lock(mu_);
    if (!force && !first_ && now < next_due_) return false;
    first = std::exchange(first_, false);
    epoch_before = lease_ && lease_->holder == options_.replica_id ? lease_->epoch : 0;
  }
  std::optional<store::Lease> lease;
  auto renewed = store.write([&](store::Tx& tx) -> core::Status {
    if (first && options_.exclusive_store) {
      // Nobody else can use this store: whoever holds the lease is an earlier run of this one.
      if (auto stale = TOCSIN_TRY(tx.get_lease(kEngineLease)); stale && !stale->holder.empty()) {
        TOCSIN_TRY(tx.release_lease(kEngineLease, stale->holder, stale->epoch, now));
      }
    }
    lease = TOCSIN_TRY(tx.acquire_lease(kEngineLease, options_.replica_id, now, options_.ttl));
    return core::ok();
  });
  // The heartbeat in a transaction of its own: on PostgreSQL, replicas writing their own rows
  // then never conflict with another's lease transaction.
  if (renewed) {
    renewed = store.write([&](store::Tx& tx) -> core::Status {
      TOCSIN_RETURN_IF_ERROR(tx.heartbeat_replica({options_.replica_id, options_.address, started_at_, now}));
      // Replicas gone for a day (killed, never cleanly stopped) leave the membership table.
      if (lease && lease->held_by(options_.replica_id, now)) {
        TOCSIN_TRY(tx.delete_stale_replicas(now - std::chrono::hours(24)));
      }
      return core::ok();
    });
  }
  if (renewed) {
    std::vector<store::Replica> replicas;
    renewed = store.read([&](store::Tx& tx) -> core::Status {
      replicas = TOCSIN_TRY(tx.list_replicas());
      return core::ok();
    });
    int live = 0;
    for (const auto& r : replicas) live += r.heartbeat_at + options_.ttl > now ? 1 : 0;
    replicas_live_.set(live);
    if (renewed && !options_.exclusive_store) update_view(replicas, now);
  }
  std::lock_guard lock(mu_);
  if (!renewed) {
    if (!failing_) {
      core::log::warn("engine lease not renewed; retrying",
                      {{"replica", options_.replica_id}, {"error", renewed.error().to_string()}});
    }
    failing_ = true;
    next_due_ = now + std::min(kRetryFailedRenewal, options_.renew_every);
    return false;
  }
  if (failing_) core::log::info("engine lease renewed again", {{"replica", options_.replica_id}});
  failing_ = false;
  const bool held = lease->held_by(options_.replica_id, now);
  const bool was_held = epoch_before != 0 && renewed_at_ && lease_ && now < lease_->expires_at;
  const bool taken = held && lease->epoch != epoch_before;
  if (held) {
    renewed_at_ = now;
  } else {
    renewed_at_.reset();
  }
  if (taken) {
    takeovers_.inc();
    core::log::info("engine lease taken: this replica runs escalation, deliveries and actions",
                    {{"replica", options_.replica_id}, {"epoch", std::to_string(lease->epoch)}});
  } else if (!held && was_held) {
    core::log::warn("engine lease lost: standing by",
                    {{"replica", options_.replica_id}, {"holder", lease->holder}});
  }
  next_due_ = now + options_.renew_every;
  // A standby looks again as soon as the holder's lease may have run out.
  if (!held && lease->expires_at > now && lease->expires_at < next_due_) next_due_ = lease->expires_at;
  lease_ = std::move(lease);
  return taken;
}

void EngineLease::update_view(const std::vector<store::Replica>& replicas, core::Timestamp now) {
  std::vector<Member> members;
  for (const auto& r : replicas) {
    if (r.heartbeat_at + options_.ttl > now || r.id == options_.replica_id) members.push_back({r.id, r.address});
  }
  auto next = std::make_shared<const SeriesOwnership>(options_.replica_id, std::move(members));
  std::shared_ptr<const SeriesOwnership> current = ownership();
  if (next->members() == current->members()) return;
  next = std::make_shared<const SeriesOwnership>(options_.replica_id, next->members(), current->epoch() + 1);
  std::string ids;
  for (const auto& m : next->members()) ids += (ids.empty() ? "" : ",") + m.id;
  core::log::info("series ownership view changed",
                  {{"replica", options_.replica_id}, {"epoch", std::to_string(next->epoch())}, {"members", ids}});
  view_changes_.inc();
  std::lock_guard lock(view_mu_);
  view_ = std::move(next);
}

std::shared_ptr<const SeriesOwnership> EngineLease::ownership() const {
  std::lock_guard lock(view_mu_);
  return view_;
}

bool EngineLease::held(core::Timestamp now) const {
  std::lock_guard lock(mu_);
  return lease_ && renewed_at_ && lease_->held_by(options_.replica_id, now);
}

bool EngineLease::active(core::Timestamp now) const {
  std::lock_guard lock(mu_);
  if (!lease_ || !renewed_at_ || !lease_->held_by(options_.replica_id, now)) return false;
  // The safety margin: no send or action starts in the last (ttl - renew_every) / 2 before the
  // lease could run out, so one that starts finishes (or is recorded) while it is still ours.
  const core::Duration fresh_for = (options_.ttl + options_.renew_every) / 2;
  return now < *renewed_at_ + fresh_for;
}

core::Timestamp EngineLease::next_due() const {
  std::lock_guard lock(mu_);
  return next_due_;
}

int64_t EngineLease::epoch() const {
  std::lock_guard lock(mu_);
  return lease_ && renewed_at_ ? lease_->epoch : 0;
}

core::Status EngineLease::check(store::Tx& tx, core::Timestamp now) {
  int64_t epoch = 0;
  {
    std::lock_guard lock(mu_);
    if (lease_ && renewed_at_ && lease_->holder == options_.replica_id) epoch = lease_->epoch;
  }
  if (epoch == 0) {
    return std::unexpected(core::Error::failed_precondition(
        fmt::format("replica {} does not hold the engine lease", options_.replica_id)));
  }
  if (TOCSIN_TRY(tx.holds_lease(kEngineLease, options_.replica_id, epoch, now))) return core::ok();
  {
    std::lock_guard lock(mu_);
    if (lease_ && lease_->epoch == epoch) renewed_at_.reset();  // stand by until the next renewal says more
  }
  return std::unexpected(core::Error::failed_precondition(fmt::format(
      "replica {} lost the engine lease (epoch {}): another replica took over; write refused", options_.replica_id,
      epoch)));
}

core::Status EngineLease::release(store::Store& store, core::Timestamp now) {
  std::optional<store::Lease> lease;
  {
    std::lock_guard lock(mu_);
    if (lease_ && renewed_at_ && lease_->holder == options_.replica_id) lease = lease_;
    renewed_at_.reset();
  }
  return store.write([&](store::Tx& tx) -> core::Status {
    if (lease && TOCSIN_TRY(tx.release_lease(kEngineLease, options_.replica_id, lease->epoch, now))) {
      core::log::info("engine lease released", {{"replica", options_.replica_id}});
    }
    TOCSIN_TRY(tx.delete_replica(options_.replica_id));
    return core::ok();
  });
}

core::Result<ClusterStatus> EngineLease::status(store::Store& store, core::Timestamp now) const {
  ClusterStatus out;
  out.self = options_.replica_id;
  out.ttl = options_.ttl;
  TOCSIN_RETURN_IF_ERROR(store.read([&](store::Tx& tx) -> core::Status {
    for (auto& r : TOCSIN_TRY(tx.list_replicas())) {
      const bool live = r.heartbeat_at + options_.ttl > now;
      const bool self = r.id == options_.replica_id;
      out.replicas.push_back({std::move(r), live, self});
    }
    out.leases = TOCSIN_TRY(tx.list_leases());
    return core::ok();
  }));
  return out;
}

core::Status FencedStore::write(const std::function<core::Status(store::Tx&)>& fn) {
  return inner_.write([&](store::Tx& tx) -> core::Status {
    TOCSIN_RETURN_IF_ERROR(lease_.check(tx, clock_.now()));
    return fn(tx);
  });
}

core::Result<store::PendingCommit> FencedStore::write_visible(const std::function<core::Status(store::Tx&)>& fn) {
  return inner_.write_visible([&](store::Tx& tx) -> core::Status {
    TOCSIN_RETURN_IF_ERROR(lease_.check(tx, clock_.now()));
    return fn(tx);
  });
}

}  // namespace tocsin::engine
