// A trained risk model as saved on disk: the schema (label, classes, features), the learned
// preprocessing (fill values, standardisation) and the classifier, as versioned JSON:
//   {"format":"tocsin-risk-model","version":1,"kind":"gaussian_nb"|"categorical_nb"|"mixed_nb"|
//    "decision_tree", "label":…, "classes":[…], "features":[{"name","type","categories"}],
//    "preprocessing":{…}, "params":{…}}
// Loading checks format, version and kind and that the parameters fit the schema; a file from a
// newer version is refused rather than misread.
// Thread-safety: a loaded model is immutable; predict from any thread.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "risk/classifier.h"
#include "risk/cleaning.h"
#include "risk/dataset.h"
#include "risk/decision_tree.h"
#include "risk/metrics.h"
#include "risk/naive_bayes.h"

namespace tocsin::risk {

inline constexpr std::string_view kModelFormat = "tocsin-risk-model";
inline constexpr int kModelVersion = 1;

struct Model {
  Schema schema;
  Preprocessing preprocessing;
  std::unique_ptr<Classifier> classifier;

  // Prediction for a raw table: preprocessing, encoding, then the classifier, one per row.
  core::Result<std::vector<Prediction>> predict(const Table& table) const;
  // Feature columns read with their training kinds (for read_csv's ReadOptions::kinds).
  std::map<std::string, ColumnKind, std::less<>> column_kinds() const;
  // The classifier's description; a tree's thresholds in the data's units.
  std::string describe() const;
};

enum class ModelType { kNaiveBayes, kTree };

struct TrainOptions {
  ModelType type = ModelType::kNaiveBayes;
  NaiveBayesOptions nb;
  TreeOptions tree;
};

// Fits a classifier on a cleaned table (see clean()).
core::Result<std::unique_ptr<Classifier>> fit(const Dataset& data, const Schema& schema, const TrainOptions& options);

// Predicts every row of `table` and scores it against its `label` column (`tocsin risk eval`, the
// API's confusion.svg). Errors: the label column missing, a label the model never saw (naming its
// line), or whatever predict() refuses.
core::Result<Evaluation> evaluate_model(const Model& model, const Table& table, std::string_view label);

std::string to_json(const Model& model);  // pretty-printed, doubles round-trip exactly
core::Result<Model> model_from_json(std::string_view text, const std::string& source);
core::Status save_model(const Model& model, const std::string& path);
core::Result<Model> load_model(const std::string& path);

}  // namespace tocsin::risk
