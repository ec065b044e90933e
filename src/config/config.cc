#include "config/config.h"

#include <fmt/format.h>

#include <algorithm>

namespace tocsin::config {
namespace {

template <class T, class Key>
const T* find_by(const std::vector<T>& items, std::string_view id, Key key) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& item) { return item.*key == id; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

std::string Target::to_string() const {
  switch (kind) {
    case Kind::kSchedule: return "schedule:" + id;
    case Kind::kPerson: return "person:" + id;
    case Kind::kChannel: return "channel:" + id;
  }
  return id;
}

core::Result<Target> parse_target(std::string_view text) {
  const size_t colon = text.find(':');
  auto bad = [&](std::string_view why) {
    return std::unexpected(core::Error::invalid_argument(
        fmt::format("bad target \"{}\": {}; expected schedule:ID, person:ID or channel:NAME", text, why)));
  };
  if (colon == std::string_view::npos) return bad("missing kind");
  const std::string_view kind = text.substr(0, colon);
  const std::string_view id = text.substr(colon + 1);
  Target target;
  if (kind == "schedule") {
    target.kind = Target::Kind::kSchedule;
  } else if (kind == "person") {
    target.kind = Target::Kind::kPerson;
  } else if (kind == "channel") {
    target.kind = Target::Kind::kChannel;
  } else {
    return bad(fmt::format("unknown kind \"{}\"", kind));
  }
  if (id.empty()) return bad("empty id");
  target.id = std::string(id);
  return target;
}

bool is_valid_severity(std::string_view s) {
  return std::find(std::begin(kSeverities), std::end(kSeverities), s) != std::end(kSeverities);
}

const Person* Config::person(std::string_view id) const { return find_by(people, id, &Person::id); }
const Channel* Config::channel(std::string_view name) const { return find_by(channels, name, &Channel::name); }
const Schedule* Config::schedule(std::string_view id) const { return find_by(schedules, id, &Schedule::id); }
const EscalationPolicy* Config::escalation_policy(std::string_view id) const {
  return find_by(escalation_policies, id, &EscalationPolicy::id);
}
const Plan* Config::plan(std::string_view id) const { return find_by(plans, id, &Plan::id); }
const Target* Plan::role_target(std::string_view role) const {
  for (const auto& [name, target] : roles) {
    if (name == role) return &target;
  }
  return nullptr;
}

std::optional<core::Timestamp> drill_due(const Plan& plan, std::optional<core::Timestamp> last_run) {
  if (!plan.drill) return std::nullopt;
  if (!last_run) return core::Timestamp{};
  return *last_run + plan.drill->every;
}

std::optional<core::Timestamp> review_due(const Plan& plan) {
  if (plan.review_every == Duration{}) return std::nullopt;
  if (!plan.reviewed) return core::Timestamp{};
  return std::chrono::time_point_cast<Duration>(std::chrono::sys_time<Duration>(*plan.reviewed)) + plan.review_every;
}

const NamedTimeInterval* Config::time_interval(std::string_view name) const {
  return find_by(time_intervals, name, &NamedTimeInterval::name);
}

}  // namespace tocsin::config
