#include "notify/deliverer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/log.h"

namespace tocsin::notify {

core::Duration RetryPolicy::backoff_after(int attempts, double unit) const {
  core::Duration d = first_backoff;
  for (int i = 1; i < attempts && d < max_backoff; ++i) d *= 2;
  d = std::min(d, max_backoff);
  const double spread = std::clamp(jitter, 0.0, 1.0);
  const double factor = 1.0 - spread + 2.0 * spread * std::clamp(unit, 0.0, 1.0);
  return core::Duration(static_cast<core::Duration::rep>(std::llround(static_cast<double>(d.count()) * factor)));
}

Deliverer::Deliverer(std::map<std::string, Sender*> senders, core::Clock& clock, RetryPolicy retry,
                     core::MetricsRegistry* metrics, DeliveryOptions options)
    : senders_(std::move(senders)),
      clock_(clock),
      retry_(retry),
      metrics_(metrics),
      options_(options),
      rng_(retry.seed != 0 ? retry.seed : std::random_device{}()),
      early_rng_(retry.seed != 0 ? ~retry.seed : std::random_device{}()),
      lanes_(std::make_unique<Lanes>(options.lanes)) {
  // Every known kind shows in /metrics from the start, at 0.
  std::lock_guard lock(mu_);
  for (const auto& [kind, sender] : senders_) metrics_for(kind);
}

void TransactionOutcome::settle(bool committed) {
  {
    std::lock_guard lock(mu_);
    if (committed_) return;
    committed_ = committed;
  }
  settled_.notify_all();
}

bool TransactionOutcome::committed() {
  std::unique_lock lock(mu_);
  settled_.wait(lock, [&] { return committed_.has_value(); });
  return *committed_;
}

Deliverer::~Deliverer() { stop(); }

void Deliverer::stop() {
  {
    std::lock_guard lock(mu_);
    on_done_ = nullptr;
    stopped_ = true;  // send_before_commit submits under mu_: none can reach the lanes after this
  }
  lanes_.reset();  // outside mu_: the sends in progress take it to record themselves
}

void Deliverer::set_on_done(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  on_done_ = std::move(fn);
}

Deliverer::KindMetrics& Deliverer::metrics_for(const std::string& channel) {
  auto [it, added] = kind_metrics_.try_emplace(channel);
  if (added && metrics_) {
    const core::Labels labels{{"channel", channel}};
    it->second.queued = &metrics_->gauge("tocsin_notify_queue_depth",
                                         "Due notifications waiting in a delivery lane for a free sender, by channel kind.",
                                         labels);
    it->second.in_flight =
        &metrics_->gauge("tocsin_notify_in_flight", "Notifications being sent right now, by channel kind.", labels);
    it->second.deferred = &metrics_->counter(
        "tocsin_notify_deferred_total",
        "Times a due notification was left pending in the store because its delivery lane was full, by channel kind.",
        labels);
    it->second.dead_letters =
        &metrics_->counter("tocsin_notifications_dead_letter_total",
                           "Notifications that gave up after their last attempt, by channel kind.", labels);
  }
  return it->second;
}

std::string Deliverer::lane_of(const store::Notification& n) const {
  auto sender = senders_.find(n.channel);
  return sender == senders_.end() ? n.channel : sender->second->destination(n);
}

core::Result<DeliveryPass> Deliverer::update(store::Store& store, core::Timestamp now) {
  DeliveryPass pass;
  TOCSIN_RETURN_IF_ERROR(hand_out_due(store, now, pass));
  std::lock_guard lock(mu_);
  pass.dead_letters = std::exchange(dead_letters_, {});
  return pass;
}

core::Status Deliverer::start_due(store::Store& store, core::Timestamp now) {
  if (!options_.background || !lanes_) return {};  // never waits for sends; stopped: nothing
  DeliveryPass pass;
  return hand_out_due(store, now, pass);
}

core::Status Deliverer::hand_out_due(store::Store& store, core::Timestamp now, DeliveryPass& pass) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (;;) {
    size_t claimed = 0;
    uint64_t read_seq = 0;
    {
      std::lock_guard lock(mu_);
      claimed = claimed_.size();
      read_seq = ++read_seq_;
    }
    // Those in the lanes are still pending, so they come back in the read: look past them.
    const int limit = kBatch + static_cast<int>(claimed);
    std::vector<store::Notification> due;
    TOCSIN_RETURN_IF_ERROR(store.read([&](store::Tx& tx) -> core::Status {
      due = TOCSIN_TRY(tx.due_notifications(now, limit));
      return {};
    }));
    bool deferred = false;
    for (auto& n : due) {
      const std::string lane = lane_of(n);
      {
        std::lock_guard lock(mu_);
        if (auto wait = unrecorded_.find(n.id); wait != unrecorded_.end()) {
          if (wait->second > now) continue;
          unrecorded_.erase(wait);
        }
        if (auto r = recorded_.find(n.id);
            r != recorded_.end() && r->second.read_seq >= read_seq && r->second.attempts > n.attempts) {
          continue;  // a lane recorded an attempt after this read began: the row is stale
        }
        if (!claimed_.insert(n.id).second) continue;  // already in its lane
        if (auto* g = metrics_for(n.channel).queued) g->add(1);
      }
      const double jitter_unit = unit(rng_);
      const int64_t id = n.id;
      const std::string channel = n.channel;
      if (lanes_->submit(lane, [this, &store, n = std::move(n), jitter_unit]() mutable {
            attempt(store, std::move(n), jitter_unit);
          })) {
        ++pass.attempted;
        continue;
      }
      std::lock_guard lock(mu_);
      refused_locked(id, channel);
      deferred = true;
    }
    {
      std::lock_guard lock(mu_);
      more_due_ = !deferred && due.size() == static_cast<size_t>(limit);
      refused_ = deferred || more_due_;  // older notifications still wait to be handed out
      // Recorded before this read began: every later read sees those records.
      std::erase_if(recorded_, [&](const auto& entry) { return entry.second.read_seq < read_seq; });
    }
    if (options_.background) break;
    lanes_->wait_idle();
    // Waiting for the sends: the lanes are empty now, so what was deferred fits this time.
    if (!deferred) break;
  }
  return {};
}

