#include "risk/naive_bayes.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <system_error>
#include <thread>

namespace tocsin::risk {

namespace {

// Two doubles in one SSE2 register (a GCC/Clang vector extension): lane-wise arithmetic, so the
// result is exactly that of the two scalar operations it replaces.
using Pair = double __attribute__((vector_size(16)));

Pair load_pair(const double* p) {
  Pair v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void store_pair(double* p, Pair v) { std::memcpy(p, &v, sizeof v); }

// Rows are summed in blocks: a block's partial sums in double, folded into long double totals —
// about as accurate as pairwise summation at the speed of a plain loop.
constexpr size_t kBlockRows = 512;
// Above this many rows, fit and predict split the rows between two threads.
constexpr size_t kParallelRows = 200'000;

// Runs fn(first_row, end_row, part) over [0, rows) in one part, or two halves on two threads.
template <class Fn>
void for_row_parts(size_t rows, Fn&& fn) {
  if (rows < kParallelRows) {
    fn(size_t{0}, rows, size_t{0});
    return;
  }
  const size_t half = rows / 2;
  std::thread other;
  try {
    other = std::thread([&] { fn(half, rows, size_t{1}); });
  } catch (const std::system_error&) {  // no thread to be had: the same work, in order, here
    fn(half, rows, size_t{1});
  }
  fn(size_t{0}, half, size_t{0});
  if (other.joinable()) other.join();
}

// Per class and numeric feature, over rows [r0, r1): Σ x (when `mean` is null) or Σ (x − mean)²,
// added to `out` ([class · dn + j]).
void accumulate(const Dataset& data, const std::vector<size_t>& numeric, size_t k, size_t r0, size_t r1,
                const long double* mean, std::vector<long double>& out) {
  const size_t dn = numeric.size();
  bool contiguous = true;  // the numeric features are columns 0..dn-1: index the row directly
  for (size_t j = 0; j < dn; ++j) contiguous = contiguous && numeric[j] == j;
  std::vector<double> block(k * dn, 0.0), centre(k * dn, 0.0);
  if (mean) {
    for (size_t i = 0; i < k * dn; ++i) centre[i] = static_cast<double>(mean[i]);
  }
  for (size_t start = r0; start < r1; start += kBlockRows) {
    const size_t end = std::min(r1, start + kBlockRows);
    for (size_t r = start; r < end; ++r) {
      const double* x = data.row(r);
      const size_t c = static_cast<size_t>(data.y[r]);
      double* acc = block.data() + c * dn;
      const double* mu = centre.data() + c * dn;
      if (contiguous && !mean) {
        size_t j = 0;
        for (; j + 1 < dn; j += 2) store_pair(acc + j, load_pair(acc + j) + load_pair(x + j));
        if (j < dn) acc[j] += x[j];
      } else if (contiguous) {
        size_t j = 0;
        for (; j + 1 < dn; j += 2) {
          const Pair d = load_pair(x + j) - load_pair(mu + j);
          store_pair(acc + j, load_pair(acc + j) + d * d);
        }
        if (j < dn) {
          const double d = x[j] - mu[j];
          acc[j] += d * d;
        }
      } else if (!mean) {
        for (size_t j = 0; j < dn; ++j) acc[j] += x[numeric[j]];
      } else {
        for (size_t j = 0; j < dn; ++j) {
          const double d = x[numeric[j]] - mu[j];
          acc[j] += d * d;
        }
      }
    }
    for (size_t i = 0; i < k * dn; ++i) {
      out[i] += block[i];
      block[i] = 0;
    }
  }
}

struct GaussianMoments {
  std::vector<double> count;       // [class]
  std::vector<long double> mean;   // [class · dn + j]
  std::vector<long double> var;    // [class · dn + j], population variance (0 for an empty class)
};

GaussianMoments gaussian_moments(const Dataset& data, const std::vector<size_t>& numeric, size_t k) {
  const size_t dn = numeric.size();
  GaussianMoments m;
  m.count.assign(k, 0);
  for (int y : data.y) m.count[static_cast<size_t>(y)] += 1;
  std::vector<long double> parts[2] = {std::vector<long double>(k * dn, 0), std::vector<long double>(k * dn, 0)};
  for_row_parts(data.rows, [&](size_t r0, size_t r1, size_t part) {
    accumulate(data, numeric, k, r0, r1, nullptr, parts[part]);
  });
  m.mean.assign(k * dn, 0);
  for (size_t c = 0; c < k; ++c) {
    for (size_t j = 0; j < dn; ++j) {
      const size_t i = c * dn + j;
      m.mean[i] = m.count[c] ? (parts[0][i] + parts[1][i]) / m.count[c] : 0;
    }
  }
  for (auto& p : parts) std::fill(p.begin(), p.end(), 0.0L);
  for_row_parts(data.rows, [&](size_t r0, size_t r1, size_t part) {
    accumulate(data, numeric, k, r0, r1, m.mean.data(), parts[part]);
  });
  m.var.assign(k * dn, 0);
  for (size_t c = 0; c < k; ++c) {
    for (size_t j = 0; j < dn; ++j) {
      const size_t i = c * dn + j;
      m.var[i] = m.count[c] ? (parts[0][i] + parts[1][i]) / m.count[c] : 0;
    }
  }
  return m;
}

}  // namespace

core::Result<std::unique_ptr<NaiveBayes>> NaiveBayes::fit(const Dataset& data, const Schema& schema, const NaiveBayesOptions& options) {
  auto nb = std::unique_ptr<NaiveBayes>(new NaiveBayes());
  const size_t k = schema.classes.size(), n = data.rows;
  nb->classes_ = k;
  nb->var_smoothing_ = options.var_smoothing;
  nb->alpha_ = options.alpha;
  if (n == 0) return std::unexpected(core::Error::invalid_argument("no training rows"));
  for (size_t f = 0; f < schema.features.size(); ++f)
    (schema.features[f].kind == ColumnKind::kNumeric ? nb->numeric_ : nb->categorical_).push_back(f);
  nb->class_count_.assign(k, 0);
  for (int y : data.y) nb->class_count_[static_cast<size_t>(y)] += 1;
  if (!options.priors.empty()) {
    if (options.priors.size() != k) return std::unexpected(core::Error::invalid_argument(fmt::format("{} priors for {} classes", options.priors.size(), k)));
    long double sum = 0;
    for (double p : options.priors) {
      if (p < 0) return std::unexpected(core::Error::invalid_argument("priors must be non-negative"));
      sum += p;
    }
    if (std::fabs(static_cast<double>(sum) - 1.0) > 1e-8) return std::unexpected(core::Error::invalid_argument("priors must sum to 1"));
    nb->priors_ = options.priors;
  } else {
    for (double c : nb->class_count_) nb->priors_.push_back(c / static_cast<double>(n));
  }
  for (double p : nb->priors_) nb->log_prior_.push_back(std::log(p));
  // Gaussian part: two passes over the rows (means, then squared deviations: np.var's two-pass
  // numerics), each streaming the row-major data once with per-class accumulators.
  const size_t dn = nb->numeric_.size();
  nb->theta_.assign(k, std::vector<double>(dn, 0));
  nb->var_.assign(k, std::vector<double>(dn, 0));
  if (dn) {
    const GaussianMoments m = gaussian_moments(data, nb->numeric_, k);
    // The variance over all rows, for ε, by the law of total variance from the class moments
    // (exact algebra; every term non-negative, so no cancellation).
    long double max_var = 0;
    for (size_t j = 0; j < dn; ++j) {
      long double mean = 0;
      for (size_t c = 0; c < k; ++c) mean += m.count[c] * m.mean[c * dn + j];
      mean /= static_cast<long double>(n);
      long double total = 0;
      for (size_t c = 0; c < k; ++c) {
        const long double d = m.mean[c * dn + j] - mean;
        total += m.count[c] * (m.var[c * dn + j] + d * d);
      }
      max_var = std::max(max_var, total / static_cast<long double>(n));
    }
    nb->epsilon_ = static_cast<double>(options.var_smoothing * max_var);
    for (size_t c = 0; c < k; ++c) {
      for (size_t j = 0; j < dn; ++j) {
        nb->theta_[c][j] = static_cast<double>(m.mean[c * dn + j]);
        nb->var_[c][j] = static_cast<double>(static_cast<double>(m.var[c * dn + j]) + static_cast<long double>(nb->epsilon_));
      }
    }
  }
  for (size_t c = 0; c < k && dn; ++c)
    for (double v : nb->var_[c])
      if (!(v > 0)) return std::unexpected(core::Error::invalid_argument("a numeric feature has zero variance everywhere; drop it"));
  // Categorical part.
  for (size_t j = 0; j < nb->categorical_.size(); ++j) {
    size_t f = nb->categorical_[j];
    size_t cats = schema.features[f].categories.size();
    std::vector<std::vector<double>> counts(k, std::vector<double>(cats, 0));
    for (size_t r = 0; r < n; ++r) {
      int v = static_cast<int>(data.row(r)[f]);
      if (v >= 0) counts[static_cast<size_t>(data.y[r])][static_cast<size_t>(v)] += 1;
    }
    nb->cat_count_.push_back(std::move(counts));
  }
  nb->precompute();
  return nb;
}

std::string_view NaiveBayes::kind() const {
  if (categorical_.empty()) return "gaussian_nb";
  if (numeric_.empty()) return "categorical_nb";
  return "mixed_nb";
}

int NaiveBayes::row_jll(const double* row, double* jll) const {
  const size_t dn = numeric_.size();
  int best = 0;
  for (size_t c = 0; c < classes_; ++c) {
    const double* theta = theta_flat_.data() + c * dn;
    const double* h = half_inv_var_.data() + c * dn;
    // Two partial sums: independent chains for the CPU, and a pairing of terms no worse than
    // numpy's sequential sum.
    double dev0 = 0, dev1 = 0;
    size_t j = 0;
    if (contiguous_) {  // the same sums, two lanes at a time (even j in lane 0, odd j in lane 1)
      Pair acc = {0, 0};
      for (; j + 1 < dn; j += 2) {
        const Pair d = load_pair(row + j) - load_pair(theta + j);
        acc += d * d * load_pair(h + j);
      }
      dev0 = acc[0];
      dev1 = acc[1];
    }
    for (; j + 1 < dn; j += 2) {
      const double d0 = row[numeric_[j]] - theta[j], d1 = row[numeric_[j + 1]] - theta[j + 1];
      dev0 += d0 * d0 * h[j];
      dev1 += d1 * d1 * h[j + 1];
    }
    if (j < dn) {
      const double d = row[numeric_[j]] - theta[j];
      dev0 += d * d * h[j];
    }
    double cat = 0;
    for (size_t f = 0; f < categorical_.size(); ++f) {
      const int v = static_cast<int>(row[categorical_[f]]);
      cat += v >= 0 ? log_prob_[f][c][static_cast<size_t>(v)] : static_cast<double>(unseen_[f * classes_ + c]);
    }
    jll[c] = base_[c] - (dev0 + dev1) + cat;
    if (jll[c] > jll[best]) best = static_cast<int>(c);
  }
  return best;
}

void NaiveBayes::normalise(double* jll) const {
  double best = jll[0];
  for (size_t c = 1; c < classes_; ++c) best = std::max(best, jll[c]);
  double sum = 0;
  // exp(0) is exactly 1: the most likely class needs no exp call.
  for (size_t c = 0; c < classes_; ++c) sum += (jll[c] = jll[c] == best ? 1.0 : std::exp(jll[c] - best));
  const double scale = 1 / sum;
  for (size_t c = 0; c < classes_; ++c) jll[c] *= scale;
}

std::vector<double> NaiveBayes::joint_log_likelihood(const double* row) const {
  std::vector<double> jll(classes_);
  row_jll(row, jll.data());
  return jll;
}

Prediction NaiveBayes::predict(const double* row) const {
  Prediction p;
  p.proba.resize(classes_);
  p.cls = row_jll(row, p.proba.data());
  normalise(p.proba.data());
  return p;
}

void NaiveBayes::predict_batch(const Dataset& data, size_t classes, int* cls, double* proba) const {
  if (classes != classes_) {  // a caller's mistake, not data: fall back to the checked path
    Classifier::predict_batch(data, classes, cls, proba);
    return;
  }
  for_row_parts(data.rows, [&](size_t r0, size_t r1, size_t) {
    for (size_t r = r0; r < r1; ++r) {
      double* p = proba + r * classes_;
      cls[r] = row_jll(data.row(r), p);
      normalise(p);
    }
  });
}

void NaiveBayes::to_json(nlohmann::json& out) const {
  out["var_smoothing"] = var_smoothing_;
  out["epsilon"] = epsilon_;
  out["alpha"] = alpha_;
  out["class_count"] = class_count_;
  out["class_prior"] = priors_;
  out["numeric_features"] = numeric_;
  out["categorical_features"] = categorical_;
  out["theta"] = theta_;
  out["var"] = var_;
  out["category_count"] = cat_count_;
}

core::Result<std::unique_ptr<NaiveBayes>> NaiveBayes::from_json(const nlohmann::json& in, const Schema& schema) {
  auto nb = std::unique_ptr<NaiveBayes>(new NaiveBayes());
  try {
    nb->classes_ = schema.classes.size();
    nb->var_smoothing_ = in.at("var_smoothing").get<double>();
    nb->epsilon_ = in.at("epsilon").get<double>();
    nb->alpha_ = in.at("alpha").get<double>();
    nb->class_count_ = in.at("class_count").get<std::vector<double>>();
    nb->priors_ = in.at("class_prior").get<std::vector<double>>();
    nb->numeric_ = in.at("numeric_features").get<std::vector<size_t>>();
    nb->categorical_ = in.at("categorical_features").get<std::vector<size_t>>();
    nb->theta_ = in.at("theta").get<std::vector<std::vector<double>>>();
    nb->var_ = in.at("var").get<std::vector<std::vector<double>>>();
    nb->cat_count_ = in.at("category_count").get<std::vector<std::vector<std::vector<double>>>>();
  } catch (const nlohmann::json::exception& e) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("naive Bayes parameters: {}", e.what())));
  }
  const size_t k = nb->classes_;
  bool ok = nb->class_count_.size() == k && nb->priors_.size() == k && nb->theta_.size() == k && nb->var_.size() == k &&
            nb->cat_count_.size() == nb->categorical_.size();
  for (size_t f : nb->numeric_) ok = ok && f < schema.features.size() && schema.features[f].kind == ColumnKind::kNumeric;
  for (size_t f : nb->categorical_) ok = ok && f < schema.features.size() && schema.features[f].kind == ColumnKind::kCategorical;
  for (size_t c = 0; ok && c < k; ++c) ok = nb->theta_[c].size() == nb->numeric_.size() && nb->var_[c].size() == nb->numeric_.size();
  for (size_t j = 0; ok && j < nb->categorical_.size(); ++j) {
    ok = nb->cat_count_[j].size() == k;
    for (size_t c = 0; ok && c < k; ++c) ok = nb->cat_count_[j][c].size() == schema.features[nb->categorical_[j]].categories.size();
  }
  if (!ok) return std::unexpected(core::Error::invalid_argument("naive Bayes parameters do not fit the model's classes and features"));
  for (double p : nb->priors_) nb->log_prior_.push_back(std::log(p));
  nb->precompute();
  return nb;
}

