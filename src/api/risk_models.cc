#include "api/risk_models.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/router.h"
#include "risk/model.h"
#include "risk/plots.h"

namespace tocsin::api {
namespace {

using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::string_view kBase = "/api/v1/risk/models";

Response svg(std::string body) {
  Response r = Response::text(200, std::move(body), "image/svg+xml");
  r.headers = {{"Cache-Control", "no-store"}};
  return r;
}

std::vector<std::string> names_of_features(const risk::Model& model) {
  std::vector<std::string> names;
  for (const auto& f : model.schema.features) names.push_back(f.name);
  return names;
}

std::vector<std::string> names_of(const std::vector<RiskModelEntry>& models) {
  std::vector<std::string> names;
  for (const auto& m : models) names.push_back(m.name);
  return names;
}

// The model file, or a 409 naming it: the config points at it, so a bad file is the server's
// state, not the request's fault.
core::Result<risk::Model> load(const RiskModelEntry& entry) {
  auto model = risk::load_model(entry.file);
  if (!model) {
    return std::unexpected(core::Error::failed_precondition(
        fmt::format("model {} ({}) cannot be read: {}", entry.name, entry.file, model.error().to_string())));
  }
  return model;
}

json model_json(const RiskModelEntry& entry) {
  json out = {{"name", entry.name},
              {"file", entry.file},
              {"data", entry.data.empty() ? json(nullptr) : json(entry.data)},
              {"risks", entry.risks},
              {"live", entry.live}};
  const std::string base = fmt::format("{}/{}", kBase, entry.name);
  out["pictures"] = {{"regions", base + "/regions.svg"}, {"confusion", base + "/confusion.svg"}};
  auto model = load(entry);
  if (!model) {
    out["error"] = model.error().message();
    return out;
  }
  out["kind"] = model->classifier->kind();
  out["label"] = model->schema.label;
  out["classes"] = model->schema.classes;
  json features = json::array();
  for (const auto& f : model->schema.features) {
    json item = {{"name", f.name}, {"type", risk::to_string(f.kind)}};
    if (f.kind == risk::ColumnKind::kCategorical) item["categories"] = f.categories;
    features.push_back(std::move(item));
  }
  out["features"] = std::move(features);
  return out;
}

// The data to draw from: the POSTed CSV (a bad one is a 400 naming the body's line), or on GET
// the configured `data:` file (a bad one is a 409 naming the file's line; none is a 404).
core::Result<risk::Table> data_for(const RiskModelEntry& entry, const risk::Model& model, const Request& request) {
  risk::ReadOptions read;
  read.kinds = model.column_kinds();
  if (request.method == "POST") {
    if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
      return std::unexpected(core::Error::invalid_argument(
          fmt::format("empty body: POST a CSV with a header line and the columns {} and {}",
                      fmt::join(names_of_features(model), ", "), model.schema.label)));
    }
    read.source = "body";
    std::istringstream in(request.body);
    auto table = risk::read_csv(in, read);
    if (!table) return std::unexpected(core::Error::invalid_argument(table.error().to_string()));
    return table;
  }
  if (entry.data.empty()) {
    return std::unexpected(core::Error::not_found(
        fmt::format("model {} has no data to draw from: add `data: FILE.csv` next to `model:` in tocsin.yaml, or "
                    "POST the CSV",
                    entry.name))
                               .field("data"));
  }
  read.source = entry.data;
  auto table = risk::read_csv_file(entry.data, read);
  if (!table) return std::unexpected(core::Error::failed_precondition(table.error().to_string()));
  return table;
}

Response fail(const core::Error& e) { return Response::error(http_status(e), e.message(), e.field()); }

// A feature for a region axis: one of the model's numeric features, else a 400 naming `param`.
core::Status check_axis(const risk::Model& model, const std::string& name, const char* param) {
  auto f = std::find_if(model.schema.features.begin(), model.schema.features.end(),
                        [&](const risk::Feature& x) { return x.name == name; });
  if (f == model.schema.features.end()) {
    return std::unexpected(core::Error::invalid_argument(fmt::format("unknown feature \"{}\" (the model's features: {})",
                                                                     name, fmt::join(names_of_features(model), ", ")))
                               .field(param));
  }
  if (f->kind != risk::ColumnKind::kNumeric) {
    return std::unexpected(
        core::Error::invalid_argument(fmt::format("feature \"{}\" is categorical; choose a numeric feature", name))
            .field(param));
  }
  return core::ok();
}

Response regions(const RiskModelEntry& entry, const Request& request) {
  for (const auto& [key, value] : request.query) {
    if (key != "x" && key != "y") {
      return Response::error(400, fmt::format("unknown parameter \"{}\": expected x and y (feature names)", key), key);
    }
  }
  const bool has_x = request.query.contains("x"), has_y = request.query.contains("y");
  if (has_x != has_y) return Response::error(400, "give both x and y, or neither", has_x ? "y" : "x");
  auto model = load(entry);
  if (!model) return fail(model.error());
  std::pair<std::string, std::string> axes;
  if (has_x) {
    axes = {request.query.at("x"), request.query.at("y")};
    if (auto ok = check_axis(*model, axes.first, "x"); !ok) return fail(ok.error());
    if (auto ok = check_axis(*model, axes.second, "y"); !ok) return fail(ok.error());
    if (axes.first == axes.second) return Response::error(400, "x and y are the same feature; choose two", "y");
  } else {
    auto defaults = risk::default_region_features(model->schema);
    if (!defaults) return Response::error(409, fmt::format("model {}: {}", entry.name, defaults.error().message()));
    axes = *defaults;
  }
  auto data = data_for(entry, *model, request);
  if (!data) return fail(data.error());
  auto picture = risk::decision_regions_svg(*model, *data, axes.first, axes.second, model->schema.label);
  if (!picture) {
    // The features are the model's and numeric: what is left is the data's fault.
    const int status = request.method == "POST" ? 400 : 409;
    return Response::error(status, picture.error().to_string());
  }
  return svg(std::move(*picture));
}

Response confusion(const RiskModelEntry& entry, const Request& request) {
  if (!request.query.empty()) {
    return Response::error(400, fmt::format("unknown parameter \"{}\": confusion.svg takes none",
                                            request.query.begin()->first),
                           request.query.begin()->first);
  }
  auto model = load(entry);
  if (!model) return fail(model.error());
  auto data = data_for(entry, *model, request);
  if (!data) return fail(data.error());
  auto evaluation = risk::evaluate_model(*model, *data, model->schema.label);
  if (!evaluation) return Response::error(request.method == "POST" ? 400 : 409, evaluation.error().to_string());
  const std::string source =
      request.method == "POST" ? "the posted data" : std::filesystem::path(entry.data).filename().string();
  const std::string title = fmt::format("{} on {}: accuracy {:.3f} ({} of {})", entry.name, source,
                                        evaluation->accuracy, evaluation->correct, evaluation->total);
  return svg(risk::confusion_svg(model->schema.classes, evaluation->confusion, title));
}

}  // namespace

