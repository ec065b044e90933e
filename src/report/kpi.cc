#include "report/kpi.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "core/labels.h"
#include "report/postmortem.h"

namespace tocsin::report {

namespace {

using nlohmann::json;
using store::Incident;

std::string rfc(Timestamp t) { return core::format_rfc3339(t); }

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

core::Error bad(std::string field, std::string message) {
  return core::Error::invalid_argument(std::move(message)).field(std::move(field));
}

std::optional<double> mean(const std::vector<double>& v) {
  if (v.empty()) return std::nullopt;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

// Nearest rank: the smallest value with at least 90 % of the values at or below it.
std::optional<double> p90(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(v.size())));
  return v[std::max<size_t>(rank, 1) - 1];
}

std::optional<double> ratio(int64_t part, int64_t whole) {
  if (whole <= 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

Timestamp period_start(Timestamp t, KpiPeriod period) {
  using namespace std::chrono;
  const sys_days day = floor<days>(t);
  switch (period) {
    case KpiPeriod::kDay:
      return day;
    case KpiPeriod::kWeek:
      return day - days(weekday(day).iso_encoding() - 1);
    case KpiPeriod::kMonth: {
      const year_month_day ymd(day);
      return sys_days(ymd.year() / ymd.month() / 1);
    }
  }
  return day;
}

// The start of the period after the one starting at `start` (a period_start).
Timestamp next_period(Timestamp start, KpiPeriod period) {
  using namespace std::chrono;
  switch (period) {
    case KpiPeriod::kDay:
      return start + days(1);
    case KpiPeriod::kWeek:
      return start + days(7);
    case KpiPeriod::kMonth: {
      const year_month_day ymd(floor<days>(start));
      return sys_days((ymd.year() / ymd.month() / 1) + months(1));
    }
  }
  return start + days(1);
}

int64_t bucket_count(Timestamp since, Timestamp until, KpiPeriod period, int64_t stop_after) {
  int64_t n = 0;
  for (Timestamp b = period_start(since, period); b < until && n <= stop_after; b = next_period(b, period)) ++n;
  return n;
}

// "level 2 (pass 1) of policy ops: …" (escalation/escalator.cc): paged past the ladder's first step?
bool past_first_step(const std::string& detail) {
  int level = 0, pass = 0;
  if (std::sscanf(detail.c_str(), "level %d (pass %d)", &level, &pass) != 2) return false;
  return level > 1 || pass > 1;
}

// Alerts that resolved and then fired again inside the incident: an "alert_resolved" event for the
// alert followed by an "alert_added" one (incident/service.cc writes both with the alert's labels
// in their detail; a new firing of a resolved alert joins the open incident again).
int64_t flapping_alerts(const Incident& inc) {
  int64_t n = 0;
  for (const auto& a : inc.alerts) {
    const std::string labels = a.labels.to_string();
    bool resolved = false;
    for (const auto& e : inc.timeline) {
      if (e.detail.find(labels) == std::string::npos) continue;
      if (e.kind == "alert_resolved") {
        resolved = true;
      } else if (e.kind == "alert_added" && resolved) {
        ++n;
        break;
      }
    }
  }
  return n;
}

std::string format_value(const Kpi& k, const KpiField& f) {
  if (f.unit == KpiUnit::kCount) return std::to_string(k.*f.count);
  const std::optional<double>& v = k.*f.value;
  if (!v) return "—";
  switch (f.unit) {
    case KpiUnit::kSeconds:
      return human_duration(Duration(static_cast<int64_t>(std::llround(*v * 1000.0))));
    case KpiUnit::kRatio:
      return fmt::format("{:.1f}%", *v * 100.0);
    case KpiUnit::kNumber:
      return fmt::format("{:.2f}", *v);
    case KpiUnit::kCount:
      break;
  }
  return "";
}

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json kpi_object(const Kpi& k) {
  json o = json::object();
  for (const auto& f : kpi_fields()) {
    o[std::string(f.name)] = f.unit == KpiUnit::kCount ? json(k.*f.count) : optional_json(k.*f.value);
  }
  return o;
}

// Columns padded to their widest cell: the first left-aligned, the others right-aligned.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  auto cells = [](const std::string& s) {  // display width: UTF-8 continuation bytes take no column
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], cells(r[i]));
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      const std::string pad(width[i] - cells(r[i]), ' ');
      line += i == 0 ? r[i] + pad : "  " + pad + r[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + '\n';
  }
  return out;
}

