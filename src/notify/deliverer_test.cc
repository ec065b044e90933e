#include "notify/deliverer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <functional>
#include <set>
#include <thread>

#include "core/simulated_clock.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/eventually.h"
#include "test_support/temp_dir.h"

namespace tocsin::notify {
namespace {

using std::chrono::seconds;

using test_support::eventually;  // what the lanes' threads do shows up on their own time

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

TEST(RetryPolicy, ExponentialBackoffWithACap) {
  RetryPolicy p;
  EXPECT_EQ(p.backoff_after(1), seconds(5));
  EXPECT_EQ(p.backoff_after(2), seconds(10));
  EXPECT_EQ(p.backoff_after(3), seconds(20));
  EXPECT_EQ(p.backoff_after(20), std::chrono::minutes(5));
}

TEST(RetryPolicy, JitterStaysWithinItsBounds) {
  RetryPolicy p;  // ±20 %
  EXPECT_EQ(p.backoff_after(1, 0.0), std::chrono::milliseconds(4000));
  EXPECT_EQ(p.backoff_after(1, 0.5), std::chrono::milliseconds(5000));
  EXPECT_EQ(p.backoff_after(1, 1.0), std::chrono::milliseconds(6000));
  EXPECT_EQ(p.backoff_after(20, 0.0), std::chrono::minutes(4));
  EXPECT_EQ(p.backoff_after(20, 1.0), std::chrono::minutes(6));
  for (double u = 0; u < 1; u += 0.01) {
    const auto d = p.backoff_after(2, u);
    EXPECT_GE(d, std::chrono::milliseconds(8000));
    EXPECT_LE(d, std::chrono::milliseconds(12000));
  }
  p.jitter = 0;
  EXPECT_EQ(p.backoff_after(2, 0.0), seconds(10));
  EXPECT_EQ(p.backoff_after(2, 0.99), seconds(10));
}

class FakeSender final : public Sender {
 public:
  explicit FakeSender(DeliveryResult result) : result_(std::move(result)) {}
  DeliveryResult send(const store::Notification&) override {
    ++calls;
    return result_;
  }
  std::atomic<int> calls{0};  // lanes send from several threads

 private:
  DeliveryResult result_;
};

class DelivererTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value(); }
  void add(int count, std::string target = "channel:hook") {
    ASSERT_TRUE(store_->write([&](store::Tx& tx) -> core::Status {
      for (int i = 0; i < count; ++i) {
        store::Notification n;
        n.target = target;
        n.channel = "webhook";
        n.address = "http://127.0.0.1:1/hook";
        n.payload = "{}";
        n.created_at = clock_.now();
        n.next_attempt_at = clock_.now();
        TOCSIN_TRY(tx.insert_notification(n));
      }
      return {};
    }).has_value());
  }
  std::vector<store::Notification> all() {
    std::vector<store::Notification> out;
    EXPECT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
      out = TOCSIN_TRY(tx.list_notifications(0));
      return {};
    }).has_value());
    return out;
  }

  test_support::TempDir dir_;
  core::SimulatedClock clock_{kStart};
  core::MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(DelivererTest, RetriesAreJitteredFromASeededGenerator) {
  FakeSender failing({false, 500, "HTTP 500", true});
  add(20);
  std::vector<core::Timestamp> first_run;
  RetryPolicy retry;
  retry.seed = 42;
  Deliverer deliverer({{"webhook", &failing}}, clock_, retry);
  ASSERT_EQ(deliverer.update(*store_, clock_.now()).value().attempted, 20);
  for (const auto& n : all()) {
    first_run.push_back(n.next_attempt_at);
    EXPECT_GE(n.next_attempt_at, kStart + std::chrono::milliseconds(4000));
    EXPECT_LE(n.next_attempt_at, kStart + std::chrono::milliseconds(6000));
  }
  EXPECT_GT(std::set<core::Timestamp>(first_run.begin(), first_run.end()).size(), 10u) << "spread out, not lockstep";

  // The same seed gives the same schedule.
  DelivererTest::TearDown();
  store_ = store::sqlite::open_sqlite_store(dir_.path() / "again.db").value();
  add(20);
  Deliverer again({{"webhook", &failing}}, clock_, retry);
  ASSERT_TRUE(again.update(*store_, clock_.now()).has_value());
  std::vector<core::Timestamp> second_run;
  for (const auto& n : all()) second_run.push_back(n.next_attempt_at);
  EXPECT_EQ(first_run, second_run);
}

