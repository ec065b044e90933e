#include "alerting/alert.h"

namespace tocsin::alerting {

namespace {

// An alert without an end time runs forever.
core::Timestamp end_of(const Alert& a) { return a.ends_at.value_or(core::Timestamp::max()); }

}  // namespace

bool overlaps(const Alert& existing, const Alert& incoming) {
  const core::Timestamp old_end = end_of(existing);
  const core::Timestamp new_end = end_of(incoming);
  // Alertmanager's condition, plus an equal start: the same alert re-sent with the same
  // startsAt (how Prometheus re-sends) is a continuation, whatever its end says.
  return (new_end > existing.active_at && new_end < old_end) ||
         (incoming.active_at > existing.active_at && incoming.active_at < old_end) ||
         incoming.active_at == existing.active_at;
}

Alert merge(const Alert& older, Alert younger, core::Timestamp now) {
  Alert res = std::move(younger);  // its labels, annotations and strings are taken, not copied
  res.incident_id = older.incident_id;
  if (res.rule.empty()) res.rule = older.rule;
  if (!res.fired_at) res.fired_at = older.fired_at;
  if (older.active_at < res.active_at) res.active_at = older.active_at;
  if (resolved_at(res, now)) {
    // The latest explicit resolve time wins when both are resolved.
    if (resolved_at(older, now) && end_of(older) > end_of(res)) res.ends_at = older.ends_at;
  } else if (end_of(older) > end_of(res) && !older.ends_at_from_timeout) {
    // A non-timeout end time rules when it is the latest.
    res.ends_at = older.ends_at;
    res.ends_at_from_timeout = false;
  }
  return res;
}

std::optional<ReceivedTimes> received_times(std::optional<core::Timestamp> starts, std::optional<core::Timestamp> ends,
                                            core::Timestamp now, std::optional<core::Duration> resolve_timeout) {
  ReceivedTimes t;
  t.active_at = starts ? *starts : (ends ? *ends : now);
  if (ends) {
    t.ends_at = *ends;
  } else if (resolve_timeout) {
    t.ends_at = now + *resolve_timeout;
    t.ends_at_from_timeout = true;
  }
  t.updated_at = now;
  if (t.ends_at && *t.ends_at < t.active_at) return std::nullopt;
  return t;
}

bool set_received_times(Alert& a, std::optional<core::Timestamp> starts, std::optional<core::Timestamp> ends,
                        core::Timestamp now, std::optional<core::Duration> resolve_timeout) {
  const auto t = received_times(starts, ends, now, resolve_timeout);
  if (!t) return false;
  a.active_at = t->active_at;
  a.ends_at = t->ends_at;
  a.ends_at_from_timeout = t->ends_at_from_timeout;
  a.updated_at = t->updated_at;
  return true;
}

Alert to_alert(const AlertView& v) {
  Alert a;
  std::vector<core::Label> pairs;
  pairs.reserve(v.labels.size());
  for (const auto& l : v.labels) pairs.push_back({std::string(l.name), std::string(l.value)});
  a.labels = core::Labels::from_pairs(std::move(pairs));  // sorted already: no sort, no copy
  a.fingerprint = v.fingerprint;
  for (const auto& n : v.annotations) a.annotations.emplace_hint(a.annotations.end(), n.name, n.value);
  a.generator_url.assign(v.generator_url.data(), v.generator_url.size());
  a.active_at = v.times.active_at;
  a.ends_at = v.times.ends_at;
  a.ends_at_from_timeout = v.times.ends_at_from_timeout;
  a.updated_at = v.times.updated_at;
  return a;
}

bool same_content(const Alert& a, const AlertView& v) {
  if (a.labels.size() != v.labels.size() || a.annotations.size() != v.annotations.size() ||
      a.generator_url != v.generator_url) {
    return false;
  }
  size_t i = 0;
  for (const auto& l : a.labels) {
    if (l.name != v.labels[i].name || l.value != v.labels[i].value) return false;
    ++i;
  }
  i = 0;
  for (const auto& [name, value] : a.annotations) {
    if (name != v.annotations[i].name || value != v.annotations[i].value) return false;
    ++i;
  }
  return true;
}

}  // namespace tocsin::alerting
