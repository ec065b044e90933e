#include "detect/threshold/threshold.h"

#include <fmt/format.h>

namespace tocsin::detect {
namespace {

class ThresholdSeries final : public SeriesDetector {
 public:
  ThresholdSeries(std::optional<double> above, std::optional<double> below) : above_(above), below_(below) {}
  Decision update(core::Timestamp, double value) override {
    const bool firing = (above_ && value > *above_) || (below_ && value < *below_);
    return {firing ? 1.0 : 0.0, firing};
  }

 private:
  std::optional<double> above_;
  std::optional<double> below_;
};

class ThresholdSpec final : public DetectorSpec {
 public:
  ThresholdSpec(std::optional<double> above, std::optional<double> below) : above_(above), below_(below) {}
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<ThresholdSeries>(above_, below_); }
  std::string describe() const override {
    if (above_ && below_) return fmt::format("value > {} or value < {}", *above_, *below_);
    if (above_) return fmt::format("value > {}", *above_);
    return fmt::format("value < {}", *below_);
  }

 private:
  std::optional<double> above_;
  std::optional<double> below_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_threshold(const config::DetectorConfig& config) {
  ParamReader params(config);
  const auto above = TOCSIN_TRY(params.number("above"));
  const auto below = TOCSIN_TRY(params.number("below"));
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown("above, below"));
  if (!above && !below) {
    return std::unexpected(core::Error::invalid_argument("threshold detector needs `above`, `below` or both")
                               .at(config.pos)
                               .field("detector"));
  }
  if (above && below && *below >= *above) {
    return std::unexpected(params.error_at("below", "`below` must be less than `above` (the detector would always fire)"));
  }
  return std::make_unique<ThresholdSpec>(above, below);
}

}  // namespace tocsin::detect