size_t Deliverer::send_before_commit(store::Store& store, const std::vector<store::Notification>& created,
                                     core::Timestamp now, const std::shared_ptr<TransactionOutcome>& outcome) {
  if (!options_.background) return 0;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  size_t handed = 0;
  std::lock_guard lock(mu_);
  for (const auto& n : created) {
    if (stopped_ || refused_ || n.id == 0 || n.next_attempt_at > now) break;
    // A new row, which nobody else can have read yet (were it claimed, by a store that gives an
    // id twice, it would wait for a read).
    if (!claimed_.insert(n.id).second) break;
    if (auto* g = metrics_for(n.channel).queued) g->add(1);
    // Submitted under mu_, so stop() cannot take the lanes away meanwhile; a lane's job takes mu_
    // only while running, never while Lanes::submit holds the lanes' lock.
    if (lanes_->submit(lane_of(n), [this, &store, n, jitter_unit = unit(early_rng_), outcome]() mutable {
          attempt(store, std::move(n), jitter_unit, std::move(outcome));
        })) {
      ++handed;
      continue;
    }
    refused_locked(n.id, n.channel);
  }
  return handed;
}

void Deliverer::refused_locked(int64_t id, const std::string& channel) {
  claimed_.erase(id);
  auto& m = metrics_for(channel);
  if (m.queued) m.queued->add(-1);
  if (m.deferred) m.deferred->inc();
  refused_ = true;
}

core::Result<std::optional<core::Timestamp>> Deliverer::next_due(store::Tx& tx, core::Timestamp now) {
  std::optional<core::Timestamp> next;
  {
    std::lock_guard lock(mu_);
    if (more_due_) return std::optional<core::Timestamp>(now);
    for (const auto& [id, at] : unrecorded_) {
      if (!next || at < *next) next = at;
    }
  }
  // Pending notifications due by `now` were all handed to a lane (or wait for a full one, or
  // out a failed record): only later ones count.
  const auto later = TOCSIN_TRY(tx.next_notification_due_after(now));
  if (later && (!next || *later < *next)) next = later;
  return next;
}

