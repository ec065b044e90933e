// The engine lease (engine/lease.h, docs/high-availability.md): two engines on one store, as two
// replicas on one PostgreSQL would be, on one simulated clock. Only the holder escalates and
// delivers; when it dies the other takes over once the lease has expired and pages exactly once;
// a holder that lost the lease cannot write.
#include "engine/lease.h"

#include <gtest/gtest.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>

#include "config/loader.h"
#include "core/simulated_clock.h"
#include "engine/engine.h"
#include "notify/webhook/http_sender.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"
#include "test_support/webhook_receiver.h"

namespace tocsin::engine {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();
constexpr core::Duration kTtl = seconds(15);
constexpr core::Duration kRenewEvery = seconds(5);

std::string config_yaml(const std::string& hook) {
  return fmt::format(R"(
people:
  - {{id: alice, contact: {{webhook: "{0}/alice"}}}}
  - {{id: carol, contact: {{webhook: "{0}/carol"}}}}
escalation_policies:
  - id: ops
    levels:
      - {{after: 0m, notify: ["person:alice"]}}
      - {{after: 10m, notify: ["person:carol"]}}
plans:
  - id: crash
    match: ['incident_type="crash"']
    escalation: ops
    roles: {{commander: "person:alice"}}
    steps:
      - {{id: triage, title: Triage, owner: commander, due: 5h}}
)",
                     hook);
}

LeaseOptions shared_lease(std::string id) {
  LeaseOptions lease;
  lease.replica_id = std::move(id);
  lease.address = "http://" + lease.replica_id;
  lease.ttl = kTtl;
  lease.renew_every = kRenewEvery;
  lease.exclusive_store = false;  // as on PostgreSQL: others share the store
  return lease;
}

// One replica: its own engine and metrics over the shared store and clock.
struct Replica {
  core::MetricsRegistry metrics;
  std::unique_ptr<Engine> engine;
  double metric(std::string_view name) {
    const std::string text = metrics.render();
    const std::string key = fmt::format("\n{} ", name);
    const size_t at = text.find(key);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
  }
};

class EngineLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = config::load_config_string(config_yaml(receiver_.url()), "t.yaml", dir_.path());
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::make_shared<const config::Config>(std::move(*cfg));
    store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value();
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    store_.reset();
  }
  std::unique_ptr<Replica> start(std::string id) {
    auto r = std::make_unique<Replica>();
    EngineOptions options;
    options.config = config_;
    options.store = store_.get();
    options.clock = &clock_;
    options.metrics = &r->metrics;
    options.senders = {{"webhook", &sender_}};
    options.external_url = "http://tocsin.test";
    options.lease = shared_lease(std::move(id));
    r->engine = Engine::create(std::move(options)).value();
    return r;
  }
  // Runs every live replica at each time one of them asks for, up to t (like their drivers).
  void run_until(core::Timestamp t) {
    for (int passes = 0; passes < 100000; ++passes) {
      std::optional<core::Timestamp> next;
      for (Replica* r : {a_.get(), b_.get()}) {
        if (!r) continue;
        auto due = r->engine->run_due();
        ASSERT_TRUE(due.has_value()) << due.error().to_string();
        if (*due && (!next || **due < *next)) next = *due;
      }
      if (!next || *next > t) break;
      clock_.advance_to(std::max(*next, clock_.now()));
    }
    clock_.advance_to(t);
    for (Replica* r : {a_.get(), b_.get()}) {
      if (r) {
        ASSERT_TRUE(r->engine->run_due().has_value());
      }
    }
  }
  void receive_on(Replica& r) {
    alerting::Alert a;
    a.labels = core::Labels{{"alertname", "Down"}, {"incident_type", "crash"}};
    a.fingerprint = a.labels.fingerprint();
    a.active_at = clock_.now();
    a.updated_at = clock_.now();
    ASSERT_TRUE(r.engine->receive_alerts({a}).has_value());
  }
  int pages_to(std::string_view path) {
    auto p = receiver_.paths();
    return static_cast<int>(std::count(p.begin(), p.end(), path));
  }

  test_support::TempDir dir_;
  test_support::Receiver receiver_;
  core::SimulatedClock clock_{kStart};
  notify::HttpSender sender_{clock_, seconds(5)};
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Replica> a_;
  std::unique_ptr<Replica> b_;
};

