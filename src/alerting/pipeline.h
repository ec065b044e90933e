// The alerting pipeline with Alertmanager's semantics, for every alert tocsin holds — from its
// own rules and from outside (API v2, Alertmanager webhooks):
//
//   receive → merge by fingerprint → route (RouteTree) → aggregation groups
//   flush (group_wait, then every group_interval) → mute: time intervals, inhibition, silences,
//   plans → dedup against the notification log (repeat_interval, send_resolved) → a notification
//   for the route's receiver, delivered by notify::Deliverer.
//
// Alerts that match a plan open or join an incident instead (incident::IncidentService does
// that, from the changes receive() and flush() report); they are not sent to receivers.
//
// State lives in memory and is written through to the store: receive() and flush() change
// memory and return what to persist; the engine persists it in one transaction with the
// incident work. Should that transaction fail, the engine calls load() to start again from the
// store. Groups and their timers are not stored (as in Alertmanager): after a restart a group
// whose alerts are older than group_wait flushes at once, and the notification log stops it
// from sending what was already sent.
//
// Replicas sharing one store (docs/high-availability.md, "Alerts across replicas") each run a
// pipeline of their own. What keeps them from sending twice is the stored notification log: a
// flush reads its group's entry inside the flush transaction and decides against that (adopting
// it), so a group another replica already notified sends nothing; alerts that entry names in
// another state than this replica holds them are read from the store first (the store is the
// truth). sync_silences() reloads the silences when another replica changed them.
// Every method takes `now`; nothing reads a clock.
// Thread-safety: none; the engine serialises access.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "alerting/alert.h"
#include "alerting/inhibitor.h"
#include "alerting/route_tree.h"
#include "alerting/silences.h"
#include "alerting/time_intervals.h"
#include "config/config.h"
#include "core/flat_u64_map.h"
#include "store/store.h"

namespace tocsin::alerting {

// One alert that changed, for the incident service and the store.
struct AlertChange {
  uint64_t fingerprint = 0;
  bool was_firing = false;  // before the change, at `now`
  bool firing = false;      // after
  bool muted = false;       // silenced or inhibited at `now`
  const config::Plan* plan = nullptr;  // the plan its labels match, if any
  // A re-send that changed only the end and receipt times: the store needs only those.
  bool times_only = false;
  // Whether receive() routed it into its groups (creating or touching them); a firing re-send
  // with new times only is not routed again when it cannot change a group.
  bool routed = true;
  // Set only for an alert that started firing here (firing && !was_firing): the silences that
  // matched it and whether an inhibition did, at `now` — what its store::AlertFiring records.
  // Re-sends of a firing alert leave them empty and write no such record.
  std::vector<std::string> silenced_by;
  bool inhibited = false;

  bool started_firing() const { return firing && !was_firing; }
};

// An alert as the API shows it.
struct AlertStatus {
  Alert alert;
  enum class State { kActive, kSuppressed, kUnprocessed } state = State::kActive;
  std::vector<std::string> silenced_by;
  std::vector<uint64_t> inhibited_by;
  std::vector<std::string> receivers;
};
std::string_view to_string(AlertStatus::State s);

struct GroupStatus {
  core::Labels labels;
  std::string receiver;
  std::string group_key;
  std::vector<AlertStatus> alerts;
};

// What a flush produced, to persist.
struct FlushOutput {
  std::vector<store::Notification> notifications;
  std::vector<store::NotificationLogEntry> nflog;
  std::vector<AlertChange> plan_alerts;  // firing, unmuted, plan-matching, not yet in an incident
  int groups_flushed = 0;
};

class Pipeline {
 public:
  static core::Result<std::unique_ptr<Pipeline>> create(std::shared_ptr<const config::Config> config,
                                                        std::string external_url);

  // (Re)loads alerts, silences and the notification log from the store; groups are rebuilt.
  core::Status load(store::Tx& tx, core::Timestamp now);

  // Takes alerts in (merged with what is held). Returns one change per alert, in order.
  std::vector<AlertChange> receive(std::vector<Alert> incoming, core::Timestamp now);

