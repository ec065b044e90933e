// remote_write decoding alone (snappy + protobuf → series), the part of ingestion before the
// engine: requests shaped as bench/ingest's load (500 series × 10 samples) with short labels (that
// load's: every string fits std::string's inline buffer) and with node_exporter-like labels
// (longer names and values, as real senders send). Reports samples per second of one core.
//   build/bench/tocsin_ingest_decode_bench
// Instructions per sample, repeatable on a shared machine:
//   valgrind --tool=callgrind build/bench/tocsin_ingest_decode_bench --benchmark_filter=Reused/short
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cmath>
#include <random>

#include "ingest/remote_write.h"
#include "ingest/remote_write_encode.h"

namespace tocsin {
namespace {

constexpr int kSeriesPerRequest = 500;
constexpr int kPointsPerSeries = 10;

std::string make_body(bool long_labels) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise;
  std::vector<ingest::Series> series;
  for (int s = 0; s < kSeriesPerRequest; ++s) {
    core::Labels labels =
        long_labels
            ? core::Labels{{"__name__", fmt::format("node_network_receive_bytes_total_{}", s % 20)},
                           {"device", fmt::format("enp{}s0f1", s % 8)},
                           {"instance", fmt::format("ip-10-0-{}-{}.eu-west-1.compute.internal:9100", s / 100, s % 100)},
                           {"job", "node-exporter"}}
            : core::Labels{{"__name__", fmt::format("bench_metric_{}", s % 100)},
                           {"instance", fmt::format("host-{}", s / 100)},
                           {"job", "bench"}};
    ingest::Series one{std::move(labels), {}};
    for (int k = 0; k < kPointsPerSeries; ++k) {
      const double v = 50 + 5 * std::sin(k / 10.0 + s) + 0.5 * noise(rng);
      one.points.push_back({std::round(v * 1000) / 1000, core::from_unix_ms(1'700'000'000'000 + k * 15'000)});
    }
    series.push_back(std::move(one));
  }
  return ingest::encode_remote_write(series);
}

// A fresh result per request (what the HTTP handler did before it kept a decoder per thread).
void Fresh(benchmark::State& state, bool long_labels) {
  const std::string body = make_body(long_labels);
  for (auto _ : state) {
    auto decoded = ingest::snappy_decompress(body);
    auto series = ingest::decode_write_request(*decoded);
    if (!series || series->size() != kSeriesPerRequest) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(series);
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kSeriesPerRequest * kPointsPerSeries, benchmark::Counter::kIsRate);
}

// One decoder for every request, as each HTTP thread keeps one.
void Reused(benchmark::State& state, bool long_labels) {
  const std::string body = make_body(long_labels);
  ingest::RemoteWriteDecoder decoder;
  for (auto _ : state) {
    auto series = decoder.decode(body);
    if (!series || (*series)->size() != kSeriesPerRequest) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(series);
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * kSeriesPerRequest * kPointsPerSeries, benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(Fresh, short, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Reused, short, false)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Fresh, long, true)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Reused, long, true)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tocsin

BENCHMARK_MAIN();
