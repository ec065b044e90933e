#include "notify/payload.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "notify/group_message.h"

namespace tocsin::notify {

using nlohmann::json;

namespace {

json labels_json(const core::Labels& labels) {
  json out = json::object();
  for (const auto& l : labels) out[l.name] = l.value;
  return out;
}

// A drill incident's pages say so first, in every format: "[DRILL] [critical] Incident #3: …".
std::string_view drill_prefix(const store::Incident& inc) { return inc.drill.empty() ? "" : "[DRILL] "; }

// The title without its own "[DRILL] " (the line's prefix already says it).
std::string_view bare_title(const store::Incident& inc) {
  std::string_view title = inc.title;
  if (!inc.drill.empty() && title.starts_with("[DRILL] ")) title.remove_prefix(8);
  return title;
}

std::string summary_line(const PageContext& page) {
  return fmt::format("{}[{}] Incident #{}: {} ({}, {})", drill_prefix(page.incident), page.incident.severity,
                     page.incident.id, bare_title(page.incident), store::to_string(page.incident.status),
                     incident_url(page.external_url, page.incident.id));
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// "alertname=HighLoad, instance=h1"
std::string label_list(const core::Labels& labels) {
  std::string out;
  for (const auto& l : labels) out += fmt::format("{}{}={}", out.empty() ? "" : ", ", l.name, l.value);
  return out;
}

// Who was paged and why, e.g. "bob (schedule:ops-primary), escalation level 2, pass 1".
std::string paged_line(const PageContext& page) {
  std::string who = page.recipient == page.target || page.recipient.empty()
                        ? page.target
                        : fmt::format("{} ({})", page.recipient, page.target);
  if (page.level > 0) who += fmt::format(", escalation level {}, pass {}", page.level, page.pass);
  return who;
}

// Slack's mrkdwn needs only these escaped (api.slack.com/reference/surfaces/formatting#escaping).
std::string slack_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

// Cuts to at most `max_bytes` bytes without splitting a UTF-8 character, adding "…" when cut.
std::string cut(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes - 3;  // room for "…"
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "…";
}

}  // namespace

std::string incident_url(std::string_view external_url, int64_t id) {
  std::string base(external_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return fmt::format("{}/#/incidents/{}", base, id);
}

json incident_summary_json(const store::Incident& inc, std::string_view external_url) {
  json out = {{"id", std::to_string(inc.id)},
              {"title", inc.title},
              {"plan", inc.plan},
              {"severity", inc.severity},
              {"status", store::to_string(inc.status)},
              {"opened_at", core::format_rfc3339(inc.opened_at)},
              {"url", incident_url(external_url, inc.id)}};
  if (!inc.drill.empty()) out["drill"] = inc.drill;
  return out;
}

std::string tocsin_json(const PageContext& page) {
  const auto& inc = page.incident;
  json alerts = json::array();
  for (const auto& a : inc.alerts) {
    alerts.push_back({{"fingerprint", core::fingerprint_hex(a.fingerprint)},
                      {"labels", labels_json(a.labels)},
                      {"status", store::to_string(a.status)}});
  }
  json body = {{"version", "1"},
               {"event", "incident.page"},
               {"summary", summary_line(page)},
               {"incident", incident_summary_json(inc, page.external_url)},
               {"target", page.target},
               {"recipient", page.recipient},
               {"escalation", {{"level", page.level}, {"pass", page.pass}}},
               {"alerts", alerts}};
  if (!page.ack_url.empty()) body["ack_url"] = page.ack_url;
  if (!inc.drill.empty()) body["drill"] = inc.drill;
  return dump(body);
}

// The incident's alerts as one Alertmanager group, so the body is the same as a notify-only
// route's (group_message.h); each alert carries the page's summary and ack link as annotations,
// which makes them the group's commonAnnotations.summary and .ack_url.
std::string alertmanager_v4(const PageContext& page, std::string_view receiver) {
  const auto& inc = page.incident;
  GroupMessage m;
  m.receiver = std::string(receiver);
  m.group_key = inc.group_key;
  m.external_url = page.external_url;
  std::map<std::string, std::string> annotations{{"summary", summary_line(page)}};
  if (!page.ack_url.empty()) annotations["ack_url"] = page.ack_url;
  for (const auto& a : inc.alerts) {
    m.alerts.push_back({.fingerprint = a.fingerprint,
                        .labels = a.labels,
                        .annotations = annotations,
                        .firing = a.status == store::AlertState::kFiring,
                        .starts_at = a.added_at,
                        .ends_at = std::nullopt,
                        .generator_url = incident_url(page.external_url, inc.id)});
  }
  return alertmanager_v4_group(m);
}

std::string slack_page(const PageContext& page) {
  // Slack's limits: 3000 characters in a section's text (counted here in bytes, which is safe).
  constexpr size_t kSectionMax = 3000;
  const auto& inc = page.incident;
  std::string text = fmt::format("*{}[{}] Incident #{}: {}*\nStatus: {} · plan {} · paged {}", drill_prefix(inc),
                                 slack_escape(inc.severity), inc.id, slack_escape(bare_title(inc)), store::to_string(inc.status), slack_escape(inc.plan),
                                 slack_escape(paged_line(page)));
  if (!inc.alerts.empty()) {
    text += "\n";
    for (const auto& a : inc.alerts) {
      text += fmt::format("\n• {} {}", store::to_string(a.status), slack_escape(label_list(a.labels)));
    }
  }
  json buttons = json::array();
  if (!page.ack_url.empty()) {
    buttons.push_back({{"type", "button"},
                       {"text", {{"type", "plain_text"}, {"text", "Acknowledge"}}},
                       {"style", "primary"},
                       {"url", page.ack_url},
                       {"action_id", "tocsin_ack"}});
  }
  buttons.push_back({{"type", "button"},
                     {"text", {{"type", "plain_text"}, {"text", "Open in tocsin"}}},
                     {"url", incident_url(page.external_url, inc.id)},
                     {"action_id", "tocsin_open"}});
  json blocks = json::array();
  blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", cut(text, kSectionMax)}}}});
  blocks.push_back({{"type", "actions"}, {"elements", buttons}});
  return dump({{"text", summary_line(page)}, {"blocks", blocks}});
}

std::string email_page(const PageContext& page) {
  const auto& inc = page.incident;
  const std::string url = incident_url(page.external_url, inc.id);
  const std::string subject =
      fmt::format("{}[{}] Incident #{}: {}", drill_prefix(inc), inc.severity, inc.id, bare_title(inc));

  std::string text = fmt::format("{}Incident #{}: {}\n\nSeverity: {}\nStatus: {}\nPlan: {}\nOpened: {}\nPaged: {}\n",
                                 drill_prefix(inc), inc.id, bare_title(inc), inc.severity, store::to_string(inc.status), inc.plan,
                                 core::format_rfc3339(inc.opened_at), paged_line(page));
  if (!inc.alerts.empty()) {
    text += "\nAlerts:\n";
    for (const auto& a : inc.alerts) text += fmt::format(" - [{}] {}\n", store::to_string(a.status), label_list(a.labels));
  }
  text += "\n";
  if (!page.ack_url.empty()) text += fmt::format("Acknowledge: {}\n", page.ack_url);
  text += fmt::format("Open in tocsin: {}\n", url);

  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n"
      "<h2>{}Incident #{}: {}</h2>\n<table>\n"
      "<tr><td>Severity</td><td><b>{}</b></td></tr>\n<tr><td>Status</td><td>{}</td></tr>\n"
      "<tr><td>Plan</td><td>{}</td></tr>\n<tr><td>Opened</td><td>{}</td></tr>\n"
      "<tr><td>Paged</td><td>{}</td></tr>\n</table>\n",
      drill_prefix(inc), inc.id, html_escape(bare_title(inc)), html_escape(inc.severity), store::to_string(inc.status),
      html_escape(inc.plan), core::format_rfc3339(inc.opened_at), html_escape(paged_line(page)));
  if (!inc.alerts.empty()) {
    html += "<h3>Alerts</h3>\n<ul>\n";
    for (const auto& a : inc.alerts) {
      html += fmt::format("<li>[{}] {}</li>\n", store::to_string(a.status), html_escape(label_list(a.labels)));
    }
    html += "</ul>\n";
  }
  html += "<p>";
  if (!page.ack_url.empty()) html += fmt::format("<a href=\"{}\"><b>Acknowledge</b></a> · ", html_escape(page.ack_url));
  html += fmt::format("<a href=\"{}\">Open in tocsin</a></p>\n</body></html>\n", html_escape(url));
  return dump({{"subject", subject}, {"text", text}, {"html", html}});
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace tocsin::notify