std::string metric_value(double v) { return fmt::format("{}", v); }

}  // namespace

std::string_view to_string(KpiGroupBy by) {
  switch (by) {
    case KpiGroupBy::kNone:
      return "";
    case KpiGroupBy::kPlan:
      return "plan";
    case KpiGroupBy::kService:
      return "service";
    case KpiGroupBy::kSeverity:
      return "severity";
  }
  return "";
}

std::string_view to_string(KpiPeriod period) {
  switch (period) {
    case KpiPeriod::kDay:
      return "day";
    case KpiPeriod::kWeek:
      return "week";
    case KpiPeriod::kMonth:
      return "month";
  }
  return "week";
}

std::string_view to_string(KpiScope scope) {
  switch (scope) {
    case KpiScope::kReal:
      return "real";
    case KpiScope::kDrills:
      return "drills";
    case KpiScope::kAll:
      break;
  }
  return "all";
}

core::Result<KpiQuery> parse_kpi_query(const std::map<std::string, std::string>& params, Timestamp now) {
  KpiQuery q;
  q.now = now;
  q.until = now;
  std::optional<std::string> since_text;
  for (const auto& [key, value] : params) {
    if (key == "since") {
      since_text = value;
    } else if (key == "until") {
      auto t = core::parse_rfc3339(value);
      if (!t) return std::unexpected(bad("until", fmt::format("bad until \"{}\": expected an RFC 3339 time", value)));
      q.until = *t;
    } else if (key == "by") {
      if (value == "plan") {
        q.by = KpiGroupBy::kPlan;
      } else if (value == "service") {
        q.by = KpiGroupBy::kService;
      } else if (value == "severity") {
        q.by = KpiGroupBy::kSeverity;
      } else {
        return std::unexpected(bad("by", fmt::format("bad by \"{}\": expected plan, service or severity", value)));
      }
    } else if (key == "period") {
      if (value == "day") {
        q.period = KpiPeriod::kDay;
      } else if (value == "week") {
        q.period = KpiPeriod::kWeek;
      } else if (value == "month") {
        q.period = KpiPeriod::kMonth;
      } else {
        return std::unexpected(bad("period", fmt::format("bad period \"{}\": expected day, week or month", value)));
      }
    } else if (key == "scope") {
      if (value == "real") {
        q.scope = KpiScope::kReal;
      } else if (value == "drills") {
        q.scope = KpiScope::kDrills;
      } else if (value == "all") {
        q.scope = KpiScope::kAll;
      } else {
        return std::unexpected(bad("scope", fmt::format("bad scope \"{}\": expected real, drills or all", value)));
      }
    } else {
      return std::unexpected(
          bad(key, fmt::format("unknown query parameter \"{}\": expected since, until, by, period, scope", key)));
    }
  }
  // A duration counts back from `until` (which is now unless given).
  q.since = q.until - kDefaultKpiWindow;
  if (since_text) {
    if (auto t = core::parse_rfc3339(*since_text)) {
      q.since = *t;
    } else if (auto d = core::parse_duration(*since_text); d && *d > Duration::zero()) {
      q.since = q.until - *d;
    } else {
      return std::unexpected(bad("since", fmt::format("bad since \"{}\": expected an RFC 3339 time or a positive "
                                                      "duration like 30d",
                                                      *since_text)));
    }
  }
  if (q.since >= q.until) {
    return std::unexpected(bad("since", fmt::format("since {} is not before until {}", rfc(q.since), rfc(q.until))));
  }
  if (const int64_t n = bucket_count(q.since, q.until, q.period, kMaxKpiBuckets); n > kMaxKpiBuckets) {
    return std::unexpected(bad("period", fmt::format("the window from {} to {} has more than {} {}s: choose a longer "
                                                     "period or a shorter window",
                                                     rfc(q.since), rfc(q.until), kMaxKpiBuckets, to_string(q.period))));
  }
  return q;
}

