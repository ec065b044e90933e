#include "engine/live_risk.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/log.h"

namespace tocsin::engine {

core::Result<std::unique_ptr<LiveRisk>> LiveRisk::create(const config::Config& config) {
  auto out = std::make_unique<LiveRisk>();
  for (const auto& r : config.risks) {
    if (!r.likelihood_from || r.likelihood_from->indicators.empty()) continue;
    const auto& ref = *r.likelihood_from;
    auto loaded = risk::load_model(ref.model);
    if (!loaded) {
      return std::unexpected(core::Error::invalid_argument(
          fmt::format("risk {}: model {}: {}", r.id, ref.model, loaded.error().message())));
    }
    auto model = std::make_shared<risk::Model>(std::move(*loaded));
    const auto& classes = model->schema.classes;
    auto cls = std::find(classes.begin(), classes.end(), ref.cls);
    if (cls == classes.end()) {
      return std::unexpected(core::Error::invalid_argument(fmt::format(
          "risk {}: model {} has no class \"{}\" (classes: {})", r.id, ref.model, ref.cls, fmt::join(classes, ", "))));
    }
    for (const auto& [feature, matchers] : ref.indicators) {
      auto f = std::find_if(model->schema.features.begin(), model->schema.features.end(),
                            [&](const risk::Feature& x) { return x.name == feature; });
      if (f == model->schema.features.end()) {
        return std::unexpected(core::Error::invalid_argument(
            fmt::format("risk {}: indicator \"{}\" is not a feature of model {}", r.id, feature, ref.model)));
      }
      if (f->kind != risk::ColumnKind::kNumeric) {
        return std::unexpected(core::Error::invalid_argument(fmt::format(
            "risk {}: indicator \"{}\" is a categorical feature of model {}; series give numbers", r.id, feature,
            ref.model)));
      }
    }
    out->entries_.push_back({&r, std::move(model), static_cast<int>(cls - classes.begin()), core::Timestamp{}});
  }
  return out;
}

std::optional<core::Timestamp> LiveRisk::next_due() const {
  std::optional<core::Timestamp> next;
  for (const auto& e : entries_) {
    if (!next || e.next < *next) next = e.next;
  }
  return next;
}

std::optional<double> LiveRisk::likelihood(const config::RiskModelRef& ref) const {
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (&*e.risk->likelihood_from != &ref) continue;
    auto it = likelihoods_.find(e.risk->id);
    if (it != likelihoods_.end()) return it->second;
  }
  return std::nullopt;
}

std::vector<alerting::Alert> LiveRisk::update(const tsdb::SeriesStore& series, core::Timestamp now) {
  std::vector<alerting::Alert> alerts;
  for (auto& e : entries_) {
    if (e.next > now) continue;
    const auto& ref = *e.risk->likelihood_from;
    e.next = now + ref.every;
    // One row: every feature missing (NaN / "") except the indicators, which the model's learned
    // preprocessing imputes or refuses, exactly as for a CSV row.
    risk::Table row;
    row.source = fmt::format("risk {} indicators", e.risk->id);
    row.lines = {1};
    bool complete = true;
    for (const auto& f : e.model->schema.features) {
      risk::Column col;
      col.name = f.name;
      col.kind = f.kind;
      if (f.kind == risk::ColumnKind::kNumeric) {
        double value = std::nan("");
        for (const auto& [feature, matchers] : ref.indicators) {
          if (feature != f.name) continue;
          for (auto ref_id : series.select(matchers)) {
            if (auto p = series.latest(ref_id); p && (std::isnan(value) || p->value > value)) value = p->value;
          }
          if (std::isnan(value)) complete = false;
        }
        col.numbers = {value};
      } else {
        col.texts = {""};
      }
      row.columns.push_back(std::move(col));
    }
    if (!complete) continue;  // an indicator has no sample yet: nothing to say
    auto predicted = e.model->predict(row);
    if (!predicted || predicted->empty()) {
      core::log::warn("live risk not evaluated",
                      {{"risk", e.risk->id}, {"error", predicted ? "no prediction" : predicted.error().message()}});
      continue;
    }
    const double p = predicted->front().proba[static_cast<size_t>(e.cls)];
    {
      std::lock_guard lock(mu_);
      likelihoods_[e.risk->id] = p;
    }
    if (!ref.alert_above || p <= *ref.alert_above) continue;
    alerting::Alert a;
    std::vector<core::Label> labels{{"alertname", "RiskLikely"}, {"risk", e.risk->id}, {"severity", "warning"}};
    for (const auto& [k, v] : ref.labels) labels.push_back({k, v});
    a.labels = core::Labels::from_pairs(std::move(labels));
    a.fingerprint = a.labels.fingerprint();
    a.annotations = {{"summary", fmt::format("{}: likelihood {:.2f} above {:.2f}", e.risk->title, p, *ref.alert_above)},
                     {"plan", e.risk->plan}};
    a.active_at = now;
    a.ends_at = now + 2 * ref.every;
    a.ends_at_from_timeout = true;
    a.updated_at = now;
    a.value = p;
    alerts.push_back(std::move(a));
  }
  return alerts;
}

}  // namespace tocsin::engine
