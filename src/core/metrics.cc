#include "core/metrics.h"

#include <fmt/format.h>

#include <cassert>
#include <cmath>

namespace tocsin::core {
namespace {

void atomic_add(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// Renders labels plus an optional extra pair (the histogram's `le`).
std::string render_labels(const Labels& labels, std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return "";
  Labels all = labels;
  if (!extra_name.empty()) all.set(extra_name, extra_value);
  std::string out = "{";
  bool first = true;
  for (const auto& l : all) {
    if (!first) out += ',';
    first = false;
    out += fmt::format("{}=\"{}\"", l.name, escape_label_value(l.value));
  }
  return out + "}";
}

std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

void Counter::inc(double by) {
  assert(by >= 0 && "counters only go up");
  atomic_add(value_, by);
}

void Gauge::add(double by) { atomic_add(value_, by); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

std::vector<double> default_latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, Type type, const std::string& help) {
  assert(is_valid_metric_name(name) && "metric names are fixed in code");
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  }
  assert(it->second.type == type && "one metric name, one type");
  return it->second;
}

// Finds or creates the metric for `labels` in `slots`; the lock is held by the caller.
template <class Metric, class... Args>
Metric& MetricsRegistry::slot(Family& f, std::map<std::string, std::unique_ptr<Metric>>& slots, const Labels& labels,
                              Args&&... args) {
  const auto key = labels.to_string();
  auto& slot = slots[key];
  if (!slot) {
    slot = std::make_unique<Metric>(std::forward<Args>(args)...);
    f.labels[key] = labels;
  }
  return *slot;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Type::kCounter, help);
  return slot(f, f.counters, labels);
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Type::kGauge, help);
  return slot(f, f.gauges, labels);
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, const Labels& labels,
                                      std::vector<double> upper_bounds) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Type::kHistogram, help);
  return slot(f, f.histograms, labels, std::move(upper_bounds));
}

MetricsRegistry::CollectorId MetricsRegistry::add_collector(std::function<std::string()> collector) {
  std::lock_guard lock(mu_);
  const CollectorId id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void MetricsRegistry::remove_collector(CollectorId id) {
  std::lock_guard lock(mu_);
  collectors_.erase(id);
}

std::string MetricsRegistry::render() const {
  std::vector<std::function<std::string()>> collectors;
  std::string out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, c] : collectors_) collectors.push_back(c);
    out = render_locked();
  }
  // Collectors run without the registry lock: they may take their owner's locks.
  for (const auto& c : collectors) out += c();
  return out;
}

std::string MetricsRegistry::render_locked() const {
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == Type::kCounter ? "counter" : f.type == Type::kGauge ? "gauge" : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(f.help), name, type);
    for (const auto& [key, c] : f.counters) {
      out += fmt::format("{}{} {}\n", name, render_labels(f.labels.at(key)), format_value(c->value()));
    }
    for (const auto& [key, g] : f.gauges) {
      out += fmt::format("{}{} {}\n", name, render_labels(f.labels.at(key)), format_value(g->value()));
    }
    for (const auto& [key, h] : f.histograms) {
      const Labels& labels = f.labels.at(key);
      uint64_t cumulative = 0;
      for (size_t i = 0; i < h->upper_bounds().size(); ++i) {
        cumulative += h->bucket_count(i);
        out += fmt::format("{}_bucket{} {}\n", name, render_labels(labels, "le", format_value(h->upper_bounds()[i])),
                           cumulative);
      }
      cumulative += h->bucket_count(h->upper_bounds().size());
      out += fmt::format("{}_bucket{} {}\n", name, render_labels(labels, "le", "+Inf"), cumulative);
      out += fmt::format("{}_sum{} {}\n", name, render_labels(labels), format_value(h->sum()));
      out += fmt::format("{}_count{} {}\n", name, render_labels(labels), h->count());
    }
  }
  return out;
}

}  // namespace tocsin::core
