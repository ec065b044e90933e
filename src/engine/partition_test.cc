// Partitioned ingestion (docs/high-availability.md, "Detection across replicas"): two engines on
// one SQLite file with a shared store's lease (not exclusive), so each reads the other's heartbeat
// and both hold the same two-member ownership view; the forwarder is an in-process fake that hands
// a part to the other engine's ingest_local (what the owner's router does with a forwarded
// request), or fails while the owner is "down".
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "config/loader.h"
#include "core/simulated_clock.h"
#include "engine/engine.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::engine {
namespace {

using std::chrono::seconds;

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

constexpr const char* kConfig = R"(
channels:
  - {name: hook, type: webhook, url: "http://127.0.0.1:9/hook", format: alertmanager}
rules:
  - name: HighLoad
    select: 'system_load{service="api"}'
    detector: {kind: threshold, above: 0.9}
    for: 0s
    severity: major
  - name: SlowRequests
    select: 'latency_ms'
    detector: {kind: sigma, n: 3, window: 1h, min_samples: 20}
    for: 0s
    severity: minor
routes:
  receiver: hook
  group_by: [alertname]
)";

// Hands each part to the owning engine, as the owner's router would (ingest_local), and records it.
class FakeForwarder final : public SampleForwarder {
 public:
  core::Result<IngestResult> forward(const Member& to, const std::vector<ingest::Series>& series) override {
    std::lock_guard lock(mu_);
    calls.push_back({to.id, series.size()});
    if (down.contains(to.id)) return std::unexpected(core::Error::unavailable(to.id + " is down"));
    return engines.at(to.id)->ingest_local(series);
  }
  std::mutex mu_;
  std::map<std::string, Engine*> engines;
  std::set<std::string> down;
  std::vector<std::pair<std::string, size_t>> calls;  // member id, series
};

// A store whose reads take read_delay longer (a slow database): it widens the gaps between the
// steps of a view change, for a test to look in between.
class SlowReadsStore final : public store::Store {
 public:
  explicit SlowReadsStore(std::unique_ptr<store::Store> inner) : inner_(std::move(inner)) {}
  core::Status write(const std::function<core::Status(store::Tx&)>& fn) override { return inner_->write(fn); }
  core::Result<store::PendingCommit> write_visible(const std::function<core::Status(store::Tx&)>& fn) override {
    return inner_->write_visible(fn);
  }
  core::Status make_durable(store::PendingCommit commit) override { return inner_->make_durable(commit); }
  core::Status read(const std::function<core::Status(store::Tx&)>& fn) override {
    std::this_thread::sleep_for(read_delay.load());
    return inner_->read(fn);
  }
  int schema_version() override { return inner_->schema_version(); }
  std::atomic<std::chrono::milliseconds> read_delay{std::chrono::milliseconds(0)};

 private:
  std::unique_ptr<store::Store> inner_;
};

class PartitionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cfg = config::load_config_string(kConfig, "t.yaml", dir_.path());
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    auto config = std::make_shared<const config::Config>(std::move(*cfg));
    for (int i = 0; i < 2; ++i) {
      auto store = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db");
      ASSERT_TRUE(store.has_value()) << store.error().to_string();
      auto slow = std::make_unique<SlowReadsStore>(std::move(*store));
      slow_[i] = slow.get();
      stores_[i] = std::move(slow);
      EngineOptions options;
      options.config = config;
      options.store = stores_[i].get();
      options.clock = &clock_;
      options.metrics = &metrics_[i];
      options.lease.replica_id = kIds[i];
      options.lease.address = fmt::format("http://{}.test", kIds[i]);
      options.lease.exclusive_store = false;
      options.lease.ttl = seconds(15);
      options.lease.renew_every = seconds(5);
      options.forwarder = &forwarder_;
      auto engine = Engine::create(std::move(options));
      ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
      engines_[i] = std::move(*engine);
      forwarder_.engines[kIds[i]] = engines_[i].get();
    }
  }
  // Both renew (and so heartbeat and read the replicas) twice, renew_every apart: then each has
  // seen the other's heartbeat.
  void join() {
    for (int round = 0; round < 2; ++round) {
      for (auto& e : engines_) ASSERT_TRUE(e->run_due().has_value());
      clock_.advance(seconds(5));
    }
  }
  Engine& owner_of(const core::Labels& labels) {
    return a().ownership()->owner_of(labels.fingerprint()).id == kIds[0] ? a() : b();
  }
  Engine& other_than(const Engine& e) { return &e == &a() ? b() : a(); }
  static size_t samples_of(const Engine& e, const core::Labels& labels) {
    std::vector<core::Matcher> matchers;
    for (const auto& l : labels)
      matchers.push_back(core::Matcher::parse(fmt::format("{}=\"{}\"", l.name, l.value)).value());
    auto read = e.read_series(matchers, core::Timestamp{}, core::from_unix_ms(1) + std::chrono::years(100), 10);
    size_t n = 0;
    for (const auto& w : read.series) n += w.labels == labels ? w.points.size() : 0;
    return n;
  }
  static double counter(core::MetricsRegistry& m, const std::string& name, const core::Labels& labels = {}) {
    return m.counter(name, "", labels).value();
  }
  Engine& a() { return *engines_[0]; }
  Engine& b() { return *engines_[1]; }

  static constexpr const char* kIds[2] = {"replica-a", "replica-b"};
  test_support::TempDir dir_;
  core::SimulatedClock clock_{kStart};
  core::MetricsRegistry metrics_[2];
  FakeForwarder forwarder_;
  std::unique_ptr<store::Store> stores_[2];
  SlowReadsStore* slow_[2] = {nullptr, nullptr};  // stores_, as what they are
  std::unique_ptr<Engine> engines_[2];
};

TEST_F(PartitionTest, BothReplicasSeeTheSameTwoMemberView) {
  EXPECT_FALSE(a().ownership()->partitioned());  // before any renewal: this replica alone
  EXPECT_EQ(a().ownership_epoch(), 0u);
  join();
  for (Engine* e : {&a(), &b()}) {
    auto view = e->ownership();
    ASSERT_EQ(view->members().size(), 2u);
    EXPECT_EQ(view->members()[0], (Member{"replica-a", "http://replica-a.test"}));
    EXPECT_EQ(view->members()[1], (Member{"replica-b", "http://replica-b.test"}));
    EXPECT_EQ(e->ownership_epoch(), 1u);  // one change: the other replica joined
  }
  const uint64_t epoch = a().ownership_epoch();
  join();  // nothing changed: the same view, the same epoch
  EXPECT_EQ(a().ownership_epoch(), epoch);
}

TEST_F(PartitionTest, EachSeriesEndsUpOnItsOwnerOnlyWhicheverReplicaReceivesIt) {
  join();
  std::vector<core::Labels> labels;
  for (int i = 0; i < 40; ++i) labels.push_back({{"__name__", "requests"}, {"instance", fmt::format("h{}", i)}});
  // Series batches (remote_write) alternately to A and B, then sample batches (push, scrape).
  for (int round = 0; round < 6; ++round) {
    Engine& to = round % 2 == 0 ? a() : b();
    const auto ts = kStart + seconds(10 * round);
    if (round < 4) {
      std::vector<ingest::Series> batch;
      for (const auto& l : labels) batch.push_back({l, {{1.0 * round, ts}}});
      auto got = to.ingest(batch);
      ASSERT_TRUE(got.has_value()) << got.error().to_string();
      EXPECT_EQ(got->accepted, labels.size());
    } else {
      std::vector<core::Sample> batch;
      for (const auto& l : labels) batch.push_back({l, 1.0 * round, ts});
      auto got = to.ingest(batch);
      ASSERT_TRUE(got.has_value()) << got.error().to_string();
      EXPECT_EQ(got->accepted, labels.size());
    }
  }
  size_t on_a = 0;
  for (const auto& l : labels) {
    Engine& owner = owner_of(l);
    on_a += &owner == &a();
    EXPECT_EQ(samples_of(owner, l), 6u) << l.to_string();
    EXPECT_EQ(samples_of(other_than(owner), l), 0u) << l.to_string();
  }
  EXPECT_GT(on_a, 5u);  // both own some (40 series; 20 each expected)
  EXPECT_LT(on_a, 35u);
  // One forward per batch (every batch has series of both owners), each an "ok".
  EXPECT_EQ(forwarder_.calls.size(), 6u);
  EXPECT_EQ(counter(metrics_[0], "tocsin_ingest_forward_total", {{"result", "ok"}}) +
                counter(metrics_[1], "tocsin_ingest_forward_total", {{"result", "ok"}}),
            6);
  EXPECT_EQ(counter(metrics_[0], "tocsin_ingest_forwarded_samples_total") +
                counter(metrics_[1], "tocsin_ingest_forwarded_samples_total"),
            static_cast<double>(3 * labels.size()));  // A forwards B's share 3 times, B A's share 3 times
}

