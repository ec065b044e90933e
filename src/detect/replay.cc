#include "detect/replay.h"

#include <algorithm>
#include <cmath>

#include "tsdb/functions.h"

namespace tocsin::detect {

std::vector<ReplayedPoint> replay(const DetectorSpec& spec, const tsdb::SelectExpr& expr,
                                  std::span<const tsdb::Point> window) {
  std::vector<ReplayedPoint> out;
  out.reserve(window.size());
  const std::unique_ptr<SeriesDetector> detector = spec.make();
  std::vector<tsdb::Point> range;  // the function's window at the current sample
  size_t first = 0;                // index of the oldest sample in [ts − range, ts]
  for (size_t i = 0; i < window.size(); ++i) {
    const tsdb::Point& p = window[i];
    if (!std::isfinite(p.value)) continue;
    double value = p.value;
    if (expr.function != tsdb::Function::kNone) {
      while (window[first].ts < p.ts - expr.range) ++first;
      range.clear();
      for (size_t k = first; k <= i; ++k) {
        if (!tsdb::is_stale_marker(window[k].value)) range.push_back(window[k]);
      }
      auto v = tsdb::apply(expr.function, expr.phi, range, p.ts, expr.range);
      if (!v) continue;
      value = *v;
    }
    // A detector that decides without samples (absent) is asked at this sample's time first.
    Decision pending;
    if (const auto due = detector->next_check(); due && *due < p.ts) pending = detector->check(p.ts);
    ReplayedPoint r;
    r.ts = p.ts;
    r.value = value;
    r.bounds = detector->bounds();
    const Decision d = detector->update(p.ts, value);
    r.score = std::clamp(std::max(pending.score, d.score), 0.0, 1.0);
    r.crossing = d.firing;
    out.push_back(r);
  }
  return out;
}

core::Labels alert_labels(const config::Rule& rule, const core::Labels& series_labels) {
  core::Labels labels = series_labels;
  labels.set("__name__", "");
  for (const auto& [k, v] : rule.labels) labels.set(k, v);
  labels.set("alertname", rule.name);
  labels.set("severity", rule.severity);
  return labels;
}

}  // namespace tocsin::detect
