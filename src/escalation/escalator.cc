#include "escalation/escalator.h"

#include <fmt/format.h>

#include <set>

#include "notify/ack_link.h"
#include "notify/exec/exec_sender.h"
#include "notify/payload.h"

namespace tocsin::escalation {

core::Result<int> Escalator::update(store::Tx& tx, core::Timestamp now) const {
  int paged = 0;
  for (const auto& row : TOCSIN_TRY(tx.incidents_due_for_escalation(now, 100))) {
    auto loaded = TOCSIN_TRY(tx.get_incident(row.id));
    if (!loaded) continue;
    store::Incident inc = std::move(*loaded);
    const config::EscalationPolicy* policy = config_->escalation_policy(inc.escalation_policy);
    if (!policy || policy->levels.empty()) {
      inc.escalation_next_at.reset();  // the policy was removed from the config
      TOCSIN_RETURN_IF_ERROR(tx.update_incident(inc));
      continue;
    }
    // Catch up on every level that is due (e.g. after downtime), in order.
    while (inc.escalation_next_at && *inc.escalation_next_at <= now) {
      const int level = inc.escalation_next_level;
      if (level >= static_cast<int>(policy->levels.size())) {
        inc.escalation_next_at.reset();
        break;
      }
      TOCSIN_RETURN_IF_ERROR(page_level(tx, inc, policy->levels[level], level + 1, inc.escalation_pass + 1, now));
      ++paged;
      const core::Timestamp pass_start = inc.opened_at + policy->repeat_every * inc.escalation_pass;
      if (level + 1 < static_cast<int>(policy->levels.size())) {
        inc.escalation_next_level = level + 1;
        inc.escalation_next_at = pass_start + policy->levels[level + 1].after;
      } else if (inc.escalation_pass < policy->repeat) {
        inc.escalation_pass += 1;
        inc.escalation_next_level = 0;
        inc.escalation_next_at = pass_start + policy->repeat_every + policy->levels.front().after;
      } else {
        inc.escalation_next_level = level + 1;
        inc.escalation_next_at.reset();
      }
    }
    TOCSIN_RETURN_IF_ERROR(tx.update_incident(inc));
  }
  return paged;
}

core::Result<std::optional<incident::DrillScope>> Escalator::scope_of(store::Tx& tx, const store::Incident& inc) const {
  if (inc.drill.empty()) return std::optional<incident::DrillScope>();
  return std::optional<incident::DrillScope>(TOCSIN_TRY(incidents_.drill_scope(tx, inc.drill)));
}

core::Status Escalator::record_skipped(store::Tx& tx, const store::Incident& inc,
                                       const std::vector<std::string>& skipped, core::Timestamp now) const {
  for (const auto& why : skipped) TOCSIN_TRY(tx.append_timeline({0, inc.id, now, "drill_page_skipped", "tocsin", why}));
  return {};
}

core::Status Escalator::page_level(store::Tx& tx, const store::Incident& inc, const config::EscalationLevel& level,
                                   int level_no, int pass, core::Timestamp now) const {
  std::vector<std::string> reached;
  std::vector<std::string> skipped;
  const auto drill = TOCSIN_TRY(scope_of(tx, inc));
  std::set<std::string> keys;  // one page per step and destination, even if the level names it twice
  for (const auto& target : level.notify) {
    const size_t skipped_before = skipped.size();
    auto notifications = notifications_for(inc, target, level_no, pass, now, drill ? &*drill : nullptr, skipped);
    if (skipped.size() > skipped_before) {
      reached.push_back(fmt::format("{} (skipped: drill)", target.to_string()));
    } else if (notifications.empty()) {
      reached.push_back(fmt::format("{} (nobody to notify)", target.to_string()));
    }
    for (const auto& n : notifications) {
      if (!keys.insert(n.dedup_key).second) continue;
      TOCSIN_TRY(tx.insert_notification(n));
      reached.push_back(fmt::format("{} → {} via {}", n.target, n.address, n.channel));
    }
  }
  std::string detail = fmt::format("level {} (pass {}) of policy {}: ", level_no, pass, inc.escalation_policy);
  for (size_t i = 0; i < reached.size(); ++i) detail += (i ? "; " : "") + reached[i];
  TOCSIN_TRY(tx.append_timeline({0, inc.id, now, "escalated", "tocsin", detail}));
  return record_skipped(tx, inc, skipped, now);
}

core::Result<int> Escalator::page(store::Tx& tx, const store::Incident& inc, const config::Target& target,
                                  std::string_view why, core::Timestamp now) const {
  std::vector<std::string> skipped;
  const auto drill = TOCSIN_TRY(scope_of(tx, inc));
  auto notifications = notifications_for(inc, target, 0, 0, now, drill ? &*drill : nullptr, skipped);
  std::string reached;
  for (auto& n : notifications) {
    // Not a ladder step: named by why and when, so one deadline or reminder pages once.
    n.dedup_key = fmt::format("inc:{}/page:{}@{}/{}/{}/{}", inc.id, why, core::to_unix_ms(now), n.target, n.channel,
                              n.address);
    TOCSIN_TRY(tx.insert_notification(n));
    reached += fmt::format("{}{} via {}", reached.empty() ? "" : "; ", n.address, n.channel);
  }
  TOCSIN_TRY(tx.append_timeline({0, inc.id, now, "paged", "tocsin",
                                 fmt::format("{} ({}): {}", target.to_string(), why,
                                             reached.empty() ? (skipped.empty() ? "nobody to notify" : "skipped: drill")
                                                             : reached)}));
  TOCSIN_RETURN_IF_ERROR(record_skipped(tx, inc, skipped, now));
  return static_cast<int>(notifications.size());
}

std::vector<store::Notification> Escalator::notifications_for(const store::Incident& inc, const config::Target& target,
                                                              int level_no, int pass, core::Timestamp now,
                                                              const incident::DrillScope* drill,
                                                              std::vector<std::string>& skipped) const {
  std::vector<store::Notification> out;
  // A drill never pages anyone outside its participants: real on-call people and channels stay quiet.
  auto drill_allows = [&](const std::string& person) {
    if (!drill) return true;
    if (!drill->running) {
      skipped.push_back(fmt::format("{}{}: not paged, {}", target.to_string(),
                                    person.empty() || person == target.id ? "" : " → " + person, drill->why_not));
      return false;
    }
    if (drill->may_page(person)) return true;
    std::string participants;
    for (const auto& p : drill->participants) participants += (participants.empty() ? "" : ", ") + p;
    skipped.push_back(fmt::format("{}{}: not paged, not a participant of live drill {} (participants: {})",
                                  target.to_string(), person == target.id ? "" : " → " + person, drill->drill,
                                  participants));
    return false;
  };
  auto make = [&](std::string channel, std::string address, std::string payload) {
    store::Notification n;
    n.incident_id = inc.id;
    n.target = target.to_string();
    n.channel = std::move(channel);
    n.address = std::move(address);
    n.payload = std::move(payload);
    n.created_at = now;
    n.next_attempt_at = now;
    n.dedup_key =
        fmt::format("inc:{}/pass:{}/level:{}/{}/{}/{}", inc.id, pass, level_no, n.target, n.channel, n.address);
    out.push_back(std::move(n));
  };
  auto page_for = [&](const std::string& recipient, const std::string& ack_actor) {
    notify::PageContext page{inc, target.to_string(), recipient, external_url_, level_no, pass, ""};
    if (!ack_key_.empty()) {
      page.ack_url = notify::ack_url(
          external_url_, notify::make_ack_token(inc.id, ack_actor, now + notify::kAckLinkLifetime, ack_key_));
    }
    return page;
  };
  auto page_person = [&](const std::string& person_id) {
    if (!drill_allows(person_id)) return;
    const config::Person* person = config_->person(person_id);
    if (!person) return;
    const notify::PageContext page = page_for(person_id, person_id);
    if (!person->contact.webhook.empty()) make("webhook", person->contact.webhook, notify::tocsin_json(page));
    if (!person->contact.slack.empty()) make("slack", person->contact.slack, notify::slack_page(page));
    if (!person->contact.email.empty()) make("email", person->contact.email, notify::email_page(page));
  };
  switch (target.kind) {
    case config::Target::Kind::kPerson:
      page_person(target.id);
      break;
    case config::Target::Kind::kSchedule:
      if (auto person = incidents_.resolve_person(target, now); !person.empty()) page_person(person);
      break;
    case config::Target::Kind::kChannel: {
      if (drill) {
        // A channel reaches people who are not in the drill.
        skipped.push_back(fmt::format("{}: not paged, channels are not paged in a drill{}", target.to_string(),
                                      drill->running ? "" : fmt::format(" ({})", drill->why_not)));
        break;
      }
      const config::Channel* channel = config_->channel(target.id);
      if (!channel) break;
      const notify::PageContext page = page_for(channel->name, target.to_string());
      switch (channel->type) {
        case config::ChannelType::kWebhook:
          make("webhook", channel->url,
               channel->format == config::WebhookFormat::kAlertmanager ? notify::alertmanager_v4(page, channel->name)
                                                                       : notify::tocsin_json(page));
          break;
        case config::ChannelType::kSlack:
          make("slack", channel->url, notify::slack_page(page));
          break;
        case config::ChannelType::kEmail: {
          const std::string mail = notify::email_page(page);
          for (const auto& to : channel->to) make("email", to, mail);
          break;
        }
        case config::ChannelType::kExec:
          make("exec", notify::exec::argv_address(channel->command), notify::tocsin_json(page));
          break;
      }
      break;
    }
  }
  return out;
}

}  // namespace tocsin::escalation