std::vector<RiskModelEntry> risk_models(const config::Config& config) {
  std::vector<RiskModelEntry> out;
  std::map<std::string, int> stems;  // stem → how many files have it so far
  for (const auto& r : config.risks) {
    if (!r.likelihood_from) continue;
    const auto& ref = *r.likelihood_from;
    auto it = std::find_if(out.begin(), out.end(), [&](const RiskModelEntry& e) { return e.file == ref.model; });
    if (it == out.end()) {
      const std::string stem = std::filesystem::path(ref.model).stem().string();
      const int n = ++stems[stem];
      out.push_back({n == 1 ? stem : fmt::format("{}-{}", stem, n), ref.model, {}, {}, false});
      it = std::prev(out.end());
    }
    it->risks.push_back(r.id);
    it->live = it->live || !ref.indicators.empty();
    if (it->data.empty()) it->data = ref.data;  // the first `data:` given for this model
  }
  return out;
}

Response risk_models_route(const config::Config& config, const Request& request, std::string_view rest) {
  const bool get = request.method == "GET", post = request.method == "POST";
  const auto models = risk_models(config);
  if (rest.empty() || rest == "/") {
    if (!get) return Response::error(405, "use GET");
    json list = json::array();
    for (const auto& m : models) list.push_back(model_json(m));
    return Response::json(200, json{{"models", std::move(list)}}.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  rest.remove_prefix(1);
  const size_t slash = rest.find('/');
  const std::string_view name = rest.substr(0, slash);
  const std::string_view picture = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  auto entry = std::find_if(models.begin(), models.end(), [&](const RiskModelEntry& m) { return m.name == name; });
  if (entry == models.end()) {
    const auto names = names_of(models);
    return Response::error(404, fmt::format("no risk model \"{}\" ({})", name,
                                            names.empty() ? "no risk has likelihood_from: in tocsin.yaml"
                                                          : fmt::format("models: {}", fmt::join(names, ", "))));
  }
  if (picture.empty()) {
    if (!get) return Response::error(405, "use GET");
    return Response::json(200, model_json(*entry).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  if (picture != "regions.svg" && picture != "confusion.svg") {
    return Response::error(404, fmt::format("no picture \"{}\" for model {}: expected regions.svg or confusion.svg",
                                            picture, entry->name));
  }
  if (!get && !post) return Response::error(405, "use GET, or POST a CSV");
  return picture == "regions.svg" ? regions(*entry, request) : confusion(*entry, request);
}

}  // namespace tocsin::api
