#include "risk/cleaning.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

namespace tocsin::risk {

core::Result<MissingPolicy> parse_missing_policy(std::string_view text) {
  if (text == "drop") return MissingPolicy::kDrop;
  if (text == "mean") return MissingPolicy::kMean;
  if (text == "median") return MissingPolicy::kMedian;
  if (text == "mode") return MissingPolicy::kMode;
  return std::unexpected(core::Error::invalid_argument(
      fmt::format("unknown missing-value policy '{}' (drop, mean, median, mode)", text)));
}

std::string_view to_string(MissingPolicy policy) {
  switch (policy) {
    case MissingPolicy::kDrop: return "drop";
    case MissingPolicy::kMean: return "mean";
    case MissingPolicy::kMedian: return "median";
    case MissingPolicy::kMode: return "mode";
  }
  return "?";
}

namespace {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  double hi = v[mid];
  if (v.size() % 2) return hi;
  double lo = *std::max_element(v.begin(), v.begin() + static_cast<long>(mid));
  return (lo + hi) / 2;
}

std::vector<double> present(const std::vector<double>& values) {
  std::vector<double> out;
  for (double v : values)
    if (!std::isnan(v)) out.push_back(v);
  return out;
}

}  // namespace

std::vector<double> robust_z(const std::vector<double>& values) {
  auto xs = present(values);
  std::vector<double> z(values.size(), 0.0);
  if (xs.empty()) return z;
  double med = median_of(xs);
  for (double& x : xs) x = std::fabs(x - med);
  double mad = median_of(xs);
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) z[i] = std::nan("");
    else if (mad > 0) z[i] = 0.6745 * (values[i] - med) / mad;
  }
  return z;
}

