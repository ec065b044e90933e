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

bool set_received_times(Alert& a, std::optional<core::Timestamp> starts, std::optional<core::Timestamp> ends,
                        core::Timestamp now, std::optional<core::Duration> resolve_timeout) {
  a.active_at = starts ? *starts : (ends ? *ends : now);
  if (ends) {
    a.ends_at = *ends;
  } else if (resolve_timeout) {
    a.ends_at = now + *resolve_timeout;
    a.ends_at_from_timeout = true;
  }
  a.updated_at = now;
  return !a.ends_at || *a.ends_at >= a.active_at;
}

}  // namespace tocsin::alerting
