#include "notify/group_message.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "notify/payload.h"

namespace tocsin::notify {

using nlohmann::ordered_json;

namespace {

// Go's zero time.Time, which Alertmanager sends as a firing alert's endsAt.
constexpr std::string_view kGoZeroTime = "0001-01-01T00:00:00Z";

ordered_json labels_json(const core::Labels& labels) {
  ordered_json out = ordered_json::object();
  for (const auto& l : labels) out[l.name] = l.value;
  return out;
}

ordered_json annotations_json(const std::map<std::string, std::string>& annotations) {
  ordered_json out = ordered_json::object();
  for (const auto& [name, value] : annotations) out[name] = value;
  return out;
}

std::string_view alert_status(const GroupAlert& a) { return a.firing ? "firing" : "resolved"; }

// endsAt as Alertmanager shows it: only a resolved alert's end is exposed.
std::string go_ends_at(const GroupAlert& a) {
  if (a.firing || !a.ends_at) return std::string(kGoZeroTime);
  return core::format_rfc3339_nano(*a.ends_at);
}

// Serializes as Go's json.Encoder does by default: '<', '>', '&', U+2028 and U+2029 escaped, and a
// newline at the end. Those characters only occur inside strings, so a pass over the text is enough.
std::string go_json(const ordered_json& j) {
  const std::string s = j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < s.size() && s[i + 1] == '\x80' && (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      out += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  out += '\n';
  return out;
}

std::string base_url(std::string_view external_url) {
  std::string base(external_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

// Cuts `text` to at most `max_chars` code points, ending with "…" when it cut.
std::string truncate_chars(std::string_view text, size_t max_chars) {
  size_t chars = 0;
  size_t cut = text.size();  // byte offset where character max_chars (0-based: max_chars - 1) starts
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == max_chars - 1) cut = i;
    if (++chars > max_chars) return std::string(text.substr(0, cut)) + "…";
  }
  return std::string(text);
}

std::string slack_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// model.LabelSet.Before: fewer labels first; then over the sorted union of names, the first name
// one set lacks (the set that lacks it sorts first) or whose values differ.
bool label_set_before(const core::Labels& a, const core::Labels& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  std::vector<std::string_view> names;
  for (const auto& l : a) names.push_back(l.name);
  for (const auto& l : b) names.push_back(l.name);
  std::sort(names.begin(), names.end());
  for (const auto name : names) {
    const auto av = a.get(name);
    if (!av) return true;
    const auto bv = b.get(name);
    if (!bv) return false;
    if (*av != *bv) return *av < *bv;
  }
  return false;
}

}  // namespace

std::vector<GroupAlert> alertmanager_order(std::vector<GroupAlert> alerts) {
  std::stable_sort(alerts.begin(), alerts.end(), [](const GroupAlert& a, const GroupAlert& b) {
    for (const std::string_view key : {"job", "instance"}) {
      const auto av = a.labels.get(key);
      const auto bv = b.labels.get(key);
      if (!av && !bv) continue;
      if (!av) return false;
      if (!bv) return true;
      if (*av != *bv) return *av < *bv;
    }
    return label_set_before(a.labels, b.labels);
  });
  return alerts;
}

std::string_view group_status(const GroupMessage& m) {
  const bool any_firing = std::any_of(m.alerts.begin(), m.alerts.end(), [](const GroupAlert& a) { return a.firing; });
  return any_firing ? "firing" : "resolved";
}

core::Labels common_labels(const std::vector<GroupAlert>& alerts) {
  if (alerts.empty()) return {};
  std::vector<core::Label> shared;
  for (const auto& l : alerts.front().labels) {
    const bool everywhere = std::all_of(alerts.begin() + 1, alerts.end(), [&](const GroupAlert& a) {
      return a.labels.get(l.name) == std::optional<std::string_view>(l.value);
    });
    if (everywhere) shared.push_back(l);
  }
  return core::Labels::from_pairs(std::move(shared));
}

std::map<std::string, std::string> common_annotations(const std::vector<GroupAlert>& alerts) {
  if (alerts.empty()) return {};
  std::map<std::string, std::string> shared = alerts.front().annotations;
  for (auto it = alerts.begin() + 1; it != alerts.end(); ++it) {
    std::erase_if(shared, [&](const auto& kv) {
      auto found = it->annotations.find(kv.first);
      return found == it->annotations.end() || found->second != kv.second;
    });
  }
  return shared;
}

std::string alerts_url(const GroupMessage& m) {
  return fmt::format("{}/#/alerts?receiver={}", base_url(m.external_url), url_query_escape(m.receiver));
}

namespace {

// The v4 body written directly (no json tree): a new alert's webhook body is made inside the
// transaction that stores the alert, on the way to its page. Each piece fails only on text that
// is not UTF-8, which alertmanager_v4_group_tree then writes (replacing what is not).
class GoJsonWriter {
 public:
  explicit GoJsonWriter(std::string& out) : out_(out) {}
  bool ok() const { return ok_; }
  void raw(std::string_view text) { out_ += text; }
  void string(std::string_view text) { ok_ = ok_ && core::append_json_string(out_, text, core::JsonEscape::kGo); }
  template <class Pairs>
  void object(const Pairs& pairs) {
    ok_ = ok_ && core::append_json_object(out_, pairs, core::JsonEscape::kGo);
  }

