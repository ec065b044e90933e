#include "detect/auto/tail_bins.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

namespace tocsin::detect::tail_bins {
namespace detail {

// Found by bisection over the bit patterns of the doubles in [1, 256] (positive doubles order as
// their bits do), with the same log2 that position() calls: whatever its rounding, the boundary is
// where it puts it. That relies on log2 not decreasing anywhere, which
// TailBins.TheTableGivesPositionsBin checks around every boundary.
const std::array<double, kBins + 1> kStart = [] {
  std::array<double, kBins + 1> t{};
  t[0] = 1;
  for (int i = 1; i < kBins; ++i) {
    auto reaches = [i](uint64_t bits) { return std::log2(std::bit_cast<double>(bits)) / kWidth >= i; };
    uint64_t lo = std::bit_cast<uint64_t>(1.0);      // does not reach i
    uint64_t hi = std::bit_cast<uint64_t>(kBeyond);  // reaches every bin
    while (hi - lo > 1) {
      const uint64_t mid = lo + (hi - lo) / 2;
      (reaches(mid) ? hi : lo) = mid;
    }
    t[static_cast<size_t>(i)] = std::bit_cast<double>(hi);
  }
  t[kBins] = std::numeric_limits<double>::infinity();
  return t;
}();

const std::array<uint8_t, kCells> kCellBin = [] {
  std::array<uint8_t, kCells> t{};
  for (size_t c = 0; c < kCells; ++c) {
    const double first = std::bit_cast<double>((uint64_t{1023} << 52) + (uint64_t{c} << (52 - kCellBits)));
    int b = 0;
    while (b + 1 < kBins && first >= kStart[static_cast<size_t>(b + 1)]) ++b;
    t[c] = static_cast<uint8_t>(b);
  }
  return t;
}();

const std::array<double, kBins> kSlope = [] {
  std::array<double, kBins> t{};
  for (size_t i = 0; i < kBins; ++i) t[i] = 1 / (kStart[i] * std::numbers::ln2 * kWidth);
  return t;
}();

}  // namespace detail

double position(double s) { return std::log2(1 + std::max(s, 0.0)) / kWidth; }

}  // namespace tocsin::detect::tail_bins
