#include "detect/auto/auto.h"

#include <fmt/format.h>

#include "detect/param_reader.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "detect/auto/surprise.h"
#include "detect/auto/tail_histograms.h"
#include "detect/seasonal/seasonal.h"
#include "detect/snapshot_codec.h"

namespace tocsin::detect {
namespace {

// The memories, windows and the threshold below are in samples 5 minutes apart: what they were
// chosen and measured for (NAB's series are 5 minutes apart or slower). A faster series counts
// k = 5 minutes / its sample interval samples as one (pace(), 1 at 5 minutes or slower): each
// memory and window is k times as many samples, so as long in time, and a decision is one of k
// looks per 5 minutes (Bonferroni), so that the same pattern alerts alike at any scrape interval
// (docs/detection.md, "Sample rate"). Before, a 15 s series of a clean daily swing had three
// false alerts a day that its 5-minute version did not have.
constexpr double kPaceMs = 300'000;
constexpr double kLevelMemory = 288;     // samples the level remembers (a day at 5-minute steps)
constexpr double kScaleMemory = 2000;    // samples the residual spreads remember
// Statistics judged against their own history: the sample's surprise, its short average, and the
// signed mean residual over a short and a longer window (sustained shifts that no single sample
// shows). Their averaging windows, in samples:
constexpr std::array<double, 3> kWindows = {6, 8, 64};
constexpr int kStats = TailHistograms::kStats;
constexpr double kMeanClip = 10;         // a lone spike moves the mean residual by at most this much
constexpr double kWarmup = 30;           // samples before any judgement
constexpr double kClipSigmas = 4;        // residuals beyond this are clipped before being learned
constexpr double kScoreDecades = 5.4;    // score = -log10(p) / kScoreDecades: 0.5 at p = 0.002
constexpr double kSeasonalExplains = 0.5;  // seasonal residual variance below this share of the level's
// Within `quiet` samples of a score, a new score re-alerts only if it carries this factor more
// evidence (-log10 p): the next samples of the same incident, creeping up, stay one alert.
constexpr double kRealertGrowth = 1.1;

// max(S(a), S(b)) for the surprise S: one table read instead of two, since S increases with |z|
// (surprise.h). Beyond the table (|z| >= 8) and for NaN (either), both from the formula.
double max_surprise(double a, double b) {
  const double fa = std::fabs(a);
  const double fb = std::fabs(b);
  if (fa < 8 && fb < 8) return surprise::fast(std::max(fa, fb));
  return std::max(surprise::exact(a), surprise::exact(b));
}

// Location and spread that an outlier cannot drag: EW mean and mean absolute deviation of
// residuals clipped at kClipSigmas.
struct RobustEw {
  double center = 0;
  double mad = 0;
  double n = 0;

  double scale() const { return 1.2533 * mad; }  // σ of a normal with this mean absolute deviation
  double z(double x) const {
    const double d = x - center;
    const double floor = 1e-9 * std::fabs(center) + 1e-12;
    if (std::fabs(d) <= floor) return 0;
    return d / std::max(scale(), floor);
  }
  void learn(double x, double memory) {
    n += 1;
    const double a = 1 / std::min(n, memory);
    double d = x - center;
    if (n == 1) {
      center = x;
      return;
    }
    if (n > kWarmup && scale() > 0) d = std::clamp(d, -kClipSigmas * scale(), kClipSigmas * scale());
    center += a * d;
    mad += a * (std::fabs(d) - mad);
  }
  void write(SnapshotWriter& w) const {
    w.f64(center);
    w.f64(mad);
    w.f64(n);
  }
  bool read(SnapshotReader& r) {
    const auto c = r.finite_f64();
    const auto m = r.finite_f64();
    const auto k = r.finite_f64();
    if (!c || !m || !k || *m < 0 || *k < 0) return false;
    *this = {*c, *m, *k};
    return true;
  }
};

struct AutoOptions {
  double threshold = 0.5;  // score at which it fires (p = 0.002)
  double quiet = 100;      // samples after a score during which only a higher one counts
};

constexpr std::string_view kTag = "auto";
// 2 added the model choice (ModelChoice), 3 holds the histograms as suffix sums, not counts per
// bin; snapshots of versions 1 and 2 still load (restore()).
constexpr uint8_t kVersion = 3;
constexpr uint8_t kVersionWithBinCounts = 2;
constexpr uint8_t kVersionWithoutModelChoice = 1;

// Whether the seasonal model explains the series better than the level model: the mean squared
// residual of each, both over kScaleMemory samples (days to weeks) and clipped at kClipSigmas of
// their own RMS. Why so long, and not the seasonal model's own one-period comparison: an incident
// that lasts a day (a holiday in a daily pattern) raised that one-period ratio enough to switch
// models in the middle of the incident, and a switch restarts the surprise histories, so the
// detector went blind exactly when it should fire (NAB: docs/detection.md).
struct ModelChoice {
  double n = 0;
  double seasonal_ms = 0;  // of value - seasonal forecast
  double level_ms = 0;     // of value - robust level

