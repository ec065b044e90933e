#include "detect/seasonal/seasonal.h"

#include <fmt/format.h>

#include "detect/param_reader.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>

#include "core/duration.h"
#include "detect/deviation.h"

namespace tocsin::detect {
namespace {

constexpr double kClipSigmas = 4;    // a bucket mean moves at most this far per sample (outliers)
constexpr double kMinSamples = 12;   // before this, no judgement at all
constexpr double kShrink = 3;        // pseudo-samples of the pooled residual in a bucket's spread

// a mod m in [0, m) for m > 0 (one division; the remainder of a negative `a` is in (-m, 0]).
int64_t mod(int64_t a, int64_t m) {
  const int64_t r = a % m;
  return r < 0 ? r + m : r;
}

// floor(a / m) for m > 0.
int64_t floor_div(int64_t a, int64_t m) { return (a - mod(a, m)) / m; }

}  // namespace

const SeasonalModel::Bucket SeasonalModel::Buckets::kNeverLearned{};

void SeasonalModel::Buckets::resize(size_t count, size_t per_page) {
  per_page_ = static_cast<uint32_t>(per_page);
  reciprocal_ = ((uint64_t{1} << 32) + per_page - 1) / per_page;
  size_ = static_cast<uint32_t>(count);
  assert((count + per_page - 1) / per_page <= kMaxPages && "a cycle spans at most 7 periods");
  for (auto& page : pages_) page.reset();
}

SeasonalModel::Bucket& SeasonalModel::Buckets::learn_at(size_t i) {
  const auto [index, offset] = locate(i);
  auto& page = pages_[index];
  if (!page) page = std::make_unique<Bucket[]>(per_page_);  // value-initialised: all zero
  return page[offset];
}

size_t SeasonalModel::Buckets::allocated() const {
  return static_cast<size_t>(std::count_if(pages_.begin(), pages_.end(), [](const auto& p) { return p != nullptr; })) *
         per_page_;
}

void SeasonalModel::Buckets::set(size_t i, const Bucket& b) {
  // Zero bits read the same as a missing page; anything else (even -0.0) needs the page.
  static constexpr std::array<unsigned char, sizeof(Bucket)> kZero{};
  if (!pages_[locate(i).first] && std::memcmp(&b, kZero.data(), sizeof(Bucket)) == 0) return;
  learn_at(i) = b;
}

SeasonalModel::Buckets& SeasonalModel::Buckets::operator=(const Buckets& other) {
  if (this == &other) return *this;
  size_ = other.size_;
  per_page_ = other.per_page_;
  reciprocal_ = other.reciprocal_;
  for (size_t p = 0; p < pages_.size(); ++p) {
    pages_[p].reset();
    if (!other.pages_[p]) continue;
    pages_[p] = std::make_unique<Bucket[]>(per_page_);
    std::copy_n(other.pages_[p].get(), per_page_, pages_[p].get());
  }
  return *this;
}

SeasonalModel::SeasonalModel(const SeasonalOptions& options) : options_(options) {
  const auto per_period = static_cast<size_t>(options.buckets);
  daily_.length_ms = options.period.count();
  daily_.buckets.resize(per_period, per_period);
  if (options.weekly) {
    weekly_.length_ms = 7 * options.period.count();
    weekly_.buckets.resize(per_period * 7, per_period);
  }
}

void seasonal_detail::locate(int64_t in_cycle, int64_t n, int64_t length_ms, Slot& s) {
  // Position in bucket units. Its integer part is the bucket, exactly in_cycle * n / length_ms as
  // integers (one 64-bit division less per cycle and sample): the product is below 2^53, so
  // exact, and a quotient just below an integer k is at least 1/length_ms below it, far more
  // than half a double's spacing at k (k <= 10080 buckets), so it never rounds up to k (unit
  // test Seasonal.LocatesTheBucketAsIntegerDivisionDoes).
  const double q = static_cast<double>(in_cycle) * static_cast<double>(n) / static_cast<double>(length_ms);
  s.bucket = static_cast<size_t>(q);
  // Measured from bucket centres, so neighbours can be interpolated.
  const double pos = q - 0.5;
  // floor(pos) without a libm call: pos lies in [-0.5, n - 0.5), so truncation is the floor except
  // on [-0.5, 0), where the floor is -1; the lower centre then wraps to the last bucket.
  int64_t lo = static_cast<int64_t>(pos);
  if (pos < static_cast<double>(lo)) --lo;
  s.frac = pos - static_cast<double>(lo);
  s.lo = static_cast<size_t>(lo < 0 ? n - 1 : lo);
  s.hi = static_cast<size_t>(lo + 1 == n ? 0 : lo + 1);
}

void SeasonalModel::view(const Cycle& c, int64_t in_cycle, CycleView& v) {
  if (c.buckets.empty()) {
    v = {};
    return;
  }
  seasonal_detail::locate(in_cycle, static_cast<int64_t>(c.buckets.size()), c.length_ms, v.slot);
  predict_shape(c, v.slot, false, v.step);
  predict_shape(c, v.slot, true, v.interp);
}

std::pair<int64_t, int64_t> SeasonalModel::positions(int64_t ms) const {
  if (weekly_.buckets.empty()) return {mod(ms, daily_.length_ms), 0};
  // The week is 7 days, so the position in the day is the position in the week modulo a day:
  // the same integer as mod(ms, day), with one negative-safe 64-bit modulo fewer.
  const int64_t in_week = mod(ms, weekly_.length_ms);
  // With the default day (a week of ms fits 32 bits), a 32-bit division: several times cheaper.
  const int64_t in_day =
      weekly_.length_ms <= int64_t{UINT32_MAX}
          ? static_cast<int64_t>(static_cast<uint32_t>(in_week) % static_cast<uint32_t>(daily_.length_ms))
          : in_week % daily_.length_ms;
  return {in_day, in_week};
}

void SeasonalModel::view_all(int64_t ms, std::array<CycleView, 2>& out) const {
  const auto [in_day, in_week] = positions(ms);
  view(daily_, in_day, out[0]);
  view(weekly_, in_week, out[1]);
}

bool SeasonalModel::learns_buckets(int64_t ms) const {
  const int64_t every = options_.learn_every.count();
  if (every <= 0 || n_ == 0) return true;
  // The first sample of its span: the previous one, at last_ms_, was in another.
  const int64_t start =
      span_start_ms_ != kUnknownSpan ? span_start_ms_ : floor_div(static_cast<int64_t>(last_ms_), every) * every;
  return ms < start || static_cast<uint64_t>(ms) - static_cast<uint64_t>(start) >= static_cast<uint64_t>(every);
}

void SeasonalModel::predict_shape(const Cycle& c, const Slot& s, bool interpolate, Prediction& out) {
  if (!interpolate) {
    const Bucket& b = c.buckets[s.bucket];
    if (b.n == 0) {
      out = {};
      return;
    }
    out = {b.mean, b.msr(), b.n, true};
    return;
  }
  const double f = s.frac;
  const auto& a = c.buckets[s.lo];
  const auto& b = c.buckets[s.hi];
  if (a.n == 0 && b.n == 0) {
    out = {};
  } else if (a.n == 0) {
    out = {b.mean, b.msr(), b.n, true};
  } else if (b.n == 0) {
    out = {a.mean, a.msr(), a.n, true};
  } else {
    out = {(1 - f) * a.mean + f * b.mean, (1 - f) * a.msr() + f * b.msr(), std::min(a.n, b.n), true};
  }
}

double SeasonalModel::periods_seen(core::Timestamp ts) const {
  if (n_ == 0) return 0;
  return (static_cast<double>(core::to_unix_ms(ts)) - first_ms_) / static_cast<double>(daily_.length_ms);
}

const SeasonalModel::Cycle& SeasonalModel::active_cycle(double periods) const {
  // Why: a weekly cycle has 7x the buckets and so learns 7x slower; use it only once it has seen
  // enough weeks and predicts better than the daily one.
  if (options_.weekly && periods >= 7 * std::max(options_.seasons, 1.0) && weekly_.mse_n > 0 &&
      weekly_.mse < daily_.mse) {
    return weekly_;
  }
  return daily_;
}

SeasonalForecast SeasonalModel::forecast(core::Timestamp ts) const {
  SeasonalForecast f;
  if (n_ == 0) return f;
  const int64_t ms = core::to_unix_ms(ts);
  f.periods_seen = periods_seen(ts);
  const Cycle& cycle = active_cycle(f.periods_seen);
  const bool weekly = &cycle == &weekly_;
  // The prediction used: of the active cycle, in its better shape. (Pointed to, not copied: see
  // predict_shape() on store forwarding.)
  Prediction alone{};
  const Prediction* used = &alone;
  f.at_n = n_;
  f.at_ms = ms;
  f.learns = learns_buckets(ms);
  if (f.learns) {
    view_all(ms, f.views);
    used = &chosen(cycle, f.views[weekly ? 1 : 0]);
  } else if (!cycle.buckets.empty() && f.periods_seen >= (weekly ? 7.0 : 1.0)) {
    // The same numbers as view_all() gives for this cycle and shape, without the others. Not
    // before a full cycle has been seen: the prediction is not used then (below), and a series
    // younger than a day would pay for it on every sample.
    const auto [in_day, in_week] = positions(ms);
    Slot s;
    seasonal_detail::locate(weekly ? in_week : in_day, static_cast<int64_t>(cycle.buckets.size()), cycle.length_ms, s);
    predict_shape(cycle, s, cycle.mse_interp <= cycle.mse_step, alone);
  }
  const Prediction& p = *used;
  const double level_sd = std::sqrt(level_var_);
  f.expected = level_mean_;
  double var = level_var_;
  const double seen = f.periods_seen / (weekly ? 7.0 : 1.0);
  if (p.ok && seen >= 1) {
    const double w = std::clamp(seen / std::max(options_.seasons, 1.0), 0.0, 1.0);
    const double k = std::min(p.n, 1 / options_.alpha);
    const double bucket_var = (k * p.msr + kShrink * seasonal_mse_) / (k + kShrink);
    f.expected = w * p.value + (1 - w) * level_mean_;
    var = w * bucket_var + (1 - w) * level_var_;
    f.seasonal_weight = w;
  }
  // Why a floor: a perfectly repeating series has zero residual, and rounding noise must not
  // become an infinite deviation.
  const double floor = 1e-3 * level_sd + 1e-9 * std::fabs(f.expected) + 1e-12;
  f.sigma = std::max(std::sqrt(std::max(var, 0.0)), floor);
  f.ready = n_ >= kMinSamples;
  return f;
}

void SeasonalModel::learn_cycle(Cycle& c, const CycleView& v, double value, double clip) {
  if (c.buckets.empty()) return;
  const Prediction& step = v.step;
  const Prediction& interp = v.interp;
  const Prediction& p = chosen(c, v);
  Bucket& b = c.buckets.learn_at(v.slot.bucket);
  if (p.ok) {
    const double r = std::clamp(value - p.value, -clip, clip);
    const double a = std::max(options_.alpha, 1 / (static_cast<double>(b.n) + 1));
    const double msr = b.msr();
    b.set_msr(msr + a * (r * r - msr));
    c.mse_n += 1;
    const double ac = std::max(options_.alpha, 1 / c.mse_n);
    c.mse += ac * (r * r - c.mse);
    const double rs = std::clamp(value - step.value, -clip, clip);
    const double ri = std::clamp(value - interp.value, -clip, clip);
    c.mse_step += ac * (rs * rs - c.mse_step);
    c.mse_interp += ac * (ri * ri - c.mse_interp);
  }
  const double a = std::max(options_.alpha, 1 / (static_cast<double>(b.n) + 1));
  const double d = b.n == 0 ? value - b.mean : std::clamp(value - b.mean, -clip, clip);
  b.mean += a * d;
  b.n += 1;
}

void SeasonalModel::learn(core::Timestamp ts, double value, const SeasonalForecast& f) {
  const int64_t t = core::to_unix_ms(ts);
  const double ms = static_cast<double>(t);
  // What forecast() found for this state and timestamp, or the same found here.
  const bool handed_on = f.at_n == n_ && f.at_ms == t;
  const bool learn_buckets = handed_on ? f.learns : learns_buckets(t);
  if (const int64_t every = options_.learn_every.count();
      every > 0 && (learn_buckets || span_start_ms_ == kUnknownSpan)) {
    span_start_ms_ = floor_div(t, every) * every;
  }
  if (n_ == 0) {
    first_ms_ = ms;
  } else if (ms > last_ms_) {
    interval_ms_ = interval_ms_ == 0 ? ms - last_ms_ : interval_ms_ + 0.05 * (ms - last_ms_ - interval_ms_);
  }
  last_ms_ = ms;
  const double clip = f.ready ? kClipSigmas * f.sigma : INFINITY;
  // The level model and the explained-variance comparison remember about one period.
  n_ += 1;
  const double per_period = interval_ms_ > 0 ? static_cast<double>(daily_.length_ms) / interval_ms_ : 1e9;
  const double a = 1 / std::min(n_, std::max(per_period, 2.0));
  if (f.ready && f.seasonal_weight > 0) {
    const double r = std::clamp(value - f.expected, -clip, clip);
    seasonal_n_ += 1;
    seasonal_mse_ += std::max(a, 1 / seasonal_n_) * (r * r - seasonal_mse_);
  }
  // The views forecast() computed for this state and timestamp, or the same computed here.
  if (!learn_buckets) {
    // Nothing to learn into the buckets.
  } else if (handed_on) {
    learn_cycle(daily_, f.views[0], value, clip);
    learn_cycle(weekly_, f.views[1], value, clip);
  } else {
    std::array<CycleView, 2> fresh;
    view_all(t, fresh);
    learn_cycle(daily_, fresh[0], value, clip);
    learn_cycle(weekly_, fresh[1], value, clip);
  }

  const double d = n_ == 1 ? value : std::clamp(value - level_mean_, -clip, clip);
  level_mean_ += a * d;
  level_var_ += a * ((1 - a) * d * d - level_var_);
}

double SeasonalModel::unexplained_ratio() const {
  if (seasonal_n_ < 1 || level_var_ <= 0) return 1;
  return std::min(1.0, seasonal_mse_ / level_var_);
}

void SeasonalModel::write(SnapshotWriter& w) const {
  for (const double v : {level_mean_, level_var_, n_, first_ms_, last_ms_, interval_ms_, seasonal_mse_, seasonal_n_}) w.f64(v);
  for (const Cycle* c : {&daily_, &weekly_}) {
    for (const double v : {c->mse, c->mse_step, c->mse_interp, c->mse_n}) w.f64(v);
    w.u64(c->buckets.size());
    for (size_t i = 0; i < c->buckets.size(); ++i) {
      const Bucket& b = c->buckets[i];
      w.f64(b.mean);
      w.f64(b.msr());
      w.f64(b.n);
    }
  }
}

bool SeasonalModel::read(SnapshotReader& r) {
  SeasonalModel m(options_);
  for (double* v : {&m.level_mean_, &m.level_var_, &m.n_, &m.first_ms_, &m.last_ms_, &m.interval_ms_,
                    &m.seasonal_mse_, &m.seasonal_n_}) {
    const auto x = r.finite_f64();
    if (!x) return false;
    *v = *x;
  }
  if (m.n_ < 0 || m.level_var_ < 0 || m.seasonal_mse_ < 0 || m.seasonal_n_ < 0 || m.interval_ms_ < 0) return false;
  for (Cycle* c : {&m.daily_, &m.weekly_}) {
    for (double* v : {&c->mse, &c->mse_step, &c->mse_interp, &c->mse_n}) {
      const auto x = r.finite_f64();
      if (!x || *x < 0) return false;
      *v = *x;
    }
    const auto size = r.count(c->buckets.size());
    if (!size || *size != c->buckets.size()) return false;
    for (size_t i = 0; i < c->buckets.size(); ++i) {
      const auto mean = r.finite_f64();
      const auto msr = r.finite_f64();
      const auto n = r.finite_f64();
      if (!mean || !msr || !n || *msr < 0 || *n < 0) return false;
      Bucket b;
      b.mean = *mean;
      b.set_msr(*msr);
      b.n = static_cast<float>(*n);
      c->buckets.set(i, b);
    }
  }
  *this = std::move(m);
  return true;
}

namespace {

constexpr std::string_view kTag = "seas";
constexpr uint8_t kVersion = 1;

class SeasonalSeries final : public SeriesDetector {
 public:
  SeasonalSeries(const SeasonalOptions& options, double threshold) : model_(options), threshold_(threshold) {}