TEST_F(PartitionTest, ARuleSeesEverySampleOfItsSeriesOnTheOwner) {
  join();
  const core::Labels load{{"__name__", "system_load"}, {"instance", "h1"}, {"service", "api"}};
  for (int i = 0; i < 10; ++i) {
    const double value = i >= 8 ? 5.0 : 0.1;  // crosses at the 9th sample and stays above
    auto got = (i % 2 == 0 ? a() : b()).ingest(std::vector<core::Sample>{{load, value, kStart + seconds(i)}});
    ASSERT_TRUE(got.has_value()) << got.error().to_string();
  }
  Engine& owner = owner_of(load);
  EXPECT_EQ(owner.rule_health().at(0).evaluations, 10u);
  EXPECT_EQ(other_than(owner).rule_health().at(0).evaluations, 0u);
  EXPECT_EQ(owner.rule_health().at(0).firing, 1u);
  EXPECT_EQ(other_than(owner).rule_health().at(0).firing, 0u);
}

TEST_F(PartitionTest, AFailedForwardIsIngestedLocallyAndCounted) {
  join();
  std::vector<core::Labels> labels;
  for (int i = 0; i < 20; ++i) labels.push_back({{"__name__", "requests"}, {"instance", fmt::format("h{}", i)}});
  forwarder_.down.insert("replica-b");
  std::vector<ingest::Series> batch;
  for (const auto& l : labels) batch.push_back({l, {{1.0, kStart}}});
  auto got = a().ingest(batch);
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_EQ(got->accepted, labels.size());  // nothing lost: B's part was ingested by A
  for (const auto& l : labels) EXPECT_EQ(samples_of(a(), l), 1u) << l.to_string();
  EXPECT_EQ(counter(metrics_[0], "tocsin_ingest_forward_total", {{"result", "failed"}}), 1);
  EXPECT_EQ(counter(metrics_[0], "tocsin_ingest_forwarded_samples_total"), 0);
  // B is back: its series go to it again.
  forwarder_.down.clear();
  for (auto& s : batch) s.points[0].ts += seconds(1);
  got = a().ingest(batch);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->accepted, labels.size());
  EXPECT_EQ(counter(metrics_[0], "tocsin_ingest_forward_total", {{"result", "ok"}}), 1);
}

TEST_F(PartitionTest, ForwardedSamplesAreNeverSentOn) {
  join();
  // ingest_local ingests whatever the view says (the router's path for X-Tocsin-Forwarded-From).
  std::vector<ingest::Series> batch;
  for (int i = 0; i < 20; ++i) batch.push_back({{{"__name__", "m"}, {"i", std::to_string(i)}}, {{1.0, kStart}}});
  auto got = a().ingest_local(batch);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->accepted, 20u);
  EXPECT_TRUE(forwarder_.calls.empty());
}

