// DrillPlayer: the drill loop shared by the simulated runner and `tocsin demo`. Played in one go
// it is the runner; played in slices (the demo's way) it gives the same scorecard; two drills in
// one store are told apart by drill_record_from_store; a stage's failure stops the play.
#include "drill/player.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/starter.h"
#include "core/metrics.h"
#include "core/simulated_clock.h"
#include "drill/runner.h"
#include "drill/starter_scenarios.h"
#include "notify/sender.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::drill {
namespace {

class Recorder final : public notify::Sender {
 public:
  notify::DeliveryResult send(const store::Notification& n) override {
    sent_.push_back(n);
    return {true, 0, "", true};
  }
  std::vector<store::Notification> take() { return std::exchange(sent_, {}); }

 private:
  std::vector<store::Notification> sent_;
};

// An engine on a SimulatedClock with in-memory senders; `fail_after` settles, settle() fails.
class TestStage final : public Stage {
 public:
  TestStage(core::SimulatedClock& clock, engine::Engine& engine, Recorder& sender)
      : clock_(clock), engine_(engine), sender_(sender) {}
  Timestamp now() const override { return clock_.now(); }
  core::Status move_to(Timestamp t) override {
    moves_.push_back(t);
    clock_.advance_to(std::max(t, clock_.now()));
    return {};
  }
  core::Result<Settled> settle() override {
    if (fail_after && settles_ >= *fail_after) return std::unexpected(core::Error::unavailable("stage went away"));
    ++settles_;
    Settled out;
    for (;;) {
      out.next = TOCSIN_TRY(engine_.run_due());
      auto pages = sender_.take();
      const bool none = pages.empty();
      for (auto& p : pages) out.pages.push_back(std::move(p));
      if (none && (!out.next || *out.next > clock_.now())) return out;
    }
  }
  std::optional<int> fail_after;
  int settles_ = 0;
  std::vector<Timestamp> moves_;

 private:
  core::SimulatedClock& clock_;
  engine::Engine& engine_;
  Recorder& sender_;
};

// One engine over its own store, as the runner builds it.
struct Bench {
  Bench(const std::filesystem::path& db, std::shared_ptr<const config::Config> config, Timestamp start)
      : clock(start) {
    store = store::sqlite::open_sqlite_store(db).value();
    engine::EngineOptions eo;
    eo.config = std::move(config);
    eo.store = store.get();
    eo.clock = &clock;
    eo.metrics = &metrics;
    eo.senders = {{"webhook", &sender}, {"slack", &sender}, {"email", &sender}, {"exec", &sender}};
    eo.external_url = "http://drill.invalid";
    engine = engine::Engine::create(std::move(eo)).value();
    stage = std::make_unique<TestStage>(clock, *engine, sender);
  }
  std::string register_drill(const Scenario& s) {
    return std::to_string(engine->start_live_drill(s.name, s.plan, s.participants, "drill").value().id);
  }
  core::SimulatedClock clock;
  core::MetricsRegistry metrics;
  Recorder sender;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<TestStage> stage;
};

class DrillPlayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(config::write_starter_config(dir_.path()).has_value());
    ASSERT_TRUE(write_starter_scenarios(dir_.path()).has_value());
    auto cfg = config::load_config(dir_.path() / "tocsin.yaml");
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::make_shared<const config::Config>(std::move(*cfg));
  }
  Scenario scenario(const std::string& name) {
    auto s = load_scenario(dir_.path() / "scenarios" / (name + ".yaml"));
    EXPECT_TRUE(s.has_value()) << s.error().to_string();
    return s.value_or(Scenario{});
  }
  std::unique_ptr<Bench> bench(Timestamp start) {
    return std::make_unique<Bench>(dir_.path() / fmt::format("player-{}.db", benches_++), config_, start);
  }
  // Plays `s` on `b` in slices of `slice` (zero: in one go); returns the scorecard from the store.
  Scorecard play(Bench& b, const Scenario& s, Duration slice) {
    const std::string id = b.register_drill(s);
    DrillPlayer player(s, *config_, *b.engine, *b.stage, id);
    if (slice == Duration::zero()) {
      EXPECT_TRUE(player.play_until(player.end()).has_value());
    } else {
      for (Timestamp t = s.start + slice; !player.finished(); t += slice) {
        auto st = player.play_until(t);
        EXPECT_TRUE(st.has_value()) << st.error().to_string();
        if (!st) break;
      }
    }
    EXPECT_TRUE(player.finished());
    EXPECT_EQ(b.clock.now(), player.end());
    EXPECT_GT(player.samples(), 0u);
    EXPECT_GT(player.pages(), 0u);
    EXPECT_GT(player.responder_actions(), 0u);
    auto record = drill_record_from_store(*b.engine, *b.store, s, id, player.end());
    EXPECT_TRUE(record.has_value()) << record.error().to_string();
    return compute_scorecard(s, *config_, record.value_or(DrillRecord{}));
  }

  test_support::TempDir dir_;
  std::shared_ptr<const config::Config> config_;
  int benches_ = 0;
};

