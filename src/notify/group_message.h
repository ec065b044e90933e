// What one flush of an alert group sends on a notify-only route, and the bodies made from it:
// the Alertmanager webhook v4 body, tocsin's own JSON, Slack blocks, and the data that
// notification templates (notify/template.h) see. The routing stage builds a GroupMessage; a
// channel renders its title and body templates over template_data(m) and picks a body format.
// Thread-safety: value types and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/labels.h"
#include "core/time.h"
#include "notify/template.h"

namespace tocsin::notify {

struct GroupAlert {
  uint64_t fingerprint = 0;
  core::Labels labels;
  std::map<std::string, std::string> annotations;
  bool firing = true;  // false = resolved
  core::Timestamp starts_at{};
  std::optional<core::Timestamp> ends_at;  // resolved alerts: when; firing: empty
  std::string generator_url;
};

struct GroupMessage {
  std::string receiver;   // channel name
  std::string group_key;  // Alertmanager's group key, e.g. {}/{severity="info"}:{alertname="X"}
  core::Labels group_labels;
  // In the order to send. Alertmanager sorts a group's alerts by their job label, then instance,
  // then label set (alertmanager_order below does the same); the payloads keep the order given.
  std::vector<GroupAlert> alerts;
  std::string external_url;  // tocsin's base URL, for links; trailing '/' is dropped in the output
  size_t truncated_alerts = 0;
};

// Alertmanager's order for a group's alerts (types.AlertSlice): by the `job` label, then
// `instance` (an alert with the label sorts before one without), then by label set (fewer labels
// first, then the first differing name/value pair).
std::vector<GroupAlert> alertmanager_order(std::vector<GroupAlert> alerts);

// "firing" when any alert fires, else "resolved".
std::string_view group_status(const GroupMessage& m);

// The label pairs every alert has with the same value (Alertmanager's commonLabels); empty when
// there are no alerts.
core::Labels common_labels(const std::vector<GroupAlert>& alerts);
std::map<std::string, std::string> common_annotations(const std::vector<GroupAlert>& alerts);

// Alertmanager webhook v4 body, byte-compatible in structure with what Alertmanager 0.25 posts:
// its field order, Go's time format (RFC 3339, fraction without trailing zeros; a firing alert's
// endsAt is "0001-01-01T00:00:00Z"), fingerprints as 16 hex digits, '<' '>' '&' escaped as
// \u003c \u003e \u0026, and a trailing newline.
std::string alertmanager_v4_group(const GroupMessage& m);
// The same body built as a json tree and dumped: what alertmanager_v4_group writes directly, and
// what it falls back to for text that is not UTF-8 (replaced with U+FFFD here). For tests.
std::string alertmanager_v4_group_tree(const GroupMessage& m);

// tocsin JSON: {"version":"1","event":"alert_group","receiver","status","group_key","group_labels",
// "common_labels","common_annotations","alerts":[{"fingerprint","status","labels","annotations",
// "starts_at","ends_at" (null while firing),"generator_url"}],"truncated_alerts","external_url",
// "title","body"}.
std::string tocsin_json_group(const GroupMessage& m, std::string_view title, std::string_view body);

// Slack incoming-webhook JSON: blocks (a header with the title, a section with the body as mrkdwn,
// a context with a link to the alerts in tocsin) and "text", the title, as the fallback shown in
// notifications. Texts longer than Slack accepts (150 characters for a header, 3000 for a section)
// are cut with "…".
std::string slack_group(const GroupMessage& m, std::string_view title, std::string_view body);

// For the email sender: {"subject": the title (or "[firing] RECEIVER" when empty), "text": the
// body, "html": the body HTML-escaped in a <pre>, and a link to the alerts in tocsin}. Group
// notifications belong to no incident, so they carry no acknowledge link.
std::string email_group(const GroupMessage& m, std::string_view title, std::string_view body);

// The data templates see, in the shape of Alertmanager's template.Data: Receiver, Status, Alerts
// (each Status, Labels, Annotations, StartsAt, EndsAt, GeneratorURL, Fingerprint; times as in the
// v4 body), GroupLabels, CommonLabels, CommonAnnotations, ExternalURL, GroupKey, plus tocsin's
// FiringCount, ResolvedCount and TruncatedAlerts. Label and annotation maps have SortedPairs,
// Names, Values and Remove; Alerts has Firing and Resolved.
TemplateValue template_data(const GroupMessage& m);

// Defaults used when a channel sets no title/body template.
// Title, like Alertmanager's subject: "[FIRING:2] HighLoad (api critical)" — the status, the
// number of firing alerts, the group label values, and in parentheses the values of the other
// labels all alerts share.
extern const std::string_view kDefaultTitleTemplate;
// Body: the firing, then the resolved alerts, each with its labels, annotations and source, and
// a link to the alerts in tocsin (ExternalURL + "/#/alerts?receiver=…").
extern const std::string_view kDefaultBodyTemplate;

// A link to this group's receiver in tocsin's alert view: EXTERNAL_URL/#/alerts?receiver=NAME.
std::string alerts_url(const GroupMessage& m);

}  // namespace tocsin::notify
