// Alert benchmarks (bench/alerts): Alertmanager API v2 intake throughput and notification
// latency, against any server that speaks `POST /api/v2/alerts` (tocsin, Alertmanager).
//
//   tocsin_alerts_bench intake --url http://127.0.0.1:P[,http://127.0.0.1:Q…] --pid PID[,PID…]
//       [--db-pid POSTMASTER] [--receiver-port R] [--alerts 10000] [--batch 100] [--connections 4]
//       [--duration 15] [--settle 2] [--resend-interval 60] [--pause 2]
//   tocsin_alerts_bench latency --url http://127.0.0.1:P --receiver-port R [--n 500] [--warmup 5]
//       [--gap-ms 20] [--gap-jitter-ms 30] [--timeout 10]
//
// intake: `alerts` distinct alerts (alertname BenchAlertNN × instance host-III:9100, plus job,
//   severity, two annotations and a generatorURL, as Prometheus sends them) in batches of `batch`,
//   over `connections` keep-alive connections; every connection owns a fixed share of the batches
//   and sends them round after round. Every send is a Prometheus re-send: the same labels and
//   startsAt, endsAt = now + 4 × resend-interval (Prometheus' rule: 4 × its resend delay). The
//   bodies are built before the clock starts; before each send only the endsAt values are
//   overwritten in place (one time formatted per request, a 30-byte memcpy per alert). One untimed
//   round first creates every alert (and the servers' first notifications go out during --pause),
//   then the timed rounds measure the steady state of re-sends. CPU = utime + stime of --pid over
//   the timed part plus --settle seconds; written bytes = wchar of /proc/PID/io over the same span
//   (every write-like call: files and sockets). Several --url (replicas of one server, with their
//   --pid each): every connection sends its requests to them in turn, and the CPU is their sum;
//   --db-pid adds a database's CPU (its process and children) as db_cpu_s_with_settle. RSS and
//   written bytes are the first --pid's.
//
// latency: n (+ warmup, not counted) alerts, one at a time, each with its own alertname (so with
//   group_by [alertname] each opens a group and, with group_wait 0s, is notified at once). t0 is
//   taken just before the POST is written; the receiver (in this process, same clock) stamps the
//   webhook request when it has fully arrived and finds the alert by its alertname in the body.
//   Also timed: t0 → the POST's 2xx (for tocsin, the durable commit). After each notification
//   the tool waits gap-ms + a random 0..gap-jitter-ms, so alerts never queue behind each other.
//
// Prints one JSON object on stdout.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../ingest/http_client.h"
#include "../ingest/http_receiver.h"
#include "../ingest/proc_stats.h"

using namespace tocsin::bench;
using Clock = std::chrono::steady_clock;
using Wall = std::chrono::system_clock;

namespace {

struct Options {
  std::string mode;
  std::vector<HttpTarget> targets;
  std::vector<int> pids;
  int pid = 0;  // the first of pids
  int db_pid = 0;
  int receiver_port = 0;
  // intake
  int alerts = 10000;
  int batch = 100;
  int connections = 4;
  double duration = 15;
  double settle = 2;
  double resend_interval = 60;
  double pause = 2;
  // latency
  int n = 500;
  int warmup = 5;
  int gap_ms = 20;
  int gap_jitter_ms = 30;
  double timeout = 10;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "tocsin_alerts_bench: %s\n", msg);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) usage("usage: tocsin_alerts_bench intake|latency --url http://HOST:PORT [options]");
  o.mode = argv[1];
  if (o.mode != "intake" && o.mode != "latency") usage("the first argument is intake or latency");
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    std::string error;
    if (take_server_option(a, val, o.targets, o.pids, o.db_pid, error)) {
      if (!error.empty()) usage(error.c_str());
      o.pid = o.pids.empty() ? 0 : o.pids.front();
    } else if (a == "--receiver-port") o.receiver_port = std::atoi(val().c_str());
    else if (a == "--alerts") o.alerts = std::atoi(val().c_str());
    else if (a == "--batch") o.batch = std::atoi(val().c_str());
    else if (a == "--connections") o.connections = std::atoi(val().c_str());
    else if (a == "--duration") o.duration = std::atof(val().c_str());
    else if (a == "--settle") o.settle = std::atof(val().c_str());
    else if (a == "--resend-interval") o.resend_interval = std::atof(val().c_str());
    else if (a == "--pause") o.pause = std::atof(val().c_str());
    else if (a == "--n") o.n = std::atoi(val().c_str());
    else if (a == "--warmup") o.warmup = std::atoi(val().c_str());
    else if (a == "--gap-ms") o.gap_ms = std::atoi(val().c_str());
    else if (a == "--gap-jitter-ms") o.gap_jitter_ms = std::atoi(val().c_str());
    else if (a == "--timeout") o.timeout = std::atof(val().c_str());
    else usage(("unknown option " + a).c_str());
  }
  if (o.targets.empty()) usage("--url is required");
  if (o.alerts <= 0 || o.batch <= 0 || o.alerts % o.batch != 0) usage("--alerts must be a positive multiple of --batch");
  if (o.connections <= 0 || o.connections > o.alerts / o.batch) usage("--connections must be 1..alerts/batch");
  if (o.mode == "latency" && o.receiver_port <= 0) usage("latency needs --receiver-port");
  return o;
}

