// A CART decision tree (Breiman et al.), grown like scikit-learn's DecisionTreeClassifier:
// binary splits chosen greedily by the lowest weighted child impurity (gini or entropy); a
// numeric split sends x ≤ t left, t halfway between two neighbouring distinct values; a
// categorical split sends one category left (x = v) and the rest right. A node becomes a leaf
// when it is pure, at max_depth, or when no split leaves min_samples_leaf rows on both sides.
// A leaf predicts its class frequencies. Ties between equally good splits go to the first
// feature and the lowest threshold (sklearn breaks them at random, so trees may differ where
// splits tie; accuracy agrees).
// Thread-safety: immutable after fit.
#pragma once

#include "risk/classifier.h"

namespace tocsin::risk {

enum class Criterion { kGini, kEntropy };

struct TreeOptions {
  Criterion criterion = Criterion::kGini;
  int max_depth = 0;          // 0: unlimited
  int min_samples_leaf = 1;
};

core::Result<Criterion> parse_criterion(std::string_view text);

class DecisionTree final : public Classifier {
 public:
  struct Node {
    int feature = -1;          // -1: leaf
    double threshold = 0;      // numeric: left when x <= threshold; categorical: left when x == threshold
    int left = -1, right = -1;
    std::vector<double> counts;  // training rows per class
  };

  static core::Result<std::unique_ptr<DecisionTree>> fit(const Dataset& data, const Schema& schema, const TreeOptions& options);
  static core::Result<std::unique_ptr<DecisionTree>> from_json(const nlohmann::json& in, const Schema& schema);

  std::string_view kind() const override { return "decision_tree"; }
  Prediction predict(const double* row) const override;
  void to_json(nlohmann::json& out) const override;
  // The tree as nested if/else rules, thresholds in the data's own units when `unscale` maps a
  // feature to (mean, scale) of a standardisation.
  std::string describe(const Schema& schema) const override;
  std::string rules(const Schema& schema, const std::vector<std::pair<double, double>>& unscale) const;

  const std::vector<Node>& nodes() const { return nodes_; }
  int depth() const;

 private:
  TreeOptions options_;
  std::vector<bool> categorical_;
  std::vector<Node> nodes_;  // nodes_[0] is the root
};

}  // namespace tocsin::risk
