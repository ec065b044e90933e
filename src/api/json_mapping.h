// Maps store records to the JSON shapes of SPEC §4 ("JSON shapes the API returns").
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>

#include "config/config.h"
#include "store/store.h"

namespace tocsin::api {

nlohmann::json incident_json(const store::Incident& incident);
// A plan as GET /api/v1/plans shows it: everything in its file, who fills each role now, and its
// review status at `now`.
nlohmann::json plan_json(const config::Plan& plan, core::Timestamp now,
                         const std::function<std::string(const config::Target&)>& who_fills);

}  // namespace tocsin::api
