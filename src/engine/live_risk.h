// Live risk (issue 6): the trained risk models named by the register's `likelihood_from:` run on
// the current values of their indicators in the series store, every `every`. The latest
// likelihood feeds the register (GET /api/v1/risk), and one above `alert_above` raises a
// `RiskLikely` warning alert through the alerting pipeline — routed like any other, so with an
// `incident_type` label it can open the matching plan before the failure.
// Thread-safety: update() under the engine lock; likelihood() from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "alerting/alert.h"
#include "config/config.h"
#include "risk/model.h"
#include "tsdb/series_store.h"

namespace tocsin::engine {

class LiveRisk {
 public:
  // Loads every model that runs live; a model that cannot be read, or lacks the class or a
  // numeric feature it is fed, is an error naming the risk.
  static core::Result<std::unique_ptr<LiveRisk>> create(const config::Config& config);

  // Runs the models that are due; returns the alerts to raise (renewed while above the bound,
  // resolving by themselves two periods after the last renewal).
  std::vector<alerting::Alert> update(const tsdb::SeriesStore& series, core::Timestamp now);
  std::optional<core::Timestamp> next_due() const;
  // The last likelihood computed for this reference (nullopt before the first run, or when an
  // indicator had no sample yet).
  std::optional<double> likelihood(const config::RiskModelRef& ref) const;

 private:
  struct Entry {
    const config::Risk* risk = nullptr;
    std::shared_ptr<risk::Model> model;
    int cls = 0;  // index of ref.cls in the model's classes
    core::Timestamp next{};
  };
  std::vector<Entry> entries_;
  mutable std::mutex mu_;  // guards likelihoods_
  std::map<std::string, double> likelihoods_;  // risk id -> last likelihood
};

}  // namespace tocsin::engine
