// The `auto` detector: a default for real monitoring data that needs no tuning.
//
// Three stages, each bounded and O(1) amortised per sample:
//  1. Models. A robust level model (EW location and mean absolute deviation, outliers clipped
//     before they are learned), the same for first differences (catches jumps within the normal
//     range), and a SeasonalModel (daily and weekly buckets) whose residual replaces the level
//     residual once the period explains most of the variance, judged over ~2000 samples so that
//     one odd day does not switch models. The seasonal buckets learn one sample per 5 minutes at
//     most, so a bucket remembers days at any sample rate. Each residual becomes a surprise
//     S = -log10(two-sided normal tail probability).
//  2. Calibration. Real series are not normal: a z of 5 can be routine for one and unheard of for
//     another. So four statistics (the sample's surprise, its 6-sample average, and the signed
//     mean residual over 8 and 64 samples, for sustained shifts no single sample shows) are each
//     turned into an empirical tail probability against this series' own history of that
//     statistic (a decayed histogram; beyond the largest value seen the p-value shrinks with the
//     ratio). This is the idea of NAB's "anomaly likelihood": judge how unusual the surprise is for
//     this series. The history restarts when the residual model switches (level <-> seasonal).
//  3. Decision. p = 4 x the smallest of the four (Bonferroni); score = min(1, -log10(p) / 5.4), so
//     0.5 means p = 0.002. It fires at `threshold`. For `quiet` samples after a score, a score that
//     is not 1.1 times higher is halved: one incident gives one alert, re-alerting only if it gets
//     clearly worse.
// Every count of samples (memories, windows, `quiet`) is of samples 5 minutes apart: a faster
// series counts k = 5 min / its interval samples as one, and its p-values are multiplied by k as
// well (k looks per 5 minutes), so a pattern alerts alike at any scrape interval.
// State: about 4.6 kB per series (3.1 kB of seasonal buckets at 16 bytes each, 1.1 kB of
// histograms of float suffix sums; it was 7 kB with doubles: the NAB outputs moved by < 2e-6), once
// every day of the week has been seen: the buckets are allocated a day at a time (2.4 kB in all
// for a series younger than a day).
// Thread-safety: used by one thread at a time; the spec is immutable.
#pragma once

#include "detect/detector.h"

namespace tocsin::detect {

core::Result<std::unique_ptr<DetectorSpec>> make_auto(const config::DetectorConfig& config);

}  // namespace tocsin::detect
