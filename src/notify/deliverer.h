// The delivery stage: a reconcile module that sends every due notification through the sender for
// its channel kind, records each attempt (status, error, latency), and retries failures with
// exponential back-off and jitter until `max_attempts`. Store work happens in short transactions
// around the sends, so a slow receiver never holds a transaction open.
//
// Sends run on delivery lanes (notify/lanes.h), one per destination (Sender::destination): a
// webhook that hangs until its timeout holds up only the pages to itself. update() reads what is
// due and hands it to the lanes; a notification whose lane is full stays pending in the store
// (counted in tocsin_notify_deferred_total) and goes out once the lane has room. With
// `background` (the server on a real clock) update() returns at once and each finished send calls
// the on_done hook (the engine wakes its driver); without it update() waits for the sends it
// started, so that a simulated clock's advance has delivered everything due when it returns.
//
// A notification that gives up (status failed: the dead letter) is logged at warn, counted in
// tocsin_notifications_dead_letter_total{channel=KIND}, written to its incident's timeline
// ("notify_failed"), and returned from the next update(), so that the engine raises it as an
// alert of its own (dead_letter_alert): a page that could not be delivered must not go unnoticed.
//
// A caller whose transaction creates notifications may hand them out before its COMMIT
// (send_before_commit), so that the send overlaps the commit instead of waiting for it and for a
// read of what it wrote; each such lane waits for the transaction's outcome before it records
// the attempt.
// Thread-safety: update(), next_due() and stop() must not run concurrently with one another (one
// driver calls them); send_before_commit() may run concurrently with any method; set_on_done()
// may be called from any thread but a lane's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "notify/lanes.h"
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

struct DeliveryOptions {
  Lanes::Options lanes;
  // true: update() does not wait for its sends (see above).
  bool background = false;
  // Asked on the lane just before each send; false: not sent now, left pending in the store (the
  // engine lease: a replica whose lease may run out during the send does not start it).
  std::function<bool()> may_send = nullptr;
};

struct DeliveryPass {
  int attempted = 0;  // notifications handed to a lane in this pass
  std::vector<store::Notification> dead_letters;  // those that gave up since the last pass
};

// Whether the transaction that created some notifications committed, for the lanes that sent
// them before its COMMIT (Deliverer::send_before_commit): they record an attempt only once it did,
// as until then the notification's row does not exist for anyone else.
class TransactionOutcome {
 public:
  // The first call counts; later ones are ignored (so a guard may settle "rolled back" on every
  // way out after the normal path settled it).
  void settle(bool committed);
  // Waits until settled; true: committed.
  bool committed();

 private:
  std::mutex mu_;
  std::condition_variable settled_;
  std::optional<bool> committed_;
};

class Deliverer {
 public:
  // `metrics` may be null (no counting).
  Deliverer(std::map<std::string, Sender*> senders, core::Clock& clock, RetryPolicy retry = {},
            core::MetricsRegistry* metrics = nullptr, DeliveryOptions options = {});
  ~Deliverer();

  // Starts sending what is due at `now` (and, without `background`, waits for it).
  core::Result<DeliveryPass> update(store::Store& store, core::Timestamp now);
  // update()'s first half, with `background` only (otherwise nothing): hands what is due to the
  // lanes and returns; the dead letters wait for update(). For a caller that has just created
  // notifications and wants them on their way before the driver's next update(). Same
  // thread-safety as update().
  core::Status start_due(store::Store& store, core::Timestamp now);
  // For a caller inside the transaction that has just inserted `created` (ids assigned) into
  // `store`'s database and not yet committed: hands those due at `now` to their lanes at once.
  // A lane sends, then waits for `outcome` before recording the attempt; if the transaction
  // rolled back there is no row to record and the lane lets it go (it went out once: at least
  // once, never lost, as the alerts that made it are refused and sent again). Returns how many
  // were handed out, a prefix of `created`; the rest stay pending for a read after the commit
  // (start_due, update). None are handed out without `background`, after stop(), or while
  // notifications a full lane refused are pending: a read hands those out first, in order.
  size_t send_before_commit(store::Store& store, const std::vector<store::Notification>& created, core::Timestamp now,
                            const std::shared_ptr<TransactionOutcome>& outcome);
  // When update() next has work: the earliest pending notification that is due and not yet
  // handed to a lane, or falls due later. Notifications in a lane or deferred behind a full one
  // do not count: their lane's on_done hook says when to look again.
  core::Result<std::optional<core::Timestamp>> next_due(store::Tx& tx, core::Timestamp now);
  // Called (on a lane's thread, no lock of the deliverer held) after each send in the background
  // has been recorded.
  void set_on_done(std::function<void()> fn);
  // Drops what waits in the lanes (it stays pending in the store) and waits for the sends in
  // progress; no hook is called afterwards. The destructor does it too.
  void stop();

