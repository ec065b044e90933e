// The `sigma` detector: the classic μ + nσ baseline. Each sample is judged against the mean μ and
// standard deviation σ of the samples BEFORE it (a sample is never part of its own baseline), then
// joins the baseline.
//
// Parameters (defaults in brackets):
//   n [3]            how many σ from μ fire (> 0)
//   direction [both] up: value > μ + nσ; down: value < μ − nσ; both: either
//   window [1h]      sliding time window: the baseline for a sample at t is the samples in
//                    (t − window, t). `window: 0` learns one baseline from all history instead
//                    (Welford's running mean and variance; use `ewma` for a forgetting baseline)
//   max_samples [10000]  cap on the samples a window holds (the oldest are evicted first), so a
//                    fast series has bounded state: at most 16 bytes × max_samples
//   min_samples [10, or max_samples if smaller]  samples in the baseline before it may fire (≥ 2)
//   sample [false]   σ is the POPULATION standard deviation √(Σ(x−μ)²/N) by default; true uses
//                    the sample standard deviation √(Σ(x−μ)²/(N−1))
// The window keeps O(1) running sums (Welford add/remove), recomputed exactly with two passes each
// time as many samples were evicted as the window holds, so rounding cannot drift (O(1) amortised).
// σ = 0 (a flat baseline): any different value fires with score 1.
// Score: r = |x − μ|/(nσ), score = r²/(1 + r²) (see deviation.h); 0 while warming up.
// bounds() is μ ± nσ of the window as it stands (before the next sample's time evicts anything).
// Thread-safety: see detector.h.
#pragma once

#include "detect/detector.h"

namespace tocsin::detect {

core::Result<std::unique_ptr<DetectorSpec>> make_sigma(const config::DetectorConfig& config);

}  // namespace tocsin::detect
