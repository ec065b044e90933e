// The delivery stage: a reconcile module that sends every due notification through the sender for
// its channel kind, records each attempt, and retries failures with exponential back-off until
// `max_attempts`. Store work happens in short transactions around the sends, so a slow receiver
// never holds a transaction open.
// Thread-safety: update() must not run concurrently with itself.
#pragma once

#include <map>
#include <string>

#include "core/clock.h"
#include "notify/sender.h"
#include "store/store.h"

namespace tocsin::notify {

struct RetryPolicy {
  int max_attempts = 8;
  core::Duration first_backoff = std::chrono::seconds(5);
  core::Duration max_backoff = std::chrono::minutes(5);
  core::Duration backoff_after(int attempts) const;  // after `attempts` failed tries
};

class Deliverer {
 public:
  Deliverer(std::map<std::string, Sender*> senders, core::Clock& clock, RetryPolicy retry = {})
      : senders_(std::move(senders)), clock_(clock), retry_(retry) {}

  // Sends what is due at `now`. Returns how many notifications were attempted.
  core::Result<int> update(store::Store& store, core::Timestamp now);

 private:
  std::map<std::string, Sender*> senders_;
  core::Clock& clock_;
  RetryPolicy retry_;
};

}  // namespace tocsin::notify
