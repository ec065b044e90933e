#include "detect/sigma/sigma.h"

#include <fmt/format.h>

#include <cmath>
#include <deque>

#include "core/duration.h"
#include "detect/deviation.h"
#include "detect/snapshot_codec.h"
#include "detect/param_reader.h"

namespace tocsin::detect {
namespace {

constexpr std::string_view kTag = "sig1";
constexpr uint8_t kVersion = 1;
constexpr int64_t kMaxSamplesLimit = 10'000'000;

struct SigmaParams {
  double n = 3;
  Direction direction = Direction::kBoth;
  core::Duration window = std::chrono::hours(1);
  int64_t max_samples = 10'000;
  int64_t min_samples = 10;
  bool sample = false;
};

class SigmaSeries final : public SeriesDetector {
 public:
  explicit SigmaSeries(const SigmaParams& p) : p_(p) {}

  Decision update(core::Timestamp ts, double value) override {
    if (!std::isfinite(value)) return {0, false};
    const int64_t t = core::to_unix_ms(ts);
    if (windowed()) {
      while (!ring_.empty() && ring_.front().ts <= t - p_.window.count()) evict_oldest();
    }
    Decision d;
    if (const auto s = sigma()) d = judge_deviation(value, mean_, *s, p_.n, p_.direction);
    add(value);
    if (windowed()) {
      ring_.push_back({t, value});
      if (static_cast<int64_t>(ring_.size()) > p_.max_samples) evict_oldest();
    }
    return d;
  }

  std::optional<std::pair<double, double>> bounds() const override {
    const auto s = sigma();
    if (!s) return std::nullopt;
    return deviation_band(mean_, *s, p_.n, p_.direction);
  }

  std::string snapshot() const override {
    SnapshotWriter w(kTag, kVersion);
    w.u8(windowed() ? 1 : 0);
    if (windowed()) {
      w.u64(ring_.size());
      for (const Point& pt : ring_) {
        w.i64(pt.ts);
        w.f64(pt.value);
      }
    } else {
      w.u64(count_);
      w.f64(mean_);
      w.f64(m2_);
    }
    return std::move(w).finish();
  }

  core::Status restore(std::string_view bytes) override {
    auto r = TOCSIN_TRY(SnapshotReader::open(bytes, kTag, kVersion));
    const auto mode = r.u8();
    if (!mode || *mode != (windowed() ? 1 : 0)) {
      return std::unexpected(SnapshotReader::corrupt("taken with a different window mode"));
    }
    if (windowed()) {
      const auto size = r.count(static_cast<uint64_t>(kMaxSamplesLimit));
      if (!size) return std::unexpected(SnapshotReader::corrupt("bad sample count"));
      std::deque<Point> ring;
      for (uint64_t i = 0; i < *size; ++i) {
        const auto ts = r.i64();
        const auto v = r.f64();
        if (!ts || !v || !std::isfinite(*v) || (!ring.empty() && *ts < ring.back().ts)) {
          return std::unexpected(SnapshotReader::corrupt("bad sample"));
        }
        ring.push_back({*ts, *v});
      }
      TOCSIN_RETURN_IF_ERROR(r.finish());
      // A smaller max_samples since the snapshot keeps the newest samples.
      while (static_cast<int64_t>(ring.size()) > p_.max_samples) ring.pop_front();
      ring_ = std::move(ring);
      recompute();
      return {};
    }
    const auto count = r.u64();
    const auto mean = r.f64();
    const auto m2 = r.f64();
    if (!count || !mean || !m2 || !std::isfinite(*mean) || !std::isfinite(*m2) || *m2 < 0 ||
        (*count == 0 && (*mean != 0 || *m2 != 0))) {
      return std::unexpected(SnapshotReader::corrupt("bad running moments"));
    }
    TOCSIN_RETURN_IF_ERROR(r.finish());
    count_ = *count;
    mean_ = *mean;
    m2_ = *m2;
    return {};
  }

 private:
  struct Point {
    int64_t ts;
    double value;
  };

