#include "detect/rule_engine.h"

#include <fmt/format.h>

namespace tocsin::detect {

std::string_view to_string(AlertPhase p) {
  switch (p) {
    case AlertPhase::kInactive: return "inactive";
    case AlertPhase::kPending: return "pending";
    case AlertPhase::kFiring: return "firing";
    case AlertPhase::kResolved: return "resolved";
  }
  return "inactive";
}

core::Result<std::unique_ptr<RuleEngine>> RuleEngine::create(const std::vector<config::Rule>& rules,
                                                             const DetectorRegistry& registry) {
  std::vector<CompiledRule> compiled;
  compiled.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    auto spec = registry.create(rules[i].detector);
    if (!spec) {
      core::Error e = std::move(spec).error();
      e.field(fmt::format("rules[{}].{}", i, e.field()));
      return std::unexpected(std::move(e));
    }
    compiled.push_back(CompiledRule{&rules[i], std::move(*spec), {}});
  }
  return std::unique_ptr<RuleEngine>(new RuleEngine(std::move(compiled)));
}

void RuleEngine::restore(std::vector<RestoredAlert> alerts) {
  for (auto& a : alerts) {
    if (a.phase == AlertPhase::kPending || a.phase == AlertPhase::kFiring) restored_[a.fingerprint] = a;
  }
}

size_t RuleEngine::series_count() const {
  size_t n = 0;
  for (const auto& r : rules_) n += r.series.size();
  return n;
}

AlertEvent RuleEngine::transition(const CompiledRule& rule, SeriesState& s, AlertPhase to, core::Timestamp at) const {
  AlertEvent e;
  e.fingerprint = s.fingerprint;
  e.rule = rule.config->name;
  e.labels = s.alert_labels;
  e.annotations = s.annotations;
  e.from = s.phase;
  e.to = to;
  e.value = s.value;
  e.score = s.score;
  e.at = at;
  e.active_at = s.active_at;
  e.condition = rule.detector->describe();
  s.phase = to == AlertPhase::kResolved ? AlertPhase::kInactive : to;
  return e;
}

std::vector<AlertEvent> RuleEngine::ingest(const core::Sample& sample) {
  std::vector<AlertEvent> out;
  const uint64_t series_fp = sample.labels.fingerprint();
  for (auto& rule : rules_) {
    if (!core::matches_all(rule.config->selector, sample.labels)) continue;
    auto [it, inserted] = rule.series.try_emplace(series_fp);
    SeriesState& s = it->second;
    if (inserted) {
      s.detector = rule.detector->make();
      core::Labels labels = sample.labels;
      labels.set("__name__", "");
      for (const auto& [k, v] : rule.config->labels) labels.set(k, v);
      labels.set("alertname", rule.config->name);
      labels.set("severity", rule.config->severity);
      s.fingerprint = labels.fingerprint();
      s.alert_labels = std::move(labels);
      if (auto r = restored_.find(s.fingerprint); r != restored_.end()) {
        s.phase = r->second.phase;
        s.active_at = r->second.active_at;
        s.last_crossing_at = r->second.last_crossing_at;
        s.value = r->second.value;
        s.crossing = true;
        restored_.erase(r);
      }
    } else if (sample.ts < s.last_ts) {
      ++out_of_order_;
      continue;
    }
    const Decision d = s.detector->update(sample.ts, sample.value);
    s.last_ts = sample.ts;
    s.value = sample.value;
    s.score = d.score;
    s.crossing = d.firing;
    if (d.firing) {
      s.last_crossing_at = sample.ts;
      s.annotations.clear();
      for (const auto& [k, v] : rule.config->annotations) {
        s.annotations[k] = expand_template(v, s.alert_labels, sample.value);
      }
    }
    const auto for_duration = rule.config->for_duration;
    switch (s.phase) {
      case AlertPhase::kInactive:
      case AlertPhase::kResolved:
        if (d.firing) {
          s.active_at = sample.ts;
          out.push_back(transition(rule, s, AlertPhase::kPending, sample.ts));
          if (for_duration.count() == 0) out.push_back(transition(rule, s, AlertPhase::kFiring, sample.ts));
        }
        break;
      case AlertPhase::kPending:
        if (!d.firing) {
          out.push_back(transition(rule, s, AlertPhase::kInactive, sample.ts));
        } else if (sample.ts - s.active_at >= for_duration) {
          out.push_back(transition(rule, s, AlertPhase::kFiring, sample.ts));
        }
        break;
      case AlertPhase::kFiring:
        if (!d.firing && sample.ts - s.last_crossing_at >= rule.config->keep_firing_for) {
          out.push_back(transition(rule, s, AlertPhase::kResolved, sample.ts));
        }
        break;
    }
  }
  return out;
}

std::optional<core::Timestamp> RuleEngine::due_at(const CompiledRule& rule, const SeriesState& s) const {
  if (s.phase == AlertPhase::kPending) return s.active_at + rule.config->for_duration;
  if (s.phase == AlertPhase::kFiring && !s.crossing) return s.last_crossing_at + rule.config->keep_firing_for;
  return std::nullopt;
}

std::vector<AlertEvent> RuleEngine::eval(core::Timestamp now) {
  std::vector<AlertEvent> out;
  for (auto& rule : rules_) {
    for (auto& [fp, s] : rule.series) {
      const auto due = due_at(rule, s);
      if (!due || *due > now) continue;
      // Streaming semantics: the last sample's decision holds until a new sample says otherwise,
      // so a pending alert fires when `for` has elapsed even if no sample arrives exactly then.
      const AlertPhase to = s.phase == AlertPhase::kPending ? AlertPhase::kFiring : AlertPhase::kResolved;
      out.push_back(transition(rule, s, to, *due));
    }
  }
  return out;
}

std::optional<core::Timestamp> RuleEngine::next_due() const {
  std::optional<core::Timestamp> next;
  for (const auto& rule : rules_) {
    for (const auto& [fp, s] : rule.series) {
      const auto due = due_at(rule, s);
      if (due && (!next || *due < *next)) next = due;
    }
  }
  return next;
}

std::string expand_template(std::string_view text, const core::Labels& labels, double value) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(pos, open - pos));
    std::string_view expr = text.substr(open + 2, close - open - 2);
    while (!expr.empty() && expr.front() == ' ') expr.remove_prefix(1);
    while (!expr.empty() && expr.back() == ' ') expr.remove_suffix(1);
    if (expr == "$value" || expr == ".Value") {
      out += fmt::format("{}", value);
    } else if (expr.starts_with("$labels.")) {
      out += labels.get_or(expr.substr(8), "");
    } else if (expr.starts_with(".Labels.")) {
      out += labels.get_or(expr.substr(8), "");
    } else {
      out.append(text.substr(open, close + 2 - open));  // unknown expressions stay visible
    }
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace tocsin::detect