 private:
  struct KindMetrics {
    core::Gauge* queued = nullptr;
    core::Gauge* in_flight = nullptr;
    core::Counter* deferred = nullptr;
    core::Counter* dead_letters = nullptr;
  };
  KindMetrics& metrics_for(const std::string& channel);
  // Reads what is due and hands it to the lanes (without `background`, waits for the sends).
  core::Status hand_out_due(store::Store& store, core::Timestamp now, DeliveryPass& pass);
  // One send and its record, on a lane's thread; with `outcome`, the record waits for it.
  void attempt(store::Store& store, store::Notification n, double jitter_unit,
               std::shared_ptr<TransactionOutcome> outcome = nullptr);
  std::string lane_of(const store::Notification& n) const;
  // Under mu_: a full lane refused the claimed notification `id`. It stays pending in the store
  // for a later read; its claim goes, it counts as deferred, and until a read has handed out
  // everything due nothing leaves before its commit (refused_).
  void refused_locked(int64_t id, const std::string& channel);
  static constexpr int kBatch = 100;  // notifications read per pass

  std::map<std::string, Sender*> senders_;
  core::Clock& clock_;
  RetryPolicy retry_;
  core::MetricsRegistry* metrics_;
  DeliveryOptions options_;
  std::mt19937_64 rng_;  // drawn on update()'s thread only, so a seed gives one schedule

  std::mutex mu_;  // guards what follows
  std::map<std::string, KindMetrics> kind_metrics_;
  std::set<int64_t> claimed_;  // ids queued or being sent
  // Sent but not recorded (the store refused the write, e.g. a full disk): id -> when to send it
  // again. Without this wait such a notification would be due at once, and sent in a tight loop.
  std::map<int64_t, core::Timestamp> unrecorded_;
  // Attempts recorded by the lanes, against reads of due notifications that may predate them:
  // a read can start before a lane's record commits and be looked at after the lane has let go
  // of its claim, so the stale row would look due and unclaimed, and be sent again (found by the
  // HA chaos benchmark: a page sent twice by a live lease holder). Each due read takes the next
  // read_seq_; an entry records the attempts written and the read_seq_ at that moment, so a read
  // numbered above it started after the commit and needs no check. Entries older than the
  // latest read are dropped after it.
  struct RecordedAttempt {
    int attempts = 0;
    uint64_t read_seq = 0;
  };
  uint64_t read_seq_ = 0;
  std::map<int64_t, RecordedAttempt> recorded_;
  std::vector<store::Notification> dead_letters_;  // given up, not yet returned by update()
  std::function<void()> on_done_;
  std::mt19937_64 early_rng_;  // send_before_commit's jitter draws, under mu_
  // A full lane refused a notification, and no read has handed out everything due since: until
  // one has, send_before_commit hands out nothing, so a notification never overtakes an older one.
  bool refused_ = false;
  bool stopped_ = false;
  bool more_due_ = false;  // the last update() read a full batch and had room for all of it
  std::unique_ptr<Lanes> lanes_;  // last: its threads end before the members they use
};

// The warning alert a dead letter raises: alertname="TocsinNotificationFailed",
// severity="warning", target and channel (kind) labels, annotations with the summary, the
// incident and the last error (not the address: a Slack URL is a secret); it starts at `now` and ends an hour later unless
// raised again. One alert per (target, channel kind), so a receiver that is down raises one
// alert, not one per page — and a route back to that same receiver cannot make a storm.
store::AlertRecord dead_letter_alert(const store::Notification& n, core::Timestamp now);

inline constexpr core::Duration kDeadLetterAlertFor = std::chrono::hours(1);

}  // namespace tocsin::notify
