// The risk models the register names (`likelihood_from:` in tocsin.yaml) and their pictures over
// HTTP (docs/api.md, docs/risk.md):
//   GET  /api/v1/risk/models                      every model: name, file, kind, label, classes,
//                                                 features, the risks that use it, its data file
//   GET  /api/v1/risk/models/NAME                 one model
//   GET  /api/v1/risk/models/NAME/regions.svg     decision regions over two numeric features
//        ?x=FEATURE&y=FEATURE                     (default: the model's first two numeric ones)
//   GET  /api/v1/risk/models/NAME/confusion.svg   the confusion matrix
// GET draws from the CSV configured next to the model (`data:`); POST draws from a CSV sent as
// the body instead (same columns: the model's features and its label). The SVGs come from
// risk/plots.h, the code `tocsin risk train|eval --plot` uses.
// A model is named by its file's stem (models/crash.json → "crash"); a later file with the same
// stem is "crash-2", "crash-3", … in config order.
// Errors: an unknown model 404; no data configured for a GET 404; an unknown or categorical
// feature, a bad query, a bad CSV body 400 (naming the body's line); a model or data file that
// cannot be read 409 (naming the file and line).
// Thread-safety: functions without shared state; the model and its data are read per request.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "http/http.h"

namespace tocsin::api {

struct RiskModelEntry {
  std::string name;                // the URL name
  std::string file;                // the model file, absolute
  std::string data;                // the configured CSV, absolute; empty when none
  std::vector<std::string> risks;  // ids of the risks whose likelihood comes from it
  bool live = false;               // true when a risk runs it on indicators
};

// The distinct model files of `config.risks`, in config order, named as above.
std::vector<RiskModelEntry> risk_models(const config::Config& config);

// Handles /api/v1/risk/models and everything under it; `rest` is the path after
// "/api/v1/risk/models" ("" or "/NAME…").
http::Response risk_models_route(const config::Config& config, const http::Request& request, std::string_view rest);

}  // namespace tocsin::api