// RFC 3339 in UTC with exactly nine fraction digits: a fixed width (kTimeWidth), so a body's
// endsAt values can be overwritten in place. Go and tocsin both parse trailing zeros.
constexpr size_t kTimeWidth = 30;  // 2006-01-02T15:04:05.000000000Z
std::string rfc3339(Wall::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(ns / 1'000'000'000);
  tm parts{};
  gmtime_r(&secs, &parts);
  char b[96];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", parts.tm_year + 1900, parts.tm_mon + 1,
                parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, static_cast<long long>(ns % 1'000'000'000));
  // A time before 1970 or after 9999 would not be kTimeWidth wide; the benchmark never makes one.
  return b;
}

// One alert as Prometheus' notifier marshals it (labels, annotations, startsAt, endsAt,
// generatorURL). Appends to `out`; returns the offset of the endsAt value's first character.
size_t append_alert(std::string& out, const std::string& alertname, const std::string& instance,
                    const std::string& severity, const std::string& starts, const std::string& ends) {
  out += R"({"labels":{"alertname":")" + alertname + R"(","instance":")" + instance +
         R"(","job":"node","severity":")" + severity + R"("},"annotations":{"summary":")" + alertname + " on " +
         instance + R"(","description":"bench_metric on )" + instance +
         R"( has been above its threshold for 5 minutes."},"startsAt":")" + starts + R"(","endsAt":")";
  const size_t at = out.size();
  out += ends + R"(","generatorURL":"http://prometheus.example:9090/graph?g0.expr=bench_metric%7Bjob%3D%22node%22%7D+%3E+100&g0.tab=1"})";
  return at;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string json_escape(const std::string& s) {
  std::string e;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') e.push_back('\\');
    if (static_cast<unsigned char>(ch) >= 0x20) e.push_back(ch);
  }
  return e;
}

const std::string kHeaders = "Content-Type: application/json\r\nUser-Agent: tocsin-bench\r\n";

// Webhook requests received (intake: the servers' own notifications, counted only).
std::atomic<long long> g_webhook_requests{0};

