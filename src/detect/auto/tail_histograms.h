// `auto`'s tail histograms: the empirical distributions of its per-sample surprise statistics, and
// the conformal p-value of a new sample against them (auto.cc explains the statistics).
// Thread-safety: one per series, used by one thread at a time.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "detect/auto/tail_bins.h"
#include "detect/snapshot_codec.h"

namespace tocsin::detect {

// The empirical distributions of the surprise statistics, one per statistic: decayed weights in
// bins of log2(1 + S), fine where most of the mass is and still covering S = 255 (p = 1e-255).
// Decay is lazy (new samples weigh more), so adding a sample is O(1) in the history's length.
//
// Why suffix sums (above_[h][i] = weight in bins >= i) and not counts per bin: a p-value is then
// two reads, not a sum over every bin above the sample's (that sum and its division were the
// largest cost of a sample under remote_write load), while adding a sample adds to the bins at
// and below its own, few since most surprises are small. Why shared totals: the statistics are
// observed together, one sample each, so their totals and weights are the same numbers, and the
// smallest p-value needs one division, not one per statistic.
class TailHistograms {
 public:
  // Statistics per sample.
  static constexpr int kStats = 4;
  // Samples the histograms remember (at a pace of one sample per 5 minutes, auto.cc).
  static constexpr double kTailMemory = 5000;
  // How fast the p-value shrinks beyond the largest surprise seen.
  static constexpr double kBeyondPower = 1;
  static constexpr int kBins = tail_bins::kBins;
  static constexpr double kWidth = tail_bins::kWidth;
  // New samples weigh more and more (lazy decay); once the weight passes this, everything is
  // divided by it. Float sums reach total ≈ kTailMemory × weight: far below FLT_MAX.
  static constexpr double kRescaleAt = 1e30;
  // Per sample the weight of a new sample grows by 1 / (1 − 1/kTailMemory): the lazy decay.
  static constexpr double kGrowth = 1 / (1 - 1 / kTailMemory);
  // ... and by this for a series that counts k samples as one (pace()): k times the memory.
  static double growth(double k) { return k == 1 ? kGrowth : 1 / (1 - 1 / (kTailMemory * k)); }

  // The smallest of the statistics' p-values P(S >= s) against their histories, each a conformal
  // p-value (the current sample counts as one), times `looks` (Bonferroni), at most 1; then adds
  // each statistic to its history. Beyond the largest surprise seen there is no evidence, only a
  // tie-break: the p-value shrinks with the ratio of the surprises.
  //
  // Why bounds first: a statistic whose p-value from a lower bound of its weight above is already
  // at least 1 / looks cannot make the answer less than 1, whatever its exact weight. That is most
  // statistics of most samples (p >= 1/1200 at a 1 s pace, >= 1/4 at 5 minutes), and for them the
  // exact position (a log2 each) is not needed, only the bin; with all four so, neither is the
  // division into p. Each bound is weight_above()'s expression with an upper bound of the position
  // in the bin and without the tie-break's shrinking; every rounded step of it is monotone, so it
  // is at most weight_above()'s number, and the answer is the same number either way (test
  // TailHistograms.TheBoundsDecideAsTheFullSumDoes). With few looks (a series slower than one
  // sample in ~37 s), a p-value under 1 / looks is common enough that the bounds, each a branch
  // that then mispredicts, cost more than they save (measured: 7 % slower at 5 minutes): there, the
  // full computation directly.
  static constexpr double kBoundsFromLooks = 32;
  // Always inlined, as add() is: out of line (they were when this class left auto.cc for its
  // header), the statistics and bins went through memory, and `auto` took 2 % more instructions.
  [[gnu::always_inline]] double observe(const std::array<double, kStats>& stats, double growth, double looks) {
    std::array<int, kStats> b;
    if (looks < kBoundsFromLooks) {
      std::array<double, kStats> u;
      positions(stats, u, b);
      const double p = p_in_full(stats, u, b, looks);
      add(b, growth);
      return p;
    }
    for (size_t h = 0; h < kStats; ++h) b[h] = tail_bins::bin(stats[h]);
    const double total = total_ + weight_;
    // A weight above of at least `enough` makes above / total * looks at least 1 as rounded: the
    // factor exceeds the three roundings between (each at most 2^-53 relative) many times over.
    // Why not that expression per statistic: four divisions in a row per sample, a tenth of the
    // detector's time under ingest load.
    const double enough = total / looks * (1 + 1e-12);
    double above = INFINITY;
    for (size_t h = 0; h < kStats; ++h) {
      const double at_least = weight_above_at_least(h, stats[h], tail_bins::max_fraction(stats[h], b[h]), b[h]);
      if (!(at_least >= enough)) {
        above = std::min(above, weight_above(h, stats[h], tail_bins::position(stats[h]), b[h]));
      }
    }
    // The same number as p_in_full(): the minimum and the rounded division and product are
    // monotone, and the statistics left out would only have given terms of at least 1.
    const double p = above == INFINITY ? 1 : std::min(1.0, above / total * looks);
    add(b, growth);
    return p;
  }

