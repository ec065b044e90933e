// Incident-response KPIs (issue 8, item 2; definitions in docs/kpi.md): MTTA, MTTR (means and
// p90), MTBF, resolution ratio, on-time step ratio, escalation rate, alerts per incident, flapping
// alerts, action-item completion, the silenced and inhibited shares of alert firings, and drill scores — overall, per group (plan, service or severity) and per period bucket
// (day, ISO week, calendar month; UTC) of a window [since, until).
//
// compute_kpis is a pure function of the records and the query: no clock is read (the query
// carries `now`, the time the records were read), so the API, `tocsin report kpi` and /metrics
// give the same numbers for the same store. Which incidents count: those opened in the window,
// drill incidents (Incident::drill non-empty) excluded; what happened to them afterwards (ack,
// resolution, steps) counts whenever it happened, up to `now`. Drill scores come from the drill
// runs recorded (ran_at) in the window. The silenced and inhibited shares count the alert firings
// (store::AlertFiring) recorded in the window, drill firings excluded.
//
// Adding a KPI: a member of IncidentFacts (what one incident contributes), a line in
// incident_facts(), a member of Kpi, a line in aggregate() and a row of kpi_fields() — the JSON,
// the text table and /metrics are all written from that table.
// Thread-safety: pure functions; read_kpi_records runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace tocsin::report {

using core::Duration;
using core::Timestamp;

enum class KpiGroupBy { kNone, kPlan, kService, kSeverity };
enum class KpiPeriod { kDay, kWeek, kMonth };
// Which incidents count: real ones (the default: drills measure training, not operations), drill
// incidents only (what `tocsin demo` produces), or both.
enum class KpiScope { kReal, kDrills, kAll };
std::string_view to_string(KpiScope scope);
std::string_view to_string(KpiGroupBy by);  // "" for kNone
std::string_view to_string(KpiPeriod period);

// The most period buckets one query may ask for (e.g. 1000 days): beyond it, a longer period.
inline constexpr int64_t kMaxKpiBuckets = 1000;
// The window when none is given: the 30 days before now.
inline constexpr Duration kDefaultKpiWindow = std::chrono::hours(24 * 30);
// Where the service label is absent, and the plan of an incident without one.
inline constexpr std::string_view kNoGroupKey = "(none)";

struct KpiQuery {
  Timestamp since{};  // incidents opened at or after
  Timestamp until{};  // and before this
  Timestamp now{};    // when the records were read: a step due before it is "due"
  KpiGroupBy by = KpiGroupBy::kNone;
  KpiPeriod period = KpiPeriod::kWeek;
  KpiScope scope = KpiScope::kReal;
};

// The query of GET /api/v1/kpi and `tocsin report kpi` from its parameters: since (an RFC 3339
// time, or a duration back from `now`: "30d"; default 30d), until (RFC 3339; default now), by
// (plan | service | severity; default none), period (day | week | month; default week), scope
// (real | drills | all; default real).
// invalid_argument naming the parameter for an unknown one, a bad value, since >= until, or more
// than kMaxKpiBuckets buckets.
core::Result<KpiQuery> parse_kpi_query(const std::map<std::string, std::string>& params, Timestamp now);

// The records the KPIs are computed from.
struct KpiRecords {
  std::vector<store::Incident> incidents;   // with details (alerts, tasks, timeline)
  std::vector<store::DrillRun> drill_runs;  // summaries; scorecards not needed
  std::vector<store::ActionItem> action_items;  // of those incidents (any may be absent)
  std::vector<store::AlertFiring> alert_firings;  // alerts that started firing in the window
};

// Incidents opened in [since, until) with their details, and drill runs and alert firings recorded
// in it.
core::Result<KpiRecords> read_kpi_records(store::Tx& tx, Timestamp since, Timestamp until);

// What one incident contributes (docs/kpi.md has each definition).
struct IncidentFacts {
  Timestamp opened_at{};
  std::optional<Duration> time_to_ack;      // first acknowledgement − opened
  std::optional<Duration> time_to_resolve;  // resolved_at − opened, when resolved or closed
  bool resolved = false;                    // status resolved or closed
  bool escalated = false;                   // the ladder paged past its first step
  int64_t alerts = 0;                       // distinct alerts that joined it
  int64_t flapping_alerts = 0;              // of those, resolved and then fired again in it
  int64_t steps_due = 0;                    // tasks done, or open and due before now
  int64_t steps_on_time = 0;                // tasks done at or before their due time
  int64_t action_items = 0;                 // postmortem action items of the incident
  int64_t action_items_done = 0;            // of those, done now
};
IncidentFacts incident_facts(const store::Incident& incident, Timestamp now);

