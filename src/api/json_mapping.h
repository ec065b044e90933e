// Maps store records and read models to the JSON shapes of SPEC §4 ("JSON shapes the API returns").
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>

#include "config/config.h"
#include "oncall/schedule.h"
#include "store/store.h"

namespace tocsin::api {

nlohmann::json incident_json(const store::Incident& incident);
// The plan's communication templates rendered for one incident (GET /api/v1/incidents/{id}):
// {"status": "We are investigating an outage of api. …"}. A template sees the labels the
// incident's alerts share (`{{ .service }}`) and `.Incident` (ID, Title, Plan, Severity, Status,
// URL); a template that fails renders as "(template error: …)".
nlohmann::json communications_json(const config::Plan& plan, const store::Incident& incident,
                                   std::string_view external_url);

// A plan as GET /api/v1/plans shows it: everything in its file, who fills each role now, and its
// review status at `now`.
nlohmann::json plan_json(const config::Plan& plan, core::Timestamp now,
                         const std::function<std::string(const config::Target&)>& who_fills);

// One schedule of GET /api/v1/oncall: {"id", "timezone", "on_call": [{"person", "name", "from",
// "until", "source"}], "next_handoff"}. "name" is the person's name from `config`, or their id
// when the config gives none; "next_handoff" is null when nobody else ever takes over.
nlohmann::json schedule_on_call_json(const config::Schedule& schedule, const oncall::CurrentShifts& current,
                                     const config::Config& config);

// GET /api/v1/people: {"people": [{"id", "name", "timezone"}]} in config order; "name" is the
// id when the config gives none. Contact methods are left out (they may hold webhook secrets).
nlohmann::json people_json(const config::Config& config);

}  // namespace tocsin::api