core::Result<KpiRecords> read_kpi_records(store::Tx& tx, Timestamp since, Timestamp until) {
  KpiRecords r;
  store::IncidentFilter filter;
  filter.since = since;
  filter.until = until;
  filter.limit = std::numeric_limits<int>::max();
  filter.with_details = true;
  r.incidents = TOCSIN_TRY(tx.list_incidents(filter));
  store::DrillRunFilter drills;
  drills.since = since;
  drills.limit = std::numeric_limits<int>::max();
  r.drill_runs = TOCSIN_TRY(tx.list_drill_runs(drills));
  std::erase_if(r.drill_runs, [&](const store::DrillRun& d) { return d.ran_at >= until; });
  // Action items are few (a handful per postmortem): one query for all, then only the window's.
  store::ActionItemFilter items;
  items.limit = std::numeric_limits<int>::max();
  r.action_items = TOCSIN_TRY(tx.list_action_items(items));
  std::set<int64_t> ids;
  for (const auto& inc : r.incidents) ids.insert(inc.id);
  std::erase_if(r.action_items, [&](const store::ActionItem& a) { return !ids.contains(a.incident_id); });
  r.alert_firings = TOCSIN_TRY(tx.list_alert_firings(since, until));
  return r;
}

IncidentFacts incident_facts(const Incident& inc, Timestamp now) {
  IncidentFacts f;
  f.opened_at = inc.opened_at;
  // The first acknowledgement: a reopened incident acknowledged again keeps its first.
  std::optional<Timestamp> ack;
  for (const auto& e : inc.timeline) {
    if (e.kind == "acknowledged") {
      ack = e.at;
      break;
    }
  }
  if (!ack) ack = inc.acknowledged_at;
  if (ack) f.time_to_ack = *ack - inc.opened_at;
  f.resolved = inc.status == store::IncidentStatus::kResolved || inc.status == store::IncidentStatus::kClosed;
  if (f.resolved && inc.resolved_at) f.time_to_resolve = *inc.resolved_at - inc.opened_at;
  f.escalated = std::any_of(inc.timeline.begin(), inc.timeline.end(), [](const store::TimelineEvent& e) {
    return e.kind == "escalated" && past_first_step(e.detail);
  });
  f.alerts = static_cast<int64_t>(inc.alerts.size());
  f.flapping_alerts = flapping_alerts(inc);
  for (const auto& t : inc.tasks) {
    if (t.status == store::TaskStatus::kSkipped) continue;  // a decision, not a step done late
    if (t.status == store::TaskStatus::kDone && t.done_at) {
      ++f.steps_due;
      if (*t.done_at <= t.due_at) ++f.steps_on_time;
    } else if (t.due_at < now) {
      ++f.steps_due;
    }
  }
  return f;
}

Kpi aggregate(std::vector<IncidentFacts> facts, const std::vector<const store::AlertFiring*>& firings) {
  Kpi k;
  k.incidents = static_cast<int64_t>(facts.size());
  std::vector<double> ack, resolve;
  int64_t escalated = 0, alerts = 0, steps_due = 0, steps_on_time = 0, items_done = 0;
  for (const auto& f : facts) {
    if (f.time_to_ack) ack.push_back(seconds(*f.time_to_ack));
    if (f.resolved) ++k.resolved;
    if (f.time_to_resolve) resolve.push_back(seconds(*f.time_to_resolve));
    escalated += f.escalated ? 1 : 0;
    alerts += f.alerts;
    k.flapping_alerts += f.flapping_alerts;
    steps_due += f.steps_due;
    steps_on_time += f.steps_on_time;
    k.action_items += f.action_items;
    items_done += f.action_items_done;
  }
  k.acknowledged = static_cast<int64_t>(ack.size());
  k.mtta_seconds = mean(ack);
  k.mtta_p90_seconds = p90(ack);
  k.mttr_seconds = mean(resolve);
  k.mttr_p90_seconds = p90(resolve);
  if (facts.size() >= 2) {
    auto [first, last] = std::minmax_element(facts.begin(), facts.end(),
                                             [](const auto& a, const auto& b) { return a.opened_at < b.opened_at; });
    k.mtbf_seconds = seconds(last->opened_at - first->opened_at) / static_cast<double>(facts.size() - 1);
  }
  k.resolution_ratio = ratio(k.resolved, k.incidents);
  k.on_time_step_ratio = ratio(steps_on_time, steps_due);
  k.escalation_rate = ratio(escalated, k.incidents);
  k.alerts_per_incident = ratio(alerts, k.incidents);
  k.action_item_completion = ratio(items_done, k.action_items);
  int64_t silenced = 0, inhibited = 0;
  for (const auto* f : firings) {
    silenced += f->silenced_by.empty() ? 0 : 1;
    inhibited += f->inhibited ? 1 : 0;
  }
  k.alert_firings = static_cast<int64_t>(firings.size());
  k.silenced_share = ratio(silenced, k.alert_firings);
  k.inhibited_share = ratio(inhibited, k.alert_firings);
  return k;
}

