// Parses the JSON push format of POST /api/v1/push (SPEC §3):
//   [{"name": "system_load", "labels": {"service": "api"}, "value": 0.95, "ts": 1796400000000}, …]
// `labels` and `ts` are optional (a missing ts means `now`). A whole body is accepted or rejected:
// the first bad element is reported with its field path (e.g. "[2].value") and nothing is returned.
// Thread-safety: a pure function.
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/sample.h"

namespace tocsin::ingest {

core::Result<std::vector<core::Sample>> parse_push_json(std::string_view body, core::Timestamp now);

}  // namespace tocsin::ingest
