// Incident bookkeeping over the store: records rule alerts that are pending, opens an incident
// (or joins an open one) when the alerting pipeline reports a firing, unmuted alert that matches a
// plan, turns the plan's steps into tasks with assignees and due times (and a step's automated
// action into an action run, pending or awaiting approval), starts the plan's escalation, and
// records responders' actions. Every change
// writes a timeline event with time, actor and detail.
//
// All methods work inside the caller's transaction (store::Tx) and take `now` from the caller.
// Thread-safety: immutable after construction; safe to share.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/pipeline.h"
#include "config/config.h"
#include "detect/rule_engine.h"
#include "store/store.h"

namespace tocsin::incident {

// Who a drill incident may page (docs/drills.md, "Live drills"): the participants of a running
// live drill; nobody when the drill label names no live drill, or one that has finished.
struct DrillScope {
  std::string drill;  // the label value
  bool running = false;
  std::vector<std::string> participants;  // when running
  std::string why_not;  // when not running: "drill 7 finished at …" / "no live drill \"x\""

  bool may_page(std::string_view person) const;
};

class IncidentService {
 public:
  explicit IncidentService(std::shared_ptr<const config::Config> config) : config_(std::move(config)) {}

  // Records rule alerts that became pending, or were dropped before firing. Firing and resolved
  // transitions go through the alerting pipeline and then link().
  core::Status record_pending(store::Tx& tx, const std::vector<detect::AlertEvent>& events, core::Timestamp now) const;

  // Applies the pipeline's alert changes: a firing, unmuted alert that matches a plan and is in
  // no incident opens one or joins the open one for its group; a resolved alert in an incident is
  // marked resolved there. Updates the pipeline's records (incident ids) — the caller persists
  // them afterwards. Returns the ids of incidents opened.
  core::Result<std::vector<int64_t>> link(store::Tx& tx, const std::vector<alerting::AlertChange>& changes,
                                          alerting::Pipeline& pipeline, core::Timestamp now) const;

  core::Result<store::Incident> acknowledge(store::Tx& tx, int64_t id, std::string_view actor, core::Timestamp now) const;
  core::Result<store::Incident> resolve(store::Tx& tx, int64_t id, std::string_view actor, core::Timestamp now) const;
  core::Result<store::Incident> add_note(store::Tx& tx, int64_t id, std::string_view actor, std::string_view text,
                                         core::Timestamp now) const;
  core::Result<store::Incident> mitigate(store::Tx& tx, int64_t id, std::string_view actor, core::Timestamp now) const;
  // resolved → closed: the same as complete_postmortem (closed means the postmortem is done).
  core::Result<store::Incident> close(store::Tx& tx, int64_t id, std::string_view actor, core::Timestamp now) const;
  // mitigated or resolved → triggered; the escalation ladder starts again from its first level.
  core::Result<store::Incident> reopen(store::Tx& tx, int64_t id, std::string_view actor, core::Timestamp now) const;
  core::Result<store::Incident> set_severity(store::Tx& tx, int64_t id, std::string_view severity,
                                             std::string_view actor, core::Timestamp now) const;
  // Links two incidents. Refused: itself, an unknown incident, a pair already related, and a link
  // that would close a cycle (the two are already related through others).
  core::Result<store::Incident> relate(store::Tx& tx, int64_t id, int64_t other, std::string_view actor,
                                       core::Timestamp now) const;
  // A milestone on the timeline (e.g. breach_confirmed): starts and stops the plan's clocks.
  core::Result<store::Incident> record_event(store::Tx& tx, int64_t id, std::string_view kind, std::string_view detail,
                                             std::string_view actor, core::Timestamp now) const;
  // Marks a task done (or skipped); writes task_done (task_skipped) with the step id.
  core::Result<store::Incident> complete_task(store::Tx& tx, int64_t id, std::string_view step, bool skipped,
                                              std::string_view actor, core::Timestamp now) const;

  // Postmortems (postmortem.cc; the rules are in postmortem.h). Each writes one timeline event.
  // Sets the named fields (a partial update; names from kPostmortemFields, else invalid_argument
  // naming it); writes postmortem_edited listing the fields that changed (nothing changed: no
  // event). Allowed in any status; after completion a required field cannot be blanked
  // (failed_precondition).
  core::Status edit_postmortem(store::Tx& tx, int64_t id, const std::vector<std::pair<std::string, std::string>>& fields,
                               std::string_view actor, core::Timestamp now) const;
  // Adds an open action item: a non-empty title, an owner who is a person in the config
  // (invalid_argument naming "title" / "owner"). Allowed in any status, also after close.
  // Returns the item's id; writes action_item_added.
  core::Result<int64_t> add_action_item(store::Tx& tx, int64_t id, std::string_view title, std::string_view owner,
                                        core::Timestamp due_at, std::string_view actor, core::Timestamp now) const;
  // Marks an item of this incident done (or open again): not_found for an item of another
  // incident or none; failed_precondition when it already is. Writes action_item_done /
  // action_item_reopened.
  core::Status set_action_item_done(store::Tx& tx, int64_t id, int64_t item, bool done, std::string_view actor,
                                    core::Timestamp now) const;
  // Completes the postmortem and closes the incident (resolved → closed), once: failed_precondition
  // when the incident is not resolved (or already closed), or when missing_for_completion names
  // anything. Writes postmortem_completed, then closed.
  core::Result<store::Incident> complete_postmortem(store::Tx& tx, int64_t id, std::string_view actor,
                                                    core::Timestamp now) const;

  // The first plan whose matchers all match, or nullptr.
  const config::Plan* plan_for(const core::Labels& labels) const;
  // Who fills a role target right now: a person id, or "" (a channel, or nobody on call).
  std::string resolve_person(const config::Target& target, core::Timestamp now) const;
  // The scope of a drill incident (inc.drill non-empty), read from the store.
  core::Result<DrillScope> drill_scope(store::Tx& tx, std::string_view drill) const;

 private:
  core::Result<std::optional<int64_t>> on_firing(store::Tx& tx, const config::Plan& plan, const alerting::Alert& a,
                                                 alerting::Pipeline& pipeline, core::Timestamp now) const;
  core::Status create_action_run(store::Tx& tx, int64_t incident_id, const config::Step& step,
                                 core::Timestamp now) const;
  core::Status on_resolved(store::Tx& tx, const alerting::Alert& a, core::Timestamp now) const;
  core::Result<int64_t> open(store::Tx& tx, const config::Plan& plan, const alerting::Alert& a, std::string group_key,
                             core::Timestamp now) const;
  core::Result<store::Incident> move(store::Tx& tx, int64_t id, store::IncidentStatus to, std::string_view actor,
                                     core::Timestamp now) const;
  std::string group_key(const config::Plan& plan, const core::Labels& labels) const;
  // Appends a timeline event, then starts the plan clocks whose `from` is this kind (or
  // "task_done:STEP") and stops those whose `until` is.
  core::Status append_event(store::Tx& tx, const store::Incident& inc, std::string kind, std::string_view actor,
                            std::string detail, core::Timestamp now, std::string_view clock_key = {}) const;
  // Stops every clock of the incident (it resolved or closed).
  core::Status stop_clocks(store::Tx& tx, const store::Incident& inc) const;
  core::Result<store::Incident> load(store::Tx& tx, int64_t id) const;

  std::shared_ptr<const config::Config> config_;
};

}  // namespace tocsin::incident
