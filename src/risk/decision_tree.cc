#include "risk/decision_tree.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>

namespace tocsin::risk {

core::Result<Criterion> parse_criterion(std::string_view text) {
  if (text == "gini") return Criterion::kGini;
  if (text == "entropy") return Criterion::kEntropy;
  return std::unexpected(core::Error::invalid_argument(fmt::format("unknown criterion '{}' (gini, entropy)", text)));
}

namespace {

double impurity(Criterion criterion, const double* counts, size_t k, double n) {
  if (n <= 0) return 0;
  double s = 0;
  if (criterion == Criterion::kGini) {
    for (size_t c = 0; c < k; ++c) s += (counts[c] / n) * (counts[c] / n);
    return 1 - s;
  }
  for (size_t c = 0; c < k; ++c)
    if (counts[c] > 0) s -= (counts[c] / n) * std::log2(counts[c] / n);
  return s;
}

struct Builder {
  const Dataset& data;
  const std::vector<bool>& categorical;
  const TreeOptions& options;
  size_t k;
  std::vector<DecisionTree::Node>& nodes;

  struct Best {
    double score = INFINITY;  // weighted child impurity, n_left·i_left + n_right·i_right
    int feature = -1;
    double threshold = 0;
  };

  int build(std::vector<size_t>& rows, int depth) {
    DecisionTree::Node node;
    node.counts.assign(k, 0);
    for (size_t r : rows) node.counts[static_cast<size_t>(data.y[r])] += 1;
    int id = static_cast<int>(nodes.size());
    nodes.push_back(node);
    const auto n = static_cast<double>(rows.size());
    const auto msl = static_cast<size_t>(std::max(1, options.min_samples_leaf));
    bool pure = std::count_if(node.counts.begin(), node.counts.end(), [](double c) { return c > 0; }) <= 1;
    if (pure || (options.max_depth > 0 && depth >= options.max_depth) || rows.size() < 2 * msl) return id;
    Best best = find_split(rows, node.counts, n, msl);
    if (best.feature < 0) return id;
    auto f = static_cast<size_t>(best.feature);
    bool cat = categorical[f];
    std::vector<size_t> left, right;
    for (size_t r : rows) {
      double x = data.row(r)[f];
      ((cat ? x == best.threshold : x <= best.threshold) ? left : right).push_back(r);
    }
    rows.clear();
    rows.shrink_to_fit();
    int l = build(left, depth + 1);
    int rgt = build(right, depth + 1);
    nodes[static_cast<size_t>(id)].feature = best.feature;
    nodes[static_cast<size_t>(id)].threshold = best.threshold;
    nodes[static_cast<size_t>(id)].left = l;
    nodes[static_cast<size_t>(id)].right = rgt;
    return id;
  }

