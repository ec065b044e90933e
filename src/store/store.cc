#include "store/store.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <utility>

namespace tocsin::store {
namespace {

// One table per enum keeps to_string and parse in step: parse accepts exactly what to_string prints.
template <class Enum, size_t N>
using NameTable = std::array<std::pair<Enum, std::string_view>, N>;

constexpr NameTable<AlertState, 3> kAlertStates{{
    {AlertState::kPending, "pending"},
    {AlertState::kFiring, "firing"},
    {AlertState::kResolved, "resolved"},
}};

constexpr NameTable<IncidentStatus, 5> kIncidentStatuses{{
    {IncidentStatus::kTriggered, "triggered"},
    {IncidentStatus::kAcknowledged, "acknowledged"},
    {IncidentStatus::kMitigated, "mitigated"},
    {IncidentStatus::kResolved, "resolved"},
    {IncidentStatus::kClosed, "closed"},
}};

constexpr NameTable<TaskStatus, 3> kTaskStatuses{{
    {TaskStatus::kOpen, "open"},
    {TaskStatus::kDone, "done"},
    {TaskStatus::kSkipped, "skipped"},
}};

constexpr NameTable<NotificationStatus, 3> kNotificationStatuses{{
    {NotificationStatus::kPending, "pending"},
    {NotificationStatus::kSent, "sent"},
    {NotificationStatus::kFailed, "failed"},
}};

constexpr NameTable<ActionState, 5> kActionStates{{
    {ActionState::kAwaitingApproval, "awaiting_approval"},
    {ActionState::kPending, "pending"},
    {ActionState::kRunning, "running"},
    {ActionState::kSucceeded, "succeeded"},
    {ActionState::kFailed, "failed"},
}};

constexpr NameTable<ActionItemStatus, 2> kActionItemStatuses{{
    {ActionItemStatus::kOpen, "open"},
    {ActionItemStatus::kDone, "done"},
}};

template <class Enum, size_t N>
std::string_view name_of(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "unknown";
}

template <class Enum, size_t N>
Result<Enum> parse_name(const NameTable<Enum, N>& table, std::string_view what, std::string_view text) {
  for (const auto& [e, name] : table) {
    if (name == text) return e;
  }
  std::string expected;
  for (const auto& [e, name] : table) {
    if (!expected.empty()) expected += ", ";
    expected += name;
  }
  return std::unexpected(
      core::Error::invalid_argument(fmt::format("invalid {} \"{}\": expected one of {}", what, text, expected)));
}

}  // namespace

std::string_view to_string(AlertState s) { return name_of(kAlertStates, s); }
Result<AlertState> parse_alert_state(std::string_view s) { return parse_name(kAlertStates, "alert state", s); }

std::string_view to_string(IncidentStatus s) { return name_of(kIncidentStatuses, s); }
Result<IncidentStatus> parse_incident_status(std::string_view s) {
  return parse_name(kIncidentStatuses, "incident status", s);
}

std::string_view to_string(TaskStatus s) { return name_of(kTaskStatuses, s); }
Result<TaskStatus> parse_task_status(std::string_view s) { return parse_name(kTaskStatuses, "task status", s); }

std::string_view to_string(NotificationStatus s) { return name_of(kNotificationStatuses, s); }
Result<NotificationStatus> parse_notification_status(std::string_view s) {
  return parse_name(kNotificationStatuses, "notification status", s);
}

std::string_view to_string(ActionState s) { return name_of(kActionStates, s); }
Result<ActionState> parse_action_state(std::string_view s) { return parse_name(kActionStates, "action state", s); }

std::string_view to_string(ActionItemStatus s) { return name_of(kActionItemStatuses, s); }
Result<ActionItemStatus> parse_action_item_status(std::string_view s) {
  return parse_name(kActionItemStatuses, "action item status", s);
}

Status validate_drill_run(const DrillRun& run) {
  auto bad = [](std::string_view field, std::string message) -> Status {
    return std::unexpected(core::Error::invalid_argument(std::move(message)).field(std::string(field)));
  };
  if (run.scenario.empty()) return bad("scenario", "expected a non-empty scenario name");
  if (run.plan.empty()) return bad("plan", "expected a non-empty plan id");
  if (run.mode != "simulated" && run.mode != "live") {
    return bad("mode", fmt::format("bad mode \"{}\": expected simulated or live", run.mode));
  }
  for (size_t i = 0; i < run.participants.size(); ++i) {
    if (run.participants[i].empty()) return bad(fmt::format("participants[{}]", i), "expected a person id");
  }
  if (run.finished_at < run.started_at) {
    return bad("finished_at", fmt::format("finished_at {} is before started_at {}", core::format_rfc3339(run.finished_at),
                                          core::format_rfc3339(run.started_at)));
  }
  if (!std::isfinite(run.score) || run.score < 0 || run.score > 100) {
    return bad("score", fmt::format("bad score {}: expected a number from 0 to 100", run.score));
  }
  const auto scorecard = nlohmann::json::parse(run.scorecard_json, nullptr, /*allow_exceptions=*/false);
  if (scorecard.is_discarded() || !scorecard.is_object()) return bad("scorecard", "expected a JSON object");
  return core::ok();
}

std::string describe_drill_run(const DrillRun& run) {
  return fmt::format("{} drill of plan {}, scenario {}: score {:g}{}", run.mode, run.plan, run.scenario, run.score,
                     run.passed ? ", passed" : "");
}

Result<Lease> Tx::acquire_lease(std::string_view name, std::string_view holder, Timestamp now, Duration ttl) {
  if (holder.empty()) return std::unexpected(core::Error::invalid_argument("expected a non-empty lease holder"));
  if (ttl <= Duration::zero()) return std::unexpected(core::Error::invalid_argument("expected a positive lease ttl"));
  Lease lease = TOCSIN_TRY(get_lease(name)).value_or(Lease{std::string(name), "", 0, {}, {}});
  const bool renewal = !lease.holder.empty() && lease.holder == holder;
  if (!renewal && !lease.holder.empty() && now < lease.expires_at) return lease;  // another holds it
  if (!renewal) {
    lease.holder = std::string(holder);
    lease.epoch += 1;
    lease.acquired_at = now;
  }
  lease.expires_at = now + ttl;
  TOCSIN_RETURN_IF_ERROR(put_lease(lease));
  return lease;
}

Result<bool> Tx::holds_lease(std::string_view name, std::string_view holder, int64_t epoch, Timestamp now) {
  const auto lease = TOCSIN_TRY(get_lease(name));
  return lease && lease->epoch == epoch && lease->held_by(holder, now);
}

Result<bool> Tx::release_lease(std::string_view name, std::string_view holder, int64_t epoch, Timestamp now) {
  auto lease = TOCSIN_TRY(get_lease(name));
  if (!lease || lease->holder.empty() || lease->holder != holder || lease->epoch != epoch) return false;
  lease->holder.clear();
  lease->expires_at = now;
  TOCSIN_RETURN_IF_ERROR(put_lease(*lease));
  return true;
}

}  // namespace tocsin::store
