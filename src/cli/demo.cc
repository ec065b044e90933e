// `tocsin demo`: the starter config running on the embedded store, a simulated service whose
// load crosses the HighLoad rule every few minutes, and a local pager that prints the pages it
// receives — so the whole loop runs by itself and can be watched through the API.
#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <mutex>

#include "cli/commands.h"
#include "config/starter.h"
#include "core/clock.h"
#include "core/log.h"
#include "http/http.h"
#include "server/server.h"

namespace tocsin::cli {
namespace {

// The simulated service: normal load for 40 s, then 100 s above the 0.9 threshold (longer than
// the rule's `for: 1m`), then normal again; a five-minute cycle.
double simulated_load(int64_t second) {
  const int64_t phase = second % 300;
  const double wobble = 0.03 * std::sin(static_cast<double>(second) / 7.0);
  return (phase >= 40 && phase < 140) ? 0.96 + wobble : 0.45 + wobble;
}

}  // namespace

int run_demo(double speed, const std::string& listen, const std::string& dir) {
  if (speed != 1.0) {
    fmt::print(stderr, "tocsin demo: --speed other than 1 is not implemented yet\n");
    return 2;
  }
  const std::filesystem::path config = std::filesystem::path(dir) / "tocsin.yaml";
  if (!std::filesystem::exists(config)) {
    if (auto st = config::write_starter_config(dir); !st) {
      fmt::print(stderr, "tocsin demo: {}\n", st.error().to_string());
      return 1;
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // show progress line by line even when piped
  server::block_shutdown_signals();

  // The starter config pages people and channels at 127.0.0.1:9000; answer there and print.
  std::mutex print_mu;
  auto pager = http::Server::start({.listen = "127.0.0.1:9000"}, [&](const http::Request& r) {
    std::lock_guard lock(print_mu);
    fmt::print("\n📟 page received at {}: {}\n", r.path, r.body.substr(0, 300));
    return http::Response::json(200, "{}");
  });
  if (!pager) fmt::print(stderr, "demo pager not started ({}); pages will be retried\n", pager.error().message());

  auto runtime = server::Runtime::start({config, listen, std::nullopt});
  if (!runtime) {
    fmt::print(stderr, "tocsin demo: {}\n", runtime.error().to_string());
    return 1;
  }
  const std::string url = (*runtime)->base_url();
  fmt::print("tocsin demo running at {} with the starter config in {}\n"
             "A simulated service pushes system_load{{service=\"api\"}} every second; it crosses the HighLoad rule\n"
             "(above 0.9 for 1m) 40 s in, so an incident opens after about 100 s and pages the on-call person.\n"
             "Watch:   tocsin incident list --server {}\n"
             "         curl -s {}/api/v1/incidents\n"
             "Ctrl-C stops the demo.\n",
             url, dir, url, url);

  core::SystemClock clock;
  std::atomic<int64_t> second{0};
  std::function<void()> tick;
  tick = [&] {
    const int64_t s = second++;
    const double load = simulated_load(s);
    const core::Sample sample{core::Labels{{"__name__", "system_load"}, {"service", "api"}, {"instance", "api-1"}},
                              load, clock.now()};
    if (auto st = (*runtime)->ingest({sample}); !st) {
      core::log::warn("demo sample not ingested", {{"error", st.error().to_string()}});
    }
    if (s % 20 == 0) {
      std::lock_guard lock(print_mu);
      fmt::print("t={:>4}s  system_load{{service=\"api\"}} = {:.2f}{}\n", s, load, load > 0.9 ? "  (above 0.9)" : "");
    }
    clock.schedule_after(std::chrono::seconds(1), tick);
  };
  clock.schedule_after(std::chrono::milliseconds(0), tick);
  server::wait_for_shutdown_signal();
  fmt::print("\nstopping the demo\n");
  (*runtime)->stop();
  if (pager) (*pager)->stop(std::chrono::seconds(1));
  return 0;
}

}  // namespace tocsin::cli
