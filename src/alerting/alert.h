// Alert helpers for the Alertmanager-compatible pipeline. The pipeline's alert is the stored
// record (store::AlertRecord): from tocsin's own rules or from outside (API v2, Alertmanager
// webhooks), identified by the fingerprint of its labels. An alert is resolved at `now` when it
// has an end time at or before `now`: rule alerts get one when the rule resolves; alerts from
// outside carry the sender's endsAt, or receipt + resolve_timeout when they came without one
// (and must be re-sent to stay firing).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "core/labels.h"
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
// re-send. Sets active_at, ends_at, ends_at_from_timeout and updated_at (= now). false, setting
// nothing, when the end comes before the start.
bool set_received_times(Alert& a, std::optional<core::Timestamp> starts, std::optional<core::Timestamp> ends,
                        core::Timestamp now, std::optional<core::Duration> resolve_timeout);

// The times set_received_times gives an alert, on their own.
struct ReceivedTimes {
  core::Timestamp active_at{};
  std::optional<core::Timestamp> ends_at;
  bool ends_at_from_timeout = false;
  core::Timestamp updated_at{};
};
// nullopt when the end comes before the start.
std::optional<ReceivedTimes> received_times(std::optional<core::Timestamp> starts, std::optional<core::Timestamp> ends,
                                            core::Timestamp now, std::optional<core::Duration> resolve_timeout);

// An alert of a request body read in place (api/alert_list_scanner.h): its strings point into
// the body, so a re-send can be compared with the alert held (Pipeline::plan_resends) without
// building one. Valid only as long as the body and the scanner's buffers are.
struct AlertView {
  uint64_t fingerprint = 0;                     // of `labels`, as Labels::fingerprint()
  std::span<const core::LabelRef> labels;       // sorted by name, unique, no empty values
  std::span<const core::LabelRef> annotations;  // sorted by name, unique (empty values kept)
  std::string_view generator_url;
  ReceivedTimes times;
};

// The alert a view describes: what the general reader builds from the same body.
Alert to_alert(const AlertView& v);
// Whether `a` has exactly the view's labels, annotations and generatorURL (byte for byte).
bool same_content(const Alert& a, const AlertView& v);

}  // namespace tocsin::alerting
