// The rule `select:` expressions tocsin evaluates: a PromQL subset, documented exactly in
// docs/selectors.md.
//   expr     = selector | fn "(" selector "[" duration "]" ")"
//            | "quantile_over_time" "(" number "," selector "[" duration "]" ")"
//   selector = metric_name [ "{" [ matcher { "," matcher } [","] ] "}" ] | "{" matcher … "}"
//   fn       = rate | increase | avg_over_time | max_over_time | min_over_time | sum_over_time
//            | count_over_time | last_over_time
// Errors name the 0-based byte offset (and 1-based column) where the text stops making sense.
// evaluate() reads one series' window from a SeriesStore and applies the function.
// Thread-safety: SelectExpr is immutable after parsing; evaluate() locks the store.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/matcher.h"
#include "core/result.h"
#include "core/time.h"
#include "tsdb/functions.h"
#include "tsdb/series_store.h"

namespace tocsin::tsdb {

// Prometheus' default lookback for instant-vector selectors.
inline constexpr core::Duration kDefaultLookback = std::chrono::minutes(5);

struct SelectExpr {
  Function function = Function::kNone;
  core::Duration range{0};  // > 0 when function != kNone
  double phi = 0;           // quantile_over_time only, in [0, 1]
  std::vector<core::Matcher> matchers;

  // Canonical text, e.g. `quantile_over_time(0.9, http_latency_seconds{job="api"}[5m])`.
  std::string to_string() const;
};

core::Result<SelectExpr> parse_select_expr(std::string_view text);

// The value of `expr` for one series at `t`: for kNone the newest sample in [t − lookback, t];
// otherwise the function over [t − range, t]. Staleness markers are dropped from the window.
// nullopt: unknown series, or no value (see functions.h).
// `scratch` is a caller-owned buffer reused across calls so that evaluation does not allocate.
std::optional<double> evaluate(const SeriesStore& store, SeriesRef ref, const SelectExpr& expr, core::Timestamp t,
                               std::vector<Point>& scratch, core::Duration lookback = kDefaultLookback);

}  // namespace tocsin::tsdb
