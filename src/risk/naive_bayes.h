// Naive Bayes over a mix of numeric and categorical features.
//
// Numeric features are Gaussian, computed exactly as scikit-learn's GaussianNB does (so the two
// agree to rounding): per class the mean θ and the population variance σ² of each feature, plus
// ε = var_smoothing × the largest variance of any feature over all training rows; the joint log
// likelihood of a row is log prior − ½ Σ log(2π σ²) − ½ Σ (x − θ)²/σ², and the probabilities are
// exp(jll − logsumexp(jll)). Sums over rows are in double per block of rows and long double
// across blocks; the predicted class is the argmax of the jll (first on ties, like numpy).
// Speed (docs/benchmarks.md): fit is two streaming passes over the row-major data with per-class
// accumulators; predict_batch computes each row's jll with precomputed 1/σ² and normalises with
// one exp per class, allocating nothing per row; above 200k rows both split the rows over two
// threads.
// Categorical features follow CategoricalNB: log P(v | c) = log((n_cv + α) / (n_c + α·K)) with K
// the feature's number of categories; a category never seen at training counts as n_cv = 0.
// Priors are the class frequencies unless given.
// Thread-safety: immutable after fit.
#pragma once

#include <optional>

#include "risk/classifier.h"

namespace tocsin::risk {

struct NaiveBayesOptions {
  double var_smoothing = 1e-9;
  double alpha = 1.0;
  std::vector<double> priors;  // empty: from the data; else one per class, summing to 1
};

class NaiveBayes final : public Classifier {
 public:
  static core::Result<std::unique_ptr<NaiveBayes>> fit(const Dataset& data, const Schema& schema, const NaiveBayesOptions& options);
  static core::Result<std::unique_ptr<NaiveBayes>> from_json(const nlohmann::json& in, const Schema& schema);

  std::string_view kind() const override;
  Prediction predict(const double* row) const override;
  void predict_batch(const Dataset& data, size_t classes, int* cls, double* proba) const override;
  void to_json(nlohmann::json& out) const override;
  std::string describe(const Schema& schema) const override;

  // The joint log likelihood of each class (sklearn's _joint_log_likelihood).
  std::vector<double> joint_log_likelihood(const double* row) const;

 private:
  size_t classes_ = 0;
  std::vector<size_t> numeric_, categorical_;  // feature indices
  std::vector<double> class_count_, log_prior_;
  std::vector<double> priors_;
  double var_smoothing_ = 1e-9, epsilon_ = 0, alpha_ = 1;
  std::vector<std::vector<double>> theta_, var_;               // [class][numeric feature], var includes ε
  std::vector<std::vector<std::vector<double>>> log_prob_;     // [categorical feature][class][category]
  std::vector<std::vector<std::vector<double>>> cat_count_;    // [categorical feature][class][category]
  std::vector<long double> log_norm_;   // [class] −½ Σ log(2π σ²): row-independent, computed once
  std::vector<double> base_;            // [class] log prior + log_norm
  std::vector<double> theta_flat_, half_inv_var_;  // [class · numeric + j]: θ and 1 / (2σ²)
  bool contiguous_ = false;  // the numeric features are columns 0..n-1 (row_jll reads rows directly)
  std::vector<long double> unseen_;     // [categorical feature · classes + class] log(α / (n_c + α·K + α))

  void precompute();  // log_norm_, base_, the flat tables, unseen_ and log_prob_ from the parameters
  // The jll of one row into jll[0..classes); the predicted class (first maximum).
  int row_jll(const double* row, double* jll) const;
  // jll → probabilities in place: exp(jll − max) / Σ exp(jll − max).
  void normalise(double* jll) const;
};

}  // namespace tocsin::risk
