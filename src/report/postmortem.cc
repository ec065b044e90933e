#include "report/postmortem.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/duration.h"
#include "core/xml.h"

namespace tocsin::report {

namespace {

using store::Incident;

std::string rfc(Timestamp t) { return core::format_rfc3339(t); }
std::string rfc(const std::optional<Timestamp>& t) { return t ? core::format_rfc3339(*t) : "—"; }

// "inc:12/pass:1/level:2/…" → "escalation level 2 (pass 1)"; "inc:12/page:why@ms/…" → "page: why".
std::string page_reason(const std::string& key) {
  const size_t first = key.find('/');
  if (first == std::string::npos) return "";
  std::string_view rest = std::string_view(key).substr(first + 1);
  if (rest.starts_with("pass:")) {
    const size_t slash = rest.find('/');
    std::string_view pass = rest.substr(5, slash == std::string_view::npos ? std::string_view::npos : slash - 5);
    if (slash == std::string_view::npos) return "";
    std::string_view lvl = rest.substr(slash + 1);
    if (!lvl.starts_with("level:")) return "";
    lvl = lvl.substr(6, lvl.find('/') == std::string_view::npos ? std::string_view::npos : lvl.find('/') - 6);
    return fmt::format("escalation level {} (pass {})", lvl, pass);
  }
  if (rest.starts_with("page:")) {
    std::string_view why = rest.substr(5);
    why = why.substr(0, why.rfind('@') == std::string_view::npos ? why.find('/') : why.rfind('@'));
    return fmt::format("page: {}", why);
  }
  return "";
}

const store::TimelineEvent* first_event(const Incident& inc, std::string_view kind) {
  for (const auto& e : inc.timeline) {
    if (e.kind == kind) return &e;
  }
  return nullptr;
}

const store::TimelineEvent* last_event(const Incident& inc, std::string_view kind) {
  for (auto it = inc.timeline.rbegin(); it != inc.timeline.rend(); ++it) {
    if (it->kind == kind) return &*it;
  }
  return nullptr;
}

std::string plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// Markdown text: backslash-escapes what would otherwise become markup that changes meaning (raw
// HTML, links, code spans, table cells); line breaks become spaces.
std::string md(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\\': case '`': case '<': case '>': case '[': case ']': case '|': case '*':
        out += '\\';
        out += c;
        break;
      case '\n': out += ' '; break;
      case '\r': break;
      default: out += c;
    }
  }
  return out;
}

// A fenced code block whose fence is longer than any run of backticks inside.
std::string md_code_block(std::string_view text) {
  size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<size_t>(3, longest + 1), '`');
  std::string body(text);
  if (!body.empty() && body.back() != '\n') body += '\n';
  return fmt::format("{0}\n{1}{0}\n", fence, body);
}

std::string h(std::string_view s) { return core::xml_escape(s); }

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    start = end + 1;
  }
  return out;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// Text people wrote, as Markdown: its line breaks and paragraphs kept, every line escaped like
// recorded text, and a line that would start a heading, list, quote or rule escaped too.
std::string md_written(std::string_view text) {
  std::string out;
  for (std::string_view line : lines_of(text)) {
    std::string escaped = md(line);
    const size_t lead = escaped.find_first_not_of(' ');
    if (lead != std::string::npos) {
      const char c = escaped[lead];
      size_t digits = lead;
      while (digits < escaped.size() && escaped[digits] >= '0' && escaped[digits] <= '9') ++digits;
      if (c == '#' || c == '-' || c == '+' || c == '=' || c == '_' || c == '~') {
        escaped.insert(lead, 1, '\\');
      } else if (digits > lead && digits < escaped.size() && (escaped[digits] == '.' || escaped[digits] == ')')) {
        escaped.insert(digits, 1, '\\');
      }
    }
    out += escaped;
    out += '\n';
  }
  return out;
}

// Text people wrote, as HTML paragraphs (a blank line starts a new one; a line break is a <br>).
std::string html_written(std::string_view text) {
  std::string out;
  std::string paragraph;
  auto flush = [&] {
    if (!paragraph.empty()) out += "<p>" + paragraph + "</p>\n";
    paragraph.clear();
  };
  for (std::string_view line : lines_of(text)) {
    if (blank(line)) {
      flush();
      continue;
    }
    if (!paragraph.empty()) paragraph += "<br>\n";
    paragraph += h(line);
  }
  flush();
  return out;
}

std::string item_status_text(const store::ActionItem& item) {
  if (item.status == store::ActionItemStatus::kDone) {
    return fmt::format("done {}{}", item.done_at ? rfc(*item.done_at) : "", item.done_by.empty() ? "" : " by " + item.done_by);
  }
  return "open";
}

// The sections people write, in document order: heading, field, placeholder.
struct WrittenSection {
  std::string_view heading;
  const std::string store::PostmortemFields::*field;
  std::string_view placeholder;
};
constexpr WrittenSection kWrittenSections[] = {
    {"Root cause", &store::PostmortemFields::root_cause, "To be filled in: what caused the incident."},
    {"Contributing factors", &store::PostmortemFields::contributing_factors,
     "To be filled in: what made it possible, worse or longer."},
    {"What went well", &store::PostmortemFields::went_well, "To be filled in."},
    {"What went badly", &store::PostmortemFields::went_badly, "To be filled in."},
    {"Lessons learned", &store::PostmortemFields::lessons, "To be filled in."},
};

std::string step_outcome_text(const StepResult& s) {
  switch (s.outcome) {
    case StepOutcome::kOnTime: return "done on time";
    case StepOutcome::kLate: return fmt::format("done late by {}", human_duration(s.late_by));
    case StepOutcome::kSkipped: return "skipped";
    case StepOutcome::kOpen:
      return s.late_by > Duration::zero() ? fmt::format("open, overdue by {}", human_duration(s.late_by)) : "open";
  }
  return "";
}

}  // namespace

