// The rules of a written postmortem (issue 8; docs/postmortems.md): which fields there are, and
// when a postmortem is complete. IncidentService (service.h) applies them inside its write
// transactions; the API and the reports call them to say what is still missing.
//
// A postmortem is complete when its summary, impact and root cause are written (not blank) and
// every action item's owner is a person in the config (every item has a due date by
// construction). Completing it is what closes a resolved incident, once.
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "store/store.h"

namespace tocsin::incident {

// Every field of a postmortem, in the order documents show them.
inline constexpr std::array<std::string_view, 7> kPostmortemFields{
    "summary", "impact", "root_cause", "contributing_factors", "went_well", "went_badly", "lessons"};
// The fields a complete postmortem must have written.
inline constexpr std::array<std::string_view, 3> kRequiredPostmortemFields{"summary", "impact", "root_cause"};

// The field called `name`, or nullptr when there is no such field.
std::string* postmortem_field(store::PostmortemFields& fields, std::string_view name);
const std::string* postmortem_field(const store::PostmortemFields& fields, std::string_view name);

// True when the text has something other than white space.
bool is_written(std::string_view text);

// What keeps the postmortem from being complete, in a stable order: each required field not
// written ("summary", "impact", "root_cause"), then "action_items.<id>.owner" for each item whose
// owner is not a person in `config`. Empty = complete-able.
std::vector<std::string> missing_for_completion(const store::PostmortemFields& fields,
                                                const std::vector<store::ActionItem>& items,
                                                const config::Config& config);

// Longest text a field, or an action item's title, may hold (bytes).
inline constexpr size_t kMaxPostmortemFieldBytes = 64 * 1024;
inline constexpr size_t kMaxActionItemTitleBytes = 500;

}  // namespace tocsin::incident
