#include "tsdb/functions.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

namespace tocsin::tsdb {
namespace {

constexpr std::array<std::pair<Function, std::string_view>, 9> kNames = {{
    {Function::kRate, "rate"},
    {Function::kIncrease, "increase"},
    {Function::kAvgOverTime, "avg_over_time"},
    {Function::kMaxOverTime, "max_over_time"},
    {Function::kMinOverTime, "min_over_time"},
    {Function::kSumOverTime, "sum_over_time"},
    {Function::kCountOverTime, "count_over_time"},
    {Function::kQuantileOverTime, "quantile_over_time"},
    {Function::kLastOverTime, "last_over_time"},
}};

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// Kahan-Neumaier compensated summation, as Prometheus' kahanSumInc: returns the new sum and the
// new compensation. Once the sum is infinite the compensation is meaningless and reset.
std::pair<double, double> kahan_add(double inc, double sum, double c) {
  const double t = sum + inc;
  if (std::isinf(t)) {
    c = 0;
  } else if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  return {t, c};
}

// Prometheus 2.x extrapolatedRate for counters (rate, increase).
std::optional<double> extrapolated_increase(std::span<const Point> w, core::Timestamp t, core::Duration range) {
  if (w.size() < 2) return std::nullopt;
  const int64_t range_start = core::to_unix_ms(t - range);
  const int64_t range_end = core::to_unix_ms(t);
  const Point& first = w.front();
  const Point& last = w.back();
  double result = last.value - first.value;
  // A drop is a counter reset: the counter restarted from zero, so the value before the drop was
  // also an increase.
  double prev = 0;
  for (const auto& p : w) {
    if (p.value < prev) result += prev;
    prev = p.value;
  }
  double to_start = seconds(core::to_unix_ms(first.ts) - range_start);
  const double to_end = seconds(range_end - core::to_unix_ms(last.ts));
  const double sampled = seconds(core::to_unix_ms(last.ts) - core::to_unix_ms(first.ts));
  const double avg_interval = sampled / static_cast<double>(w.size() - 1);
  // A counter cannot go below zero: do not extrapolate further back than where it was zero.
  if (result > 0 && first.value >= 0) {
    const double to_zero = sampled * (first.value / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  // Extrapolate to a boundary only when a sample there would have been expected (within 1.1 average
  // intervals); otherwise the series likely started or ended inside the range: add half an interval.
  const double threshold = avg_interval * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg_interval / 2;
  interval += to_end < threshold ? to_end : avg_interval / 2;
  return result * (interval / sampled);
}

}  // namespace

std::string_view to_string(Function f) {
  for (const auto& [fn, name] : kNames) {
    if (fn == f) return name;
  }
  return "";
}

std::optional<Function> function_from_name(std::string_view name) {
  for (const auto& [fn, n] : kNames) {
    if (n == name) return fn;
  }
  return std::nullopt;
}

bool is_stale_marker(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

std::optional<double> increase(std::span<const Point> window, core::Timestamp t, core::Duration range) {
  return extrapolated_increase(window, t, range);
}

std::optional<double> rate(std::span<const Point> window, core::Timestamp t, core::Duration range) {
  auto inc = extrapolated_increase(window, t, range);
  if (!inc) return std::nullopt;
  return *inc / seconds(range.count());
}

std::optional<double> sum_over_time(std::span<const Point> window) {
  if (window.empty()) return std::nullopt;
  double sum = 0;
  double c = 0;
  for (const auto& p : window) std::tie(sum, c) = kahan_add(p.value, sum, c);
  return std::isinf(sum) ? sum : sum + c;
}

std::optional<double> avg_over_time(std::span<const Point> window) {
  if (window.empty()) return std::nullopt;
  double sum = 0;
  double c = 0;
  for (const auto& p : window) std::tie(sum, c) = kahan_add(p.value, sum, c);
  const auto n = static_cast<double>(window.size());
  if (!std::isinf(sum)) return (sum + c) / n;
  // The sum overflowed. If no sample is infinite, the mean is still finite: compute it
  // incrementally, which cannot overflow. With an infinite sample the infinite sum is the answer
  // (±Inf, or NaN for +Inf and −Inf together).
  for (const auto& p : window) {
    if (std::isinf(p.value)) return sum;
  }
  double mean = 0;
  double k = 0;
  for (const auto& p : window) {
    ++k;
    mean += (p.value - mean) / k;
  }
  return mean;
}

std::optional<double> max_over_time(std::span<const Point> window) {
  if (window.empty()) return std::nullopt;
  double m = window.front().value;
  for (const auto& p : window) {
    if (p.value > m || std::isnan(m)) m = p.value;
  }
  return m;
}

std::optional<double> min_over_time(std::span<const Point> window) {
  if (window.empty()) return std::nullopt;
  double m = window.front().value;
  for (const auto& p : window) {
    if (p.value < m || std::isnan(m)) m = p.value;
  }
  return m;
}

std::optional<double> count_over_time(std::span<const Point> window) {
  if (window.empty()) return std::nullopt;
  return static_cast<double>(window.size());
}

std::optional<double> last_over_time(std::span<const Point> window) {
  if (window.empty()) return std::nullopt;
  return window.back().value;
}

std::optional<double> quantile_over_time(double phi, std::span<const Point> window) {
  if (window.empty()) return std::nullopt;
  if (std::isnan(phi)) return std::numeric_limits<double>::quiet_NaN();
  if (phi < 0) return -std::numeric_limits<double>::infinity();
  if (phi > 1) return std::numeric_limits<double>::infinity();
  // Why thread_local: rules evaluate this on every arriving sample; one reused buffer per thread
  // avoids an allocation per evaluation.
  thread_local std::vector<double> values;
  values.clear();
  for (const auto& p : window) values.push_back(p.value);
  // Prometheus sorts with NaN first (its Less puts NaN below everything).
  std::sort(values.begin(), values.end(),
            [](double a, double b) { return a < b || (std::isnan(a) && !std::isnan(b)); });
  const double n = static_cast<double>(values.size());
  const double rank = phi * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) + values[static_cast<size_t>(upper)] * weight;
}

std::optional<double> apply(Function f, double phi, std::span<const Point> window, core::Timestamp t,
                            core::Duration range) {
  switch (f) {
    case Function::kNone:
      return last_over_time(window);
    case Function::kRate:
      return rate(window, t, range);
    case Function::kIncrease:
      return increase(window, t, range);
    case Function::kAvgOverTime:
      return avg_over_time(window);
    case Function::kMaxOverTime:
      return max_over_time(window);
    case Function::kMinOverTime:
      return min_over_time(window);
    case Function::kSumOverTime:
      return sum_over_time(window);
    case Function::kCountOverTime:
      return count_over_time(window);
    case Function::kQuantileOverTime:
      return quantile_over_time(phi, window);
    case Function::kLastOverTime:
      return last_over_time(window);
  }
  return std::nullopt;
}

}  // namespace tocsin::tsdb