  Decision update(core::Timestamp ts, double value) override {
    if (!std::isfinite(value)) return {};
    const SeasonalForecast f = model_.forecast(ts);
    Decision d;
    // Judge only after one full period: before that there is no pattern to deviate from.
    if (f.ready && f.periods_seen >= 1) {
      // The basic detectors' convention (deviation.h): 0.5 at the firing bound, never saturating.
      const double z = std::fabs(value - f.expected) / f.sigma;
      d.score = ratio_score(z / threshold_);
      d.firing = z >= threshold_;
    }
    model_.learn(ts, value, f);
    return d;
  }

  std::string snapshot() const override {
    SnapshotWriter w(kTag, kVersion);
    model_.write(w);
    return std::move(w).finish();
  }

  core::Status restore(std::string_view bytes) override {
    auto r = TOCSIN_TRY(SnapshotReader::open(bytes, kTag, kVersion));
    SeasonalModel m = model_;
    if (!m.read(r)) return std::unexpected(SnapshotReader::corrupt("inconsistent seasonal state"));
    TOCSIN_RETURN_IF_ERROR(r.finish());
    model_ = std::move(m);
    return {};
  }

 private:
  SeasonalModel model_;
  double threshold_;
};

class SeasonalSpec final : public DetectorSpec {
 public:
  SeasonalSpec(const SeasonalOptions& options, double threshold) : options_(options), threshold_(threshold) {}
  std::unique_ptr<SeriesDetector> make() const override {
    return std::make_unique<SeasonalSeries>(options_, threshold_);
  }
  std::string describe() const override {
    return fmt::format("|value - expected(time of {})| > {}σ (period {}, {} buckets)",
                       options_.weekly ? "day/week" : "period", threshold_, core::format_duration(options_.period),
                       options_.buckets);
  }

