// Where a surprise S falls in `auto`'s tail histograms: bins of log2(1 + S), kWidth wide, the last
// one open-ended. position() is the coordinate (bin i holds [i, i+1)), bin() the bin, and
// max_fraction() a cheap upper bound of where in its bin S lies.
// Thread-safety: pure functions; the tables are built once, before main().
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace tocsin::detect::tail_bins {

inline constexpr int kBins = 64;
inline constexpr double kWidth = 0.125;  // in log2(1 + S)

// log2(1 + max(S, 0)) / kWidth.
double position(double s);

// clamp(int(position(s)), 0, kBins - 1): the same integer for every finite S, found without log2
// (the exponent of 1 + S and its top mantissa bits pick a bin from a table, one comparison with
// the next bin's start settles it). Why: most samples need only their statistics' bins, and the
// four log2 calls per sample were an eighth of the detector's instructions. NaN: bin 0; +infinity:
// the top bin (int() of an infinite position is undefined). Test: TailBins.*.
inline int bin(double s);

// At least clamp(position(s) - bin(s), 0, 1) as computed, for a finite S below the top bin (0 in
// the top bin, as the histograms use it): from the tangent of log2 at the bin's start, which lies
// above log2 (concave), plus a margin for rounding; at most about 0.05 above the true fraction.
inline double max_fraction(double s, int bin);

// Inline (both run four times per sample), over tables built in tail_bins.cc.
namespace detail {
// 1 + S from this value on is in the top bin or beyond the tables (log2 = 8 > 63 / 8).
inline constexpr double kBeyond = 256;
// Cells of the table that picks a bin: the exponent of 1 + S (0 to 7) and its top kCellBits
// mantissa bits. A cell is at most 1/32 of an octave wide, a bin 1/8 of one: a cell holds at most
// one bin's start, so its bin is the bin of the cell's first double, or the next one.
inline constexpr int kCellBits = 5;
inline constexpr size_t kCells = size_t{8} << kCellBits;
// Covers, many times over, how far position() may sit above its true value at a bin's start
// (log2's rounding, a few 1e-15) and the rounding of the tangent's own arithmetic.
inline constexpr double kMargin = 1e-9;
// kStart[i]: the smallest double x >= 1 with log2(x) / kWidth >= i, so that 1 + max(S, 0) >= kStart[i]
// exactly when position(S) >= i; kStart[0] = 1, kStart[kBins] = infinity.
extern const std::array<double, kBins + 1> kStart;
extern const std::array<uint8_t, kCells> kCellBin;  // the bin of each cell's first double
extern const std::array<double, kBins> kSlope;      // d position / dx at each bin's start

// The cell of x in [1, kBeyond): its exponent and top mantissa bits.
inline size_t cell(double x) {
  return static_cast<size_t>((std::bit_cast<uint64_t>(x) >> (52 - kCellBits)) - (uint64_t{1023} << kCellBits));
}
}  // namespace detail

int bin(double s) {
  using namespace detail;
  const double x = 1 + std::max(s, 0.0);
  if (!(x < kBeyond)) return x >= kBeyond ? kBins - 1 : 0;  // beyond the tables, or NaN
  const int b = kCellBin[cell(x)];
  // Bin kBins - 1 compares with infinity: never moves on.
  return b + static_cast<int>(x >= kStart[static_cast<size_t>(b + 1)]);
}

double max_fraction(double s, int bin) {
  using namespace detail;
  if (bin >= kBins - 1) return 0;
  const auto i = static_cast<size_t>(bin);
  const double x = 1 + std::max(s, 0.0);
  return std::min(1.0, (x - kStart[i]) * kSlope[i] + kMargin);
}

}  // namespace tocsin::detect::tail_bins
