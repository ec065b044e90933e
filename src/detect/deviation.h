// What the baseline detectors (sigma, ewma, mad) share: judging a value against a centre and a
// scale, `center ± n·scale`, in one or both directions, and the score convention.
//
// Score convention (all basic detectors): with r = |x − center| / (n·scale), the deviation in
// units of the firing distance, score = r² / (1 + r²). It is 0 at the centre, exactly 0.5 at the
// firing bound, 0.8 at twice and 0.9 at three times the bound, and tends to 1; so
// "score > 0.5" and "firing" agree. A deviation in a direction that is not watched scores 0.
// Thread-safety: pure functions.
#pragma once

#include <string_view>
#include <utility>

#include "core/result.h"
#include "detect/detector.h"
#include "detect/param_reader.h"

namespace tocsin::detect {

enum class Direction { kUp, kDown, kBoth };

// Reads the optional `direction: up|down|both` parameter (default both).
core::Result<Direction> read_direction(ParamReader& params);
std::string_view to_string(Direction direction);

// r²/(1+r²) for r ≥ 0; 1 for r = +∞.
double ratio_score(double r);

// Judges x against center ± n·scale. scale = 0 (or too small to matter next to center) means any
// value different from center lies infinitely far out.
Decision judge_deviation(double x, double center, double scale, double n, Direction direction);

// The non-firing band [lower, upper] for a centre and scale (±∞ on an unwatched side).
std::pair<double, double> deviation_band(double center, double scale, double n, Direction direction);

// "value > μ + 3σ", "value < μ − 3σ" or "value outside μ ± 3σ", with the given symbols.
std::string describe_deviation(std::string_view center, std::string_view scale, double n, Direction direction);

}  // namespace tocsin::detect
