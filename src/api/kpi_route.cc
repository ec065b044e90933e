#include "api/kpi_route.h"

#include "api/router.h"
#include "report/kpi.h"

namespace tocsin::api {

http::Response kpi_route(engine::Engine& engine, const http::Request& request) {
  if (request.method != "GET") return http::Response::error(405, "use GET");
  auto query = report::parse_kpi_query(request.query, engine.now());
  if (!query) return http::Response::error(http_status(query.error()), query.error().message(), query.error().field());
  report::KpiRecords records;
  auto read = engine.read_store([&](store::Tx& tx) -> core::Status {
    records = TOCSIN_TRY(report::read_kpi_records(tx, query->since, query->until));
    return {};
  });
  if (!read) return http::Response::error(http_status(read.error()), read.error().message(), read.error().field());
  return http::Response::json(200, report::kpi_json(report::compute_kpis(records, *query)));
}

}  // namespace tocsin::api