 private:
  std::string& out_;
  bool ok_ = true;
};

}  // namespace

std::string alertmanager_v4_group(const GroupMessage& m) {
  std::string out;
  out.reserve(512 + 512 * m.alerts.size());
  GoJsonWriter w(out);
  w.raw("{\"receiver\":");
  w.string(m.receiver);
  w.raw(",\"status\":");
  w.string(group_status(m));
  w.raw(",\"alerts\":[");
  for (size_t i = 0; i < m.alerts.size(); ++i) {
    const GroupAlert& a = m.alerts[i];
    w.raw(i == 0 ? "{\"status\":" : ",{\"status\":");
    w.string(alert_status(a));
    w.raw(",\"labels\":");
    w.object(a.labels);
    w.raw(",\"annotations\":");
    w.object(a.annotations);
    w.raw(",\"startsAt\":");
    w.string(core::format_rfc3339_nano(a.starts_at));
    w.raw(",\"endsAt\":");
    w.string(go_ends_at(a));
    w.raw(",\"generatorURL\":");
    w.string(a.generator_url);
    w.raw(",\"fingerprint\":");
    w.string(core::fingerprint_hex(a.fingerprint));
    w.raw("}");
  }
  w.raw("],\"groupLabels\":");
  w.object(m.group_labels);
  w.raw(",\"commonLabels\":");
  w.object(common_labels(m.alerts));
  w.raw(",\"commonAnnotations\":");
  w.object(common_annotations(m.alerts));
  w.raw(",\"externalURL\":");
  w.string(base_url(m.external_url));
  w.raw(",\"version\":\"4\",\"groupKey\":");
  w.string(m.group_key);
  w.raw(fmt::format(",\"truncatedAlerts\":{}}}\n", m.truncated_alerts));
  return w.ok() ? out : alertmanager_v4_group_tree(m);
}

std::string alertmanager_v4_group_tree(const GroupMessage& m) {
  // Field order of Alertmanager's webhook.Message (template.Data first, then version, groupKey,
  // truncatedAlerts); Go sorts map keys, as Labels and std::map already are.
  ordered_json alerts = ordered_json::array();
  for (const auto& a : m.alerts) {
    alerts.push_back({{"status", alert_status(a)},
                      {"labels", labels_json(a.labels)},
                      {"annotations", annotations_json(a.annotations)},
                      {"startsAt", core::format_rfc3339_nano(a.starts_at)},
                      {"endsAt", go_ends_at(a)},
                      {"generatorURL", a.generator_url},
                      {"fingerprint", core::fingerprint_hex(a.fingerprint)}});
  }
  const ordered_json body = {{"receiver", m.receiver},
                             {"status", group_status(m)},
                             {"alerts", std::move(alerts)},
                             {"groupLabels", labels_json(m.group_labels)},
                             {"commonLabels", labels_json(common_labels(m.alerts))},
                             {"commonAnnotations", annotations_json(common_annotations(m.alerts))},
                             {"externalURL", base_url(m.external_url)},
                             {"version", "4"},
                             {"groupKey", m.group_key},
                             {"truncatedAlerts", m.truncated_alerts}};
  return go_json(body);
}

std::string tocsin_json_group(const GroupMessage& m, std::string_view title, std::string_view body) {
  ordered_json alerts = ordered_json::array();
  for (const auto& a : m.alerts) {
    alerts.push_back(
        {{"fingerprint", core::fingerprint_hex(a.fingerprint)},
         {"status", alert_status(a)},
         {"labels", labels_json(a.labels)},
         {"annotations", annotations_json(a.annotations)},
         {"starts_at", core::format_rfc3339(a.starts_at)},
         {"ends_at", !a.firing && a.ends_at ? ordered_json(core::format_rfc3339(*a.ends_at)) : ordered_json()},
         {"generator_url", a.generator_url}});
  }
  const ordered_json out = {{"version", "1"},
                            {"event", "alert_group"},
                            {"receiver", m.receiver},
                            {"status", group_status(m)},
                            {"group_key", m.group_key},
                            {"group_labels", labels_json(m.group_labels)},
                            {"common_labels", labels_json(common_labels(m.alerts))},
                            {"common_annotations", annotations_json(common_annotations(m.alerts))},
                            {"alerts", std::move(alerts)},
                            {"truncated_alerts", m.truncated_alerts},
                            {"external_url", base_url(m.external_url)},
                            {"title", title},
                            {"body", body}};
  return out.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string slack_group(const GroupMessage& m, std::string_view title, std::string_view body) {
  // Slack limits (api.slack.com/reference/block-kit/blocks).
  constexpr size_t kHeaderMax = 150;
  constexpr size_t kSectionMax = 3000;
  const auto firing = std::count_if(m.alerts.begin(), m.alerts.end(), [](const GroupAlert& a) { return a.firing; });
  const auto resolved = static_cast<std::ptrdiff_t>(m.alerts.size()) - firing;
  const std::string fallback = title.empty() ? fmt::format("[{}] {}", group_status(m), m.receiver) : std::string(title);

  ordered_json blocks = ordered_json::array();
  // Slack rejects a header or section with empty text, so those are left out.
  if (!title.empty()) {
    blocks.push_back(
        {{"type", "header"},
         {"text", {{"type", "plain_text"}, {"text", truncate_chars(title, kHeaderMax)}, {"emoji", true}}}});
  }
  if (!body.empty()) {
    blocks.push_back(
        {{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", truncate_chars(body, kSectionMax)}}}});
  }
  std::string context =
      fmt::format("<{}|View in tocsin> · {} firing, {} resolved", slack_escape(alerts_url(m)), firing, resolved);
  if (m.truncated_alerts > 0) context += fmt::format(", {} more not shown", m.truncated_alerts);
  blocks.push_back({{"type", "context"}, {"elements", ordered_json::array({{{"type", "mrkdwn"}, {"text", context}}})}});

  const ordered_json out = {{"text", fallback}, {"blocks", std::move(blocks)}};
  return out.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

std::string email_group(const GroupMessage& m, std::string_view title, std::string_view body) {
  const std::string subject = title.empty() ? fmt::format("[{}] {}", group_status(m), m.receiver) : std::string(title);
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<h2>{}</h2>\n"
      "<pre style=\"white-space: pre-wrap\">{}</pre>\n<p><a href=\"{}\">View in tocsin</a></p>\n</body></html>\n",
      html_escape(subject), html_escape(body), html_escape(alerts_url(m)));
  const ordered_json out = {{"subject", subject}, {"text", body}, {"html", std::move(html)}};
  return out.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

TemplateValue template_data(const GroupMessage& m) {
  TemplateValue::List alerts;
  size_t firing = 0;
  for (const auto& a : m.alerts) {
    firing += a.firing ? 1 : 0;
    alerts.emplace_back(TemplateValue::Map{{"Status", alert_status(a)},
                                           {"Labels", TemplateValue::kv(a.labels)},
                                           {"Annotations", TemplateValue::kv(a.annotations)},
                                           {"StartsAt", core::format_rfc3339_nano(a.starts_at)},
                                           {"EndsAt", go_ends_at(a)},
                                           {"GeneratorURL", a.generator_url},
                                           {"Fingerprint", core::fingerprint_hex(a.fingerprint)}});
  }
  return TemplateValue::Map{{"Receiver", m.receiver},
                            {"Status", group_status(m)},
                            {"Alerts", TemplateValue(std::move(alerts), TemplateValue::Methods::kAlerts)},
                            {"GroupLabels", TemplateValue::kv(m.group_labels)},
                            {"CommonLabels", TemplateValue::kv(common_labels(m.alerts))},
                            {"CommonAnnotations", TemplateValue::kv(common_annotations(m.alerts))},
                            {"ExternalURL", base_url(m.external_url)},
                            {"GroupKey", m.group_key},
                            {"FiringCount", firing},
                            {"ResolvedCount", m.alerts.size() - firing},
                            {"TruncatedAlerts", m.truncated_alerts}};
}

// The status, the number of firing alerts, the group label values, and the values of the labels
// all alerts share besides those (Alertmanager's "__subject", without its stray spaces).
const std::string_view kDefaultTitleTemplate =
    "[{{ .Status | toUpper }}{{ if eq .Status \"firing\" }}:{{ .Alerts.Firing | len }}{{ end }}]"
    "{{ range .GroupLabels.SortedPairs }} {{ .Value }}{{ end }}"
    "{{ with .CommonLabels.Remove .GroupLabels.Names }} ({{ .Values | join \" \" }}){{ end }}";

// Alertmanager's "__text_alert_list" for the firing, then the resolved alerts, and a link back.
const std::string_view kDefaultBodyTemplate =
    "{{ if .Alerts.Firing }}Alerts Firing:\n"
    "{{ range .Alerts.Firing }}Labels:\n"
    "{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}\n{{ end }}"
    "{{ if .Annotations }}Annotations:\n"
    "{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}\n{{ end }}{{ end }}"
    "{{ if .GeneratorURL }}Source: {{ .GeneratorURL }}\n{{ end }}\n"
    "{{ end }}{{ end }}"
    "{{ if .Alerts.Resolved }}Alerts Resolved:\n"
    "{{ range .Alerts.Resolved }}Labels:\n"
    "{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}\n{{ end }}"
    "{{ if .Annotations }}Annotations:\n"
    "{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}\n{{ end }}{{ end }}"
    "{{ if .GeneratorURL }}Source: {{ .GeneratorURL }}\n{{ end }}\n"
    "{{ end }}{{ end }}"
    "{{ if .TruncatedAlerts }}{{ .TruncatedAlerts }} more alerts not shown.\n{{ end }}"
    "{{ if .ExternalURL }}View in tocsin: {{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}{{ end }}";

}  // namespace tocsin::notify
