// The `mad` detector: a robust z-score against the rolling median and MAD (median absolute
// deviation) of the last `window_samples` samples, which one outlier cannot drag the way it
// drags μ and σ. Each sample is judged against the window BEFORE it, then joins it.
//
// Parameters (defaults in brackets):
//   window_samples [100]  samples in the rolling window (3 … 100000)
//   n [3.5]               fires at |z| > n (Iglewicz & Hoaglin's cut-off for the modified z-score)
//   direction [both]      up | down | both
//   min_samples [10, or window_samples if smaller]  samples in the window before it may fire (≥ 3)
// z = 0.6745·(x − median)/MAD (0.6745 = Φ⁻¹(0.75) makes MAD comparable to σ for normal data).
// MAD = 0 (more than half the window is one value): the scale falls back to 1.253314·MeanAD, the
// mean absolute deviation from the median (z = (x − median)/(1.253314·MeanAD), the usual
// convention); if that is 0 too (the window is constant), any different value fires with score 1.
// Cost: O(log w) per sample for the median and O(log² w) for the MAD (an order-statistic tree:
// the MAD is the middle element of two sorted runs of deviations, found by binary search), plus
// two multisets for the MeanAD sums; about 120 bytes per window sample.
// Score: r = |z|/n, score = r²/(1 + r²) (see deviation.h); 0 while warming up.
// Thread-safety: see detector.h.
#pragma once

#include "detect/detector.h"

namespace tocsin::detect {

core::Result<std::unique_ptr<DetectorSpec>> make_mad(const config::DetectorConfig& config);

}  // namespace tocsin::detect