std::string_view to_string(StepOutcome o) {
  switch (o) {
    case StepOutcome::kOnTime: return "on_time";
    case StepOutcome::kLate: return "late";
    case StepOutcome::kSkipped: return "skipped";
    case StepOutcome::kOpen: return "open";
  }
  return "open";
}

std::string human_duration(Duration d) {
  if (d < Duration::zero()) return "-" + human_duration(-d);
  return core::format_duration(std::chrono::duration_cast<std::chrono::seconds>(d));
}

core::Result<PostmortemInput> read_postmortem_input(store::Tx& tx, int64_t id) {
  auto inc = TOCSIN_TRY(tx.get_incident(id));
  if (!inc) return std::unexpected(core::Error::not_found(fmt::format("no incident {}", id)));
  PostmortemInput in;
  in.incident = std::move(*inc);
  for (const auto& a : in.incident.alerts) {
    if (auto rec = TOCSIN_TRY(tx.get_alert(a.fingerprint))) in.alerts.push_back(std::move(*rec));
  }
  for (auto& n : TOCSIN_TRY(tx.list_notifications(id))) {
    Page p;
    p.attempts = TOCSIN_TRY(tx.list_attempts(n.id));
    p.notification = std::move(n);
    in.pages.push_back(std::move(p));
  }
  std::sort(in.pages.begin(), in.pages.end(), [](const Page& a, const Page& b) {
    return std::tie(a.notification.created_at, a.notification.id) < std::tie(b.notification.created_at, b.notification.id);
  });
  in.written = TOCSIN_TRY(tx.get_postmortem(id));
  store::ActionItemFilter items;
  items.incident = id;
  items.limit = 10000;
  in.action_items = TOCSIN_TRY(tx.list_action_items(items));
  return in;
}

// "sigma (n=3, window=1h), for 2m on rate(http_errors_total[5m])": the detector with its
// parameters as written, the rule's `for`, and what it watches.
std::string describe_detection(const config::Rule& rule) {
  std::string params;
  for (const auto& [name, p] : rule.detector.params) {
    params += fmt::format("{}{}={}", params.empty() ? "" : ", ", name, p.text);
  }
  std::string out = rule.detector.kind.empty() ? "auto" : rule.detector.kind;
  if (!params.empty()) out += fmt::format(" ({})", params);
  if (rule.for_duration > Duration::zero()) out += fmt::format(", for {}", core::format_duration(rule.for_duration));
  return out + fmt::format(" on {}", rule.select);
}

