#include "risk/model.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "core/file_io.h"

namespace tocsin::risk {

core::Result<std::unique_ptr<Classifier>> fit(const Dataset& data, const Schema& schema, const TrainOptions& options) {
  if (options.type == ModelType::kTree) return TOCSIN_TRY(DecisionTree::fit(data, schema, options.tree));
  return TOCSIN_TRY(NaiveBayes::fit(data, schema, options.nb));
}

std::map<std::string, ColumnKind, std::less<>> Model::column_kinds() const {
  std::map<std::string, ColumnKind, std::less<>> kinds;
  for (const auto& f : schema.features) kinds[f.name] = f.kind;
  kinds[schema.label] = ColumnKind::kCategorical;
  return kinds;
}

core::Result<Evaluation> evaluate_model(const Model& model, const Table& table, std::string_view label) {
  TOCSIN_TRY(table.require(label));
  auto predictions = TOCSIN_TRY(model.predict(table));
  Schema schema = model.schema;
  schema.label = std::string(label);
  const Dataset truth = TOCSIN_TRY(encode(table, schema, true));
  std::vector<int> predicted;
  predicted.reserve(predictions.size());
  for (const auto& p : predictions) predicted.push_back(p.cls);
  return evaluate(schema.classes, truth.y, predicted);
}

core::Result<std::vector<Prediction>> Model::predict(const Table& raw) const {
  Table table = raw;
  std::vector<std::string> names;
  for (const auto& f : schema.features) names.push_back(f.name);
  TOCSIN_RETURN_IF_ERROR(apply(preprocessing, table, names));
  Dataset data = TOCSIN_TRY(encode(table, schema, false));
  std::vector<Prediction> out;
  out.reserve(data.rows);
  for (size_t r = 0; r < data.rows; ++r) out.push_back(classifier->predict(data.row(r)));
  return out;
}

std::string Model::describe() const {
  if (auto* tree = dynamic_cast<const DecisionTree*>(classifier.get())) {
    std::vector<std::pair<double, double>> unscale;
    for (const auto& f : schema.features) {
      auto it = preprocessing.standardize.find(f.name);
      unscale.emplace_back(it == preprocessing.standardize.end() ? 0.0 : it->second.mean,
                           it == preprocessing.standardize.end() ? 1.0 : it->second.scale);
    }
    return tree->rules(schema, unscale);
  }
  return classifier->describe(schema);
}

std::string to_json(const Model& model) {
  nlohmann::json j;
  j["format"] = kModelFormat;
  j["version"] = kModelVersion;
  j["kind"] = model.classifier->kind();
  j["label"] = model.schema.label;
  j["classes"] = model.schema.classes;
  auto& features = j["features"] = nlohmann::json::array();
  for (const auto& f : model.schema.features) {
    nlohmann::json fj{{"name", f.name}, {"type", to_string(f.kind)}};
    if (f.kind == ColumnKind::kCategorical) fj["categories"] = f.categories;
    features.push_back(std::move(fj));
  }
  auto& pre = j["preprocessing"] = nlohmann::json::object();
  for (const auto& [name, v] : model.preprocessing.fill_number) pre["fill"][name] = v;
  for (const auto& [name, v] : model.preprocessing.fill_text) pre["fill"][name] = v;
  for (const auto& [name, s] : model.preprocessing.standardize) pre["standardize"][name] = {{"mean", s.mean}, {"scale", s.scale}};
  model.classifier->to_json(j["params"]);
  return j.dump(1) + "\n";
}

core::Result<Model> model_from_json(std::string_view text, const std::string& source) {
  auto bad = [&](std::string message) {
    return std::unexpected(core::Error::invalid_argument(std::move(message)).at({source, 0, 0}));
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.value("format", "") != kModelFormat) return bad(fmt::format("not a tocsin risk model (\"format\" must be \"{}\")", kModelFormat));
  if (!j.contains("version") || !j["version"].is_number_integer()) return bad("no \"version\"");
  if (int v = j["version"].get<int>(); v != kModelVersion)
    return bad(fmt::format("model version {} is not supported (this tocsin reads version {})", v, kModelVersion));
  Model m;
  std::string kind;
  try {
    kind = j.at("kind").get<std::string>();
    m.schema.label = j.at("label").get<std::string>();
    m.schema.classes = j.at("classes").get<std::vector<std::string>>();
    for (const auto& fj : j.at("features")) {
      Feature f;
      f.name = fj.at("name").get<std::string>();
      auto type = fj.at("type").get<std::string>();
      if (type == "numeric") f.kind = ColumnKind::kNumeric;
      else if (type == "categorical") f.kind = ColumnKind::kCategorical;
      else return bad(fmt::format("feature '{}': unknown type '{}'", f.name, type));
      if (f.kind == ColumnKind::kCategorical) f.categories = fj.at("categories").get<std::vector<std::string>>();
      m.schema.features.push_back(std::move(f));
    }
    const auto& pre = j.at("preprocessing");
    if (pre.contains("fill"))
      for (const auto& [name, v] : pre["fill"].items()) {
        if (v.is_string()) m.preprocessing.fill_text[name] = v.get<std::string>();
        else m.preprocessing.fill_number[name] = v.get<double>();
      }
    if (pre.contains("standardize"))
      for (const auto& [name, v] : pre["standardize"].items())
        m.preprocessing.standardize[name] = {v.at("mean").get<double>(), v.at("scale").get<double>()};
  } catch (const nlohmann::json::exception& e) {
    return bad(fmt::format("malformed model: {}", e.what()));
  }
  if (m.schema.classes.size() < 2 || m.schema.features.empty()) return bad("a model needs two classes and a feature");
  if (!j.contains("params")) return bad("no \"params\"");
  if (kind == "decision_tree") {
    auto t = DecisionTree::from_json(j["params"], m.schema);
    if (!t) return bad(t.error().message());
    m.classifier = std::move(*t);
  } else if (kind == "gaussian_nb" || kind == "categorical_nb" || kind == "mixed_nb") {
    auto nb = NaiveBayes::from_json(j["params"], m.schema);
    if (!nb) return bad(nb.error().message());
    if (nb.value()->kind() != kind) return bad(fmt::format("kind '{}' does not match the features ({})", kind, nb.value()->kind()));
    m.classifier = std::move(*nb);
  } else {
    return bad(fmt::format("unknown model kind '{}'", kind));
  }
  return m;
}

core::Status save_model(const Model& model, const std::string& path) {
  return core::write_file_atomically(path, to_json(model));
}

core::Result<Model> load_model(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected(core::Error::not_found(fmt::format("cannot open model {}", path)));
  std::stringstream ss;
  ss << in.rdbuf();
  return model_from_json(ss.str(), path);
}

}  // namespace tocsin::risk
