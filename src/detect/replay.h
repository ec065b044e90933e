// Replaying a stored window of one series through a fresh detector, for the charts and the
// series API (docs/charts.md): for each sample, the band it was judged against, its score and
// the detector's decision. A fresh detector has seen only the window, so the first samples are
// its warm-up and may differ from what the live detector — which saw more history — decided.
//
// An over-time rule (`rate(x[5m])`) is replayed on the function's value at each sample's time,
// computed from the window alone (samples before the window are not there: the first `range` of
// it reads a shorter window than the live rule did).
// Thread-safety: pure function (the spec is immutable; the detector it makes is local).
#pragma once

#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/labels.h"
#include "core/time.h"
#include "detect/detector.h"
#include "tsdb/expr.h"

namespace tocsin::detect {

struct ReplayedPoint {
  core::Timestamp ts{};
  double value = 0;       // what the detector judged: the sample, or the function's value
  double score = 0;       // in [0, 1]
  bool crossing = false;  // the detector's decision for this sample (before `for` / keep_firing_for)
  // The band the sample was judged against (bounds() before it); nullopt while warming up.
  std::optional<std::pair<double, double>> bounds;
};

// `window`: one series' samples in time order. Non-finite values (staleness markers) are not fed
// to the detector and give no point.
std::vector<ReplayedPoint> replay(const DetectorSpec& spec, const tsdb::SelectExpr& expr,
                                  std::span<const tsdb::Point> window);

// The labels of the alert a rule raises for a series: the series' labels without __name__, plus
// the rule's labels, alertname and severity (the rule engine's; its fingerprint is the alert's).
core::Labels alert_labels(const config::Rule& rule, const core::Labels& series_labels);

}  // namespace tocsin::detect