Postmortem postmortem_draft(const PostmortemInput& input, const config::Plan* plan,
                            const std::vector<config::Rule>& rules) {
  const Incident& inc = input.incident;
  Postmortem pm;
  pm.id = inc.id;
  pm.title = inc.title;
  // A drill incident's title already starts with the marker; the renderers add their own.
  if (!inc.drill.empty() && pm.title.starts_with("[DRILL] ")) pm.title.erase(0, 8);
  pm.plan = inc.plan;
  pm.plan_title = plan ? plan->title : "";
  pm.severity = inc.severity;
  pm.status = std::string(store::to_string(inc.status));
  pm.drill = inc.drill;
  pm.opened_at = inc.opened_at;
  pm.timeline = inc.timeline;

  // Detection: the incident's alerts, in the order they joined.
  std::optional<Timestamp> first_fired;
  std::vector<store::IncidentAlert> alerts = inc.alerts;
  std::stable_sort(alerts.begin(), alerts.end(),
                   [](const auto& a, const auto& b) { return a.added_at < b.added_at; });
  for (const auto& a : alerts) {
    DetectedBy d;
    d.alertname = std::string(a.labels.get_or("alertname", ""));
    d.labels = a.labels.to_string();
    d.added_at = a.added_at;
    auto rec = std::find_if(input.alerts.begin(), input.alerts.end(),
                            [&](const store::AlertRecord& r) { return r.fingerprint == a.fingerprint; });
    if (rec != input.alerts.end()) {
      d.rule = rec->rule;
      auto rule = std::find_if(rules.begin(), rules.end(), [&](const config::Rule& r) { return r.name == d.rule; });
      if (!d.rule.empty() && rule != rules.end()) d.detector = describe_detection(*rule);
      if (auto s = rec->annotations.find("summary"); s != rec->annotations.end()) d.summary = s->second;
      d.fired_at = rec->fired_at ? rec->fired_at : std::optional<Timestamp>(rec->active_at);
    }
    if (d.fired_at && (!first_fired || *d.fired_at < *first_fired)) first_fired = d.fired_at;
    pm.detected_by.push_back(std::move(d));
  }
  if (first_fired && *first_fired <= inc.opened_at) {
    pm.impact_start = *first_fired;
    pm.impact_start_from = "first alert fired";
    pm.time_to_incident = inc.opened_at - *first_fired;
  } else {
    pm.impact_start = inc.opened_at;
    pm.impact_start_from = "incident opened";
  }
  pm.resolved_at = inc.resolved_at;
  if (const auto* e = last_event(inc, "resolved")) pm.resolved_by = e->actor;
  if (inc.resolved_at) {
    pm.impact_end = inc.resolved_at;
    pm.impact_duration = *inc.resolved_at - pm.impact_start;
  }

  // Plan steps, judged at the resolution (or, for an unresolved incident, the last record).
  Timestamp end = inc.resolved_at ? *inc.resolved_at : (inc.timeline.empty() ? inc.opened_at : inc.timeline.back().at);
  std::vector<store::Task> tasks = inc.tasks;
  std::stable_sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) { return a.ord < b.ord; });
  for (const auto& t : tasks) {
    StepResult s{t.step, t.title, t.owner, t.assignee, t.due_at, StepOutcome::kOpen, t.done_at, t.done_by, {}};
    if (t.status == store::TaskStatus::kSkipped) {
      s.outcome = StepOutcome::kSkipped;
    } else if (t.status == store::TaskStatus::kDone && t.done_at) {
      s.outcome = *t.done_at <= t.due_at ? StepOutcome::kOnTime : StepOutcome::kLate;
      if (s.outcome == StepOutcome::kLate) s.late_by = *t.done_at - t.due_at;
    } else if (end > t.due_at) {
      s.late_by = end - t.due_at;
    }
    pm.steps.push_back(std::move(s));
  }

  for (const auto& a : inc.actions) {
    pm.actions.push_back({a.step, a.type, std::string(store::to_string(a.state)), a.attempts, a.approved_by,
                          a.finished_at, a.last_result, a.last_output});
  }

  for (const auto& p : input.pages) {
    const auto& n = p.notification;
    PageResult r{n.created_at, page_reason(n.dedup_key), n.target, n.channel, n.address,
                 std::string(store::to_string(n.status)), n.attempts, std::nullopt, n.last_error};
    for (const auto& a : p.attempts) {
      if (a.ok) {
        r.delivered_at = a.at;
        break;
      }
    }
    pm.pages.push_back(std::move(r));
  }

  pm.acknowledged_at = inc.acknowledged_at;
  if (const auto* e = first_event(inc, "acknowledged")) {
    pm.acknowledged_by = e->actor;
    if (!pm.acknowledged_at) pm.acknowledged_at = e->at;
  }
  if (pm.acknowledged_at) {
    pm.time_to_ack = *pm.acknowledged_at - inc.opened_at;
    if (!pm.pages.empty() && pm.pages.front().at <= *pm.acknowledged_at) {
      pm.ack_after_first_page = *pm.acknowledged_at - pm.pages.front().at;
    }
  }

  // The summary line.
  std::string s = fmt::format("{}Incident {} ({}severity {}) opened {}", pm.drill.empty() ? "" : "[DRILL] ", pm.id,
                              pm.plan.empty() ? "" : fmt::format("plan {}, ", pm.plan), pm.severity, rfc(pm.opened_at));
  if (!pm.detected_by.empty() && !pm.detected_by.front().alertname.empty()) {
    s += fmt::format(" on alert {}", pm.detected_by.front().alertname);
  }
  if (pm.acknowledged_at) {
    s += fmt::format("; acknowledged by {} after {}", pm.acknowledged_by.empty() ? "?" : pm.acknowledged_by,
                     human_duration(*pm.time_to_ack));
  } else {
    s += "; never acknowledged";
  }
  if (pm.impact_duration) {
    s += fmt::format("; resolved after {} of impact", human_duration(*pm.impact_duration));
  } else {
    s += fmt::format("; not resolved (status {})", pm.status);
  }
  size_t counts[4] = {0, 0, 0, 0};
  for (const auto& st : pm.steps) ++counts[static_cast<int>(st.outcome)];
  if (!pm.steps.empty()) {
    s += fmt::format("; {}: {} on time, {} late, {} skipped, {} open", plural(pm.steps.size(), "plan step", "plan steps"),
                     counts[0], counts[1], counts[2], counts[3]);
  }
  s += fmt::format("; {}.", plural(pm.pages.size(), "page", "pages"));
  pm.summary = std::move(s);
  if (input.written) {
    pm.written = input.written->fields;
    pm.completed_at = input.written->completed_at;
    pm.completed_by = input.written->completed_by;
  }
  pm.action_items = input.action_items;
  return pm;
}

