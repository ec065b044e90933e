// Thinning a long series for drawing or for the API without losing its spikes: the time range is
// cut into equal columns and, of the points in each column, only the first, the lowest, the
// highest and the last are kept (in time order). The same rule detect_plot applies per pixel
// column.
// Thread-safety: pure function.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tocsin::chart {

// The kept indices (ascending) of `n` points in time order, grouped into runs of equal
// `column(i)`: of each run, the first, the lowest and highest `key(i)`, and the last.
template <class ColumnFn, class KeyFn>
std::vector<size_t> thin_by_column(size_t n, ColumnFn column, KeyFn key) {
  std::vector<size_t> out;
  size_t i = 0;
  while (i < n) {
    const auto col = column(i);
    size_t first = i, lo = i, hi = i, last = i;
    while (i < n && column(i) == col) {
      if (key(i) < key(lo)) lo = i;
      if (key(i) > key(hi)) hi = i;
      last = i++;
    }
    std::array<size_t, 4> idx{first, lo, hi, last};
    std::sort(idx.begin(), idx.end());
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k == 0 || idx[k] != idx[k - 1]) out.push_back(idx[k]);
    }
  }
  return out;
}

// Indices (ascending) of the points to keep out of `n` points in time order, with at most
// `max_points` kept: all of them when n <= max_points, else first/min/max/last of each of
// max_points / 4 columns of [ts_ms(0), ts_ms(n - 1)]. `ts_ms(i)` is point i's time in unix ms and
// `key(i)` the value whose extremes must survive.
template <class TsFn, class KeyFn>
std::vector<size_t> thin_indices(size_t n, size_t max_points, TsFn ts_ms, KeyFn key) {
  if (n <= max_points || max_points < 4) {
    std::vector<size_t> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = i;
    return out;
  }
  const int64_t t0 = ts_ms(0);
  const int64_t span = std::max<int64_t>(ts_ms(n - 1) - t0, 1);
  const auto columns = static_cast<int64_t>(max_points / 4);
  // Column of a time; the last point falls in the last column, not one past it.
  auto column = [&](int64_t t) {
    return std::min<int64_t>(
        static_cast<int64_t>(static_cast<double>(t - t0) / static_cast<double>(span) * static_cast<double>(columns)),
        columns - 1);
  };
  return thin_by_column(n, [&](size_t i) { return column(ts_ms(i)); }, key);
}

}  // namespace tocsin::chart