core::Result<Cleaned> clean(const Table& table, const CleanOptions& options) {
  Cleaned out;
  CleanReport& rep = out.report;
  rep.rows_in = table.rows();
  rep.outlier_z = options.outlier_z;
  std::optional<size_t> label;
  if (!options.label.empty()) label = TOCSIN_TRY(table.require(options.label));
  for (const auto& [name, policy] : options.missing_per_column) {
    TOCSIN_TRY(table.require(name));
    if (name == options.label && policy != MissingPolicy::kDrop)
      return std::unexpected(core::Error::invalid_argument(fmt::format("the label column '{}' cannot be imputed", name)));
  }
  const size_t n = table.rows();
  std::vector<char> keep(n, 1);
  // 1. Missing values: which rows go, and what each imputed column is filled with.
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const Column& col = table.columns[c];
    ColumnReport cr{col.name, col.kind, 0, options.missing, 0, {}};
    if (auto it = options.missing_per_column.find(col.name); it != options.missing_per_column.end()) cr.policy = it->second;
    if (label && c == *label) cr.policy = MissingPolicy::kDrop;
    for (size_t r = 0; r < n; ++r) cr.missing += col.missing(r);
    if (cr.missing && cr.policy == MissingPolicy::kDrop) {
      for (size_t r = 0; r < n; ++r) {
        if (!col.missing(r) || !keep[r]) continue;
        keep[r] = 0;
        ++(label && c == *label ? rep.dropped_missing_label : rep.dropped_missing);
      }
    }
    rep.columns.push_back(std::move(cr));
  }
  // Fill values come from the rows that survive (so a dropped row does not shape them). A column
  // with an imputing policy gets one even when training saw no gap, so a prediction row (or live
  // risk, which feeds only its indicators) may leave it empty — except a categorical column under
  // a numeric --missing policy, which is an error only when it has gaps to fill.
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const Column& col = table.columns[c];
    const ColumnReport& cr = rep.columns[c];
    if (cr.policy == MissingPolicy::kDrop) continue;
    const bool explicit_policy = options.missing_per_column.contains(col.name);
    if (!cr.missing && col.kind == ColumnKind::kCategorical && cr.policy != MissingPolicy::kMode && !explicit_policy)
      continue;
    if (col.kind == ColumnKind::kNumeric) {
      std::vector<double> xs;
      for (size_t r = 0; r < n; ++r)
        if (keep[r] && !col.missing(r)) xs.push_back(col.numbers[r]);
      if (xs.empty()) return std::unexpected(core::Error::invalid_argument(fmt::format("column '{}' has no values to impute from", col.name)));
      double fill = 0;
      if (cr.policy == MissingPolicy::kMean) {
        long double s = 0;
        for (double x : xs) s += x;
        fill = static_cast<double>(s / xs.size());
      } else if (cr.policy == MissingPolicy::kMedian) {
        fill = median_of(xs);
      } else {
        std::map<double, size_t> counts;
        for (double x : xs) ++counts[x];
        size_t best = 0;
        for (auto [v, k] : counts) if (k > best) { best = k; fill = v; }
      }
      out.preprocessing.fill_number[col.name] = fill;
    } else {
      if (cr.policy != MissingPolicy::kMode)
        return std::unexpected(core::Error::invalid_argument(
            fmt::format("column '{}' is categorical: impute it with mode, not {}", col.name, to_string(cr.policy))));
      std::map<std::string, size_t> counts;
      for (size_t r = 0; r < n; ++r)
        if (keep[r] && !col.missing(r)) ++counts[col.texts[r]];
      if (counts.empty()) return std::unexpected(core::Error::invalid_argument(fmt::format("column '{}' has no values to impute from", col.name)));
      size_t best = 0;
      std::string fill;
      for (const auto& [v, k] : counts) if (k > best) { best = k; fill = v; }
      out.preprocessing.fill_text[col.name] = fill;
    }
  }
  // 2. Duplicates among the kept rows (the whole row, label included).
  {
    std::unordered_set<std::string> seen;
    std::string key;
    for (size_t r = 0; r < n; ++r) {
      if (!keep[r]) continue;
      key.clear();
      for (const auto& col : table.columns) {
        if (col.kind == ColumnKind::kNumeric) {
          double v = col.numbers[r];
          if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();  // one NaN bit pattern
          if (v == 0) v = 0;  // -0 == 0
          key.append(reinterpret_cast<const char*>(&v), sizeof v);
        } else {
          key += col.texts[r];
          key += '\x1f';
        }
      }
      if (!seen.insert(key).second) {
        ++rep.duplicates;
        if (options.drop_duplicates) { keep[r] = 0; ++rep.dropped_duplicates; }
      }
    }
  }
  // 3. Outliers of numeric feature columns, over the kept rows.
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const Column& col = table.columns[c];
    if (col.kind != ColumnKind::kNumeric || (label && c == *label)) continue;
    std::vector<double> xs(n, std::nan(""));
    for (size_t r = 0; r < n; ++r) if (keep[r]) xs[r] = col.numbers[r];
    auto z = robust_z(xs);
    auto& cr = rep.columns[c];
    for (size_t r = 0; r < n; ++r) {
      if (std::isnan(z[r]) || std::fabs(z[r]) <= options.outlier_z) continue;
      ++cr.outliers;
      if (cr.outlier_lines.size() < 5) cr.outlier_lines.push_back(table.lines[r]);
      if (options.drop_outliers) keep[r] = 2;  // dropped after every column has been looked at
    }
  }
  std::vector<size_t> rows;
  for (size_t r = 0; r < n; ++r) {
    if (keep[r] == 1) rows.push_back(r);
    else if (keep[r] == 2) ++rep.dropped_outliers;
  }
  out.table = table.select_rows(rows);
  rep.rows_out = out.table.rows();
  // 4. Fill, then standardise (scaling learned from the cleaned rows).
  std::vector<std::string> features;
  for (size_t c = 0; c < out.table.columns.size(); ++c) {
    if (label && c == *label) continue;
    auto& col = out.table.columns[c];
    features.push_back(col.name);
    if (!options.standardize || col.kind != ColumnKind::kNumeric || out.table.rows() == 0) continue;
    auto fill = out.preprocessing.fill_number.find(col.name);
    long double sum = 0, sq = 0;
    size_t k = 0;
    for (double x : col.numbers) {
      if (std::isnan(x)) { if (fill == out.preprocessing.fill_number.end()) continue; x = fill->second; }
      sum += x;
      ++k;
    }
    long double mean = k ? sum / k : 0;
    for (double x : col.numbers) {
      if (std::isnan(x)) { if (fill == out.preprocessing.fill_number.end()) continue; x = fill->second; }
      sq += (x - mean) * (x - mean);
    }
    double sd = k ? static_cast<double>(std::sqrt(sq / k)) : 0;
    out.preprocessing.standardize[col.name] = {static_cast<double>(mean), sd > 0 ? sd : 1.0};
  }
  rep.standardized = options.standardize;
  TOCSIN_RETURN_IF_ERROR(apply(out.preprocessing, out.table, features));
  return out;
}

