// The escalation reconcile module. For every triggered incident whose next escalation level is
// due, it creates the notifications for that level's targets (people, the person on call for a
// schedule, channels), writes an "escalated" timeline event, and moves the incident's ladder
// position on — to the next level, the next pass (`repeat`), or done. All in the caller's
// transaction, so a level is paged exactly once even across crashes. Each page also carries a
// dedup key naming its escalation step ("inc:ID/pass:P/level:L/TARGET/CHANNEL/ADDRESS"), which the
// store keeps unique: should the ladder position ever be stale, paging the same step again is an
// error that rolls the transaction back instead of a second page. Acknowledging stops the ladder
// (IncidentService clears escalation_next_at).
//
// With an ack key, every page carries a signed acknowledge link (notify/ack_link.h) for the
// person paged (their id) or, for a channel, the target ("channel:NAME"), valid for
// notify::kAckLinkLifetime.
// A drill incident (store::Incident::drill) pages only the participants of its running live
// drill: a person or schedule resolving to anyone else, and every channel, is skipped with a
// "drill_page_skipped" timeline event; when the drill is unknown or finished nobody is paged.
// Thread-safety: immutable after construction; update() needs a transaction of its own.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "incident/service.h"
#include "store/store.h"

namespace tocsin::escalation {

class Escalator {
 public:
  // `ack_key`: signs acknowledge links; empty = pages without them.
  Escalator(std::shared_ptr<const config::Config> config, const incident::IncidentService& incidents,
            std::string external_url, std::string ack_key = {})
      : config_(std::move(config)),
        incidents_(incidents),
        external_url_(std::move(external_url)),
        ack_key_(std::move(ack_key)) {}

  // Pages every level due at or before `now`. Returns the number of levels paged.
  core::Result<int> update(store::Tx& tx, core::Timestamp now) const;

  // Pages one target outside the ladder (an overdue task's owner, a plan clock's owner): its
  // notifications, and a "paged" timeline event saying why. Returns how many notifications.
  core::Result<int> page(store::Tx& tx, const store::Incident& inc, const config::Target& target, std::string_view why,
                         core::Timestamp now) const;

 private:
  core::Status page_level(store::Tx& tx, const store::Incident& inc, const config::EscalationLevel& level,
                          int level_no, int pass, core::Timestamp now) const;
  // `drill`: the incident's drill scope (null for a real incident); targets it rules out are
  // described in `skipped` instead.
  std::vector<store::Notification> notifications_for(const store::Incident& inc, const config::Target& target,
                                                     int level_no, int pass, core::Timestamp now,
                                                     const incident::DrillScope* drill,
                                                     std::vector<std::string>& skipped) const;
  core::Result<std::optional<incident::DrillScope>> scope_of(store::Tx& tx, const store::Incident& inc) const;
  core::Status record_skipped(store::Tx& tx, const store::Incident& inc, const std::vector<std::string>& skipped,
                              core::Timestamp now) const;

  std::shared_ptr<const config::Config> config_;
  const incident::IncidentService& incidents_;
  std::string external_url_;
  std::string ack_key_;
};

}  // namespace tocsin::escalation