const std::vector<KpiField>& kpi_fields() {
  static const std::vector<KpiField> fields = {
      {"incidents", "incidents", KpiUnit::kCount, &Kpi::incidents, nullptr,
       "Incidents opened (drill incidents excluded)."},
      {"acknowledged", "acknowledged", KpiUnit::kCount, &Kpi::acknowledged, nullptr,
       "Of those, incidents acknowledged."},
      {"resolved", "resolved", KpiUnit::kCount, &Kpi::resolved, nullptr, "Of those, incidents resolved or closed."},
      {"mtta_seconds", "MTTA", KpiUnit::kSeconds, nullptr, &Kpi::mtta_seconds,
       "Mean time from opening to the first acknowledgement."},
      {"mtta_p90_seconds", "MTTA p90", KpiUnit::kSeconds, nullptr, &Kpi::mtta_p90_seconds,
       "90th percentile (nearest rank) of the time to acknowledge."},
      {"mttr_seconds", "MTTR", KpiUnit::kSeconds, nullptr, &Kpi::mttr_seconds,
       "Mean time from opening to resolution, over resolved incidents."},
      {"mttr_p90_seconds", "MTTR p90", KpiUnit::kSeconds, nullptr, &Kpi::mttr_p90_seconds,
       "90th percentile (nearest rank) of the time to resolve."},
      {"mtbf_seconds", "MTBF", KpiUnit::kSeconds, nullptr, &Kpi::mtbf_seconds,
       "Mean gap between consecutive incident openings."},
      {"resolution_ratio", "resolved share", KpiUnit::kRatio, nullptr, &Kpi::resolution_ratio,
       "Share of incidents resolved or closed."},
      {"on_time_step_ratio", "steps on time", KpiUnit::kRatio, nullptr, &Kpi::on_time_step_ratio,
       "Share of due plan steps done by their due time."},
      {"escalation_rate", "escalated", KpiUnit::kRatio, nullptr, &Kpi::escalation_rate,
       "Share of incidents whose escalation ladder paged past its first step."},
      {"alerts_per_incident", "alerts/incident", KpiUnit::kNumber, nullptr, &Kpi::alerts_per_incident,
       "Mean number of distinct alerts per incident."},
      {"flapping_alerts", "flapping alerts", KpiUnit::kCount, &Kpi::flapping_alerts, nullptr,
       "Alerts that resolved and fired again within their incident."},
      {"action_items", "action items", KpiUnit::kCount, &Kpi::action_items, nullptr,
       "Postmortem action items of those incidents."},
      {"action_item_completion", "action items done", KpiUnit::kRatio, nullptr, &Kpi::action_item_completion,
       "Share of those action items done."},
      {"alert_firings", "alert firings", KpiUnit::kCount, &Kpi::alert_firings, nullptr,
       "Alerts that started firing (drill alerts only with scope drills or all)."},
      {"silenced_share", "silenced", KpiUnit::kRatio, nullptr, &Kpi::silenced_share,
       "Share of alert firings a silence muted when they started firing."},
      {"inhibited_share", "inhibited", KpiUnit::kRatio, nullptr, &Kpi::inhibited_share,
       "Share of alert firings an inhibition rule muted when they started firing."},
  };
  return fields;
}

std::vector<std::pair<Timestamp, Timestamp>> kpi_buckets(Timestamp since, Timestamp until, KpiPeriod period) {
  std::vector<std::pair<Timestamp, Timestamp>> out;
  Timestamp start = since;
  for (Timestamp b = period_start(since, period); start < until;) {
    b = next_period(b, period);
    const Timestamp end = std::min(b, until);
    out.emplace_back(start, end);
    start = end;
  }
  return out;
}

