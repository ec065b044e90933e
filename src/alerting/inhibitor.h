// Inhibition with Alertmanager's semantics (inhibit/inhibit.go): an alert matching a rule's
// target matchers is muted while some unresolved alert matches the rule's source matchers and
// has the same values for every `equal` label (a label missing on both sides counts as equal).
// An alert that matches both sides is not muted by another alert that also matches both, so
// alerts cannot inhibit each other in a circle.
// Sources are kept per rule as alerts change (observe/forget), so a check costs the number of
// source alerts of the rules whose targets match, not the number of all alerts.
// Thread-safety: none; the engine serialises access.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "alerting/alert.h"
#include "config/config.h"

namespace tocsin::alerting {

class Inhibitor {
 public:
  explicit Inhibitor(std::vector<config::InhibitRule> rules) : rules_(std::move(rules)), sources_(rules_.size()) {}

  // An alert was received or changed (including resolving).
  void observe(const Alert& alert);
  // The same for an alert whose labels did not change since it was last observed, only its end:
  // updates the end in place (no copy of the labels).
  void observe_times(const Alert& alert);
  void forget(uint64_t fingerprint);

  // The fingerprint of an alert that inhibits these labels at `now`, if any.
  std::optional<uint64_t> inhibited_by(const core::Labels& labels, core::Timestamp now) const;

 private:
  struct Source {
    core::Labels labels;
    std::optional<core::Timestamp> ends_at;
  };
  std::vector<config::InhibitRule> rules_;
  std::vector<std::unordered_map<uint64_t, Source>> sources_;  // per rule
};

}  // namespace tocsin::alerting
