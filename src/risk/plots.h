// Pictures of a risk model as self-contained SVG (no scripts, no external references, all text
// XML-escaped):
//  - confusion_svg: the confusion matrix as an N×N grid (rows: true class, columns: predicted),
//    each cell showing its count and shaded by its share of the row (the class's recall).
//  - decision_regions_svg: the classic risk-identification chart — a scatter of two numeric
//    features coloured by the true class over a background grid coloured by the model's predicted
//    class at each (x, y). The model's other features are held at the data's median (numeric) or
//    mode (categorical) while x and y vary.
// Region cells carry data-class (the predicted class), points data-class (the true class), so
// tests and tools can read the chart back.
// Thread-safety: functions without shared state.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "risk/model.h"
#include "risk/table.h"

namespace tocsin::risk {

// `confusion` is Evaluation::confusion: [true][predicted], classes.size() square.
std::string confusion_svg(const std::vector<std::string>& classes, const std::vector<std::vector<size_t>>& confusion,
                          std::string_view title);

inline constexpr int kRegionColumns = 80, kRegionRows = 60;

// The features a decision-region chart uses when none are named: the model's first two numeric
// features. Error (invalid_argument) when it has fewer than two.
core::Result<std::pair<std::string, std::string>> default_region_features(const Schema& schema);

// Errors (invalid_argument): a feature that is not one of the model's features, a categorical
// feature, x == y, the label column missing from `data`, or no row with both features present.
core::Result<std::string> decision_regions_svg(const Model& model, const Table& data, std::string_view x_feature,
                                               std::string_view y_feature, std::string_view label_column);

}  // namespace tocsin::risk
