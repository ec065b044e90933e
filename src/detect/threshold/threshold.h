// The `threshold` detector: fires while the value is above `above` and/or below `below`.
//
// Parameters: above, below (at least one; below < above), hysteresis (default 0: a firing
// detector clears only once the value is back past the threshold by this margin, e.g.
// above: 90, hysteresis: 5 fires at > 90 and clears at ≤ 85), scale (default: hysteresis when
// set, else 10% of |threshold|, or 1 for a threshold of 0: the distance over which the score moves).
//
// Score: with m the signed distance past the nearer threshold (positive = past it), a firing
// series scores 1 − ½·exp(−max(m, 0)/scale) (0.5 at the threshold, towards 1 far past it) and a
// quiet one ½·exp(m/scale) (0.5 at the threshold, towards 0 far inside). So score ≥ 0.5 exactly
// while firing, and the score is continuous in the value.
// State per series: which side is firing (for hysteresis), two bits; snapshot()/restore() keep it.
// Thread-safety: see detector.h.
#pragma once

#include "detect/detector.h"

namespace tocsin::detect {

core::Result<std::unique_ptr<DetectorSpec>> make_threshold(const config::DetectorConfig& config);

}  // namespace tocsin::detect
