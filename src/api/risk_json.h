// The JSON shape of the risk register (GET /api/v1/risk, `tocsin risk register --json`):
// {"risks": [{id, title, likelihood, source, impact, score, level, owner, plan, mitigation,
// review, review_overdue}], "generated_at"}. Unknown values (a model likelihood not known yet, no
// linked plan) are null.
// Thread-safety: pure function.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "risk_register/register.h"

namespace tocsin::api {

nlohmann::json risk_register_json(const risk_register::Register& reg);

}  // namespace tocsin::api