  // observe()'s answer in full, without the bounds and without adding the sample: for tests.
  double p_value(const std::array<double, kStats>& stats, double looks) const {
    std::array<double, kStats> u;
    std::array<int, kStats> b;
    positions(stats, u, b);
    return p_in_full(stats, u, b, looks);
  }

  // The lines a sample usually reads: the low bins (most of the mass) and the totals.
  void prefetch() const {
    for (const auto& a : above_) __builtin_prefetch(a.data());
    __builtin_prefetch(&total_);
  }

  // As kStats histograms, each its total, weight and 64 bins: the layout of every version.
  void write(SnapshotWriter& w) const {
    for (const auto& a : above_) {
      w.f64(total_);
      w.f64(weight_);
      for (const float s : a) w.f64(s);
    }
  }
  // `suffix_sums`: the bins as held (version 3); else as counts per bin (versions 1 and 2).
  bool read(SnapshotReader& r, bool suffix_sums) {
    TailHistograms t;
    std::optional<double> total;
    std::optional<double> weight;
    for (size_t h = 0; h < kStats; ++h) {
      const auto tot = r.finite_f64();
      const auto wt = r.finite_f64();
      if (!tot || !wt || *tot < 0 || *wt < 1) return false;
      // Written together, so one total and one weight; anything else is not this detector's state.
      if (h > 0 && (*tot != *total || *wt != *weight)) return false;
      total = tot;
      weight = wt;
      std::array<double, kBins> bins{};
      for (double& c : bins) {
        const auto v = r.finite_f64();
        if (!v || *v < 0) return false;
        c = *v;
      }
      // Versions 1 and 2 hold counts per bin (doubles, since the double-state build), summed here
      // from the top; a weight beyond the float range is rescaled first, as add() would have done.
      const double scale = *wt > kRescaleAt ? *wt : 1;
      double sum = 0;
      for (int i = kBins - 1; i >= 0; --i) {
        const auto k = static_cast<size_t>(i);
        if (suffix_sums) {
          if (bins[k] < sum) return false;  // suffix sums never fall towards the low bins
          sum = bins[k];
        } else {
          sum += bins[k];
        }
        t.above_[h][k] = static_cast<float>(sum / scale);
      }
      t.total_ = *tot / scale;
      t.weight_ = *wt / scale;
    }
    t.rescan();
    *this = t;
    return true;
  }

 private:
  // exp2((i + 1) * kWidth) - 1, the surprise at the top of bin i. Filled at start-up by the same
  // libm call the formula would make per sample, so the values are identical.
  static inline const std::array<double, kBins> kBinTop = [] {
    std::array<double, kBins> t{};
    for (int i = 0; i < kBins; ++i) t[static_cast<size_t>(i)] = std::exp2((i + 1) * kWidth) - 1;
    return t;
  }();

  // Each statistic's bin coordinate (u) and bin (b), by the definition: the bin is the integer
  // part of the coordinate (tail_bins::bin() gives the same integer without the log2).
  static void positions(const std::array<double, kStats>& stats, std::array<double, kStats>& u,
                        std::array<int, kStats>& b) {
    for (size_t h = 0; h < kStats; ++h) {
      u[h] = tail_bins::position(stats[h]);
      b[h] = std::clamp(static_cast<int>(u[h]), 0, kBins - 1);
    }
  }
  // The p-value times `looks`, at most 1, from every statistic's exact weight above.
  double p_in_full(const std::array<double, kStats>& stats, const std::array<double, kStats>& u,
                   const std::array<int, kStats>& b, double looks) const {
    double above = INFINITY;
    for (size_t h = 0; h < kStats; ++h) above = std::min(above, weight_above(h, stats[h], u[h], b[h]));
    return std::min(1.0, above / (total_ + weight_) * looks);
  }