  // The intake's fast path for Prometheus' re-sends, read in place (AlertView) instead of built.
  // plan_resends is true when every alert is a re-send of a held alert that receive() would mark
  // times_only with nothing else of its record changing — held and firing, the same labels,
  // annotations and generatorURL byte for byte, a start that merges to the held one, an end that
  // keeps it firing — and no alert comes twice; it changes nothing. apply_resends() must then
  // follow before anything else touches the pipeline: it updates the held alerts' times in place
  // and returns what receive() would have returned for the same alerts. When plan_resends is
  // false the caller builds the alerts and calls receive(), which decides as always.
  bool plan_resends(std::span<const AlertView> incoming, core::Timestamp now);
  std::vector<AlertChange> apply_resends(core::Timestamp now);
  // Writes the current records of these alerts (a times-only re-send writes just its times,
  // unless set_incident changed it since), and a store::AlertFiring for each that started firing.
  core::Status persist(store::Tx& tx, const std::vector<AlertChange>& changes);
  // The incident service linked an alert to an incident.
  void set_incident(uint64_t fingerprint, int64_t incident_id);
  const Alert* find(uint64_t fingerprint) const;

  // Flushes the groups that are due; the caller persists the output (insert_notifications,
  // persist_nflog) in `shared`.
  // With `shared` (the transaction the output is written in), each group decides against its
  // stored notification-log entry rather than memory's, and adopts it; without (tests of this
  // layer alone), memory is all there is and no error can happen.
  core::Result<FlushOutput> flush(core::Timestamp now, store::Tx* shared = nullptr);
  // Writes the output's notifications, which get the ids the store gave them.
  core::Status insert_notifications(store::Tx& tx, FlushOutput& out) const;
  // Writes the output's notification-log entries.
  core::Status persist_nflog(store::Tx& tx, const FlushOutput& out) const;
  std::optional<core::Timestamp> next_due() const;

  // Silences. Each returns the change to write (Silences::apply happens in commit_silence).
  core::Result<SilenceChange> plan_silence(store::Silence s, core::Timestamp now) const {
    return silences_.plan_set(std::move(s), now);
  }
  core::Result<SilenceChange> plan_expire_silence(std::string_view id, core::Timestamp now) const {
    return silences_.plan_expire(id, now);
  }
  // After the change is committed; `version` is the store's silences_version() after it.
  void commit_silence(const SilenceChange& change, std::string version) {
    silences_.apply(change);
    silences_version_ = std::move(version);
  }
  // Reloads the silences when the store's differ from those held (another replica changed
  // them): one cheap read when they do not.
  core::Status sync_silences(store::Tx& tx);
  const Silences& silences() const { return silences_; }

  // Drops resolved alerts no group holds any more and the silences and log entries past
  // retention, in memory and (through tx) in the store, and alert firings older than
  // kFiringRetention from the store.
  core::Status gc(store::Tx& tx, core::Timestamp now);

  // Read models for the API.
  std::vector<AlertStatus> alerts(core::Timestamp now) const;
  std::vector<GroupStatus> groups(core::Timestamp now) const;
  std::vector<std::string> receivers() const;
  bool muted(const core::Labels& labels, core::Timestamp now) const;

  size_t alert_count() const { return alerts_.size(); }

  // How long the store keeps alert firings (the silenced share's record): a year and a bit, so a
  // KPI window of a year is whole.
  static constexpr core::Duration kFiringRetention = std::chrono::hours(24 * 400);
  size_t group_count() const { return groups_.size(); }

 private:
  struct Group {
    const RouteNode* node = nullptr;
    core::Labels labels;
    std::string key;
    std::map<uint64_t, core::Timestamp> alerts;  // fingerprint -> updated_at when inserted
    core::Timestamp next_flush{};
    bool has_flushed = false;
    uint64_t seq = 0;  // creation order, to flush simultaneous groups in a stable order
  };
  // Alertmanager removes empty groups on a 30 s maintenance tick, not at once; a group that
  // empties and gets a new alert before the tick keeps its timer.
  static constexpr core::Duration kMaintenanceEvery = std::chrono::seconds(30);
  // How long resolved alerts stay visible after they leave every group (Alertmanager's gc).
  static constexpr core::Duration kResolvedRetention = std::chrono::minutes(30);
  // Notification log entries live this long (Alertmanager's --data.retention).
  static constexpr core::Duration kLogRetention = std::chrono::hours(120);

