// PromQL over-time functions over the samples of one series, as pure functions of a window of
// samples, the evaluation time t and the range r. docs/selectors.md states the exact semantics;
// in short they follow Prometheus 2.x (the version tocsin is compared with, 2.42):
//   - the window is every sample with t − r <= ts <= t (both ends included, as Prometheus 2.x;
//     Prometheus 3 excludes t − r). select_window() / evaluate() read it from a SeriesStore.
//   - rate / increase: counter resets are corrected (a drop adds the value before the drop), the
//     change is extrapolated towards the range boundaries (at most to the boundary when the first
//     or last sample is within 1.1 average intervals of it, otherwise by half an interval; never
//     to before the counter's extrapolated zero), rate = increase / r in seconds. Needs ≥ 2 samples.
//   - *_over_time: NaN-tolerant max/min (NaN only when every sample is NaN), Kahan-compensated sum
//     and average, quantile with linear interpolation between closest ranks.
// Every function returns nullopt when Prometheus would return no sample (an empty window, or
// fewer than two samples for rate/increase).
// Thread-safety: pure functions; evaluate() locks the store it reads.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "tsdb/gorilla.h"

namespace tocsin::tsdb {

enum class Function {
  kNone,  // an instant-vector selector: the newest sample within the lookback
  kRate,
  kIncrease,
  kAvgOverTime,
  kMaxOverTime,
  kMinOverTime,
  kSumOverTime,
  kCountOverTime,
  kQuantileOverTime,
  kLastOverTime,
};

std::string_view to_string(Function f);
// The function with that PromQL name; nullopt for kNone and unknown names.
std::optional<Function> function_from_name(std::string_view name);

// Prometheus' staleness marker (a NaN with this bit pattern): a series that disappeared. Readers
// drop it from windows, as Prometheus does.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
bool is_stale_marker(double v);

std::optional<double> rate(std::span<const Point> window, core::Timestamp t, core::Duration range);
std::optional<double> increase(std::span<const Point> window, core::Timestamp t, core::Duration range);
std::optional<double> avg_over_time(std::span<const Point> window);
std::optional<double> max_over_time(std::span<const Point> window);
std::optional<double> min_over_time(std::span<const Point> window);
std::optional<double> sum_over_time(std::span<const Point> window);
std::optional<double> count_over_time(std::span<const Point> window);
std::optional<double> last_over_time(std::span<const Point> window);
// φ < 0 gives −Inf, φ > 1 gives +Inf, NaN gives NaN (as Prometheus; the parser rejects them).
std::optional<double> quantile_over_time(double phi, std::span<const Point> window);

// Applies `f` to a window selected for (t, range); kNone gives the newest sample.
std::optional<double> apply(Function f, double phi, std::span<const Point> window, core::Timestamp t,
                            core::Duration range);

}  // namespace tocsin::tsdb
