// Detection-latency benchmark (bench/latency): how long from a jumped sample to the page.
//
// The tool is the sender and the webhook receiver in one process, so both timestamps come from
// one clock (CLOCK_MONOTONIC). The receiver takes its timestamp when a webhook request has fully
// arrived, then finds the iteration's token (a label value) in the body.
//
//   --mode tocsin: each iteration i pushes a baseline sample (value 1) to a fresh series
//     bench_jump{iteration="<token i>"} by remote_write, waits 10-50 ms, then pushes the jump
//     (value 1000) and takes t0 just before writing it; tocsin's threshold rule (`for: 0s`) fires,
//     the incident opens and its plan's escalation pages the receiver. Latency = arrival - t0:
//     the HTTP request, decoding, the rule, the durable commit (fsync), the escalation and the
//     libcurl delivery.
//   --mode prometheus: the tool also serves /metrics; each iteration switches it to serve
//     bench_jump{iteration="<token i>"} 1000 at a random phase of the scrape cycle and takes t0
//     at the switch; Prometheus scrapes every 1 s, evaluates `bench_jump > 100` (`for: 0s`)
//     every 1 s and sends to Alertmanager (group_wait 0s), which pages the receiver.
//
// Iterations run one after the other (the next starts after the page or a timeout); the first
// `--warmup` are not counted. Prints one JSON object on stdout.
//
//   tocsin_latency_bench --mode tocsin --write-url http://127.0.0.1:P/api/v1/write --receiver-port R [--n 200]
//   tocsin_latency_bench --mode prometheus --target-port T --receiver-port R [--n 100]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../ingest/http_client.h"
#include "../ingest/http_receiver.h"
#include "../ingest/remote_write_encode.h"

using namespace tocsin::bench;
using Clock = std::chrono::steady_clock;

namespace {

struct Pages {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Clock::time_point> first;  // token → first arrival
  long long requests = 0;
};

std::string token_for(const std::string& nonce, int i) {
  char b[64];
  std::snprintf(b, sizeof b, "bench-%s-%05d", nonce.c_str(), i);
  return b;
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode, write_url;
  int receiver_port = 0, target_port = 0, n = 200, warmup = 3;
  double timeout_s = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--mode") mode = v;
    else if (a == "--write-url") write_url = v;
    else if (a == "--receiver-port") receiver_port = std::atoi(v.c_str());
    else if (a == "--target-port") target_port = std::atoi(v.c_str());
    else if (a == "--n") n = std::atoi(v.c_str());
    else if (a == "--warmup") warmup = std::atoi(v.c_str());
    else if (a == "--timeout") timeout_s = std::atof(v.c_str());
    else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
  }
  if ((mode != "tocsin" && mode != "prometheus") || receiver_port <= 0) {
    std::fprintf(stderr, "usage: --mode tocsin|prometheus --receiver-port R (--write-url URL | --target-port T) [--n N]\n");
    return 2;
  }
  std::mt19937 rng(static_cast<uint32_t>(unix_ms()));
  const std::string nonce = std::to_string(rng() % 100000);

  Pages pages;
  serve_forever(
      receiver_port,
      [&pages, nonce](Clock::time_point at, const std::string& req) {
        std::lock_guard lock(pages.mu);
        ++pages.requests;
        const std::string prefix = "bench-" + nonce + "-";
        for (size_t p = req.find(prefix); p != std::string::npos; p = req.find(prefix, p + 1)) {
          const std::string tok = req.substr(p, prefix.size() + 5);
          pages.first.emplace(tok, at);
        }
        pages.cv.notify_all();
      },
      [](const std::string&) { return std::string(); });

  // The scrape target (prometheus mode): serves the current exposition text.
  std::mutex target_mu;
  std::string exposition = "# TYPE bench_jump gauge\n";
  if (mode == "prometheus") {
    serve_forever(
        target_port, [](Clock::time_point, const std::string&) {},
        [&](const std::string&) {
          std::lock_guard lock(target_mu);
          return exposition;
        });
  }

  std::string host;
  int port = 0;
  std::string path;
  if (mode == "tocsin") {
    std::string url = write_url.substr(write_url.find("//") + 2);
    host = url.substr(0, url.find(':'));
    port = std::atoi(url.c_str() + url.find(':') + 1);
    path = url.substr(url.find('/'));
  }
  HttpConnection conn(host.empty() ? "127.0.0.1" : host, port);
  const std::string headers =
      "Content-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n";
  auto write_one = [&](const std::string& token, double value) {
    BenchSeries s;
    s.labels = {{"__name__", "bench_jump"}, {"iteration", token}, {"job", "bench"}};
    s.samples = {{value, unix_ms()}};
    std::string body, err;
    const int status = conn.request("POST", path, headers, snappy_compress(encode_write_request({s})), &body, &err);
    if (status != 204 && status != 200) {
      std::fprintf(stderr, "write: status %d %s %s\n", status, err.c_str(), body.c_str());
      std::exit(1);
    }
  };

  std::vector<double> lat_ms;
  int timeouts = 0;
  for (int i = 0; i < n + warmup; ++i) {
    const std::string token = token_for(nonce, i);
    Clock::time_point t0;
    if (mode == "tocsin") {
      write_one(token, 1);
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + rng() % 41));
      t0 = Clock::now();
      write_one(token, 1000);
    } else {
      // a random phase of the 1 s scrape / evaluation cycles
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 1000));
      std::lock_guard lock(target_mu);
      exposition = "# TYPE bench_jump gauge\nbench_jump{iteration=\"" + token + "\"} 1000\n";
      t0 = Clock::now();
    }
    std::unique_lock lock(pages.mu);
    const bool got = pages.cv.wait_for(lock, std::chrono::duration<double>(timeout_s),
                                       [&] { return pages.first.count(token) > 0; });
    if (!got) {
      ++timeouts;
      std::fprintf(stderr, "iteration %d: no page within %.0fs\n", i, timeout_s);
      continue;
    }
    const double ms = std::chrono::duration<double, std::milli>(pages.first[token] - t0).count();
    if (i >= warmup) lat_ms.push_back(ms);
    lock.unlock();
    if (mode == "tocsin") std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::vector<double> sorted = lat_ms;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) {
    if (sorted.empty()) return 0.0;
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())))];
  };
  double sum = 0;
  for (double x : sorted) sum += x;
  std::printf(
      "{\"mode\": \"%s\", \"n\": %zu, \"warmup\": %d, \"timeouts\": %d, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
      "\"p99_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, \"mean_ms\": %.3f, \"webhook_requests\": %lld}\n",
      mode.c_str(), sorted.size(), warmup, timeouts, pct(0.5), pct(0.9), pct(0.99), sorted.empty() ? 0 : sorted.front(),
      sorted.empty() ? 0 : sorted.back(), sorted.empty() ? 0 : sum / static_cast<double>(sorted.size()),
      pages.requests);
  std::fflush(stdout);
  std::_Exit(timeouts > n / 2 ? 1 : 0);
}
