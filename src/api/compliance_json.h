// JSON and CSV of the compliance routes (docs/compliance.md): the audit log (GET /api/v1/audit)
// and the compliance status (GET /api/v1/compliance). `tocsin report audit|compliance` prints the
// same bytes from the store.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "engine/compliance.h"
#include "store/store.h"

namespace tocsin::api {

nlohmann::json audit_entry_json(const store::AuditEntry& entry);
// {"entries": [...], "count": n, "truncated": more entries matched than were returned}
nlohmann::json audit_json(const std::vector<store::AuditEntry>& entries, bool truncated = false);
// RFC 4180: the header line id,at,actor,action,object,detail,source, then one record per entry (CRLF
// line ends; a field holding a comma, quote or line break is quoted).
std::string audit_csv(const std::vector<store::AuditEntry>& entries);

// {"at", "reviews", "drills", "clocks", "summary"}.
nlohmann::json compliance_json(const engine::ComplianceReport& report);

}  // namespace tocsin::api
