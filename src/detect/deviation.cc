#include "detect/deviation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace tocsin::detect {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Relative tolerance below which a scale or a deviation counts as zero: running sums over many
// identical values can leave a few ulps of noise that must not look like spread.
constexpr double kRelativeEpsilon = 1e-12;

double tolerance(double center) { return kRelativeEpsilon * std::max(1.0, std::fabs(center)); }

}  // namespace

core::Result<Direction> read_direction(ParamReader& params) {
  const auto word = TOCSIN_TRY(params.word("direction", {"up", "down", "both"}));
  if (!word || *word == "both") return Direction::kBoth;
  return *word == "up" ? Direction::kUp : Direction::kDown;
}

std::string_view to_string(Direction direction) {
  switch (direction) {
    case Direction::kUp: return "up";
    case Direction::kDown: return "down";
    case Direction::kBoth: return "both";
  }
  return "both";
}

double ratio_score(double r) {
  if (!(r > 0)) return 0;
  if (std::isinf(r)) return 1;
  return r * r / (1 + r * r);
}

Decision judge_deviation(double x, double center, double scale, double n, Direction direction) {
  const double dev = x - center;
  if (std::fabs(dev) <= tolerance(center)) return {0, false};
  if ((dev > 0 && direction == Direction::kDown) || (dev < 0 && direction == Direction::kUp)) return {0, false};
  if (scale <= tolerance(center)) return {1, true};
  const double bound = n * scale;
  // Compare against the bound itself (center ± n·scale), the number users see.
  const bool firing = dev > 0 ? x > center + bound : x < center - bound;
  return {ratio_score(std::fabs(dev) / bound), firing};
}

std::pair<double, double> deviation_band(double center, double scale, double n, Direction direction) {
  const double lower = direction == Direction::kUp ? -kInf : center - n * scale;
  const double upper = direction == Direction::kDown ? kInf : center + n * scale;
  return {lower, upper};
}

std::string describe_deviation(std::string_view center, std::string_view scale, double n, Direction direction) {
  switch (direction) {
    case Direction::kUp: return fmt::format("value > {} + {}{}", center, n, scale);
    case Direction::kDown: return fmt::format("value < {} − {}{}", center, n, scale);
    case Direction::kBoth: break;
  }
  return fmt::format("value outside {} ± {}{}", center, n, scale);
}

}  // namespace tocsin::detect
