// IncidentService's postmortem methods, and the completion rule (postmortem.h).
#include "incident/postmortem.h"

#include <fmt/format.h>

#include <algorithm>

#include "incident/service.h"

namespace tocsin::incident {

using store::IncidentStatus;

namespace {

core::Error bad(std::string field, std::string message) {
  return core::Error::invalid_argument(std::move(message)).field(std::move(field));
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string known_people(const config::Config& config) {
  std::string out;
  for (const auto& p : config.people) out += (out.empty() ? "" : ", ") + p.id;
  return out.empty() ? "none configured" : out;
}

}  // namespace

std::string* postmortem_field(store::PostmortemFields& f, std::string_view name) {
  if (name == "summary") return &f.summary;
  if (name == "impact") return &f.impact;
  if (name == "root_cause") return &f.root_cause;
  if (name == "contributing_factors") return &f.contributing_factors;
  if (name == "went_well") return &f.went_well;
  if (name == "went_badly") return &f.went_badly;
  if (name == "lessons") return &f.lessons;
  return nullptr;
}

const std::string* postmortem_field(const store::PostmortemFields& f, std::string_view name) {
  return postmortem_field(const_cast<store::PostmortemFields&>(f), name);
}

bool is_written(std::string_view text) { return text.find_first_not_of(" \t\r\n") != std::string_view::npos; }

std::vector<std::string> missing_for_completion(const store::PostmortemFields& fields,
                                                const std::vector<store::ActionItem>& items,
                                                const config::Config& config) {
  std::vector<std::string> missing;
  for (auto name : kRequiredPostmortemFields) {
    if (!is_written(*postmortem_field(fields, name))) missing.emplace_back(name);
  }
  for (const auto& item : items) {
    if (!config.person(item.owner)) missing.push_back(fmt::format("action_items.{}.owner", item.id));
  }
  return missing;
}

core::Status IncidentService::edit_postmortem(store::Tx& tx, int64_t id,
                                              const std::vector<std::pair<std::string, std::string>>& fields,
                                              std::string_view actor, core::Timestamp now) const {
  for (const auto& [name, text] : fields) {
    if (!postmortem_field(store::PostmortemFields{}, name)) {
      return std::unexpected(bad(name, fmt::format("unknown postmortem field \"{}\": expected one of summary, impact, "
                                                   "root_cause, contributing_factors, went_well, went_badly, lessons",
                                                   name)));
    }
    if (text.size() > kMaxPostmortemFieldBytes) {
      return std::unexpected(
          bad(name, fmt::format("{} is {} bytes: expected at most {}", name, text.size(), kMaxPostmortemFieldBytes)));
    }
  }
  TOCSIN_TRY(load(tx, id));  // not_found
  store::Postmortem pm = TOCSIN_TRY(tx.get_postmortem(id)).value_or(store::Postmortem{id, {}, {}, "", {}, ""});
  std::vector<std::string> changed;
  for (const auto& [name, text] : fields) {
    std::string* field = postmortem_field(pm.fields, name);
    if (*field == text) continue;
    if (pm.completed_at && !is_written(text) &&
        std::find(kRequiredPostmortemFields.begin(), kRequiredPostmortemFields.end(), name) !=
            kRequiredPostmortemFields.end()) {
      return std::unexpected(
          core::Error::failed_precondition(
              fmt::format("the postmortem of incident {} is complete: {} can be rewritten but not blanked", id, name))
              .field(name));
    }
    *field = text;
    if (std::find(changed.begin(), changed.end(), name) == changed.end()) changed.push_back(name);
  }
  if (changed.empty()) return {};
  pm.updated_at = now;
  pm.updated_by = std::string(actor);
  TOCSIN_RETURN_IF_ERROR(tx.upsert_postmortem(pm));
  TOCSIN_TRY(tx.append_timeline({0, id, now, "postmortem_edited", std::string(actor), join(changed)}));
  return {};
}

core::Result<int64_t> IncidentService::add_action_item(store::Tx& tx, int64_t id, std::string_view title,
                                                       std::string_view owner, core::Timestamp due_at,
                                                       std::string_view actor, core::Timestamp now) const {
  if (!is_written(title)) return std::unexpected(bad("title", "expected a non-empty title"));
  if (title.size() > kMaxActionItemTitleBytes) {
    return std::unexpected(
        bad("title", fmt::format("title is {} bytes: expected at most {}", title.size(), kMaxActionItemTitleBytes)));
  }
  if (!config_->person(owner)) {
    return std::unexpected(
        bad("owner", fmt::format("unknown person \"{}\": expected one of {}", owner, known_people(*config_))));
  }
  TOCSIN_TRY(load(tx, id));  // not_found
  store::ActionItem item;
  item.incident_id = id;
  item.title = std::string(title);
  item.owner = std::string(owner);
  item.due_at = due_at;
  item.created_at = now;
  item.created_by = std::string(actor);
  item.id = TOCSIN_TRY(tx.insert_action_item(item));
  TOCSIN_TRY(tx.append_timeline(
      {0, id, now, "action_item_added", std::string(actor),
       fmt::format("#{} {} (owner {}, due {})", item.id, item.title, item.owner, core::format_rfc3339(item.due_at))}));
  return item.id;
}

core::Status IncidentService::set_action_item_done(store::Tx& tx, int64_t id, int64_t item_id, bool done,
                                                   std::string_view actor, core::Timestamp now) const {
  TOCSIN_TRY(load(tx, id));  // not_found
  auto item = TOCSIN_TRY(tx.get_action_item(item_id));
  if (!item || item->incident_id != id) {
    return std::unexpected(
        core::Error::not_found(fmt::format("incident {} has no action item {}", id, item_id)).field("item"));
  }
  const auto want = done ? store::ActionItemStatus::kDone : store::ActionItemStatus::kOpen;
  if (item->status == want) {
    return std::unexpected(
        core::Error::failed_precondition(fmt::format("action item {} is already {}", item_id, store::to_string(want))));
  }
  item->status = want;
  item->done_at = done ? std::optional<core::Timestamp>(now) : std::nullopt;
  item->done_by = done ? std::string(actor) : "";
  TOCSIN_RETURN_IF_ERROR(tx.update_action_item(*item));
  TOCSIN_TRY(tx.append_timeline({0, id, now, done ? "action_item_done" : "action_item_reopened", std::string(actor),
                                 fmt::format("#{} {}", item->id, item->title)}));
  return {};
}

core::Result<store::Incident> IncidentService::complete_postmortem(store::Tx& tx, int64_t id, std::string_view actor,
                                                                   core::Timestamp now) const {
  const store::Incident inc = TOCSIN_TRY(load(tx, id));
  store::Postmortem pm = TOCSIN_TRY(tx.get_postmortem(id)).value_or(store::Postmortem{id, {}, {}, "", {}, ""});
  if (pm.completed_at) {
    return std::unexpected(core::Error::failed_precondition(
        fmt::format("the postmortem of incident {} was completed at {} by {}; completion happens once", id,
                    core::format_rfc3339(*pm.completed_at), pm.completed_by)));
  }
  if (inc.status != IncidentStatus::kResolved) {
    return std::unexpected(
        core::Error::failed_precondition(fmt::format("incident {} is {}: resolve it before completing its postmortem",
                                                     id, store::to_string(inc.status)))
            .field("status"));
  }
  store::ActionItemFilter of_incident;
  of_incident.incident = id;
  of_incident.limit = 10000;
  const auto items = TOCSIN_TRY(tx.list_action_items(of_incident));
  const std::vector<std::string> missing = missing_for_completion(pm.fields, items, *config_);
  if (!missing.empty()) {
    return std::unexpected(
        core::Error::failed_precondition(
            fmt::format("the postmortem of incident {} is not complete: missing {}", id, join(missing)))
            .field(missing.front()));
  }
  pm.completed_at = now;
  pm.completed_by = std::string(actor);
  TOCSIN_RETURN_IF_ERROR(tx.upsert_postmortem(pm));
  size_t open = 0;
  for (const auto& i : items) open += i.status == store::ActionItemStatus::kOpen ? 1 : 0;
  TOCSIN_TRY(tx.append_timeline(
      {0, id, now, "postmortem_completed", std::string(actor),
       fmt::format("{} action item{} ({} open)", items.size(), items.size() == 1 ? "" : "s", open)}));
  return move(tx, id, IncidentStatus::kClosed, actor, now);
}

}  // namespace tocsin::incident
