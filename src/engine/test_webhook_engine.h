// For the engine's tests: a real Engine over a SQLite store in a temporary directory, on a
// simulated clock, paging over HTTP to a local webhook Receiver — the fixture the response and
// drill tests share. A test class derives from it, passes its start time and calls
// start_engine() with its config.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "alerting/alert.h"
#include "config/loader.h"
#include "core/simulated_clock.h"
#include "engine/engine.h"
#include "engine/test_run_until.h"
#include "notify/webhook/http_sender.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support/temp_dir.h"
#include "test_support/webhook_receiver.h"

namespace tocsin::engine {

class WebhookEngineTest : public ::testing::Test {
 protected:
  explicit WebhookEngineTest(core::Timestamp start) : clock_(start) {}

  void start_engine(const std::string& yaml) {
    auto cfg = config::load_config_string(yaml, "t.yaml", dir_.path());
    ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
    config_ = std::make_shared<const config::Config>(std::move(*cfg));
    store_ = store::sqlite::open_sqlite_store(dir_.path() / "tocsin.db").value();
    EngineOptions options;
    options.config = config_;
    options.store = store_.get();
    options.clock = &clock_;
    options.metrics = &metrics_;
    options.senders = {{"webhook", &sender_}};
    options.external_url = "http://tocsin.test";
    engine_ = Engine::create(std::move(options)).value();
  }
  void run_until(core::Timestamp t) { engine::run_until(*engine_, clock_, t); }
  // Opens an incident from an alert received from outside — Exfiltration, incident_type
  // data_breach, on `instance` — and returns the newest incident's id (0 when none opened).
  int64_t open(std::string instance) {
    alerting::Alert a;
    a.labels = core::Labels{{"alertname", "Exfiltration"}, {"incident_type", "data_breach"}, {"instance", instance}};
    a.fingerprint = a.labels.fingerprint();
    a.active_at = clock_.now();
    a.updated_at = clock_.now();
    EXPECT_TRUE(engine_->receive_alerts({a}).has_value());
    auto list = engine_->list_incidents({}).value();
    return list.empty() ? 0 : list.front().id;
  }
  // How many pages the receiver got on `path`.
  int pages_to(std::string_view path) {
    auto p = receiver_.paths();
    return static_cast<int>(std::count(p.begin(), p.end(), path));
  }

  test_support::TempDir dir_;
  test_support::Receiver receiver_;
  core::SimulatedClock clock_;
  core::MetricsRegistry metrics_;
  notify::HttpSender sender_{clock_, std::chrono::seconds(5)};
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace tocsin::engine