TEST_F(PartitionTest, BeforeTheViewHasAnotherMemberEverythingIsLocal) {
  // No renewal yet: the view is this replica alone, so nothing is forwarded.
  std::vector<ingest::Series> batch;
  for (int i = 0; i < 20; ++i) batch.push_back({{{"__name__", "m"}, {"i", std::to_string(i)}}, {{1.0, kStart}}});
  auto got = a().ingest(batch);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->accepted, 20u);
  EXPECT_TRUE(forwarder_.calls.empty());
}

// One process on its own store (SQLite, exclusive): no partitioning, whatever else is configured.
TEST(PartitionExclusiveStore, AnExclusiveStoreNeverForwards) {
  test_support::TempDir dir;
  core::SimulatedClock clock{kStart};
  core::MetricsRegistry metrics;
  FakeForwarder forwarder;
  auto cfg = config::load_config_string(kConfig, "t.yaml", dir.path());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  auto store = store::sqlite::open_sqlite_store(dir.path() / "tocsin.db");
  ASSERT_TRUE(store.has_value());
  EngineOptions options;
  options.config = std::make_shared<const config::Config>(std::move(*cfg));
  options.store = store->get();
  options.clock = &clock;
  options.metrics = &metrics;
  options.forwarder = &forwarder;  // exclusive_store stays true (the default)
  auto engine = Engine::create(std::move(options));
  ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE((*engine)->run_due().has_value());
    clock.advance(std::chrono::hours(2));
  }
  EXPECT_FALSE((*engine)->ownership()->partitioned());
  EXPECT_EQ((*engine)->ownership_epoch(), 0u);
  std::vector<ingest::Series> batch;
  for (int i = 0; i < 20; ++i) batch.push_back({{{"__name__", "m"}, {"i", std::to_string(i)}}, {{1.0, clock.now()}}});
  auto got = (*engine)->ingest(batch);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->accepted, 20u);
  EXPECT_TRUE(forwarder.calls.empty());
}


// Detector state across replicas (engine_handoff.cc): the learned baseline of a series, and its
// alert's phase, move with the series when the ownership view changes.
class HandoffTest : public PartitionTest {
 protected:
  // A latency series and a load series that `owner` owns in the two-member view.
  core::Labels series_owned_by(Engine& owner, const char* name, const char* extra_label) {
    for (int i = 0; i < 1000; ++i) {
      core::Labels l{{"__name__", name}, {"instance", fmt::format("h{}", i)}};
      if (extra_label) l = {{"__name__", name}, {"instance", fmt::format("h{}", i)}, {"service", extra_label}};
      if (&owner_of(l) == &owner) return l;
    }
    ADD_FAILURE() << "no series of " << name << " owned there";
    return {};
  }
  // 40 samples around 100 ms: a sigma baseline (min_samples 20) with σ ≈ 1.
  void learn(Engine& e, const core::Labels& latency, core::Timestamp from) {
    for (int i = 0; i < 40; ++i) {
      auto got = e.ingest(std::vector<core::Sample>{{latency, 100.0 + (i % 3) - 1, from + seconds(i)}});
      ASSERT_TRUE(got.has_value()) << got.error().to_string();
    }
  }
  size_t firing(Engine& e, const std::string& rule) {
    for (const auto& h : e.rule_health())
      if (h.rule == rule) return h.firing;
    return 0;
  }
  size_t series_of(Engine& e, const std::string& rule) {
    for (const auto& h : e.rule_health())
      if (h.rule == rule) return h.series;
    return 0;
  }
};

