// The cleaning step between a CSV table and a model, with a report of what it found and did:
// missing values (drop the row, or impute per column with the mean, median or most frequent
// value), duplicate rows (reported; dropped on request), outliers by robust z-score
// (0.6745·(x − median)/MAD, |z| above a limit; flagged, dropped on request) and optional
// standardisation of numeric columns ((x − mean)/σ, population σ, like sklearn's StandardScaler).
// What training learned (fill values, scaling) is kept in `Preprocessing`, so prediction applies
// exactly the same transformation to new rows.
// Thread-safety: value types and functions without shared state.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "risk/table.h"

namespace tocsin::risk {

enum class MissingPolicy { kDrop, kMean, kMedian, kMode };
core::Result<MissingPolicy> parse_missing_policy(std::string_view text);
std::string_view to_string(MissingPolicy policy);

struct CleanOptions {
  std::string label;  // rows with a missing label are always dropped; the label is never imputed
  MissingPolicy missing = MissingPolicy::kDrop;
  std::map<std::string, MissingPolicy, std::less<>> missing_per_column;
  bool drop_duplicates = false;
  double outlier_z = 3.5;  // Iglewicz & Hoaglin's cut-off
  bool drop_outliers = false;
  bool standardize = false;
};

// Learned from training data, applied to every later table.
struct Preprocessing {
  std::map<std::string, double, std::less<>> fill_number;       // imputed numeric columns
  std::map<std::string, std::string, std::less<>> fill_text;    // imputed categorical columns
  struct Scale { double mean = 0, scale = 1; };
  std::map<std::string, Scale, std::less<>> standardize;
};

struct ColumnReport {
  std::string name;
  ColumnKind kind;
  size_t missing = 0;
  MissingPolicy policy = MissingPolicy::kDrop;
  size_t outliers = 0;
  std::vector<int> outlier_lines;  // the first few, file lines
};

struct CleanReport {
  size_t rows_in = 0, rows_out = 0;
  size_t dropped_missing_label = 0, dropped_missing = 0;
  size_t duplicates = 0, dropped_duplicates = 0;
  size_t dropped_outliers = 0;
  bool standardized = false;
  double outlier_z = 3.5;
  std::vector<ColumnReport> columns;

  std::string to_text() const;  // a few readable lines
};

struct Cleaned {
  Table table;
  Preprocessing preprocessing;
  CleanReport report;
};

core::Result<Cleaned> clean(const Table& table, const CleanOptions& options);

// Applies learned fill values and scaling to `table` in place (prediction time). A missing value
// in a column that was not imputed at training is an error naming file:line and the column.
core::Status apply(const Preprocessing& pre, Table& table, const std::vector<std::string>& feature_columns);

// Robust z-scores of the non-missing values of `values` (NaN for missing; all 0 when MAD is 0).
std::vector<double> robust_z(const std::vector<double>& values);

}  // namespace tocsin::risk
