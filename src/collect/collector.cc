#include "collect/collector.h"

#include <fmt/format.h>

#include "core/log.h"
#include "core/regex.h"
#include "ingest/exposition.h"

namespace tocsin::collect {
namespace {

double seconds_since(core::MonoTime start, core::MonoTime end) {
  return std::chrono::duration<double>(end - start).count();
}

core::Sample make(std::string_view name, core::Labels labels, double value, core::Timestamp ts) {
  labels.set("__name__", name);
  return {std::move(labels), value, ts};
}

}  // namespace

Collector::Collector(std::shared_ptr<const config::Config> config, core::Clock& clock, Fetcher& fetcher,
                     SampleSink sink)
    : config_(std::move(config)), clock_(clock), fetcher_(fetcher), sink_(std::move(sink)) {
  for (size_t i = 0; i < config_->scrape.size(); ++i) {
    for (const auto& target : config_->scrape[i].targets) {
      jobs_.push_back(
          {false, i, target, config_->scrape[i].interval, std::nullopt, target_key(config_->scrape[i].job, target)});
    }
  }
  for (size_t i = 0; i < config_->probes.size(); ++i) {
    jobs_.push_back({true, i, "", config_->probes[i].interval, std::nullopt, target_key("", config_->probes[i].name)});
  }
}

uint64_t Collector::target_key(std::string_view job, std::string_view target) {
  return core::Labels{{"job", job}, {"target", target}}.fingerprint();
}

std::optional<core::Timestamp> Collector::run_due(core::Timestamp now) {
  std::optional<core::Timestamp> next;
  for (auto& job : jobs_) {
    if (job.interval.count() <= 0) continue;
    if (!job.next) {
      // A stable offset within the interval spreads targets out (like Prometheus).
      const std::string key = job.is_probe ? config_->probes[job.index].name : config_->scrape[job.index].job + job.target;
      const auto offset = core::Duration(static_cast<int64_t>(core::Labels{{"k", key}}.fingerprint() %
                                                              static_cast<uint64_t>(job.interval.count())));
      const auto base = core::Timestamp(now.time_since_epoch() - now.time_since_epoch() % job.interval);
      job.next = base + offset < now ? base + offset + job.interval : base + offset;
    }
    if (*job.next <= now) {
      if (owns_ && !owns_(job.key)) {
        // Another replica's: skipped this time, asked again at the next slot.
      } else if (job.is_probe) {
        probe(config_->probes[job.index], now);
      } else {
        scrape(config_->scrape[job.index], job.target, now);
      }
      // Keep the phase: the next run is the first slot after now.
      while (*job.next <= now) *job.next += job.interval;
    }
    if (!next || *job.next < *next) next = job.next;
  }
  return next;
}

void Collector::scrape(const config::ScrapeConfig& sc, const std::string& target, core::Timestamp now) {
  const core::Labels target_labels{{"job", sc.job}, {"instance", target}};
  const auto started = clock_.mono_now();
  const std::string url = target.starts_with("http://") || target.starts_with("https://")
                              ? target
                              : fmt::format("http://{}{}", target, sc.metrics_path);
  HttpResult r = fetcher_.http_get(url, sc.timeout);
  const double duration = seconds_since(started, clock_.mono_now());
  std::vector<core::Sample> samples;
  bool up = false;
  if (r.ok && r.status >= 200 && r.status < 300) {
    auto parsed = ingest::parse_exposition(r.body, now);
    if (parsed) {
      up = true;
      samples = std::move(*parsed);
      for (auto& s : samples) {
        // Target labels win over scraped ones, as with Prometheus' honor_labels: false.
        for (const auto& l : target_labels) s.labels.set(l.name, l.value);
        s.ts = now;  // staleness is judged on scrape time; exposed timestamps are ignored
      }
    } else {
      core::log::warn("scrape parse failed", {{"job", sc.job}, {"target", target}, {"error", parsed.error().message()}});
    }
  } else {
    core::log::warn("scrape failed", {{"job", sc.job}, {"target", target},
                                      {"error", r.ok ? fmt::format("HTTP {}", r.status) : r.error}});
  }
  const double scraped = static_cast<double>(samples.size());
  samples.push_back(make("up", target_labels, up ? 1 : 0, now));
  samples.push_back(make("scrape_duration_seconds", target_labels, duration, now));
  samples.push_back(make("scrape_samples_scraped", target_labels, scraped, now));
  sink_(std::move(samples));
}

void Collector::probe(const config::ProbeConfig& pc, core::Timestamp now) {
  core::Labels labels{{"probe", pc.name}, {"instance", pc.http.empty() ? pc.tcp : pc.http}};
  const auto started = clock_.mono_now();
  std::vector<core::Sample> samples;
  bool success = false;
  if (!pc.http.empty()) {
    HttpResult r = fetcher_.http_get(pc.http, pc.timeout);
    if (r.ok) {
      const bool status_ok = pc.expect_status ? r.status == pc.expect_status : (r.status >= 200 && r.status < 300);
      bool body_ok = true;
      if (!pc.body_match.empty()) {
        auto re = core::Regex::compile(pc.body_match);
        body_ok = re && re->search(r.body);  // validated at load; a failure here means no match
      }
      success = status_ok && body_ok;
      samples.push_back(make("probe_http_status_code", labels, r.status, now));
      if (r.tls_not_after) {
        const double days = std::chrono::duration<double>(*r.tls_not_after - now).count() / 86400.0;
        samples.push_back(make("probe_tls_days_left", labels, days, now));
      }
    }
  } else {
    success = fetcher_.tcp_connect(pc.tcp, pc.timeout).empty();
  }
  samples.push_back(make("probe_duration_seconds", labels, seconds_since(started, clock_.mono_now()), now));
  samples.push_back(make("probe_success", labels, success ? 1 : 0, now));
  sink_(std::move(samples));
}

}  // namespace tocsin::collect
