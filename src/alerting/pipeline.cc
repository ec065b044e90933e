#include "alerting/pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "notify/exec/exec_sender.h"
#include "notify/group_message.h"
#include "notify/template.h"

namespace tocsin::alerting {

std::string_view to_string(AlertStatus::State s) {
  switch (s) {
    case AlertStatus::State::kActive: return "active";
    case AlertStatus::State::kSuppressed: return "suppressed";
    case AlertStatus::State::kUnprocessed: return "unprocessed";
  }
  return "active";
}

namespace {

std::vector<uint64_t> sorted(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// a ⊆ b, both sorted.
bool subset(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

// Alertmanager's DedupStage.needsUpdate.
bool needs_update(const store::NotificationLogEntry* entry, const std::vector<uint64_t>& firing,
                  const std::vector<uint64_t>& resolved, bool send_resolved, core::Duration repeat,
                  core::Timestamp now) {
  // Never notified: only when something fires.
  if (!entry) return !firing.empty();
  // Something fires that was not notified.
  if (!subset(firing, entry->firing)) return true;
  // All resolved: notify (whatever send_resolved says) so the log forgets the firing ones —
  // unless the receiver never heard of them.
  if (firing.empty()) return !entry->firing.empty();
  if (send_resolved && !subset(resolved, entry->resolved)) return true;
  return entry->at < now - repeat;
}

std::string_view channel_kind(config::ChannelType t) {
  switch (t) {
    case config::ChannelType::kWebhook: return "webhook";
    case config::ChannelType::kSlack: return "slack";
    case config::ChannelType::kEmail: return "email";
    case config::ChannelType::kExec: return "exec";
  }
  return "webhook";
}

}  // namespace

core::Result<std::unique_ptr<Pipeline>> Pipeline::create(std::shared_ptr<const config::Config> config,
                                                         std::string external_url) {
  auto intervals = TOCSIN_TRY(TimeIntervals::create(config->time_intervals));
  // Templates are checked here so that a broken one fails at start, not at the first page.
  for (const auto& channel : config->channels) {
    for (const std::string* text : {&channel.title_template, &channel.body_template}) {
      if (text->empty()) continue;
      if (auto t = notify::Template::parse(*text); !t) {
        return std::unexpected(core::Error::invalid_argument(
            fmt::format("channel {}: template: {}", channel.name, t.error().message())));
      }
    }
  }
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(config), std::move(external_url), std::move(intervals)));
}

Pipeline::Pipeline(std::shared_ptr<const config::Config> config, std::string external_url, TimeIntervals intervals)
    : config_(std::move(config)),
      external_url_(std::move(external_url)),
      tree_(config_->routes),
      intervals_(std::move(intervals)),
      inhibitor_(config_->inhibit_rules) {}

core::Status Pipeline::load(store::Tx& tx, core::Timestamp now) {
  // Everything is read before anything is cleared: a read that fails half-way (the database went
  // away mid-transaction) leaves the pipeline as it was, not empty.
  std::vector<store::AlertRecord> by_state[] = {TOCSIN_TRY(tx.list_alerts(store::AlertState::kFiring)),
                                                TOCSIN_TRY(tx.list_alerts(store::AlertState::kResolved))};
  const auto silences_version = TOCSIN_TRY(tx.silences_version());
  std::vector<store::Silence> silences = TOCSIN_TRY(tx.list_silences());
  std::vector<store::NotificationLogEntry> nflog = TOCSIN_TRY(tx.list_nflog());
  alerts_.clear();
  groups_.clear();
  due_.clear();
  unflushed_groups_ = 0;
  nflog_.clear();
  inhibitor_ = Inhibitor(config_->inhibit_rules);
  for (auto state : {store::AlertState::kFiring, store::AlertState::kResolved}) {
    for (auto& a : by_state[state == store::AlertState::kFiring ? 0 : 1]) {
      // Resolved long ago and out of every group: nothing left to notify.
      if (state == store::AlertState::kResolved && a.updated_at < now - kResolvedRetention) continue;
      // Records written before alerts had an end time: a resolved one ended when it resolved.
      if (state == store::AlertState::kResolved && !a.ends_at) a.ends_at = a.resolved_at.value_or(a.updated_at);
      inhibitor_.observe(a);
      route(a, now);
      alerts_.put(std::move(a));
    }
  }
  silences_version_ = silences_version;
  silences_.load(std::move(silences));
  for (auto& e : nflog) {
    auto key = std::make_pair(e.receiver, e.group_key);
    nflog_.insert_or_assign(std::move(key), std::move(e));
  }
  if (!next_maintenance_) next_maintenance_ = now + kMaintenanceEvery;
  return {};
}

const config::Plan* Pipeline::plan_for(const core::Labels& labels) const {
  for (const auto& plan : config_->plans) {
    if (!plan.match.empty() && core::matches_all(plan.match, labels)) return &plan;
  }
  return nullptr;
}

bool Pipeline::muted(const core::Labels& labels, core::Timestamp now) const {
  return !silences_.muted_by(labels, now).empty() || inhibitor_.inhibited_by(labels, now).has_value();
}

void Pipeline::route(const Alert& a, core::Timestamp now) {
  for (const RouteNode* node : tree_.match(a.labels)) {
    core::Labels labels = RouteTree::group_labels(*node, a.labels);
    std::string key = RouteTree::group_key(*node, labels);
    auto [it, created] = groups_.try_emplace(std::make_pair(node->index, key));
    Group& g = it->second;
    if (created) {
      g.node = node;
      g.labels = std::move(labels);
      g.key = std::move(key);
      g.next_flush = now + node->route->group_wait;
      g.seq = next_seq_++;
      due_.emplace(std::make_pair(g.next_flush, g.seq), &g);
      ++unflushed_groups_;
    }
    g.alerts.insert_or_assign(a.fingerprint, a.updated_at);
    // Alertmanager: an alert that started longer than group_wait ago flushes a group that has
    // not flushed yet at once.
    if (!g.has_flushed && a.active_at + node->route->group_wait < now && now < g.next_flush) reschedule(g, now);
  }
}

void Pipeline::reschedule(Group& g, core::Timestamp at) {
  auto node = due_.extract(std::make_pair(g.next_flush, g.seq));
  g.next_flush = at;
  node.key() = std::make_pair(at, g.seq);
  due_.insert(std::move(node));
}

std::vector<AlertChange> Pipeline::receive(std::vector<Alert> incoming, core::Timestamp now) {
  std::vector<AlertChange> changes;
  changes.reserve(incoming.size());
  std::vector<const Alert*> held;  // the record each change left (records of alerts_ do not move)
  held.reserve(incoming.size());
  for (auto& a : incoming) {
    AlertChange change;
    change.fingerprint = a.fingerprint;
    Alert* it = alerts_.find(a.fingerprint);
    if (it) {
      change.was_firing = !resolved_at(*it, now);
      if (overlaps(*it, a)) {
        a = merge(*it, std::move(a), now);
        const Alert& old = *it;
        change.times_only = old.labels == a.labels && old.annotations == a.annotations && old.active_at == a.active_at &&
                            old.generator_url == a.generator_url && old.rule == a.rule &&
                            old.incident_id == a.incident_id && old.fired_at == a.fired_at &&
                            change.was_firing == !resolved_at(a, now) &&
                            (old.value == a.value || (std::isnan(old.value) && std::isnan(a.value)));
      } else {
        // A new firing after the old one resolved: a fresh alert, but the same fingerprint.
        a.incident_id.reset();
        a.fired_at.reset();
      }
    }
    change.firing = !resolved_at(a, now);
    a.state = change.firing ? store::AlertState::kFiring : store::AlertState::kResolved;
    if (change.firing && !a.fired_at) a.fired_at = a.active_at;
    if (!change.firing) a.resolved_at = a.ends_at;
    inhibitor_.observe(a);
    // A firing alert re-sent with only new times is already in every group it routes to (its
    // labels did not change, and a group never drops a firing alert); routing it again changes
    // nothing unless some group is still in its group_wait (route() may move that flush earlier).
    change.routed = !(change.times_only && change.firing && unflushed_groups_ == 0);
    if (change.routed) route(a, now);  // touches the groups only: `it` stays valid
    if (it) {
      *it = std::move(a);
    } else {
      it = &alerts_.put(std::move(a));
    }
    held.push_back(it);
    changes.push_back(change);
  }
  // Muting is decided once the whole batch is in: an inhibiting alert later in the same batch
  // counts, as it would at Alertmanager's flush.
  for (size_t i = 0; i < changes.size(); ++i) {
    AlertChange& c = changes[i];
    if (c.started_firing()) {
      // Recorded for the silenced share: by what it is muted, at the moment it starts firing.
      c.silenced_by = silences_.muted_by(held[i]->labels, now);
      c.inhibited = inhibitor_.inhibited_by(held[i]->labels, now).has_value();
      c.muted = !c.silenced_by.empty() || c.inhibited;
    } else {
      c.muted = muted(held[i]->labels, now);
    }
    c.plan = plan_for(held[i]->labels);
  }
  return changes;
}

bool Pipeline::plan_resends(std::span<const AlertView> incoming, core::Timestamp now) {
  planned_resends_.clear();
  planned_fingerprints_.clear();
  // The held records are scattered over memory, and comparing one follows pointers to its
  // labels, annotations and URL: each level's loads are started for the whole batch at once, so
  // their cache misses overlap instead of following one another.
  for (const AlertView& v : incoming) alerts_.prefetch(v.fingerprint);
  planned_held_.clear();
  for (const AlertView& v : incoming) {
    Alert* held = alerts_.find(v.fingerprint);
    if (!held) return false;  // a new alert
    for (size_t line = 0; line < sizeof(Alert); line += 64) __builtin_prefetch(reinterpret_cast<const char*>(held) + line);
    planned_held_.push_back(held);
  }
  for (const Alert* held : planned_held_) {
    __builtin_prefetch(held->labels.pairs().data());
    if (!held->annotations.empty()) __builtin_prefetch(&*held->annotations.begin());
    __builtin_prefetch(held->generator_url.data());
  }
  for (size_t i = 0; i < incoming.size(); ++i) {
    const AlertView& v = incoming[i];
    Alert& old = *planned_held_[i];
    // receive() merges the incoming alert (merge()): the younger's fields, tocsin's own ones
    // (rule, incident, fired_at) from the older. These are the held records it leaves as they
    // are apart from the times (an incoming alert's value is 0 and its resolved_at none).
    if (resolved_at(old, now) || old.state != store::AlertState::kFiring || !old.fired_at || old.resolved_at ||
        old.value != 0 || std::signbit(old.value)) {
      return false;
    }
    const ReceivedTimes& t = v.times;
    Alert times;  // overlaps() and the end rule below, on the incoming times alone
    times.active_at = t.active_at;
    times.ends_at = t.ends_at;
    if (!overlaps(old, times)) return false;  // a new firing after a resolve
    // The earliest start wins: an earlier one would change the held start.
    if (t.active_at < old.active_at) return false;
    // merge()'s end: a resolved re-send resolves (not times only); a later explicit end held
    // rules over the incoming one.
    PlannedResend p{&old, t.ends_at, t.ends_at_from_timeout, t.updated_at};
    if (resolved_at(times, now)) return false;
    if (old.ends_at.value_or(core::Timestamp::max()) > t.ends_at.value_or(core::Timestamp::max()) &&
        !old.ends_at_from_timeout) {
      p.ends_at = old.ends_at;
      p.ends_at_from_timeout = false;
    }
    if (!same_content(old, v)) return false;
    planned_resends_.push_back(p);
    planned_fingerprints_.push_back(v.fingerprint);
  }
  // An alert sent twice in one batch merges with its own first copy: receive() decides that.
  std::sort(planned_fingerprints_.begin(), planned_fingerprints_.end());
  return std::adjacent_find(planned_fingerprints_.begin(), planned_fingerprints_.end()) == planned_fingerprints_.end();
}

std::vector<AlertChange> Pipeline::apply_resends(core::Timestamp now) {
  std::vector<AlertChange> changes(planned_resends_.size());
  for (size_t i = 0; i < planned_resends_.size(); ++i) {
    const PlannedResend& p = planned_resends_[i];
    Alert& a = *p.alert;
    a.ends_at = p.ends_at;
    a.ends_at_from_timeout = p.ends_at_from_timeout;
    a.updated_at = p.updated_at;
    inhibitor_.observe_times(a);
    AlertChange& c = changes[i];
    c.fingerprint = a.fingerprint;
    c.was_firing = true;
    c.firing = true;
    c.times_only = true;
    // As receive(): routed again only while some group is in its group_wait.
    c.routed = unflushed_groups_ > 0;
    if (c.routed) route(a, now);
  }
  for (size_t i = 0; i < changes.size(); ++i) {
    const Alert& a = *planned_resends_[i].alert;
    changes[i].muted = muted(a.labels, now);
    changes[i].plan = plan_for(a.labels);
  }
  planned_resends_.clear();
  return changes;
}

core::Status Pipeline::persist(store::Tx& tx, const std::vector<AlertChange>& changes) {
  std::vector<uint64_t> linked;
  linked.swap(linked_since_persist_);
  for (const auto& c : changes) {
    const Alert* a = find(c.fingerprint);
    if (!a) continue;
    if (c.times_only && std::find(linked.begin(), linked.end(), c.fingerprint) == linked.end()) {
      TOCSIN_RETURN_IF_ERROR(tx.touch_alert(a->fingerprint, a->ends_at, a->ends_at_from_timeout, a->updated_at));
    } else {
      TOCSIN_RETURN_IF_ERROR(tx.upsert_alert(*a));
    }
    if (c.started_firing()) {
      store::AlertFiring f;
      f.fingerprint = a->fingerprint;
      f.at = a->updated_at;  // when it was received (receive() keeps the incoming alert's)
      f.alertname = a->labels.get_or("alertname", "");
      f.service = a->labels.get_or("service", "");
      f.severity = a->labels.get_or("severity", "");
      f.plan = c.plan ? c.plan->id : "";
      f.drill = a->labels.get_or(store::kDrillLabel, "");
      f.silenced_by = c.silenced_by;
      f.inhibited = c.inhibited;
      TOCSIN_TRY(tx.insert_alert_firing(f));
    }
  }
  return {};
}

void Pipeline::set_incident(uint64_t fingerprint, int64_t incident_id) {
  if (Alert* a = alerts_.find(fingerprint)) a->incident_id = incident_id;
  linked_since_persist_.push_back(fingerprint);
}

const Alert* Pipeline::find(uint64_t fingerprint) const {
  return alerts_.find(fingerprint);
}

std::optional<core::Timestamp> Pipeline::next_due() const {
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first.first;
}

core::Status Pipeline::sync_silences(store::Tx& tx) {
  auto version = TOCSIN_TRY(tx.silences_version());
  if (version == silences_version_) return {};
  silences_.load(TOCSIN_TRY(tx.list_silences()));
  silences_version_ = std::move(version);
  return {};
}

core::Result<FlushOutput> Pipeline::flush(core::Timestamp now, store::Tx* shared) {
  FlushOutput out;
  if (next_maintenance_ && now >= *next_maintenance_) {
    std::erase_if(groups_, [&](const auto& kv) {
      if (!kv.second.alerts.empty()) return false;
      if (!kv.second.has_flushed) --unflushed_groups_;
      due_.erase(std::make_pair(kv.second.next_flush, kv.second.seq));
      return true;
    });
    while (*next_maintenance_ <= now) *next_maintenance_ += kMaintenanceEvery;
  }
  // Taken before flushing: a flush reschedules its group, and may create others (adopting the
  // stored log routes alerts), which wait for the next flush as they always did.
  std::vector<Group*> due;
  for (auto it = due_.begin(); it != due_.end() && it->first.first <= now; ++it) due.push_back(it->second);
  for (Group* g : due) TOCSIN_RETURN_IF_ERROR(flush_group(*g, now, out, shared));
  out.groups_flushed = static_cast<int>(due.size());
  return out;
}

core::Status Pipeline::adopt_stored_log(Group& g, const std::pair<std::string, std::string>& log_key,
                                        store::Tx& tx, core::Timestamp now) {
  auto stored = TOCSIN_TRY(tx.get_nflog(log_key.first, log_key.second));
  if (!stored) {
    nflog_.erase(log_key);
    return {};
  }
  // What the entry says fires (or resolved) and this replica does not hold so: another replica
  // received it, or its resolve. Its stored record is at least as new as ours (every change this
  // replica made was committed there first), so it replaces ours.
  auto held_firing = [&](uint64_t fp) -> std::optional<bool> {
    const Alert* a = alerts_.find(fp);
    if (!a) return std::nullopt;
    return !resolved_at(*a, now);
  };
  std::vector<uint64_t> stale;
  for (uint64_t fp : stored->firing) {
    if (held_firing(fp) != true || !g.alerts.contains(fp)) stale.push_back(fp);
  }
  for (uint64_t fp : stored->resolved) {
    if (held_firing(fp) == true) stale.push_back(fp);
  }
  for (uint64_t fp : stale) {
    auto record = TOCSIN_TRY(tx.get_alert(fp));
    if (!record || record->state == store::AlertState::kPending) continue;  // gone (gc), or not an alert yet
    inhibitor_.observe(*record);
    if (!resolved_at(*record, now)) {
      route(*record, now);  // a firing alert belongs to every group it routes to
    } else {
      // Resolved: its resolve is news to this group only (the entry says it fired here); other
      // groups that already flushed it must not get it back.
      g.alerts.insert_or_assign(fp, record->updated_at);
    }
    alerts_.put(std::move(*record));
  }
  nflog_.insert_or_assign(log_key, std::move(*stored));
  return {};
}

core::Status Pipeline::flush_group(Group& g, core::Timestamp now, FlushOutput& out, store::Tx* shared) {
  const config::Route& route = *g.node->route;
  reschedule(g, now + route.group_interval);
  if (!g.has_flushed) --unflushed_groups_;
  g.has_flushed = true;
  auto log_key = std::make_pair(route.receiver, g.key);
  // An entry this flush already wrote (another route with the same receiver and key) is newer
  // than the store's until the output is persisted.
  const bool logged_now = std::any_of(out.nflog.begin(), out.nflog.end(), [&](const auto& e) {
    return e.receiver == log_key.first && e.group_key == log_key.second;
  });
  if (shared && !route.receiver.empty() && !g.alerts.empty() && !logged_now) {
    TOCSIN_RETURN_IF_ERROR(adopt_stored_log(g, log_key, *shared, now));
  }
  std::vector<const Alert*> all;
  std::vector<uint64_t> resolved_in_group;
  for (auto it = g.alerts.begin(); it != g.alerts.end();) {
    const Alert* a = alerts_.find(it->first);
    if (!a) {
      it = g.alerts.erase(it);
      continue;
    }
    all.push_back(a);
    if (resolved_at(*a, now)) resolved_in_group.push_back(it->first);
    ++it;
  }
  // Mute stages: time intervals (the whole group), inhibition and silences (per alert). Alerts
  // that belong to a plan are the incident's business, not this receiver's.
  std::vector<const Alert*> kept;
  if (!intervals_.route_muted(route, now)) {
    for (const Alert* a : all) {
      if (muted(a->labels, now)) continue;
      if (const config::Plan* plan = plan_for(a->labels)) {
        if (!resolved_at(*a, now) && !a->incident_id) {
          AlertChange c;
          c.fingerprint = a->fingerprint;
          c.was_firing = c.firing = true;  // not a start: no AlertFiring is written for it
          c.plan = plan;
          out.plan_alerts.push_back(std::move(c));
        }
        continue;
      }
      // A live drill's alert reaches people only through a drill incident, which pages only the
      // drill's participants; a receiver would reach whoever reads it.
      if (a->labels.get(store::kDrillLabel)) continue;
      kept.push_back(a);
    }
  }
  if (!kept.empty() && !route.receiver.empty()) {
    std::vector<uint64_t> firing, resolved;
    for (const Alert* a : kept) (resolved_at(*a, now) ? resolved : firing).push_back(a->fingerprint);
    firing = sorted(std::move(firing));
    resolved = sorted(std::move(resolved));
    const config::Channel* channel = config_->channel(route.receiver);
    const bool send_resolved = channel ? channel->send_resolved : true;
    auto entry = nflog_.find(log_key);
    if (needs_update(entry == nflog_.end() ? nullptr : &entry->second, firing, resolved, send_resolved,
                     route.repeat_interval, now)) {
      std::vector<const Alert*> to_send;
      for (const Alert* a : kept) {
        if (send_resolved || !resolved_at(*a, now)) to_send.push_back(a);
      }
      // A receiver that does not want resolved alerts gets nothing when only those are left, but
      // the log still records them.
      if (!to_send.empty()) {
        if (auto n = notification_for(g, to_send, now)) out.notifications.push_back(std::move(*n));
      }
      store::NotificationLogEntry logged{route.receiver, g.key, firing, resolved, now, now + kLogRetention};
      nflog_.insert_or_assign(log_key, logged);
      out.nflog.push_back(std::move(logged));
    }
  }
  // A flushed resolved alert leaves the group (Alertmanager's DeleteIfNotModified).
  for (uint64_t fp : resolved_in_group) g.alerts.erase(fp);
  return {};
}

std::optional<store::Notification> Pipeline::notification_for(const Group& g, const std::vector<const Alert*>& alerts,
                                                              core::Timestamp now) const {
  const config::Channel* channel = config_->channel(g.node->route->receiver);
  if (!channel) return std::nullopt;
  notify::GroupMessage m;
  m.receiver = channel->name;
  m.group_key = g.key;
  m.group_labels = g.labels;
  m.external_url = external_url_;
  for (const Alert* a : alerts) {
    notify::GroupAlert ga;
    ga.fingerprint = a->fingerprint;
    ga.labels = a->labels;
    ga.annotations = a->annotations;
    ga.firing = !resolved_at(*a, now);
    ga.starts_at = a->active_at;
    if (!ga.firing) ga.ends_at = a->ends_at;
    ga.generator_url = a->generator_url;
    m.alerts.push_back(std::move(ga));
  }
  m.alerts = notify::alertmanager_order(std::move(m.alerts));
  auto render = [&](const std::string& text, std::string_view fallback) -> std::string {
    auto t = notify::Template::parse(text.empty() ? std::string(fallback) : text);
    if (!t) return std::string(fallback);
    auto out = t->render(notify::template_data(m));
    return out ? *out : fmt::format("(template error: {})", out.error().message());
  };
  store::Notification n;
  n.target = "channel:" + channel->name;
  n.channel = std::string(channel_kind(channel->type));
  n.created_at = now;
  n.next_attempt_at = now;
  switch (channel->type) {
    case config::ChannelType::kWebhook:
      n.address = channel->url;
      n.payload = channel->format == config::WebhookFormat::kAlertmanager
                      ? notify::alertmanager_v4_group(m)
                      : notify::tocsin_json_group(m, render(channel->title_template, notify::kDefaultTitleTemplate),
                                                  render(channel->body_template, notify::kDefaultBodyTemplate));
      break;
    case config::ChannelType::kSlack:
      n.address = channel->url;
      n.payload = notify::slack_group(m, render(channel->title_template, notify::kDefaultTitleTemplate),
                                      render(channel->body_template, notify::kDefaultBodyTemplate));
      break;
    case config::ChannelType::kEmail: {
      std::string to;
      for (const auto& address : channel->to) to += (to.empty() ? "" : ",") + address;
      n.address = to;
      n.payload = notify::email_group(m, render(channel->title_template, notify::kDefaultTitleTemplate),
                                      render(channel->body_template, notify::kDefaultBodyTemplate));
      break;
    }
    case config::ChannelType::kExec:
      n.address = notify::exec::argv_address(channel->command);
      n.payload = notify::tocsin_json_group(m, render(channel->title_template, notify::kDefaultTitleTemplate),
                                            render(channel->body_template, notify::kDefaultBodyTemplate));
      break;
  }
  return n;
}

core::Status Pipeline::insert_notifications(store::Tx& tx, FlushOutput& out) const {
  for (auto& n : out.notifications) n.id = TOCSIN_TRY(tx.insert_notification(n));
  return {};
}

core::Status Pipeline::persist_nflog(store::Tx& tx, const FlushOutput& out) const {
  for (const auto& e : out.nflog) TOCSIN_RETURN_IF_ERROR(tx.upsert_nflog(e));
  return {};
}

core::Status Pipeline::gc(store::Tx& tx, core::Timestamp now) {
  // Resolved alerts that no group holds any more, and that are not part of an incident.
  std::vector<uint64_t> in_groups;
  for (const auto& [id, g] : groups_) {
    for (const auto& [fp, at] : g.alerts) in_groups.push_back(fp);
  }
  std::sort(in_groups.begin(), in_groups.end());
  alerts_.erase_if([&](const Alert& a) {
    if (!resolved_at(a, now) || a.updated_at >= now - kResolvedRetention) return false;
    if (std::binary_search(in_groups.begin(), in_groups.end(), a.fingerprint)) return false;
    inhibitor_.forget(a.fingerprint);
    return true;
  });
  TOCSIN_TRY(tx.delete_resolved_alerts(now - kResolvedRetention));
  silences_.forget_expired(now - Silences::kRetention);
  TOCSIN_TRY(tx.delete_expired_silences(now - Silences::kRetention));
  std::erase_if(nflog_, [&](const auto& kv) { return kv.second.expires_at <= now; });
  TOCSIN_TRY(tx.delete_expired_nflog(now));
  TOCSIN_TRY(tx.delete_alert_firings(now - kFiringRetention));
  return {};
}

std::vector<std::string> Pipeline::receivers() const {
  std::vector<std::string> out;
  for (const RouteNode* node : tree_.nodes()) {
    if (!node->route->receiver.empty()) out.push_back(node->route->receiver);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

AlertStatus status_of(const Alert& a, const Silences& silences, const Inhibitor& inhibitor, const RouteTree& tree,
                      core::Timestamp now) {
  AlertStatus s;
  s.alert = a;
  s.silenced_by = silences.muted_by(a.labels, now);
  if (auto by = inhibitor.inhibited_by(a.labels, now)) s.inhibited_by.push_back(*by);
  s.state = s.silenced_by.empty() && s.inhibited_by.empty() ? AlertStatus::State::kActive
                                                            : AlertStatus::State::kSuppressed;
  for (const RouteNode* node : tree.match(a.labels)) {
    if (!node->route->receiver.empty() &&
        std::find(s.receivers.begin(), s.receivers.end(), node->route->receiver) == s.receivers.end()) {
      s.receivers.push_back(node->route->receiver);
    }
  }
  return s;
}

}  // namespace

std::vector<AlertStatus> Pipeline::alerts(core::Timestamp now) const {
  std::vector<AlertStatus> out;
  alerts_.for_each([&](const Alert& a) {
    if (resolved_at(a, now)) return;  // the API lists only unresolved alerts, as Alertmanager
    out.push_back(status_of(a, silences_, inhibitor_, tree_, now));
  });
  std::sort(out.begin(), out.end(), [](const AlertStatus& x, const AlertStatus& y) {
    return x.alert.fingerprint < y.alert.fingerprint;
  });
  return out;
}

std::vector<GroupStatus> Pipeline::groups(core::Timestamp now) const {
  std::vector<GroupStatus> out;
  for (const auto& [id, g] : groups_) {
    GroupStatus gs{g.labels, g.node->route->receiver, g.key, {}};
    for (const auto& [fp, at] : g.alerts) {
      const Alert* a = alerts_.find(fp);
      if (!a || resolved_at(*a, now)) continue;
      gs.alerts.push_back(status_of(*a, silences_, inhibitor_, tree_, now));
    }
    if (!gs.alerts.empty()) out.push_back(std::move(gs));
  }
  return out;
}

}  // namespace tocsin::alerting
