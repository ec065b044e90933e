// A fast reader for the common shape of a `POST /api/v2/alerts` body — what Prometheus' notifier
// and amtool send: an array of objects with `labels` and `annotations` (string maps),
// `startsAt`, `endsAt` and `generatorURL` (strings or null) — without building a JSON tree.
//
// It accepts only what the general reader (nlohmann-json + parse_alert in alertmanager_api.cc)
// accepts and reads it to the same alerts; for anything else — escapes in a string, an unknown
// member, a duplicate key, a number, a bad label name or time, an empty label set, bad UTF-8 —
// it answers nullopt and the caller reads the body the general way, which also produces the
// error messages. alert_list_scanner_test.cc checks the two readers agree.
// Thread-safety: a pure function.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "alerting/alert.h"
#include "core/duration.h"
#include "core/time.h"

namespace tocsin::api {

std::optional<std::vector<alerting::Alert>> scan_alert_list(std::string_view body, core::Timestamp now,
                                                            std::optional<core::Duration> resolve_timeout);

}  // namespace tocsin::api
