#include "api/kpi_route.h"

#include <fmt/format.h>

#include <chrono>

#include "api/router.h"
#include "chart/trend.h"
#include "report/kpi.h"

namespace tocsin::api {
namespace {

http::Response from_error(const core::Error& e) { return http::Response::error(http_status(e), e.message(), e.field()); }

core::Result<report::KpiRecords> read_records(engine::Engine& engine, const report::KpiQuery& query) {
  report::KpiRecords records;
  auto read = engine.read_store([&](store::Tx& tx) -> core::Status {
    records = TOCSIN_TRY(report::read_kpi_records(tx, query.since, query.until));
    return {};
  });
  if (!read) return std::unexpected(read.error());
  return records;
}

std::string bucket_label(core::Timestamp t, report::KpiPeriod period) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
  if (period == report::KpiPeriod::kMonth) {
    return fmt::format("{:04}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()));
  }
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::optional<double> kpi_value(const report::Kpi& k, const report::KpiField& f) {
  if (f.count) return static_cast<double>(k.*f.count);
  return k.*f.value;
}

chart::TrendUnit trend_unit(report::KpiUnit unit) {
  switch (unit) {
    case report::KpiUnit::kSeconds:
      return chart::TrendUnit::kSeconds;
    case report::KpiUnit::kRatio:
      return chart::TrendUnit::kRatio;
    case report::KpiUnit::kCount:
    case report::KpiUnit::kNumber:
      break;
  }
  return chart::TrendUnit::kNumber;
}

constexpr std::string_view kDrillScore = "drill_mean_score";

}  // namespace

http::Response kpi_route(engine::Engine& engine, const http::Request& request) {
  if (request.method != "GET") return http::Response::error(405, "use GET");
  auto query = report::parse_kpi_query(request.query, engine.now());
  if (!query) return from_error(query.error());
  auto records = read_records(engine, *query);
  if (!records) return from_error(records.error());
  return http::Response::json(200, report::kpi_json(report::compute_kpis(*records, *query)));
}

http::Response kpi_chart_route(engine::Engine& engine, const http::Request& request) {
  if (request.method != "GET") return http::Response::error(405, "use GET");
  std::map<std::string, std::string> params = request.query;
  const auto kpi = params.find("kpi");
  std::string names;
  for (const auto& f : report::kpi_fields()) names += fmt::format("{}, ", f.name);
  names += kDrillScore;
  if (kpi == params.end()) return http::Response::error(400, fmt::format("missing kpi: expected one of {}", names), "kpi");
  const std::string name = kpi->second;
  params.erase(kpi);
  const report::KpiField* field = nullptr;
  for (const auto& f : report::kpi_fields()) {
    if (f.name == name) field = &f;
  }
  if (!field && name != kDrillScore) {
    return http::Response::error(400, fmt::format("unknown kpi \"{}\": expected one of {}", name, names), "kpi");
  }
  auto query = report::parse_kpi_query(params, engine.now());
  if (!query) return from_error(query.error());
  auto records = read_records(engine, *query);
  if (!records) return from_error(records.error());

  const report::KpiReport all = report::compute_kpis(*records, *query);
  chart::TrendChart c;
  c.title = field ? fmt::format("{} by {}", field->label, report::to_string(query->period))
                  : fmt::format("drill score by {}", report::to_string(query->period));
  c.subtitle = fmt::format("{} to {}", core::format_rfc3339(query->since), core::format_rfc3339(query->until));
  for (const auto& b : all.trend) c.buckets.push_back(bucket_label(b.start, query->period));
  if (!field) {
    c.y_label = "score";
    chart::TrendLine line{"mean score", {}};
    for (const auto& b : all.drills.trend) line.values.push_back(b.mean_score);
    c.lines.push_back(std::move(line));
  } else {
    c.unit = trend_unit(field->unit);
    c.style = field->unit == report::KpiUnit::kCount ? chart::TrendStyle::kBars : chart::TrendStyle::kLines;
    auto add_line = [&](std::string line_name, const report::KpiReport& r) {
      chart::TrendLine line{std::move(line_name), {}};
      for (const auto& b : r.trend) line.values.push_back(kpi_value(b.kpi, *field));
      c.lines.push_back(std::move(line));
    };
    if (query->by == report::KpiGroupBy::kNone) {
      add_line("all incidents", all);
    } else {
      // One line per group: the group's own incidents through the same computation.
      for (const auto& g : all.groups) {
        report::KpiRecords mine;
        for (const auto& inc : records->incidents) {
          if (report::kpi_group_key(inc, query->by) == g.key) mine.incidents.push_back(inc);
        }
        mine.action_items = records->action_items;
        for (const auto& f : records->alert_firings) {
          if (report::kpi_group_key(f, query->by) == g.key) mine.alert_firings.push_back(f);
        }
        report::KpiQuery one = *query;
        one.by = report::KpiGroupBy::kNone;
        add_line(g.key, report::compute_kpis(mine, one));
      }
    }
  }
  http::Response r = http::Response::text(200, chart::render_trend_svg(c), "image/svg+xml");
  r.headers = {{"Cache-Control", "no-store"}};
  return r;
}

}  // namespace tocsin::api
