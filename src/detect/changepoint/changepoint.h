// The `changepoint` detector: finds shifts of a series' level (mean) or variance.
//
// Samples are standardised against a slow baseline (EW mean and variance over about `window`
// samples); four one-sided CUSUM statistics (Page 1954) accumulate evidence of the mean moving up
// or down and of the variance growing or shrinking. Each standardised residual is clipped to ±3
// first, so a lone spike never looks like a shift. When a statistic crosses `threshold` the
// detector fires once, then re-arms: the baseline restarts from the new regime and no shift is
// reported until it has `min_samples` samples again. State: 7 doubles (56 bytes).
// Thread-safety: used by one thread at a time; the spec is immutable.
#pragma once

#include "detect/detector.h"
#include "detect/snapshot_codec.h"

namespace tocsin::detect {

struct ChangepointOptions {
  double window = 200;     // baseline memory in samples
  double drift = 0.5;      // CUSUM allowance k, in σ of the baseline
  double threshold = 8;    // CUSUM decision interval h, in σ
  bool variance = true;    // also detect variance shifts
  double min_samples = 30; // baseline samples needed before (and after) a detection
};

struct ShiftResult {
  double strength = 0;  // largest CUSUM statistic over the threshold: 1 at a detection
  bool detected = false;
  int direction = 0;    // +1 level up, -1 level down, +2 variance up, -2 variance down
};

class ShiftDetector {
 public:
  explicit ShiftDetector(const ChangepointOptions& options) : options_(options) {}
  ShiftResult update(double value);
  void write(SnapshotWriter& w) const;
  bool read(SnapshotReader& r);

 private:
  ChangepointOptions options_;
  double mean_ = 0;
  double var_ = 0;
  double n_ = 0;
  double up_ = 0;
  double down_ = 0;
  double var_up_ = 0;
  double var_down_ = 0;
};

core::Result<std::unique_ptr<DetectorSpec>> make_changepoint(const config::DetectorConfig& config);

}  // namespace tocsin::detect