std::string render_markdown(const Postmortem& pm) {
  std::string o;
  auto line = [&](std::string_view text) {
    o += text;
    o += '\n';
  };
  line(fmt::format("# Postmortem{}: {}{}", pm.completed_at ? "" : " (draft)", pm.drill.empty() ? "" : "[DRILL] ",
                   md(pm.title)));
  line("");
  line(fmt::format("- **Incident:** {}", pm.id));
  line(fmt::format("- **Plan:** {}", pm.plan.empty() ? "none"
                                     : pm.plan_title.empty() ? md(pm.plan)
                                                             : fmt::format("{} ({})", md(pm.plan), md(pm.plan_title))));
  line(fmt::format("- **Severity:** {}", md(pm.severity)));
  line(fmt::format("- **Status:** {}", md(pm.status)));
  if (!pm.drill.empty()) line(fmt::format("- **Drill:** [DRILL] {} — a drill incident, not a real outage", md(pm.drill)));
  if (pm.completed_at) {
    line(fmt::format("- **Postmortem:** completed by {} at {}", md(pm.completed_by), rfc(*pm.completed_at)));
  }
  line("");
  line("## Summary");
  line("");
  if (!blank(pm.written.summary)) {
    o += md_written(pm.written.summary);
    line("");
  }
  line(md(pm.summary));
  line("");
  line("## Impact window");
  line("");
  line(fmt::format("- **Start:** {} ({})", rfc(pm.impact_start), pm.impact_start_from));
  line(fmt::format("- **End:** {}", pm.impact_end ? rfc(*pm.impact_end) + " (resolved)" : "not resolved yet"));
  line(fmt::format("- **Duration:** {}", pm.impact_duration ? human_duration(*pm.impact_duration) : "—"));
  line("");
  if (!blank(pm.written.impact)) {
    o += md_written(pm.written.impact);
    line("");
  }
  line("## Detection");
  line("");
  if (!pm.drill.empty()) line(fmt::format("[DRILL] Raised by drill {}: its alerts carry the label drill=\"{}\".", md(pm.drill), md(pm.drill)));
  if (!pm.drill.empty()) line("");
  if (pm.detected_by.empty()) line("No alert is recorded for this incident.");
  for (const auto& d : pm.detected_by) {
    line(fmt::format("- **{}**{}: fired {}, joined the incident {}", d.alertname.empty() ? "(no alertname)" : md(d.alertname),
                     d.rule.empty() ? " (received from outside)" : fmt::format(" (rule {})", md(d.rule)), rfc(d.fired_at),
                     rfc(d.added_at)));
    if (!d.detector.empty()) line(fmt::format("  - detector: {}", md(d.detector)));
    line(fmt::format("  - labels: {}", md(d.labels)));
    if (!d.summary.empty()) line(fmt::format("  - summary: {}", md(d.summary)));
  }
  line("");
  line(fmt::format("- **Incident opened:** {}", rfc(pm.opened_at)));
  line(fmt::format("- **First alert to incident:** {}", pm.time_to_incident ? human_duration(*pm.time_to_incident) : "—"));
  line("");
  line("## Pages and acknowledgements");
  line("");
  if (pm.pages.empty()) {
    line("Nobody was paged.");
  } else {
    line("| created | why | target | channel | address | status | attempts | delivered |");
    line("|---|---|---|---|---|---|---|---|");
    for (const auto& p : pm.pages) {
      line(fmt::format("| {} | {} | {} | {} | {} | {}{} | {} | {} |", rfc(p.at), md(p.reason), md(p.target),
                       md(p.channel), md(p.address), md(p.status),
                       p.last_error.empty() || p.status == "sent" ? "" : " (" + md(p.last_error) + ")", p.attempts,
                       rfc(p.delivered_at)));
    }
  }
  line("");
  if (pm.acknowledged_at) {
    line(fmt::format("Acknowledged by **{}** at {}: {} after the incident opened{}.", md(pm.acknowledged_by),
                     rfc(*pm.acknowledged_at), human_duration(*pm.time_to_ack),
                     pm.ack_after_first_page ? fmt::format(", {} after the first page", human_duration(*pm.ack_after_first_page))
                                             : ""));
  } else {
    line("Not acknowledged.");
  }
  if (pm.resolved_at) {
    line("");
    line(fmt::format("Resolved by **{}** at {}.", md(pm.resolved_by.empty() ? "?" : pm.resolved_by), rfc(*pm.resolved_at)));
  }
  line("");
  line("## Plan steps");
  line("");
  if (pm.steps.empty()) {
    line("The incident had no plan steps.");
  } else {
    line("| step | title | owner | due | outcome | when | by |");
    line("|---|---|---|---|---|---|---|");
    for (const auto& s : pm.steps) {
      line(fmt::format("| {} | {} | {}{} | {} | {} | {} | {} |", md(s.step), md(s.title), md(s.owner),
                       s.assignee.empty() ? "" : " (" + md(s.assignee) + ")", rfc(s.due_at), step_outcome_text(s),
                       rfc(s.done_at), s.done_by.empty() ? "—" : md(s.done_by)));
    }
  }
  line("");
  line("## Automated actions");
  line("");
  if (pm.actions.empty()) line("No automated action ran.");
  for (const auto& a : pm.actions) {
    line(fmt::format("- **{}** ({}): {} after {}{}{}", md(a.step), md(a.type), md(a.state),
                     plural(static_cast<size_t>(a.attempts), "attempt", "attempts"),
                     a.approved_by.empty() ? "" : ", approved by " + md(a.approved_by),
                     a.last_result.empty() ? "" : "; last result: " + md(a.last_result)));
    if (!a.last_output.empty()) {
      line("");
      o += md_code_block(a.last_output);
    }
  }
  line("");
  line("## Timeline");
  line("");
  line("| time | event | actor | detail |");
  line("|---|---|---|---|");
  for (const auto& e : pm.timeline) {
    line(fmt::format("| {} | {} | {} | {} |", rfc(e.at), md(e.kind), md(e.actor), md(e.detail)));
  }
  line("");
  for (const auto& section : kWrittenSections) {
    line(fmt::format("## {}", section.heading));
    line("");
    const std::string& text = pm.written.*section.field;
    if (blank(text)) {
      line(fmt::format("_{}_", section.placeholder));
    } else {
      o += md_written(text);
    }
    line("");
  }
  line("## Action items");
  line("");
  if (pm.action_items.empty()) {
    line("| action | owner | due |");
    line("|---|---|---|");
    line("| _to be filled in_ | | |");
  } else {
    line("| # | action | owner | due | status |");
    line("|---|---|---|---|---|");
    for (const auto& item : pm.action_items) {
      line(fmt::format("| {} | {} | {} | {} | {} |", item.id, md(item.title), md(item.owner), rfc(item.due_at),
                       md(item_status_text(item))));
    }
  }
  return o;
}

