// The `seasonal` detector: learns daily and weekly patterns online and scores each sample by its
// deviation from the value expected at that time of day (or of week).
//
// SeasonalModel keeps, per time-of-period bucket (and per time-of-week bucket when `weekly`), an
// exponentially weighted mean and mean squared residual; the forecast interpolates between
// neighbouring bucket centres. Until `seasons` full periods have been seen the forecast is blended
// with a level model (EW mean/variance of all samples), so it is usable from the first samples.
// Score: r²/(1 + r²) with r = |value − expected| / (threshold·σ), so 0.5 at the firing bound; it
// judges only after one full period.
// The weekly cycle replaces the daily one once it is warm and predicts better. State is bounded by
// `buckets` (16 bytes per bucket, 8x buckets with `weekly`: 6.1 kB at the defaults), allocated a
// period (one day's buckets) at a time when a sample first falls in it: a series seen for less
// than a day holds two periods' buckets, not eight. Also used by the `auto` detector.
// Thread-safety: SeasonalModel and the detector are used by one thread at a time; the spec is
// immutable.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "detect/detector.h"
#include "detect/snapshot_codec.h"

namespace tocsin::detect {

struct SeasonalOptions {
  core::Duration period = std::chrono::hours(24);
  int buckets = 48;
  bool weekly = true;   // also learn a cycle of 7 periods
  double alpha = 0.1;   // weight of a new sample in its bucket
  double seasons = 2;   // periods seen before the seasonal forecast is fully trusted
  // 0: every sample is learned into its bucket. Else only the first sample of each span of this
  // length (aligned to the epoch), so that `alpha` weighs the same stretch of time at any sample
  // rate: `auto` sets 5 minutes.
  core::Duration learn_every{0};
};

// Internals of SeasonalModel that SeasonalForecast carries from forecast() to learn(). Without
// default member initialisers, so that a SeasonalForecast's views cost nothing when they are not
// filled (most samples of a fast series; they were 200 bytes zeroed per sample): whoever reads
// one writes it first, and `Prediction p{}` is a zero prediction.
namespace seasonal_detail {
// Where a timestamp falls in a (non-empty) cycle: the bucket holding it, and the two bucket
// centres either side of it with the weight of the upper one.
struct Slot {
  size_t bucket;
  size_t lo;
  size_t hi;
  double frac;
};
struct Prediction {
  double value;
  double msr;
  double n;
  bool ok;
};
// One cycle at one timestamp: the slot and both shapes of the prediction there.
struct CycleView {
  Slot slot;
  Prediction step;
  Prediction interp;
};
// The slot of `in_cycle` (ms, in [0, length_ms)) in a cycle of `buckets` buckets, into `out`:
// writing it in place rather than returning it, because a returned Slot was built on the stack
// and copied with loads wider than its stores, which stalled (store forwarding) every sample.
void locate(int64_t in_cycle, int64_t buckets, int64_t length_ms, Slot& out);
}  // namespace seasonal_detail

struct SeasonalForecast {
  double expected = 0;
  double sigma = 0;            // expected spread of the residual, > 0 once ready
  double seasonal_weight = 0;  // 0: level model only, 1: bucket model only
  bool ready = false;          // enough samples to judge a deviation
  double periods_seen = 0;     // SeasonalModel::periods_seen() at this timestamp

  // Why: learn() needs, for both cycles, the same slots and predictions forecast() computed for
  // this timestamp (the buckets have not changed in between); handing them on saves a third of
  // the model's per-sample work. learn() uses what is here only if it belongs to this model state
  // and timestamp (`at_n` == samples learned, `at_ms` == the timestamp), else computes afresh.
  // `views` is filled only when learn() will learn this sample into the buckets (`learns`):
  // otherwise forecast() looks at the one cycle and shape it uses (with `learn_every`, most
  // samples of a fast series), and the views stay uninitialised.
  bool learns = false;
  double at_n = -1;
  int64_t at_ms = 0;
  std::array<seasonal_detail::CycleView, 2> views;  // daily, weekly
};

class SeasonalModel {
 public:
  explicit SeasonalModel(const SeasonalOptions& options);

  SeasonalForecast forecast(core::Timestamp ts) const;
  // Learns a sample; `f` is forecast(ts), computed by the caller before scoring.
  void learn(core::Timestamp ts, double value, const SeasonalForecast& f);
  // Full periods seen since the first sample.
  double periods_seen(core::Timestamp ts) const;
  // The time between samples, exponentially weighted (0 until the second sample).
  double sample_interval_ms() const { return interval_ms_; }
  // Mean squared error of the seasonal forecast over the level model's variance; well below 1
  // when the period explains the series. 1 until there is evidence.
  double unexplained_ratio() const;

  void write(SnapshotWriter& w) const;
  bool read(SnapshotReader& r);

  // Buckets held in memory (of both cycles): a period's worth per period a sample fell in.
  size_t allocated_buckets() const { return daily_.buckets.allocated() + weekly_.buckets.allocated(); }