TEST_F(EngineLeaseTest, OnlyTheHolderPagesAndTheStandbyTakesOverOnceItExpiresPagingExactlyOnce) {
  a_ = start("a");
  ASSERT_TRUE(a_->engine->run_due().has_value());
  b_ = start("b");
  ASSERT_TRUE(b_->engine->run_due().has_value());
  EXPECT_TRUE(a_->engine->holds_engine_lease());
  EXPECT_FALSE(b_->engine->holds_engine_lease());
  EXPECT_EQ(a_->metric("tocsin_engine_lease_held"), 1);
  EXPECT_EQ(b_->metric("tocsin_engine_lease_held"), 0);
  EXPECT_EQ(b_->metric("tocsin_replicas_live"), 2);

  // The alert arrives at the standby: it opens the incident (intake runs everywhere), but the
  // page is the holder's to send.
  receive_on(*b_);
  ASSERT_TRUE(b_->engine->run_due().has_value());
  EXPECT_EQ(pages_to("/alice"), 0) << "a standby escalated";
  run_until(kStart + minutes(5));
  EXPECT_EQ(pages_to("/alice"), 1);
  EXPECT_EQ(pages_to("/carol"), 0);

  // The holder dies (no release) before level 2 is due at +10m; b takes over once a's lease ran
  // out, and pages carol exactly once.
  a_.reset();
  run_until(kStart + minutes(5) + kTtl - seconds(1));
  EXPECT_FALSE(b_->engine->holds_engine_lease()) << "taken over before the lease expired";
  run_until(kStart + minutes(30));
  EXPECT_TRUE(b_->engine->holds_engine_lease());
  EXPECT_EQ(pages_to("/alice"), 1);
  EXPECT_EQ(pages_to("/carol"), 1);
  EXPECT_EQ(b_->metric("tocsin_engine_lease_takeovers_total"), 1);
  EXPECT_EQ(b_->metric("tocsin_engine_lease_held"), 1);
  EXPECT_EQ(b_->metric("tocsin_replicas_live"), 1);

  auto cluster = b_->engine->cluster().value();
  EXPECT_EQ(cluster.self, "b");
  ASSERT_EQ(cluster.replicas.size(), 2u);  // a's row stays (not live) until it is a day old
  EXPECT_EQ(cluster.replicas[0].replica.id, "a");
  EXPECT_FALSE(cluster.replicas[0].live);
  EXPECT_TRUE(cluster.replicas[1].live);
  EXPECT_TRUE(cluster.replicas[1].self);
  ASSERT_EQ(cluster.leases.size(), 1u);
  EXPECT_EQ(cluster.leases[0].holder, "b");
  EXPECT_EQ(cluster.leases[0].epoch, 2);
}

TEST_F(EngineLeaseTest, ACleanShutdownReleasesTheLeaseSoTheStandbyTakesOverAtOnce) {
  a_ = start("a");
  b_ = start("b");
  run_until(kStart + seconds(1));
  ASSERT_TRUE(a_->engine->holds_engine_lease());
  receive_on(*a_);
  run_until(kStart + minutes(2));
  EXPECT_EQ(pages_to("/alice"), 1);
  ASSERT_TRUE(a_->engine->release_lease().has_value());
  EXPECT_FALSE(a_->engine->run_due().has_value()) << "no pass after the release";
  a_.reset();
  // At b's next renewal (within renew_every), not after the ttl.
  run_until(kStart + minutes(2) + kRenewEvery);
  EXPECT_TRUE(b_->engine->holds_engine_lease());
  auto cluster = b_->engine->cluster().value();
  ASSERT_EQ(cluster.replicas.size(), 1u) << "a left the membership table";
  run_until(kStart + minutes(15));
  EXPECT_EQ(pages_to("/alice"), 1);
  EXPECT_EQ(pages_to("/carol"), 1);
}

