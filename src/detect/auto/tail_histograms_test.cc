#include "detect/auto/tail_histograms.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>

namespace tocsin::detect {
namespace {

// observe() decides most samples from lower bounds of the weights above, without their exact
// positions; whatever it decides, its p-value is bit for bit the one of the full computation
// (p_value(), on the same state). Statistics as `auto` makes them: a surprise (mostly small, now
// and then large), its short average, and two absolute mean residuals, at three paces.
TEST(TailHistograms, TheBoundsDecideAsTheFullSumDoes) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> uniform(0, 1);
  for (const double k : {1.0, 20.0, 300.0}) {
    TailHistograms h;
    const double looks = TailHistograms::kStats * k;
    double mean_s = 0;
    double mean_z = 0;
    double mean_z_long = 0;
    int below_one = 0;
    int one = 0;
    for (int i = 0; i < 200'000; ++i) {
      const double z = normal(rng) * (uniform(rng) < 0.002 ? 6 : 1);
      // The surprise of z, roughly: -log10 of a two-sided normal tail.
      const double s = -std::log10(std::erfc(std::fabs(z) / std::sqrt(2.0)));
      mean_s += (s - mean_s) / (6 * k);
      mean_z += (z - mean_z) / (8 * k);
      mean_z_long += (z - mean_z_long) / (64 * k);
      const std::array<double, TailHistograms::kStats> stats = {s, mean_s, std::fabs(mean_z), std::fabs(mean_z_long)};
      const double full = h.p_value(stats, looks);
      const double p = h.observe(stats, TailHistograms::growth(k), looks);
      ASSERT_EQ(p, full) << "sample " << i << " at pace " << k;
      ++(p < 1 ? below_one : one);
    }
    // Both outcomes occur often, so both ways through observe() were compared.
    EXPECT_GT(below_one, 100) << "pace " << k;
    EXPECT_GT(one, 50'000) << "pace " << k;
  }
}

}  // namespace
}  // namespace tocsin::detect
