#include "chart/thin.h"

#include <gtest/gtest.h>

#include <vector>

namespace tocsin::chart {
namespace {

TEST(ThinIndices, KeepsEverythingWhenFew) {
  std::vector<double> v = {1, 2, 3};
  auto idx = thin_indices(
      v.size(), 10, [](size_t i) { return static_cast<int64_t>(i); }, [&](size_t i) { return v[i]; });
  EXPECT_EQ(idx, (std::vector<size_t>{0, 1, 2}));
}

TEST(ThinIndices, BoundedAndKeepsSpikesAndEnds) {
  std::vector<double> v(100'000, 1.0);
  v[54'321] = 500;   // a one-sample spike up
  v[77'777] = -300;  // and down
  auto idx = thin_indices(
      v.size(), 1000, [](size_t i) { return static_cast<int64_t>(i) * 1000; }, [&](size_t i) { return v[i]; });
  EXPECT_LE(idx.size(), 1000u);
  EXPECT_GT(idx.size(), 400u);
  EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
  EXPECT_EQ(idx.front(), 0u);
  EXPECT_EQ(idx.back(), v.size() - 1);
  EXPECT_NE(std::find(idx.begin(), idx.end(), 54'321u), idx.end());
  EXPECT_NE(std::find(idx.begin(), idx.end(), 77'777u), idx.end());
}

}  // namespace
}  // namespace tocsin::chart