std::string render_html(const Postmortem& pm) {
  std::string o;
  auto add = [&](std::string_view s) { o += s; };
  const std::string kind = pm.completed_at ? "Postmortem" : "Postmortem (draft)";
  const std::string heading = fmt::format("{}: {}{}", kind, pm.drill.empty() ? "" : "[DRILL] ", pm.title);
  add("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width\">\n");
  add(fmt::format("<title>{} · tocsin</title>\n", h(heading)));
  add("<style>\n"
      "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}\n"
      "table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #999;padding:.25em .5em;"
      "text-align:left;vertical-align:top}\n"
      "pre{background:#eee;color:#111;padding:.5em;overflow-x:auto;white-space:pre-wrap}\n"
      ".drill{background:#fd0;color:#000;padding:0 .3em;font-weight:bold}.todo{color:#777;font-style:italic}\n"
      "@media (prefers-color-scheme:dark){body{background:#111;color:#eee}pre{background:#222;color:#eee}}\n"
      "</style></head>\n<body>\n");
  add(fmt::format("<h1>{}: {}{}</h1>\n", kind, pm.drill.empty() ? "" : "<span class=\"drill\">[DRILL]</span> ",
                  h(pm.title)));
  add("<ul>\n");
  add(fmt::format("<li><b>Incident:</b> {}</li>\n", pm.id));
  add(fmt::format("<li><b>Plan:</b> {}</li>\n",
                  pm.plan.empty() ? "none" : pm.plan_title.empty() ? h(pm.plan) : fmt::format("{} ({})", h(pm.plan), h(pm.plan_title))));
  add(fmt::format("<li><b>Severity:</b> {}</li>\n<li><b>Status:</b> {}</li>\n", h(pm.severity), h(pm.status)));
  if (!pm.drill.empty()) {
    add(fmt::format("<li><b>Drill:</b> <span class=\"drill\">[DRILL]</span> {} — a drill incident, not a real outage</li>\n",
                    h(pm.drill)));
  }
  if (pm.completed_at) {
    add(fmt::format("<li><b>Postmortem:</b> completed by {} at {}</li>\n", h(pm.completed_by), rfc(*pm.completed_at)));
  }
  add("</ul>\n<h2>Summary</h2>\n");
  if (!blank(pm.written.summary)) add(html_written(pm.written.summary));
  add(fmt::format("<p>{}</p>\n", h(pm.summary)));
  add("<h2>Impact window</h2>\n<ul>\n");
  add(fmt::format("<li><b>Start:</b> {} ({})</li>\n", rfc(pm.impact_start), h(pm.impact_start_from)));
  add(fmt::format("<li><b>End:</b> {}</li>\n", pm.impact_end ? rfc(*pm.impact_end) + " (resolved)" : "not resolved yet"));
  add(fmt::format("<li><b>Duration:</b> {}</li>\n</ul>\n", pm.impact_duration ? human_duration(*pm.impact_duration) : "—"));
  if (!blank(pm.written.impact)) add(html_written(pm.written.impact));
  add("<h2>Detection</h2>\n");
  if (!pm.drill.empty()) {
    add(fmt::format("<p><span class=\"drill\">[DRILL]</span> Raised by drill {0}: its alerts carry the label "
                    "drill=&quot;{0}&quot;.</p>\n",
                    h(pm.drill)));
  }
  if (pm.detected_by.empty()) add("<p>No alert is recorded for this incident.</p>\n");
  if (!pm.detected_by.empty()) {
    add("<ul>\n");
    for (const auto& d : pm.detected_by) {
      add(fmt::format("<li><b>{}</b>{}: fired {}, joined the incident {}<ul><li>labels: <code>{}</code></li>",
                      d.alertname.empty() ? "(no alertname)" : h(d.alertname),
                      d.rule.empty() ? " (received from outside)" : fmt::format(" (rule {})", h(d.rule)), rfc(d.fired_at),
                      rfc(d.added_at), h(d.labels)));
      if (!d.detector.empty()) add(fmt::format("<li>detector: {}</li>", h(d.detector)));
      if (!d.summary.empty()) add(fmt::format("<li>summary: {}</li>", h(d.summary)));
      add("</ul></li>\n");
    }
    add("</ul>\n");
  }
  add(fmt::format("<ul><li><b>Incident opened:</b> {}</li>\n<li><b>First alert to incident:</b> {}</li></ul>\n",
                  rfc(pm.opened_at), pm.time_to_incident ? human_duration(*pm.time_to_incident) : "—"));
  add("<h2>Pages and acknowledgements</h2>\n");
  if (pm.pages.empty()) {
    add("<p>Nobody was paged.</p>\n");
  } else {
    add("<table><tr><th>created</th><th>why</th><th>target</th><th>channel</th><th>address</th><th>status</th>"
        "<th>attempts</th><th>delivered</th></tr>\n");
    for (const auto& p : pm.pages) {
      add(fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>\n",
                      rfc(p.at), h(p.reason), h(p.target), h(p.channel), h(p.address), h(p.status),
                      p.last_error.empty() || p.status == "sent" ? "" : " (" + h(p.last_error) + ")", p.attempts,
                      rfc(p.delivered_at)));
    }
    add("</table>\n");
  }
  if (pm.acknowledged_at) {
    add(fmt::format("<p>Acknowledged by <b>{}</b> at {}: {} after the incident opened{}.</p>\n", h(pm.acknowledged_by),
                    rfc(*pm.acknowledged_at), human_duration(*pm.time_to_ack),
                    pm.ack_after_first_page
                        ? fmt::format(", {} after the first page", human_duration(*pm.ack_after_first_page))
                        : ""));
  } else {
    add("<p>Not acknowledged.</p>\n");
  }
  if (pm.resolved_at) {
    add(fmt::format("<p>Resolved by <b>{}</b> at {}.</p>\n", h(pm.resolved_by.empty() ? "?" : pm.resolved_by),
                    rfc(*pm.resolved_at)));
  }
  add("<h2>Plan steps</h2>\n");
  if (pm.steps.empty()) {
    add("<p>The incident had no plan steps.</p>\n");
  } else {
    add("<table><tr><th>step</th><th>title</th><th>owner</th><th>due</th><th>outcome</th><th>when</th><th>by</th></tr>\n");
    for (const auto& s : pm.steps) {
      add(fmt::format("<tr><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                      h(s.step), h(s.title), h(s.owner), s.assignee.empty() ? "" : " (" + h(s.assignee) + ")",
                      rfc(s.due_at), step_outcome_text(s), rfc(s.done_at), s.done_by.empty() ? "—" : h(s.done_by)));
    }
    add("</table>\n");
  }
  add("<h2>Automated actions</h2>\n");
  if (pm.actions.empty()) add("<p>No automated action ran.</p>\n");
  for (const auto& a : pm.actions) {
    add(fmt::format("<p><b>{}</b> ({}): {} after {}{}{}</p>\n", h(a.step), h(a.type), h(a.state),
                    plural(static_cast<size_t>(a.attempts), "attempt", "attempts"),
                    a.approved_by.empty() ? "" : ", approved by " + h(a.approved_by),
                    a.last_result.empty() ? "" : "; last result: " + h(a.last_result)));
    if (!a.last_output.empty()) add(fmt::format("<pre>{}</pre>\n", h(a.last_output)));
  }
  add("<h2>Timeline</h2>\n<table><tr><th>time</th><th>event</th><th>actor</th><th>detail</th></tr>\n");
  for (const auto& e : pm.timeline) {
    add(fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", rfc(e.at), h(e.kind), h(e.actor),
                    h(e.detail)));
  }
  add("</table>\n");
  for (const auto& section : kWrittenSections) {
    add(fmt::format("<h2>{}</h2>\n", section.heading));
    const std::string& text = pm.written.*section.field;
    add(blank(text) ? fmt::format("<p class=\"todo\">{}</p>\n", section.placeholder) : html_written(text));
  }
  add("<h2>Action items</h2>\n");
  if (pm.action_items.empty()) {
    add("<table><tr><th>action</th><th>owner</th><th>due</th></tr>\n"
        "<tr><td class=\"todo\">to be filled in</td><td></td><td></td></tr></table>\n");
  } else {
    add("<table><tr><th>#</th><th>action</th><th>owner</th><th>due</th><th>status</th></tr>\n");
    for (const auto& item : pm.action_items) {
      add(fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", item.id, h(item.title),
                      h(item.owner), rfc(item.due_at), h(item_status_text(item))));
    }
    add("</table>\n");
  }
  add("</body></html>\n");
  return o;
}

}  // namespace tocsin::report