  void learn(double seasonal_residual, double level_residual, double memory) {
    n += 1;
    double s2 = seasonal_residual * seasonal_residual;
    double l2 = level_residual * level_residual;
    if (n > kWarmup) {
      s2 = clip_square(s2, seasonal_ms);
      l2 = clip_square(l2, level_ms);
    }
    const double a = 1 / std::min(n, memory);
    seasonal_ms += a * (s2 - seasonal_ms);
    level_ms += a * (l2 - level_ms);
  }
  // Share of the level model's squared error the seasonal model leaves unexplained (1: none
  // explained, or nothing learned yet).
  double unexplained() const { return n > 0 && level_ms > 0 ? std::min(1.0, seasonal_ms / level_ms) : 1; }

  void write(SnapshotWriter& w) const {
    w.f64(n);
    w.f64(seasonal_ms);
    w.f64(level_ms);
  }
  bool read(SnapshotReader& r) {
    const auto k = r.finite_f64();
    const auto s = r.finite_f64();
    const auto l = r.finite_f64();
    if (!k || !s || !l || *k < 0 || *s < 0 || *l < 0) return false;
    *this = {*k, *s, *l};
    return true;
  }

 private:
  // The square of a residual clipped at kClipSigmas RMS (no square root per sample). A zero mean
  // square (a flat start) does not clip: it would pin the residuals at 0 for good.
  static double clip_square(double x2, double ms) {
    return ms > 0 ? std::min(x2, kClipSigmas * kClipSigmas * ms) : x2;
  }
};

SeasonalOptions seasonal_options() {
  SeasonalOptions o;
  o.buckets = 24;  // hourly: interpolation between bucket centres keeps the error small
  // The seasonal weights (alpha per sample) suit samples about 5 minutes apart, a twelfth of a
  // bucket; faster series learn one sample per 5 minutes, so a bucket remembers days at any rate,
  // not the last few seconds of yesterday's hour (and learning costs a fraction per sample).
  o.learn_every = core::Duration(static_cast<int64_t>(kPaceMs));
  return o;
}

class AutoSeries final : public SeriesDetector {
 public:
  explicit AutoSeries(const AutoOptions& options) : options_(options), seasonal_(seasonal_options()) {}

