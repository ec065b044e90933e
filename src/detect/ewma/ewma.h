// The `ewma` detector: an exponentially weighted moving mean μ and variance σ² (West 1979 /
// Finch 2009 incremental form), so the baseline follows slow drift and forgets old regimes.
// Each sample is judged against the μ, σ learned BEFORE it, then learned (anomalies included, so
// a lasting level shift is adopted after a few half-lives).
//
// Parameters (defaults in brackets):
//   alpha [0.1]      weight of each new sample, 0 < alpha ≤ 1; or instead
//   halflife         a duration: the weight of the past halves every `halflife` of TIME, so
//                    irregular sampling is handled (alpha_i = 1 − 2^(−Δt/halflife))
//   n [3]            fires at |x − μ| > nσ (> 0)
//   direction [both] up | down | both
//   min_samples [10] samples learned before it may fire (≥ 2)
// Update: d = x − μ; μ ← μ + αd; σ² ← (1 − α)(σ² + αd²). The first sample sets μ = x, σ² = 0.
// σ = 0 (flat so far): any different value fires with score 1.
// Score: r = |x − μ|/(nσ), score = r²/(1 + r²) (see deviation.h); 0 while warming up.
// State per series: 4 numbers. Thread-safety: see detector.h.
#pragma once

#include "detect/detector.h"

namespace tocsin::detect {

core::Result<std::unique_ptr<DetectorSpec>> make_ewma(const config::DetectorConfig& config);

}  // namespace tocsin::detect
