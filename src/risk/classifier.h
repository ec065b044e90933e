// The interface every risk model implements, and its JSON form. A classifier is fitted once on a
// Dataset and is then immutable: predict() is const and safe to call from several threads.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "risk/dataset.h"

namespace tocsin::risk {

struct Prediction {
  int cls = 0;                 // index into Schema::classes
  std::vector<double> proba;   // one per class, summing to 1
};

class Classifier {
 public:
  virtual ~Classifier() = default;
  // "gaussian_nb", "categorical_nb", "mixed_nb" or "decision_tree": the model file's "kind".
  virtual std::string_view kind() const = 0;
  virtual Prediction predict(const double* row) const = 0;
  // Predicts `rows` rows of a row-major matrix (`data.x`): the class of row r into cls[r] and its
  // probabilities into proba[r * classes + c] (`classes` = the schema's class count). The same
  // numbers as predict(), without an allocation per row; the default calls predict().
  virtual void predict_batch(const Dataset& data, size_t classes, int* cls, double* proba) const {
    for (size_t r = 0; r < data.rows; ++r) {
      Prediction p = predict(data.row(r));
      cls[r] = p.cls;
      for (size_t c = 0; c < classes && c < p.proba.size(); ++c) proba[r * classes + c] = p.proba[c];
    }
  }
  // The model's own parameters (the model file adds format, version, kind and the schema).
  virtual void to_json(nlohmann::json& out) const = 0;
  // A readable description: the tree as rules, the naive Bayes per-class statistics.
  virtual std::string describe(const Schema& schema) const = 0;
};

}  // namespace tocsin::risk
