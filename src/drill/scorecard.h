// The drill scorecard (docs/drills.md): how well the people and the plan responded.
//
// It is computed from what the store records — the incidents of the plan under test with their
// tasks and timelines, the notifications (pages) written for them, the alerts — plus the
// scenario's fault timeline, and from nothing the drill runner keeps to itself. So a live drill,
// whose responders are real people acting through the API, is scored by the same function.
//
// Definitions (all times are simulated):
//   detect      first fault starts → first alert of the drill fires (fired_at)
//   acknowledge / mitigate / resolve   incident opened → acknowledged_at / mitigated_at / resolved_at
//   a step      on_time (done by due), late (done after due), skipped, never (open and past due at
//               the end), pending (open, due after the end); out_of_order when a step earlier in
//               the plan, and due no later, was done after it
//   a page      one ladder step (pass, level) to one person, whatever the number of contact
//               methods; answered when that person acknowledged, missed when the ladder moved on
//               (or the drill ended) with the incident still unacknowledged, else superseded
//               (someone else acknowledged first)
//   escalations the ladder steps paged beyond the first
//   score       round(40·E + 40·S + 20·P): E = expectations met / expectations, S = (on-time steps
//               + ½ late steps) / steps due by the end, P = 1 − missed pages / pages to people;
//               each ratio is 1 when its denominator is 0; 0 when no incident of the plan opened
//
// render_json() writes keys in a fixed order and times as RFC 3339 / whole seconds, so the same
// scenario and seed give the same bytes.
// Thread-safety: pure functions over values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "drill/faults.h"
#include "drill/scenario.h"
#include "store/store.h"

namespace tocsin::drill {

// Who a notification pages: the person whose contact method is its address (for person: and
// schedule: targets); empty for channels and unknown addresses.
std::string paged_person(const config::Config& config, const store::Notification& n);
// The escalation ladder step (pass, level) a notification belongs to, from its dedup key
// ("inc:12/pass:1/level:2/…"); nullopt for other pages (overdue tasks, plan clocks).
std::optional<std::pair<int, int>> ladder_step(const store::Notification& n);

// Everything the scorecard is computed from.
struct DrillRecord {
  std::string drill_id;  // the value of the samples' drill label ("" = every alert counts)
  Timestamp start{};
  Timestamp end{};
  std::vector<FaultWindow> faults;
  std::vector<store::Incident> incidents;          // with details (tasks, timeline)
  std::vector<store::Notification> notifications;  // of those incidents
  std::vector<store::AlertRecord> alerts;
};

enum class StepOutcome { kOnTime, kLate, kSkipped, kNever, kPending };
std::string_view to_string(StepOutcome outcome);

struct StepScore {
  std::string step;
  std::string title;
  std::string owner;     // role
  std::string assignee;  // person
  Timestamp due_at{};
  std::optional<Timestamp> done_at;
  std::string done_by;
  StepOutcome outcome = StepOutcome::kPending;
  Duration lateness{};  // late: done_at - due_at; never: end - due_at
  bool out_of_order = false;
};

struct RoleScore {
  std::string role;
  std::string person;    // who filled it ("" = nobody)
  int steps_due = 0;     // steps of the role due by the end
  int steps_done = 0;    // of those, done (on time or late)
  bool covered = false;  // someone filled it and did at least one of its due steps (or none was due)
};

struct PersonScore {
  std::string person;
  int pages = 0;  // ladder pages
  int answered = 0;
  int missed = 0;
  int other_pages = 0;  // overdue-task and plan-clock pages
  int acks = 0;
  int steps_done = 0;
  int steps_late = 0;
  int steps_never = 0;  // assigned to them, past due and not done
};

struct ExpectationResult {
  std::string name;      // detected_within, …
  std::string expected;  // "5m", "activate, triage, failover"
  std::string actual;    // "1m30s", "not acknowledged", …
  bool met = false;
};

struct Finding {
  std::string kind;    // late_step | never_step | skipped_step | out_of_order | missed_pages | escalation |
                       // slow_ack | not_detected | not_acknowledged | not_mitigated | not_resolved | uncovered_role |
                       // steps_not_done
  std::string person;  // may be empty
  std::string role;    // may be empty
  std::string step;    // may be empty
  std::string text;
};

struct Recommendation {
  std::string who;  // "person:bob", "role:operations", "plan:system_crash", "policy:ops"
  std::string text;
};

struct Scorecard {
  std::string mode = "simulated";  // or "live": how the text names the times (not in the JSON)
  std::string scenario;
  std::string plan;
  uint64_t seed = 0;
  Timestamp start{};
  Timestamp end{};
  std::optional<Timestamp> first_fault;
  std::optional<int64_t> incident;     // the first incident of the plan
  std::optional<Timestamp> opened_at;  // when it opened
  int incidents = 0;                   // of the plan
  int other_incidents = 0;             // of other plans, opened during the drill
  std::optional<Duration> time_to_detect;
  std::optional<Duration> time_to_acknowledge;
  std::optional<Duration> time_to_mitigate;
  std::optional<Duration> time_to_resolve;
  std::string acknowledged_by;
  int escalations = 0;
  std::vector<StepScore> steps;
  std::vector<RoleScore> roles;
  std::vector<PersonScore> people;
  std::vector<ExpectationResult> expectations;
  int expectations_met = 0;
  int score = 0;
  double expectation_ratio = 1, step_ratio = 1, page_ratio = 1;  // E, S, P of the formula
  std::vector<Finding> findings;
  std::vector<Recommendation> recommendations;
};

Scorecard compute_scorecard(const Scenario& scenario, const config::Config& config, const DrillRecord& record);

// Concrete training recommendations per person, role, plan and policy, from the findings.
std::vector<Recommendation> training_plan(const Scorecard& card);

std::string render_text(const Scorecard& card, bool color = false);
// A duration as the scorecard shows it: whole seconds, "-" in front when negative ("1m30s").
std::string scorecard_duration(Duration d);
std::string render_json(const Scorecard& card);

}  // namespace tocsin::drill
