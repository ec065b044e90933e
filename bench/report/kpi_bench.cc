// What the KPIs cost (docs/kpi.md#cost): a real SQLite store holding N incidents opened over the
// last 30 days, each with 2 alerts, 5 plan steps and 12 timeline events (the shape the engine
// writes), plus 50 drill runs. Three measurements:
//   ReadRecords   read_kpi_records: the incidents of the window with their details, one read tx
//   Compute       compute_kpis by plan, weekly trend: the pure function alone
//   Scrape        a cold /metrics computation (read + compute + render_kpi_metrics), what the
//                 KpiMetrics collector does at most once a minute
//   build/bench/tocsin_kpi_bench --benchmark_filter=. (N = 1000 and 10000)
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>

#include "report/kpi.h"
#include "store/sqlite/sqlite_store.h"

namespace tocsin {
namespace {

using namespace std::chrono_literals;

const core::Timestamp kNow = core::from_unix_ms(1'790'000'000'000);

struct Fixture {
  std::string dir;
  std::unique_ptr<store::Store> store;
  Fixture() = default;
  Fixture(Fixture&&) = default;
  ~Fixture() {
    store.reset();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

// One store per N, built once.
Fixture& fixture(int n) {
  static std::map<int, Fixture> fixtures;
  auto it = fixtures.find(n);
  if (it != fixtures.end()) return it->second;
  Fixture f;
  f.dir = (std::filesystem::temp_directory_path() / "tocsin-kpi-bench-XXXXXX").string();
  if (!mkdtemp(f.dir.data())) abort();
  f.store = store::sqlite::open_sqlite_store(std::filesystem::path(f.dir) / "tocsin.db").value();
  auto st = f.store->write([&](store::Tx& tx) -> core::Status {
    const core::Duration spacing = std::chrono::duration_cast<core::Duration>(30 * 24h) / n;
    const char* plans[] = {"system_crash", "data_breach", "network_attack"};
    for (int i = 0; i < n; ++i) {
      store::Incident inc;
      inc.title = fmt::format("incident {}", i);
      inc.plan = plans[i % 3];
      inc.severity = "critical";
      inc.status = i % 4 == 0 ? store::IncidentStatus::kTriggered : store::IncidentStatus::kResolved;
      inc.group_key = fmt::format("k{}", i);
      inc.opened_at = kNow - 30 * 24h + spacing * i;
      inc.acknowledged_at = inc.opened_at + 3min;
      if (inc.status == store::IncidentStatus::kResolved) inc.resolved_at = inc.opened_at + 1h;
      const int64_t id = TOCSIN_TRY(tx.insert_incident(inc));
      for (int a = 0; a < 2; ++a) {
        core::Labels labels{
            {"alertname", "HighLoad"}, {"service", a ? "api" : "db"}, {"instance", fmt::format("h{}", i)}};
        TOCSIN_RETURN_IF_ERROR(
            tx.upsert_incident_alert(id, {labels.fingerprint(), labels, store::AlertState::kFiring, inc.opened_at}));
        TOCSIN_TRY(
            tx.append_timeline({0, id, inc.opened_at, "alert_added", "tocsin", "HighLoad " + labels.to_string()}));
      }
      for (int s = 0; s < 5; ++s) {
        store::Task t;
        t.step = fmt::format("step{}", s);
        t.ord = s;
        t.title = t.step;
        t.owner = "commander";
        t.due_at = inc.opened_at + 30min * (s + 1);
        t.status = s < 3 ? store::TaskStatus::kDone : store::TaskStatus::kOpen;
        if (s < 3) t.done_at = inc.opened_at + 20min * (s + 1);
        TOCSIN_RETURN_IF_ERROR(tx.insert_task(id, t));
      }
      for (const char* kind : {"opened", "role_assigned", "role_assigned", "escalated", "notified", "escalated",
                               "notified", "acknowledged", "note", "resolved"}) {
        TOCSIN_TRY(
            tx.append_timeline({0, id, inc.opened_at + 1min, kind, "tocsin", "level 1 (pass 1) of policy ops: x"}));
      }
    }
    for (int i = 0; i < 50; ++i) {
      store::DrillRun r;
      r.scenario = "crash";
      r.plan = plans[i % 3];
      r.mode = "simulated";
      r.started_at = r.finished_at = kNow - 24h;
      r.ran_at = kNow - 24h * (i % 30);
      r.score = 50 + i % 50;
      r.scorecard_json = "{}";
      TOCSIN_TRY(tx.insert_drill_run(r));
    }
    return {};
  });
  if (!st) {
    fmt::print(stderr, "fixture: {}\n", st.error().to_string());
    abort();
  }
  return fixtures.emplace(n, std::move(f)).first->second;
}

report::KpiQuery query() {
  return {kNow - report::kDefaultKpiWindow, kNow, kNow, report::KpiGroupBy::kPlan, report::KpiPeriod::kWeek};
}

report::KpiRecords read(store::Store& store) {
  report::KpiRecords records;
  auto st = store.read([&](store::Tx& tx) -> core::Status {
    records = TOCSIN_TRY(report::read_kpi_records(tx, query().since, query().until));
    return {};
  });
  if (!st) abort();
  return records;
}

void ReadRecords(benchmark::State& state) {
  Fixture& f = fixture(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(read(*f.store));
}

void Compute(benchmark::State& state) {
  const report::KpiRecords records = read(*fixture(static_cast<int>(state.range(0))).store);
  for (auto _ : state) benchmark::DoNotOptimize(report::compute_kpis(records, query()));
}

void Scrape(benchmark::State& state) {
  Fixture& f = fixture(static_cast<int>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(report::render_kpi_metrics(report::compute_kpis(read(*f.store), query())));
}

// The alert firings of a 30-day window alone (the silenced share's record): N firings, one in ten
// silenced, in their own store, read with list_alert_firings and reduced to the overall KPI.
std::unique_ptr<Fixture> firings_fixture(int n) {
  auto f = std::make_unique<Fixture>();
  f->dir = (std::filesystem::temp_directory_path() / "tocsin-kpi-bench-XXXXXX").string();
  if (!mkdtemp(f->dir.data())) abort();
  f->store = store::sqlite::open_sqlite_store(std::filesystem::path(f->dir) / "tocsin.db").value();
  auto st = f->store->write([&](store::Tx& tx) -> core::Status {
    const core::Duration spacing = std::chrono::duration_cast<core::Duration>(30 * 24h) / n;
    for (int i = 0; i < n; ++i) {
      store::AlertFiring a;
      a.fingerprint = static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ULL;
      a.at = kNow - 30 * 24h + spacing * i;
      a.alertname = fmt::format("Alert{}", i % 100);
      a.service = i % 2 ? "api" : "db";
      a.severity = "warning";
      a.plan = i % 3 ? "" : "system_crash";
      if (i % 10 == 0) a.silenced_by = {"5b1f6c2e-6d0a-4c53-9a8e-2f0f3c1d7e10"};
      TOCSIN_TRY(tx.insert_alert_firing(a));
    }
    return {};
  });
  if (!st) abort();
  return f;
}

void ReadAlertFirings(benchmark::State& state) {
  static std::map<int, std::unique_ptr<Fixture>> fixtures;
  auto& f = fixtures[static_cast<int>(state.range(0))];
  if (!f) f = firings_fixture(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    report::KpiRecords records;
    auto st = f->store->read([&](store::Tx& tx) -> core::Status {
      records.alert_firings = TOCSIN_TRY(tx.list_alert_firings(query().since, query().until));
      return {};
    });
    if (!st) abort();
    benchmark::DoNotOptimize(report::compute_kpis(records, query()).overall.silenced_share);
  }
}

BENCHMARK(ReadRecords)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(ReadAlertFirings)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);
BENCHMARK(Compute)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(Scrape)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tocsin

BENCHMARK_MAIN();