TEST_F(DrillPlayerTest, InOneGoItIsTheRunnerAndInSlicesItScoresTheSame) {
  for (const std::string name : {"system_crash", "data_breach", "network_attack"}) {
    SCOPED_TRACE(name);
    const Scenario s = scenario(name);
    auto store = store::sqlite::open_sqlite_store(dir_.path() / (name + "-runner.db"));
    ASSERT_TRUE(store.has_value());
    DrillOptions options;
    options.store = store->get();
    auto by_runner = run_drill(config_, s, options);
    ASSERT_TRUE(by_runner.has_value()) << by_runner.error().to_string();

    auto whole = bench(s.start);
    const Scorecard one_go = play(*whole, s, Duration::zero());
    ASSERT_TRUE(one_go.incident.has_value()) << render_text(one_go);
    EXPECT_EQ(render_json(one_go), render_json(by_runner->scorecard));

    // The demo's way: slices that fall anywhere, between and on the generator's ticks.
    for (Duration slice : {Duration(std::chrono::seconds(7)), Duration(std::chrono::seconds(30)),
                           Duration(std::chrono::minutes(13) + std::chrono::seconds(17))}) {
      SCOPED_TRACE(slice.count());
      auto sliced = bench(s.start);
      EXPECT_EQ(render_json(play(*sliced, s, slice)), render_json(one_go));
      // Every slice ends with the clock on its boundary, never past the drill's end.
      for (Timestamp t : sliced->stage->moves_) EXPECT_LE(t, s.start + s.duration);
    }
  }
}

TEST_F(DrillPlayerTest, TwoDrillsInOneStoreAreScoredApart) {
  Scenario first = scenario("system_crash");
  Scenario second = scenario("network_attack");
  second.start = first.start + first.duration;  // one after the other, as the demo plays them
  auto b = bench(first.start);
  const Scorecard a = play(*b, first, std::chrono::minutes(1));
  const Scorecard c = play(*b, second, std::chrono::minutes(1));
  ASSERT_TRUE(a.incident && c.incident);
  EXPECT_NE(*a.incident, *c.incident);
  EXPECT_EQ(a.incidents, 1);
  EXPECT_EQ(c.incidents, 1);
  EXPECT_EQ(a.other_incidents, 0);  // the second drill's incident is not the first's, nor the reverse
  EXPECT_EQ(c.other_incidents, 0);
  EXPECT_EQ(a.plan, "system_crash");
  EXPECT_EQ(c.plan, "network_attack");
  EXPECT_GE(a.score, 90) << render_text(a);
  EXPECT_GE(c.score, 90) << render_text(c);
  // Detection is measured on the drill's own alerts: the first drill's HighLoad alert is not the second's.
  ASSERT_TRUE(c.time_to_detect.has_value());
  EXPECT_LT(*c.time_to_detect, std::chrono::minutes(20));
}

TEST_F(DrillPlayerTest, AStageFailureStopsThePlayAndFinishedPlaysNoMore) {
  const Scenario s = scenario("system_crash");
  {
    auto b = bench(s.start);
    b->stage->fail_after = 3;
    DrillPlayer player(s, *config_, *b->engine, *b->stage, b->register_drill(s));
    auto st = player.play_until(player.end());
    ASSERT_FALSE(st.has_value());
    EXPECT_EQ(st.error().code(), core::ErrorCode::kUnavailable);
    EXPECT_FALSE(player.finished());
  }
  auto b = bench(s.start);
  DrillPlayer player(s, *config_, *b->engine, *b->stage, b->register_drill(s));
  // A time past the end is capped at it.
  ASSERT_TRUE(player.play_until(player.end() + std::chrono::hours(5)).has_value());
  EXPECT_TRUE(player.finished());
  EXPECT_EQ(b->clock.now(), player.end());
  const size_t steps = player.steps();
  const int settles = b->stage->settles_;
  ASSERT_TRUE(player.play_until(player.end() + std::chrono::hours(10)).has_value());
  EXPECT_EQ(player.steps(), steps);
  EXPECT_EQ(b->stage->settles_, settles);
  EXPECT_EQ(b->clock.now(), player.end());
}

}  // namespace
}  // namespace tocsin::drill