  bool windowed() const { return p_.window.count() > 0; }

  // σ of the current baseline, or nullopt while it is too small to judge by.
  std::optional<double> sigma() const {
    if (count_ < static_cast<uint64_t>(p_.min_samples) || count_ < 2) return std::nullopt;
    const double denom = p_.sample ? static_cast<double>(count_ - 1) : static_cast<double>(count_);
    return std::sqrt(m2_ / denom);
  }

  // Welford's update.
  void add(double x) {
    ++count_;
    const double d = x - mean_;
    mean_ += d / static_cast<double>(count_);
    m2_ += d * (x - mean_);
  }

  // Welford's update run backwards; exact recomputation every ring-size evictions bounds the drift.
  void evict_oldest() {
    const double x = ring_.front().value;
    ring_.pop_front();
    if (++evictions_ >= ring_.size() || count_ <= 1) {
      recompute();
      return;
    }
    const double old_mean = mean_;
    const double old_m2 = m2_;
    --count_;
    mean_ = old_mean - (x - old_mean) / static_cast<double>(count_);
    m2_ -= (x - old_mean) * (x - mean_);
    // Removing a point that carried most of the spread (an outlier leaving) cancels digits: redo
    // the sums exactly. A point can only dominate m2 rarely, so this stays O(1) amortised.
    if (m2_ < 1e-3 * old_m2) recompute();
  }

  // Two-pass mean and sum of squares over the ring.
  void recompute() {
    evictions_ = 0;
    count_ = ring_.size();
    mean_ = 0;
    m2_ = 0;
    if (ring_.empty()) return;
    double sum = 0;
    for (const Point& pt : ring_) sum += pt.value;
    mean_ = sum / static_cast<double>(count_);
    for (const Point& pt : ring_) m2_ += (pt.value - mean_) * (pt.value - mean_);
  }

  SigmaParams p_;
  std::deque<Point> ring_;  // the window, oldest first (empty when window = 0)
  uint64_t count_ = 0;      // samples in the baseline
  double mean_ = 0;
  double m2_ = 0;           // Σ(x − μ)²
  size_t evictions_ = 0;    // since the last exact recomputation
};

class SigmaSpec final : public DetectorSpec {
 public:
  explicit SigmaSpec(SigmaParams p) : p_(p) {}
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<SigmaSeries>(p_); }
  std::string describe() const override {
    const std::string window =
        p_.window.count() > 0 ? fmt::format("{} window", core::format_duration(p_.window)) : "all history";
    return fmt::format("{} ({}, {} σ)", describe_deviation("μ", "σ", p_.n, p_.direction), window,
                       p_.sample ? "sample" : "population");
  }

 private:
  SigmaParams p_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_sigma(const config::DetectorConfig& config) {
  ParamReader params(config);
  SigmaParams p;
  if (const auto n = TOCSIN_TRY(params.number("n"))) {
    if (*n <= 0) return std::unexpected(params.error_at("n", fmt::format("{} is out of range: expected a number > 0", *n)));
    p.n = *n;
  }
  p.direction = TOCSIN_TRY(read_direction(params));
  p.window = TOCSIN_TRY(params.duration("window")).value_or(p.window);
  p.max_samples = TOCSIN_TRY(params.integer("max_samples", 2, kMaxSamplesLimit)).value_or(p.max_samples);
  const auto min_samples = TOCSIN_TRY(params.integer("min_samples", 2, kMaxSamplesLimit));
  p.sample = TOCSIN_TRY(params.boolean("sample")).value_or(false);
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown());
  if (min_samples) {
    if (p.window.count() > 0 && *min_samples > p.max_samples) {
      return std::unexpected(params.error_at(
          "min_samples", fmt::format("{} is more than max_samples ({}): the detector could never fire", *min_samples,
                                     p.max_samples)));
    }
    p.min_samples = *min_samples;
  } else if (p.window.count() > 0) {
    p.min_samples = std::min(p.min_samples, p.max_samples);
  }
  return std::make_unique<SigmaSpec>(p);
}

}  // namespace tocsin::detect