void Deliverer::attempt(store::Store& store, store::Notification n, double jitter_unit,
                        std::shared_ptr<TransactionOutcome> outcome) {
  if (options_.may_send && !options_.may_send()) {
    std::lock_guard lock(mu_);
    if (auto* g = metrics_for(n.channel).queued) g->add(-1);
    claimed_.erase(n.id);  // still pending in the store: whoever may send picks it up
    return;
  }
  {
    std::lock_guard lock(mu_);
    auto& m = metrics_for(n.channel);
    if (m.queued) m.queued->add(-1);
    if (m.in_flight) m.in_flight->add(1);
  }
  const auto started = clock_.mono_now();
  DeliveryResult result;
  auto sender = senders_.find(n.channel);
  if (sender == senders_.end()) {
    result = {false, 0, fmt::format("no sender for channel kind \"{}\"", n.channel), false};
  } else {
    result = sender->second->send(n);
  }
  const auto latency = std::chrono::duration_cast<core::Duration>(clock_.mono_now() - started);
  const core::Timestamp at = clock_.now();
  n.attempts += 1;
  if (result.ok) {
    n.status = store::NotificationStatus::kSent;
    n.last_error.clear();
  } else if (!result.retryable || n.attempts >= retry_.max_attempts) {
    n.status = store::NotificationStatus::kFailed;
    n.last_error = result.error;
  } else {
    n.next_attempt_at = at + retry_.backoff_after(n.attempts, jitter_unit);
    n.last_error = result.error;
  }
  // Sent before its transaction's COMMIT: the row exists only if that committed. Rolled back, the
  // notification is let go: it is in no store to record it in, and nobody else holds it.
  const bool rolled_back = outcome && !outcome->committed();
  auto recorded = rolled_back ? core::ok() : store.write([&](store::Tx& tx) -> core::Status {
    TOCSIN_TRY(tx.insert_attempt({0, n.id, at, result.ok, result.status_code, result.error, latency}));
    TOCSIN_RETURN_IF_ERROR(tx.update_notification(n));
    // Notifications of notify-only routes (alert groups) belong to no incident and no timeline.
    if (n.incident_id == 0) return {};
    if (n.status == store::NotificationStatus::kSent) {
      TOCSIN_TRY(tx.append_timeline({0, n.incident_id, at, "notified", "tocsin",
                                     fmt::format("{} via {} ({}): delivered{}", n.target, n.channel, n.address,
                                                 result.status_code ? fmt::format(", {}", result.status_code) : "")}));
    } else if (n.status == store::NotificationStatus::kFailed) {
      TOCSIN_TRY(tx.append_timeline({0, n.incident_id, at, "notify_failed", "tocsin",
                                     fmt::format("{} via {} ({}): gave up after {} attempt(s): {}", n.target,
                                                 n.channel, n.address, n.attempts, result.error)}));
    }
    return {};
  });
  if (rolled_back) {
    core::log::warn("a notification sent before its transaction's commit was rolled back; it is not recorded",
                    {{"target", n.target}, {"channel", n.channel}});
  } else if (!recorded) {
    // It stays pending as it was, so it is sent again after a back-off: at least once, never
    // silently lost.
    core::log::error("delivery attempt not recorded; the notification will be sent again",
                     {{"id", std::to_string(n.id)}, {"target", n.target}, {"error", recorded.error().to_string()}});
  } else if (n.status == store::NotificationStatus::kFailed) {
    core::log::warn("notification dead-lettered: gave up",
                    {{"id", std::to_string(n.id)}, {"target", n.target}, {"channel", n.channel},
                     {"error", result.error}, {"attempts", std::to_string(n.attempts)}});
  } else if (!result.ok) {
    core::log::warn("notification failed; will retry",
                    {{"id", std::to_string(n.id)}, {"target", n.target}, {"error", result.error},
                     {"attempts", std::to_string(n.attempts)}});
  }
  std::unique_lock lock(mu_);
  auto& m = metrics_for(n.channel);
  if (m.in_flight) m.in_flight->add(-1);
  if (recorded && !rolled_back && n.status == store::NotificationStatus::kFailed) {
    if (m.dead_letters) m.dead_letters->inc();
    dead_letters_.push_back(n);
  }
  if (!recorded) unrecorded_[n.id] = at + retry_.backoff_after(n.attempts, jitter_unit);
  if (recorded && !rolled_back) recorded_[n.id] = {n.attempts, read_seq_};
  claimed_.erase(n.id);
  if (!options_.background || !on_done_) return;
  // Called outside mu_ (the hook may take its owner's locks); stop() clears the hook and then
  // waits for this job, so the owner is still there.
  auto on_done = on_done_;
  lock.unlock();
  on_done();
}

store::AlertRecord dead_letter_alert(const store::Notification& n, core::Timestamp now) {
  store::AlertRecord a;
  a.labels = core::Labels{{"alertname", "TocsinNotificationFailed"},
                          {"severity", "warning"},
                          {"target", n.target},
                          {"channel", n.channel}};
  a.fingerprint = a.labels.fingerprint();
  a.annotations = {
      {"summary", fmt::format("tocsin gave up notifying {} via {} after {} attempt(s)", n.target, n.channel,
                              n.attempts)},
      {"error", n.last_error},
  };
  if (n.incident_id != 0) a.annotations["incident"] = std::to_string(n.incident_id);
  a.active_at = now;
  a.ends_at = now + kDeadLetterAlertFor;
  a.updated_at = now;
  return a;
}

}  // namespace tocsin::notify
