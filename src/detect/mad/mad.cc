#include "detect/mad/mad.h"

#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <fmt/format.h>

#include <cmath>
#include <deque>
#include <limits>
#include <set>

#include "detect/deviation.h"
#include "detect/snapshot_codec.h"
#include "detect/param_reader.h"

namespace tocsin::detect {
namespace {

constexpr std::string_view kTag = "mad1";
constexpr uint8_t kVersion = 1;
constexpr int64_t kMaxWindow = 100'000;
constexpr double kMadToSigma = 0.6745;       // Φ⁻¹(0.75)
constexpr double kMeanAdToSigma = 1.253314;  // √(π/2)
constexpr double kInf = std::numeric_limits<double>::infinity();

struct MadParams {
  int64_t window = 100;
  double n = 3.5;
  Direction direction = Direction::kBoth;
  int64_t min_samples = 10;
};

// Values with a sequence number, so equal values are distinct keys.
using OrderedValues = __gnu_pbds::tree<std::pair<double, uint64_t>, __gnu_pbds::null_type,
                                       std::less<std::pair<double, uint64_t>>, __gnu_pbds::rb_tree_tag,
                                       __gnu_pbds::tree_order_statistics_node_update>;

class MadSeries final : public SeriesDetector {
 public:
  explicit MadSeries(const MadParams& p) : p_(p) {}

  Decision update(core::Timestamp, double value) override {
    if (!std::isfinite(value)) return {0, false};
    Decision d;
    if (const auto s = scale()) d = judge_deviation(value, median(), *s, p_.n, p_.direction);
    push(value);
    if (static_cast<int64_t>(fifo_.size()) > p_.window) pop();
    return d;
  }

  std::optional<std::pair<double, double>> bounds() const override {
    const auto s = scale();
    if (!s) return std::nullopt;
    return deviation_band(median(), *s, p_.n, p_.direction);
  }

  std::string snapshot() const override {
    SnapshotWriter w(kTag, kVersion);
    w.u64(fifo_.size());
    for (const auto& [v, seq] : fifo_) w.f64(v);
    return std::move(w).finish();
  }

  core::Status restore(std::string_view bytes) override {
    auto r = TOCSIN_TRY(SnapshotReader::open(bytes, kTag, kVersion));
    const auto size = r.count(kMaxWindow);
    if (!size) return std::unexpected(SnapshotReader::corrupt("bad sample count"));
    std::vector<double> values;
    values.reserve(*size);
    for (uint64_t i = 0; i < *size; ++i) {
      const auto v = r.f64();
      if (!v || !std::isfinite(*v)) return std::unexpected(SnapshotReader::corrupt("bad sample"));
      values.push_back(*v);
    }
    TOCSIN_RETURN_IF_ERROR(r.finish());
    reset();
    // A smaller window since the snapshot keeps the newest samples.
    const size_t skip = values.size() > static_cast<size_t>(p_.window) ? values.size() - static_cast<size_t>(p_.window) : 0;
    for (size_t i = skip; i < values.size(); ++i) push(values[i]);
    return {};
  }

 private:
  size_t size() const { return fifo_.size(); }
  double at(size_t rank) const { return sorted_.find_by_order(rank)->first; }

  double median() const {
    const size_t n = size();
    return n % 2 == 1 ? at(n / 2) : 0.5 * (at(n / 2 - 1) + at(n / 2));
  }

  // The k-th smallest (0-based) of the deviations |x_i − m|. With p the rank of the first value
  // ≥ m, the deviations form two ascending runs, A_j = m − x_(p−1−j) and B_j = x_(p+j) − m; the
  // k-th of their union is found by binary search on how many come from A.
  double kth_deviation(size_t k, double m, size_t p) const {
    const size_t a = p, b = size() - p;
    auto A = [&](size_t j) { return m - at(p - 1 - j); };
    auto B = [&](size_t j) { return at(p + j) - m; };
    size_t lo = k + 1 > b ? k + 1 - b : 0;
    size_t hi = std::min(k + 1, a);
    while (lo < hi) {
      const size_t i = (lo + hi) / 2;
      const size_t j = k + 1 - i;
      if (i < a && j > 0 && B(j - 1) > A(i)) {
        lo = i + 1;
      } else {
        hi = i;
      }
    }
    const size_t j = k + 1 - lo;
    return std::max(lo > 0 ? A(lo - 1) : -kInf, j > 0 ? B(j - 1) : -kInf);
  }

  double mad() const {
    const double m = median();
    const size_t n = size();
    const size_t p = sorted_.order_of_key({m, 0});
    if (n % 2 == 1) return kth_deviation(n / 2, m, p);
    return 0.5 * (kth_deviation(n / 2 - 1, m, p) + kth_deviation(n / 2, m, p));
  }

