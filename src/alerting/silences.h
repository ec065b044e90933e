// Silences with Alertmanager's semantics (silence/silence.go): a silence mutes every alert whose
// labels match all its matchers while starts_at <= now < ends_at. Setting a silence that already
// exists updates it in place when Alertmanager would (same matchers, and the change keeps an
// active silence's start and a pending one's future start); otherwise the old one is expired and
// a new one, with a new id, replaces it. Expired silences are kept for `retention` and then go.
//
// This class is the in-memory view; the store holds the truth. Mutations are two-phase so that
// memory changes only after the store commits: plan_*() validates and returns the records to
// write, apply() installs them once written.
// Thread-safety: none; the engine serialises access.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/labels.h"
#include "core/result.h"
#include "store/store.h"

namespace tocsin::alerting {

enum class SilenceState { kPending, kActive, kExpired };
std::string_view to_string(SilenceState s);
SilenceState state_of(const store::Silence& s, core::Timestamp now);

// What a set or expire wants written, and the id the caller reports back.
struct SilenceChange {
  std::string id;                        // the silence's id after the change
  std::vector<store::Silence> to_write;  // 1 or 2 records (an expired predecessor and its successor)
};

class Silences {
 public:
  // Expired silences older than this are dropped (Alertmanager: --data.retention, 120 h).
  static constexpr core::Duration kRetention = std::chrono::hours(120);

  void load(std::vector<store::Silence> silences);

  // Create (empty id) or update a silence. Errors are invalid_argument with Alertmanager's
  // wording, or not_found for an unknown id.
  core::Result<SilenceChange> plan_set(store::Silence silence, core::Timestamp now) const;
  core::Result<SilenceChange> plan_expire(std::string_view id, core::Timestamp now) const;
  void apply(const SilenceChange& change);
  // Forgets silences that ended before `before` (the store deletes them in the same pass).
  void forget_expired(core::Timestamp before);

  // The ids of the active silences that mute these labels, sorted.
  std::vector<std::string> muted_by(const core::Labels& labels, core::Timestamp now) const;
  std::optional<store::Silence> get(std::string_view id) const;
  std::vector<store::Silence> list() const;
  size_t count_unexpired(core::Timestamp now) const;  // active or pending at `now`
  // When a silence next starts or ends after `now` (a muted alert may change state then).
  std::optional<core::Timestamp> next_change(core::Timestamp now) const;

  static std::string new_id();

 private:
  std::map<std::string, store::Silence, std::less<>> by_id_;
};

// Checks a silence as Alertmanager does before storing it.
core::Status validate_silence(const store::Silence& s);

}  // namespace tocsin::alerting
