// Maps store records to the JSON shapes of SPEC §4 ("JSON shapes the API returns").
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "store/store.h"

namespace tocsin::api {

nlohmann::json incident_json(const store::Incident& incident);

}  // namespace tocsin::api
