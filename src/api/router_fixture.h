// Test fixture for the API layer: a real Router over a real Engine — SQLite in a temporary
// directory, a simulated clock (at 2026-12-04T10:00:00Z unless the test class says), one metrics registry — so route tests
// drive the same code as `tocsin serve`. A test class derives from it and calls start(config) in
// SetUp (or in the test, to change the config first).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/router.h"
#include "config/loader.h"
#include "core/simulated_clock.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"

namespace tocsin::api {

// The /api/v1/clock routes over a test's simulated clock (what `tocsin serve --simulated-clock`
// provides); records every time it was asked to move.
class SimulatedClockControl final : public ClockControl {
 public:
  explicit SimulatedClockControl(core::SimulatedClock& clock) : clock_(clock) {}
  core::Timestamp now() const override { return clock_.now(); }
  core::Result<core::Timestamp> advance_to(core::Timestamp to) override {
    asked.push_back(to);
    clock_.advance_to(to);
    return clock_.now();
  }
  std::vector<core::Timestamp> asked;

 private:
  core::SimulatedClock& clock_;
};

struct RouterFixtureOptions {
  ClockControl* clock_control = nullptr;  // the /api/v1/clock routes answer 404 without one
  std::string ack_key;                    // empty: /api/v1/ack/ answers 404
};

class RouterFixture : public ::testing::Test {
 protected:
  explicit RouterFixture(core::Timestamp start = core::parse_rfc3339("2026-12-04T10:00:00Z").value()) : clock_(start) {}

  // Loads `config_yaml` (relative paths resolve in dir_), opens the store and the engine, and
  // builds the router. Fails the test on a bad config.
  // With `tokens`, auth is on (sessions in the test's store).
  void start(std::string_view config_yaml, RouterFixtureOptions options = {}, auth::TokenTable tokens = {}) {
    auto cfg = config::load_config_string(std::string(config_yaml), "t.yaml", dir_.path());
    ASSERT_TRUE(cfg) << cfg.error().to_string();
    config_ = std::make_shared<const config::Config>(std::move(*cfg));
    store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value();
    engine::EngineOptions engine_options;
    engine_options.config = config_;
    engine_options.store = store_.get();
    engine_options.clock = &clock_;
    engine_options.metrics = &metrics_;
    engine_options.external_url = "http://t";
    engine_ = engine::Engine::create(std::move(engine_options)).value();
    router_ = std::make_unique<Router>(
        *engine_, metrics_, clock_, [] { return true; }, options.clock_control, std::move(options.ack_key));
    router_->set_auth(std::move(tokens), store_.get());
  }

  // Drops the router, engine and store (the files stay): with start() again, a restart.
  void stop() {
    router_.reset();
    engine_.reset();
    store_.reset();
  }

  // One request as the HTTP server hands it over; a `?query` in `target` is parsed too.
  http::Response call(std::string method, std::string target, std::string body = "",
                      std::map<std::string, std::string> query = {}, std::map<std::string, std::string> headers = {}) {
    http::Request r;
    r.method = std::move(method);
    r.target = target;
    const size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) query.merge(http::parse_query(target.substr(q + 1)));
    r.query = std::move(query);
    r.headers = std::move(headers);
    r.body = std::move(body);
    r.remote = remote_;
    return router_->handle(r);
  }
  nlohmann::json call_json(std::string method, std::string target, std::string body = "") {
    return nlohmann::json::parse(call(std::move(method), std::move(target), std::move(body)).body);
  }

  test_support::TempDir dir_;
  core::SimulatedClock clock_;
  core::MetricsRegistry metrics_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<Router> router_;
  std::string remote_;  // the peer address requests come from ("" unless a test sets it)
};

}  // namespace tocsin::api
