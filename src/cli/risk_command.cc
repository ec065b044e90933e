#include "cli/risk_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <ostream>

#include "risk/metrics.h"
#include "risk/plots.h"
#include "risk/split.h"

namespace tocsin::cli {
namespace {

using core::Error;

core::Result<risk::TrainOptions> train_options(const RiskTrainCommand& c) {
  risk::TrainOptions o;
  if (c.model == "nb") o.type = risk::ModelType::kNaiveBayes;
  else if (c.model == "tree") o.type = risk::ModelType::kTree;
  else return std::unexpected(Error::invalid_argument(fmt::format("--model: unknown model '{}' (nb, tree)", c.model)));
  o.nb.var_smoothing = c.var_smoothing;
  o.tree.criterion = TOCSIN_TRY(risk::parse_criterion(c.criterion));
  if (c.max_depth < 0) return std::unexpected(Error::invalid_argument("--max-depth must be >= 0 (0: unlimited)"));
  if (c.min_samples_leaf < 1) return std::unexpected(Error::invalid_argument("--min-samples-leaf must be >= 1"));
  o.tree.max_depth = c.max_depth;
  o.tree.min_samples_leaf = c.min_samples_leaf;
  return o;
}

// Fits on `rows` of the cleaned table; the schema (classes, categories) comes from the whole table
// so every part encodes the same way.
core::Result<std::unique_ptr<risk::Classifier>> fit_rows(const risk::Dataset& all, const risk::Schema& schema,
                                                         const std::vector<size_t>& rows, const risk::TrainOptions& o) {
  risk::Dataset part;
  part.cols = all.cols;
  part.rows = rows.size();
  for (size_t r : rows) {
    part.x.insert(part.x.end(), all.row(r), all.row(r) + all.cols);
    part.y.push_back(all.y[r]);
  }
  return risk::fit(part, schema, o);
}

risk::Evaluation evaluate_rows(const risk::Classifier& c, const risk::Dataset& all, const risk::Schema& schema,
                               const std::vector<size_t>& rows) {
  std::vector<int> truth, pred;
  for (size_t r : rows) {
    truth.push_back(all.y[r]);
    pred.push_back(c.predict(all.row(r)).cls);
  }
  return risk::evaluate(schema.classes, truth, pred);
}

core::Status write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) return std::unexpected(Error::unavailable(fmt::format("cannot write {}", path)));
  return core::ok();
}

// --plot-features X,Y, or the model's first two numeric features.
core::Result<std::pair<std::string, std::string>> plot_features(const risk::Schema& schema, const std::string& given) {
  if (!given.empty()) {
    const auto comma = given.find(',');
    if (comma == std::string::npos || given.find(',', comma + 1) != std::string::npos)
      return std::unexpected(Error::invalid_argument(fmt::format("--plot-features '{}': expected X,Y", given)));
    return std::pair{given.substr(0, comma), given.substr(comma + 1)};
  }
  auto features = risk::default_region_features(schema);
  if (!features) return std::unexpected(Error::invalid_argument("--plot: " + features.error().message()));
  return features;
}

int report(std::string_view what, const core::Status& status) {
  if (status) return 0;
  fmt::print(stderr, "tocsin risk {}: {}\n", what, status.error().to_string());
  return 1;
}

}  // namespace

