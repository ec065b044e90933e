// Alert helpers for the Alertmanager-compatible pipeline. The pipeline's alert is the stored
// record (store::AlertRecord): from tocsin's own rules or from outside (API v2, Alertmanager
// webhooks), identified by the fingerprint of its labels. An alert is resolved at `now` when it
// has an end time at or before `now`: rule alerts get one when the rule resolves; alerts from
// outside carry the sender's endsAt, or receipt + resolve_timeout when they came without one
// (and must be re-sent to stay firing).
// Thread-safety: pure functions.
#pragma once

#include <optional>

#include "store/store.h"

namespace tocsin::alerting {

using Alert = store::AlertRecord;

inline bool resolved_at(const Alert& a, core::Timestamp now) { return a.ends_at && *a.ends_at <= now; }

// Whether `incoming` continues `existing` (their active ranges overlap, as Alertmanager's
// provider checks before merging) rather than starting anew after it resolved.
bool overlaps(const Alert& existing, const Alert& incoming);

// Combines a re-sent alert with the one held, as Alertmanager's Alert.Merge: the younger one's
// fields, the earliest start, and the older one's end when it is a later explicit end. tocsin's
// own fields (rule, value, fired_at, incident_id) carry over from `older`.
Alert merge(const Alert& older, Alert younger, core::Timestamp now);

// The times of an alert received from outside, with Alertmanager's defaults: no start means now
// (or the end, for a resolved alert); no end means resolve_timeout from now, renewed by every
// re-send. Sets active_at, ends_at, ends_at_from_timeout and updated_at (= now). false when the
// end comes before the start.
bool set_received_times(Alert& a, std::optional<core::Timestamp> starts, std::optional<core::Timestamp> ends,
                        core::Timestamp now, std::optional<core::Duration> resolve_timeout);

}  // namespace tocsin::alerting
