// The deadline reconcile module: step deadlines and plan clocks. An open task past its due time
// is reported once ("task_overdue" on the timeline) and its owner is paged — the person assigned,
// or whoever fills the owner role now. A plan clock that comes due fires: a one-off deadline
// (`within`, e.g. GDPR art. 33's 72 hours from breach_confirmed) writes "clock_expired" and pages
// the clock's owner once; a repeating one (`every`, e.g. a status update every 30 minutes) writes
// "clock_reminder", pages the owner and re-arms. All in the caller's transaction, so each fires
// exactly once even across crashes.
// Thread-safety: immutable after construction; update() needs a transaction of its own.
#pragma once

#include <memory>

#include "config/config.h"
#include "escalation/escalator.h"
#include "incident/service.h"
#include "store/store.h"

namespace tocsin::escalation {

class Deadlines {
 public:
  Deadlines(std::shared_ptr<const config::Config> config, const incident::IncidentService& incidents,
            const Escalator& escalator)
      : config_(std::move(config)), incidents_(incidents), escalator_(escalator) {}

  // Handles every task and clock due at or before `now`. Returns how many fired.
  core::Result<int> update(store::Tx& tx, core::Timestamp now) const;

 private:
  // The target that owns a role of the incident's plan, if the plan and role exist.
  std::optional<config::Target> role_target(const store::Incident& inc, std::string_view role) const;

  std::shared_ptr<const config::Config> config_;
  const incident::IncidentService& incidents_;
  const Escalator& escalator_;
};

}  // namespace tocsin::escalation
