#include "risk/naive_bayes.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <numbers>

namespace tocsin::risk {

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
  // Gaussian part.
  const size_t dn = nb->numeric_.size();
  long double max_var = 0;
  for (size_t j = 0; j < dn; ++j) {
    size_t f = nb->numeric_[j];
    long double sum = 0, sq = 0;
    for (size_t r = 0; r < n; ++r) sum += data.row(r)[f];
    long double mean = sum / n;
    for (size_t r = 0; r < n; ++r) { long double d = data.row(r)[f] - mean; sq += d * d; }
    max_var = std::max(max_var, sq / n);
  }
  nb->epsilon_ = static_cast<double>(options.var_smoothing * max_var);
  nb->theta_.assign(k, std::vector<double>(dn, 0));
  nb->var_.assign(k, std::vector<double>(dn, 0));
  for (size_t j = 0; j < dn; ++j) {
    size_t f = nb->numeric_[j];
    std::vector<long double> sum(k, 0), sq(k, 0);
    for (size_t r = 0; r < n; ++r) sum[static_cast<size_t>(data.y[r])] += data.row(r)[f];
    std::vector<long double> mean(k, 0);
    for (size_t c = 0; c < k; ++c) mean[c] = nb->class_count_[c] ? sum[c] / nb->class_count_[c] : 0;
    for (size_t r = 0; r < n; ++r) {
      auto c = static_cast<size_t>(data.y[r]);
      long double d = data.row(r)[f] - mean[c];
      sq[c] += d * d;
    }
    for (size_t c = 0; c < k; ++c) {
      nb->theta_[c][j] = static_cast<double>(mean[c]);
      long double var = nb->class_count_[c] ? sq[c] / nb->class_count_[c] : 0;
      nb->var_[c][j] = static_cast<double>(static_cast<double>(var) + static_cast<long double>(nb->epsilon_));
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

std::vector<long double> NaiveBayes::joint_log_likelihood(const double* row) const {
  std::vector<long double> jll(classes_);
  for (size_t c = 0; c < classes_; ++c) {
    long double dev = 0;
    for (size_t j = 0; j < numeric_.size(); ++j) {
      long double d = row[numeric_[j]] - static_cast<long double>(theta_[c][j]);
      dev += d * d / var_[c][j];
    }
    long double cat = 0;
    for (size_t j = 0; j < categorical_.size(); ++j) {
      int v = static_cast<int>(row[categorical_[j]]);
      cat += v >= 0 ? log_prob_[j][c][static_cast<size_t>(v)] : unseen_[j * classes_ + c];
    }
    jll[c] = static_cast<long double>(log_prior_[c]) + log_norm_[c] - 0.5L * dev + cat;
  }
  return jll;
}

Prediction NaiveBayes::predict(const double* row) const {
  auto jll = joint_log_likelihood(row);
  Prediction p;
  long double best = jll[0];
  for (size_t c = 1; c < jll.size(); ++c)
    if (jll[c] > best) { best = jll[c]; p.cls = static_cast<int>(c); }
  long double sum = 0;
  for (long double v : jll) sum += std::exp(v - best);
  long double lse = best + std::log(sum);
  p.proba.reserve(jll.size());
  for (long double v : jll) p.proba.push_back(static_cast<double>(std::exp(v - lse)));
  return p;
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
