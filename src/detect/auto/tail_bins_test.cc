#include "detect/auto/tail_bins.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace tocsin::detect {
namespace {

// The bin as position() defines it: what bin() must equal.
int bin_by_log2(double s) { return std::clamp(static_cast<int>(tail_bins::position(s)), 0, tail_bins::kBins - 1); }

// Around every bin boundary, a thousand doubles either side, and a sweep of surprises from 0 to
// beyond the top bin: bin() gives position()'s bin for each.
TEST(TailBins, TheTableGivesPositionsBin) {
  int boundaries = 0;
  for (int i = 1; i < tail_bins::kBins; ++i) {
    // The boundary by position() itself: the first S (on a fine grid) whose bin is i.
    const double s = std::exp2(i * tail_bins::kWidth) - 1;
    double below = s;
    double above = s;
    for (int k = 0; k < 1000; ++k) {
      below = std::nextafter(below, 0.0);
      above = std::nextafter(above, 1e9);
      ASSERT_EQ(tail_bins::bin(below), bin_by_log2(below)) << "S = " << below << ", boundary " << i;
      ASSERT_EQ(tail_bins::bin(above), bin_by_log2(above)) << "S = " << above << ", boundary " << i;
    }
    ASSERT_EQ(tail_bins::bin(s), bin_by_log2(s)) << "S = " << s;
    // Both bins meet within the doubles looked at: the boundary was among them.
    if (bin_by_log2(below) == i - 1 && bin_by_log2(above) == i) ++boundaries;
  }
  EXPECT_EQ(boundaries, tail_bins::kBins - 1);
  for (int k = 0; k <= 300'000; ++k) {
    const double s = k / 1000.0;  // 0 to 300: the top bin starts near 234
    ASSERT_EQ(tail_bins::bin(s), bin_by_log2(s)) << "S = " << s;
  }
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-30, 9);
  for (int k = 0; k < 1'000'000; ++k) {
    const double s = std::exp2(exponent(rng));
    ASSERT_EQ(tail_bins::bin(s), bin_by_log2(s)) << "S = " << s;
  }
}

TEST(TailBins, TheEdges) {
  EXPECT_EQ(tail_bins::bin(0), 0);
  EXPECT_EQ(tail_bins::bin(-5), 0);  // a negative surprise counts as 0, as in position()
  EXPECT_EQ(tail_bins::bin(1e300), tail_bins::kBins - 1);
  EXPECT_EQ(tail_bins::bin(std::numeric_limits<double>::quiet_NaN()), 0);
  EXPECT_EQ(tail_bins::bin(std::numeric_limits<double>::infinity()), tail_bins::kBins - 1);
  // Bin 8 starts at S = 1 (log2 2 = 1 = 8 widths), exactly.
  EXPECT_EQ(tail_bins::bin(1), 8);
  EXPECT_EQ(tail_bins::bin(0.999999), 7);
}

// max_fraction() is an upper bound of where in its bin a surprise lies, as position() computes it,
// and a close one (the tangent of log2 at the bin's start overshoots by at most about 0.05).
TEST(TailBins, TheFractionBoundIsAboveTheFractionAndClose) {
  double loosest = 0;
  auto check = [&](double s) {
    const int b = tail_bins::bin(s);
    const double frac = b == tail_bins::kBins - 1 ? 0.0 : std::clamp(tail_bins::position(s) - b, 0.0, 1.0);
    const double bound = tail_bins::max_fraction(s, b);
    ASSERT_GE(bound, frac) << "S = " << s;
    ASSERT_LE(bound, frac + 0.06) << "S = " << s;
    loosest = std::max(loosest, bound - frac);
  };
  for (int i = 1; i < tail_bins::kBins; ++i) {
    // At each bin's start, where the bound is tightest, to the last double.
    double s = std::exp2(i * tail_bins::kWidth) - 1;
    for (int k = 0; k < 200; ++k) s = std::nextafter(s, 0.0);
    for (int k = 0; k < 400; ++k, s = std::nextafter(s, 1e9)) check(s);
  }
  for (int k = 0; k <= 300'000; ++k) check(k / 1000.0);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> exponent(-40, 9);
  for (int k = 0; k < 1'000'000; ++k) check(std::exp2(exponent(rng)));
  EXPECT_GT(loosest, 0.02) << "the bound is not the fraction itself";
  EXPECT_EQ(tail_bins::max_fraction(1000, tail_bins::kBins - 1), 0) << "the top bin has no fraction";
}

}  // namespace
}  // namespace tocsin::detect
