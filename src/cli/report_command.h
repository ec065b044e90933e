// `tocsin report postmortem ID --config FILE [--format md|html]` (SPEC §2): the postmortem draft
// of one incident (report/postmortem.h), read from the config's store (server.data_dir/tocsin.db,
// the store `tocsin serve` and `tocsin drill run` write), printed to stdout. Exit 0 with the
// document; exit 1 with one line on stderr for a bad config, a missing store or an unknown
// incident. Reads only: the store is never created or changed. The audit and compliance reports
// below read the same store the same way.
#pragma once

#include <cstdint>
#include <string>

namespace tocsin::cli {

struct PostmortemCommand {
  int64_t id = 0;
  std::string config;
  std::string format = "md";  // md | html
};

int run_report_postmortem(const PostmortemCommand& command);

// `tocsin report audit --config FILE [--since D] [--until D] [--actor A] [--action PREFIX] [--csv]`
// (docs/compliance.md): the audit log from the config's store, oldest first — a table, or the CSV
// GET /api/v1/audit?format=csv serves. --since/--until: RFC 3339 or a duration back from now.
struct AuditCommand {
  std::string config;
  std::string since;
  std::string until;
  std::string actor;
  std::string action;
  bool csv = false;
};
int run_report_audit(const AuditCommand& command);

// `tocsin report compliance --config FILE [--json]`: plan reviews, drills and plan clocks
// (engine/compliance.h) from the config and its store; --json prints GET /api/v1/compliance's body.
struct ComplianceCommand {
  std::string config;
  bool json = false;
};
int run_report_compliance(const ComplianceCommand& command);

}  // namespace tocsin::cli