core::Status risk_train(const RiskTrainCommand& c, std::ostream& out) {
  if (c.data.empty() || c.label.empty() || c.out.empty()) return std::unexpected(Error::invalid_argument("--data, --label and --out are required"));
  auto options = TOCSIN_TRY(train_options(c));
  risk::ReadOptions read;
  read.kinds[c.label] = risk::ColumnKind::kCategorical;
  for (const auto& name : c.categorical) read.kinds[name] = risk::ColumnKind::kCategorical;
  risk::Table table = TOCSIN_TRY(risk::read_csv_file(c.data, read));
  TOCSIN_TRY(table.require(c.label));
  for (const auto& name : c.categorical) TOCSIN_TRY(table.require(name));
  risk::CleanOptions clean;
  clean.label = c.label;
  clean.missing = TOCSIN_TRY(risk::parse_missing_policy(c.missing));
  for (const auto& item : c.impute) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return std::unexpected(Error::invalid_argument(fmt::format("--impute '{}': expected COLUMN=POLICY", item)));
    clean.missing_per_column[item.substr(0, eq)] = TOCSIN_TRY(risk::parse_missing_policy(item.substr(eq + 1)));
  }
  clean.drop_duplicates = c.drop_duplicates;
  clean.drop_outliers = c.drop_outliers;
  clean.standardize = c.standardize;
  // Ignored columns play no part in cleaning either.
  if (!c.ignore.empty()) {
    for (const auto& name : c.ignore) TOCSIN_TRY(table.require(name));
    std::erase_if(table.columns, [&](const risk::Column& col) { return std::find(c.ignore.begin(), c.ignore.end(), col.name) != c.ignore.end(); });
  }
  risk::Cleaned cleaned = TOCSIN_TRY(risk::clean(table, clean));
  out << cleaned.report.to_text();
  risk::Model model;
  model.schema = TOCSIN_TRY(risk::schema_of(cleaned.table, c.label));
  model.preprocessing = cleaned.preprocessing;
  risk::Dataset data = TOCSIN_TRY(risk::encode(cleaned.table, model.schema, true));
  if (!c.priors.empty()) {
    options.nb.priors.assign(model.schema.classes.size(), -1);
    for (const auto& item : c.priors) {
      auto eq = item.find('=');
      auto cls = std::find(model.schema.classes.begin(), model.schema.classes.end(), item.substr(0, eq == std::string::npos ? 0 : eq));
      auto p = eq == std::string::npos ? std::nullopt : risk::parse_number(item.substr(eq + 1));
      if (!p || cls == model.schema.classes.end())
        return std::unexpected(Error::invalid_argument(fmt::format("--prior '{}': expected CLASS=PROBABILITY with CLASS one of {}", item,
                                                                   fmt::join(model.schema.classes, ", "))));
      options.nb.priors[static_cast<size_t>(cls - model.schema.classes.begin())] = *p;
    }
    for (size_t i = 0; i < options.nb.priors.size(); ++i)
      if (options.nb.priors[i] < 0)
        return std::unexpected(Error::invalid_argument(fmt::format("--prior: no prior for class '{}' (give one for every class)", model.schema.classes[i])));
  }
  if (c.cv) {
    auto folds = TOCSIN_TRY(risk::stratified_k_fold(data.y, c.cv, c.seed));
    std::vector<double> acc;
    for (const auto& f : folds) {
      auto m = TOCSIN_TRY(fit_rows(data, model.schema, f.train, options));
      acc.push_back(evaluate_rows(*m, data, model.schema, f.test).accuracy);
    }
    double mean = 0, sq = 0;
    for (double a : acc) mean += a / static_cast<double>(acc.size());
    for (double a : acc) sq += (a - mean) * (a - mean) / static_cast<double>(acc.size());
    out << fmt::format("{}-fold cross-validation (seed {}): accuracy {:.4f} ± {:.4f} (folds:", c.cv, c.seed, mean, std::sqrt(sq));
    for (double a : acc) out << fmt::format(" {:.4f}", a);
    out << ")\n";
  }
  std::vector<size_t> train_rows(data.rows);
  for (size_t i = 0; i < data.rows; ++i) train_rows[i] = i;
  risk::Split split;
  if (c.test_fraction > 0) {
    split = TOCSIN_TRY(risk::stratified_split(data.y, c.test_fraction, c.seed));
    train_rows = split.train;
  }
  model.classifier = TOCSIN_TRY(fit_rows(data, model.schema, train_rows, options));
  out << fmt::format("trained {} on {} rows: {} features, classes {}\n", model.classifier->kind(), train_rows.size(),
                     model.schema.features.size(), fmt::join(model.schema.classes, ", "));
  if (c.test_fraction > 0) {
    out << fmt::format("held-out test part ({} rows, seed {}):\n", split.test.size(), c.seed);
    out << evaluate_rows(*model.classifier, data, model.schema, split.test).to_text();
  }
  if (c.rules) out << model.describe();
  TOCSIN_RETURN_IF_ERROR(risk::save_model(model, c.out));
  out << fmt::format("model written to {}\n", c.out);
  if (!c.plot.empty()) {
    // The training rows as cleaned (raw units: the model applies its own preprocessing).
    const auto [fx, fy] = TOCSIN_TRY(plot_features(model.schema, c.plot_features));
    const std::string svg = TOCSIN_TRY(risk::decision_regions_svg(model, cleaned.table.select_rows(train_rows), fx, fy, c.label));
    TOCSIN_RETURN_IF_ERROR(write_file(c.plot, svg));
    out << fmt::format("decision regions ({} vs {}) written to {}\n", fy, fx, c.plot);
  }
  return core::ok();
}