void NaiveBayes::precompute() {
  constexpr long double kTwoPi = 2.0L * std::numbers::pi_v<long double>;
  log_norm_.assign(classes_, 0);
  for (size_t c = 0; c < classes_; ++c) {
    long double norm = 0;
    for (double v : var_[c]) norm += std::log(kTwoPi * v);
    log_norm_[c] = -0.5L * norm;
  }
  const size_t dn = numeric_.size();
  contiguous_ = true;
  for (size_t j = 0; j < dn; ++j) contiguous_ = contiguous_ && numeric_[j] == j;
  base_.assign(classes_, 0);
  theta_flat_.assign(classes_ * dn, 0);
  half_inv_var_.assign(classes_ * dn, 0);
  for (size_t c = 0; c < classes_; ++c) {
    base_[c] = static_cast<double>(static_cast<long double>(log_prior_[c]) + log_norm_[c]);
    for (size_t j = 0; j < dn; ++j) {
      theta_flat_[c * dn + j] = theta_[c][j];
      half_inv_var_[c * dn + j] = 0.5 / var_[c][j];
    }
  }
  log_prob_.clear();
  unseen_.clear();
  for (const auto& per_class : cat_count_) {
    std::vector<std::vector<double>> logp;
    for (const auto& counts : per_class) {
      long double total = 0;
      for (double x : counts) total += x + alpha_;
      std::vector<double> row;
      for (double x : counts) row.push_back(static_cast<double>(std::log((x + alpha_) / total)));
      logp.push_back(std::move(row));
      unseen_.push_back(std::log(alpha_ / (total + alpha_)));
    }
    log_prob_.push_back(std::move(logp));
  }
}

std::string NaiveBayes::describe(const Schema& schema) const {
  std::string s = fmt::format("{} over {} classes, {} numeric and {} categorical features\n", kind(), classes_, numeric_.size(), categorical_.size());
  for (size_t c = 0; c < classes_; ++c) {
    s += fmt::format("class {}: prior {:.4f} ({} rows)\n", schema.classes[c], priors_[c], class_count_[c]);
    for (size_t j = 0; j < numeric_.size(); ++j)
      s += fmt::format("  {}: mean {:.6g}, sd {:.6g}\n", schema.features[numeric_[j]].name, theta_[c][j], std::sqrt(var_[c][j]));
  }
  return s;
}

}  // namespace tocsin::risk