  Decision update(core::Timestamp ts, double value) override {
    if (!std::isfinite(value)) return {};
    // The histograms are read only after the seasonal forecast: ask for their lines now, so that
    // on a series' first sample in a while (a cold cache) they arrive during the forecast.
    tails_.prefetch();
    const double k = pace();
    const SeasonalForecast f = seasonal_.forecast(ts);
    if (f.ready) choice_.learn(value - f.expected, value - level_.center, kScaleMemory * k);
    // Hysteresis, so a series near the boundary does not flip models (and residuals) every sample.
    const double ratio = choice_.unexplained();
    const bool was_seasonal = seasonal_on_;
    if (seasonal_on_) {
      seasonal_on_ = f.ready && ratio < kSeasonalExplains + 0.1;
    } else {
      seasonal_on_ = f.ready && f.periods_seen >= 2 && ratio < kSeasonalExplains - 0.1;
    }
    const bool seasonal = seasonal_on_;
    if (seasonal != was_seasonal) {
      // Surprises under the old model say nothing about the new one (a daily ramp that was
      // surprising to the level model is routine to the seasonal one): start their history afresh.
      tails_ = {};
      means_ = {};
    }
    const double expected = seasonal ? f.expected : level_.center;
    const double e = level_.n == 0 ? 0 : value - expected;
    // The change of the residual under the same model: a jump the pattern does not explain.
    const double de = has_prev_ ? e - (prev_value_ - (seasonal ? prev_seasonal_ : prev_level_)) : 0;

    // Under the seasonal model the spread is that of this time of day: a residual that is routine
    // at a daily ramp is not routine at night.
    const double z1 = seasonal ? e / f.sigma : residual_.z(e);
    const double s = max_surprise(z1, diff_.z(de));
    const double zc = std::clamp(z1, -kMeanClip, kMeanClip);
    // The warm-up is in samples, not time: it is what the spreads need before a residual means
    // anything. A young fast series is held back by the Bonferroni factor instead: its p-values,
    // about 1 / (samples seen) at the smallest, cannot reach 0.002 / (4 k) for hours.
    n_ += 1;
    const bool judged = n_ > kWarmup;
    // The averages start with the first sample judged: during the warm-up the spreads rest on a
    // handful of samples and the surprises are meaningless (up to 300), and an average over 6k
    // samples carried them for hours at a fast pace (at 1 s, an average surprise of 17 after 2,000
    // samples, where the samples' own were about 1), into the histograms for weeks.
    if (judged) {
      means_[0] += (s - means_[0]) / (kWindows[0] * k);
      means_[1] += (zc - means_[1]) / (kWindows[1] * k);
      means_[2] += (zc - means_[2]) / (kWindows[2] * k);
    }
    const std::array<double, kStats> stats = {s, means_[0], std::fabs(means_[1]), std::fabs(means_[2])};

    Decision d;
    if (judged) {
      // Bonferroni: several looks at the same sample, and k samples per 5 minutes.
      const double p = tails_.observe(stats, TailHistograms::growth(k), kStats * k);
      // log2, not log10: the same number to a few ulps, at a third of log10's cost in glibc. No
      // evidence (p = 1, most samples) scores 0 without the call.
      if (p < 1) d.score = std::min(1.0, -std::log2(p) * (std::numbers::ln2 / std::numbers::ln10) / kScoreDecades);
    }
    // Re-alert only when it gets clearly worse: for `quiet` samples after a score, anything not
    // kRealertGrowth times above it is halved. One incident gives one alert (and one rising edge
    // in the score), not a storm, nor a run of alerts as its evidence creeps up sample by sample.
    if (held_age_ >= options_.quiet * k) held_ = 0;
    if (d.score > held_ * kRealertGrowth) {
      held_ = d.score;
      held_age_ = 0;
      d.firing = d.score >= options_.threshold;
    } else {
      d.score /= 2;
      held_age_ += 1;
    }

    // The level this sample's residual was taken against: on the first sample there was none, and
    // its residual was 0, so the value itself. (It was the empty model's 0, so the second sample's
    // change of residual was minus the first value, which the change model learned as its start:
    // for its first thousands of samples a series at a high level saw every jump shrunk.)
    const double expected_level = level_.n == 0 ? value : level_.center;
    seasonal_.learn(ts, value, f);
    level_.learn(value, kLevelMemory * k);
    residual_.learn(e, kScaleMemory * k);
    if (has_prev_) diff_.learn(de, kScaleMemory * k);
    prev_value_ = value;
    prev_seasonal_ = f.expected;
    prev_level_ = expected_level;
    has_prev_ = true;
    return d;
  }

  void prefetch() const override {
    // The object up to the histograms (the seasonal model's fields and the spreads), their low
    // bins and totals, and what follows them.
    const char* p = reinterpret_cast<const char*>(this);
    for (const char* line = p; line < reinterpret_cast<const char*>(&tails_); line += 64) __builtin_prefetch(line);
    tails_.prefetch();
    __builtin_prefetch(&prev_value_);
    __builtin_prefetch(&choice_);
  }

  std::string snapshot() const override {
    SnapshotWriter w(kTag, kVersion);
    seasonal_.write(w);
    for (const RobustEw* m : {&level_, &residual_, &diff_}) m->write(w);
    tails_.write(w);
    for (const double v : {prev_value_, prev_seasonal_, prev_level_, has_prev_ ? 1.0 : 0.0, seasonal_on_ ? 1.0 : 0.0,
                           means_[0], means_[1], means_[2], n_, held_, held_age_}) {
      w.f64(v);
    }
    choice_.write(w);
    return std::move(w).finish();
  }

