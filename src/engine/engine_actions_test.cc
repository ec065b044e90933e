// Scenario tests of step actions through the whole engine: a real config, a real SQLite store in
// a temp dir, a simulated clock, and the real executor against a real local receiver. An alert
// opens an incident whose plan has an approval-gated webhook; approving it runs it; a crash in
// the middle of an attempt makes it run again after a restart with the same Idempotency-Key.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "action/system_executor.h"
#include "config/loader.h"
#include "core/simulated_clock.h"
#include "engine/engine.h"
#include "engine/test_run_until.h"
#include "http/http.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::engine {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const core::Timestamp kStart = core::parse_rfc3339("2026-03-02T08:00:00Z").value();

// Records every request; `on_request` (optional) runs first, on the server's thread.
class Receiver {
 public:
  Receiver() {
    server_ = http::Server::start({.listen = "127.0.0.1:0"}, [this](const http::Request& r) {
                if (on_request) on_request(r);
                std::lock_guard lock(mu_);
                requests_.push_back(r);
                return http::Response::json(200, R"({"done": true})");
              }).value();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", server_->port()); }
  std::vector<http::Request> requests(std::string_view path) {
    std::lock_guard lock(mu_);
    std::vector<http::Request> out;
    for (const auto& r : requests_) {
      if (r.path == path) out.push_back(r);
    }
    return out;
  }
  std::function<void(const http::Request&)> on_request;

 private:
  std::mutex mu_;
  std::vector<http::Request> requests_;
  std::unique_ptr<http::Server> server_;
};

// A store that stops committing once crashed: every later write fails and changes nothing, as if
// the process had died at that moment.
class CrashingStore final : public store::Store {
 public:
  explicit CrashingStore(store::Store& inner) : inner_(inner) {}
  core::Status write(const std::function<core::Status(store::Tx&)>& fn) override {
    if (crashed) return std::unexpected(core::Error::unavailable("the process died"));
    return inner_.write(fn);
  }
  core::Status read(const std::function<core::Status(store::Tx&)>& fn) override { return inner_.read(fn); }
  int schema_version() override { return inner_.schema_version(); }
  std::atomic<bool> crashed{false};

 private:
  store::Store& inner_;
};

std::string config_yaml(const std::string& hook, bool approve) {
  return fmt::format(R"(
people:
  - {{id: alice}}
rules:
  - name: HighLoad
    select: 'system_load{{service="api"}}'
    detector: {{kind: threshold, above: 0.9}}
    labels: {{incident_type: system_crash}}
plans:
  - id: system_crash
    title: System crash
    match: ['incident_type="system_crash"']
    roles: {{operations: "person:alice"}}
    steps:
      - {{id: triage, title: Find the failing part, owner: operations, due: 15m}}
      - id: failover
        title: Switch traffic to the backup server
        owner: operations
        due: 20m
        action:
          type: webhook
          url: "{0}/failover/{{{{ .Labels.service }}}}"
          approve: {1}
          timeout: 5s
)",
                     hook, approve);
}

class EngineActionsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    engine_.reset();
    store_.reset();
  }

  void start(const std::string& yaml) {
    auto cfg = config::load_config_string(yaml, "test.yaml", dir_.path());
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::make_shared<const config::Config>(std::move(*cfg));
    restart();
  }
  // A fresh engine on the same store file, as after a crash; `crashable` puts a CrashingStore in
  // front of it.
  void restart(bool crashable = false) {
    engine_.reset();
    crashing_.reset();
    store_.reset();
    store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value();
    if (crashable) crashing_ = std::make_unique<CrashingStore>(*store_);
    EngineOptions options;
    options.config = config_;
    options.store = crashing_ ? static_cast<store::Store*>(crashing_.get()) : store_.get();
    options.clock = &clock_;
    options.metrics = &metrics_;
    options.external_url = "http://tocsin.test";
    options.action_executor = &executor_;
    auto engine = Engine::create(std::move(options));
    ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
    engine_ = std::move(*engine);
  }

  int64_t open_incident() {
    core::Sample s{core::Labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", "h1"}}, 0.95,
                   clock_.now()};
    auto r = engine_->ingest({s});
    EXPECT_TRUE(r.has_value());
    EXPECT_EQ(r->incidents_opened.size(), 1u);
    return r->incidents_opened.empty() ? 0 : r->incidents_opened.front();
  }

  void run_until(core::Timestamp t) { engine::run_until(*engine_, clock_, t); }

  static std::vector<std::string> action_kinds(const store::Incident& inc) {
    std::vector<std::string> out;
    for (const auto& e : inc.timeline) {
      if (e.kind.starts_with("action_")) out.push_back(e.kind);
    }
    return out;
  }

  test_support::TempDir dir_;
  core::SimulatedClock clock_{kStart};
  core::MetricsRegistry metrics_;
  action::SystemExecutor executor_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CrashingStore> crashing_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineActionsTest, AnApprovalGatedActionRunsOnceApprovedAndShowsOnTheIncident) {
  Receiver receiver;
  start(config_yaml(receiver.url(), true));
  const int64_t id = open_incident();
  run_until(kStart + minutes(5));
  EXPECT_TRUE(receiver.requests("/failover/api").empty()) << "ran without approval";
  auto inc = engine_->get_incident(id).value();
  ASSERT_EQ(inc.actions.size(), 1u);
  EXPECT_EQ(inc.actions[0].step, "failover");
  EXPECT_EQ(inc.actions[0].state, store::ActionState::kAwaitingApproval);
  EXPECT_EQ(action_kinds(inc), std::vector<std::string>{"action_awaiting_approval"});

  bool woken = false;
  engine_->set_on_wake([&] { woken = true; });
  auto approved = engine_->approve_action(id, "failover", "alice");
  ASSERT_TRUE(approved.has_value()) << approved.error().to_string();
  EXPECT_TRUE(woken) << "the driver must look again: the run is due now";
  EXPECT_EQ(engine_->approve_action(id, "failover", "bob").error().code(), core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(engine_->approve_action(id, "triage", "bob").error().code(), core::ErrorCode::kNotFound);

  run_until(kStart + minutes(5));
  const auto requests = receiver.requests("/failover/api");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("idempotency-key"), fmt::format("tocsin-{}-failover", id));
  inc = engine_->get_incident(id).value();
  EXPECT_EQ(inc.actions[0].state, store::ActionState::kSucceeded);
  EXPECT_EQ(inc.actions[0].approved_by, "alice");
  EXPECT_EQ(inc.actions[0].last_output, R"({"done": true})");
  EXPECT_EQ(action_kinds(inc), (std::vector<std::string>{"action_awaiting_approval", "action_approved",
                                                         "action_started", "action_succeeded"}));
  run_until(kStart + minutes(30));
  EXPECT_EQ(receiver.requests("/failover/api").size(), 1u) << "a succeeded action does not run again";
}

TEST_F(EngineActionsTest, ACrashDuringAnAttemptRunsItAgainWithTheSameIdempotencyKey) {
  Receiver receiver;
  start(config_yaml(receiver.url(), false));
  restart(/*crashable=*/true);
  // The process "dies" while the receiver is handling the first attempt: the outcome is never recorded.
  receiver.on_request = [this](const http::Request&) { crashing_->crashed = true; };
  const int64_t id = open_incident();
  EXPECT_FALSE(engine_->run_due().has_value());
  ASSERT_EQ(receiver.requests("/failover/api").size(), 1u);
  ASSERT_TRUE(store_
                  ->read([&](store::Tx& tx) -> core::Status {
                    auto run = TOCSIN_TRY(tx.get_action_run(id, "failover"));
                    EXPECT_EQ(run->state, store::ActionState::kRunning);
                    EXPECT_EQ(run->attempts, 1);
                    return {};
                  })
                  .has_value());

  receiver.on_request = nullptr;
  clock_.advance(seconds(5));
  restart();
  run_until(kStart + minutes(1));
  const auto requests = receiver.requests("/failover/api");
  ASSERT_EQ(requests.size(), 2u) << "at least once: the interrupted attempt runs again";
  EXPECT_EQ(requests[0].header("idempotency-key"), fmt::format("tocsin-{}-failover", id));
  EXPECT_EQ(requests[1].header("idempotency-key"), requests[0].header("idempotency-key"));
  EXPECT_EQ(requests[1].body, requests[0].body);
  const auto inc = engine_->get_incident(id).value();
  EXPECT_EQ(inc.actions[0].state, store::ActionState::kSucceeded);
  EXPECT_EQ(inc.actions[0].attempts, 2);
  EXPECT_EQ(action_kinds(inc),
            (std::vector<std::string>{"action_started", "action_interrupted", "action_started", "action_succeeded"}));
  run_until(kStart + minutes(30));
  EXPECT_EQ(receiver.requests("/failover/api").size(), 2u);
}

TEST_F(EngineActionsTest, ABrokenActionTemplateStopsTheEngineFromStarting) {
  auto cfg = config::load_config_string(R"(plans:
  - id: system_crash
    steps:
      - {id: failover, title: F, action: {type: webhook, url: "http://lb/{{ .Labels.service"}}
)",
                                        "test.yaml", dir_.path());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
  store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value();
  EngineOptions options;
  options.config = std::make_shared<const config::Config>(std::move(*cfg));
  options.store = store_.get();
  options.clock = &clock_;
  options.metrics = &metrics_;
  auto engine = Engine::create(std::move(options));
  ASSERT_FALSE(engine.has_value());
  EXPECT_EQ(engine.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(engine.error().field(), "plans[0].steps[0].action.url");
  EXPECT_TRUE(engine.error().message().starts_with("plan system_crash, step failover: bad template in action.url"))
      << engine.error().to_string();
}

}  // namespace
}  // namespace tocsin::engine