  // The weight of statistic h's history at or above s (u its bin coordinate, b its bin), plus the
  // current sample's own weight (times the tie-break beyond the largest surprise seen).
  double weight_above(size_t h, double s, double u, int b) const {
    // The top bin is open-ended: a surprise in it is matched by everything in it.
    const double frac = b == kBins - 1 ? 0.0 : std::clamp(u - b, 0.0, 1.0);
    const double top_s = kBinTop[static_cast<size_t>(top_[h])];
    // Within the surprises seen, the ratio below is at least 1 (1 + s <= 1 + top_s, rounded
    // alike), so min() gives 1: skipping the division there gives the same number.
    const double beyond = s <= top_s ? 1.0 : std::pow(std::min(1.0, (1 + top_s) / (1 + s)), kBeyondPower);
    return weight_at(h, b, frac, beyond);
  }
  // At most weight_above(h, s, u, b) for a `max_frac` at least its `frac`: the same steps, each
  // monotone, with the tie-break at its smallest (0) beyond the surprises seen.
  double weight_above_at_least(size_t h, double s, double max_frac, int b) const {
    return weight_at(h, b, max_frac, s <= kBinTop[static_cast<size_t>(top_[h])] ? 1.0 : 0.0);
  }
  double weight_at(size_t h, int b, double frac, double beyond) const {
    const auto& a = above_[h];
    const auto k = static_cast<size_t>(b);
    const double higher = b == kBins - 1 ? 0.0 : a[k + 1];
    const double above = higher + (a[k] - higher) * (1 - frac);
    return above + weight_ * beyond;
  }

  [[gnu::always_inline]] void add(const std::array<int, kStats>& b, double growth) {
    weight_ *= growth;
    total_ += weight_;
    const auto w = static_cast<float>(weight_);
    for (size_t h = 0; h < kStats; ++h) {
      add_at_and_below(above_[h], b[h], w);
      top_[h] = std::max(top_[h], b[h]);
    }
    if (weight_ > kRescaleAt) {
      for (auto& a : above_) {
        for (float& x : a) x = static_cast<float>(x / weight_);
      }
      total_ /= weight_;
      weight_ = 1;
      rescan();
    }
    for (size_t h = 0; h < kStats; ++h) settle_top(h);
  }

  // a[i] += w for every bin i <= b, in float. Why the low kLow bins four at a time whatever b
  // is: the bins a sample reaches vary from sample to sample, and a loop of varying length
  // mispredicted its exit once per statistic and sample; adding 0 leaves a bin as it was. Bins
  // from kLow up (a surprise above 3: rare) one by one.
  static constexpr int kLow = 16;
  static void add_at_and_below(std::array<float, kBins>& a, int b, float w) {
    using F4 = float __attribute__((vector_size(16)));
    using I4 = int32_t __attribute__((vector_size(16)));
    const I4 weight = reinterpret_cast<I4>(F4{w, w, w, w});
    const I4 last = {b, b, b, b};
    I4 bin = {0, 1, 2, 3};
    // Unrolled: the loop's own counting and branch were a quarter of its instructions.
#pragma GCC unroll 4
    for (size_t k = 0; k < kLow; k += 4, bin += 4) {
      F4 x;
      std::memcpy(&x, &a[k], sizeof x);
      // The weight where bin <= b, else +0: the comparison's all-ones or zero bits as a mask.
      x += reinterpret_cast<F4>(weight & (bin <= last));
      std::memcpy(&a[k], &x, sizeof x);
    }
    for (int i = kLow; i <= b; ++i) a[static_cast<size_t>(i)] += w;
  }

  // The weight in bin i of statistic h alone.
  double in_bin(size_t h, int i) const {
    const auto k = static_cast<size_t>(i);
    return static_cast<double>(above_[h][k]) - (i == kBins - 1 ? 0.0 : above_[h][k + 1]);
  }

  // Why `top_` is kept rather than found by scanning down from the top bin per sample: bins above
  // it hold less than half a sample's weight, and stay so, since a bin only grows when a sample
  // lands in it (which raises `top_` to that bin) while the weight of a new sample only grows.
  // So the scan can resume where it stopped. After a rescale (rounding) or a restore: scan afresh.
  void settle_top(size_t h) {
    while (top_[h] > 0 && in_bin(h, top_[h]) < 0.5 * weight_) --top_[h];
  }
  void rescan() {
    for (size_t h = 0; h < kStats; ++h) {
      top_[h] = kBins - 1;
      settle_top(h);
    }
  }

  // Why float: the p-values need a few significant digits, not 16; 256 bytes instead of 512 per
  // histogram, 1 kB less per series with `auto` (NAB scores: docs/detection.md).
  std::array<std::array<float, kBins>, kStats> above_{};
  double total_ = 0;
  double weight_ = 1;
  std::array<int, kStats> top_{};  // per statistic, the highest bin holding at least half a new
                                   // sample's weight (0 if none)
};

}  // namespace tocsin::detect