  // Σ|x_i − m| / N from the two halves: everything in low_ is ≤ m ≤ everything in high_.
  double mean_abs_deviation() const {
    const double m = median();
    const double total = (sum_high_ - static_cast<double>(high_.size()) * m) +
                         (static_cast<double>(low_.size()) * m - sum_low_);
    return std::max(total, 0.0) / static_cast<double>(size());
  }

  // σ-equivalent scale: MAD/0.6745, or 1.253314·MeanAD when the MAD is 0.
  std::optional<double> scale() const {
    if (static_cast<int64_t>(size()) < p_.min_samples) return std::nullopt;
    const double mad_value = mad();
    if (mad_value > 0) return mad_value / kMadToSigma;
    return kMeanAdToSigma * mean_abs_deviation();
  }

  void reset() {
    fifo_.clear();
    sorted_.clear();
    low_.clear();
    high_.clear();
    sum_low_ = sum_high_ = 0;
    pops_ = 0;
  }

  void push(double v) {
    const uint64_t seq = next_seq_++;
    fifo_.emplace_back(v, seq);
    sorted_.insert({v, seq});
    if (low_.empty() || v <= *low_.rbegin()) {
      low_.insert(v);
      sum_low_ += v;
    } else {
      high_.insert(v);
      sum_high_ += v;
    }
    rebalance();
  }

  void pop() {
    const auto [v, seq] = fifo_.front();
    fifo_.pop_front();
    sorted_.erase({v, seq});
    if (auto it = low_.find(v); it != low_.end()) {
      low_.erase(it);
      sum_low_ -= v;
    } else {
      high_.erase(high_.find(v));
      sum_high_ -= v;
    }
    rebalance();
    // Exact sums once per window length of evictions, so rounding cannot accumulate.
    if (++pops_ >= static_cast<uint64_t>(p_.window)) {
      pops_ = 0;
      sum_low_ = 0;
      sum_high_ = 0;
      for (double x : low_) sum_low_ += x;
      for (double x : high_) sum_high_ += x;
    }
  }

  // Keeps |low_| = ⌈N/2⌉.
  void rebalance() {
    while (low_.size() > high_.size() + 1) {
      auto it = std::prev(low_.end());
      sum_low_ -= *it;
      sum_high_ += *it;
      high_.insert(*it);
      low_.erase(it);
    }
    while (high_.size() > low_.size()) {
      auto it = high_.begin();
      sum_high_ -= *it;
      sum_low_ += *it;
      low_.insert(*it);
      high_.erase(it);
    }
  }

  MadParams p_;
  std::deque<std::pair<double, uint64_t>> fifo_;  // the window in arrival order
  OrderedValues sorted_;                          // the window in value order, with ranks
  std::multiset<double> low_, high_;              // the lower and upper halves, for MeanAD
  double sum_low_ = 0, sum_high_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t pops_ = 0;
};

class MadSpec final : public DetectorSpec {
 public:
  explicit MadSpec(MadParams p) : p_(p) {}
  std::unique_ptr<SeriesDetector> make() const override { return std::make_unique<MadSeries>(p_); }
  std::string describe() const override {
    const std::string_view cmp = p_.direction == Direction::kUp ? "robust z >" : p_.direction == Direction::kDown ? "robust z < −" : "|robust z| >";
    return fmt::format("{} {} (median and MAD of the last {} samples)", cmp, p_.n, p_.window);
  }

 private:
  MadParams p_;
};

}  // namespace

core::Result<std::unique_ptr<DetectorSpec>> make_mad(const config::DetectorConfig& config) {
  ParamReader params(config);
  MadParams p;
  p.window = TOCSIN_TRY(params.integer("window_samples", 3, kMaxWindow)).value_or(p.window);
  if (const auto n = TOCSIN_TRY(params.number("n"))) {
    if (*n <= 0) return std::unexpected(params.error_at("n", fmt::format("{} is out of range: expected a number > 0", *n)));
    p.n = *n;
  }
  p.direction = TOCSIN_TRY(read_direction(params));
  const auto min_samples = TOCSIN_TRY(params.integer("min_samples", 3, kMaxWindow));
  TOCSIN_RETURN_IF_ERROR(params.reject_unknown());
  if (min_samples && *min_samples > p.window) {
    return std::unexpected(params.error_at(
        "min_samples",
        fmt::format("{} is more than window_samples ({}): the detector could never fire", *min_samples, p.window)));
  }
  p.min_samples = min_samples.value_or(std::min(p.min_samples, p.window));
  return std::make_unique<MadSpec>(p);
}

}  // namespace tocsin::detect