int intake(const Options& o) {
  if (o.receiver_port > 0) {
    serve_forever(
        o.receiver_port, [](Clock::time_point, const std::string&) { ++g_webhook_requests; },
        [](const std::string&) { return std::string(); });
  }
  // --- build every body before the clock starts ------------------------------------------------
  const auto build_start = Clock::now();
  const int batches = o.alerts / o.batch;
  const auto wall_now = Wall::now();
  const std::string ends0 = rfc3339(wall_now + std::chrono::seconds(static_cast<long>(4 * o.resend_interval)));
  std::vector<std::string> bodies(batches);
  std::vector<std::vector<size_t>> ends_at(batches);
  size_t body_bytes = 0;
  for (int b = 0; b < batches; ++b) {
    std::string& body = bodies[b];
    body = "[";
    for (int j = 0; j < o.batch; ++j) {
      const int k = b * o.batch + j;
      char name[32], inst[32];
      std::snprintf(name, sizeof name, "BenchAlert%02d", k % 100);
      std::snprintf(inst, sizeof inst, "host-%03d:9100", k / 100);
      // Each alert went active at its own moment in the last 10 minutes (whole milliseconds).
      const std::string starts = rfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(wall_now) -
                                         std::chrono::milliseconds(1000 + 997 * (k % 600)));
      if (j > 0) body += ",";
      ends_at[b].push_back(append_alert(body, name, inst, k % 3 == 0 ? "critical" : "warning", starts, ends0));
    }
    body += "]";
    body_bytes += body.size();
  }
  const double build_seconds = std::chrono::duration<double>(Clock::now() - build_start).count();

  // --- send: connection c owns batches c, c + connections, … -----------------------------------
  std::atomic<long long> ok{0}, failed{0}, errors{0};
  std::mutex mu;
  std::string first_error;
  std::vector<std::vector<double>> latencies(o.connections);
  const auto resend_ahead = std::chrono::duration_cast<Wall::duration>(std::chrono::duration<double>(4 * o.resend_interval));
  auto send_rounds = [&](RoundRobin& conn, int c, std::optional<Clock::time_point> deadline,
                         std::vector<double>* lat) {
    std::string resp, err;
    for (;;) {
      for (int b = c; b < batches; b += o.connections) {
        if (deadline && Clock::now() >= *deadline) return;
        // A Prometheus re-send: endsAt = now + 4 × resend interval, for every alert of the batch.
        const std::string ends = rfc3339(Wall::now() + resend_ahead);
        for (size_t at : ends_at[b]) std::memcpy(bodies[b].data() + at, ends.data(), kTimeWidth);
        const auto t = Clock::now();
        const int status = conn.next().request("POST", "/api/v2/alerts", kHeaders, bodies[b], &resp, &err);
        if (lat) lat->push_back(std::chrono::duration<double>(Clock::now() - t).count());
        if (status >= 200 && status < 300) {
          ++ok;
        } else {
          if (status < 0) ++errors; else ++failed;
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = status < 0 ? err : ("HTTP " + std::to_string(status) + ": " + resp.substr(0, 300));
        }
      }
      if (!deadline) return;  // the untimed first round
    }
  };

  std::vector<std::unique_ptr<RoundRobin>> conns;
  for (int c = 0; c < o.connections; ++c) conns.push_back(std::make_unique<RoundRobin>(o.targets, c));
  // First round, untimed: every alert is new. Measured separately (it includes the first
  // notification of every group).
  const double first_cpu_before = processes_cpu_seconds(o.pids);
  const auto first_start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < o.connections; ++c) threads.emplace_back([&, c] { send_rounds(*conns[c], c, std::nullopt, nullptr); });
    for (auto& t : threads) t.join();
  }
  const double first_elapsed = std::chrono::duration<double>(Clock::now() - first_start).count();
  const long long first_ok = ok.exchange(0);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.pause));
  const double first_cpu = processes_cpu_seconds(o.pids) - first_cpu_before;
  const long long first_webhooks = g_webhook_requests.load();
  failed = 0;
  errors = 0;

  const long long rss_before = o.pid ? status_bytes(o.pid, "VmRSS") : -1;
  const long long wchar_before = o.pid ? io_bytes(o.pid, "wchar") : -1;
  const double cpu_before = processes_cpu_seconds(o.pids);
  const double db_before = o.db_pid ? process_tree_cpu_seconds(o.db_pid) : 0;
  const double self_before = self_cpu_seconds();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < o.connections; ++c) {
      threads.emplace_back([&, c] { send_rounds(*conns[c], c, deadline, &latencies[c]); });
    }
    for (auto& t : threads) t.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_end = processes_cpu_seconds(o.pids);
  const double self_cpu = self_cpu_seconds() - self_before;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.settle));
  const double cpu_settled = processes_cpu_seconds(o.pids);
  const double db_cpu = o.db_pid ? process_tree_cpu_seconds(o.db_pid) - db_before : 0;
  const long long rss_after = o.pid ? status_bytes(o.pid, "VmRSS") : -1;
  const long long wchar_after = o.pid ? io_bytes(o.pid, "wchar") : -1;

  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const long long accepted = ok.load() * o.batch;
  const double cpu_total = cpu_settled - cpu_before;
  std::printf(
      "{\"mode\": \"intake\", \"alerts\": %d, \"batch\": %d, \"connections\": %d, \"requests_ok\": %lld, "
      "\"requests_failed\": %lld, \"connection_errors\": %lld, \"first_error\": \"%s\", \"alerts_accepted\": %lld, "
      "\"elapsed_s\": %.3f, \"alerts_per_s\": %.0f, \"server_cpu_s_during\": %.3f, \"server_cpu_s_with_settle\": %.3f, "
      "\"settle_s\": %.1f, \"alerts_per_cpu_s\": %.0f, \"request_p50_ms\": %.3f, \"request_p99_ms\": %.3f, "
      "\"generator_cpu_s\": %.3f, \"rss_before\": %lld, \"rss_after\": %lld, \"first_round_alerts\": %lld, "
      "\"first_round_s\": %.3f, \"first_round_cpu_s_with_pause\": %.3f, \"webhooks_after_first_round\": %lld, "
      "\"webhooks_total\": %lld, \"build_s\": %.3f, \"body_bytes\": %.0f, \"server_written_bytes\": %lld, "
      "\"replicas\": %zu, \"db_cpu_s_with_settle\": %.3f}\n",
      o.alerts, o.batch, o.connections, ok.load(), failed.load(), errors.load(), json_escape(first_error).c_str(),
      accepted, elapsed, accepted / elapsed, cpu_end - cpu_before, cpu_total, o.settle,
      cpu_total > 0 ? accepted / cpu_total : 0.0, pct(all, 0.5) * 1e3, pct(all, 0.99) * 1e3, self_cpu, rss_before,
      rss_after, first_ok * o.batch, first_elapsed, first_cpu, first_webhooks, g_webhook_requests.load(),
      build_seconds, static_cast<double>(body_bytes) / batches,
      wchar_before >= 0 && wchar_after >= 0 ? wchar_after - wchar_before : -1, o.targets.size(), db_cpu);
  std::fflush(stdout);
  std::_Exit(ok.load() > 0 ? 0 : 1);
}

