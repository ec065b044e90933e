// Remote-write load generator (bench/ingest): sends one fixed workload of Prometheus
// remote_write 1.0 requests to a server for a fixed time over N keep-alive connections, and
// reports what it accepted and what it cost the server's process (CPU-seconds from
// /proc/PID/stat, RSS from /proc/PID/status). All bodies are built and snappy-compressed before
// the clock starts, so the generator's own cost while sending is a write and a read per request.
//
//   tocsin_rw_load --url http://127.0.0.1:PORT/api/v1/write[,…] --pid PID[,PID…] [--db-pid PID]
//       [--series 10000] [--series-per-request 500] [--samples-per-series 10] [--connections 4]
//       [--duration 20] [--rounds 200] [--settle 2] [--step-ms 1000] [--cache FILE]
//
// Several --url (replicas of one server, with their --pid each): every connection sends its
// requests to them in turn, and the CPU is their sum; --db-pid adds a database's CPU (its process
// and children) as db_cpu_s_with_settle. RSS is the first --pid's.
//
// Workload: `series` series (`bench_metric_K{instance="host-I",job="bench"}`, 100 metric names),
// split into groups of `series-per-request`; one request carries one group with
// `samples-per-series` consecutive samples each; a round sends every group once, and the next
// round continues the same series with later timestamps. A request for a group starts only after
// that group's previous request was answered, so no series ever receives samples out of order.
// Values: a per-series level plus a slow sine and small noise — a plausible gauge, not a spike.
//
// Prints one JSON object on stdout.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "proc_stats.h"
#include "remote_write_encode.h"