std::string kpi_group_key(const Incident& inc, KpiGroupBy by) {
  switch (by) {
    case KpiGroupBy::kNone:
      return "";
    case KpiGroupBy::kPlan:
      return inc.plan.empty() ? std::string(kNoGroupKey) : inc.plan;
    case KpiGroupBy::kSeverity:
      return inc.severity.empty() ? std::string(kNoGroupKey) : inc.severity;
    case KpiGroupBy::kService: {
      // The first alert that joined (the one that opened it): alerts are kept in joining order.
      const store::IncidentAlert* first = nullptr;
      for (const auto& a : inc.alerts) {
        if (!first || std::tie(a.added_at, a.fingerprint) < std::tie(first->added_at, first->fingerprint)) first = &a;
      }
      const std::string_view service = first ? first->labels.get_or("service", "") : "";
      return service.empty() ? std::string(kNoGroupKey) : std::string(service);
    }
  }
  return "";
}

std::string kpi_group_key(const store::AlertFiring& firing, KpiGroupBy by) {
  auto key = [](const std::string& v) { return v.empty() ? std::string(kNoGroupKey) : v; };
  switch (by) {
    case KpiGroupBy::kNone:
      return "";
    case KpiGroupBy::kPlan:
      return key(firing.plan);
    case KpiGroupBy::kService:
      return key(firing.service);
    case KpiGroupBy::kSeverity:
      return key(firing.severity);
  }
  return "";
}

KpiReport compute_kpis(const KpiRecords& records, const KpiQuery& query) {
  KpiReport report;
  report.query = query;
  struct Counted {
    IncidentFacts facts;
    std::string key;
  };
  std::map<int64_t, std::pair<int64_t, int64_t>> items;  // incident → (action items, done)
  for (const auto& a : records.action_items) {
    auto& [all_items, done] = items[a.incident_id];
    ++all_items;
    if (a.status == store::ActionItemStatus::kDone) ++done;
  }
  std::vector<Counted> counted;
  for (const auto& inc : records.incidents) {
    const bool drill = !inc.drill.empty();
    if ((drill && query.scope == KpiScope::kReal) || (!drill && query.scope == KpiScope::kDrills)) continue;
    if (inc.opened_at < query.since || inc.opened_at >= query.until) continue;
    IncidentFacts facts = incident_facts(inc, query.now);
    if (auto it = items.find(inc.id); it != items.end()) std::tie(facts.action_items, facts.action_items_done) = it->second;
    counted.push_back({std::move(facts), kpi_group_key(inc, query.by)});
  }
  std::sort(counted.begin(), counted.end(),
            [](const Counted& a, const Counted& b) { return a.facts.opened_at < b.facts.opened_at; });

  // Alert firings in the window, of the scope's kind (real ones, drills' or both), in time order.
  std::vector<const store::AlertFiring*> firings;
  for (const auto& f : records.alert_firings) {
    const bool drill = !f.drill.empty();
    if ((drill && query.scope == KpiScope::kReal) || (!drill && query.scope == KpiScope::kDrills)) continue;
    if (f.at >= query.since && f.at < query.until) firings.push_back(&f);
  }
  std::sort(firings.begin(), firings.end(), [](const store::AlertFiring* a, const store::AlertFiring* b) {
    return std::tie(a->at, a->id) < std::tie(b->at, b->id);
  });

  std::vector<IncidentFacts> all;
  struct Members {
    std::vector<IncidentFacts> facts;
    std::vector<const store::AlertFiring*> firings;
  };
  std::map<std::string, Members> groups;
  for (const auto& c : counted) {
    all.push_back(c.facts);
    if (query.by != KpiGroupBy::kNone) groups[c.key].facts.push_back(c.facts);
  }
  if (query.by != KpiGroupBy::kNone) {
    for (const auto* f : firings) groups[kpi_group_key(*f, query.by)].firings.push_back(f);
  }
  report.overall = aggregate(all, firings);
  for (auto& [key, m] : groups) report.groups.push_back({key, aggregate(std::move(m.facts), m.firings)});

  size_t next = 0, next_firing = 0;  // both in time order: each bucket takes the next run of each
  for (const auto& [start, end] : kpi_buckets(query.since, query.until, query.period)) {
    std::vector<IncidentFacts> in_bucket;
    while (next < all.size() && all[next].opened_at < end) in_bucket.push_back(all[next++]);
    std::vector<const store::AlertFiring*> fired;
    while (next_firing < firings.size() && firings[next_firing]->at < end) fired.push_back(firings[next_firing++]);
    report.trend.push_back({start, end, aggregate(std::move(in_bucket), fired)});
  }

  // Drill scores: runs recorded in the window.
  std::vector<const store::DrillRun*> runs;
  for (const auto& r : records.drill_runs) {
    if (r.ran_at >= query.since && r.ran_at < query.until) runs.push_back(&r);
  }
  std::sort(runs.begin(), runs.end(), [](const store::DrillRun* a, const store::DrillRun* b) {
    return std::tie(a->ran_at, a->id) < std::tie(b->ran_at, b->id);
  });
  DrillKpi& d = report.drills;
  d.runs = static_cast<int64_t>(runs.size());
  std::vector<double> scores;
  int64_t passed = 0;
  std::map<std::string, std::vector<const store::DrillRun*>> by_plan;
  for (const auto* r : runs) {
    scores.push_back(r->score);
    passed += r->passed ? 1 : 0;
    by_plan[r->plan].push_back(r);
  }
  d.mean_score = mean(scores);
  d.passed_share = ratio(passed, d.runs);
  for (const auto& [plan, list] : by_plan) {
    std::vector<double> s;
    for (const auto* r : list) s.push_back(r->score);
    d.by_plan.push_back({plan, static_cast<int64_t>(list.size()), *mean(s), list.back()->score});
  }
  size_t next_run = 0;
  for (const auto& [start, end] : kpi_buckets(query.since, query.until, query.period)) {
    std::vector<double> s;
    while (next_run < runs.size() && runs[next_run]->ran_at < end) s.push_back(runs[next_run++]->score);
    d.trend.push_back({start, end, static_cast<int64_t>(s.size()), mean(s)});
  }
  return report;
}

