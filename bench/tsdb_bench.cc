// Series store benchmarks: append throughput and bytes per sample on node-exporter-like series,
// interning, select latency, window reads with rate(), snapshot and load. Measured, not asserted;
// docs/selectors.md reports the numbers. Run a Release build:
//   ninja -C build tocsin_tsdb_bench && build/bench/tocsin_tsdb_bench
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/matcher.h"
#include "core/metrics.h"
#include "tsdb/expr.h"
#include "tsdb/series_store.h"

namespace tocsin::tsdb {
namespace {

constexpr int64_t kScrapeMs = 15'000;
constexpr int64_t kStartMs = 1'760'000'000'000;

// One series of a synthetic node exporter, and how its value moves from scrape to scrape.
enum class Kind { kConstant, kCounterSeconds, kCounterBytes, kGaugeBytes, kGaugeLoad, kRandomWalk };

struct SyntheticSeries {
  core::Labels labels;
  Kind kind;
  double value;
  double rate = 0;  // counters: mean increase per scrape
  int host = 0;
  SeriesRef ref{};
};

// `hosts` × 100 series: CPU seconds per mode and core, network and disk byte counters, memory
// and filesystem gauges, load averages and constant info-like series. Fixed seed.
std::vector<SyntheticSeries> node_exporter(int hosts) {
  std::vector<SyntheticSeries> out;
  std::mt19937_64 rng(1);
  for (int h = 0; h < hosts; ++h) {
    const std::string instance = fmt::format("10.0.{}.{}:9100", h / 250, h % 250);
    auto add = [&](std::string_view name, std::vector<std::pair<std::string, std::string>> extra, Kind kind,
                   double start, double rate = 0) {
      core::Labels l{{"__name__", name}, {"instance", instance}, {"job", "node"}};
      for (const auto& [k, v] : extra) l.set(k, v);
      out.push_back({std::move(l), kind, start, rate, h});
    };
    // Seconds per 15 s scrape spent in each mode by a mostly idle 8-core host.
    const std::pair<const char*, double> modes[] = {{"idle", 13.5},   {"user", 1.0}, {"system", 0.4},
                                                    {"iowait", 0.05}, {"irq", 0.0},  {"softirq", 0.02},
                                                    {"steal", 0.0},   {"nice", 0.0}};
    for (int cpu = 0; cpu < 8; ++cpu) {
      for (const auto& [mode, rate] : modes) {
        add("node_cpu_seconds_total", {{"cpu", std::to_string(cpu)}, {"mode", mode}}, Kind::kCounterSeconds,
            static_cast<double>(rng() % 1'000'000) / 100, rate);
      }
    }
    for (const char* dev : {"eth0", "eth1", "lo"}) {
      for (const char* m : {"node_network_receive_bytes_total", "node_network_transmit_bytes_total"}) {
        add(m, {{"device", dev}}, Kind::kCounterBytes, static_cast<double>(rng() % 1'000'000'000));
      }
    }
    for (const char* dev : {"sda", "sdb"}) {
      for (const char* m : {"node_disk_read_bytes_total", "node_disk_written_bytes_total"}) {
        add(m, {{"device", dev}}, Kind::kCounterBytes, static_cast<double>(rng() % 1'000'000'000));
      }
    }
    for (const char* m : {"node_memory_MemAvailable_bytes", "node_memory_Cached_bytes", "node_memory_Buffers_bytes",
                          "node_filesystem_avail_bytes"}) {
      add(m, {}, Kind::kGaugeBytes, static_cast<double>(4096 * (rng() % 4'000'000)));
    }
    for (const char* m : {"node_load1", "node_load5", "node_load15"}) add(m, {}, Kind::kGaugeLoad, 1.5);
    for (int i = 0; static_cast<int>(out.size()) % 100 != 0; ++i) {
      add("node_filesystem_size_bytes", {{"mountpoint", fmt::format("/mnt/{}", i)}}, Kind::kConstant,
          static_cast<double>(4096 * (rng() % 100'000'000)));
    }
  }
  return out;
}

double next_value(SyntheticSeries& s, std::mt19937_64& rng) {
  switch (s.kind) {
    case Kind::kConstant:
      break;
    case Kind::kCounterSeconds:  // 10 ms resolution, as /proc/stat; ±50% around the mode's rate
      if (s.rate > 0) s.value += std::round(s.rate * (50 + static_cast<double>(rng() % 101))) / 100;
      break;
    case Kind::kCounterBytes:
      s.value += static_cast<double>(rng() % 2'000'000);
      break;
    case Kind::kGaugeBytes:
      s.value += 4096.0 * (static_cast<double>(rng() % 2001) - 1000);
      break;
    case Kind::kGaugeLoad:
      s.value = static_cast<double>(rng() % 800) / 100;
      break;
    case Kind::kRandomWalk:
      s.value += std::ldexp(static_cast<double>(rng() % 2'000'001) - 1e6, -20);
      break;
  }
  return s.value;
}

struct Fixture {
  explicit Fixture(int hosts, SeriesStoreOptions options = {}) : series(node_exporter(hosts)) {
    options.max_series = 10'000'000;
    store = std::make_unique<SeriesStore>(options, registry);
    for (auto& s : series) s.ref = *store->get_or_create(s.labels);
  }
  // One scrape of every series at `n` × 15 s. All series of a target share the scrape's
  // timestamp, which has 0–2 ms of jitter (what Prometheus records for a steady scrape loop).
  void scrape(int64_t n) {
    int host = -1;
    core::Timestamp t;
    for (auto& s : series) {
      if (s.host != host) {
        host = s.host;
        t = core::from_unix_ms(kStartMs + n * kScrapeMs + static_cast<int64_t>(rng() % 3));
      }
      store->append(s.ref, t, next_value(s, rng));
    }
  }
  core::MetricsRegistry registry;
  std::vector<SyntheticSeries> series;
  std::unique_ptr<SeriesStore> store;
  std::mt19937_64 rng{2};
};

void BM_Append(benchmark::State& state) {
  Fixture f(static_cast<int>(state.range(0)));
  int64_t n = 0;
  for (auto _ : state) f.scrape(n++);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(f.series.size()));
  const auto st = f.store->stats();
  state.counters["B/sample"] = static_cast<double>(st.encoded_bytes) / static_cast<double>(st.samples);
  state.counters["series"] = static_cast<double>(st.series);
}
BENCHMARK(BM_Append)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

// Three hours of 15 s scrapes (720 samples a series): compression once chunks are full.
void BM_BytesPerSample(benchmark::State& state) {
  for (auto _ : state) {
    Fixture f(static_cast<int>(state.range(0)));
    for (int64_t n = 0; n < 720; ++n) f.scrape(n);
    const auto st = f.store->stats();
    state.counters["encoded_B/sample"] = static_cast<double>(st.encoded_bytes) / static_cast<double>(st.samples);
    state.counters["allocated_B/sample"] = static_cast<double>(st.allocated_bytes) / static_cast<double>(st.samples);
    state.counters["samples"] = static_cast<double>(st.samples);
    // Per kind: the same generator into a store of its own (the random walk is a worst case that
    // is not part of the mix: values with ~20 random low mantissa bits).
    static const char* kNames[] = {"constant",    "counter_seconds", "counter_bytes",
                                   "gauge_bytes", "gauge_load",      "random_walk"};
    for (auto kind : {Kind::kConstant, Kind::kCounterSeconds, Kind::kCounterBytes, Kind::kGaugeBytes, Kind::kGaugeLoad,
                      Kind::kRandomWalk}) {
      core::MetricsRegistry r;
      SeriesStore one({}, r);
      std::mt19937_64 rng(3);
      uint64_t samples = 0;
      for (auto s : f.series) {
        if (kind == Kind::kRandomWalk) {
          if (s.kind != Kind::kGaugeLoad) continue;
          s.kind = Kind::kRandomWalk;
        } else if (s.kind != kind) {
          continue;
        }
        const auto ref = *one.get_or_create(s.labels);
        for (int64_t n = 0; n < 720; ++n) {
          one.append(ref, core::from_unix_ms(kStartMs + n * kScrapeMs + static_cast<int64_t>(rng() % 3)),
                     next_value(s, rng));
          ++samples;
        }
      }
      state.counters[fmt::format("B/sample_{}", kNames[static_cast<int>(kind)])] =
          static_cast<double>(one.stats().encoded_bytes) / static_cast<double>(samples);
    }
  }
}
BENCHMARK(BM_BytesPerSample)->Arg(100)->Iterations(1)->Unit(benchmark::kMillisecond);

// The head chunks' spare room (allocated minus encoded bytes), averaged over time: 1,000 noisy
// gauges whose heads are at every stage of filling (each starts up to 119 samples late). The
// price in memory of the head's growth step (series_store_internal.h).
void BM_HeadSpareRoom(benchmark::State& state) {
  constexpr int kSeries = 1000;
  for (auto _ : state) {
    core::MetricsRegistry r;
    SeriesStore store({}, r);
    std::vector<SeriesRef> refs;
    for (int i = 0; i < kSeries; ++i) {
      refs.push_back(*store.get_or_create(core::Labels{{"__name__", "gauge"}, {"i", std::to_string(i)}}));
    }
    std::mt19937_64 rng(1);
    std::normal_distribution<double> noise(0, 1);
    double spare = 0;
    int looks = 0;
    for (int64_t t = 0; t < 2400; ++t) {
      for (int i = 0; i < kSeries; ++i) {
        if (t < i % 120) continue;
        store.append(refs[static_cast<size_t>(i)], core::from_unix_ms(kStartMs + t * 1000),
                     50 + 5 * std::sin(static_cast<double>(t) / 300.0 + i) + 0.5 * noise(rng));
      }
      if (t < 240) continue;
      const auto st = store.stats();
      spare += static_cast<double>(st.allocated_bytes - st.encoded_bytes) / kSeries;
      ++looks;
    }
    state.counters["spare_B/series"] = spare / looks;
  }
}
BENCHMARK(BM_HeadSpareRoom)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_GetOrCreateExisting(benchmark::State& state) {
  Fixture f(100);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.store->get_or_create(f.series[i].labels));
    i = (i + 1) % f.series.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_GetOrCreateExisting);

// Select over 1000 hosts (100k series); the argument picks the selector.
void BM_Select(benchmark::State& state) {
  static Fixture* f = new Fixture(1000);  // shared across arguments; leaked on purpose at exit
  static const char* kSelectors[] = {
      R"(node_load1{instance="10.0.1.7:9100"})",
      R"(node_cpu_seconds_total{instance="10.0.1.7:9100", mode="idle"})",
      R"(node_cpu_seconds_total{mode="idle"})",
      R"(node_network_receive_bytes_total{device=~"eth.*"})",
      R"(node_cpu_seconds_total{mode!="idle", cpu="0"})",
      R"({__name__=~"node_memory_.*", instance=~"10.0.0.1.*"})",
  };
  const auto matchers = *core::parse_selector(kSelectors[state.range(0)]);
  size_t n = 0;
  for (auto _ : state) {
    auto refs = f->store->select(matchers);
    n = refs.size();
    benchmark::DoNotOptimize(refs);
  }
  state.SetLabel(fmt::format("{} → {} series", kSelectors[state.range(0)], n));
}
BENCHMARK(BM_Select)->DenseRange(0, 5)->Unit(benchmark::kMicrosecond);

// rate(x[5m]) on one series with 3 h of data: a window read (decode) plus the function.
void BM_EvaluateRate(benchmark::State& state) {
  Fixture f(1);
  for (int64_t n = 0; n < 720; ++n) f.scrape(n);
  const auto expr = *parse_select_expr("rate(node_cpu_seconds_total[5m])");
  const auto t = core::from_unix_ms(kStartMs + 719 * kScrapeMs);
  std::vector<Point> scratch;
  for (auto _ : state) benchmark::DoNotOptimize(evaluate(*f.store, f.series[0].ref, expr, t, scratch));
}
BENCHMARK(BM_EvaluateRate);

void BM_SnapshotAndLoad(benchmark::State& state) {
  Fixture f(100);
  for (int64_t n = 0; n < 720; ++n) f.scrape(n);
  const auto file = std::filesystem::temp_directory_path() / "tocsin_tsdb_bench.snap";
  size_t bytes = 0;
  for (auto _ : state) {
    if (!f.store->snapshot(file)) state.SkipWithError("snapshot failed");
    bytes = std::filesystem::file_size(file);
    core::MetricsRegistry r;
    auto loaded = SeriesStore::load(file, {}, r);
    if (!loaded) state.SkipWithError("load failed");
  }
  std::filesystem::remove(file);
  state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_SnapshotAndLoad)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tocsin::tsdb

BENCHMARK_MAIN();