  Best find_split(const std::vector<size_t>& rows, const std::vector<double>& total, double n, size_t msl) {
    Best best;
    std::vector<std::pair<double, int>> v(rows.size());
    std::vector<double> left(k), right(k);
    for (size_t f = 0; f < data.cols; ++f) {
      for (size_t i = 0; i < rows.size(); ++i) v[i] = {data.row(rows[i])[f], data.y[rows[i]]};
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      if (v.front().first == v.back().first) continue;  // constant here
      if (categorical[f]) {
        // One category against the rest: each run of equal values is a candidate.
        for (size_t i = 0; i < v.size();) {
          size_t j = i;
          std::fill(left.begin(), left.end(), 0);
          while (j < v.size() && v[j].first == v[i].first) left[static_cast<size_t>(v[j++].second)] += 1;
          size_t nl = j - i;
          if (nl >= msl && v.size() - nl >= msl) {
            for (size_t c = 0; c < k; ++c) right[c] = total[c] - left[c];
            double nr = n - static_cast<double>(nl);
            double score = static_cast<double>(nl) * impurity(options.criterion, left.data(), k, static_cast<double>(nl)) +
                           nr * impurity(options.criterion, right.data(), k, nr);
            if (score < best.score - 1e-12) best = {score, static_cast<int>(f), v[i].first};
          }
          i = j;
        }
        continue;
      }
      std::fill(left.begin(), left.end(), 0);
      for (size_t i = 0; i + 1 < v.size(); ++i) {
        left[static_cast<size_t>(v[i].second)] += 1;
        if (v[i].first == v[i + 1].first) continue;
        size_t nl = i + 1;
        if (nl < msl || v.size() - nl < msl) continue;
        for (size_t c = 0; c < k; ++c) right[c] = total[c] - left[c];
        double nr = n - static_cast<double>(nl);
        double score = static_cast<double>(nl) * impurity(options.criterion, left.data(), k, static_cast<double>(nl)) +
                       nr * impurity(options.criterion, right.data(), k, nr);
        if (score < best.score - 1e-12) {
          double t = v[i].first / 2 + v[i + 1].first / 2;
          if (t >= v[i + 1].first) t = v[i].first;  // rounding: keep the split between the two values
          best = {score, static_cast<int>(f), t};
        }
      }
    }
    return best;
  }
};

}  // namespace

core::Result<std::unique_ptr<DecisionTree>> DecisionTree::fit(const Dataset& data, const Schema& schema, const TreeOptions& options) {
  if (data.rows == 0) return std::unexpected(core::Error::invalid_argument("no training rows"));
  if (options.max_depth < 0) return std::unexpected(core::Error::invalid_argument("max_depth must be >= 0 (0: unlimited)"));
  if (options.min_samples_leaf < 1) return std::unexpected(core::Error::invalid_argument("min_samples_leaf must be >= 1"));
  auto tree = std::unique_ptr<DecisionTree>(new DecisionTree());
  tree->options_ = options;
  for (const auto& f : schema.features) tree->categorical_.push_back(f.kind == ColumnKind::kCategorical);
  for (size_t i = 0; i < data.x.size(); ++i)
    if (std::isnan(data.x[i])) return std::unexpected(core::Error::invalid_argument("the tree needs every value present (impute or drop missing values)"));
  std::vector<size_t> rows(data.rows);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  Builder b{data, tree->categorical_, options, schema.classes.size(), tree->nodes_};
  b.build(rows, 0);
  return tree;
}

Prediction DecisionTree::predict(const double* row) const {
  size_t i = 0;
  while (nodes_[i].feature >= 0) {
    const Node& n = nodes_[i];
    double x = row[n.feature];
    bool go_left = categorical_[static_cast<size_t>(n.feature)] ? x == n.threshold : x <= n.threshold;
    i = static_cast<size_t>(go_left ? n.left : n.right);
  }
  Prediction p;
  double total = 0;
  for (double c : nodes_[i].counts) total += c;
  for (size_t c = 0; c < nodes_[i].counts.size(); ++c) {
    p.proba.push_back(nodes_[i].counts[c] / total);
    if (nodes_[i].counts[c] > nodes_[i].counts[static_cast<size_t>(p.cls)]) p.cls = static_cast<int>(c);
  }
  return p;
}

int DecisionTree::depth() const {
  std::function<int(size_t)> d = [&](size_t i) -> int {
    if (nodes_[i].feature < 0) return 0;
    return 1 + std::max(d(static_cast<size_t>(nodes_[i].left)), d(static_cast<size_t>(nodes_[i].right)));
  };
  return d(0);
}

void DecisionTree::to_json(nlohmann::json& out) const {
  out["criterion"] = options_.criterion == Criterion::kGini ? "gini" : "entropy";
  out["max_depth"] = options_.max_depth;
  out["min_samples_leaf"] = options_.min_samples_leaf;
  auto& nodes = out["nodes"] = nlohmann::json::array();
  for (const auto& n : nodes_) {
    nlohmann::json j;
    if (n.feature >= 0) {
      j["feature"] = n.feature;
      j["threshold"] = n.threshold;
      j["left"] = n.left;
      j["right"] = n.right;
    }
    j["counts"] = n.counts;
    nodes.push_back(std::move(j));
  }
}

core::Result<std::unique_ptr<DecisionTree>> DecisionTree::from_json(const nlohmann::json& in, const Schema& schema) {
  auto tree = std::unique_ptr<DecisionTree>(new DecisionTree());
  for (const auto& f : schema.features) tree->categorical_.push_back(f.kind == ColumnKind::kCategorical);
  try {
    tree->options_.criterion = TOCSIN_TRY(parse_criterion(in.at("criterion").get<std::string>()));
    tree->options_.max_depth = in.at("max_depth").get<int>();
    tree->options_.min_samples_leaf = in.at("min_samples_leaf").get<int>();
    for (const auto& j : in.at("nodes")) {
      Node n;
      if (j.contains("feature")) {
        n.feature = j.at("feature").get<int>();
        n.threshold = j.at("threshold").get<double>();
        n.left = j.at("left").get<int>();
        n.right = j.at("right").get<int>();
      }
      n.counts = j.at("counts").get<std::vector<double>>();
      tree->nodes_.push_back(std::move(n));
    }
  } catch (const nlohmann::json::exception& e) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("decision tree parameters: {}", e.what())));
  }
  const auto size = static_cast<int>(tree->nodes_.size());
  bool ok = size > 0;
  for (int i = 0; ok && i < size; ++i) {
    const Node& n = tree->nodes_[static_cast<size_t>(i)];
    ok = n.counts.size() == schema.classes.size();
    // Children come after their parent, which also rules out cycles.
    if (n.feature >= 0)
      ok = ok && n.feature < static_cast<int>(schema.features.size()) && n.left > i && n.left < size && n.right > i && n.right < size;
  }
  if (!ok) return std::unexpected(core::Error::invalid_argument("decision tree nodes do not fit the model's classes and features"));
  return tree;
}

