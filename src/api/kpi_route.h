// GET /api/v1/kpi (docs/kpi.md, docs/api.md): the KPIs of the incidents opened in a window,
// overall, per group and per period, with drill scores — report::compute_kpis over the records
// read in one store transaction, at the engine's clock (so a simulated-clock server and its drills
// see their own time).
//   ?since=30d|RFC3339  &until=RFC3339  &by=plan|service|severity  &period=day|week|month
// A bad or unknown parameter is a 400 naming it; anything but GET a 405.
// Thread-safety: no state of its own; the engine and the store serialise.
#pragma once

#include "engine/engine.h"
#include "http/http.h"

namespace tocsin::api {

http::Response kpi_route(engine::Engine& engine, const http::Request& request);

// GET /api/v1/kpi/chart.svg?kpi=NAME&… — one KPI's trend as an SVG picture (chart::render_trend_svg):
// one line for all incidents, or one per group with `by`; NAME is a JSON member of the KPI set
// (report::kpi_fields(): mttr_seconds, resolution_ratio, …) or drill_mean_score. The other
// parameters are GET /api/v1/kpi's. A missing or unknown kpi is a 400 naming `kpi`.
http::Response kpi_chart_route(engine::Engine& engine, const http::Request& request);

}  // namespace tocsin::api