using namespace tocsin::bench;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::vector<HttpTarget> targets;
  std::vector<int> pids;
  int pid = 0;  // the first of pids
  int db_pid = 0;
  int series = 10000;
  int series_per_request = 500;
  int samples_per_series = 10;
  int connections = 4;
  double duration = 20;
  int rounds = 200;
  double settle = 2;
  int64_t step_ms = 1000;
  uint32_t seed = 42;
  std::string cache;  // file holding the built bodies, reused when the workload matches
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "tocsin_rw_load: %s\n", msg);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    std::string error;
    if (take_server_option(a, val, o.targets, o.pids, o.db_pid, error)) {
      if (!error.empty()) usage(error.c_str());
      o.pid = o.pids.empty() ? 0 : o.pids.front();
    } else if (a == "--series") o.series = std::atoi(val().c_str());
    else if (a == "--series-per-request") o.series_per_request = std::atoi(val().c_str());
    else if (a == "--samples-per-series") o.samples_per_series = std::atoi(val().c_str());
    else if (a == "--connections") o.connections = std::atoi(val().c_str());
    else if (a == "--duration") o.duration = std::atof(val().c_str());
    else if (a == "--rounds") o.rounds = std::atoi(val().c_str());
    else if (a == "--settle") o.settle = std::atof(val().c_str());
    else if (a == "--step-ms") o.step_ms = std::atoll(val().c_str());
    else if (a == "--seed") o.seed = static_cast<uint32_t>(std::atoi(val().c_str()));
    else if (a == "--cache") o.cache = val();
    else usage(("unknown option " + a).c_str());
  }
  if (o.targets.empty()) usage("--url is required");
  if (o.series <= 0 || o.series_per_request <= 0 || o.series % o.series_per_request != 0)
    usage("--series must be a positive multiple of --series-per-request");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const int groups = o.series / o.series_per_request;
  const int total_requests = groups * o.rounds;
  const int64_t samples_per_request = int64_t{o.series_per_request} * o.samples_per_series;

  // --- build every body before the clock starts ------------------------------------------------
  const auto build_start = Clock::now();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  // The data ends at "now": old enough that no server calls it the future, recent enough for
  // every server's accepted window (Prometheus' head takes the last ~hour and a half).
  const int64_t span_ms = int64_t{o.rounds} * o.samples_per_series * o.step_ms;
  const int64_t t0 = now_ms - span_ms;
  std::mt19937 rng(o.seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::vector<double> level(o.series), amp(o.series), period(o.series), phase(o.series);
  for (int s = 0; s < o.series; ++s) {
    level[s] = 10 + 90 * uni(rng);
    amp[s] = level[s] * 0.1 * uni(rng);
    period[s] = 600 + 3000 * uni(rng);  // seconds
    phase[s] = 6.283185307 * uni(rng);
  }
  std::vector<std::vector<std::pair<std::string, std::string>>> labels(o.series);
  for (int s = 0; s < o.series; ++s) {
    labels[s] = {{"__name__", "bench_metric_" + std::to_string(s % 100)},
                 {"instance", "host-" + std::to_string(s / 100)},
                 {"job", "bench"}};
  }
  std::vector<std::string> bodies(total_requests);
  size_t raw_bytes = 0, body_bytes = 0;
  // One workload, several servers: run.py builds the bodies once and each run reads them back.
  const std::string key = "tocsin-rw-load v1 " + std::to_string(o.series) + " " + std::to_string(o.series_per_request) +
                          " " + std::to_string(o.samples_per_series) + " " + std::to_string(o.rounds) + " " +
                          std::to_string(o.step_ms) + " " + std::to_string(o.seed) + "\n";
  bool cached = false;
  if (!o.cache.empty()) {
    std::ifstream in(o.cache, std::ios::binary);
    std::string line;
    if (in && std::getline(in, line) && line + "\n" == key) {
      std::string raw_total;
      std::getline(in, raw_total);
      raw_bytes = std::stoull(raw_total);
      cached = true;
      for (auto& b : bodies) {
        uint32_t n = 0;
        if (!in.read(reinterpret_cast<char*>(&n), sizeof n)) { cached = false; break; }
        b.resize(n);
        if (!in.read(b.data(), n)) { cached = false; break; }
        body_bytes += n;
      }
    }
  }
  if (!cached) {
    body_bytes = raw_bytes = 0;
    std::vector<BenchSeries> batch(o.series_per_request);
    for (int r = 0; r < o.rounds; ++r) {
      for (int g = 0; g < groups; ++g) {
        for (int k = 0; k < o.series_per_request; ++k) {
          const int s = g * o.series_per_request + k;
          auto& bs = batch[k];
          bs.labels = labels[s];
          bs.samples.resize(o.samples_per_series);
          for (int j = 0; j < o.samples_per_series; ++j) {
            const int64_t idx = int64_t{r} * o.samples_per_series + j;
            const int64_t ts = t0 + idx * o.step_ms;
            const double t = static_cast<double>(idx * o.step_ms) / 1000.0;
            const double v = level[s] + amp[s] * std::sin(6.283185307 * t / period[s] + phase[s]) +
                             0.01 * level[s] * noise(rng);
            bs.samples[j] = {std::round(v * 1000) / 1000, ts};
          }
        }
        const std::string raw = encode_write_request(batch);
        raw_bytes += raw.size();
        bodies[r * groups + g] = snappy_compress(raw);
        body_bytes += bodies[r * groups + g].size();
      }
    }
    if (!o.cache.empty()) {
      std::ofstream out(o.cache + ".tmp", std::ios::binary | std::ios::trunc);
      out << key << raw_bytes << "\n";
      for (const auto& b : bodies) {
        const auto n = static_cast<uint32_t>(b.size());
        out.write(reinterpret_cast<const char*>(&n), sizeof n);
        out.write(b.data(), n);
      }
      out.close();
      if (out) std::rename((o.cache + ".tmp").c_str(), o.cache.c_str());
    }
  }
  const double build_seconds = std::chrono::duration<double>(Clock::now() - build_start).count();

  // --- send ------------------------------------------------------------------------------------
  std::mutex mu;
  std::condition_variable cv;
  std::vector<char> done(total_requests, 0);
  int next = 0;
  std::atomic<long long> ok{0}, failed{0}, errors{0};
  std::string first_error;
  std::vector<std::vector<double>> latencies(o.connections);
  const std::string headers =
      "Content-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\n"
      "X-Prometheus-Remote-Write-Version: 0.1.0\r\nUser-Agent: tocsin-bench\r\n";

  const long long rss_idle = o.pid ? status_bytes(o.pid, "VmRSS") : -1;
  const double cpu_before = processes_cpu_seconds(o.pids);
  const double db_before = o.db_pid ? process_tree_cpu_seconds(o.db_pid) : 0;
  const double self_before = self_cpu_seconds();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));

  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      RoundRobin conns(o.targets, static_cast<size_t>(c));
      std::string body, err;
      for (;;) {
        int i;
        {
          std::unique_lock lock(mu);
          if (next >= total_requests || Clock::now() >= deadline) return;
          i = next++;
          cv.wait(lock, [&] { return i < groups || done[i - groups]; });
        }
        const auto t = Clock::now();
        HttpConnection& conn = conns.next();
        const int status = conn.request("POST", o.targets.front().path, headers, bodies[i], &body, &err);
        latencies[c].push_back(std::chrono::duration<double>(Clock::now() - t).count());
        if (status >= 200 && status < 300) {
          ++ok;
        } else {
          if (status < 0) ++errors; else ++failed;
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = status < 0 ? err : ("HTTP " + std::to_string(status) + ": " + body.substr(0, 300));
        }
        {
          std::lock_guard lock(mu);
          done[i] = 1;
        }
        cv.notify_all();
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto end = Clock::now();
  const double elapsed = std::chrono::duration<double>(end - start).count();
  const double cpu_end = processes_cpu_seconds(o.pids);
  const long long rss_end = o.pid ? status_bytes(o.pid, "VmRSS") : -1;
  const double self_cpu = self_cpu_seconds() - self_before;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.settle));
  const double cpu_settled = processes_cpu_seconds(o.pids);
  const double db_cpu = o.db_pid ? process_tree_cpu_seconds(o.db_pid) - db_before : 0;
  const long long rss_settled = o.pid ? status_bytes(o.pid, "VmRSS") : -1;
  const long long hwm = o.pid ? status_bytes(o.pid, "VmHWM") : -1;

  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };

  const long long accepted = ok.load() * samples_per_request;
  const double cpu_load = cpu_end - cpu_before;
  const double cpu_total = cpu_settled - cpu_before;
  std::printf(
      "{\"series\": %d, \"series_per_request\": %d, \"samples_per_series\": %d, \"connections\": %d, "
      "\"requests_ok\": %lld, \"requests_failed\": %lld, \"connection_errors\": %lld, \"first_error\": \"%s\", "
      "\"samples_accepted\": %lld, \"elapsed_s\": %.3f, \"samples_per_s\": %.0f, "
      "\"server_cpu_s_during\": %.3f, \"server_cpu_s_with_settle\": %.3f, \"settle_s\": %.1f, "
      "\"samples_per_cpu_s\": %.0f, \"rss_idle\": %lld, \"rss_end\": %lld, \"rss_settled\": %lld, \"rss_hwm\": %lld, "
      "\"generator_cpu_s\": %.3f, \"request_p50_ms\": %.3f, \"request_p99_ms\": %.3f, "
      "\"build_s\": %.2f, \"raw_bytes_per_request\": %.0f, \"body_bytes_per_request\": %.0f, \"rounds_available\": %d, "
      "\"replicas\": %zu, \"db_cpu_s_with_settle\": %.3f}\n",
      o.series, o.series_per_request, o.samples_per_series, o.connections, ok.load(), failed.load(), errors.load(),
      [&] {
        std::string e;
        for (char ch : first_error) {
          if (ch == '"' || ch == '\\') e.push_back('\\');
          if (static_cast<unsigned char>(ch) >= 0x20) e.push_back(ch);
        }
        static std::string keep;
        keep = e;
        return keep.c_str();
      }(),
      accepted, elapsed, accepted / elapsed, cpu_load, cpu_total, o.settle, cpu_total > 0 ? accepted / cpu_total : 0.0,
      rss_idle, rss_end, rss_settled, hwm, self_cpu, pct(0.5) * 1e3, pct(0.99) * 1e3, build_seconds,
      static_cast<double>(raw_bytes) / total_requests, static_cast<double>(body_bytes) / total_requests, o.rounds,
      o.targets.size(), db_cpu);
  return (ok.load() > 0) ? 0 : 1;
}