std::string DecisionTree::describe(const Schema& schema) const { return rules(schema, {}); }

std::string DecisionTree::rules(const Schema& schema, const std::vector<std::pair<double, double>>& unscale) const {
  std::string out;
  std::function<void(size_t, int)> walk = [&](size_t i, int indent) {
    const Node& n = nodes_[i];
    std::string pad(static_cast<size_t>(indent) * 2, ' ');
    if (n.feature < 0) {
      double total = 0;
      size_t best = 0;
      for (size_t c = 0; c < n.counts.size(); ++c) {
        total += n.counts[c];
        if (n.counts[c] > n.counts[best]) best = c;
      }
      out += fmt::format("{}then {}  (p={:.3f}, n={})\n", pad, schema.classes[best], n.counts[best] / total, total);
      return;
    }
    const auto f = static_cast<size_t>(n.feature);
    const Feature& feat = schema.features[f];
    std::string cond, neg;
    if (feat.kind == ColumnKind::kCategorical) {
      auto v = static_cast<size_t>(n.threshold);
      std::string cat = v < feat.categories.size() ? feat.categories[v] : "?";
      cond = fmt::format("{} = {}", feat.name, cat);
      neg = fmt::format("{} != {}", feat.name, cat);
    } else {
      double t = n.threshold;
      if (f < unscale.size()) t = t * unscale[f].second + unscale[f].first;
      cond = fmt::format("{} <= {:.6g}", feat.name, t);
      neg = fmt::format("{} > {:.6g}", feat.name, t);
    }
    out += fmt::format("{}if {}\n", pad, cond);
    walk(static_cast<size_t>(n.left), indent + 1);
    out += fmt::format("{}if {}\n", pad, neg);
    walk(static_cast<size_t>(n.right), indent + 1);
  };
  walk(0, 0);
  return out;
}

}  // namespace tocsin::risk
