// The streaming rule engine: each arriving sample is checked against every rule whose selector
// matches it, right away — not on a polling interval. Per (rule, series) it runs the Prometheus
// alert state machine  inactive → pending → firing → resolved  with `for` and `keep_firing_for`,
// and reports every transition as an AlertEvent with the time it happened.
//
// Evaluation is a pure step function of its inputs: ingest(sample) uses the sample's timestamp,
// eval(now) fires the timers (pending alerts whose `for` has elapsed with no new sample,
// keep_firing_for expiry). The caller reads the clock and schedules eval at next_due().
// Thread-safety: not thread-safe; the owner serialises calls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "core/sample.h"
#include "detect/detector.h"

namespace tocsin::detect {

enum class AlertPhase { kInactive, kPending, kFiring, kResolved };
std::string_view to_string(AlertPhase p);

// One transition of one alert (one rule × one series).
struct AlertEvent {
  uint64_t fingerprint = 0;  // of `labels`
  std::string rule;
  core::Labels labels;  // series labels without __name__, plus alertname, severity and rule labels
  std::map<std::string, std::string> annotations;  // templated with the sample
  AlertPhase from = AlertPhase::kInactive;
  AlertPhase to = AlertPhase::kInactive;  // kInactive: a pending alert dropped before it fired
  double value = 0;
  double score = 0;
  core::Timestamp at{};         // when the transition happened
  core::Timestamp active_at{};  // when the condition first held
  std::string condition;        // the detector's description, e.g. "value > 0.9"
};

// An alert that was pending or firing when the process stopped (read back from the store).
struct RestoredAlert {
  uint64_t fingerprint = 0;  // alert fingerprint
  AlertPhase phase = AlertPhase::kFiring;
  core::Timestamp active_at{};
  core::Timestamp last_crossing_at{};
  double value = 0;
};

class RuleEngine {
 public:
  static core::Result<std::unique_ptr<RuleEngine>> create(const std::vector<config::Rule>& rules,
                                                          const DetectorRegistry& registry);

  // Seeds alert state after a restart. A restored alert takes effect when its series is next
  // seen, so a sample back under the threshold resolves an alert that fired before the restart.
  void restore(std::vector<RestoredAlert> alerts);

  // Feeds one sample to every matching rule. Samples older than the series' last are dropped.
  std::vector<AlertEvent> ingest(const core::Sample& sample);
  // Fires the timers due at or before `now`.
  std::vector<AlertEvent> eval(core::Timestamp now);
  // The earliest time eval() has something to do.
  std::optional<core::Timestamp> next_due() const;

  size_t rule_count() const { return rules_.size(); }
  size_t series_count() const;
  uint64_t out_of_order_samples() const { return out_of_order_; }

 private:
  struct SeriesState {
    std::unique_ptr<SeriesDetector> detector;
    core::Labels alert_labels;
    uint64_t fingerprint = 0;
    AlertPhase phase = AlertPhase::kInactive;
    bool crossing = false;  // the last sample's decision
    double value = 0;
    double score = 0;
    core::Timestamp last_ts{};
    core::Timestamp active_at{};
    core::Timestamp last_crossing_at{};
    std::map<std::string, std::string> annotations;
  };
  struct CompiledRule {
    const config::Rule* config;  // owned by the Config, which outlives the engine
    std::unique_ptr<DetectorSpec> detector;
    std::unordered_map<uint64_t, SeriesState> series;  // by series fingerprint
  };

  explicit RuleEngine(std::vector<CompiledRule> rules) : rules_(std::move(rules)) {}
  AlertEvent transition(const CompiledRule& rule, SeriesState& s, AlertPhase to, core::Timestamp at) const;
  std::optional<core::Timestamp> due_at(const CompiledRule& rule, const SeriesState& s) const;

  std::vector<CompiledRule> rules_;
  std::unordered_map<uint64_t, RestoredAlert> restored_;  // by alert fingerprint, until the series shows up
  uint64_t out_of_order_ = 0;
};

// Expands {{ $value }} and {{ $labels.name }} in an annotation template.
std::string expand_template(std::string_view text, const core::Labels& labels, double value);

}  // namespace tocsin::detect
