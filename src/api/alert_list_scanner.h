// A fast reader for the common shape of a `POST /api/v2/alerts` body — what Prometheus' notifier
// and amtool send: an array of objects with `labels` and `annotations` (string maps),
// `startsAt`, `endsAt` and `generatorURL` (strings or null) — without building a JSON tree.
//
// It accepts only what the general reader (nlohmann-json + parse_alert in alertmanager_api.cc)
// accepts and reads it to the same alerts; for anything else — escapes in a string, an unknown
// member, a duplicate key, a number, a bad label name or time, an empty label set, bad UTF-8 —
// it answers false / nullopt and the caller reads the body the general way, which also produces
// the error messages. alert_list_scanner_test.cc checks the two readers agree.
//
// scan_alert_views reads the alerts in place (alerting::AlertView: strings that point into the
// body, labels sorted and fingerprinted), into buffers that a caller keeps from request to
// request, so a batch of re-sends costs no allocation; scan_alert_list builds alerts from them.
// Thread-safety: pure functions; a ScannedAlerts belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "alerting/alert.h"
#include "core/duration.h"
#include "core/labels.h"
#include "core/time.h"

namespace tocsin::api {

// The alerts of one body, read in place. The views point into the body and into `labels` and
// `annotations`: valid until the next scan into the same ScannedAlerts or the body goes.
struct ScannedAlerts {
  std::vector<alerting::AlertView> alerts;
  std::vector<core::LabelRef> labels;
  std::vector<core::LabelRef> annotations;
  std::vector<std::pair<uint32_t, uint32_t>> counts;  // scratch: each alert's labels and annotations
};

// false: not the common shape (or not valid); `out` is then unspecified.
bool scan_alert_views(std::string_view body, core::Timestamp now, std::optional<core::Duration> resolve_timeout,
                      ScannedAlerts& out);

std::optional<std::vector<alerting::Alert>> scan_alert_list(std::string_view body, core::Timestamp now,
                                                            std::optional<core::Duration> resolve_timeout);

}  // namespace tocsin::api