core::Status risk_predict(const RiskPredictCommand& c, std::ostream& out) {
  risk::Model model = TOCSIN_TRY(risk::load_model(c.model));
  risk::ReadOptions read;
  read.kinds = model.column_kinds();
  risk::Table table = TOCSIN_TRY(risk::read_csv_file(c.data, read));
  auto predictions = TOCSIN_TRY(model.predict(table));
  std::string text = "predicted";
  for (const auto& cls : model.schema.classes) text += ",p_" + risk::csv_field(cls);
  text += '\n';
  for (const auto& p : predictions) {
    text += risk::csv_field(model.schema.classes[static_cast<size_t>(p.cls)]);
    for (double v : p.proba) text += fmt::format(",{:.17g}", v);
    text += '\n';
    if (text.size() > (1 << 20)) { out << text; text.clear(); }
  }
  out << text;
  if (!out) return std::unexpected(Error::unavailable("write failed"));
  return core::ok();
}

core::Status risk_eval(const RiskEvalCommand& c, std::ostream& out) {
  risk::Model model = TOCSIN_TRY(risk::load_model(c.model));
  risk::ReadOptions read;
  read.kinds = model.column_kinds();
  read.kinds[c.label] = risk::ColumnKind::kCategorical;
  risk::Table table = TOCSIN_TRY(risk::read_csv_file(c.data, read));
  const risk::Evaluation evaluation = TOCSIN_TRY(risk::evaluate_model(model, table, c.label));
  out << evaluation.to_text();
  if (!c.plot.empty()) {
    const std::string title = fmt::format("{} on {}: accuracy {:.3f} ({} of {})", std::filesystem::path(c.model).filename().string(),
                                          std::filesystem::path(c.data).filename().string(), evaluation.accuracy,
                                          evaluation.correct, evaluation.total);
    TOCSIN_RETURN_IF_ERROR(write_file(c.plot, risk::confusion_svg(model.schema.classes, evaluation.confusion, title)));
    out << fmt::format("confusion matrix written to {}\n", c.plot);
  }
  return core::ok();
}

int run_risk_train(const RiskTrainCommand& command) { return report("train", risk_train(command, std::cout)); }

int run_risk_predict(const RiskPredictCommand& command) {
  if (command.output.empty()) return report("predict", risk_predict(command, std::cout));
  std::ofstream out(command.output);
  if (!out) return report("predict", std::unexpected(Error::unavailable(fmt::format("cannot write {}", command.output))));
  return report("predict", risk_predict(command, out));
}

int run_risk_eval(const RiskEvalCommand& command) { return report("eval", risk_eval(command, std::cout)); }

}  // namespace tocsin::cli