TEST_F(DelivererTest, GivingUpReturnsTheDeadLetterAndCountsIt) {
  FakeSender failing({false, 503, "HTTP 503", true});
  add(1);
  RetryPolicy retry;
  retry.max_attempts = 3;
  retry.jitter = 0;
  Deliverer deliverer({{"webhook", &failing}}, clock_, retry, &metrics_);
  EXPECT_NE(metrics_.render().find("tocsin_notifications_dead_letter_total{channel=\"webhook\"} 0"), std::string::npos)
      << metrics_.render();
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto pass = deliverer.update(*store_, clock_.now()).value();
    EXPECT_EQ(pass.attempted, 1);
    EXPECT_TRUE(pass.dead_letters.empty()) << "attempt " << attempt << " is retried";
    clock_.advance(std::chrono::minutes(1));
  }
  auto last = deliverer.update(*store_, clock_.now()).value();
  ASSERT_EQ(last.dead_letters.size(), 1u);
  EXPECT_EQ(last.dead_letters[0].status, store::NotificationStatus::kFailed);
  EXPECT_EQ(last.dead_letters[0].attempts, 3);
  EXPECT_EQ(last.dead_letters[0].last_error, "HTTP 503");
  EXPECT_EQ(all().at(0).status, store::NotificationStatus::kFailed);
  EXPECT_NE(metrics_.render().find("tocsin_notifications_dead_letter_total{channel=\"webhook\"} 1"), std::string::npos);
  clock_.advance(std::chrono::hours(1));
  EXPECT_EQ(deliverer.update(*store_, clock_.now()).value().attempted, 0) << "a dead letter is not tried again";
}

// The engine lease's gate (engine/lease.h): while may_send says no, nothing is sent and nothing
// recorded — the notification stays pending and due, and goes out once it says yes.
TEST_F(DelivererTest, ASendIsNotStartedWhileMaySendSaysNo) {
  FakeSender ok({true, 200, "", false});
  add(2);
  std::atomic<bool> allowed{false};
  DeliveryOptions options;
  options.may_send = [&] { return allowed.load(); };
  Deliverer deliverer({{"webhook", &ok}}, clock_, {}, &metrics_, options);
  ASSERT_TRUE(deliverer.update(*store_, clock_.now()).has_value());
  EXPECT_EQ(ok.calls, 0);
  for (const auto& n : all()) {
    EXPECT_EQ(n.status, store::NotificationStatus::kPending);
    EXPECT_EQ(n.attempts, 0) << "no attempt recorded";
  }
  allowed = true;
  ASSERT_TRUE(deliverer.update(*store_, clock_.now()).has_value());
  EXPECT_EQ(ok.calls, 2);
  for (const auto& n : all()) EXPECT_EQ(n.status, store::NotificationStatus::kSent);
}

TEST_F(DelivererTest, ANonRetryableFailureIsADeadLetterAtOnce) {
  FakeSender rejecting({false, 400, "HTTP 400", false});
  add(1);
  Deliverer deliverer({{"webhook", &rejecting}}, clock_, {}, &metrics_);
  EXPECT_EQ(deliverer.update(*store_, clock_.now()).value().dead_letters.size(), 1u);
}

