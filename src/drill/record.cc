#include "drill/record.h"

#include <algorithm>

#include "drill/faults.h"

namespace tocsin::drill {

core::Result<DrillRecord> gather_record(store::Tx& tx, const Scenario& scenario, const std::string& drill_id,
                                        Timestamp end) {
  DrillRecord rec;
  rec.drill_id = drill_id;
  rec.start = scenario.start;
  rec.end = end;
  rec.faults = fault_timeline(scenario);
  store::IncidentFilter filter;
  filter.with_details = true;
  filter.since = scenario.start;
  filter.limit = 10'000;
  for (auto& inc : TOCSIN_TRY(tx.list_incidents(filter))) {
    if (inc.drill == drill_id && inc.opened_at <= end) rec.incidents.push_back(std::move(inc));
  }
  std::sort(rec.incidents.begin(), rec.incidents.end(),
            [](const store::Incident& a, const store::Incident& b) { return a.id < b.id; });
  for (const auto& inc : rec.incidents) {
    for (auto& n : TOCSIN_TRY(tx.list_notifications(inc.id))) rec.notifications.push_back(std::move(n));
  }
  for (auto& a : TOCSIN_TRY(tx.list_alerts(std::nullopt))) {
    if (a.labels.get_or("drill", "") == drill_id) rec.alerts.push_back(std::move(a));
  }
  return rec;
}

}  // namespace tocsin::drill
