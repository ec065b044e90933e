#include "detect/changepoint/changepoint.h"

#include <fmt/format.h>

#include "detect/param_reader.h"

#include <algorithm>
#include <cmath>

namespace tocsin::detect {
namespace {

constexpr double kClip = 3;           // standardised residuals are clipped to ±kClip
// Allowances of the variance CUSUMs. Increments (z² − 1)/√2 are skewed: a larger allowance upward
// keeps false alarms on pure noise as rare as the level CUSUMs (about 1 in 20000 samples).
constexpr double kVarianceUpDrift = 1.0;
constexpr double kVarianceDrift = 0.5;

}  // namespace

ShiftResult ShiftDetector::update(double x) {
  ShiftResult out;
  if (n_ == 0) {
    mean_ = x;
    var_ = 0;
    n_ = 1;
    return out;
  }
  const double floor = 1e-9 * std::fabs(mean_) + 1e-12;
  const double sd = std::sqrt(var_);
  const double d = x - mean_;
  if (n_ >= options_.min_samples) {
    // A baseline with no spread: any change at all is a shift, exactly one σ-unit per sample is
    // too slow, so treat a change as a full clipped step.
    const double z = sd > floor ? std::clamp(d / sd, -kClip, kClip) : (std::fabs(d) > floor ? std::copysign(kClip, d) : 0);
    up_ = std::max(0.0, up_ + z - options_.drift);
    down_ = std::max(0.0, down_ - z - options_.drift);
    if (options_.variance && sd > floor) {
      const double v = (z * z - 1) / std::sqrt(2.0);
      var_up_ = std::max(0.0, var_up_ + v - kVarianceUpDrift);
      var_down_ = std::max(0.0, var_down_ - v - kVarianceDrift);
    }
    const double stats[] = {up_, down_, var_up_, var_down_};
    const int dirs[] = {1, -1, 2, -2};
    const auto it = std::max_element(std::begin(stats), std::end(stats));
    out.strength = *it / options_.threshold;
    out.direction = dirs[it - std::begin(stats)];
    if (*it >= options_.threshold) {
      out.detected = true;
      // Re-arm: restart the baseline at the new regime, keeping the old spread as a prior.
      mean_ = x;
      n_ = 1;
      up_ = down_ = var_up_ = var_down_ = 0;
      return out;
    }
  }
  n_ += 1;
  const double a = 1 / std::min(n_, options_.window);
  // Why clip the baseline update too: an outlier should not drag the baseline it is judged by.
  const double step = n_ >= options_.min_samples && sd > floor ? std::clamp(d, -kClip * sd, kClip * sd) : d;
  mean_ += a * step;
  var_ += a * ((1 - a) * step * step - var_);
  return out;
}

void ShiftDetector::write(SnapshotWriter& w) const {
  for (const double v : {mean_, var_, n_, up_, down_, var_up_, var_down_}) w.f64(v);
}

bool ShiftDetector::read(SnapshotReader& r) {
  double v[7];
  for (double& x : v) {
    const auto y = r.finite_f64();
    if (!y) return false;
    x = *y;
  }
  for (int i = 1; i < 7; ++i) {
    if (v[i] < 0) return false;
  }
  mean_ = v[0];
  var_ = v[1];
  n_ = v[2];
  up_ = v[3];
  down_ = v[4];
  var_up_ = v[5];
  var_down_ = v[6];
  return true;
}

namespace {

constexpr std::string_view kTag = "cpnt";
constexpr uint8_t kVersion = 1;

class ChangepointSeries final : public SeriesDetector {
 public:
  explicit ChangepointSeries(const ChangepointOptions& options) : shift_(options) {}

  Decision update(core::Timestamp, double value) override {
    if (!std::isfinite(value)) return {};
    const ShiftResult r = shift_.update(value);
    // Score 0.5 at the decision interval, approaching 1 for stronger evidence.
    return {1 - std::exp2(-r.strength), r.detected};
  }

  std::string snapshot() const override {
    SnapshotWriter w(kTag, kVersion);
    shift_.write(w);
    return std::move(w).finish();
  }

  core::Status restore(std::string_view bytes) override {
    auto r = TOCSIN_TRY(SnapshotReader::open(bytes, kTag, kVersion));
    ShiftDetector s = shift_;
    if (!s.read(r)) return std::unexpected(SnapshotReader::corrupt("inconsistent changepoint state"));
    TOCSIN_RETURN_IF_ERROR(r.finish());
    shift_ = s;
    return {};
  }

 private:
  ShiftDetector shift_;
};

class ChangepointSpec final : public DetectorSpec {
 public:
  explicit ChangepointSpec(const ChangepointOptions& options) : options_(options) {}
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<ChangepointSeries>(options_); }
  std::string describe() const override {
    return fmt::format("CUSUM shift of the {} > {}σ (drift {}σ, baseline {} samples)",
                       options_.variance ? "level or variance" : "level", options_.threshold, options_.drift,
                       options_.window);
  }

 private:
  ChangepointOptions options_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_changepoint(const config::DetectorConfig& config) {
  ParamReader params(config);
  ChangepointOptions o;
  const auto window = TOCSIN_TRY(params.number("window"));
  const auto drift = TOCSIN_TRY(params.number("drift"));
  const auto threshold = TOCSIN_TRY(params.number("threshold"));
  const auto variance = TOCSIN_TRY(params.number("variance"));
  const auto min_samples = TOCSIN_TRY(params.number("min_samples"));
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown());
  if (window) {
    if (!(*window >= 2 && *window <= 1e6)) {
      return std::unexpected(params.error_at("window", "`window` (samples) must be within [2, 1000000]"));
    }
    o.window = *window;
  }
  if (drift) {
    if (!(*drift >= 0 && *drift <= 10)) return std::unexpected(params.error_at("drift", "`drift` must be within [0, 10]"));
    o.drift = *drift;
  }
  if (threshold) {
    if (!(*threshold > 0 && *threshold <= 1000)) {
      return std::unexpected(params.error_at("threshold", "`threshold` must be in (0, 1000]"));
    }
    o.threshold = *threshold;
  }
  if (variance) {
    if (*variance != 0 && *variance != 1) {
      return std::unexpected(params.error_at("variance", "`variance` must be 0 or 1"));
    }
    o.variance = *variance == 1;
  }
  if (min_samples) {
    if (!(*min_samples >= 2 && *min_samples <= 1e6)) {
      return std::unexpected(params.error_at("min_samples", "`min_samples` must be within [2, 1000000]"));
    }
    o.min_samples = *min_samples;
  }
  return std::make_unique<ChangepointSpec>(o);
}

}  // namespace tocsin::detect