  Pipeline(std::shared_ptr<const config::Config> config, std::string external_url, TimeIntervals intervals);
  void route(const Alert& a, core::Timestamp now);
  // Moves g's next flush to `at`, in g and in due_.
  void reschedule(Group& g, core::Timestamp at);
  core::Status flush_group(Group& g, core::Timestamp now, FlushOutput& out, store::Tx* shared);
  // The stored log entry of g (or none) replaces memory's; alerts it names in another state than
  // this replica holds them are read from the store and adopted first.
  core::Status adopt_stored_log(Group& g, const std::pair<std::string, std::string>& log_key, store::Tx& tx,
                                core::Timestamp now);
  const config::Plan* plan_for(const core::Labels& labels) const;
  std::optional<store::Notification> notification_for(const Group& g, const std::vector<const Alert*>& alerts,
                                                      core::Timestamp now) const;

  std::shared_ptr<const config::Config> config_;
  std::string external_url_;
  RouteTree tree_;
  TimeIntervals intervals_;
  Inhibitor inhibitor_;
  Silences silences_;
  // The alerts held, by fingerprint. A flat map to records that never move (pointers to them stay
  // valid until the alert is dropped): a lookup is usually one cache line, then the record.
  class AlertTable {
   public:
    Alert* find(uint64_t fingerprint) const {
      const auto* slot = map_.find(fingerprint);
      return slot ? slot->get() : nullptr;
    }
    // Inserts `a`, or replaces the record held under its fingerprint (in place).
    Alert& put(Alert a) {
      auto [slot, inserted] = map_.try_emplace(a.fingerprint);
      if (inserted) {
        *slot = std::make_unique<Alert>(std::move(a));
      } else {
        **slot = std::move(a);
      }
      return **slot;
    }
    void prefetch(uint64_t fingerprint) const { map_.prefetch(fingerprint); }
    size_t size() const { return map_.size(); }
    void clear() { map_.clear(); }
    template <class F>
    void for_each(F f) const {
      map_.for_each([&](uint64_t, const std::unique_ptr<Alert>& a) { f(*a); });
    }
    template <class Pred>
    void erase_if(Pred pred) {
      map_.erase_if([&](uint64_t, const std::unique_ptr<Alert>& a) { return pred(*a); });
    }

   private:
    core::FlatU64Map<std::unique_ptr<Alert>> map_;
  };
  AlertTable alerts_;
  std::map<std::pair<int, std::string>, Group> groups_;  // (route node index, group key)
  // Every group by (next_flush, seq): the order groups flush in. Why an index and not a scan of
  // groups_: a flush runs in every request that adds an alert and next_due in every driver pass,
  // and with one group per alertname a scan made both linear in the groups held (the largest cost
  // of a new alert's request with a few hundred groups; docs/benchmarks.md). Nodes of groups_
  // never move, so the pointers stay valid until the group is erased (which erases its entry).
  std::map<std::pair<core::Timestamp, uint64_t>, Group*> due_;
  std::map<std::pair<std::string, std::string>, store::NotificationLogEntry> nflog_;  // (receiver, group key)
  uint64_t next_seq_ = 0;
  size_t unflushed_groups_ = 0;  // groups still in their group_wait (has_flushed false)
  std::vector<uint64_t> linked_since_persist_;  // set_incident since the last persist
  std::string silences_version_;  // the store's silences_version() the silences held match
  // What plan_resends found, for apply_resends: each held alert and its new times.
  struct PlannedResend {
    Alert* alert = nullptr;
    std::optional<core::Timestamp> ends_at;
    bool ends_at_from_timeout = false;
    core::Timestamp updated_at{};
  };
  std::vector<PlannedResend> planned_resends_;
  std::vector<uint64_t> planned_fingerprints_;  // scratch: to find an alert sent twice
  std::vector<Alert*> planned_held_;            // scratch: the held record of each
  std::optional<core::Timestamp> next_maintenance_;
};

}  // namespace tocsin::alerting