 private:
  SeasonalOptions options_;
  double threshold_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_seasonal(const config::DetectorConfig& config) {
  ParamReader params(config);
  SeasonalOptions o;
  const auto period = TOCSIN_TRY(params.number("period"));
  const auto buckets = TOCSIN_TRY(params.number("buckets"));
  const auto weekly = TOCSIN_TRY(params.number("weekly"));
  const auto alpha = TOCSIN_TRY(params.number("alpha"));
  const auto seasons = TOCSIN_TRY(params.number("seasons"));
  const auto threshold = TOCSIN_TRY(params.number("threshold"));
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown());
  if (period) {
    if (!(*period >= 60 && *period <= 366 * 86400.0)) {
      return std::unexpected(params.error_at("period", "`period` is in seconds and must be within [60, 31622400]"));
    }
    o.period = core::Duration(static_cast<int64_t>(*period * 1000));
  }
  if (buckets) {
    if (!(*buckets >= 2 && *buckets <= 1440) || std::floor(*buckets) != *buckets) {
      return std::unexpected(params.error_at("buckets", "`buckets` must be a whole number within [2, 1440]"));
    }
    o.buckets = static_cast<int>(*buckets);
  }
  if (o.period.count() / o.buckets < 1000) {
    return std::unexpected(params.error_at("buckets", "a bucket must span at least one second"));
  }
  if (weekly) {
    if (*weekly != 0 && *weekly != 1) return std::unexpected(params.error_at("weekly", "`weekly` must be 0 or 1"));
    o.weekly = *weekly == 1;
  }
  if (alpha) {
    if (!(*alpha > 0 && *alpha <= 1)) return std::unexpected(params.error_at("alpha", "`alpha` must be in (0, 1]"));
    o.alpha = *alpha;
  }
  if (seasons) {
    if (!(*seasons >= 1 && *seasons <= 100)) {
      return std::unexpected(params.error_at("seasons", "`seasons` must be within [1, 100]"));
    }
    o.seasons = *seasons;
  }
  double t = 4;
  if (threshold) {
    if (!(*threshold > 0 && *threshold <= 100)) {
      return std::unexpected(params.error_at("threshold", "`threshold` (in σ) must be in (0, 100]"));
    }
    t = *threshold;
  }
  return std::make_unique<SeasonalSpec>(o, t);
}

}  // namespace tocsin::detect