// A sender whose sends to the address "http://hung" wait until released; others succeed at once.
class HangingSender final : public Sender {
 public:
  DeliveryResult send(const store::Notification& n) override {
    std::unique_lock lock(mu_);
    if (n.address == "http://hung") {
      ++hung_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return released_; });
      --hung_;
      return {false, 0, "timed out", true};
    }
    ++delivered_;
    changed_.notify_all();
    return {true, 200, "", true};
  }
  std::string destination(const store::Notification& n) const override { return n.address; }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    changed_.notify_all();
  }
  bool wait_for(const std::function<bool(int hung, int delivered)>& pred) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, seconds(5), [&] { return pred(hung_, delivered_); });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int hung_ = 0;
  int delivered_ = 0;
  bool released_ = false;
};

class LaneDelivererTest : public DelivererTest {
 protected:
  void add_to(int count, const std::string& address) {
    ASSERT_TRUE(store_->write([&](store::Tx& tx) -> core::Status {
      for (int i = 0; i < count; ++i) {
        store::Notification n;
        n.target = "channel:" + address;
        n.channel = "webhook";
        n.address = address;
        n.payload = "{}";
        n.created_at = clock_.now();
        n.next_attempt_at = clock_.now();
        TOCSIN_TRY(tx.insert_notification(n));
      }
      return {};
    }).has_value());
  }
  int count(store::NotificationStatus status, const std::string& address) {
    int n = 0;
    for (const auto& x : all()) n += x.status == status && x.address == address;
    return n;
  }
  double metric(const std::string& series) {
    const std::string text = metrics_.render();
    const size_t at = text.find(series + " ");
    EXPECT_NE(at, std::string::npos) << series << " not in\n" << text;
    return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 1));
  }
  HangingSender sender_;
};

TEST_F(LaneDelivererTest, AHungReceiverHoldsUpNeitherThePassNorAnotherReceiver) {
  std::atomic<int> done{0};
  Deliverer deliverer({{"webhook", &sender_}}, clock_, {}, &metrics_,
                      {.lanes = {.per_lane = 2, .queue = 3}, .background = true});
  deliverer.set_on_done([&] { ++done; });
  add_to(4, "http://hung");
  add_to(3, "http://fine");
  auto pass = deliverer.update(*store_, clock_.now()).value();
  EXPECT_EQ(pass.attempted, 7) << "update() returned while two sends hang";
  ASSERT_TRUE(sender_.wait_for([](int hung, int delivered) { return hung == 2 && delivered == 3; }));
  // Delivered and recorded although the other lane's sends have not returned.
  ASSERT_TRUE(eventually([&] { return count(store::NotificationStatus::kSent, "http://fine") == 3; }));
  // In flight until recorded: the healthy lane's last one may still be writing.
  EXPECT_TRUE(eventually([&] { return metric(R"(tocsin_notify_in_flight{channel="webhook"})") == 2; }));
  EXPECT_EQ(metric(R"(tocsin_notify_queue_depth{channel="webhook"})"), 2) << "two of the hung lane's wait";
  // A second pass hands nothing out twice.
  EXPECT_EQ(deliverer.update(*store_, clock_.now()).value().attempted, 0);
  // Nothing due later than now: the lanes' hook says when to look again.
  std::optional<core::Timestamp> next;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
    next = TOCSIN_TRY(deliverer.next_due(tx, clock_.now()));
    return {};
  }).has_value());
  EXPECT_FALSE(next.has_value());
  sender_.release();
  ASSERT_TRUE(eventually([&] { return done.load() == 7; }));
  EXPECT_EQ(count(store::NotificationStatus::kPending, "http://hung"), 4) << "failed, to be retried";
  EXPECT_TRUE(eventually([&] { return metric(R"(tocsin_notify_in_flight{channel="webhook"})") == 0; }));
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
    next = TOCSIN_TRY(deliverer.next_due(tx, clock_.now()));
    return {};
  }).has_value());
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, clock_.now()) << "the retries' back-off";
}

