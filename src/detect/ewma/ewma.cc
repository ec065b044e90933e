#include "detect/ewma/ewma.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "core/duration.h"
#include "detect/deviation.h"
#include "detect/snapshot_codec.h"
#include "detect/param_reader.h"

namespace tocsin::detect {
namespace {

constexpr std::string_view kTag = "ewm1";
constexpr uint8_t kVersion = 1;

struct EwmaParams {
  double alpha = 0.1;
  std::optional<core::Duration> halflife;  // when set, alpha follows the time between samples
  double n = 3;
  Direction direction = Direction::kBoth;
  int64_t min_samples = 10;
};

class EwmaSeries final : public SeriesDetector {
 public:
  explicit EwmaSeries(const EwmaParams& p) : p_(p) {}

  Decision update(core::Timestamp ts, double value) override {
    if (!std::isfinite(value)) return {0, false};
    const int64_t t = core::to_unix_ms(ts);
    Decision d;
    if (const auto s = sigma()) d = judge_deviation(value, mean_, *s, p_.n, p_.direction);
    if (count_ == 0) {
      mean_ = value;
      var_ = 0;
    } else {
      const double a = alpha(t);
      const double diff = value - mean_;
      mean_ += a * diff;
      var_ = (1 - a) * (var_ + a * diff * diff);
    }
    if (count_ < std::numeric_limits<uint64_t>::max()) ++count_;
    last_ts_ = t;
    return d;
  }

  std::optional<std::pair<double, double>> bounds() const override {
    const auto s = sigma();
    if (!s) return std::nullopt;
    return deviation_band(mean_, *s, p_.n, p_.direction);
  }

  std::string snapshot() const override {
    SnapshotWriter w(kTag, kVersion);
    w.u64(count_);
    w.f64(mean_);
    w.f64(var_);
    w.i64(last_ts_);
    return std::move(w).finish();
  }

  core::Status restore(std::string_view bytes) override {
    auto r = TOCSIN_TRY(SnapshotReader::open(bytes, kTag, kVersion));
    const auto count = r.u64();
    const auto mean = r.f64();
    const auto var = r.f64();
    const auto last = r.i64();
    if (!count || !mean || !var || !last || !std::isfinite(*mean) || !std::isfinite(*var) || *var < 0) {
      return std::unexpected(SnapshotReader::corrupt("bad moments"));
    }
    TOCSIN_RETURN_IF_ERROR(r.finish());
    count_ = *count;
    mean_ = *mean;
    var_ = *var;
    last_ts_ = *last;
    return {};
  }

 private:
  double alpha(int64_t t) const {
    if (!p_.halflife) return p_.alpha;
    const double dt = static_cast<double>(std::max<int64_t>(t - last_ts_, 0));
    return 1 - std::exp2(-dt / static_cast<double>(p_.halflife->count()));
  }

  std::optional<double> sigma() const {
    if (count_ < static_cast<uint64_t>(p_.min_samples)) return std::nullopt;
    return std::sqrt(var_);
  }

  EwmaParams p_;
  uint64_t count_ = 0;
  double mean_ = 0;
  double var_ = 0;
  int64_t last_ts_ = 0;  // Unix ms of the last sample (for halflife)
};

class EwmaSpec final : public DetectorSpec {
 public:
  explicit EwmaSpec(EwmaParams p) : p_(p) {}
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<EwmaSeries>(p_); }
  std::string describe() const override {
    const std::string weight = p_.halflife ? fmt::format("half-life {}", core::format_duration(*p_.halflife))
                                           : fmt::format("α = {}", p_.alpha);
    return fmt::format("{} (EWMA, {})", describe_deviation("μ", "σ", p_.n, p_.direction), weight);
  }

 private:
  EwmaParams p_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_ewma(const config::DetectorConfig& config) {
  ParamReader params(config);
  EwmaParams p;
  const auto alpha = TOCSIN_TRY(params.number("alpha"));
  p.halflife = TOCSIN_TRY(params.duration("halflife"));
  if (const auto n = TOCSIN_TRY(params.number("n"))) {
    if (*n <= 0) return std::unexpected(params.error_at("n", fmt::format("{} is out of range: expected a number > 0", *n)));
    p.n = *n;
  }
  p.direction = TOCSIN_TRY(read_direction(params));
  p.min_samples = TOCSIN_TRY(params.integer("min_samples", 2, 1'000'000'000)).value_or(p.min_samples);
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown());
  if (alpha && p.halflife) return std::unexpected(params.error_at("halflife", "give `alpha` or `halflife`, not both"));
  if (alpha) {
    if (!(*alpha > 0 && *alpha <= 1)) {
      return std::unexpected(params.error_at("alpha", fmt::format("{} is out of range: expected 0 < alpha ≤ 1", *alpha)));
    }
    p.alpha = *alpha;
  }
  if (p.halflife && p.halflife->count() <= 0) {
    return std::unexpected(params.error_at("halflife", "expected a duration > 0"));
  }
  return std::make_unique<EwmaSpec>(p);
}

}  // namespace tocsin::detect