// The fencing: a holder paused past its lease (a long GC, a frozen VM) comes back after another
// replica took over; its writes are refused in their own transaction and change nothing, and it
// starts no send.
TEST_F(EngineLeaseTest, AFencedWriteIsRefusedAfterATakeover) {
  core::MetricsRegistry metrics_a;
  core::MetricsRegistry metrics_b;
  EngineLease a(shared_lease("a"), clock_, metrics_a);
  EngineLease b(shared_lease("b"), clock_, metrics_b);
  EXPECT_TRUE(a.renew_if_due(*store_, clock_.now()).value()) << "a takes the free lease";
  EXPECT_FALSE(b.renew_if_due(*store_, clock_.now()).value());
  EXPECT_TRUE(a.active(clock_.now()));
  EXPECT_FALSE(b.active(clock_.now()));
  // b wakes when a's lease may be free (its expiry) or at its renewal, whichever is first.
  EXPECT_EQ(b.next_due(), clock_.now() + kRenewEvery);

  FencedStore fenced_a(*store_, a, clock_);
  FencedStore fenced_b(*store_, b, clock_);
  auto write_incident = [](store::Store& s) {
    return s.write([](store::Tx& tx) -> core::Status {
      store::Incident inc;
      inc.title = "fenced";
      inc.group_key = "k";
      TOCSIN_TRY(tx.insert_incident(inc));
      return core::ok();
    });
  };
  EXPECT_TRUE(write_incident(fenced_a).has_value());
  auto refused = write_incident(fenced_b);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), core::ErrorCode::kFailedPrecondition);

  // a stops renewing; past (ttl + renew_every) / 2 it starts nothing, though the lease is still its.
  clock_.advance((kTtl + kRenewEvery) / 2);
  EXPECT_FALSE(a.active(clock_.now()));
  EXPECT_TRUE(a.held(clock_.now()));
  clock_.advance_to(kStart + kTtl);
  EXPECT_TRUE(b.renew_if_due(*store_, clock_.now()).value()) << "b takes the expired lease";
  EXPECT_EQ(b.epoch(), 2);
  refused = write_incident(fenced_a);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message().find("lost the engine lease"), std::string::npos) << refused.error().message();
  EXPECT_TRUE(write_incident(fenced_b).has_value());
  // a renews and learns it is a standby now.
  EXPECT_FALSE(a.renew_if_due(*store_, clock_.now(), /*force=*/true).value());
  EXPECT_FALSE(a.held(clock_.now()));
  EXPECT_EQ(metrics_b.render().find("tocsin_engine_lease_takeovers_total 1") != std::string::npos, true);
  std::vector<store::Incident> incidents;
  ASSERT_TRUE(store_->read([&](store::Tx& tx) -> core::Status {
    incidents = TOCSIN_TRY(tx.list_incidents({}));
    return core::ok();
  }));
  EXPECT_EQ(incidents.size(), 2u) << "one by a while it held the lease, one by b after: none of the refused";
}

// With a store of its own (SQLite), a replica takes the lease at once at start, whoever an
// earlier run of it left holding it.
TEST_F(EngineLeaseTest, AnExclusiveStoreIsTakenAtOnceFromAnEarlierRun) {
  core::MetricsRegistry metrics;
  LeaseOptions crashed = shared_lease("host:1-aaaaaa");
  crashed.exclusive_store = true;
  {
    EngineLease earlier(crashed, clock_, metrics);
    ASSERT_TRUE(earlier.renew_if_due(*store_, clock_.now()).value());
  }
  LeaseOptions restarted = crashed;
  restarted.replica_id = "host:1-bbbbbb";
  EngineLease now(restarted, clock_, metrics);
  EXPECT_TRUE(now.renew_if_due(*store_, clock_.now()).value());
  EXPECT_TRUE(now.active(clock_.now()));
  // A shared store waits for the expiry instead.
  LeaseOptions other = shared_lease("host:2-cccccc");
  EngineLease waiting(other, clock_, metrics);
  EXPECT_FALSE(waiting.renew_if_due(*store_, clock_.now()).value());
}

}  // namespace
}  // namespace tocsin::engine