core::Status apply(const Preprocessing& pre, Table& table, const std::vector<std::string>& feature_columns) {
  for (const auto& name : feature_columns) {
    size_t c = TOCSIN_TRY(table.require(name));
    Column& col = table.columns[c];
    if (col.kind == ColumnKind::kNumeric) {
      auto fill = pre.fill_number.find(name);
      auto scale = pre.standardize.find(name);
      for (size_t r = 0; r < col.numbers.size(); ++r) {
        double& x = col.numbers[r];
        if (std::isnan(x)) {
          if (fill == pre.fill_number.end())
            return std::unexpected(core::Error::invalid_argument(fmt::format(
                "column '{}': missing value (the model imputes no value for this column)", name)).at({table.source, table.lines[r], 0}));
          x = fill->second;
        }
        if (scale != pre.standardize.end()) x = (x - scale->second.mean) / scale->second.scale;
      }
    } else {
      auto fill = pre.fill_text.find(name);
      for (size_t r = 0; r < col.texts.size(); ++r) {
        if (!col.texts[r].empty()) continue;
        if (fill == pre.fill_text.end())
          return std::unexpected(core::Error::invalid_argument(fmt::format(
              "column '{}': missing value (the model imputes no value for this column)", name)).at({table.source, table.lines[r], 0}));
        col.texts[r] = fill->second;
      }
    }
  }
  return core::ok();
}

std::string CleanReport::to_text() const {
  std::string s = fmt::format("cleaning: {} rows in, {} rows out\n", rows_in, rows_out);
  if (dropped_missing_label) s += fmt::format("  dropped {} row(s) without a label\n", dropped_missing_label);
  if (dropped_missing) s += fmt::format("  dropped {} row(s) with missing values\n", dropped_missing);
  s += fmt::format("  duplicate rows: {}{}\n", duplicates, dropped_duplicates ? fmt::format(" (dropped {})", dropped_duplicates) : " (kept)");
  if (dropped_outliers) s += fmt::format("  dropped {} row(s) with outliers\n", dropped_outliers);
  for (const auto& c : columns) {
    if (!c.missing && !c.outliers) continue;
    s += fmt::format("  {} ({}):", c.name, to_string(c.kind));
    if (c.missing) s += fmt::format(" {} missing → {}", c.missing, to_string(c.policy));
    if (c.outliers) {
      s += fmt::format("{} {} outliers (|robust z| > {}) at lines", c.missing ? ";" : "", c.outliers, outlier_z);
      for (int l : c.outlier_lines) s += fmt::format(" {}", l);
      if (c.outliers > c.outlier_lines.size()) s += " …";
    }
    s += '\n';
  }
  if (standardized) s += "  numeric features standardised (mean 0, population σ 1)\n";
  return s;
}

}  // namespace tocsin::risk
