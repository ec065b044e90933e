#include "risk/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_map>

namespace tocsin::risk {

void sort_classes(std::vector<std::string>& classes) {
  bool numeric = std::all_of(classes.begin(), classes.end(), [](const std::string& c) { return parse_number(c).has_value(); });
  if (numeric)
    std::stable_sort(classes.begin(), classes.end(), [](const std::string& a, const std::string& b) { return *parse_number(a) < *parse_number(b); });
  else
    std::sort(classes.begin(), classes.end());
}

core::Result<Schema> schema_of(const Table& table, const std::string& label, const std::vector<std::string>& ignore) {
  Schema s;
  s.label = label;
  size_t lc = TOCSIN_TRY(table.require(label));
  for (const auto& name : ignore) TOCSIN_TRY(table.require(name));
  const Column& lcol = table.columns[lc];
  std::set<std::string> classes;
  for (size_t r = 0; r < table.rows(); ++r) {
    std::string v = lcol.text(r);
    if (v.empty()) return std::unexpected(core::Error::invalid_argument(fmt::format("column '{}': missing label", label)).at({table.source, table.lines[r], 0}));
    classes.insert(std::move(v));
  }
  if (classes.size() < 2)
    return std::unexpected(core::Error::invalid_argument(fmt::format("column '{}' has {} distinct labels; a model needs at least 2", label, classes.size())).at({table.source, 1, 0}));
  s.classes.assign(classes.begin(), classes.end());
  sort_classes(s.classes);
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const Column& col = table.columns[c];
    if (c == lc || std::find(ignore.begin(), ignore.end(), col.name) != ignore.end()) continue;
    Feature f{col.name, col.kind, {}};
    if (col.kind == ColumnKind::kCategorical) {
      std::set<std::string> cats(col.texts.begin(), col.texts.end());
      cats.erase("");
      f.categories.assign(cats.begin(), cats.end());
    }
    s.features.push_back(std::move(f));
  }
  if (s.features.empty()) return std::unexpected(core::Error::invalid_argument("no feature columns besides the label").at({table.source, 1, 0}));
  return s;
}

core::Result<Dataset> encode(const Table& table, const Schema& schema, bool with_label) {
  Dataset d;
  d.rows = table.rows();
  d.cols = schema.features.size();
  d.x.resize(d.rows * d.cols);
  for (size_t f = 0; f < d.cols; ++f) {
    const Feature& feat = schema.features[f];
    const Column& col = table.columns[TOCSIN_TRY(table.require(feat.name))];
    if (col.kind != feat.kind) {
      // A categorical feature may arrive as numbers (codes like 1, 2, 3): read them as text.
      if (feat.kind == ColumnKind::kNumeric)
        for (size_t r = 0; r < d.rows; ++r)
          if (!col.missing(r))
            return std::unexpected(core::Error::invalid_argument(fmt::format("column '{}': '{}' is not a number (the model's feature is numeric)", feat.name, col.texts[r])).at({table.source, table.lines[r], 0}));
    }
    if (feat.kind == ColumnKind::kNumeric) {
      for (size_t r = 0; r < d.rows; ++r) d.x[r * d.cols + f] = col.kind == ColumnKind::kNumeric ? col.numbers[r] : std::nan("");
    } else {
      std::unordered_map<std::string, int> index;
      for (size_t i = 0; i < feat.categories.size(); ++i) index[feat.categories[i]] = static_cast<int>(i);
      for (size_t r = 0; r < d.rows; ++r) {
        auto it = index.find(col.text(r));
        d.x[r * d.cols + f] = it == index.end() ? -1.0 : it->second;
      }
    }
  }
  if (with_label) {
    const Column& lcol = table.columns[TOCSIN_TRY(table.require(schema.label))];
    std::unordered_map<std::string, int> index;
    for (size_t i = 0; i < schema.classes.size(); ++i) index[schema.classes[i]] = static_cast<int>(i);
    // Labels written as numbers compare as numbers ("1.0" is class "1").
    std::vector<std::pair<double, int>> numeric;
    for (size_t i = 0; i < schema.classes.size(); ++i)
      if (auto v = parse_number(schema.classes[i])) numeric.emplace_back(*v, static_cast<int>(i));
    d.y.resize(d.rows);
    for (size_t r = 0; r < d.rows; ++r) {
      std::string v = lcol.text(r);
      auto it = index.find(v);
      int cls = it == index.end() ? -1 : it->second;
      if (cls < 0)
        if (auto num = parse_number(v))
          for (auto [value, i] : numeric) if (value == *num) cls = i;
      if (cls < 0) {
        std::string known;
        for (const auto& c : schema.classes) known += (known.empty() ? "" : ", ") + c;
        return std::unexpected(core::Error::invalid_argument(fmt::format(
            "column '{}': label '{}' was never seen in training (classes: {})", schema.label, v, known)).at({table.source, table.lines[r], 0}));
      }
      d.y[r] = cls;
    }
  }
  return d;
}

}  // namespace tocsin::risk
