// The action runner: the reconcile module that carries out the automated actions of plan steps
// (issue 5; docs/plans.md "Automated actions").
//
// When an incident opens, the incident layer creates one store::ActionRun per step with an action,
// `pending` or — with `approve: true` — `awaiting_approval`. From there the runner owns it:
//   - approve() moves awaiting_approval → pending (a person said go), in the caller's transaction;
//   - update() claims due pending runs one at a time in a transaction of its own (→ running,
//     attempt + 1), renders the request on the first attempt and keeps it in the run, carries it
//     out through the Executor *outside* any transaction and lock, and records the outcome in a
//     second transaction: succeeded, pending again after a back-off (attempts left), or failed;
//   - the first update() of a runner puts runs left `running` by a crash back to pending: they run
//     again with the same request and the same Idempotency-Key (at-least-once delivery; the key
//     lets the receiver drop the duplicate).
// Every move writes a timeline event (action_awaiting_approval is written by the incident layer):
// action_approved, action_started, action_succeeded, action_attempt_failed, action_interrupted,
// action_failed.
//
// Templates (`url`, `body`, every argv element) are Go text/template (notify/template.h) over
// {.Incident.ID, .Incident.Title, .Incident.Plan, .Incident.Severity, .Incident.Status,
// .Incident.URL, .Labels (labels common to the incident's alerts), .Step}. create() parses them
// all, so a broken one stops the engine from starting, naming plan, step and field.
//
// Time is an input: update(now) picks the runs due at `now`; the times it records come from the
// clock, since an attempt may take a while.
// Thread-safety: approve() is const and safe from any thread; update() must not run concurrently
// with itself.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "action/executor.h"
#include "config/config.h"
#include "core/clock.h"
#include "notify/template.h"
#include "store/store.h"

namespace tocsin::action {

struct RetryPolicy {
  int max_attempts = 3;
  // The wait after the 1st, 2nd, … failed attempt; the last one repeats.
  std::vector<core::Duration> backoff{std::chrono::seconds(10), std::chrono::seconds(60)};
  core::Duration backoff_after(int attempts) const;
};

struct RunnerOptions {
  std::shared_ptr<const config::Config> config;
  core::Clock* clock = nullptr;
  // Who carries out the attempts. Null: runs are created and approved but never started (a
  // configuration that runs nothing, e.g. a test of something else).
  Executor* executor = nullptr;
  std::string external_url;  // for .Incident.URL and the default body
  RetryPolicy retry{};
  int batch = 16;  // most attempts made by one update()
  // Asked before each claim; false: no attempt starts now (the engine lease: a replica whose lease
  // may run out during the attempt does not start it). Empty = always.
  std::function<bool()> may_start = nullptr;
};

// One step's action with its templates parsed.
struct CompiledAction {
  const config::Step* step = nullptr;  // in the runner's config
  notify::Template url;
  std::optional<notify::Template> body;  // empty = the default tocsin JSON
  std::vector<notify::Template> argv;
};
using CompiledActions = std::map<std::pair<std::string, std::string>, CompiledAction, std::less<>>;  // (plan, step)

class ActionRunner {
 public:
  // Fails with invalid_argument when a template does not parse (see check_templates).
  static core::Result<std::unique_ptr<ActionRunner>> create(RunnerOptions options);
  // Parses every action template of the config; the error names the file and line of the action,
  // the plan, the step and the field (url, body, command[i]).
  static core::Status check_templates(const config::Config& config);

  // awaiting_approval → pending for the action of `step`, recorded as action_approved by `actor`.
  // not_found: no such incident, no such step, or a step without an action. failed_precondition:
  // the incident is resolved or closed, or the action is not awaiting approval. Returns the
  // incident as it is after the move.
  core::Result<store::Incident> approve(store::Tx& tx, int64_t incident_id, std::string_view step,
                                        std::string_view actor, core::Timestamp now) const;

  // Makes the attempts due at `now`. Returns when a run is next due (empty: none is, or there is
  // no executor).
  core::Result<std::optional<core::Timestamp>> update(store::Store& store, core::Timestamp now);

  // The next update() first puts runs left `running` back to pending, as the first one does: a
  // replica that takes the engine lease over resumes what the previous holder left half done.
  void recover_on_next_update() { recovered_ = false; }

  // "tocsin-<incident>-<step>": the same for every attempt of a run, across restarts.
  static std::string idempotency_key(int64_t incident_id, std::string_view step);

 private:
  ActionRunner(RunnerOptions options, CompiledActions compiled);
  core::Status recover(store::Tx& tx, core::Timestamp now) const;
  // Claims the next due run (→ running) and returns it with its request; empty when none is due.
  core::Result<std::optional<std::pair<store::ActionRun, ActionRequest>>> claim(store::Tx& tx, core::Timestamp due,
                                                                                core::Timestamp at) const;
  core::Status record(store::Tx& tx, store::ActionRun run, const ActionOutcome& outcome, core::Timestamp at) const;
  core::Result<ActionRequest> render(const store::Incident& incident, const store::ActionRun& run) const;

  RunnerOptions options_;
  CompiledActions compiled_;
  bool recovered_ = false;
};

}  // namespace tocsin::action