TEST_F(HandoffTest, ADeadReplicasSeriesAreTakenOverWithTheirBaselineAndFiringAlert) {
  join();
  const core::Labels latency = series_owned_by(b(), "latency_ms", nullptr);
  const core::Labels load = series_owned_by(b(), "system_load", "api");
  learn(a(), latency, clock_.now());  // sent to A, forwarded to B, learned there
  ASSERT_TRUE(a().ingest(std::vector<core::Sample>{{load, 5.0, clock_.now() + seconds(41)}}).has_value());
  EXPECT_EQ(firing(b(), "HighLoad"), 1u);
  EXPECT_EQ(series_of(a(), "SlowRequests"), 0u) << "A forwarded everything";
  // B's periodic checkpoint (every minute on a server; not in the 20 s after a view change).
  clock_.advance(seconds(20));
  ASSERT_TRUE(b().save_state().has_value());

  // B dies: no more heartbeats, forwards to it fail. Until A's view drops it, A ingests B's
  // series itself (fallback), starting a young detector there with a later sample than B's
  // checkpoint: it must not win over the learned baseline.
  forwarder_.down.insert(kIds[1]);
  clock_.advance(seconds(50));
  ASSERT_TRUE(a().ingest(std::vector<core::Sample>{{latency, 100.0, clock_.now()}}).has_value());
  EXPECT_EQ(series_of(a(), "SlowRequests"), 1u) << "the fallback's young state";
  // Past the ttl, A's renewal drops B from the view and A owns all.
  clock_.advance(seconds(10));
  ASSERT_TRUE(a().run_due().has_value());
  ASSERT_FALSE(a().ownership()->partitioned());
  EXPECT_EQ(series_of(a(), "SlowRequests"), 1u);
  // A jump of 50σ is judged against B's baseline at once (a fresh sigma detector needs 20 samples).
  const auto t = clock_.now();
  auto got = a().ingest(std::vector<core::Sample>{{latency, 150.0, t}});
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_EQ(got->alert_transitions, 2u);  // pending, then at once (for: 0s) firing
  EXPECT_EQ(firing(a(), "SlowRequests"), 1u);
  // The load alert B fired resolves at A when the load is back to normal.
  clock_.advance(seconds(1));
  got = a().ingest(std::vector<core::Sample>{{load, 0.1, clock_.now()}});
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_EQ(got->alert_transitions, 1u) << "the firing alert A took over resolved";
  std::vector<store::AlertRecord> firing_in_store;
  ASSERT_TRUE(stores_[0]->read([&](store::Tx& tx) -> core::Status {
    firing_in_store = TOCSIN_TRY(tx.list_alerts(store::AlertState::kFiring));
    return {};
  }).has_value());
  ASSERT_EQ(firing_in_store.size(), 1u);
  EXPECT_EQ(firing_in_store[0].rule, "SlowRequests");
}

TEST_F(HandoffTest, OnceTheViewShowsTheNewOwnerItJudgesTheMovedSeriesByTheirTakenOverBaseline) {
  // What a client of GET /api/v1/cluster relies on: as soon as A's view no longer lists B, a jump
  // on B's series sent to A is judged against B's baseline. The view must not switch before the
  // state has come over: A's reads are slowed down, so a sample sent in between would meet a fresh
  // detector there (no baseline yet: no alert), which the handoff would then replace.
  join();
  const core::Labels latency = series_owned_by(b(), "latency_ms", nullptr);
  learn(a(), latency, clock_.now());  // forwarded to B, learned there
  clock_.advance(seconds(40));
  ASSERT_TRUE(b().save_state().has_value());  // B's checkpoint (as at its SIGTERM)
  forwarder_.down.insert(kIds[1]);
  clock_.advance(seconds(20));  // past the ttl: A's next renewal drops B

  slow_[0]->read_delay = std::chrono::milliseconds(50);
  std::atomic<bool> driver_done{false};
  std::thread driver([&] {
    EXPECT_TRUE(a().run_due().has_value());
    driver_done = true;
  });
  // Like a client polling the cluster view, then sending at once.
  while (a().ownership()->partitioned() && !driver_done) std::this_thread::sleep_for(std::chrono::microseconds(200));
  ASSERT_FALSE(a().ownership()->partitioned()) << "A's view still lists B after its renewal";
  auto got = a().ingest(std::vector<core::Sample>{{latency, 150.0, clock_.now()}});
  driver.join();
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_EQ(got->alert_transitions, 2u) << "pending, then firing (for: 0s): judged against B's baseline";
}

