#include "alerting/inhibitor.h"

#include "store/store.h"

namespace tocsin::alerting {

void Inhibitor::observe(const Alert& alert) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (core::matches_all(rules_[i].source_matchers, alert.labels)) {
      sources_[i].insert_or_assign(alert.fingerprint, Source{alert.labels, alert.ends_at});
    } else {
      sources_[i].erase(alert.fingerprint);
    }
  }
}

void Inhibitor::observe_times(const Alert& alert) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    auto it = sources_[i].find(alert.fingerprint);
    if (it != sources_[i].end() && it->second.labels == alert.labels) {
      it->second.ends_at = alert.ends_at;
    } else if (core::matches_all(rules_[i].source_matchers, alert.labels)) {
      sources_[i].insert_or_assign(alert.fingerprint, Source{alert.labels, alert.ends_at});
    } else {
      sources_[i].erase(alert.fingerprint);
    }
  }
}

void Inhibitor::forget(uint64_t fingerprint) {
  for (auto& s : sources_) s.erase(fingerprint);
}

std::optional<uint64_t> Inhibitor::inhibited_by(const core::Labels& labels, core::Timestamp now) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto& rule = rules_[i];
    if (!core::matches_all(rule.target_matchers, labels)) continue;
    const bool two_sided = core::matches_all(rule.source_matchers, labels);
    // Lowest fingerprint first, so the answer does not depend on hash-map order.
    std::optional<uint64_t> best;
    for (const auto& [fp, source] : sources_[i]) {
      if (source.ends_at && *source.ends_at <= now) continue;  // resolved
      bool equal = true;
      for (const auto& name : rule.equal) {
        if (source.labels.get_or(name, "") != labels.get_or(name, "")) {
          equal = false;
          break;
        }
      }
      if (!equal) continue;
      // A drill's alert never mutes a real one (nor a real one a drill's): drills stay apart.
      if (source.labels.get_or(store::kDrillLabel, "") != labels.get_or(store::kDrillLabel, "")) continue;
      if (two_sided && core::matches_all(rule.target_matchers, source.labels)) continue;
      if (!best || fp < *best) best = fp;
    }
    if (best) return best;
  }
  return std::nullopt;
}

}  // namespace tocsin::alerting