std::string kpi_json(const KpiReport& report) {
  const KpiQuery& q = report.query;
  json doc = {{"since", rfc(q.since)},
              {"until", rfc(q.until)},
              {"period", std::string(to_string(q.period))},
              {"by", q.by == KpiGroupBy::kNone ? json(nullptr) : json(std::string(to_string(q.by)))},
              {"scope", std::string(to_string(q.scope))},
              {"overall", kpi_object(report.overall)}};
  json groups = json::array();
  for (const auto& g : report.groups) groups.push_back({{"key", g.key}, {"kpi", kpi_object(g.kpi)}});
  doc["groups"] = std::move(groups);
  json trend = json::array();
  for (const auto& b : report.trend)
    trend.push_back({{"start", rfc(b.start)}, {"end", rfc(b.end)}, {"kpi", kpi_object(b.kpi)}});
  doc["trend"] = std::move(trend);
  const DrillKpi& d = report.drills;
  json by_plan = json::array();
  for (const auto& p : d.by_plan) {
    by_plan.push_back({{"plan", p.plan}, {"runs", p.runs}, {"mean_score", p.mean_score}, {"last_score", p.last_score}});
  }
  json drill_trend = json::array();
  for (const auto& b : d.trend) {
    drill_trend.push_back(
        {{"start", rfc(b.start)}, {"end", rfc(b.end)}, {"runs", b.runs}, {"mean_score", optional_json(b.mean_score)}});
  }
  doc["drills"] = {{"runs", d.runs},
                   {"mean_score", optional_json(d.mean_score)},
                   {"passed_share", optional_json(d.passed_share)},
                   {"by_plan", std::move(by_plan)},
                   {"trend", std::move(drill_trend)}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string render_kpi_text(const KpiReport& report) {
  const KpiQuery& q = report.query;
  std::string o =
      fmt::format("KPIs of the {} opened from {} to {}{}\n\n",
                  q.scope == KpiScope::kReal     ? "incidents (drill incidents excluded)"
                  : q.scope == KpiScope::kDrills ? "drill incidents"
                                                 : "incidents, drill incidents included",
                  rfc(q.since), rfc(q.until), q.by == KpiGroupBy::kNone ? "" : fmt::format(", by {}", to_string(q.by)));
  if (report.overall.incidents == 0) o += "No incident was opened in this window.\n\n";
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head{"", "overall"};
  for (const auto& g : report.groups) head.push_back(g.key);
  rows.push_back(std::move(head));
  for (const auto& f : kpi_fields()) {
    std::vector<std::string> row{std::string(f.label), format_value(report.overall, f)};
    for (const auto& g : report.groups) row.push_back(format_value(g.kpi, f));
    rows.push_back(std::move(row));
  }
  o += table(rows);

  o += fmt::format("\nTrend (per {}, UTC; each row counts the incidents opened from its start to the next row's)\n\n",
                   to_string(q.period));
  rows.clear();
  std::vector<std::string> trend_head{"from"};
  for (const auto& f : kpi_fields()) trend_head.emplace_back(f.label);
  rows.push_back(std::move(trend_head));
  for (const auto& b : report.trend) {
    std::vector<std::string> row{rfc(b.start)};
    for (const auto& f : kpi_fields()) row.push_back(format_value(b.kpi, f));
    rows.push_back(std::move(row));
  }
  o += table(rows);

  const DrillKpi& d = report.drills;
  o += fmt::format("\nDrills: {} run{}", d.runs, d.runs == 1 ? "" : "s");
  if (d.mean_score) o += fmt::format(", mean score {:.1f}, {:.1f}% passed", *d.mean_score, *d.passed_share * 100.0);
  o += "\n";
  if (!d.by_plan.empty()) {
    rows = {{"plan", "runs", "mean score", "last score"}};
    for (const auto& p : d.by_plan) {
      rows.push_back(
          {p.plan, std::to_string(p.runs), fmt::format("{:.1f}", p.mean_score), fmt::format("{:.1f}", p.last_score)});
    }
    o += "\n" + table(rows);
    o += fmt::format("\nDrill trend (per {})\n\n", to_string(q.period));
    rows = {{"from", "runs", "mean score"}};
    for (const auto& b : d.trend) {
      rows.push_back({rfc(b.start), std::to_string(b.runs), b.mean_score ? fmt::format("{:.1f}", *b.mean_score) : "—"});
    }
    o += table(rows);
  }
  return o;
}

std::string render_kpi_metrics(const KpiReport& report) {
  // "30d" rather than Prometheus' "4w2d": how people name a KPI window.
  const Duration span = report.query.until - report.query.since;
  const std::string window = span % std::chrono::hours(24) == Duration::zero()
                                 ? fmt::format("{}d", span / std::chrono::hours(24))
                                 : core::format_duration(span);
  std::string o;
  auto family = [&](std::string_view name, std::string_view help) {
    o += fmt::format("# HELP {} {} Over the last {}.\n# TYPE {} gauge\n", name, help, window, name);
  };
  auto sample = [&](std::string_view name, std::string_view plan, double v) {
    if (plan.empty()) {
      o += fmt::format("{} {}\n", name, metric_value(v));
    } else {
      o += fmt::format("{}{{plan=\"{}\"}} {}\n", name, core::escape_label_value(plan), metric_value(v));
    }
  };
  for (const auto& f : kpi_fields()) {
    const std::string name = fmt::format("tocsin_kpi_{}", f.name);
    auto value = [&](const Kpi& k) -> std::optional<double> {
      if (f.unit == KpiUnit::kCount) return static_cast<double>(k.*f.count);
      return k.*f.value;
    };
    family(name, f.help);
    if (auto v = value(report.overall)) sample(name, "", *v);
    for (const auto& g : report.groups) {
      if (auto v = value(g.kpi)) sample(name, g.key, *v);
    }
  }
  const DrillKpi& d = report.drills;
  family("tocsin_kpi_drill_runs", "Drill runs recorded.");
  sample("tocsin_kpi_drill_runs", "", static_cast<double>(d.runs));
  for (const auto& p : d.by_plan) sample("tocsin_kpi_drill_runs", p.plan, static_cast<double>(p.runs));
  family("tocsin_kpi_drill_mean_score", "Mean drill score (0-100).");
  if (d.mean_score) sample("tocsin_kpi_drill_mean_score", "", *d.mean_score);
  for (const auto& p : d.by_plan) sample("tocsin_kpi_drill_mean_score", p.plan, p.mean_score);
  family("tocsin_kpi_drill_passed_ratio", "Share of drill runs that met every expectation.");
  if (d.passed_share) sample("tocsin_kpi_drill_passed_ratio", "", *d.passed_share);
  return o;
}

}  // namespace tocsin::report
