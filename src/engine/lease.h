// The engine lease (docs/high-availability.md, "Shared work: the engine lease"): of the replicas
// sharing one store, the one holding the store lease named "engine" runs the engine's work with
// side effects — escalation, step deadlines and plan clocks, deliveries, step actions, the store's
// GC — and the others stand by, ready to take it over when it expires or is released.
//
// EngineLease keeps this replica's view: renew_if_due() renews the lease (or tries to take it)
// and writes this replica's heartbeat, every renew_every; active() says whether side effects may
// start (held, and renewed recently enough that it cannot expire during a short send:
// within (ttl + renew_every) / 2 of the last successful renewal); check() is the fencing check
// FencedStore makes at the start of every gated write transaction. Times come from the replicas'
// clocks, which must agree to well under the ttl (NTP).
// Thread-safety: every method may be called from any thread (an internal mutex); the engine driver
// calls renew_if_due, delivery lanes and the action runner call active(), writes call check().
//
// The series ownership view (engine/ownership.h) comes from the same renewal: with a shared store
// (not exclusive_store), each renewal's read of the replicas yields the live ones (heartbeat
// younger than the ttl, this replica always included); when they differ from the view in force,
// a new view replaces it with epoch + 1. ownership() copies the pointer under a mutex of its own
// (held for the copy only), so an ingesting thread reads it once per batch without waiting for a
// renewal's store transactions. With an exclusive store the view is this replica alone, forever.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "engine/ownership.h"
#include "store/store.h"

namespace tocsin::engine {

struct LeaseOptions {
  std::string replica_id = "local";
  std::string address;  // what GET /api/v1/cluster shows for this replica
  core::Duration ttl = std::chrono::hours(24);
  core::Duration renew_every = std::chrono::hours(1);
  // The store is this process's alone (SQLite: one process per data dir): a holder an earlier
  // start left in it is dead, so the lease is taken at once instead of after its expiry, and the
  // driver need not wake just to renew (the defaults above are for this case).
  bool exclusive_store = true;
};

inline constexpr std::string_view kEngineLease = "engine";

// A replica as GET /api/v1/cluster shows it.
struct ReplicaStatus {
  store::Replica replica;
  bool live = false;  // heartbeat within the lease ttl
  bool self = false;
};
struct ClusterStatus {
  std::string self;
  std::vector<ReplicaStatus> replicas;  // by id
  std::vector<store::Lease> leases;     // by name
  core::Duration ttl{};
};

class EngineLease {
 public:
  EngineLease(LeaseOptions options, core::Clock& clock, core::MetricsRegistry& metrics);
  ~EngineLease();
  EngineLease(const EngineLease&) = delete;
  EngineLease& operator=(const EngineLease&) = delete;

  // When due at `now` (or `force`): heartbeats this replica and renews or tries to take the
  // lease, each in a write transaction of its own. Returns true when this call took the lease at
  // a new epoch (the caller recovers work the previous holder left half done). A failed write
  // keeps the last known state (it decays: active() turns false) and is retried within a second.
  // One thread calls it (the engine driver).
  core::Result<bool> renew_if_due(store::Store& store, core::Timestamp now, bool force = false);
  // Held at `now`, and recent enough to start a send or an action.
  bool active(core::Timestamp now) const;
  bool held(core::Timestamp now) const;
  // When renew_if_due next has work: the next renewal, or for a standby the earlier of that and
  // the holder's expiry (when the lease may be free).
  core::Timestamp next_due() const;
  // The fencing check: failed_precondition unless this replica holds the lease at its epoch in
  // tx's snapshot (SERIALIZABLE on PostgreSQL: a takeover committed meanwhile fails one of the two).
  core::Status check(store::Tx& tx, core::Timestamp now);
  // A clean shutdown: frees the lease (if held) so a standby takes over at once, and removes this
  // replica from the membership table.
  core::Status release(store::Store& store, core::Timestamp now);
  core::Result<ClusterStatus> status(store::Store& store, core::Timestamp now) const;
  const std::string& replica_id() const { return options_.replica_id; }
  int64_t epoch() const;
  // The series ownership view in force (never null). Cheap: a pointer copy under a small mutex.
  std::shared_ptr<const SeriesOwnership> ownership() const;
  // Its epoch: grows each time the view changes (0 until another replica is first seen).
  uint64_t ownership_epoch() const { return ownership()->epoch(); }

 private:
  LeaseOptions options_;
  core::Clock& clock_;
  core::MetricsRegistry& metrics_;
  core::Timestamp started_at_;
  mutable std::mutex mu_;  // guards what follows
  bool first_ = true;      // no renewal attempted yet
  std::optional<store::Lease> lease_;  // as last read or written (whoever holds it)
  std::optional<core::Timestamp> renewed_at_;  // last successful renewal by this replica
  core::Timestamp next_due_{};
  bool failing_ = false;  // the last renewal failed (logged once per streak)
  core::Counter& takeovers_;
  core::Gauge& replicas_live_;
  core::MetricsRegistry::CollectorId held_collector_ = 0;
  mutable std::mutex view_mu_;  // guards view_ (the pointer only; held for a copy or a swap)
  std::shared_ptr<const SeriesOwnership> view_;
  core::Counter& view_changes_;
  // A new view when the live members read at a renewal differ from view_'s.
  void update_view(const std::vector<store::Replica>& replicas, core::Timestamp now);
};

// The store every gated write goes through: each write transaction first makes the lease's
// fencing check, so a replica that lost the lease (paused, partitioned) cannot write over its
// successor's work. Reads pass through.
class FencedStore final : public store::Store {
 public:
  FencedStore(store::Store& inner, EngineLease& lease, core::Clock& clock)
      : inner_(inner), lease_(lease), clock_(clock) {}
  core::Status write(const std::function<core::Status(store::Tx&)>& fn) override;
  core::Result<store::PendingCommit> write_visible(const std::function<core::Status(store::Tx&)>& fn) override;
  core::Status make_durable(store::PendingCommit commit) override { return inner_.make_durable(commit); }
  core::Status read(const std::function<core::Status(store::Tx&)>& fn) override { return inner_.read(fn); }
  int schema_version() override { return inner_.schema_version(); }

 private:
  store::Store& inner_;
  EngineLease& lease_;
  core::Clock& clock_;
};

}  // namespace tocsin::engine
