// `tocsin risk train|predict|eval` (SPEC §2): risk models trained on a CSV of past incidents.
// train reads and cleans the table (printing the cleaning report), optionally holds out a
// stratified test part or cross-validates, fits naive Bayes or a CART tree and writes the model
// as versioned JSON (risk/model.h). predict writes one row per input row: predicted,p_<class>…
// (probabilities printed with 17 significant digits, so they round-trip). eval prints accuracy,
// per-class precision, recall and F1, and the confusion matrix. With --plot, train also draws the
// model's decision regions over two numeric features of its training rows and eval draws the
// confusion matrix, as SVG (risk/plots.h).
// Thread-safety: functions without shared state.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/result.h"
#include "risk/model.h"

namespace tocsin::cli {

struct RiskTrainCommand {
  std::string data, label, out;
  std::string model = "nb";  // nb | tree
  int max_depth = 0;          // 0: unlimited
  int min_samples_leaf = 1;
  std::string criterion = "gini";
  double var_smoothing = 1e-9;
  std::vector<std::string> priors;       // CLASS=P for every class; empty: class frequencies
  std::vector<std::string> categorical;  // columns read as categories even when they look numeric
  std::vector<std::string> ignore;       // columns that are not features
  std::string missing = "drop";          // default missing-value policy
  std::vector<std::string> impute;       // COLUMN=drop|mean|median|mode
  bool drop_duplicates = false, drop_outliers = false, standardize = false;
  double test_fraction = 0;  // > 0: train on the rest, report on this stratified part
  int cv = 0;                // >= 2: k-fold cross-validation report before the final fit
  uint64_t seed = 1;
  bool rules = false;        // print the tree as rules
  std::string plot;          // non-empty: write the decision-region chart of the training rows here (SVG)
  std::string plot_features; // "X,Y": the two numeric features plotted; empty: the first two numeric ones
};

struct RiskPredictCommand {
  std::string model, data, output;  // output empty: stdout
};

struct RiskEvalCommand {
  std::string model, data, label;
  std::string plot;  // non-empty: write the confusion matrix here (SVG)
};

int run_risk_train(const RiskTrainCommand& command);
int run_risk_predict(const RiskPredictCommand& command);
int run_risk_eval(const RiskEvalCommand& command);

// The pieces, for tests: each writes its normal output to `out`.
core::Status risk_train(const RiskTrainCommand& command, std::ostream& out);
core::Status risk_predict(const RiskPredictCommand& command, std::ostream& out);
core::Status risk_eval(const RiskEvalCommand& command, std::ostream& out);

}  // namespace tocsin::cli
