// Naive Bayes over a mix of numeric and categorical features.
//
// Numeric features are Gaussian, computed exactly as scikit-learn's GaussianNB does (so the two
// agree to rounding): per class the mean θ and the population variance σ² of each feature, plus
// ε = var_smoothing × the largest variance of any feature over all training rows; the joint log
// likelihood of a row is log prior − ½ Σ log(2π σ²) − ½ Σ (x − θ)²/σ², and the probabilities are
// exp(jll − logsumexp(jll)). Arithmetic is in long double; the predicted class is the argmax of
// the jll (first on ties, like numpy).
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
  void to_json(nlohmann::json& out) const override;
  std::string describe(const Schema& schema) const override;

  // The joint log likelihood of each class (sklearn's _joint_log_likelihood).
  std::vector<long double> joint_log_likelihood(const double* row) const;

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
  std::vector<long double> unseen_;     // [categorical feature · classes + class] log(α / (n_c + α·K + α))

  void precompute();  // log_norm_, unseen_ and log_prob_ from the fitted parameters
};

}  // namespace tocsin::risk
