// The postmortem draft of one incident (issue 8, item 1): everything the records say — summary,
// impact window, how it was detected, the timeline, plan steps done on time / late / skipped /
// open, automated actions and their outputs, pages and acknowledgements — followed by the sections
// people write through the API (summary, impact, root cause, contributing factors, what went well
// and badly, lessons, action items with their status), each a placeholder until written. A
// completed postmortem is titled "Postmortem", otherwise "Postmortem (draft)". Rendered as Markdown or as one self-contained HTML page (no external assets,
// every recorded string escaped).
//
// The draft is a pure function of the records: no clock is read, so the same incident gives the
// same bytes from the API and from `tocsin report postmortem`.
// Thread-safety: pure functions; read_postmortem_input runs inside the caller's transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "store/store.h"

namespace tocsin::report {

using core::Duration;
using core::Timestamp;

// One notification of the incident and its delivery attempts.
struct Page {
  store::Notification notification;
  std::vector<store::NotificationAttempt> attempts;  // oldest first
};

// What the draft is made from: the incident with its details, the records of its alerts (for
// annotations and firing times; an alert whose record is gone is simply missing) and its pages.
struct PostmortemInput {
  store::Incident incident;
  std::vector<store::AlertRecord> alerts;
  std::vector<Page> pages;  // in creation order
  std::optional<store::Postmortem> written;     // what people wrote (none yet: nullopt)
  std::vector<store::ActionItem> action_items;  // by due time
};

// Reads the incident `id` (not_found when absent), its alert records, notifications with their
// attempts, the written postmortem and its action items.
core::Result<PostmortemInput> read_postmortem_input(store::Tx& tx, int64_t id);

struct DetectedBy {
  std::string alertname;  // the alertname label ("" when none)
  std::string rule;       // the rule that raised it ("" for alerts from outside)
  std::string detector;   // that rule's detector as configured now, e.g. "threshold (above=0.9), for 1m on system_load"
  std::string labels;     // {a="b", …}
  std::string summary;    // the summary annotation ("" when none)
  std::optional<Timestamp> fired_at;
  Timestamp added_at{};  // when it joined the incident
};

enum class StepOutcome { kOnTime, kLate, kSkipped, kOpen };
std::string_view to_string(StepOutcome o);

struct StepResult {
  std::string step;
  std::string title;
  std::string owner;     // role
  std::string assignee;  // person filling the role when the incident opened
  Timestamp due_at{};
  StepOutcome outcome = StepOutcome::kOpen;
  std::optional<Timestamp> done_at;  // done or skipped
  std::string done_by;
  Duration late_by{};   // kLate: done_at - due_at; kOpen: how far past due at the end (0 = not due)
};

struct ActionResult {
  std::string step;
  std::string type;
  std::string state;
  int attempts = 0;
  std::string approved_by;
  std::optional<Timestamp> finished_at;
  std::string last_result;
  std::string last_output;
};

struct PageResult {
  Timestamp at{};       // created
  std::string reason;   // "escalation level 1 (pass 0)", "page: task_overdue:…", …
  std::string target;   // person:alice, channel:ops
  std::string channel;  // webhook | slack | email | exec
  std::string address;
  std::string status;   // pending | sent | failed
  int attempts = 0;
  std::optional<Timestamp> delivered_at;  // the first successful attempt
  std::string last_error;
};

struct Postmortem {
  int64_t id = 0;
  std::string title;       // without the "[DRILL] " a drill incident's title starts with
  std::string plan;        // plan id ("" when none)
  std::string plan_title;  // from the config ("" when the plan is not in it)
  std::string severity;
  std::string status;
  std::string drill;  // non-empty: a drill incident
  std::string summary;
  // Impact window: from the first alert firing (or the opening) to the resolution.
  Timestamp impact_start{};
  std::string impact_start_from;  // "first alert fired" | "incident opened"
  std::optional<Timestamp> impact_end;
  std::optional<Duration> impact_duration;
  Timestamp opened_at{};
  std::vector<DetectedBy> detected_by;
  std::optional<Duration> time_to_incident;  // first alert firing → incident opened
  std::vector<store::TimelineEvent> timeline;
  std::vector<StepResult> steps;
  std::vector<ActionResult> actions;
  std::vector<PageResult> pages;
  std::optional<Timestamp> acknowledged_at;
  std::string acknowledged_by;
  std::optional<Duration> time_to_ack;             // opened → acknowledged
  std::optional<Duration> ack_after_first_page;    // first page → acknowledged
  std::optional<Timestamp> resolved_at;
  std::string resolved_by;
  // What people wrote ("" = a placeholder is shown), and whether they completed it.
  store::PostmortemFields written;
  std::vector<store::ActionItem> action_items;
  std::optional<Timestamp> completed_at;
  std::string completed_by;
};

// The draft from the records. `plan` may be null (a plan no longer in the config); `rules` (the
// config's) say how each rule detects — a rule no longer in them is named without its detector.
Postmortem postmortem_draft(const PostmortemInput& input, const config::Plan* plan,
                            const std::vector<config::Rule>& rules = {});

// A duration for people: "12m30s", "2h", "1d3h"; whole seconds (rounded down), "0s" for zero.
std::string human_duration(Duration d);

std::string render_markdown(const Postmortem& pm);
std::string render_html(const Postmortem& pm);

}  // namespace tocsin::report