 private:
  // 16 bytes. Why the spread as a float RMS: it needs a few significant digits, and the root
  // keeps the float's exponent range that of the residuals themselves (a float mean square would
  // overflow for residuals above ~1e19). The mean stays a double: it carries the series' level.
  struct Bucket {
    double mean = 0;
    float rms = 0;  // root of the mean squared residual of the forecast at this bucket
    float n = 0;    // samples learned (exact up to 2^24; beyond that the weight is alpha anyway)
    double msr() const { return static_cast<double>(rms) * rms; }
    void set_msr(double v) { rms = static_cast<float>(std::sqrt(v)); }
  };
  // The buckets of one cycle, a period's worth per page. A page is allocated when a sample is first
  // learned in it; until then every bucket in it reads as zero (never learned), exactly as a
  // learned-nothing bucket reads, so the model's outputs do not depend on which pages exist.
  // Why pages: `auto` keeps 192 buckets (3 kB) per series, and a series seen for an hour touches
  // two pages of them (768 bytes).
  class Buckets {
   public:
    void resize(size_t count, size_t per_page);
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const Bucket& operator[](size_t i) const {
      const auto [page, offset] = locate(i);
      return pages_[page] ? pages_[page][offset] : kNeverLearned;
    }
    size_t allocated() const;
    // The bucket to learn into; allocates its page on first use.
    Bucket& learn_at(size_t i);
    // The same without allocating a page for a bucket that stays zero (restoring a snapshot).
    void set(size_t i, const Bucket& b);
    Buckets() = default;
    Buckets(const Buckets& other) { *this = other; }
    Buckets& operator=(const Buckets& other);
    Buckets(Buckets&&) noexcept = default;
    Buckets& operator=(Buckets&&) noexcept = default;

   private:
    // Page and offset of bucket i. Why a multiply by a reciprocal, not a division: this runs about
    // eight times per sample. Exact here: with m = ceil(2^32 / d), floor(i·m / 2^32) = floor(i / d)
    // while i·(m·d − 2^32) < 2^32, and i < 10,080 buckets, m·d − 2^32 < d <= 1,440 (also checked
    // exhaustively for every d and i in range).
    std::pair<uint32_t, uint32_t> locate(size_t i) const {
      const auto k = static_cast<uint32_t>(i);
      const auto page = static_cast<uint32_t>((uint64_t{k} * reciprocal_) >> 32);
      return {page, k - page * per_page_};
    }
    static const Bucket kNeverLearned;
    // Inline, not a vector: a cycle has 1 (daily) or 7 (weekly) periods, and a separate table
    // would be one more cache miss per cycle and sample on a cold series.
    static constexpr size_t kMaxPages = 7;
    std::array<std::unique_ptr<Bucket[]>, kMaxPages> pages_;  // null: no bucket in it learned yet
    uint32_t size_ = 0;
    uint32_t per_page_ = 1;
    uint64_t reciprocal_ = uint64_t{1} << 32;  // ceil(2^32 / per_page_)
  };
  struct Cycle {
    int64_t length_ms = 0;
    Buckets buckets;
    double mse = 0;        // EW squared error of this cycle's own prediction (the better shape)
    double mse_step = 0;   // ... of the bucket mean alone (right for step-shaped series)
    double mse_interp = 0; // ... of interpolating between bucket centres (right for smooth ones)
    double mse_n = 0;
  };
  using Prediction = seasonal_detail::Prediction;
  using Slot = seasonal_detail::Slot;
  using CycleView = seasonal_detail::CycleView;
  // Position within a cycle: `in_cycle` is the timestamp modulo the cycle's length, in ms.
  static void view(const Cycle& c, int64_t in_cycle, CycleView& v);
  // Both cycles at `ms` (the daily position is derived from the weekly one: one 64-bit modulo).
  void view_all(int64_t ms, std::array<CycleView, 2>& out) const;
  // Where `ms` falls in the day and in the week (0 without a weekly cycle), as view_all() has it.
  std::pair<int64_t, int64_t> positions(int64_t ms) const;
  // Whether a sample at `ms`, learned next, goes into the buckets (see SeasonalOptions::learn_every).
  bool learns_buckets(int64_t ms) const;
  // Writes into `out` rather than returning: a returned Prediction was built on the stack and
  // copied with loads wider than its stores, which stalled (store forwarding) on every sample.
  static void predict_shape(const Cycle& c, const Slot& s, bool interpolate, Prediction& out);
  static const Prediction& chosen(const Cycle& c, const CycleView& v) {
    // Why two shapes: interpolation suits smooth patterns, but smears a pattern of steps (a value
    // that changes on the hour) across a whole bucket. Each cycle keeps the one that erred less.
    return c.mse_interp <= c.mse_step ? v.interp : v.step;
  }
  void learn_cycle(Cycle& c, const CycleView& v, double value, double clip);
  // The cycle forecasts use, `periods` periods after the first sample.
  const Cycle& active_cycle(double periods) const;

  SeasonalOptions options_;
  Cycle daily_;
  Cycle weekly_;
  double level_mean_ = 0;
  double level_var_ = 0;
  double n_ = 0;
  double first_ms_ = 0;
  double last_ms_ = 0;
  double interval_ms_ = 0;  // EW sample interval, sets the level model's memory
  double seasonal_mse_ = 0;  // EW squared error of forecast() once the buckets are used
  double seasonal_n_ = 0;
  // With `learn_every`: where the span of the last sample (last_ms_) began. Derived from last_ms_,
  // not learned, so not in snapshots: kUnknownSpan until a sample needs it. Kept so that a sample
  // in the same span costs two comparisons, not two 64-bit divisions.
  static constexpr int64_t kUnknownSpan = INT64_MIN;
  int64_t span_start_ms_ = kUnknownSpan;
};

core::Result<std::unique_ptr<DetectorSpec>> make_seasonal(const config::DetectorConfig& config);

}  // namespace tocsin::detect
