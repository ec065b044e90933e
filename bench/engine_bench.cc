// The ingest hot path without HTTP: batches of remote_write-shaped series through the engine
// (series store append + rule evaluation with a detector on every series), on a simulated clock
// and a real SQLite store. Reports samples per second of one core, in the steady state: every
// series already exists and its rules are matched (one untimed round first).
//   build/bench/tocsin_engine_bench --benchmark_filter=Ingest
// The `_logged` variants run with the sample log on, as the server does.
// Instructions per sample, repeatable on a shared machine (one iteration = 100,000 samples):
//   valgrind --tool=callgrind --toggle-collect='tocsin::(anonymous namespace)::ingest_request*'
//            build/bench/tocsin_engine_bench --benchmark_filter=Ingest/threshold/ --benchmark_min_time=0.01
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>

#include "config/loader.h"
#include "core/simulated_clock.h"
#include "engine/engine.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin {
namespace {

// Out of line so that callgrind's --toggle-collect can count exactly the timed ingestion.
[[gnu::noinline]] uint64_t ingest_request(engine::Engine& engine, const std::vector<ingest::Series>& request,
                                          benchmark::State& state) {
  auto r = engine.ingest(request);
  if (!r) {
    state.SkipWithError(r.error().to_string().c_str());
    return 0;
  }
  return r->accepted;
}

// `sample_log`: with the engine's sample log on (each request logged with one write(2), as the
// server runs it; no fsync, which the server does once a second on another thread).
void Ingest(benchmark::State& state, const std::string& detector, bool sample_log) {
  const int series_count = static_cast<int>(state.range(0));
  constexpr int kSeriesPerRequest = 500;
  constexpr int kPointsPerSeries = 10;
  std::string dir = (std::filesystem::temp_directory_path() / "tocsin-bench-XXXXXX").string();
  if (!mkdtemp(dir.data())) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string yaml = fmt::format(R"(
rules:
  - name: Everything
    select: '{{__name__=~"node_.*"}}'
    detector: {}
    flap_window: 0s
)",
                                       detector);
  auto cfg = std::make_shared<const config::Config>(config::load_config_string(yaml, "bench.yaml", dir).value());
  auto store = store::sqlite::open_sqlite_store(std::filesystem::path(dir) / "tocsin.db").value();
  core::SimulatedClock clock(core::from_unix_ms(1'700'000'000'000));
  core::MetricsRegistry metrics;
  engine::EngineOptions options;
  options.config = cfg;
  options.store = store.get();
  options.clock = &clock;
  options.metrics = &metrics;
  if (sample_log) {
    options.state_file = std::filesystem::path(dir) / "rules.state";
    options.series_file = std::filesystem::path(dir) / "series.snapshot";
    options.sample_log_dir = std::filesystem::path(dir) / "sample-log";
  }
  auto engine = engine::Engine::create(std::move(options)).value();

  // Requests of 500 series × 10 points, as a Prometheus remote_write sender batches them.
  std::vector<std::vector<ingest::Series>> requests(static_cast<size_t>(series_count / kSeriesPerRequest));
  for (size_t r = 0; r < requests.size(); ++r) {
    for (int i = 0; i < kSeriesPerRequest; ++i) {
      const int id = static_cast<int>(r) * kSeriesPerRequest + i;
      requests[r].push_back({core::Labels{{"__name__", "node_load1"}, {"instance", fmt::format("host-{}", id / 100)},
                                          {"cpu", fmt::format("{}", id % 100)}},
                             {}});
    }
  }
  int64_t t = 1'700'000'000'000;
  auto fill = [&] {
    for (auto& request : requests) {
      for (size_t i = 0; i < request.size(); ++i) {
        request[i].points.clear();
        for (int k = 0; k < kPointsPerSeries; ++k) {
          const double v = 50 + 5 * std::sin(static_cast<double>(t / 1000 + k) / 300.0 + static_cast<double>(i));
          request[i].points.push_back({v, core::from_unix_ms(t + k * 15'000)});
        }
      }
    }
    t += kPointsPerSeries * 15'000;
  };
  // Untimed first round: series creation and rule matching happen once per series, not per sample.
  fill();
  for (const auto& request : requests) {
    if (!engine->ingest(request)) {
      state.SkipWithError("warm-up ingest failed");
      return;
    }
  }
  uint64_t samples = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fill();
    state.ResumeTiming();
    for (const auto& request : requests) samples += ingest_request(*engine, request, state);
  }
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  engine.reset();
  std::filesystem::remove_all(dir);
}

BENCHMARK_CAPTURE(Ingest, threshold, std::string("{kind: threshold, above: 1000}"), false)->Arg(10'000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Ingest, sigma, std::string("{kind: sigma, n: 4, window: 1h}"), false)->Arg(10'000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Ingest, auto, std::string("{kind: auto}"), false)->Arg(10'000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Ingest, threshold_logged, std::string("{kind: threshold, above: 1000}"), true)->Arg(10'000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Ingest, auto_logged, std::string("{kind: auto}"), true)->Arg(10'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tocsin

BENCHMARK_MAIN();
