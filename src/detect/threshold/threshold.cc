#include "detect/threshold/threshold.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "detect/snapshot_codec.h"
#include "detect/param_reader.h"

namespace tocsin::detect {
namespace {

constexpr std::string_view kTag = "thr1";
constexpr uint8_t kVersion = 1;
constexpr double kInf = std::numeric_limits<double>::infinity();

struct ThresholdParams {
  std::optional<double> above;
  std::optional<double> below;
  double hysteresis = 0;
  std::optional<double> scale;  // resolved per side when absent
};

double default_scale(const ThresholdParams& p, double threshold) {
  if (p.scale) return *p.scale;
  if (p.hysteresis > 0) return p.hysteresis;
  return threshold != 0 ? 0.1 * std::fabs(threshold) : 1.0;
}

class ThresholdSeries final : public SeriesDetector {
 public:
  explicit ThresholdSeries(const ThresholdParams& p) : p_(p) {}

  Decision update(core::Timestamp, double value) override {
    if (!std::isfinite(value)) return {0, high_ || low_};
    // While firing, a side holds until the value is back past the threshold by the hysteresis.
    if (p_.above) high_ = value > (high_ ? *p_.above - p_.hysteresis : *p_.above);
    if (p_.below) low_ = value < (low_ ? *p_.below + p_.hysteresis : *p_.below);
    const bool firing = high_ || low_;
    // Signed distance past the nearer threshold, in units of that side's scale.
    double m = -kInf;
    if (p_.above) m = std::max(m, (value - *p_.above) / default_scale(p_, *p_.above));
    if (p_.below) m = std::max(m, (*p_.below - value) / default_scale(p_, *p_.below));
    const double score = firing ? 1 - 0.5 * std::exp(-std::max(m, 0.0)) : 0.5 * std::exp(std::min(m, 0.0));
    return {score, firing};
  }

  std::optional<std::pair<double, double>> bounds() const override {
    const double lower = p_.below ? (low_ ? *p_.below + p_.hysteresis : *p_.below) : -kInf;
    const double upper = p_.above ? (high_ ? *p_.above - p_.hysteresis : *p_.above) : kInf;
    return std::pair{lower, upper};
  }

  std::string snapshot() const override {
    SnapshotWriter w(kTag, kVersion);
    w.u8(static_cast<uint8_t>((high_ ? 1 : 0) | (low_ ? 2 : 0)));
    return std::move(w).finish();
  }

  core::Status restore(std::string_view bytes) override {
    auto r = TOCSIN_TRY(SnapshotReader::open(bytes, kTag, kVersion));
    const auto bits = r.u8();
    if (!bits || *bits > 3) return std::unexpected(SnapshotReader::corrupt("bad state bits"));
    TOCSIN_RETURN_IF_ERROR(r.finish());
    high_ = (*bits & 1) != 0;
    low_ = (*bits & 2) != 0;
    return {};
  }

 private:
  ThresholdParams p_;
  bool high_ = false;  // firing because of `above`
  bool low_ = false;   // firing because of `below`
};

class ThresholdSpec final : public DetectorSpec {
 public:
  explicit ThresholdSpec(ThresholdParams p) : p_(p) {}
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<ThresholdSeries>(p_); }
  std::string describe() const override {
    std::string out;
    if (p_.above && p_.below) {
      out = fmt::format("value > {} or value < {}", *p_.above, *p_.below);
    } else if (p_.above) {
      out = fmt::format("value > {}", *p_.above);
    } else {
      out = fmt::format("value < {}", *p_.below);
    }
    if (p_.hysteresis > 0) out += fmt::format(" (hysteresis {})", p_.hysteresis);
    return out;
  }

 private:
  ThresholdParams p_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_threshold(const config::DetectorConfig& config) {
  ParamReader params(config);
  ThresholdParams p;
  p.above = TOCSIN_TRY(params.number("above"));
  p.below = TOCSIN_TRY(params.number("below"));
  p.hysteresis = TOCSIN_TRY(params.number_in("hysteresis", 0, kInf)).value_or(0);
  p.scale = TOCSIN_TRY(params.number("scale"));
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown());
  if (!p.above && !p.below) return std::unexpected(params.error("threshold detector needs `above`, `below` or both"));
  if (p.above && p.below && *p.below >= *p.above) {
    return std::unexpected(params.error_at("below", "`below` must be less than `above` (the detector would always fire)"));
  }
  if (p.scale && *p.scale <= 0) return std::unexpected(params.error_at("scale", fmt::format("{} is out of range: expected a number > 0", *p.scale)));
  return std::make_unique<ThresholdSpec>(p);
}

}  // namespace tocsin::detect
