#include "detect/auto/surprise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace tocsin::detect {
namespace {

// The table's promise: within 1e-9 of the formula everywhere below 8, on a sweep far finer than
// its knots (1/32), and the formula itself where the table ends.
TEST(Surprise, TheTableGivesTheFormulasNumberWithin1e9) {
  double worst = 0;
  for (int k = 0; k < 8 * 4096; ++k) {
    const double z = k / 4096.0 + 1.0 / 8192;  // between the sweep's points too
    worst = std::max(worst, std::fabs(surprise::fast(z) - surprise::exact(z)));
    ASSERT_NEAR(surprise::fast(-z), surprise::exact(z), 1e-9) << z;
  }
  EXPECT_GT(worst, 0) << "the table differs from the formula somewhere (else it is not a table)";
  EXPECT_EQ(surprise::fast(8), surprise::exact(8));
  EXPECT_EQ(surprise::fast(40), surprise::exact(40));
  EXPECT_EQ(surprise::fast(0), 0);
  // Known values: a two-sided p of 0.05 at z = 1.959964, 0.0027 at z = 3 (the 3-sigma rule).
  EXPECT_NEAR(surprise::fast(1.959963984540054), -std::log10(0.05), 1e-9);
  EXPECT_NEAR(surprise::fast(3), -std::log10(0.0026997960632601866), 1e-9);
  EXPECT_EQ(surprise::fast(std::nan("")), surprise::exact(std::nan("")));  // whatever the formula says
}

// `auto` takes the larger of two surprises from the larger |z|: that needs S to increase with |z|,
// between the knots too.
TEST(Surprise, TheTableIncreasesWithZ) {
  double prev = surprise::fast(0);
  for (int k = 1; k < 8 * 65536; ++k) {
    const double s = surprise::fast(k / 65536.0);
    ASSERT_GT(s, prev) << k / 65536.0;
    prev = s;
  }
}

}  // namespace
}  // namespace tocsin::detect
