#include "notify/deliverer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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
                     core::MetricsRegistry* metrics)
    : senders_(std::move(senders)),
      clock_(clock),
      retry_(retry),
      metrics_(metrics),
      rng_(retry.seed != 0 ? retry.seed : std::random_device{}()) {
  // Every known kind shows in /metrics from the start, at 0.
  for (const auto& [kind, sender] : senders_) dead_letter_counter(kind);
}

core::Counter* Deliverer::dead_letter_counter(const std::string& channel) {
  if (!metrics_) return nullptr;
  return &metrics_->counter("tocsin_notifications_dead_letter_total",
                            "Notifications that gave up after their last attempt, by channel kind.",
                            core::Labels{{"channel", channel}});
}

core::Result<DeliveryPass> Deliverer::update(store::Store& store, core::Timestamp now) {
  std::vector<store::Notification> due;
  TOCSIN_RETURN_IF_ERROR(store.read([&](store::Tx& tx) -> core::Status {
    due = TOCSIN_TRY(tx.due_notifications(now, 100));
    return {};
  }));
  DeliveryPass pass;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (auto& n : due) {
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
      n.next_attempt_at = at + retry_.backoff_after(n.attempts, unit(rng_));
      n.last_error = result.error;
    }
    TOCSIN_RETURN_IF_ERROR(store.write([&](store::Tx& tx) -> core::Status {
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
    }));
    ++pass.attempted;
    if (n.status == store::NotificationStatus::kFailed) {
      core::log::warn("notification dead-lettered: gave up",
                      {{"id", std::to_string(n.id)}, {"target", n.target}, {"channel", n.channel},
                       {"error", result.error}, {"attempts", std::to_string(n.attempts)}});
      if (auto* counter = dead_letter_counter(n.channel)) counter->inc();
      pass.dead_letters.push_back(n);
    } else if (!result.ok) {
      core::log::warn("notification failed; will retry",
                      {{"id", std::to_string(n.id)}, {"target", n.target}, {"error", result.error},
                       {"attempts", std::to_string(n.attempts)}});
    }
  }
  return pass;
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
