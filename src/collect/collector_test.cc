// The collector against real local HTTP targets and TCP ports, on a simulated clock.
#include "collect/collector.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <mutex>

#include "config/loader.h"
#include "core/simulated_clock.h"
#include "http/http.h"
#include "test_support/temp_dir.h"

namespace tocsin::collect {
namespace {

using std::chrono::seconds;

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    target_ = http::Server::start({.listen = "127.0.0.1:0"}, [this](const http::Request& r) {
      std::lock_guard lock(mu_);
      ++hits_;
      if (r.path == "/metrics") {
        return http::Response::text(200, "# TYPE node_load1 gauge\nnode_load1{cpu=\"all\",job=\"spoof\"} 0.75\nnode_up 1\n");
      }
      if (r.path == "/healthz") return http::Response::text(200, "all good");
      return http::Response::error(503, "down");
    }).value();
    fetcher_ = make_network_fetcher();
  }

  void load(const std::string& yaml) {
    config_ = std::make_shared<const config::Config>(config::load_config_string(yaml, "t.yaml", dir_.path()).value());
    collector_ = std::make_unique<Collector>(config_, clock_, *fetcher_, [this](std::vector<core::Sample> s) {
      samples_.insert(samples_.end(), s.begin(), s.end());
    });
  }
  std::string target() const { return fmt::format("127.0.0.1:{}", target_->port()); }
  const core::Sample* find(std::string_view name, std::string_view label = {}, std::string_view value = {}) const {
    for (const auto& s : samples_) {
      if (s.labels.get_or("__name__", "") == name && (label.empty() || s.labels.get_or(label, "") == value)) return &s;
    }
    return nullptr;
  }

  test_support::TempDir dir_;
  core::SimulatedClock clock_{core::parse_rfc3339("2026-12-04T10:00:00Z").value()};
  std::mutex mu_;
  int hits_ = 0;
  std::unique_ptr<http::Server> target_;
  std::unique_ptr<Fetcher> fetcher_;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<Collector> collector_;
  std::vector<core::Sample> samples_;
};

TEST_F(CollectorTest, ScrapesTargetsWithUpAndTargetLabels) {
  load(fmt::format("scrape:\n  - {{job: node, interval: 15s, timeout: 5s, targets: [\"{}\", \"127.0.0.1:1\"]}}\n",
                   target()));
  auto next = collector_->run_due(clock_.now());
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, clock_.now() - seconds(1));
  EXPECT_LE(*next, clock_.now() + seconds(15)) << "first scrape within one interval";
  clock_.advance_to(clock_.now() + seconds(15));
  collector_->run_due(clock_.now());
  const core::Sample* load1 = find("node_load1");
  ASSERT_NE(load1, nullptr);
  EXPECT_EQ(load1->labels.get_or("job", ""), "node") << "target labels win";
  EXPECT_EQ(load1->labels.get_or("instance", ""), target());
  EXPECT_EQ(load1->labels.get_or("cpu", ""), "all");
  EXPECT_DOUBLE_EQ(load1->value, 0.75);
  EXPECT_EQ(find("up", "instance", target())->value, 1);
  EXPECT_EQ(find("scrape_samples_scraped", "instance", target())->value, 2);
  EXPECT_NE(find("scrape_duration_seconds", "instance", target()), nullptr);
  EXPECT_EQ(find("up", "instance", "127.0.0.1:1")->value, 0) << "a dead target is up 0";
}

TEST_F(CollectorTest, HttpAndTcpProbes) {
  load(fmt::format(R"(probes:
  - {{name: home, http: "http://{0}/healthz", interval: 30s, timeout: 2s, body_match: "good"}}
  - {{name: wrongbody, http: "http://{0}/healthz", interval: 30s, body_match: "^bad"}}
  - {{name: down, http: "http://{0}/missing", interval: 30s}}
  - {{name: expect503, http: "http://{0}/missing", interval: 30s, expect_status: 503}}
  - {{name: port, tcp: "{0}", interval: 30s}}
  - {{name: closed, tcp: "127.0.0.1:1", interval: 30s, timeout: 1s}}
)",
                   target()));
  collector_->run_due(clock_.now());
  clock_.advance(seconds(30));
  collector_->run_due(clock_.now());
  EXPECT_EQ(find("probe_success", "probe", "home")->value, 1);
  EXPECT_EQ(find("probe_http_status_code", "probe", "home")->value, 200);
  EXPECT_EQ(find("probe_success", "probe", "wrongbody")->value, 0);
  EXPECT_EQ(find("probe_success", "probe", "down")->value, 0);
  EXPECT_EQ(find("probe_http_status_code", "probe", "down")->value, 503);
  EXPECT_EQ(find("probe_success", "probe", "expect503")->value, 1);
  EXPECT_EQ(find("probe_success", "probe", "port")->value, 1);
  EXPECT_EQ(find("probe_success", "probe", "closed")->value, 0);
  EXPECT_NE(find("probe_duration_seconds", "probe", "closed"), nullptr);
}

TEST_F(CollectorTest, KeepsItsScheduleAndSpreadsTargets) {
  load(fmt::format("scrape:\n  - {{job: a, interval: 10s, targets: [\"{}\"]}}\n", target()));
  auto first = collector_->run_due(clock_.now()).value();
  clock_.advance_to(first);
  auto second = collector_->run_due(clock_.now()).value();
  EXPECT_EQ(second - first, seconds(10));
  EXPECT_EQ(hits_, 1);
  // Nothing is due in between.
  clock_.advance(seconds(5));
  EXPECT_EQ(collector_->run_due(clock_.now()).value(), second);
  EXPECT_EQ(hits_, 1);
}

// Several replicas: a target is scraped only by the replica that owns its key, asked at each slot.
TEST_F(CollectorTest, ATargetAnotherReplicaOwnsIsNotScraped) {
  load(fmt::format("scrape:\n  - {{job: a, interval: 10s, targets: [\"{}\"]}}\n", target()));
  bool ours = false;
  uint64_t asked = 0;
  collector_->set_owner_check([&](uint64_t key) {
    asked = key;
    return ours;
  });
  auto first = collector_->run_due(clock_.now()).value();
  clock_.advance_to(first);
  auto second = collector_->run_due(clock_.now()).value();
  EXPECT_EQ(second - first, seconds(10));  // the schedule goes on
  EXPECT_EQ(hits_, 0);
  EXPECT_TRUE(samples_.empty());
  EXPECT_EQ(asked, Collector::target_key("a", target()));
  ours = true;  // the view changed: ours from the next slot
  clock_.advance_to(second);
  collector_->run_due(clock_.now());
  EXPECT_EQ(hits_, 1);
  EXPECT_NE(find("up"), nullptr);
}

TEST(CertExpiry, ParsesCurlCertinfo) {
  EXPECT_EQ(parse_cert_expiry("Expire date: Jan 18 23:59:59 2030 GMT"),
            core::parse_rfc3339("2030-01-18T23:59:59Z").value());
  EXPECT_FALSE(parse_cert_expiry("Start date: Jan 18 23:59:59 2020 GMT").has_value());
  EXPECT_FALSE(parse_cert_expiry("Expire date: someday").has_value());
}

}  // namespace
}  // namespace tocsin::collect
