// A small metrics registry rendered in the Prometheus text exposition format (version 0.0.4).
// Metrics are created once (registration takes a lock) and then updated lock-free on hot paths:
//   auto& samples = registry.counter("tocsin_samples_ingested_total", "Samples accepted.");
//   samples.inc();
// Thread-safety: registration and render() lock; inc/set/observe are atomic. The references the
// registry hands out stay valid for the registry's lifetime.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/labels.h"

namespace tocsin::core {

class Counter {
 public:
  void inc(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  const std::vector<double>& upper_bounds() const { return bounds_; }
  uint64_t bucket_count(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }  // not cumulative
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

// Latency buckets in seconds, 100 µs to 10 s.
std::vector<double> default_latency_buckets();

class MetricsRegistry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                       std::vector<double> upper_bounds = default_latency_buckets());
  // Adds text rendered after the registry's own metrics on every render(): for values that are
  // cheaper to compute when scraped than to keep updated (e.g. per-rule health). Whoever adds a
  // collector that refers to itself removes it before it goes away.
  using CollectorId = uint64_t;
  CollectorId add_collector(std::function<std::string()> collector);
  void remove_collector(CollectorId id);
  std::string render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // keyed by rendered labels
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::map<std::string, Labels> labels;
  };
  Family& family(const std::string& name, Type type, const std::string& help);
  std::string render_locked() const;
  template <class Metric, class... Args>
  Metric& slot(Family& f, std::map<std::string, std::unique_ptr<Metric>>& slots, const Labels& labels, Args&&... args);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::map<CollectorId, std::function<std::string()>> collectors_;
  CollectorId next_collector_ = 1;
};

}  // namespace tocsin::core
