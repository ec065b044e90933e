// Postmortem action items across incidents (issue 8): the read model behind
// `GET /api/v1/action-items` and `tocsin report action-items`, so both print the same items the
// same way. Overdue = open and past its due time at `now` (the caller's clock).
// Thread-safety: pure functions; read_action_items runs inside the caller's transaction.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace tocsin::report {

// Which items to list: open (the default), done, or all; optionally one owner, only overdue ones.
struct ActionItemQuery {
  std::optional<store::ActionItemStatus> status = store::ActionItemStatus::kOpen;  // nullopt = all
  std::string owner;                                                               // "" = anyone
  bool overdue = false;                                                            // only open items past due at `now`
  int limit = 1000;
};

struct ActionItemRow {
  store::ActionItem item;
  std::string incident_title;
  store::IncidentStatus incident_status = store::IncidentStatus::kTriggered;
};

// The items the query selects, by due time, each with its incident's title and status.
core::Result<std::vector<ActionItemRow>> read_action_items(store::Tx& tx, const ActionItemQuery& query,
                                                           core::Timestamp now);

bool is_overdue(const store::ActionItem& item, core::Timestamp now);

// {"id", "title", "owner", "due_at", "status", "overdue", "created_at", "created_by", "done_at",
// "done_by"} — the shape docs/api.md gives.
nlohmann::json action_item_json(const store::ActionItem& item, core::Timestamp now);
// {"action_items": [item + "incident" (number), "incident_title", "incident_status"]}
nlohmann::json action_items_json(const std::vector<ActionItemRow>& rows, core::Timestamp now);
// One line per item (id, incident, status, due, owner, title) under a header; a line saying so
// when there is none.
std::string render_action_items_text(const std::vector<ActionItemRow>& rows, core::Timestamp now);

}  // namespace tocsin::report
