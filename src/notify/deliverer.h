// The delivery stage: a reconcile module that sends every due notification through the sender for
// its channel kind, records each attempt (status, error, latency), and retries failures with
// exponential back-off and jitter until `max_attempts`. Store work happens in short transactions
// around the sends, so a slow receiver never holds a transaction open.
//
// A notification that gives up (status failed: the dead letter) is logged at warn, counted in
// tocsin_notifications_dead_letter_total{channel=KIND}, written to its incident's timeline
// ("notify_failed"), and returned from update(), so that the engine raises it as an alert of its
// own (dead_letter_alert): a page that could not be delivered must not go unnoticed.
// Thread-safety: update() must not run concurrently with itself.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "notify/sender.h"
#include "store/store.h"

namespace tocsin::notify {

struct RetryPolicy {
  int max_attempts = 8;
  core::Duration first_backoff = std::chrono::seconds(5);
  core::Duration max_backoff = std::chrono::minutes(5);
  // Each wait is scaled by a factor drawn uniformly from [1 - jitter, 1 + jitter], so receivers
  // that failed together are not retried in lockstep. 0 = exact back-off.
  double jitter = 0.2;
  // Seed of the deliverer's jitter generator; 0 = from std::random_device. Tests fix it.
  uint64_t seed = 0;

  // The wait after `attempts` failed tries: first_backoff doubled for each try after the first,
  // capped at max_backoff, then scaled by the jitter factor at `unit` in [0, 1) (0.5 = the
  // middle, no jitter; 0 = the shortest, 1 - jitter).
  core::Duration backoff_after(int attempts, double unit = 0.5) const;
};

struct DeliveryPass {
  int attempted = 0;  // notifications sent or tried
  std::vector<store::Notification> dead_letters;  // those that gave up in this pass
};

class Deliverer {
 public:
  // `metrics` may be null (no counting).
  Deliverer(std::map<std::string, Sender*> senders, core::Clock& clock, RetryPolicy retry = {},
            core::MetricsRegistry* metrics = nullptr);

  // Sends what is due at `now`.
  core::Result<DeliveryPass> update(store::Store& store, core::Timestamp now);

 private:
  core::Counter* dead_letter_counter(const std::string& channel);

  std::map<std::string, Sender*> senders_;
  core::Clock& clock_;
  RetryPolicy retry_;
  core::MetricsRegistry* metrics_;
  std::mt19937_64 rng_;
};

// The warning alert a dead letter raises: alertname="TocsinNotificationFailed",
// severity="warning", target and channel (kind) labels, annotations with the summary, the
// incident and the last error (not the address: a Slack URL is a secret); it starts at `now` and ends an hour later unless
// raised again. One alert per (target, channel kind), so a receiver that is down raises one
// alert, not one per page — and a route back to that same receiver cannot make a storm.
store::AlertRecord dead_letter_alert(const store::Notification& n, core::Timestamp now);

inline constexpr core::Duration kDeadLetterAlertFor = std::chrono::hours(1);

}  // namespace tocsin::notify
