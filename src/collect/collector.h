// Pull collection: scrapes the `scrape:` targets (Prometheus text exposition) and runs the uptime
// `probes:` (HTTP status and body match, TCP connect, TLS certificate days left), turning each
// result into samples for the same path pushed samples take.
//
// Series produced, like Prometheus and its blackbox exporter:
//   scrape: every scraped series with job="…" and instance="host:port" added, plus
//           up, scrape_duration_seconds, scrape_samples_scraped
//   probes: probe_success, probe_duration_seconds, probe_http_status_code (HTTP),
//           probe_tls_days_left (https) — all with probe="name" (and instance="target")
//
// Scheduling is a step function: run_due(now) performs what is due and returns when it next has
// work; the owner calls it again then (with a SystemClock or a SimulatedClock). Each target is
// first due at a stable offset within its interval (spread by a hash of its name), so many
// targets do not fire at once.
// Thread-safety: not thread-safe; one thread runs it. Fetches block that thread up to their
// timeout.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/sample.h"

namespace tocsin::collect {

// What a fetch saw; the collector turns it into samples.
struct HttpResult {
  bool ok = false;  // a response arrived
  int status = 0;
  std::string body;
  std::string error;
  std::optional<core::Timestamp> tls_not_after;  // for https: when the server certificate expires
};

// The network seam: tests may substitute it, the server uses the libcurl/POSIX implementation.
class Fetcher {
 public:
  virtual ~Fetcher() = default;
  virtual HttpResult http_get(const std::string& url, core::Duration timeout) = 0;
  // Empty on success, else why the connection failed.
  virtual std::string tcp_connect(const std::string& host_port, core::Duration timeout) = 0;
};

std::unique_ptr<Fetcher> make_network_fetcher();
// Reads "Expire date: Jan 18 23:59:59 2030 GMT" (a CURLINFO_CERTINFO line); empty otherwise.
std::optional<core::Timestamp> parse_cert_expiry(const char* line);

using SampleSink = std::function<void(std::vector<core::Sample>)>;

class Collector {
 public:
  Collector(std::shared_ptr<const config::Config> config, core::Clock& clock, Fetcher& fetcher, SampleSink sink);

  // Runs every scrape and probe due at `now`; returns the next time one is due (empty when the
  // config has none).
  std::optional<core::Timestamp> run_due(core::Timestamp now);

  // Several replicas (docs/high-availability.md, "Detection across replicas"): a scrape target or
  // probe is run only by the replica `owns` names for its key (a 64-bit hash of the job and
  // target, or of the probe's name), asked each time it falls due, so that N replicas do not
  // scrape it N times and ownership follows the membership. Unset: every target is ours.
  using OwnerCheck = std::function<bool(uint64_t key)>;
  void set_owner_check(OwnerCheck owns) { owns_ = std::move(owns); }
  // The key of a scrape target (job and target) or of a probe (its name).
  static uint64_t target_key(std::string_view job, std::string_view target);

 private:
  struct Job {
    bool is_probe = false;
    size_t index = 0;      // into config scrape / probes
    std::string target;    // scrape: host:port
    core::Duration interval{};
    std::optional<core::Timestamp> next;
    uint64_t key = 0;  // target_key
  };
  void scrape(const config::ScrapeConfig& sc, const std::string& target, core::Timestamp now);
  void probe(const config::ProbeConfig& pc, core::Timestamp now);

  std::shared_ptr<const config::Config> config_;
  core::Clock& clock_;
  Fetcher& fetcher_;
  SampleSink sink_;
  OwnerCheck owns_;
  std::vector<Job> jobs_;
};

}  // namespace tocsin::collect