// One KPI set. Optional values are empty when undefined (no data): JSON null.
struct Kpi {
  int64_t incidents = 0;
  int64_t acknowledged = 0;
  int64_t resolved = 0;
  std::optional<double> mtta_seconds;
  std::optional<double> mtta_p90_seconds;
  std::optional<double> mttr_seconds;
  std::optional<double> mttr_p90_seconds;
  std::optional<double> mtbf_seconds;
  std::optional<double> resolution_ratio;
  std::optional<double> on_time_step_ratio;
  std::optional<double> escalation_rate;
  std::optional<double> alerts_per_incident;
  int64_t flapping_alerts = 0;
  int64_t action_items = 0;
  std::optional<double> action_item_completion;  // done / action items
  int64_t alert_firings = 0;              // alerts that started firing (drill alerts excluded)
  std::optional<double> silenced_share;   // of those, muted by a silence when they started firing
  std::optional<double> inhibited_share;  // of those, inhibited when they started firing
};

// The KPI set of some incidents' facts and alert firings (any order).
Kpi aggregate(std::vector<IncidentFacts> facts, const std::vector<const store::AlertFiring*>& firings = {});

// One row of the field table: how the JSON, the text table and /metrics name and show a KPI.
enum class KpiUnit { kCount, kSeconds, kRatio, kNumber };
struct KpiField {
  std::string_view name;   // JSON member; /metrics family tocsin_kpi_<name>
  std::string_view label;  // the text table's row title
  KpiUnit unit;
  int64_t Kpi::*count = nullptr;                // kCount
  std::optional<double> Kpi::*value = nullptr;  // the others
  std::string_view help;                        // /metrics HELP
};
const std::vector<KpiField>& kpi_fields();

struct KpiGroup {
  std::string key;
  Kpi kpi;
};

struct KpiBucket {
  Timestamp start{};  // the period's start, or `since` for the first bucket
  Timestamp end{};    // the next period's start, or `until` for the last
  Kpi kpi;
};

struct DrillPlanScores {
  std::string plan;
  int64_t runs = 0;
  double mean_score = 0;
  double last_score = 0;  // of the latest run (ran_at, then id)
};

struct DrillBucket {
  Timestamp start{};
  Timestamp end{};
  int64_t runs = 0;
  std::optional<double> mean_score;
};

struct DrillKpi {
  int64_t runs = 0;
  std::optional<double> mean_score;
  std::optional<double> passed_share;
  std::vector<DrillPlanScores> by_plan;  // by plan id
  std::vector<DrillBucket> trend;
};

struct KpiReport {
  KpiQuery query;
  Kpi overall;
  std::vector<KpiGroup> groups;  // by key; empty when query.by is kNone
  std::vector<KpiBucket> trend;  // every bucket of the window, empty ones included
  DrillKpi drills;
};

// The period buckets of [since, until): UTC days, ISO weeks (Monday 00:00) or calendar months,
// the first starting at `since` and the last ending at `until`.
std::vector<std::pair<Timestamp, Timestamp>> kpi_buckets(Timestamp since, Timestamp until, KpiPeriod period);

// The group key of an incident: its plan, the service label of its first alert, or its severity
// ("(none)" where absent). Empty for kNone.
std::string kpi_group_key(const store::Incident& incident, KpiGroupBy by);
// The group key of an alert firing: the plan its labels matched, its service or severity label.
std::string kpi_group_key(const store::AlertFiring& firing, KpiGroupBy by);

KpiReport compute_kpis(const KpiRecords& records, const KpiQuery& query);

// The JSON document of GET /api/v1/kpi (docs/kpi.md, docs/api.md); `tocsin report kpi --json`.
std::string kpi_json(const KpiReport& report);

// The text of `tocsin report kpi`: durations humanised, ratios as percentages, trends as rows.
std::string render_kpi_text(const KpiReport& report);

// Prometheus text for /metrics: every KPI of kpi_fields() as tocsin_kpi_<name>, overall (no
// labels) and per plan (plan="…"), and the drill scores per plan. Undefined values are left out.
// `report` should be grouped by plan.
std::string render_kpi_metrics(const KpiReport& report);

}  // namespace tocsin::report
