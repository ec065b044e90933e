// A cleaned table turned into what the models read: a row-major matrix of features and a class
// index per row. Numeric features are their values; a categorical feature is the index of its
// value in the feature's sorted list of categories seen at training (-1 for a value never seen).
// Classes are sorted like numpy's np.unique would sort them: numerically when every label is a
// number, else as byte strings — so class order, and hence tie-breaking, matches scikit-learn.
// Thread-safety: value types and functions without shared state.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "risk/table.h"

namespace tocsin::risk {

struct Feature {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  std::vector<std::string> categories;  // kCategorical: sorted
};

struct Schema {
  std::string label;
  std::vector<std::string> classes;
  std::vector<Feature> features;
};

struct Dataset {
  size_t rows = 0, cols = 0;
  std::vector<double> x;  // rows × cols, row-major
  std::vector<int> y;     // class index per row; empty when the table had no label
  const double* row(size_t r) const { return x.data() + r * cols; }
};

// The schema of a training table: every column but the label (and `ignore`) is a feature.
core::Result<Schema> schema_of(const Table& table, const std::string& label, const std::vector<std::string>& ignore = {});

// Encodes `table` by `schema`. With `with_label`, the label column must be present and every
// label one of the schema's classes (else an error naming file:line and the column).
core::Result<Dataset> encode(const Table& table, const Schema& schema, bool with_label);

// Sorts class names the np.unique way (see above).
void sort_classes(std::vector<std::string>& classes);

}  // namespace tocsin::risk
