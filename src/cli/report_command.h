// `tocsin report kpi --config FILE [--since D] [--until T] [--by plan|service|severity]
// [--period day|week|month] [--json]` (SPEC §2, docs/kpi.md): the KPIs of the incidents opened in
// the window, from the same store, as a text table (durations humanised, ratios as percentages,
// the trend as rows) or as the JSON of GET /api/v1/kpi. "Now" is the machine's clock: --since as
// a duration counts back from --until (default now).
//
// `tocsin report postmortem ID --config FILE [--format md|html]` (SPEC §2): the postmortem draft
// of one incident (report/postmortem.h), read from the config's store (server.data_dir/tocsin.db,
// the store `tocsin serve` and `tocsin drill run` write), printed to stdout. Exit 0 with the
// document; exit 1 with one line on stderr for a bad config, a missing store or an unknown
// incident. Reads only: the store is never created or changed.
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

struct KpiCommand {
  std::string config;
  std::string since;   // empty = the default (30d)
  std::string until;   // empty = now
  std::string by;      // empty = no grouping
  std::string period;  // empty = week
  std::string scope;   // empty = real
  bool json = false;
};

int run_report_kpi(const KpiCommand& command);

// `tocsin report action-items --config FILE [--status open|done|all] [--owner ID] [--overdue]
// [--json]`: postmortem action items across incidents (report/action_items.h), read from the
// same store; open ones by default, by due time, overdue judged by the wall clock. --json prints
// what GET /api/v1/action-items answers. Reads only.
struct ActionItemsCommand {
  std::string config;
  std::string status = "open";  // open | done | all
  std::string owner;
  bool overdue = false;
  bool json = false;
};

int run_report_action_items(const ActionItemsCommand& command);

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