  core::Status restore(std::string_view bytes) override {
    uint8_t version = kVersion;
    auto opened = SnapshotReader::open(bytes, kTag, kVersion);
    for (const uint8_t older : {kVersionWithBinCounts, kVersionWithoutModelChoice}) {
      if (opened) break;
      if (auto old = SnapshotReader::open(bytes, kTag, older)) {
        opened = std::move(old);
        version = older;
      }
    }
    const bool without_choice = version == kVersionWithoutModelChoice;
    auto r = TOCSIN_TRY(std::move(opened));
    AutoSeries next(options_);
    bool ok = next.seasonal_.read(r) && next.level_.read(r) && next.residual_.read(r) && next.diff_.read(r) &&
              next.tails_.read(r, version == kVersion);
    double v[11] = {};
    for (double& x : v) {
      const auto y = ok ? r.finite_f64() : std::nullopt;
      ok = ok && y.has_value();
      if (ok) x = *y;
    }
    ok = ok && (without_choice || next.choice_.read(r));
    if (!ok || (v[3] != 0 && v[3] != 1) || (v[4] != 0 && v[4] != 1) || v[5] < 0 || v[8] < 0 || v[9] < 0 || v[10] < 0) {
      return std::unexpected(SnapshotReader::corrupt("inconsistent auto state"));
    }
    TOCSIN_RETURN_IF_ERROR(r.finish());
    next.prev_value_ = v[0];
    next.prev_seasonal_ = v[1];
    next.prev_level_ = v[2];
    next.has_prev_ = v[3] == 1;
    next.seasonal_on_ = v[4] == 1;
    next.means_ = {v[5], v[6], v[7]};
    next.n_ = v[8];
    next.held_ = v[9];
    next.held_age_ = v[10];
    if (without_choice) {
      // Version 1 chose the model by the seasonal model's own one-period ratio. Start the long
      // comparison from that ratio, with the level model's squared error taken from its robust
      // spread, so the model in use does not flip on the first sample after an upgrade.
      const double level_ms = next.level_.scale() * next.level_.scale();
      next.choice_ = {next.n_, next.seasonal_.unexplained_ratio() * level_ms, level_ms};
    }
    *this = std::move(next);
    return {};
  }

 private:
  // Samples of this series per 5 minutes, at least 1: how many of its samples count as one
  // (kPaceMs). From the seasonal model's estimate of the sample interval, which a snapshot holds.
  double pace() const {
    const double interval = seasonal_.sample_interval_ms();
    return interval > 0 && interval < kPaceMs ? kPaceMs / interval : 1;
  }

  AutoOptions options_;
  SeasonalModel seasonal_;
  RobustEw level_;
  RobustEw residual_;
  RobustEw diff_;
  TailHistograms tails_;
  double prev_value_ = 0;
  double prev_seasonal_ = 0;
  double prev_level_ = 0;
  bool has_prev_ = false;
  bool seasonal_on_ = false;
  std::array<double, 3> means_{};
  double n_ = 0;
  double held_ = 0;
  double held_age_ = 0;
  ModelChoice choice_;
};

class AutoSpec final : public DetectorSpec {
 public:
  explicit AutoSpec(const AutoOptions& options) : options_(options) {}
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<AutoSeries>(options_); }
  std::string describe() const override {
    return fmt::format(
        "auto: anomaly probability < {:.2g} per 5 minutes for this series (re-alert within {} samples 5 minutes "
        "apart only if clearly worse)",
        std::pow(10.0, -options_.threshold * kScoreDecades), options_.quiet);
  }

 private:
  AutoOptions options_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_auto(const config::DetectorConfig& config) {
  ParamReader params(config);
  AutoOptions o;
  const auto threshold = TOCSIN_TRY(params.number("threshold"));
  const auto quiet = TOCSIN_TRY(params.number("quiet"));
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown());
  if (threshold) {
    if (!(*threshold > 0 && *threshold <= 1)) {
      return std::unexpected(params.error_at("threshold", "`threshold` (a score) must be in (0, 1]"));
    }
    o.threshold = *threshold;
  }
  if (quiet) {
    if (!(*quiet >= 0 && *quiet <= 1e6) || std::floor(*quiet) != *quiet) {
      return std::unexpected(params.error_at("quiet", "`quiet` (samples) must be a whole number within [0, 1000000]"));
    }
    o.quiet = *quiet;
  }
  return std::make_unique<AutoSpec>(o);
}

}  // namespace tocsin::detect
