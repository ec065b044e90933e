// The KPI gauges of /metrics for Grafana users (docs/kpi.md#metrics): every KPI over a fixed
// trailing window (30 days), overall and per plan, rendered by a collector of the metrics registry
// at scrape time. Computing them reads every incident of the window with its details, so the text
// is cached: recomputed when `refresh` has passed on the real (monotonic) clock or the server's
// clock moved by `refresh` either way since the last computation (a simulated clock jumps).
// Thread-safety: render() may be called from any thread (it takes its own mutex, then reads the
// store in a read transaction).
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/metrics.h"
#include "report/kpi.h"
#include "store/store.h"

namespace tocsin::report {

class KpiMetrics {
 public:
  struct Options {
    Duration window = kDefaultKpiWindow;
    Duration refresh = std::chrono::seconds(60);
  };
  // Registers the collector; the destructor removes it. `store`, `clock` and `registry` must
  // outlive this object.
  KpiMetrics(store::Store& store, const core::Clock& clock, core::MetricsRegistry& registry, Options options);
  ~KpiMetrics();
  KpiMetrics(const KpiMetrics&) = delete;
  KpiMetrics& operator=(const KpiMetrics&) = delete;

  // The Prometheus text: the KPI families, plus tocsin_kpi_compute_seconds (what the last
  // computation cost) and tocsin_kpi_computed_timestamp_seconds (the `now` it was computed at).
  std::string render();

 private:
  store::Store& store_;
  const core::Clock& clock_;
  core::MetricsRegistry& registry_;
  Options options_;
  core::MetricsRegistry::CollectorId collector_ = 0;
  std::mutex mu_;
  std::string text_;
  std::optional<core::MonoTime> computed_mono_;
  Timestamp computed_now_{};
  double compute_seconds_ = 0;
};

}  // namespace tocsin::report
