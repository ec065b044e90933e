#include "alerting/silences.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace tocsin::alerting {

std::string_view to_string(SilenceState s) {
  switch (s) {
    case SilenceState::kPending: return "pending";
    case SilenceState::kActive: return "active";
    case SilenceState::kExpired: return "expired";
  }
  return "expired";
}

SilenceState state_of(const store::Silence& s, core::Timestamp now) {
  if (now < s.starts_at) return SilenceState::kPending;
  if (now < s.ends_at) return SilenceState::kActive;
  return SilenceState::kExpired;
}

core::Status validate_silence(const store::Silence& s) {
  if (s.matchers.empty()) return std::unexpected(core::Error::invalid_argument("at least one matcher required"));
  bool all_match_empty = true;
  for (const auto& m : s.matchers) all_match_empty = all_match_empty && m.matches(std::string_view{});
  if (all_match_empty) {
    return std::unexpected(core::Error::invalid_argument("at least one matcher must not match the empty string"));
  }
  if (s.starts_at == core::Timestamp{}) return std::unexpected(core::Error::invalid_argument("invalid zero start timestamp"));
  if (s.ends_at == core::Timestamp{}) return std::unexpected(core::Error::invalid_argument("invalid zero end timestamp"));
  if (s.ends_at < s.starts_at) {
    return std::unexpected(core::Error::invalid_argument("end time must not be before start time"));
  }
  return {};
}

namespace {

bool same_matchers(const store::Silence& a, const store::Silence& b) {
  if (a.matchers.size() != b.matchers.size()) return false;
  for (size_t i = 0; i < a.matchers.size(); ++i) {
    if (a.matchers[i].to_string() != b.matchers[i].to_string()) return false;
  }
  return true;
}

// Alertmanager's canUpdate: may `next` replace `prev` in place?
bool can_update(const store::Silence& prev, const store::Silence& next, core::Timestamp now) {
  if (!same_matchers(prev, next)) return false;
  switch (state_of(prev, now)) {
    case SilenceState::kActive: return next.starts_at == prev.starts_at && next.ends_at >= now;
    case SilenceState::kPending: return next.starts_at >= now;
    case SilenceState::kExpired: return false;
  }
  return false;
}

// Ends a silence now: a pending one never starts.
store::Silence expired_copy(store::Silence s, core::Timestamp now) {
  if (state_of(s, now) == SilenceState::kPending) s.starts_at = now;
  s.ends_at = now;
  s.updated_at = now;
  return s;
}

}  // namespace

void Silences::load(std::vector<store::Silence> silences) {
  by_id_.clear();
  for (auto& s : silences) {
    std::string id = s.id;
    by_id_.emplace(std::move(id), std::move(s));
  }
}

std::string Silences::new_id() {
  // A random (version 4) UUID, as Alertmanager's ids are.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t hi = (rng() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  const uint64_t lo = (rng() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                     lo & 0xffffffffffffULL);
}

core::Result<SilenceChange> Silences::plan_set(store::Silence silence, core::Timestamp now) const {
  TOCSIN_RETURN_IF_ERROR(validate_silence(silence));
  silence.updated_at = now;
  SilenceChange change;
  if (!silence.id.empty()) {
    auto it = by_id_.find(silence.id);
    if (it == by_id_.end()) {
      return std::unexpected(core::Error::not_found(fmt::format("silence {} not found", silence.id)));
    }
    const store::Silence& prev = it->second;
    if (can_update(prev, silence, now)) {
      change.id = silence.id;
      change.to_write.push_back(std::move(silence));
      return change;
    }
    // Not updatable in place: the old one ends now (unless it already has) and a new one replaces it.
    if (state_of(prev, now) != SilenceState::kExpired) change.to_write.push_back(expired_copy(prev, now));
  }
  silence.id = new_id();
  if (silence.starts_at < now) silence.starts_at = now;
  if (silence.ends_at < silence.starts_at) {
    return std::unexpected(core::Error::invalid_argument("end time can't be in the past"));
  }
  change.id = silence.id;
  change.to_write.push_back(std::move(silence));
  return change;
}

core::Result<SilenceChange> Silences::plan_expire(std::string_view id, core::Timestamp now) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::unexpected(core::Error::not_found(fmt::format("silence {} not found", id)));
  if (state_of(it->second, now) == SilenceState::kExpired) {
    return std::unexpected(core::Error::failed_precondition(fmt::format("silence {} already expired", id)));
  }
  return SilenceChange{std::string(id), {expired_copy(it->second, now)}};
}

void Silences::apply(const SilenceChange& change) {
  for (const auto& s : change.to_write) by_id_.insert_or_assign(s.id, s);
}

void Silences::forget_expired(core::Timestamp before) {
  std::erase_if(by_id_, [&](const auto& kv) { return kv.second.ends_at < before; });
}

std::vector<std::string> Silences::muted_by(const core::Labels& labels, core::Timestamp now) const {
  std::vector<std::string> ids;
  for (const auto& [id, s] : by_id_) {
    if (state_of(s, now) == SilenceState::kActive && core::matches_all(s.matchers, labels)) ids.push_back(id);
  }
  return ids;
}

std::optional<store::Silence> Silences::get(std::string_view id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

size_t Silences::count_unexpired(core::Timestamp now) const {
  return static_cast<size_t>(std::count_if(by_id_.begin(), by_id_.end(), [&](const auto& entry) {
    return state_of(entry.second, now) != SilenceState::kExpired;
  }));
}

std::vector<store::Silence> Silences::list() const {
  std::vector<store::Silence> out;
  out.reserve(by_id_.size());
  for (const auto& [id, s] : by_id_) out.push_back(s);
  return out;
}

std::optional<core::Timestamp> Silences::next_change(core::Timestamp now) const {
  std::optional<core::Timestamp> next;
  auto consider = [&](core::Timestamp t) {
    if (t > now && (!next || t < *next)) next = t;
  };
  for (const auto& [id, s] : by_id_) {
    consider(s.starts_at);
    consider(s.ends_at);
  }
  return next;
}

}  // namespace tocsin::alerting