TEST_F(LaneDelivererTest, AFullLaneLeavesTheRestPendingAndCountsIt) {
  Deliverer deliverer({{"webhook", &sender_}}, clock_, {}, &metrics_,
                      {.lanes = {.per_lane = 1, .queue = 2}, .background = true});
  add_to(10, "http://hung");
  EXPECT_EQ(deliverer.update(*store_, clock_.now()).value().attempted, 3) << "one sending, two queued";
  EXPECT_EQ(metric(R"(tocsin_notify_deferred_total{channel="webhook"})"), 7);
  EXPECT_EQ(count(store::NotificationStatus::kPending, "http://hung"), 10) << "nothing dropped";
  ASSERT_TRUE(sender_.wait_for([](int hung, int) { return hung == 1; }));
  sender_.release();
  // Each pass hands out what fits; all ten are tried in the end.
  for (int i = 0; i < 100; ++i) {
    (void)deliverer.update(*store_, clock_.now());
    int tried = 0;
    for (const auto& n : all()) tried += n.attempts;
    if (tried == 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int tried = 0;
  for (const auto& n : all()) tried += n.attempts;
  EXPECT_EQ(tried, 10);
}

TEST_F(LaneDelivererTest, WithoutBackgroundAPassWaitsForItsSendsEvenBeyondTheQueue) {
  FakeSender ok({true, 200, "", true});
  Deliverer deliverer({{"webhook", &ok}}, clock_, {}, &metrics_, {.lanes = {.per_lane = 2, .queue = 2}});
  add(9);
  EXPECT_EQ(deliverer.update(*store_, clock_.now()).value().attempted, 9);
  EXPECT_EQ(ok.calls.load(), 9);
  for (const auto& n : all()) EXPECT_EQ(n.status, store::NotificationStatus::kSent);
}

// start_due: a request that created notifications hands them out itself; the driver's next
// update() finds them handed out, and still gets the dead letters.
TEST_F(LaneDelivererTest, StartDueHandsOutWhatIsDueAndLeavesTheDeadLettersToUpdate) {
  FakeSender refused({false, 400, "bad request", false});  // not retryable: a dead letter at once
  Deliverer deliverer({{"webhook", &sender_}, {"email", &refused}}, clock_, {}, &metrics_,
                      {.lanes = {.per_lane = 2, .queue = 8}, .background = true});
  add_to(2, "http://fine");
  ASSERT_TRUE(store_->write([&](store::Tx& tx) -> core::Status {
    store::Notification n;
    n.target = "channel:mail";
    n.channel = "email";
    n.address = "ops@example.com";
    n.payload = "{}";
    n.created_at = n.next_attempt_at = clock_.now();
    TOCSIN_TRY(tx.insert_notification(n));
    return {};
  }).has_value());
  ASSERT_TRUE(deliverer.start_due(*store_, clock_.now()).has_value());
  ASSERT_TRUE(sender_.wait_for([](int, int delivered) { return delivered == 2; }));
  // Counted, under the deliverer's lock, with the dead letter kept for update().
  ASSERT_TRUE(eventually([&] { return metric(R"(tocsin_notifications_dead_letter_total{channel="email"})") == 1; }));
  EXPECT_EQ(count(store::NotificationStatus::kFailed, "ops@example.com"), 1);
  auto pass = deliverer.update(*store_, clock_.now()).value();
  EXPECT_EQ(pass.attempted, 0) << "nothing handed out twice";
  ASSERT_EQ(pass.dead_letters.size(), 1u) << "the dead letter is update()'s to return";
  EXPECT_EQ(pass.dead_letters[0].address, "ops@example.com");
}

TEST_F(LaneDelivererTest, StartDueDoesNothingWithoutBackground) {
  FakeSender ok({true, 200, "", true});
  Deliverer deliverer({{"webhook", &ok}}, clock_, {}, &metrics_, {.lanes = {.per_lane = 2, .queue = 2}});
  add(3);
  ASSERT_TRUE(deliverer.start_due(*store_, clock_.now()).has_value());
  EXPECT_EQ(ok.calls.load(), 0) << "a simulated clock's passes deliver, in order";
  EXPECT_EQ(deliverer.update(*store_, clock_.now()).value().attempted, 3);
}

// send_before_commit: the lane sends while the transaction that inserted the notification is still
// open, and records the attempt only once the transaction's outcome says it committed.
class SendBeforeCommitTest : public LaneDelivererTest {
 protected:
  store::Notification inserted(store::Tx& tx, const std::string& address, core::Timestamp due) {
    store::Notification n;
    n.target = "channel:" + address;
    n.channel = "webhook";
    n.address = address;
    n.payload = "{}";
    n.created_at = clock_.now();
    n.next_attempt_at = due;
    n.id = tx.insert_notification(n).value();
    return n;
  }
  // A background deliverer over sender_; each send it records counts in done_.
  std::unique_ptr<Deliverer> background(Lanes::Options lanes) {
    auto deliverer = std::make_unique<Deliverer>(std::map<std::string, Sender*>{{"webhook", &sender_}}, clock_,
                                                 RetryPolicy{}, &metrics_,
                                                 DeliveryOptions{.lanes = lanes, .background = true});
    deliverer->set_on_done([this] { ++done_; });
    return deliverer;
  }
  std::atomic<int> done_{0};
};

TEST_F(SendBeforeCommitTest, SendsInsideTheTransactionAndRecordsOnceItCommitted) {
  auto deliverer = background({.per_lane = 1, .queue = 4});
  auto outcome = std::make_shared<TransactionOutcome>();
  size_t handed = 0;
  ASSERT_TRUE(store_
                  ->write([&](store::Tx& tx) -> core::Status {
                    const auto due = inserted(tx, "http://fine", clock_.now());
                    const auto later = inserted(tx, "http://fine", clock_.now() + seconds(60));
                    handed = deliverer->send_before_commit(*store_, {due, later}, clock_.now(), outcome);
                    EXPECT_TRUE(sender_.wait_for([](int, int delivered) { return delivered == 1; }))
                        << "not sent while its transaction was open";
                    return {};
                  })
                  .has_value());
  EXPECT_EQ(handed, 1u) << "only what is due now";
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(done_.load(), 0) << "recorded before the outcome was known";
  EXPECT_EQ(count(store::NotificationStatus::kPending, "http://fine"), 2);
  EXPECT_EQ(deliverer->update(*store_, clock_.now()).value().attempted, 0) << "handed out twice while in its lane";
  outcome->settle(true);
  ASSERT_TRUE(eventually([&] { return done_.load() == 1; }));
  EXPECT_EQ(count(store::NotificationStatus::kSent, "http://fine"), 1);
  EXPECT_EQ(all()[0].attempts, 1);
  EXPECT_EQ(deliverer->update(*store_, clock_.now()).value().attempted, 0) << "sent again after its record";
  EXPECT_EQ(metric(R"(tocsin_notify_in_flight{channel="webhook"})"), 0);
}

TEST_F(SendBeforeCommitTest, ARolledBackSendIsLetGo) {
  auto deliverer = background({.per_lane = 1, .queue = 4});
  auto outcome = std::make_shared<TransactionOutcome>();
  int64_t id = 0;
  EXPECT_FALSE(store_
                   ->write([&](store::Tx& tx) -> core::Status {
                     const auto n = inserted(tx, "http://fine", clock_.now());
                     id = n.id;
                     EXPECT_EQ(deliverer->send_before_commit(*store_, {n}, clock_.now(), outcome), 1u);
                     EXPECT_TRUE(sender_.wait_for([](int, int delivered) { return delivered == 1; }));
                     return std::unexpected(core::Error::internal("rolled back by the test"));
                   })
                   .has_value());
  outcome->settle(false);
  ASSERT_TRUE(eventually([&] { return done_.load() == 1; }));
  EXPECT_TRUE(all().empty());
  EXPECT_EQ(metric(R"(tocsin_notify_in_flight{channel="webhook"})"), 0);
  EXPECT_EQ(metric(R"(tocsin_notify_queue_depth{channel="webhook"})"), 0);
  std::optional<core::Timestamp> next;
  ASSERT_TRUE(store_
                  ->read([&](store::Tx& tx) -> core::Status {
                    next = TOCSIN_TRY(deliverer->next_due(tx, clock_.now()));
                    return {};
                  })
                  .has_value());
  EXPECT_FALSE(next.has_value()) << "a send of a row that is gone is not retried";
  // The next notification has an id of its own (the store never gives one twice) and goes out.
  add_to(1, "http://fine");
  ASSERT_EQ(all().size(), 1u);
  EXPECT_GT(all()[0].id, id);
  EXPECT_EQ(deliverer->update(*store_, clock_.now()).value().attempted, 1);
  ASSERT_TRUE(eventually([&] { return count(store::NotificationStatus::kSent, "http://fine") == 1; }));
}

// A notification a full lane refused waits in the store for a read; until a read has handed it
// out, nothing newer leaves before its commit (it would overtake it).
TEST_F(SendBeforeCommitTest, NothingOvertakesANotificationAFullLaneRefused) {
  // A lane holds one send and one waiting. (Room for one waiting, not none: a lane counts a job as
  // running until it returns, a little after its record, which the checks below wait for.)
  auto deliverer = background({.per_lane = 1, .queue = 1});
  add_to(2, "http://hung");
  EXPECT_EQ(deliverer->update(*store_, clock_.now()).value().attempted, 2);
  ASSERT_TRUE(sender_.wait_for([](int hung, int) { return hung == 1; }));
  auto send = [&](const std::string& address) {
    auto outcome = std::make_shared<TransactionOutcome>();
    size_t handed = 0;
    EXPECT_TRUE(store_
                    ->write([&](store::Tx& tx) -> core::Status {
                      handed = deliverer->send_before_commit(*store_, {inserted(tx, address, clock_.now())},
                                                            clock_.now(), outcome);
                      return {};
                    })
                    .has_value());
    outcome->settle(true);
    return handed;
  };
  EXPECT_EQ(send("http://hung"), 0u) << "its lane is full";
  EXPECT_EQ(metric(R"(tocsin_notify_deferred_total{channel="webhook"})"), 1);
  EXPECT_EQ(send("http://fine"), 0u) << "it would go before the refused one";
  sender_.release();
  ASSERT_TRUE(eventually([&] { return count(store::NotificationStatus::kPending, "http://hung") == 3; }));
  ASSERT_TRUE(eventually([&] { return metric(R"(tocsin_notify_in_flight{channel="webhook"})") == 0; }));
  EXPECT_EQ(deliverer->update(*store_, clock_.now()).value().attempted, 2) << "the refused one and the one after";
  ASSERT_TRUE(eventually([&] { return count(store::NotificationStatus::kSent, "http://fine") == 1; }));
  EXPECT_EQ(send("http://fine"), 1u) << "the read handed out everything due";
  ASSERT_TRUE(eventually([&] { return count(store::NotificationStatus::kSent, "http://fine") == 2; }));
}

TEST_F(SendBeforeCommitTest, NothingLeavesBeforeTheCommitWithoutBackground) {
  FakeSender ok({true, 200, "", true});
  Deliverer deliverer({{"webhook", &ok}}, clock_, {}, &metrics_, {.lanes = {.per_lane = 1, .queue = 4}});
  auto outcome = std::make_shared<TransactionOutcome>();
  ASSERT_TRUE(store_
                  ->write([&](store::Tx& tx) -> core::Status {
                    EXPECT_EQ(deliverer.send_before_commit(*store_, {inserted(tx, "http://fine", clock_.now())},
                                                           clock_.now(), outcome),
                              0u);
                    return {};
                  })
                  .has_value());
  EXPECT_EQ(ok.calls.load(), 0) << "a simulated clock's passes deliver, in order";
  EXPECT_EQ(deliverer.update(*store_, clock_.now()).value().attempted, 1);
}

TEST(DeadLetterAlert, IsAWarningPerTargetAndChannelThatEndsByItself) {
  store::Notification n;
  n.id = 3;
  n.incident_id = 12;
  n.target = "person:bob";
  n.channel = "email";
  n.address = "bob@example.com";
  n.attempts = 8;
  n.last_error = "SMTP 127.0.0.1:25: Couldn't connect to server";
  const auto a = dead_letter_alert(n, kStart);
  EXPECT_EQ(a.labels.get_or("alertname", ""), "TocsinNotificationFailed");
  EXPECT_EQ(a.labels.get_or("severity", ""), "warning");
  EXPECT_EQ(a.labels.get_or("target", ""), "person:bob");
  EXPECT_EQ(a.labels.get_or("channel", ""), "email");
  EXPECT_EQ(a.fingerprint, a.labels.fingerprint());
  EXPECT_EQ(a.annotations.at("error"), n.last_error);
  EXPECT_EQ(a.annotations.at("incident"), "12");
  EXPECT_EQ(a.annotations.at("summary"), "tocsin gave up notifying person:bob via email after 8 attempt(s)");
  EXPECT_EQ(a.active_at, kStart);
  EXPECT_EQ(a.ends_at, kStart + std::chrono::hours(1));
  n.id = 4;
  n.incident_id = 13;
  EXPECT_EQ(dead_letter_alert(n, kStart).fingerprint, a.fingerprint) << "one alert per target and channel";
}


// A store whose next read, once armed, runs `after_read` between reading and returning: what a
// slow read looks like when a lane's record commits meanwhile.
class PausingStore final : public store::Store {
 public:
  explicit PausingStore(store::Store& inner) : inner_(inner) {}
  core::Status write(const std::function<core::Status(store::Tx&)>& fn) override { return inner_.write(fn); }
  core::Status read(const std::function<core::Status(store::Tx&)>& fn) override {
    auto st = inner_.read(fn);
    if (auto hook = std::exchange(after_read, nullptr)) hook();
    return st;
  }
  int schema_version() override { return inner_.schema_version(); }
  std::function<void()> after_read;

 private:
  store::Store& inner_;
};

// Regression (bench/chaos/ha.py found it: a page sent twice by a live lease holder): a pass read
// a notification as due while its send was in a lane; the lane recorded the send and let go of its
// claim before the pass looked at the row, which then seemed due and unclaimed.
TEST_F(DelivererTest, ARowReadBeforeItsSendWasRecordedIsNotSentAgain) {
  std::mutex mu;
  std::condition_variable cv;
  bool let_send = false;
  int recorded = 0;
  std::atomic<int> calls{0};
  class GatedSender final : public Sender {
   public:
    GatedSender(std::mutex& mu, std::condition_variable& cv, bool& go, std::atomic<int>& calls)
        : mu_(mu), cv_(cv), go_(go), calls_(calls) {}
    DeliveryResult send(const store::Notification&) override {
      ++calls_;
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return go_; });
      return {true, 200, "", false};
    }
   private:
    std::mutex& mu_;
    std::condition_variable& cv_;
    bool& go_;
    std::atomic<int>& calls_;
  } sender(mu, cv, let_send, calls);
  Deliverer deliverer({{"webhook", &sender}}, clock_, {}, nullptr, {.lanes = {}, .background = true});
  deliverer.set_on_done([&] {
    std::lock_guard lock(mu);
    ++recorded;
    cv.notify_all();
  });
  add(1);
  PausingStore store(*store_);
  ASSERT_EQ(deliverer.update(store, clock_.now()).value().attempted, 1);
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
  // The second pass reads the row while the send is in flight, then the send finishes and is
  // recorded (the lane's claim is gone) before the pass looks at what it read.
  store.after_read = [&] {
    std::unique_lock lock(mu);
    let_send = true;
    cv.notify_all();
    cv.wait(lock, [&] { return recorded == 1; });
  };
  EXPECT_EQ(deliverer.update(store, clock_.now()).value().attempted, 0) << "the stale row was handed out again";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(calls.load(), 1);
  ASSERT_EQ(all().size(), 1u);
  EXPECT_EQ(all()[0].attempts, 1);
  EXPECT_EQ(all()[0].status, store::NotificationStatus::kSent);
  // A later pass reads the record: nothing due, nothing sent.
  EXPECT_EQ(deliverer.update(store, clock_.now()).value().attempted, 0);
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace tocsin::notify
