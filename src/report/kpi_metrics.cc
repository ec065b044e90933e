#include "report/kpi_metrics.h"

#include <fmt/format.h>

#include "core/duration.h"
#include "core/log.h"

namespace tocsin::report {

KpiMetrics::KpiMetrics(store::Store& store, const core::Clock& clock, core::MetricsRegistry& registry, Options options)
    : store_(store), clock_(clock), registry_(registry), options_(options) {
  collector_ = registry_.add_collector([this] { return render(); });
}

KpiMetrics::~KpiMetrics() { registry_.remove_collector(collector_); }

std::string KpiMetrics::render() {
  std::lock_guard lock(mu_);
  const Timestamp now = clock_.now();
  const core::MonoTime mono = clock_.mono_now();
  const bool fresh = computed_mono_ && mono - *computed_mono_ < options_.refresh &&
                     now - computed_now_ < options_.refresh && computed_now_ - now < options_.refresh;
  if (!fresh) {
    KpiQuery query;
    query.since = now - options_.window;
    query.until = now;
    query.now = now;
    query.by = KpiGroupBy::kPlan;
    query.period = KpiPeriod::kMonth;  // the trend is not rendered; a few buckets at most
    KpiRecords records;
    auto read = store_.read([&](store::Tx& tx) -> core::Status {
      records = TOCSIN_TRY(read_kpi_records(tx, query.since, query.until));
      return {};
    });
    if (read) {
      text_ = render_kpi_metrics(compute_kpis(records, query));
      computed_now_ = now;
      computed_mono_ = clock_.mono_now();
      compute_seconds_ = std::chrono::duration<double>(*computed_mono_ - mono).count();
    } else {
      // Keep the last good text; try again at the next scrape.
      core::log::warn("KPI metrics not computed", {{"error", read.error().to_string()}});
    }
  }
  return text_ +
         fmt::format(
             "# HELP tocsin_kpi_compute_seconds Time the last computation of the tocsin_kpi_ gauges took.\n"
             "# TYPE tocsin_kpi_compute_seconds gauge\ntocsin_kpi_compute_seconds {}\n"
             "# HELP tocsin_kpi_computed_timestamp_seconds The server time the tocsin_kpi_ gauges were computed "
             "at (they are cached for up to {}).\n"
             "# TYPE tocsin_kpi_computed_timestamp_seconds gauge\ntocsin_kpi_computed_timestamp_seconds {}\n",
             compute_seconds_, core::format_duration(options_.refresh),
             static_cast<double>(core::to_unix_ms(computed_now_)) / 1000.0);
}

}  // namespace tocsin::report