TEST_F(HandoffTest, WithoutACheckpointTheNewOwnerStartsFresh) {
  // The control for the test above: the same, with B's checkpoint from before it learned.
  join();
  const core::Labels latency = series_owned_by(b(), "latency_ms", nullptr);
  learn(a(), latency, clock_.now());
  clock_.advance(seconds(60));
  ASSERT_TRUE(a().run_due().has_value());
  forwarder_.down.insert(kIds[1]);
  auto got = a().ingest(std::vector<core::Sample>{{latency, 150.0, clock_.now()}});
  ASSERT_TRUE(got.has_value()) << got.error().to_string();
  EXPECT_EQ(got->alert_transitions, 0u) << "a fresh detector has no baseline to judge by";
}

TEST_F(HandoffTest, AJoiningReplicaTakesItsShareAndTheOtherDropsIt) {
  // A alone first: it owns everything and learns every series.
  ASSERT_TRUE(a().run_due().has_value());
  std::vector<core::Labels> series;
  for (int i = 0; i < 20; ++i) series.push_back({{"__name__", "latency_ms"}, {"instance", fmt::format("h{}", i)}});
  for (const auto& l : series) learn(a(), l, clock_.now());
  EXPECT_EQ(series_of(a(), "SlowRequests"), 20u);
  // B joins: A checkpoints and drops B's share when it sees B; B takes it from that checkpoint
  // (one renewal after A's, within the re-read window).
  clock_.advance(seconds(45));
  join();
  join();
  size_t owned_by_b = 0;
  for (const auto& l : series) owned_by_b += &owner_of(l) == &b();
  ASSERT_GT(owned_by_b, 0u);
  ASSERT_LT(owned_by_b, 20u);
  EXPECT_EQ(series_of(a(), "SlowRequests"), 20u - owned_by_b);
  EXPECT_EQ(series_of(b(), "SlowRequests"), owned_by_b);
  // Each owner judges a jump against the baseline A learned.
  size_t fired = 0;
  for (const auto& l : series) {
    auto got = b().ingest(std::vector<core::Sample>{{l, 150.0, clock_.now()}});
    ASSERT_TRUE(got.has_value()) << got.error().to_string();
    fired += got->alert_transitions;
  }
  EXPECT_EQ(fired, 2 * 20u);  // pending and firing (for: 0s) each
  EXPECT_EQ(firing(a(), "SlowRequests") + firing(b(), "SlowRequests"), 20u);
}

TEST_F(HandoffTest, APeriodicCheckpointRightAfterAViewChangeDoesNotHideTheSeriesThatMovedAway) {
  ASSERT_TRUE(a().run_due().has_value());  // A alone owns everything
  std::vector<core::Labels> series;
  for (int i = 0; i < 20; ++i) series.push_back({{"__name__", "latency_ms"}, {"instance", fmt::format("h{}", i)}});
  for (const auto& l : series) learn(a(), l, clock_.now());
  clock_.advance(seconds(45));
  ASSERT_TRUE(b().run_due().has_value());  // B joins; A has written no checkpoint yet
  clock_.advance(seconds(5));
  ASSERT_TRUE(a().run_due().has_value());  // A sees B: checkpoints everything, drops B's share
  size_t owned_by_b = 0;
  for (const auto& l : series) owned_by_b += &owner_of(l) == &b();
  ASSERT_GT(owned_by_b, 0u);
  // A's minute comes round before B reads: it must not replace the checkpoint B needs.
  ASSERT_TRUE(a().save_state().has_value());
  ASSERT_TRUE(b().run_due().has_value());  // B reads the checkpoint A wrote since its handoff
  EXPECT_EQ(series_of(b(), "SlowRequests"), owned_by_b);
  size_t fired = 0;
  for (const auto& l : series) {
    if (&owner_of(l) != &b()) continue;
    auto got = b().ingest_local(std::vector<core::Sample>{{l, 150.0, clock_.now()}});
    ASSERT_TRUE(got.has_value()) << got.error().to_string();
    fired += got->alert_transitions;
  }
  EXPECT_EQ(fired, 2 * owned_by_b) << "every series B took over judged against A's baseline";
}

}  // namespace
}  // namespace tocsin::engine
