#include "report/action_items.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

namespace tocsin::report {

using nlohmann::json;

namespace {

json time_or_null(const std::optional<core::Timestamp>& t) {
  return t ? json(core::format_rfc3339(*t)) : json(nullptr);
}

// Text for one terminal line: line breaks and other control characters become spaces.
std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

}  // namespace

bool is_overdue(const store::ActionItem& item, core::Timestamp now) {
  return item.status == store::ActionItemStatus::kOpen && item.due_at < now;
}

core::Result<std::vector<ActionItemRow>> read_action_items(store::Tx& tx, const ActionItemQuery& query,
                                                           core::Timestamp now) {
  store::ActionItemFilter filter;
  filter.status = query.status;
  filter.owner = query.owner;
  filter.limit = query.limit;
  if (query.overdue) {
    if (query.status == store::ActionItemStatus::kDone) return std::vector<ActionItemRow>{};  // done is never overdue
    filter.status = store::ActionItemStatus::kOpen;
    filter.due_before = now;
  }
  std::vector<ActionItemRow> rows;
  std::map<int64_t, std::pair<std::string, store::IncidentStatus>> incidents;
  for (auto& item : TOCSIN_TRY(tx.list_action_items(filter))) {
    auto it = incidents.find(item.incident_id);
    if (it == incidents.end()) {
      auto inc = TOCSIN_TRY(tx.get_incident(item.incident_id));
      // The schema ties every item to an incident; a missing one means a damaged store.
      if (!inc)
        return std::unexpected(
            core::Error::internal(fmt::format("action item {} has no incident {}", item.id, item.incident_id)));
      it = incidents.emplace(item.incident_id, std::make_pair(inc->title, inc->status)).first;
    }
    rows.push_back({std::move(item), it->second.first, it->second.second});
  }
  return rows;
}

json action_item_json(const store::ActionItem& item, core::Timestamp now) {
  return {{"id", item.id},
          {"title", item.title},
          {"owner", item.owner},
          {"due_at", core::format_rfc3339(item.due_at)},
          {"status", store::to_string(item.status)},
          {"overdue", is_overdue(item, now)},
          {"created_at", core::format_rfc3339(item.created_at)},
          {"created_by", item.created_by},
          {"done_at", time_or_null(item.done_at)},
          {"done_by", item.done_by}};
}

json action_items_json(const std::vector<ActionItemRow>& rows, core::Timestamp now) {
  json items = json::array();
  for (const auto& row : rows) {
    json j = action_item_json(row.item, now);
    j["incident"] = row.item.incident_id;
    j["incident_title"] = row.incident_title;
    j["incident_status"] = store::to_string(row.incident_status);
    items.push_back(std::move(j));
  }
  return {{"action_items", std::move(items)}};
}

std::string render_action_items_text(const std::vector<ActionItemRow>& rows, core::Timestamp now) {
  if (rows.empty()) return "No action items.\n";
  std::string out = fmt::format("{:<5} {:<9} {:<8} {:<22} {:<12} {}\n", "ID", "INCIDENT", "STATUS", "DUE", "OWNER",
                                "TITLE (INCIDENT)");
  for (const auto& row : rows) {
    const auto& i = row.item;
    const std::string status = is_overdue(i, now) ? "overdue" : std::string(store::to_string(i.status));
    out +=
        fmt::format("{:<5} {:<9} {:<8} {:<22} {:<12} {} ({})\n", i.id, i.incident_id, status,
                    core::format_rfc3339(i.due_at), one_line(i.owner), one_line(i.title), one_line(row.incident_title));
  }
  return out;
}

}  // namespace tocsin::report
