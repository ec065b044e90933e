// Detectors alone: SeriesDetector::update per sample, without the series store, the rule engine or
// HTTP. 500 series, each fed 10 samples in a row per round (as a remote_write batch arrives), of
// the ingest benchmark's gauge (a per-series level, a slow sine and 1 % noise) at a sample step of
// 1 s, 15 s or 5 min; each series is warmed up with 2,000 samples first (12,000 at 15 s in
// `auto_2days`). Measured, not asserted (docs/detection.md):
//   ninja -C build tocsin_detector_bench && build/bench/tocsin_detector_bench
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/time.h"
#include "detect/detector.h"

namespace tocsin::detect {
namespace {

constexpr int kSeries = 500;
constexpr int kPerRound = 10;

// `warmup`: samples each series is fed before the clock starts. 2,000 leaves a series younger than
// a day at 1 s and 15 s (no daily pattern used yet); 12,000 at 15 s is 2.1 days, a series whose
// daily buckets forecast every sample, as most series of a running server do.
void Update(benchmark::State& state, const std::string& kind, int warmup) {
  const int64_t step_ms = state.range(0) * 1000;
  config::DetectorConfig config;
  config.kind = kind;
  config.pos = {"bench.yaml", 1, 1};
  auto spec = DetectorRegistry::builtin().create(config);
  if (!spec) {
    state.SkipWithError(spec.error().to_string().c_str());
    return;
  }
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0, 1);
  std::uniform_real_distribution<double> uni(0, 1);
  std::vector<std::unique_ptr<SeriesDetector>> detectors;
  std::vector<double> level(kSeries), amp(kSeries), period(kSeries), phase(kSeries);
  for (size_t i = 0; i < kSeries; ++i) {
    detectors.push_back((*spec)->make());
    level[i] = 10 + 90 * uni(rng);
    amp[i] = level[i] * 0.1 * uni(rng);
    period[i] = 600 + 3000 * uni(rng);  // seconds
    phase[i] = 2 * std::numbers::pi * uni(rng);
  }
  int64_t t = 1'700'000'000'000;
  std::vector<double> values(kSeries * kPerRound);
  auto fill = [&] {
    for (size_t i = 0; i < kSeries; ++i) {
      for (size_t k = 0; k < kPerRound; ++k) {
        const double s = static_cast<double>(t + static_cast<int64_t>(k) * step_ms) / 1000;
        values[i * kPerRound + k] = level[i] + amp[i] * std::sin(2 * std::numbers::pi * s / period[i] + phase[i]) +
                                    0.01 * level[i] * noise(rng);
      }
    }
  };
  double sink = 0;
  auto round = [&] {
    for (size_t i = 0; i < kSeries; ++i) {
      for (size_t k = 0; k < kPerRound; ++k) {
        const auto ts = core::from_unix_ms(t + static_cast<int64_t>(k) * step_ms);
        sink += detectors[i]->update(ts, values[i * kPerRound + k]).score;
      }
    }
    t += kPerRound * step_ms;
  };
  for (int r = 0; r < warmup / kPerRound; ++r) {
    fill();
    round();
  }
  uint64_t samples = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fill();
    state.ResumeTiming();
    round();
    samples += kSeries * kPerRound;
  }
  benchmark::DoNotOptimize(sink);
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  state.counters["samples"] = static_cast<double>(samples);
}

BENCHMARK_CAPTURE(Update, auto, std::string("auto"), 2000) -> Arg(1) -> Arg(15) -> Arg(300);
BENCHMARK_CAPTURE(Update, auto_2days, std::string("auto"), 12000)->Arg(15);
BENCHMARK_CAPTURE(Update, seasonal, std::string("seasonal"), 2000)->Arg(1)->Arg(15)->Arg(300);
BENCHMARK_CAPTURE(Update, sigma, std::string("sigma"), 2000)->Arg(15);

}  // namespace
}  // namespace tocsin::detect

BENCHMARK_MAIN();
