#include "notify/deliverer.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"

namespace tocsin::notify {

core::Duration RetryPolicy::backoff_after(int attempts) const {
  core::Duration d = first_backoff;
  for (int i = 1; i < attempts && d < max_backoff; ++i) d *= 2;
  return std::min(d, max_backoff);
}

core::Result<int> Deliverer::update(store::Store& store, core::Timestamp now) {
  std::vector<store::Notification> due;
  TOCSIN_RETURN_IF_ERROR(store.read([&](store::Tx& tx) -> core::Status {
    due = TOCSIN_TRY(tx.due_notifications(now, 100));
    return {};
  }));
  for (auto& n : due) {
    const auto started = clock_.mono_now();
    DeliveryResult result;
    auto sender = senders_.find(n.channel);
    if (sender == senders_.end()) {
      result = {false, 0, fmt::format("no sender for channel kind \"{}\" (not implemented yet)", n.channel), false};
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
      n.next_attempt_at = at + retry_.backoff_after(n.attempts);
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
    if (!result.ok) {
      core::log::warn("notification failed", {{"id", std::to_string(n.id)}, {"target", n.target},
                                              {"error", result.error}, {"attempts", std::to_string(n.attempts)}});
    }
  }
  return static_cast<int>(due.size());
}

}  // namespace tocsin::notify