struct Pages {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, Clock::time_point> first;  // alertname → first arrival
  long long requests = 0;
};

int latency(const Options& o) {
  std::mt19937 rng(static_cast<uint32_t>(Wall::now().time_since_epoch().count()));
  const std::string prefix = "BenchLatency-" + std::to_string(rng() % 100000) + "-";
  Pages pages;
  serve_forever(
      o.receiver_port,
      [&pages, prefix](Clock::time_point at, const std::string& req) {
        std::lock_guard lock(pages.mu);
        ++pages.requests;
        for (size_t p = req.find(prefix); p != std::string::npos; p = req.find(prefix, p + 1)) {
          pages.first.emplace(req.substr(p, prefix.size() + 5), at);
        }
        pages.cv.notify_all();
      },
      [](const std::string&) { return std::string(); });

  HttpConnection conn(o.targets.front().host, o.targets.front().port);
  std::vector<double> notify_ms, ack_ms;
  int timeouts = 0, failures = 0;
  const auto resend_ahead = std::chrono::duration_cast<Wall::duration>(std::chrono::duration<double>(4 * o.resend_interval));
  for (int i = 0; i < o.n + o.warmup; ++i) {
    char num[16];
    std::snprintf(num, sizeof num, "%05d", i);
    const std::string name = prefix + num;
    const auto now = Wall::now();
    std::string body = "[";
    append_alert(body, name, "host-000:9100", "critical", rfc3339(now), rfc3339(now + resend_ahead));
    body += "]";
    std::string resp, err;
    const auto t0 = Clock::now();
    const int status = conn.request("POST", "/api/v2/alerts", kHeaders, body, &resp, &err);
    const auto acked = Clock::now();
    if (status < 200 || status >= 300) {
      ++failures;
      std::fprintf(stderr, "POST: status %d %s %s\n", status, err.c_str(), resp.c_str());
      if (failures > 5) return 1;
      continue;
    }
    std::unique_lock lock(pages.mu);
    const bool got = pages.cv.wait_for(lock, std::chrono::duration<double>(o.timeout),
                                       [&] { return pages.first.count(name) > 0; });
    if (!got) {
      ++timeouts;
      std::fprintf(stderr, "alert %d: no notification within %.0fs\n", i, o.timeout);
      continue;
    }
    if (i >= o.warmup) {
      notify_ms.push_back(std::chrono::duration<double, std::milli>(pages.first[name] - t0).count());
      ack_ms.push_back(std::chrono::duration<double, std::milli>(acked - t0).count());
    }
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(o.gap_ms + (o.gap_jitter_ms > 0 ? rng() % (o.gap_jitter_ms + 1) : 0)));
  }
  double sum = 0;
  for (double x : notify_ms) sum += x;
  std::printf(
      "{\"mode\": \"latency\", \"n\": %zu, \"warmup\": %d, \"timeouts\": %d, \"failed_posts\": %d, "
      "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, \"mean_ms\": %.3f, "
      "\"ack_p50_ms\": %.3f, \"ack_p99_ms\": %.3f, \"webhook_requests\": %lld}\n",
      notify_ms.size(), o.warmup, timeouts, failures, pct(notify_ms, 0.5), pct(notify_ms, 0.9), pct(notify_ms, 0.99),
      pct(notify_ms, 0), pct(notify_ms, 1), notify_ms.empty() ? 0 : sum / static_cast<double>(notify_ms.size()),
      pct(ack_ms, 0.5), pct(ack_ms, 0.99), pages.requests);
  std::fflush(stdout);
  std::_Exit(timeouts > o.n / 2 ? 1 : 0);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  return o.mode == "intake" ? intake(o) : latency(o);
}
